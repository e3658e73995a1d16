/* The El Torito boot catalog (parsed here; libcdio does not expose it): which platforms the
 * CD boots on. Only reported; the stick gets its own boot code. */
#include "host/iso/iso.h"
#include "host/iso/util.h"

#include <string.h>

#define PLATFORM_X86 0x00
#define PLATFORM_EFI 0xEF

static void note_entry(struct eltorito_info *bi, uint8_t platform, const uint8_t *e)
{
	if (e[0] != 0x88)       /* not bootable */
		return;
	if (platform == PLATFORM_X86 && !bi->bios) {
		bi->bios = true;
		bi->bios_noemul = (e[1] & 0x0F) == 0;
		bi->bios_sectors = get_le16(e + 6);
		bi->bios_rba = get_le32(e + 8);
	} else if (platform == PLATFORM_EFI && !bi->uefi) {
		bi->uefi = true;
		bi->uefi_sectors = get_le16(e + 6);
		bi->uefi_rba = get_le32(e + 8);
	}
}

static int parse_catalog(struct eltorito_info *bi, const uint8_t *cat, const char *path, struct dd_err *err)
{
	uint16_t sum = 0;
	uint8_t platform = cat[1];

	for (int i = 0; i < 32; i += 2)
		sum = (uint16_t)(sum + get_le16(cat + i));
	if (cat[0] != 1 || cat[30] != 0x55 || cat[31] != 0xAA || sum)
		return dd_fail(err, DD_EINPUT, "%s: El Torito boot catalog is damaged", path);
	bi->present = true;
	note_entry(bi, platform, cat + 32);
	/* section headers (0x90 more follow, 0x91 last) each followed by their entries */
	for (size_t off = 64; off + 32 <= ISO_SECTOR;) {
		const uint8_t *h = cat + off;
		uint16_t n;

		if (h[0] != 0x90 && h[0] != 0x91)
			break;
		platform = h[1];
		n = get_le16(h + 2);
		off += 32;
		for (uint16_t i = 0; i < n && off + 32 <= ISO_SECTOR; i++, off += 32) {
			note_entry(bi, platform, cat + off);
			/* extension entries (0x44) belong to the entry before */
			while (off + 64 <= ISO_SECTOR && cat[off + 32] == 0x44)
				off += 32;
		}
		if (h[0] == 0x91)
			break;
	}
	return DD_OK;
}

int eltorito_read(struct iso_image *img, struct dd_err *err)
{
	uint8_t brvd[ISO_SECTOR], cat[ISO_SECTOR];
	uint32_t lba;
	int rc;

	/* volume descriptors from sector 16 up to the terminator: the boot record is usually at 17 */
	for (uint32_t s = 16; s < 64; s++) {
		if ((rc = iso_pread(img, brvd, sizeof(brvd), (uint64_t)s * ISO_SECTOR, err)))
			return rc;
		if (memcmp(brvd + 1, "CD001", 5) || brvd[0] == 255)
			return DD_OK;
		if (brvd[0] == 0 && !memcmp(brvd + 7, "EL TORITO SPECIFICATION", 23))
			break;
		if (s == 63)
			return DD_OK;
	}
	lba = get_le32(brvd + 0x47);
	if ((uint64_t)lba * ISO_SECTOR + ISO_SECTOR > img->size)
		return dd_fail(err, DD_EINPUT, "%s: El Torito boot catalog outside the image", img->path);
	if ((rc = iso_pread(img, cat, sizeof(cat), (uint64_t)lba * ISO_SECTOR, err)))
		return rc;
	return parse_catalog(&img->boot, cat, img->path, err);
}
