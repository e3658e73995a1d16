/* safety: the one module that decides whether a block device may be written, and why not.
 * `dartdup list`, `write`, `station` and the board all ask it; nothing else judges a disk.
 *
 * A disk is eligible only if: it is a whole disk; a USB mass-storage interface (driver usb-storage
 * or uas) is among its sysfs ancestors (ID_BUS alone lies: USB-SATA bridges report ata); it is not
 * a loop, dm, md, nvme, virtio, mmc (... ) device unless allow_non_usb; it does not hold /, /boot,
 * swap or the image file and is not a loop device over the image file (never overridable); no
 * partition is mounted (unless unmount: then
 * d->needs_unmount and dd_safety_unmount() does it after every check passed); nothing (dm, md)
 * holds it; it is at least min_size bytes; it is not read-only. */
#ifndef DARTDUP_SAFETY_H
#define DARTDUP_SAFETY_H

#include <stdbool.h>
#include <stdint.h>

#include "target/target.h"
#include "util/err.h"

struct dd_safety_opts {
	bool allow_non_usb;     /* --allow-non-usb: loop, dm, nvme, virtio, mmc... may be written */
	bool unmount;           /* --unmount: mounted partitions (not /, /boot, swap) are unmounted */
	uint64_t min_size;      /* the image's size; 0: no size check */
	const char *image_path; /* the image file: the disk holding it is refused; NULL: none */
};

struct dd_disk {
	char devnode[64];       /* /dev/sdb */
	char sysname[32];       /* sdb */
	char kind[16];          /* "usb", "loop", "dm", "md", "nvme", "virtio", "mmc", "ata", ... */
	struct dd_target_identity id; /* path = devnode, port = ID_PATH, vendor, model, serial, capacity */
	bool usb;               /* a usb-storage / uas ancestor */
	bool removable;
	bool eligible;
	bool needs_unmount;     /* eligible only after dd_safety_unmount() */
	char mounts[256];       /* "sdb1 on /media/x, ..." */
	char reason[256];       /* why not eligible; "" when eligible */
	bool too_small;         /* the reason is its size (no other rule refused it first) */
};

/* Judges the device at path (/dev/sdX, /dev/disk/by-path/..., symlinks resolved).
 * DD_OK: d->eligible. DD_ESAFETY: refused, d->reason says why (err too). DD_EINPUT: path is not a
 * block device or unknown. */
int dd_safety_check(const char *path, const struct dd_safety_opts *o, struct dd_disk *d, struct dd_err *err);

/* Every disk the system knows (empty loop devices left out), eligible or not, sorted by name. */
int dd_safety_list(const struct dd_safety_opts *o, struct dd_disk **disks, unsigned *n, struct dd_err *err);
void dd_safety_free(struct dd_disk *disks);

/* Unmounts every mounted partition of an eligible disk with needs_unmount; then re-checks it. */
int dd_safety_unmount(struct dd_disk *d, const struct dd_safety_opts *o, struct dd_err *err);

#endif
