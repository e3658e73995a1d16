/* door: the one way dartdup opens a path it writes. Judge, then open.
 *
 * Targets (write/verify TARGET, station sticks, the linux-gadget board's ports):
 *   - the path is resolved first (symlinks, "..", also of a missing last component through its
 *     directory); a dangling symbolic link is refused (opening it would create what it points to);
 *   - under /dev: it must exist (a missing /dev/sdz is "no such device", never created) and be a
 *     whole-disk block device that passes dd_safety_check() (for reading, any block device: verify
 *     is harmless); anything else there (char devices, fifos, a regular file) is refused;
 *   - elsewhere: a regular file (or a new one in an existing directory) is a file target, unless it
 *     is one of the run's inputs (the image); anything else (a directory, fifo, socket, a device node
 *     made outside /dev) is refused.
 *   dd_door_open_target() opens what was judged (a device O_EXCL, a file without following a link
 *   swapped in meanwhile, a new file O_EXCL) and checks it is still the judged object. A device
 *   judged eligible only because safety.unmount allows it (needs_unmount) is unmounted there first:
 *   write --unmount and station --unmount share this one path.
 *
 * Outputs (build -o, its .sha256 and temporary files, pack -o, keygen -o): never anything under /dev,
 * never a device node, fifo, socket or directory wherever it is (device nodes are never opened,
 * unlinked, renamed over or created), never the same file as an input (st_dev/st_ino, so through
 * symlinks, hard links and "./x/../x"); its directory must exist. Judged before anything is opened
 * for writing.
 *
 * Refusals are DD_ESAFETY (exit 2) with one line "PATH: refused: REASON"; the reason alone is kept in
 * the verdict for the audit record. */
#ifndef DARTDUP_DOOR_H
#define DARTDUP_DOOR_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "safety/safety.h"
#include "target/target.h"
#include "util/err.h"

struct dd_door_opts {
	struct dd_safety_opts safety; /* the block device rules; safety.min_size also bounds a file's room */
	bool read_only;               /* dartdup verify: read, never create; devices need not be eligible */
	const char *const *inputs;    /* files the run reads (the image): never a target */
	unsigned n_inputs;
};

struct dd_door_target {
	char path[PATH_MAX];          /* as given */
	char real[PATH_MAX];          /* symlinks and ".." resolved */
	bool exists;
	bool is_dev;                  /* a block device (else a regular file) */
	struct stat st;               /* what was judged (when it exists) */
	struct dd_disk disk;          /* devices: the safety verdict (needs_unmount...) */
	struct dd_target_identity id; /* what is known of it, refused or not: path (as given), port,
				       * vendor, model, serial (sysfs), capacity (a device's size, a file's size) */
	char reason[256];             /* why refused; "" when accepted */
	enum dd_fail_kind kind;       /* refused: DD_FAIL_TOO_SMALL or DD_FAIL_REFUSED; else DD_FAIL_NONE */
};

/* Resolves path into real: realpath() of an existing path; of a missing one, realpath() of its
 * directory + its name. *exists tells which. DD_EINPUT: a missing directory, a dangling symbolic link
 * or a name too long (err says which). */
int dd_door_resolve(const char *path, char *real, size_t cap, bool *exists, struct dd_err *err);

/* Is this resolved path /dev or under it? */
bool dd_door_under_dev(const char *real);

/* Judges a target. DD_OK: accepted; DD_ESAFETY: refused (v->reason, err "PATH: refused: REASON");
 * DD_ENOMEM. v is always filled (identity of a refused device included, as far as sysfs knows it). */
int dd_door_judge_target(const char *path, const struct dd_door_opts *o, struct dd_door_target *v,
			 struct dd_err *err);

/* Opens an accepted target: need_size is the image's size (a file target grows to it). Checks that
 * what it opened is what was judged; fills (*out)->id from v->id (capacity from the open). */
int dd_door_open_target(const struct dd_door_target *v, const struct dd_door_opts *o, uint64_t need_size,
			struct dd_target **out, struct dd_err *err);

/* Judge + open, for callers with one target and no confirmation step in between. */
int dd_door_target(const char *path, const struct dd_door_opts *o, uint64_t need_size,
		   struct dd_door_target *v, struct dd_target **out, struct dd_err *err);

/* Judges an output path against the run's inputs (NULL entries skipped). DD_OK or DD_ESAFETY. */
int dd_door_judge_output(const char *path, const char *const *inputs, unsigned n_inputs, struct dd_err *err);

/* Judges an append-only log (--log): a regular file (new or existing, never an input), or a stream a
 * script hands over (a fifo, /dev/stdout, /dev/null, a terminal); never another character device
 * (/dev/mem, /dev/port ...), a block device, folder or socket, never a missing name under /dev. DD_OK or DD_ESAFETY. dd_audit_append() checks the kind again once open. */
int dd_door_judge_log(const char *path, const char *const *inputs, unsigned n_inputs, struct dd_err *err);

enum {
	DD_DOOR_TRUNC = 1,  /* an existing file is emptied (after it was judged and opened, never before) */
	DD_DOOR_EXCL = 2,   /* create only: an existing path (even a symlink) is refused */
};

/* Judges, then opens an output for writing (O_WRONLY or O_RDWR in access) and checks that what it
 * opened is a regular file and no input. *fd on DD_OK. */
int dd_door_open_output(const char *path, const char *const *inputs, unsigned n_inputs, int access,
			unsigned how, mode_t mode, int *fd, struct dd_err *err);

#endif
