/* Which known image a stick holds (identify.h). */
#include "host/identify.h"

#include <stdlib.h>
#include <string.h>

#include "hash/sha256.h"

/* Does the stick's block i (as info cuts the image) have info's hash for it? One aligned read; a read
 * that fails (a stick smaller than the image, an I/O error) is "no". */
static bool block_matches(struct dd_target *t, const struct dd_image_info *info, uint64_t i)
{
	uint32_t len = dd_block_len(info, i);
	size_t align = t->align > 64 ? t->align : 64;
	size_t room = (len + align - 1) / align * align;
	uint8_t *buf = NULL, digest[DD_SHA256_LEN];
	struct dd_err err;
	bool same = false;

	if (i >= info->block_count || posix_memalign((void **)&buf, align, room))
		return false;
	memset(buf, 0, room);
	if (t->ops->read_at(t, buf, len, i * (uint64_t)info->block_size, &err) == DD_OK) {
		dd_sha256(buf, len, digest);
		same = !memcmp(digest, info->block_hash[i], DD_SHA256_LEN);
	}
	free(buf);
	return same;
}

/* The first block where a and b (cut the same way) differ; UINT64_MAX when they do not. */
static uint64_t first_difference(const struct dd_image_info *a, const struct dd_image_info *b)
{
	uint64_t n = a->block_count < b->block_count ? a->block_count : b->block_count;

	if (a->block_size != b->block_size)
		return UINT64_MAX;
	for (uint64_t i = 0; i < n; i++)
		if (memcmp(a->block_hash[i], b->block_hash[i], DD_SHA256_LEN) ||
		    dd_block_len(a, i) != dd_block_len(b, i))
			return i;
	return UINT64_MAX;
}

size_t host_identify_candidates(struct dd_target *t, struct dd_source *const *known, size_t n, bool *keep,
				bool *block0)
{
	bool *b0 = block0 ? block0 : calloc(n ? n : 1, sizeof(*b0));
	size_t left = 0, matched;

	for (size_t i = 0; i < n; i++) {
		keep[i] = block_matches(t, &known[i]->info, 0);
		if (b0)
			b0[i] = keep[i];
		left += keep[i];
	}
	/* those sharing block 0: each must also match where it differs from every other one that shares it
	 * (a stick damaged there matches none of them) */
	matched = left;
	for (size_t i = 0; i < n && matched > 1 && b0; i++) {
		for (size_t k = 0; keep[i] && k < n; k++) {
			uint64_t d;

			if (k == i || !b0[k])
				continue;
			d = first_difference(&known[i]->info, &known[k]->info);
			if (d != UINT64_MAX && d < known[i]->info.block_count && !block_matches(t, &known[i]->info, d)) {
				keep[i] = false;
				left--;
			}
		}
	}
	if (b0 != block0)
		free(b0);
	return left;
}
