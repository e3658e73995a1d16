/* A FAT32 volume written straight into an image file from an ISO tree: no mkfs, no mount, no root.
 * Every file is contiguous; directories come first, then files in tree order. The output is a
 * function of the tree, the size and the options only (deterministic). */
#ifndef DARTDUP_ISO_FAT32_H
#define DARTDUP_ISO_FAT32_H

#include <stdint.h>

#include "host/iso/iso.h"

#define FAT32_MIN_BYTES (34ull << 20)

struct fat32_plan {
	uint64_t vol_sectors;      /* 512-byte sectors of the volume */
	uint32_t spc;              /* sectors per cluster */
	uint32_t reserved;         /* reserved sectors (boot sector, FSInfo, backups, alignment) */
	uint32_t fat_sectors;      /* sectors of one FAT */
	uint32_t clusters;         /* data clusters */
	uint32_t used;             /* clusters the tree takes (from cluster 2) */
	uint64_t hidden;           /* sectors before the volume (partition start) */
	uint32_t serial;
	char label[12];            /* 11 characters, space padded */
};

/* Volume bytes for the tree plus headroom (--size not given): a multiple of 1 MiB. */
uint64_t fat32_auto_size(struct iso_node *root);
/* Lay the tree out on a volume of vol_bytes; fails (DD_EINPUT) if it does not fit. */
int fat32_plan(struct iso_node *root, uint64_t vol_bytes, struct fat32_plan *plan, struct dd_err *err);

typedef void (*fat32_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/* Write the planned volume at byte offset off of fd. The file must read as zeros there
 * (fresh or truncated): free space is not written. */
int fat32_write(const struct iso_image *img, struct iso_node *root, const struct fat32_plan *plan,
		int fd, uint64_t off, fat32_progress_fn progress, void *ctx, struct dd_err *err);

/* FAT volume label from an ISO volume id (upper case, FAT-safe, "DARTDUP" if empty). */
void fat32_label(const char *volume_id, char label[12]);

#endif
