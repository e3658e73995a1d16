/* Fuzz target: the ISO reader of `dartdup build` (host/iso/: UDF, Joliet / ISO 9660 through
 * libiso9660, the El Torito catalog, the tree checks). A DaRT ISO comes from anywhere.
 *
 * The input is the image from sector 16 on: the harness puts 16 zero sectors (the system area,
 * which no reader looks at) in front, so seeds stay small and mutations land on volume
 * descriptors, directories and file entries. When the image opens, the tree is walked and every
 * file's first and last bytes are read, as the FAT32 writer would. */
#include "fuzz_util.h"

#include <string.h>

#include "host/iso/iso.h"

#define SYSTEM_AREA (16 * ISO_SECTOR)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const struct iso_image *img, const struct iso_node *n, unsigned depth, size_t *files)
{
	uint8_t buf[64];
	struct dd_err err;

	FUZZ_ASSERT(depth <= ISO_MAX_DEPTH + 1);
	if (!n->is_dir) {
		size_t len = n->size < sizeof(buf) ? (size_t)n->size : sizeof(buf);

		FUZZ_ASSERT(n->size <= ISO_MAX_FILE);
		(*files)++;
		iso_read(img, n, 0, buf, len, &err);
		iso_read(img, n, n->size - len, buf, len, &err);
		return;
	}
	FUZZ_ASSERT(n->n_kids <= ISO_MAX_NODES);
	for (size_t i = 0; i < n->n_kids; i++) {
		FUZZ_ASSERT(n->kids[i]->parent == n);
		walk(img, n->kids[i], depth + 1, files);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iso_image img;
	struct dd_err err;
	char path[64];
	size_t files = 0;
	int fd = fuzz_memfd("fuzz.iso", SYSTEM_AREA, data, size, path);

	if (iso_open(path, &img, &err) == DD_OK) {
		FUZZ_ASSERT(img.root && img.root->is_dir);
		walk(&img, img.root, 0, &files);
		if (img.boot.bios)
			FUZZ_ASSERT(img.boot.present);
		iso_close(&img);
	} else {
		FUZZ_ASSERT(err.msg[0]);  /* every refusal says why */
	}
	close(fd);
	return 0;
}
