/* The raw and plain .zst sources (common/source/source_raw.c, source_zst.c): what dd_source_open()
 * promises for images without a manifest: the size learned, every block's hash and zero bit right, the
 * last block short, the bytes read back as they were; damaged or unfit input refused, never read as an
 * image. (The .dfi source has test_dfi.c and test_dfi_corrupt.c.) */
#include "check.h"
#include "source/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define BS 4096u

/* An image of n bytes: random blocks, with blocks 1 and 3 all zero (when there are that many). */
static uint8_t *make_image(size_t n, uint64_t seed)
{
	uint8_t *img = malloc(n);

	CHECK(img != NULL);
	if (!img)
		return NULL;
	check_fill_random(img, n, seed);
	for (size_t b = 1; b * BS < n && b <= 3; b += 2)
		memset(img + b * BS, 0, n - b * BS < BS ? n - b * BS : BS);
	return img;
}

static int put(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "we");
	int rc = f && fwrite(data, 1, len, f) == len ? 0 : -1;

	if (f)
		fclose(f);
	return rc;
}

/* As the zstd tool makes them: with a content checksum (ZSTD_compress() alone leaves it out). */
static size_t zcompress(void *dst, size_t cap, const void *src, size_t len, int level)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	size_t n;

	ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	n = ZSTD_compress2(c, dst, cap, src, len);
	ZSTD_freeCCtx(c);
	return n;
}

static void path_of(char *path, size_t len, const char *name)
{
	snprintf(path, len, "%s/%s", check_tmpdir(), name);
}

/* Every block of src: hash, zero bit and bytes equal the image's. */
static void check_blocks(struct dd_source *src, const uint8_t *img, size_t n)
{
	uint8_t *buf = malloc(BS), want[DD_SHA256_LEN];
	struct dd_err err;

	CHECK(buf != NULL);
	CHECK_EQ_U64(src->info.image_size, n);
	CHECK_EQ_U64(src->info.block_size, BS);
	CHECK_EQ_U64(src->info.block_count, (n + BS - 1) / BS);
	for (uint64_t i = 0; buf && i < src->info.block_count; i++) {
		uint32_t len = dd_block_len(&src->info, i);
		const uint8_t *blk = img + i * BS;
		bool zero = true;

		for (uint32_t k = 0; k < len; k++)
			zero = zero && !blk[k];
		CHECK_EQ_INT(dd_block_is_zero(&src->info, i), zero);
		dd_sha256(blk, len, want);
		CHECK_EQ_INT(memcmp(src->info.block_hash[i], want, DD_SHA256_LEN), 0);
		memset(buf, 0xA5, BS);
		CHECK_EQ_INT(dd_source_read_block(src, i, buf, &err), DD_OK);
		CHECK_EQ_INT(memcmp(buf, blk, len), 0);
	}
	free(buf);
}

static struct dd_source *open_ok(const char *path, const char *format)
{
	struct dd_source_opts o = { .block_size = BS };
	struct dd_source *src = NULL;
	struct dd_err err;

	CHECK_EQ_INT(dd_source_open(path, &o, &src, &err), DD_OK);
	CHECK(src != NULL && !strcmp(src->info.format, format));
	return src;
}

TEST(raw_image_blocks_hashes_and_short_last_block)
{
	size_t n = 5 * BS + 1000; /* the last block is short */
	uint8_t *img = make_image(n, 1);
	struct dd_source *src;
	char p[512];

	path_of(p, sizeof(p), "a.img");
	CHECK_EQ_INT(put(p, img, n), 0);
	src = open_ok(p, "raw");
	if (src)
		check_blocks(src, img, n);
	CHECK_EQ_INT(dd_block_len(&src->info, 5), 1000);
	dd_source_close(src);
	free(img);
}

TEST(zst_stream_decodes_to_the_same_blocks_as_raw)
{
	size_t n = 7 * BS + 17, cap = ZSTD_compressBound(n), half = 3 * BS;
	uint8_t *img = make_image(n, 2), *z = malloc(2 * cap);
	struct dd_source *raw, *zst;
	size_t zl, z2;
	char p[512], q[512];

	CHECK(z != NULL);
	/* two frames back to back: one stream, as zstd -dc decodes it */
	zl = zcompress(z, cap, img, half, 3);
	CHECK(!ZSTD_isError(zl));
	z2 = zcompress(z + zl, cap, img + half, n - half, 19);
	CHECK(!ZSTD_isError(z2));
	path_of(p, sizeof(p), "b.img.zst");
	CHECK_EQ_INT(put(p, z, zl + z2), 0);
	path_of(q, sizeof(q), "b.img");
	CHECK_EQ_INT(put(q, img, n), 0);
	zst = open_ok(p, "zst");
	raw = open_ok(q, "raw");
	if (zst && raw) {
		check_blocks(zst, img, n);
		/* no manifest either way: the synthesized image id is the image's, whatever carried it */
		CHECK_EQ_INT(memcmp(zst->info.image_id, raw->info.image_id, DD_SHA256_LEN), 0);
	}
	dd_source_close(zst);
	dd_source_close(raw);
	free(img);
	free(z);
}

TEST(damaged_or_unfit_streams_refused)
{
	size_t n = 4 * BS, cap = ZSTD_compressBound(n);
	uint8_t *img = make_image(n, 3), *z = malloc(cap), *zz = malloc(ZSTD_compressBound(cap));
	struct dd_source_opts o = { .block_size = BS };
	const char *key = "/nonexistent/depot.pub";
	struct dd_source *src = NULL;
	struct dd_err err;
	size_t zl, zzl;
	char p[512];

	CHECK(z && zz);
	zl = zcompress(z, cap, img, n, 3);
	CHECK(!ZSTD_isError(zl));
	path_of(p, sizeof(p), "cut.zst");
	CHECK_EQ_INT(put(p, z, zl - 9), 0); /* truncated: the end of the frame and its checksum are gone */
	CHECK_EQ_INT(dd_source_open(p, &o, &src, &err), DD_EINPUT);
	CHECK(src == NULL && strstr(err.msg, "cut.zst") != NULL);
	z[zl / 2] ^= 0x40; /* a flipped bit: the content checksum catches it */
	path_of(p, sizeof(p), "flip.zst");
	CHECK_EQ_INT(put(p, z, zl), 0);
	CHECK_EQ_INT(dd_source_open(p, &o, &src, &err), DD_EINPUT);
	z[zl / 2] ^= 0x40;
	/* a .zst of a .zst decodes to something a detector claims: refused, not written to a stick */
	zzl = zcompress(zz, ZSTD_compressBound(cap), z, zl, 3);
	CHECK(!ZSTD_isError(zzl));
	path_of(p, sizeof(p), "double.zst");
	CHECK_EQ_INT(put(p, zz, zzl), 0);
	CHECK_EQ_INT(dd_source_open(p, &o, &src, &err), DD_EINPUT);
	/* an unsigned source with a key asked for: refused (only a signed .dfi satisfies a key) */
	o.pubkeys = &key, o.n_pubkeys = 1;
	path_of(p, sizeof(p), "ok.zst");
	CHECK_EQ_INT(put(p, z, zl), 0);
	CHECK_EQ_INT(dd_source_open(p, &o, &src, &err), DD_EINPUT);
	path_of(p, sizeof(p), "ok.img");
	CHECK_EQ_INT(put(p, img, n), 0);
	CHECK_EQ_INT(dd_source_open(p, &o, &src, &err), DD_EINPUT);
	/* an empty image is no image */
	o.pubkeys = NULL, o.n_pubkeys = 0;
	path_of(p, sizeof(p), "empty.img");
	CHECK_EQ_INT(put(p, "", 0), 0);
	CHECK_EQ_INT(dd_source_open(p, &o, &src, &err), DD_EINPUT);
	path_of(p, sizeof(p), "missing.img");
	CHECK(dd_source_open(p, &o, &src, &err) != DD_OK);
	CHECK(src == NULL);
	free(img);
	free(z);
	free(zz);
}

int main(void)
{
	RUN(raw_image_blocks_hashes_and_short_last_block);
	RUN(zst_stream_decodes_to_the_same_blocks_as_raw);
	RUN(damaged_or_unfit_streams_refused);
	return check_done();
}
