/* placeholder, replaced by the UDF reader */
#include "host/iso/iso.h"

#include <string.h>

int udf_read(struct iso_image *img, struct dd_err *err)
{
	uint8_t vd[ISO_SECTOR];

	for (uint32_t s = 16; s < 32; s++) {
		if (iso_pread(img, vd, sizeof(vd), (uint64_t)s * ISO_SECTOR, err))
			return 1;
		if (!memcmp(vd + 1, "NSR0", 4))
			return dd_fail(err, DD_EINPUT, "%s: UDF not supported yet", img->path);
	}
	return 1;
}
