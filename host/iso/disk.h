/* The disk around the FAT32 volume: an MBR with one active FAT32 (LBA) partition at 1 MiB, and
 * GRUB i386-pc embedded the way grub-bios-setup does it (boot.img in the MBR, core.img from
 * sector 1), with a configuration that chain-loads /bootmgr through GRUB's ntldr. */
#ifndef DARTDUP_ISO_DISK_H
#define DARTDUP_ISO_DISK_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define DISK_PART_LBA 2048u
#define DISK_GRUB_DIR "/usr/lib/grub/i386-pc"

struct grub_images {
	uint8_t boot[512];   /* boot.img */
	uint8_t *core;       /* core.img */
	size_t core_len;
};

/* Run grub-mkimage (Debian grub-pc-bin) into tmpdir and load boot.img and core.img.
 * grub_dir: NULL = DISK_GRUB_DIR. */
int disk_grub_make(const char *grub_dir, const char *tmpdir, struct grub_images *g, struct dd_err *err);
void disk_grub_free(struct grub_images *g);

/* Write MBR (with GRUB's boot.img patched to load core.img from LBA 1) and core.img to fd.
 * part_sectors: size of partition 1 in 512-byte sectors. */
int disk_write_mbr(int fd, const struct grub_images *g, uint32_t disk_sig, uint64_t part_sectors,
		   struct dd_err *err);

/* An MBR without boot code: one FAT32 (LBA) partition at DISK_PART_LBA of part_sectors, not active (a
 * data stick: the master stick, docs/BOARD.md). */
int disk_write_plain_mbr(int fd, uint32_t disk_sig, uint64_t part_sectors, struct dd_err *err);

#endif
