/* target: where the image goes. The engine never knows which backend it drives: a regular file,
 * a block device (O_DIRECT, O_EXCL, several requests in flight), a port of a board. */
#ifndef DARTDUP_TARGET_H
#define DARTDUP_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Why a target failed, as data: set where the fact is known (the probe's verdict, the door's refusal,
 * the engine's I/O or read-back), so no front end has to guess it back from the error's words. */
enum dd_fail_kind {
	DD_FAIL_NONE,         /* it did not fail */
	DD_FAIL_IO,           /* a read, write or flush of the target failed */
	DD_FAIL_MISMATCH,     /* read back, it did not hold the image */
	DD_FAIL_COUNTERFEIT,  /* the probe found it holds less than it announces */
	DD_FAIL_TOO_SMALL,    /* smaller than the image: refused before anything was written */
	DD_FAIL_REFUSED,      /* refused by the safety rules before anything was written */
	DD_FAIL_PULLED,       /* removed while its job ran */
	DD_FAIL_INTERRUPTED,  /* stopped before the end (Ctrl-C, SIGTERM, abort) */
	DD_FAIL_IMAGE,        /* the image's own bytes could not be read or did not match its manifest */
	DD_FAIL_OTHER,        /* anything else (out of memory, no thread) */
};

struct dd_target_identity {
	char path[256];    /* /dev/sdX, a file path, or "port N" */
	char port[128];    /* physical USB port path (udev ID_PATH), "" if none */
	char usb[32];      /* the kernel's name of its USB device ("1-1.4", /sys/bus/usb/devices), "" if none:
			    * the default port label (util/portmap.h) */
	char vendor[64];
	char model[64];
	char serial[128];
	uint64_t capacity; /* bytes */
};

struct dd_target;

struct dd_target_ops {
	/* Positional I/O; buf is aligned to t->align, len and off are multiples of t->align except
	 * for the tail of the image. Thread-safe for non-overlapping ranges.
	 * buf always has room for len rounded up to t->align, and the engine zero-fills that slack,
	 * so a backend that needs whole sectors may write or read the rounded length. */
	int (*write_at)(struct dd_target *t, const void *buf, size_t len, uint64_t off, struct dd_err *err);
	int (*read_at)(struct dd_target *t, void *buf, size_t len, uint64_t off, struct dd_err *err);
	/* Make written data durable and make the next reads come from the medium, not a cache. */
	int (*flush)(struct dd_target *t, struct dd_err *err);
	void (*close)(struct dd_target *t);
};

struct dd_target {
	const struct dd_target_ops *ops;
	struct dd_target_identity id;
	size_t align;        /* buffer/offset alignment the backend needs (1 for files, 4096 for O_DIRECT) */
	unsigned queue_depth; /* requests the engine may keep in flight */
	bool whole_disk;     /* a disk whose end partition tables refer to (GPT keeps its backup there):
			      * the engine clears a stale copy past the image (engine.h) */
	uint64_t room;       /* bytes it can take when more than id.capacity: a file grows into its file
			      * system's free space (id.capacity stays its size, as records show it); 0: none */
	void *priv;
};

void dd_target_close(struct dd_target *t);

/* How many bytes the target can hold: room when set, else its capacity (the engine's size check). */
static inline uint64_t dd_target_room(const struct dd_target *t)
{
	return t->room > t->id.capacity ? t->room : t->id.capacity;
}

/* Backends (common/target/target_*.c). need_size: bytes the image needs (a file target is
 * extended to it on flush; capacity is checked by the engine before any write). */
enum dd_target_mode {
	DD_TARGET_WRITE,     /* read-write */
	DD_TARGET_READONLY,  /* dartdup verify */
};

/* A regular file (created when missing in write mode). capacity = its size; room (write mode) = its
 * size plus the free space of its file system. */
int dd_target_file_open(const char *path, enum dd_target_mode mode, uint64_t need_size,
			struct dd_target **out, struct dd_err *err);
/* The same over a descriptor the caller opened (common/safety/door.c); fd is ours from here on,
 * closed on failure too. name is what messages and id.path say. */
int dd_target_file_adopt(int fd, const char *name, enum dd_target_mode mode, uint64_t need_size,
			 struct dd_target **out, struct dd_err *err);

/* A block device, opened O_DIRECT | O_EXCL. Does NOT decide whether the device may be written:
 * ask common/safety first. id->port/vendor/model/serial are left for the caller to fill. */
int dd_target_blockdev_open(const char *path, enum dd_target_mode mode, struct dd_target **out,
			    struct dd_err *err);
/* The same over a descriptor opened O_DIRECT by the caller (common/safety/door.c); fd is ours from
 * here on, closed on failure too. */
int dd_target_blockdev_adopt(int fd, const char *name, struct dd_target **out, struct dd_err *err);

#endif
