/* The Windows RE partition image: an NTFS volume holding Recovery/WindowsRE/winre.wim, made in a plain
 * file without root or mounts. Debian's mkntfs formats the file (with --zero-time, so it writes the
 * same bytes every time); libntfs-3g (the library under ntfs-3g's own tools) adds the folders and the
 * file, whose times are then set from the ISO, never from the clock. ntfscp cannot make folders. */
#ifndef DARTDUP_ISO_NTFS_H
#define DARTDUP_ISO_NTFS_H

#include <stdint.h>

#include "util/err.h"

struct ntfs_winre {
	int fd;              /* the partition image, opened read-write by the door: mkntfs and libntfs-3g
			      * reach it as /proc/self/fd/N, never by a name that could be swapped */
	const char *image;   /* its name, for messages */
	uint64_t size;       /* bytes of the volume; a multiple of 1 MiB */
	const char *wim;     /* winre.wim to copy in */
	int64_t mtime;       /* Unix seconds: every time the volume's new entries carry */
	uint8_t serial[8];   /* the volume serial number (boot sector 0x48 and its backup) */
	const char *label;   /* volume label, ASCII */
};

/* The Windows RE folder on the partition, as Microsoft's scripts and reagentc name it. */
#define NTFS_WINRE_DIR "Recovery/WindowsRE"

/* Formats w->image as NTFS (w->size bytes) and copies w->wim to Recovery/WindowsRE/winre.wim.
 * DD_EINPUT with an install hint when mkntfs is missing. */
int ntfs_make_winre(const struct ntfs_winre *w, struct dd_err *err);

#endif
