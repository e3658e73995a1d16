/* Fuzz target: the ISO reader of `dartdup build` (host/iso/: UDF, Joliet / ISO 9660 through
 * libiso9660, the El Torito catalog, the tree checks). A DaRT ISO comes from anywhere.
 *
 * The input is the image from sector 16 on: the harness puts 16 zero sectors (the system area,
 * which no reader looks at) in front, so seeds stay small and mutations land on volume
 * descriptors, directories and file entries. When the image opens, the tree is walked and every
 * file's first and last bytes are read, as the FAT32 writer would; every name must be one FAT and
 * Windows can hold (never ".", ".." or a device name) and no two names of a folder may be one name
 * on FAT (compared as Windows does, beyond ASCII case). */
#include "fuzz_util.h"

#include <stdlib.h>
#include <string.h>

#include "host/iso/iso.h"

#define SYSTEM_AREA (16 * ISO_SECTOR)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cmp_fat(const void *a, const void *b)
{
	return iso_fat_cmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names of one folder: each valid on FAT, no two the same name there. */
static void check_names(const struct iso_node *dir)
{
	const char **names = malloc((dir->n_kids + 1) * sizeof(*names));
	struct dd_err err;

	FUZZ_ASSERT(names);
	for (size_t i = 0; i < dir->n_kids; i++) {
		names[i] = dir->kids[i]->name;
		FUZZ_ASSERT(iso_name_check(names[i], "fuzz", &err) == DD_OK);
	}
	qsort(names, dir->n_kids, sizeof(*names), cmp_fat);
	for (size_t i = 1; i < dir->n_kids; i++)
		FUZZ_ASSERT(iso_fat_cmp(names[i - 1], names[i]) != 0);
	free(names);
}

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
	check_names(n);
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
