/* Helpers of the sources without a manifest (raw, plain .zst): they hash every block and note the
 * zero blocks once, on open, and synthesize the manifest the engine trusts. Internal to
 * common/source/. */
#ifndef DARTDUP_SOURCE_SCAN_H
#define DARTDUP_SOURCE_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source/source.h"

#define DD_DEFAULT_BLOCK_SIZE (1u << 20)

struct dd_scan {
	uint32_t block_size;
	uint64_t size;        /* bytes scanned */
	uint64_t n, cap;      /* blocks */
	uint8_t (*hash)[DD_SHA256_LEN];
	uint8_t *zero_map;
	const struct dd_source_opts *opts; /* its progress hook, called from dd_scan_add() */
	const char *path;
};

/* True when len bytes at p are all zero. */
bool dd_all_zero(const void *p, size_t len);

/* Checks opts->block_size (0 = default) and sets up s. */
int dd_scan_init(struct dd_scan *s, const struct dd_source_opts *opts, const char *path, struct dd_err *err);
/* Adds the next block (len == block_size except for the last). Returns DD_OK or DD_ENOMEM. */
int dd_scan_add(struct dd_scan *s, const uint8_t *block, uint32_t len, bool *is_zero, struct dd_err *err);
/* Fills info from the scan (hashes, zero map, synthesized image id, name = base name of path);
 * info points into s, which must live as long as info. */
void dd_scan_info(struct dd_scan *s, const char *path, const char *format, struct dd_image_info *info);
void dd_scan_free(struct dd_scan *s);

/* Raw and .zst images are unsigned: when the caller demands a signature, refuse (DD_EINPUT). */
int dd_source_refuse_keys(const struct dd_source_opts *opts, const char *path, const char *what,
			  struct dd_err *err);

#endif
