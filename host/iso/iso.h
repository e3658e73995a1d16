/* Reading a DaRT / Windows PE ISO: the file tree (UDF first, then Joliet, then ISO 9660),
 * the El Torito boot catalog, and file data. */
#ifndef DARTDUP_ISO_ISO_H
#define DARTDUP_ISO_ISO_H

#include <stdbool.h>
#include <stdint.h>

#include "host/iso/tree.h"
#include "util/err.h"

#define ISO_SECTOR 2048

struct eltorito_info {
	bool present;
	bool bios;            /* a bootable x86 (platform 0x00) entry */
	bool uefi;            /* a bootable EFI (platform 0xEF) entry */
	bool bios_noemul;
	uint32_t bios_rba, uefi_rba;
	uint16_t bios_sectors, uefi_sectors;
};

struct iso_image {
	const char *path;
	int fd;
	uint64_t size;            /* bytes of the ISO file */
	struct iso_node *root;
	char fs[48];              /* "UDF 1.02", "Joliet", "ISO 9660" */
	char volume_id[64];       /* from the primary volume descriptor (or UDF logical volume) */
	int64_t created;          /* volume creation time, Unix seconds (0 if none) */
	struct eltorito_info boot;
};

/* Open and read the whole tree. Refuses (DD_EINPUT) what is not an ISO, unsafe names, loops,
 * extents outside the file and layouts it cannot read completely. */
int iso_open(const char *path, struct iso_image *img, struct dd_err *err);
void iso_close(struct iso_image *img);

/* Read len bytes of file n at offset off (off + len <= n->size). */
int iso_read(const struct iso_image *img, const struct iso_node *n, uint64_t off, void *buf,
	     size_t len, struct dd_err *err);
/* Copy file n to out_fd at out_off (the whole file). */
int iso_copy(const struct iso_image *img, const struct iso_node *n, int out_fd, uint64_t out_off,
	     struct dd_err *err);
/* Copy bytes [off, off + len) of file n to out_fd at out_off. */
int iso_copy_range(const struct iso_image *img, const struct iso_node *n, uint64_t off, uint64_t len,
		   int out_fd, uint64_t out_off, struct dd_err *err);
/* Copy file n into a new file at path. */
int iso_extract(const struct iso_image *img, const struct iso_node *n, const char *path, struct dd_err *err);

/* Readers (iso9660.c, udf.c, eltorito.c). udf_read returns 1 when there is no UDF volume. */
int udf_read(struct iso_image *img, struct dd_err *err);
int iso9660_read(struct iso_image *img, struct dd_err *err);
int eltorito_read(struct iso_image *img, struct dd_err *err);
/* Raw sector read with bounds checks. */
int iso_pread(const struct iso_image *img, void *buf, size_t len, uint64_t off, struct dd_err *err);

#endif
