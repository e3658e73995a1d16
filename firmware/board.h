/* The board interface: what the daemon needs from the hardware. Each board is one folder,
 * boards/<name>/, defining `const struct dd_board_driver dd_board_<name>` (the folder name with
 * '-' as '_'); mk/board.mk lists the folders, so a new board needs no edit anywhere else.
 *
 *   ports    presence, identity, capacity (probe) and block I/O (open -> a dd_target for the engine)
 *   link     the host link: transports to the PC appear through dispatch() (sim: accepted Unix
 *            socket connections; linux-gadget: the FunctionFS endpoints after ENABLE)
 *   button   reported by dispatch()
 *   lights   one per port, set from the daemon's main thread only
 *   store    a directory for the image, the transfers in progress and the audit ring; the depot
 *            public keys provisioned on the board
 *
 * Everything is called from the daemon's main thread except the dd_target's I/O (engine threads). */
#ifndef DARTDUP_FIRMWARE_BOARD_H
#define DARTDUP_FIRMWARE_BOARD_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/policy.h"
#include "link/link.h"
#include "link/proto.h"
#include "target/target.h"
#include "util/err.h"

struct dd_store; /* firmware/store.h */

#define DD_BOARD_MAX_FDS 8
#define DD_BOARD_MAX_KEYS DD_LINK_MAX_KEYS

struct dd_board;

struct dd_board_port {
	bool present;          /* a stick is in the port */
	uint64_t generation;   /* changes when a different stick appears: a result belongs to one */
	struct dd_target_identity id; /* path, port path, vendor, model, serial, capacity */
	unsigned speed_mbps;   /* the stick's negotiated USB speed (12, 480, 5000 ...), 0 unknown */
};

/* What happened since the last dispatch(). */
struct dd_board_wake {
	bool button;                    /* the button was pressed */
	bool ports_changed;             /* a stick came or went (the daemon probes again) */
	struct dd_link_transport *link; /* a new host link (the daemon owns it now), or NULL. The
	                                   daemon closes it on a framing error or when recv fails;
	                                   a gadget board then discards partial input and offers a
	                                   fresh link (docs/PROTOCOL.md "Link reset on USB") */
};

struct dd_board_ops {
	/* File descriptors the daemon polls for the board (link listener, button, hotplug). */
	unsigned (*fds)(struct dd_board *b, struct pollfd *fds, unsigned max);
	/* After poll() (fds with revents set) or a timeout (n = 0): report what happened. */
	int (*dispatch)(struct dd_board *b, const struct pollfd *fds, unsigned n, struct dd_board_wake *w,
			struct dd_err *err);
	/* Presence and identity of port i (0-based). */
	int (*port_probe)(struct dd_board *b, unsigned i, struct dd_board_port *port, struct dd_err *err);
	/* Open port i for writing: the engine's target. need_size = image bytes. */
	int (*port_open)(struct dd_board *b, unsigned i, uint64_t need_size, struct dd_target **out,
			 struct dd_err *err);
	/* Optional (the SELFTEST request): check the board's hardware and the daemon's store, one JSON
	 * object per line on out (docs/ACCEPTANCE.md). Quick: nothing is read in full. */
	int (*selftest)(struct dd_board *b, const struct dd_store *store, FILE *out, struct dd_err *err);
	/* Optional (the master stick, firmware/master.h): mount the FAT file system of the stick in port i
	 * (its first MBR partition, else the whole disk) nosuid,nodev,noexec in a private directory and
	 * give its path in dir; read-only unless writable. Called again with writable set, the same stick
	 * becomes writable. Only ever called for the port board->master names. */
	int (*master_mount)(struct dd_board *b, unsigned i, bool writable, char *dir, size_t len,
			    struct dd_err *err);
	void (*master_umount)(struct dd_board *b, unsigned i);
	/* Show port i's state (enum dd_port_state, or a DD_LIGHT_MASTER_* pattern on the master port;
	 * percent 0..100 for busy and verifying). */
	void (*set_light)(struct dd_board *b, unsigned i, int state, unsigned percent);
	void (*close)(struct dd_board *b);
};

/* The master port's light after a master stick (docs/BOARD.md "Operating the board without a PC"):
 * light states past the link's port states (the link reports them as pass, fail and attention). */
enum {
	DD_LIGHT_MASTER_OK = DD_PORT_STATE_MAX + 1,  /* accepted: green blinking fast */
	DD_LIGHT_MASTER_BAD,                         /* refused, nothing changed: red blinking fast */
	DD_LIGHT_MASTER_NO_EXPORT,                   /* accepted, but the audit could not be written
						      * onto it (full, write-protected): red and green */
};
#define DD_LIGHT_MAX DD_LIGHT_MASTER_NO_EXPORT

struct dd_board {
	const struct dd_board_ops *ops;
	const char *type;                    /* "sim", "linux-gadget" */
	char serial[64];
	char store_dir[512];                 /* persistent store (created if missing) */
	const char *pubkeys[DD_BOARD_MAX_KEYS]; /* depot public key files */
	unsigned n_pubkeys;
	unsigned n_ports;
	char rtc[256];                       /* battery-backed RTC to read at boot (/dev/rtcN), "" none */
	bool system_clock;                   /* a PC's time may set the system clock (root only; the sim
					        board never does: firmware/clock.h) */
	unsigned master;                     /* the master port (1-based, firmware/master.h), 0 none */
	bool restart_for_firmware;           /* the daemon stops after a bundle is stored, to have it
					        applied (firmware/apply.h) before it starts again */
	char port_name[DD_LINK_MAX_PORTS][DD_LINK_PORT_NAME_MAX + 1]; /* what a technician reads on each
					        socket (PORTS): a port map's name, else its USB port path, else
					        "" (the PC shows the number); dd_link_port_name_ok() or not sent */
	struct dd_policy policy;             /* what the description file asks of every job (probe,
					        sanitize, full, retries: dd_policy_set()); all zero: nothing
					        beyond the default (firmware/job.c effective_policy()) */
	void *priv;
};

struct dd_board_driver {
	const char *name;
	const char *usage;   /* the board's options, for --help */
	/* Parse the board's own options (argv after --board NAME) and open it. */
	int (*open)(int argc, char **argv, struct dd_board **out, struct dd_err *err);
	/* Optional (dartdupd --check): validate the board's set-up from the same options without
	 * touching any hardware, and describe it on out. */
	int (*check)(int argc, char **argv, FILE *out, struct dd_err *err);
	/* Optional (dartdupd --apply-firmware): apply a stored firmware bundle over exe (the running
	 * program's file), from the same options (firmware/apply.h: applied, rolled_back). */
	int (*apply_firmware)(int argc, char **argv, const char *exe, char *applied, char *rolled_back,
			      size_t len, struct dd_err *err);
	/* Optional (dartdupd --selftest [--json]): check the board's hardware and store in service
	 * (docs/ACCEPTANCE.md), a line (or JSON object) per check on out. DD_OK none failed, DD_ECHECK one
	 * did, another code when the set-up itself is bad. */
	int (*selftest)(int argc, char **argv, FILE *out, bool json, struct dd_err *err);
};

/* One self-test record, the JSON object every check reports (docs/EVENTS.md "board selftest"): schema,
 * check, result ("pass", "warn", "fail"), detail. The text is the caller's to free with free(); NULL when out
 * of memory. The daemon's own config check and a board's hardware checks use it alike. */
char *dd_selftest_record(const char *check, const char *result, const char *detail);

/* The driver of a board type, NULL if unknown (firmware/boards.c, from the boards/ folders). */
const struct dd_board_driver *dd_board_find(const char *name);
/* Every driver, NULL-terminated. */
extern const struct dd_board_driver *const dd_board_drivers[];

#endif
