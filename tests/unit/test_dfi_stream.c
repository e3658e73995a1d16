/* The streaming block check (format/dfi_stream.h): a package fed in any chunks is proven against its
 * signed manifest; a damaged frame, a lying manifest, garbage or a cut stream are never proven; memory
 * stays below a block. */
#include "check.h"
#include "fixtures.h"
#include "format/dfi_format.h"
#include "format/dfi_reader.h"
#include "format/dfi_stream.h"

#include <stdlib.h>
#include <string.h>

static const char *keys[1];

/* A signed package (key "depot") of img's len bytes; its bytes in *pkg (malloc'd), *n its size. */
static const char *pack_img(const char *name, const uint8_t *img, size_t len, uint32_t bs, uint8_t **pkg, size_t *n)
{
	struct dfi_pack_opts o = { .block_size = bs, .threads = 1, .created = 1, .name = name };
	const char *out = check_path(name);

	o.key_path = check_key("depot", NULL);
	keys[0] = check_path("depot.pub");
	if (!o.key_path || check_pack(out, img, len, &o, NULL))
		return NULL;
	*pkg = check_read_file(out, n);
	return *pkg ? out : NULL;
}

static const char *pack_random(const char *name, size_t len, uint64_t seed, uint32_t bs, uint8_t **pkg, size_t *n)
{
	uint8_t *img = malloc(len);
	const char *out;

	if (!img)
		return NULL;
	check_fill_random(img, len, seed);
	out = pack_img(name, img, len, bs, pkg, n);
	free(img);
	return out;
}

/* Feed pkg in chunks: step 0 = random sizes from 1 to 70000 bytes. */
static void feed(struct dfi_stream *s, const uint8_t *pkg, size_t n, size_t step)
{
	uint64_t rnd = 88172645463325252ull;

	for (size_t off = 0; off < n; ) {
		size_t k = step;

		if (!k) {
			rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
			k = 1 + (size_t)(rnd % 70000);
		}
		if (k > n - off)
			k = n - off;
		dfi_stream_feed(s, pkg + off, k);
		off += k;
	}
}

/* Stream pkg, open path (signature checked): does the stream prove it? */
static bool proven(const char *path, const uint8_t *pkg, size_t n, size_t step, const struct dfi_open_opts *oo)
{
	struct dfi_open_opts def = { .pubkeys = keys, .n_pubkeys = 1 };
	struct dfi_stream *s = dfi_stream_new();
	struct dfi_reader *r = NULL;
	struct dd_err err;
	bool ok = false;

	if (!s)
		return false;
	feed(s, pkg, n, step);
	if (dfi_stream_fed(s) == n && dfi_open(path, oo ? oo : &def, &r, &err) == DD_OK)
		ok = dfi_stream_proves(s, r);
	dfi_close(r);
	dfi_stream_free(s);
	return ok;
}

TEST(random_package_proven_in_any_chunks)
{
	uint8_t *pkg = NULL;
	size_t n = 0;
	/* 5 full blocks and a short one */
	const char *path = pack_random("rand.dfi", 5 * 65536 + 1234, 1, 65536, &pkg, &n);

	CHECK(path);
	CHECK(proven(path, pkg, n, 1, NULL));
	CHECK(proven(path, pkg, n, 0, NULL));
	CHECK(proven(path, pkg, n, 7, NULL));
	CHECK(proven(path, pkg, n, 1u << 20, NULL));
	free(pkg);
}

TEST(compressible_package_proven)
{
	size_t len = 9 * 4096 + 17, n = 0;
	uint8_t *img = calloc(1, len), *pkg = NULL;
	struct dfi_stream *s = dfi_stream_new();
	const char *path;

	CHECK(img && s);
	check_fill_random(img + 4096, 4096, 2);       /* block 1 random, block 3 text, the rest zeros */
	for (size_t i = 3 * 4096; i < 4 * 4096; i++)
		img[i] = "DaRT "[i % 5];
	img[len - 1] = 1;                            /* the short last block is not zero */
	path = pack_img("zeros.dfi", img, len, 4096, &pkg, &n);
	free(img);
	CHECK(path);
	CHECK(proven(path, pkg, n, 0, NULL));
	CHECK(proven(path, pkg, n, 3, NULL));
	feed(s, pkg, n, 4096);
	CHECK_EQ_INT(dfi_stream_state(s), DFI_STREAM_DONE);
	CHECK_EQ_U64(dfi_stream_blocks(s), 10);
	dfi_stream_free(s);
	free(pkg);
}

/* The streams of two packages of the same layout do not prove each other. */
TEST(another_package_not_proven)
{
	uint8_t *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	const char *pa = pack_random("a.dfi", 3 * 4096, 3, 4096, &a, &na);
	const char *pb = pack_random("b.dfi", 3 * 4096, 4, 4096, &b, &nb);

	CHECK(pa && pb);
	CHECK(proven(pa, a, na, 0, NULL));
	CHECK(!proven(pb, a, na, 0, NULL));
	CHECK(!proven(pa, b, nb, 0, NULL));
	free(a);
	free(b);
}

TEST(flipped_data_byte_not_proven_and_refused)
{
	uint8_t *pkg = NULL;
	size_t n = 0;
	const char *path = pack_random("flip.dfi", 4 * 4096, 5, 4096, &pkg, &n);
	struct dfi_open_opts oo = { .pubkeys = keys, .n_pubkeys = 1 };
	struct dfi_reader *r = NULL;
	struct dd_err err;
	uint64_t bad = 0;
	int rc;

	CHECK(path);
	pkg[DFI_HEADER_FRAME + 4096 + 100] ^= 0x20;   /* inside block 1's frame (random data: stored raw) */
	CHECK(!check_write_file(path, pkg, n));
	CHECK(!proven(path, pkg, n, 0, NULL));
	CHECK(!proven(path, pkg, n, 1, NULL));
	CHECK_EQ_INT(dfi_open(path, &oo, &r, &err), DD_OK); /* the manifest is intact */
	rc = dfi_check(r, NULL, &bad, &err);
	dfi_close(r);
	CHECK_EQ_INT(rc, DD_ECHECK);
	CHECK_EQ_U64(bad, 1);
	free(pkg);
}

/* Entry i's field at off (0 hash: its first byte, 32 frame_offset, 40 frame_size) gets delta added; the
 * trailer's image id is made to agree again, and the signature is no longer checked (an unsigned open):
 * a manifest that lies but opens. */
static void lie(uint8_t *pkg, size_t n, uint64_t i, unsigned off, int delta)
{
	uint8_t *t = pkg + n - DFI_TRAILER_FRAME;
	uint64_t mo = dfi_get64(t + 16);
	uint32_t ms = dfi_get32(t + 24);
	uint8_t *m = pkg + mo + DFI_FRAME_HDR;
	size_t e = DFI_MANIFEST_FIXED + dfi_get16(m + 80) + dfi_get16(m + 82) + m[14];

	uint8_t *f = m + e + DFI_ENTRY_SIZE * i + off;

	if (off == 32)
		dfi_put64(f, dfi_get64(f) + (uint64_t)(int64_t)delta);
	else if (off == 40)
		dfi_put32(f, dfi_get32(f) + (uint32_t)delta);
	else
		f[0] = (uint8_t)(f[0] + delta);
	dd_sha256(m, ms - DFI_FRAME_HDR, t + 40);
}

TEST(lying_manifest_not_proven)
{
	static const struct { unsigned off; int delta; } lies[] = { { 0, 1 }, { 32, 1 }, { 40, -1 } };
	struct dfi_open_opts none = { 0 };
	uint8_t *pkg = NULL;
	size_t n = 0;
	const char *path = pack_random("lie.dfi", 4 * 4096 + 9, 6, 4096, &pkg, &n);
	const char *bad = check_path("lie-bad.dfi");

	CHECK(path);
	for (size_t k = 0; k < sizeof(lies) / sizeof(lies[0]); k++) {
		uint8_t *copy = malloc(n);
		struct dfi_reader *r = NULL;
		struct dd_err err;
		bool ok;

		CHECK(copy);
		memcpy(copy, pkg, n);
		CHECK(!check_write_file(bad, copy, n));
		ok = proven(bad, copy, n, 0, &none);      /* the unchanged copy is proven unsigned too */
		if (ok) {
			/* offset and size: block 2 starts one byte later, block 1 ends there; both still open */
			if (lies[k].off == 32) {
				lie(copy, n, 2, 32, 1);
				lie(copy, n, 2, 40, -1);
				lie(copy, n, 1, 40, 1);
			} else {
				lie(copy, n, 2, lies[k].off, lies[k].delta);
				if (lies[k].off == 40)
					lie(copy, n, 3, 40, 1), lie(copy, n, 3, 32, -1);
			}
			ok = !check_write_file(bad, copy, n) && dfi_open(bad, &none, &r, &err) == DD_OK;
		}
		if (!ok) {
			free(copy);
			CHECK_FAIL_("lie %zu: the package does not open", k);
		}
		dfi_close(r);
		ok = proven(bad, copy, n, 0, &none);
		free(copy);
		if (ok)
			CHECK_FAIL_("lie %zu proven", k);
	}
	free(pkg);
}

TEST(garbage_and_cut_streams_give_up)
{
	uint8_t junk[100000], *pkg = NULL;
	size_t n = 0;
	const char *path = pack_random("cut.dfi", 3 * 4096, 7, 4096, &pkg, &n);
	struct dfi_stream *s = dfi_stream_new();

	CHECK(path && s);
	check_fill_random(junk, sizeof(junk), 8);
	dfi_stream_feed(s, junk, sizeof(junk));
	CHECK_EQ_INT(dfi_stream_state(s), DFI_STREAM_GAVE_UP);
	CHECK_EQ_U64(dfi_stream_fed(s), sizeof(junk));
	/* a good header, then junk where a data frame should start */
	dfi_stream_reset(s);
	dfi_stream_feed(s, pkg, DFI_HEADER_FRAME);
	dfi_stream_feed(s, junk, sizeof(junk));
	CHECK_EQ_INT(dfi_stream_state(s), DFI_STREAM_GAVE_UP);
	/* a good frame header, then junk inside the frame */
	dfi_stream_reset(s);
	dfi_stream_feed(s, pkg, DFI_HEADER_FRAME + 20);
	CHECK_EQ_INT(dfi_stream_state(s), DFI_STREAM_DATA);
	dfi_stream_feed(s, junk, sizeof(junk));
	CHECK_EQ_INT(dfi_stream_state(s), DFI_STREAM_GAVE_UP);
	CHECK_EQ_U64(dfi_stream_blocks(s), 0);
	/* cut short: never done, never proven */
	dfi_stream_reset(s);
	feed(s, pkg, n / 2, 0);
	CHECK_EQ_INT(dfi_stream_state(s), DFI_STREAM_DATA);
	CHECK(!proven(path, pkg, n / 2, 0, NULL));
	/* and whole after a reset */
	dfi_stream_reset(s);
	feed(s, pkg, n, 0);
	CHECK_EQ_INT(dfi_stream_state(s), DFI_STREAM_DONE);
	CHECK_EQ_U64(dfi_stream_blocks(s), 3);
	dfi_stream_free(s);
	free(pkg);
}

/* 16 MiB blocks: the stream never holds a block; its decoder goes once the data is over. */
TEST(memory_below_a_block)
{
	size_t len = 2 * (16u << 20) + 5000, n = 0, peak = 0;
	uint8_t *img = malloc(len), *pkg = NULL;
	struct dfi_stream *s = dfi_stream_new();
	const char *path;

	CHECK(img && s);
	for (size_t i = 0; i < len; i++)
		img[i] = (uint8_t)(i * 2654435761u >> 13);
	path = pack_img("big.dfi", img, len, 16u << 20, &pkg, &n);
	free(img);
	CHECK(path);
	for (size_t off = 0; off < n; off += 65536) {
		dfi_stream_feed(s, pkg + off, n - off < 65536 ? n - off : 65536);
		if (dfi_stream_footprint(s) > peak)
			peak = dfi_stream_footprint(s);
	}
	CHECK_EQ_INT(dfi_stream_state(s), DFI_STREAM_DONE);
	CHECK(peak > (256u << 10));      /* the decoder and buffer were there */
	CHECK(peak < (12u << 20));       /* an 8 MiB window, not a 16 MiB block */
	CHECK(dfi_stream_footprint(s) < 8192); /* done: only the notes are left */
	dfi_stream_free(s);
	CHECK(proven(path, pkg, n, 1u << 20, NULL));
	free(pkg);
}

int main(void)
{
	RUN(random_package_proven_in_any_chunks);
	RUN(compressible_package_proven);
	RUN(another_package_not_proven);
	RUN(flipped_data_byte_not_proven_and_refused);
	RUN(lying_manifest_not_proven);
	RUN(garbage_and_cut_streams_give_up);
	RUN(memory_below_a_block);
	return check_done();
}
