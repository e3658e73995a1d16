/* host/station/core: the pure bookkeeping of `dartdup station` (no udev, no threads, no terminal), so it can
 * be unit-tested: which slot a port is, what a slot shows, the session's counters, and whether a stick
 * must be written or already holds the image.
 *
 * A slot is a physical socket, shown by its label (util/portmap.h): the port map's name, else the kernel's
 * name of the USB port ("1-1.4"). With --ports the slots are exactly the given ports; with a port map (and
 * no --ports) exactly the map's sockets; otherwise a port gets a slot the first time a stick appears on it
 * and keeps it for the session. Views list the slots sorted by label (station.order), never by arrival,
 * so a socket's line stays where the technician expects it. */
#ifndef DARTDUP_HOST_STATION_CORE_H
#define DARTDUP_HOST_STATION_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/events.h"
#include "util/portmap.h"

#define STATION_MAX_SLOTS 64

enum station_state {
	SLOT_EMPTY,  /* no stick (or the last one was pulled after its result) */
	SLOT_BUSY,   /* a job runs on the stick */
	SLOT_DONE,   /* result shown; the stick may still be in (pull it) */
};

enum station_outcome {
	OUT_NONE,
	OUT_PASS,        /* written and verified */
	OUT_ALREADY,     /* already held this exact image: verified, not rewritten */
	OUT_FAIL,        /* write or verification failed */
	OUT_COUNTERFEIT, /* --probe: holds less than it announces */
	OUT_PULLED,      /* removed before its job ended */
	OUT_REFUSED,     /* not eligible (safety) or could not be opened: nothing written */
	OUT_INCOMPLETE,  /* the station stopped (Ctrl-C) before the job ended */
};

struct station_slot {
	unsigned number;          /* 1-based, what the operator sees */
	char port[128];           /* ID_PATH (or the pattern given with --ports, or the map's first path) */
	char label[DD_PORT_LABEL_MAX]; /* what the technician reads: the map's name or "1-1.4" */
	int map_entry;            /* the port map's entry this slot is (a map without --ports), else -1 */
	enum station_state state;
	char devnode[64];         /* /dev/sdX of the current or last stick */
	char serial[128];
	char model[64];
	uint64_t capacity;
	bool pulled;              /* removed while busy: the job is failing */
	bool ejecting;            /* the station is ejecting it: its disappearing is no pull */
	bool detached;            /* ejected: the disk is gone, the slot shows its result until the next stick */
	/* live while busy */
	enum dd_phase phase;
	double progress;          /* 0..1 */
	double rate;              /* bytes/s */
	double t_start, t_end;    /* seconds since the session started */
	/* result */
	enum station_outcome outcome;
	enum dd_fail_kind kind;   /* why it did not pass, as data (station_outcome_kind()) */
	bool sanitized;           /* passed with --sanitize: zeros past the image, read back */
	char detail[192];
	char upgraded_from[32];   /* passed over an older version of the image's name: that version ("" none) */
	unsigned sticks;          /* sticks this slot has finished */
};

struct station_counters {
	unsigned passed;      /* written and verified */
	unsigned already;     /* held the image already */
	unsigned failed;      /* fail, counterfeit, pulled */
	unsigned refused;     /* not eligible: not a stick we touched */
	unsigned incomplete;  /* stopped by Ctrl-C */
};

struct station {
	struct station_slot slot[STATION_MAX_SLOTS];
	unsigned n_slots;
	bool fixed;           /* --ports or a port map given: only those ports */
	const struct dd_portmap *map; /* names of the sockets (may be NULL) */
	unsigned order[STATION_MAX_SLOTS]; /* slot indexes sorted by label: the views' order */
	struct station_counters c;
};

/* Slots of --ports (labels from the map when one covers them), else of the map's sockets, else none yet
 * (they come as sticks do). map may be NULL and must outlive s. */
void station_init(struct station *s, const char *const *ports, unsigned n_ports, const struct dd_portmap *map);

/* Does a stick's ID_PATH belong to a --ports entry? Exact match, or the entry is a prefix that ends at
 * a separator ("...usb-0:1" covers a hub on that socket: "...usb-0:1.2:1.0-scsi-0:0:0:0"). A
 * "/dev/disk/by-path/" prefix on the entry is ignored. */
bool station_port_matches(const char *pattern, const char *id_path);

/* The slot of a port: its own, or (without --ports or a map) a new one, labelled with usb_name (the
 * kernel's name of the stick's USB device, "1-1.4"; may be NULL). NULL: port not watched, or no slot
 * left. */
struct station_slot *station_slot_for_port(struct station *s, const char *id_path, const char *usb_name);

/* The slot currently holding devnode (busy or done; not one whose stick was pulled or ejected: the
 * name may already belong to the next stick), NULL if none. */
struct station_slot *station_slot_of_dev(struct station *s, const char *devnode);

/* A stick appeared on the slot's port: starts a job unless the slot is busy (returns false). */
bool station_stick_arrived(struct station *s, struct station_slot *slot, const char *devnode,
			   const char *serial, const char *model, uint64_t capacity, double now);

/* The job is about to eject the stick (after its pass): the disk's disappearing that follows is
 * expected, not a pull. */
void station_eject_begin(struct station *s, struct station_slot *slot);

/* devnode disappeared: after station_eject_begin the slot keeps showing its result ("safe to pull");
 * otherwise a busy slot is marked pulled (its job fails and frees it) and a done slot goes empty,
 * keeping its last result for display. Returns the slot, or NULL if not ours. */
struct station_slot *station_stick_left(struct station *s, const char *devnode);

/* A job ended: the slot shows the outcome (a pulled stick's job is OUT_PULLED whatever the engine
 * said), the counters move, and the slot is free for the next stick. */
void station_job_done(struct station *s, struct station_slot *slot, enum station_outcome out,
		      const char *detail, double now);

/* The outcome of a job from the engine's result, the pull flag and the probe's verdict. */
enum station_outcome station_outcome_of(enum dd_result r, bool pulled, bool counterfeit, bool interrupted);

/* The failure kind a finished stick reports: the outcome's own (counterfeit, pulled, interrupted,
 * refused) or, for a plain failure, what the engine or the door found (engine_kind; DD_FAIL_OTHER when
 * it knew none). DD_FAIL_NONE for a stick that passed or already held the image. */
enum dd_fail_kind station_outcome_kind(enum station_outcome o, enum dd_fail_kind engine_kind);

/* Sticks finished per hour so far (passed + already + failed); 0 in the first minute. */
double station_per_hour(const struct station_counters *c, double elapsed);

const char *station_outcome_name(enum station_outcome o);
bool station_outcome_good(enum station_outcome o);

/* "Already holds this image?" in two steps, so a blank stick costs one block read, not a full verify:
 *  1. block 0 read from the stick matches the image's block 0 -> verify the whole stick read-only;
 *  2. that verification passed -> keep it.
 * --rewrite always writes; --probe and --sanitize (touch: either) always write too (a counterfeit
 * stick can hold a small image perfectly: only probing it, which overwrites samples, tells; a returned
 * stick holding the image keeps the customer's files past it until it is sanitized). */
enum station_action {
	ACT_WRITE,   /* probe (if asked), write and verify */
	ACT_VERIFY,  /* verify read-only first: it may already hold the image */
	ACT_KEEP,    /* verified: report "already holds the image", do not write */
};
enum station_action station_first_action(bool block0_matches, bool rewrite, bool touch);
enum station_action station_after_verify(enum dd_result verify_result);

#endif
