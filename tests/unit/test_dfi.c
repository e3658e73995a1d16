/* .dfi round trips: dfi_pack() then dd_source_open()/dfi_open() give back the image, hashes,
 * zero map and metadata; packing is reproducible; .zst input gives the same package. */
#include "check.h"
#include "format/dfi_reader.h"
#include "format/dfi_writer.h"
#include "source/source.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

/* An image of len bytes: random, with a zero run in the second block when it has one. */
static uint8_t *make_image(const char *path, size_t len, uint64_t seed, uint32_t bs)
{
	uint8_t *img = malloc(len ? len : 1);

	check_fill_random(img, len, seed);
	if (len > 2 * (size_t)bs)
		memset(img + bs, 0, bs);
	if (check_write_file(path, img, len)) {
		free(img);
		return NULL;
	}
	return img;
}

/* Open img.dfi through the source seam and compare every block and hash with img. */
static void check_source(const char *dfi, const uint8_t *img, size_t len, uint32_t bs)
{
	struct dd_source *src;
	struct dd_err err = { 0 };
	uint8_t *buf = malloc(bs), h[DD_SHA256_LEN];
	int rc = dd_source_open(dfi, NULL, &src, &err);

	if (rc)
		free(buf);
	CHECK_EQ_INT(rc, DD_OK);
	CHECK_EQ_U64(src->info.image_size, len);
	CHECK_EQ_U64(src->info.block_size, bs);
	CHECK_EQ_U64(src->info.block_count, (len + bs - 1) / bs);
	CHECK(!strcmp(src->info.format, "dfi"));
	CHECK_EQ_INT(src->info.sig, DD_SIG_NONE);
	for (uint64_t i = 0; i < src->info.block_count; i++) {
		uint32_t n = dd_block_len(&src->info, i);
		bool zero = true;
		for (uint32_t k = 0; k < n; k++)
			zero = zero && !img[i * bs + k];
		rc = dd_source_read_block(src, i, buf, &err);
		if (!rc)
			dd_sha256(buf, n, h);
		if (rc || memcmp(buf, img + i * bs, n) || memcmp(h, src->info.block_hash[i], 32) ||
		    zero != dd_block_is_zero(&src->info, i)) {
			dd_source_close(src);
			free(buf);
			CHECK_FAIL_("block %llu differs (rc %d)", (unsigned long long)i, rc);
		}
	}
	dd_source_close(src);
	free(buf);
}

static void roundtrip(size_t len, uint32_t bs, uint64_t seed)
{
	const char *in = check_path("rt.img"), *out = check_path("rt.dfi");
	struct dfi_pack_opts o = { .block_size = bs, .threads = 2, .created = 1 };
	struct dd_err err = { 0 };
	uint8_t *img = make_image(in, len, seed, bs);
	int rc;

	CHECK(img);
	rc = dfi_pack(in, out, &o, &err);
	if (rc) {
		free(img);
		CHECK_FAIL_("dfi_pack: %s", err.msg);
	}
	if (setjmp(check_state.jump) == 0) {
		check_source(out, img, len, bs);
		free(img);
	} else {
		free(img);
		longjmp(check_state.jump, 1);
	}
}

/* an empty input makes no package (it would "pass" every stick unchanged), and leaves no file behind */
TEST(empty_image_refused)
{
	const char *in = check_path("empty.img"), *out = check_path("empty.dfi");
	struct dfi_pack_opts o = { .block_size = 4096, .threads = 2, .created = 1 };
	struct dd_err err = { 0 };
	FILE *f = fopen(in, "we");

	CHECK(f != NULL);
	fclose(f);
	unlink(out);
	CHECK_EQ_INT(dfi_pack(in, out, &o, &err), DD_EINPUT);
	CHECK(strstr(err.msg, "empty") != NULL);
	CHECK(access(out, F_OK) != 0);
}
TEST(roundtrip_one_byte) { roundtrip(1, 4096, 2); }
TEST(roundtrip_not_multiple) { roundtrip(5 * 4096 + 123, 4096, 3); }
TEST(roundtrip_exact_multiple) { roundtrip(8 * 4096, 4096, 4); }
TEST(roundtrip_default_block_size) { roundtrip(3 * (1 << 20) + 7, 1 << 20, 5); }

TEST(roundtrip_all_zeros)
{
	const char *in = check_path("z.img"), *out = check_path("z.dfi");
	size_t len = 10 * 4096 + 5;
	uint8_t *img = calloc(1, len);
	struct dfi_pack_opts o = { .block_size = 4096, .created = 1 };
	struct dfi_reader *r;
	struct dd_err err = { 0 };

	CHECK(img && !check_write_file(in, img, len));
	free(img);
	CHECK_EQ_INT(dfi_pack(in, out, &o, &err), DD_OK);
	CHECK_EQ_INT(dfi_open(out, NULL, &r, &err), DD_OK);
	uint64_t zb = r->m.zero_blocks, n = r->m.block_count;
	dfi_close(r);
	CHECK_EQ_U64(n, 11);
	CHECK_EQ_U64(zb, 11);
}

/* The standard zstd decoder sees one stream whose content is the image. */
TEST(zstd_decodes_to_image)
{
	const char *in = check_path("zs.img"), *out = check_path("zs.dfi");
	size_t len = 3 * 4096 + 99, dlen, got;
	struct dfi_pack_opts o = { .block_size = 4096, .created = 1 };
	struct dd_err err = { 0 };
	uint8_t *img = make_image(in, len, 9, 4096), *pkg, *dec = malloc(len + 1);
	int ok;

	CHECK(img && dec);
	CHECK_EQ_INT(dfi_pack(in, out, &o, &err), DD_OK);
	pkg = check_read_file(out, &dlen);
	CHECK(pkg);
	got = ZSTD_decompress(dec, len + 1, pkg, dlen);
	ok = !ZSTD_isError(got) && got == len && !memcmp(dec, img, len);
	free(pkg);
	free(dec);
	free(img);
	CHECK(ok);
}

TEST(reproducible)
{
	const char *in = check_path("rp.img"), *a = check_path("rp1.dfi"), *b = check_path("rp2.dfi");
	struct dfi_pack_opts o1 = { .block_size = 4096, .threads = 1, .created = 1234, .name = "x" };
	struct dfi_pack_opts o2 = o1;
	struct dd_err err = { 0 };
	uint8_t *img = make_image(in, 9 * 4096 + 1, 11, 4096);

	free(img);
	o2.threads = 3;
	CHECK_EQ_INT(dfi_pack(in, a, &o1, &err), DD_OK);
	CHECK_EQ_INT(dfi_pack(in, b, &o2, &err), DD_OK);
	CHECK(check_same_files(a, b));
}

/* A .zst of the image packs to the very same package as the raw image. */
TEST(zst_input_same_package)
{
	const char *in = check_path("zi.img"), *zin = check_path("zi.img.zst");
	const char *a = check_path("zi1.dfi"), *b = check_path("zi2.dfi");
	size_t len = 6 * 4096 + 17, zcap = ZSTD_compressBound(len);
	struct dfi_pack_opts o = { .block_size = 4096, .created = 5, .name = "n" };
	struct dd_err err = { 0 };
	uint8_t *img = make_image(in, len, 12, 4096), *z = malloc(zcap);
	size_t zl = ZSTD_compress(z, zcap, img, len, 3);

	free(img);
	CHECK(!ZSTD_isError(zl) && !check_write_file(zin, z, zl));
	free(z);
	CHECK_EQ_INT(dfi_pack(in, a, &o, &err), DD_OK);
	CHECK_EQ_INT(dfi_pack(zin, b, &o, &err), DD_OK);
	CHECK(check_same_files(a, b));
}

TEST(metadata)
{
	const char *in = check_path("md.img"), *out = check_path("md.dfi");
	uint8_t src_sha[32];
	struct dfi_pack_opts o = { .block_size = 8192, .created = 1700000000, .name = "DaRT 7 x64",
				   .source_sha256 = src_sha, .level = 5 };
	struct dfi_reader *r;
	struct dd_err err = { 0 };
	uint8_t *img = make_image(in, 100000, 13, 8192);
	int ok;

	free(img);
	memset(src_sha, 0xab, 32);
	CHECK_EQ_INT(dfi_pack(in, out, &o, &err), DD_OK);
	CHECK_EQ_INT(dfi_open(out, NULL, &r, &err), DD_OK);
	ok = !strcmp(r->m.name, "DaRT 7 x64") && r->m.created == 1700000000 && r->m.has_source_sha256 &&
	     !memcmp(r->m.source_sha256, src_sha, 32) && r->m.window_log == 13 && r->m.block_size == 8192 &&
	     !strncmp(r->m.tool, "dartdup ", 8) && !r->sig.present;
	dfi_close(r);
	CHECK(ok);
}

TEST(bad_options)
{
	struct dfi_pack_opts o = { .block_size = 5000 };
	struct dd_err err = { 0 };
	const char *in = check_path("bo.img");

	CHECK(!check_write_file(in, "x", 1));
	CHECK_EQ_INT(dfi_pack(in, check_path("bo.dfi"), &o, &err), DD_EUSAGE);
	o.block_size = 2048;
	CHECK_EQ_INT(dfi_pack(in, check_path("bo.dfi"), &o, &err), DD_EUSAGE);
	o.block_size = 0;
	o.level = 99;
	CHECK_EQ_INT(dfi_pack(in, check_path("bo.dfi"), &o, &err), DD_EUSAGE);
	o.level = 0;
	CHECK_EQ_INT(dfi_pack(check_path("missing.img"), check_path("bo.dfi"), &o, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "missing.img");
}

TEST(not_a_dfi)
{
	struct dd_source *src;
	struct dd_err err = { 0 };
	const char *p = check_path("plain.dfi");

	/* (any other file opens as a raw image: named .dfi, it must be refused) */
	CHECK(!check_write_file(p, "hello world, not a package", 26));
	CHECK_EQ_INT(dd_source_open(p, NULL, &src, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "plain.dfi: ");
}

struct reader_arg {
	struct dd_source *src;
	unsigned seed;
	int bad;
};

/* Read every block in a thread-specific order, checking each against the manifest hash. */
static void *reader_thread(void *p)
{
	struct reader_arg *a = p;
	const struct dd_image_info *info = &a->src->info;
	uint8_t *buf = malloc(info->block_size), h[32];
	struct dd_err err = { 0 };

	for (uint64_t k = 0; buf && k < 3 * info->block_count; k++) {
		uint64_t i = (k * (2 * a->seed + 1) + a->seed) % info->block_count;
		if (dd_source_read_block(a->src, i, buf, &err)) {
			a->bad++;
			continue;
		}
		dd_sha256(buf, dd_block_len(info, i), h);
		a->bad += memcmp(h, info->block_hash[i], 32) != 0;
	}
	a->bad += !buf;
	free(buf);
	return NULL;
}

/* read_block is called concurrently by the engine's decoder and lagging targets. */
TEST(concurrent_reads)
{
	const char *in = check_path("cc.img"), *out = check_path("cc.dfi");
	struct dfi_pack_opts o = { .block_size = 4096, .created = 1 };
	struct dd_err err = { 0 };
	struct dd_source *src;
	struct reader_arg args[4];
	pthread_t t[4];
	int bad = 0;

	free(make_image(in, 37 * 4096 + 11, 21, 4096));
	CHECK_EQ_INT(dfi_pack(in, out, &o, &err), DD_OK);
	CHECK_EQ_INT(dd_source_open(out, NULL, &src, &err), DD_OK);
	for (unsigned i = 0; i < 4; i++) {
		args[i] = (struct reader_arg){ .src = src, .seed = i + 1 };
		pthread_create(&t[i], NULL, reader_thread, &args[i]);
	}
	for (unsigned i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		bad += args[i].bad;
	}
	dd_source_close(src);
	CHECK_EQ_INT(bad, 0);
}

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: whatever the load (and under qemu-user) */
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* `test_dfi bench FILE.dfi` (scripts/bench.d/arm64.sh): the CPU cost of the two halves of proving a
 * block, on one thread: decoding every data block of the package (zstd) and the portable SHA-256 of
 * the same bytes. Zero blocks are skipped: the engine writes them from a zero buffer, never decodes
 * or hashes them. Prints "decode MB/s", "sha256 MB/s" (of image bytes) and their ratio. */
static int bench(const char *path)
{
	struct dfi_reader *r;
	struct dd_err err;
	double t_dec = 0, t_sha = 0, t_cmp = 0, t0;
	uint64_t bytes = 0, differ = 0;
	uint8_t *buf, *copy, d[32];

	if (dfi_open(path, NULL, &r, &err)) {
		fprintf(stderr, "test_dfi bench: %s\n", err.msg);
		return 2;
	}
	buf = malloc(r->m.block_size);
	copy = malloc(r->m.block_size);
	if (!buf || !copy || dd_sha256_force("portable")) {
		free(buf);
		free(copy);
		dfi_close(r);
		return 2;
	}
	for (uint64_t i = 0; i < r->m.block_count; i++) {
		size_t n = r->m.block_size;

		if (r->m.frame[i].zero)
			continue;
		if (i == r->m.block_count - 1 && r->m.image_size % n)
			n = r->m.image_size % n;
		t0 = cpu_now();
		if (dfi_read_block(r, i, buf, &err)) {
			fprintf(stderr, "test_dfi bench: %s\n", err.msg);
			break;
		}
		t_dec += cpu_now() - t0;
		t0 = cpu_now();
		dd_sha256(buf, n, d);
		t_sha += cpu_now() - t0;
		memcpy(copy, buf, n);
		t0 = cpu_now();
		differ += memcmp(buf, copy, n) != 0;
		t_cmp += cpu_now() - t0;
		bytes += n;
	}
	printf("bytes %llu\ndecode %.1f\nsha256 %.1f\nmemcmp %.1f\nsha256/decode %.2f\n",
	       (unsigned long long)bytes, bytes / t_dec / 1e6, bytes / t_sha / 1e6, bytes / t_cmp / 1e6,
	       t_sha / t_dec);
	free(buf);
	free(copy);
	dfi_close(r);
	return bytes && !differ ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "bench"))
		return bench(argv[2]);
	RUN(empty_image_refused);
	RUN(roundtrip_one_byte);
	RUN(roundtrip_not_multiple);
	RUN(roundtrip_exact_multiple);
	RUN(roundtrip_default_block_size);
	RUN(roundtrip_all_zeros);
	RUN(zstd_decodes_to_image);
	RUN(reproducible);
	RUN(zst_input_same_package);
	RUN(metadata);
	RUN(bad_options);
	RUN(not_a_dfi);
	RUN(concurrent_reads);
	return check_done();
}
