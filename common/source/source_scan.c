/* See source_scan.h. */
#include "source/source_scan.h"
#include "source/source_backends.h"
#include "source/magic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool dd_all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t head = len < 16 ? len : 16;

	for (size_t i = 0; i < head; i++)
		if (b[i])
			return false;
	/* the first 16 bytes are zero: the rest is zero iff it equals itself shifted by 16 */
	return len <= 16 || !memcmp(b, b + 16, len - 16);
}

int dd_scan_init(struct dd_scan *s, const struct dd_source_opts *opts, const char *path, struct dd_err *err)
{
	uint32_t bs = opts && opts->block_size ? opts->block_size : DD_DEFAULT_BLOCK_SIZE;

	memset(s, 0, sizeof(*s));
	if (bs < 4096 || bs > (64u << 20) || (bs & (bs - 1)))
		return dd_fail(err, DD_EUSAGE, "%s: block size %u is not a power of two from 4 KiB to 64 MiB",
			       path, bs);
	s->block_size = bs;
	s->opts = opts;
	s->path = path;
	return DD_OK;
}

int dd_scan_add(struct dd_scan *s, const uint8_t *block, uint32_t len, bool *is_zero, struct dd_err *err)
{
	bool zero;

	if (s->n == s->cap) {
		uint64_t cap = s->cap ? s->cap * 2 : 1024;
		void *h = realloc(s->hash, cap * DD_SHA256_LEN);

		if (!h)
			return dd_fail(err, DD_ENOMEM, "out of memory for block hashes");
		s->hash = h;
		h = realloc(s->zero_map, cap / 8);
		if (!h)
			return dd_fail(err, DD_ENOMEM, "out of memory for the zero map");
		s->zero_map = h;
		memset(s->zero_map + s->cap / 8, 0, (cap - s->cap) / 8);
		s->cap = cap;
	}
	dd_sha256(block, len, s->hash[s->n]);
	zero = dd_all_zero(block, len);
	if (zero)
		s->zero_map[s->n / 8] |= (uint8_t)(1u << (s->n % 8));
	if (is_zero)
		*is_zero = zero;
	s->n++;
	s->size += len;
	if (s->opts && s->opts->progress)
		s->opts->progress(s->opts->progress_ctx, s->path, s->size);
	return DD_OK;
}

void dd_scan_info(struct dd_scan *s, const char *path, const char *format, struct dd_image_info *info)
{
	struct dd_sha256 ctx;
	uint8_t le[12];
	const char *base = strrchr(path, '/');

	memset(info, 0, sizeof(*info));
	info->image_size = s->size;
	info->block_size = s->block_size;
	info->block_count = s->n;
	info->block_hash = (const uint8_t (*)[DD_SHA256_LEN])s->hash;
	info->zero_map = s->zero_map;
	info->sig = DD_SIG_NONE;
	info->format = format;
	snprintf(info->name, sizeof(info->name), "%s", base ? base + 1 : path);
	/* the synthesized manifest: size, block size, every block hash */
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(s->size >> (8 * i));
	for (int i = 0; i < 4; i++)
		le[8 + i] = (uint8_t)(s->block_size >> (8 * i));
	dd_sha256_init(&ctx);
	dd_sha256_update(&ctx, "dartdup-raw-manifest-1", 22);
	dd_sha256_update(&ctx, le, sizeof(le));
	if (s->n)
		dd_sha256_update(&ctx, s->hash, s->n * DD_SHA256_LEN);
	dd_sha256_final(&ctx, info->image_id);
}

void dd_scan_free(struct dd_scan *s)
{
	free(s->hash);
	free(s->zero_map);
	memset(s, 0, sizeof(*s));
}

bool dd_source_probe_zst(const uint8_t *head, size_t n)
{
	const struct dd_magic *m = dd_magic_detect(head, n);

	return m && m->kind == DD_MAGIC_ZSTD;
}

/* Only what no detector claims is a raw image: a compressed image is never written out as its
 * compressed bytes, and a .dfi whose header is damaged (it still starts like a skippable frame) is
 * refused, never written out as raw bytes. */
bool dd_source_probe_raw(const uint8_t *head, size_t n)
{
	return !dd_magic_detect(head, n);
}

int dd_source_refuse_keys(const struct dd_source_opts *opts, const char *path, const char *what,
			  struct dd_err *err)
{
	if (opts && opts->n_pubkeys)
		return dd_fail(err, DD_EINPUT, "%s: a %s image carries no signature, but a public key was given",
			       path, what);
	return DD_OK;
}
