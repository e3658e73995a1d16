/* Validation before trust: a flipped byte in every metadata region, damaged data frames,
 * truncation at every length near the ends, and crafted manifests with absurd sizes all give
 * one clear error naming the file, never a crash or a false "good". */
#include "check.h"
#include "crypto/sign.h"
#include "format/dfi_format.h"
#include "format/dfi_reader.h"
#include "format/dfi_writer.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#define BS 4096

static uint8_t *pkg;           /* the pristine signed package */
static size_t pkg_len;
static const char *pub;

static void setup(void)
{
	const char *in = check_path("c.img"), *out = check_path("c.dfi");
	static uint8_t img[5 * BS + 77];
	struct dfi_pack_opts o = { .block_size = BS, .created = 1, .name = "corrupt-me" };
	struct dd_err err = { 0 };
	static char pubp[512], keyp[512];

	snprintf(pubp, sizeof(pubp), "%s/k.pub", check_tmpdir());
	snprintf(keyp, sizeof(keyp), "%s/k.key", check_tmpdir());
	check_fill_random(img, sizeof(img), 5);
	memset(img + 2 * BS, 0, BS);
	if (dd_keygen(check_path("k"), &err) || check_write_file(in, img, sizeof(img))) {
		fprintf(stderr, "setup: %s\n", err.msg);
		exit(1);
	}
	o.key_path = keyp;
	if (dfi_pack(in, out, &o, &err) || !(pkg = check_read_file(out, &pkg_len))) {
		fprintf(stderr, "setup: %s\n", err.msg);
		exit(1);
	}
	pub = pubp;
}

/* Regions of the pristine package, from its trailer. */
static uint64_t manifest_off(void) { return dfi_get64(pkg + pkg_len - DFI_TRAILER_FRAME + 16); }
static uint32_t manifest_size(void) { return dfi_get32(pkg + pkg_len - DFI_TRAILER_FRAME + 24); }

/* Write buf as a package and open it (with the public key when keyed). */
static int try_open(const uint8_t *buf, size_t len, bool keyed, struct dfi_reader **r, struct dd_err *err)
{
	const char *p = check_path("try.dfi");
	struct dfi_open_opts o = { .pubkeys = &pub, .n_pubkeys = keyed ? 1 : 0 };

	if (check_write_file(p, buf, len))
		return 99;
	return dfi_open(p, &o, r, err);
}

/* Flip each byte of [from, to) in turn: opening must fail with DD_EINPUT and a message naming
 * the file. */
static void flip_range(size_t from, size_t to, bool keyed)
{
	uint8_t *b = malloc(pkg_len);
	struct dfi_reader *r;
	struct dd_err err;

	CHECK(b);
	memcpy(b, pkg, pkg_len);
	for (size_t i = from; i < to; i++) {
		int rc;
		b[i] ^= 0x10;
		memset(&err, 0, sizeof(err));
		rc = try_open(b, pkg_len, keyed, &r, &err);
		b[i] ^= 0x10;
		if (rc == DD_OK)
			dfi_close(r);
		if (rc != DD_EINPUT || !strstr(err.msg, "try.dfi: ")) {
			free(b);
			CHECK_FAIL_("byte %zu flipped: rc %d, \"%s\"", i, rc, err.msg);
		}
	}
	free(b);
}

TEST(pristine_opens_verified)
{
	struct dfi_reader *r;
	struct dd_err err = { 0 };
	int rc = try_open(pkg, pkg_len, true, &r, &err);

	CHECK_EQ_INT(rc, DD_OK);
	rc = r->sig.state == DD_SIG_VERIFIED && dfi_check(r, NULL, NULL, &err) == DD_OK;
	dfi_close(r);
	CHECK(rc);
}

TEST(flip_header) { flip_range(0, DFI_HEADER_FRAME, false); }
TEST(flip_manifest) { flip_range(manifest_off(), manifest_off() + manifest_size(), false); }
TEST(flip_signature_keyed)
{
	flip_range(manifest_off() + manifest_size(), pkg_len - DFI_TRAILER_FRAME, true);
}
TEST(flip_trailer) { flip_range(pkg_len - DFI_TRAILER_FRAME, pkg_len, false); }

/* A damaged data frame: the package opens, the check names the block and its image offset. */
TEST(flip_data_frames)
{
	uint8_t *b = malloc(pkg_len);
	struct dfi_reader *r;
	struct dd_err err;
	uint64_t bad;

	CHECK(b);
	memcpy(b, pkg, pkg_len);
	for (size_t i = DFI_HEADER_FRAME; i < manifest_off(); i += 61) {
		int rc, crc = -100;
		char want[64];
		b[i] ^= 0x01;
		rc = try_open(b, pkg_len, false, &r, &err);
		if (rc == DD_OK) {
			crc = dfi_check(r, NULL, &bad, &err);
			snprintf(want, sizeof(want), "(image offset %llu)", (unsigned long long)(bad * BS));
			/* the reported block is the one whose frame holds byte i */
			if (!crc || i < r->m.frame[bad].offset || i >= r->m.frame[bad].offset + r->m.frame[bad].size)
				crc = -100;
			dfi_close(r);
		}
		b[i] ^= 0x01;
		if (rc != DD_OK || crc != DD_ECHECK || !strstr(err.msg, want)) {
			free(b);
			CHECK_FAIL_("data byte %zu flipped: open %d, check %d, \"%s\"", i, rc, crc, err.msg);
		}
	}
	free(b);
}

/* Truncated anywhere (all lengths near both ends, a stride through the middle): refused. */
TEST(truncation)
{
	struct dfi_reader *r;
	struct dd_err err;

	for (size_t len = 0; len < pkg_len; len += (len < 300 || len > pkg_len - 300) ? 1 : 97) {
		int rc;
		memset(&err, 0, sizeof(err));
		rc = try_open(pkg, len, false, &r, &err);
		if (rc == DD_OK)
			dfi_close(r);
		if (rc != DD_EINPUT || (len >= 12 && !strstr(err.msg, "try.dfi: ")))
			CHECK_FAIL_("truncated to %zu: rc %d, \"%s\"", len, rc, err.msg);
	}
	/* bytes appended are refused too */
	uint8_t *b = malloc(pkg_len + 1);
	CHECK(b);
	memcpy(b, pkg, pkg_len);
	b[pkg_len] = 0;
	int rc = try_open(b, pkg_len + 1, false, &r, &err);
	free(b);
	CHECK_EQ_INT(rc, DD_EINPUT);
}

/* Rewrite a manifest field as an attacker of an unsigned package would (fixing the trailer's
 * image id), then open. */
static int open_crafted(size_t field, int width, uint64_t value, struct dfi_reader **r, struct dd_err *err)
{
	uint8_t *b = malloc(pkg_len);
	size_t mo = manifest_off() + DFI_FRAME_HDR, ml = manifest_size() - DFI_FRAME_HDR;
	uint8_t *t;
	int rc;

	if (!b)
		return 99;
	memcpy(b, pkg, pkg_len);
	if (width == 1)
		b[mo + field] = (uint8_t)value;
	else if (width == 2)
		dfi_put16(b + mo + field, (uint16_t)value);
	else if (width == 4)
		dfi_put32(b + mo + field, (uint32_t)value);
	else
		dfi_put64(b + mo + field, value);
	t = b + pkg_len - DFI_TRAILER_FRAME;
	dd_sha256(b + mo, ml, t + 40);
	/* drop the signature: it no longer matches, and unsigned packages are what this tests */
	memmove(b + mo + ml, t, DFI_TRAILER_FRAME);
	t = b + mo + ml;
	dfi_put32(t + 28, 0);
	dfi_put64(t + 32, mo + ml + DFI_TRAILER_FRAME);
	rc = try_open(b, mo + ml + DFI_TRAILER_FRAME, false, r, err);
	free(b);
	return rc;
}

TEST(crafted_absurd_sizes)
{
	static const struct { size_t field; int width; uint64_t value; const char *what; } cases[] = {
		{ 8, 4, 1u << 31, "block size" },
		{ 8, 4, 4097, "block size" },
		{ 8, 4, 2048, "block size" },
		{ 12, 1, 31, "window log" },
		{ 12, 1, 0, "window log" },
		{ 16, 8, UINT64_MAX, "image size" },
		{ 24, 8, UINT64_MAX / 48 + 2, "block count" },
		{ 16, 8, (1ull << 50) + 1, "image size" },
		{ 24, 8, 7, "block count" },
		{ 32, 8, 0, "data offset" },
		{ 80, 2, 65535, "length" },
		{ 82, 2, 200, "length" },
		{ 84, 1, '\n', "control" },
		{ 6, 2, 0x8000, "flags" },
		{ 13, 1, 2, "hash" },
		{ 4, 2, 2, "version" },
	};
	size_t entries = DFI_MANIFEST_FIXED + strlen("corrupt-me") + strlen("dartdup " DARTDUP_VERSION);
	struct dfi_reader *r;
	struct dd_err err;

	/* the crafting itself is sound: an unchanged value opens */
	CHECK_EQ_INT(open_crafted(8, 4, BS, &r, &err), DD_OK);
	dfi_close(r);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&err, 0, sizeof(err));
		int rc = open_crafted(cases[i].field, cases[i].width, cases[i].value, &r, &err);
		if (rc == DD_OK)
			dfi_close(r);
		if (rc != DD_EINPUT || !strstr(err.msg, "try.dfi: "))
			CHECK_FAIL_("case %zu (%s): rc %d, \"%s\"", i, cases[i].what, rc, err.msg);
	}
	/* frame table: size 0, huge size, offset outside the file, a non-zero block marked zero */
	static const struct { size_t field; int width; uint64_t value; } fr[] = {
		{ 40, 4, 0 }, { 40, 4, UINT32_MAX }, { 32, 8, UINT64_MAX - 5 }, { 44, 4, DFI_ENTRY_ZERO }, { 44, 4, 4 },
	};
	for (size_t i = 0; i < sizeof(fr) / sizeof(fr[0]); i++) {
		memset(&err, 0, sizeof(err));
		int rc = open_crafted(entries + DFI_ENTRY_SIZE + fr[i].field, fr[i].width, fr[i].value, &r, &err);
		if (rc == DD_OK)
			dfi_close(r);
		if (rc != DD_EINPUT || !strstr(err.msg, "try.dfi: "))
			CHECK_FAIL_("frame case %zu: rc %d, \"%s\"", i, rc, err.msg);
	}
}

/* A frame whose window is larger than the manifest pins is refused before decoding. */
TEST(window_larger_than_pinned)
{
	struct dfi_reader *r;
	struct dd_err err = { 0 };
	uint8_t *buf = malloc(BS);
	int rc = open_crafted(12, 1, 10, &r, &err), rrc = -100;

	CHECK(buf);
	if (rc == DD_OK) {
		rrc = dfi_read_block(r, 0, buf, &err);
		dfi_close(r);
	}
	free(buf);
	CHECK_EQ_INT(rc, DD_OK);
	CHECK_EQ_INT(rrc, DD_ECHECK);
	CHECK_STR_CONTAINS(err.msg, "block 0 (image offset 0): data frame damaged (header)");
}

/* A data block marked zero (with the hash of zeros) in an unsigned package opens, since the
 * manifest is self-consistent, but the check finds its frame does not decode to zeros. */
TEST(zero_flag_on_data_block)
{
	size_t entries = DFI_MANIFEST_FIXED + strlen("corrupt-me") + strlen("dartdup " DARTDUP_VERSION);
	size_t mo = manifest_off() + DFI_FRAME_HDR, ml = manifest_size() - DFI_FRAME_HDR;
	uint8_t *b = malloc(pkg_len), *zeros = calloc(1, BS), *t;
	struct dfi_reader *r;
	struct dd_err err = { 0 };
	int rc, crc = -100;

	CHECK(b && zeros);
	memcpy(b, pkg, mo + ml);
	dd_sha256(zeros, BS, b + mo + entries);          /* entry 0: hash of zeros ... */
	dfi_put32(b + mo + entries + 44, DFI_ENTRY_ZERO); /* ... and the ZERO flag */
	free(zeros);
	t = b + mo + ml;
	memcpy(t, pkg + pkg_len - DFI_TRAILER_FRAME, DFI_TRAILER_FRAME);
	dd_sha256(b + mo, ml, t + 40);
	dfi_put32(t + 28, 0);
	dfi_put64(t + 32, mo + ml + DFI_TRAILER_FRAME);
	rc = try_open(b, mo + ml + DFI_TRAILER_FRAME, false, &r, &err);
	free(b);
	if (rc == DD_OK) {
		crc = dfi_check(r, NULL, NULL, &err);
		dfi_close(r);
	}
	CHECK_EQ_INT(rc, DD_OK);
	CHECK_EQ_INT(crc, DD_ECHECK);
	CHECK_STR_CONTAINS(err.msg, "block 0 (image offset 0): SHA-256 mismatch");
}

/* Random damage to an unsigned package's manifest, with the trailer's image id fixed up so the
 * parser (not the hash) must catch it: whatever opens must still check cleanly or fail cleanly. */
TEST(random_manifest_mutations)
{
	size_t mo = manifest_off() + DFI_FRAME_HDR, ml = manifest_size() - DFI_FRAME_HDR;
	size_t len = mo + ml + DFI_TRAILER_FRAME;
	uint8_t *b = malloc(pkg_len);
	uint64_t x = 88172645463325252ull;
	int opened = 0;

	CHECK(b);
	for (int iter = 0; iter < 400; iter++) {
		struct dfi_reader *r;
		struct dd_err err = { 0 };
		uint8_t *t;
		int rc;

		memcpy(b, pkg, mo + ml);
		for (int k = 0; k < 1 + iter % 4; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			b[mo + (x >> 8) % ml] ^= (uint8_t)(1u << (x % 8));
		}
		t = b + mo + ml;
		memcpy(t, pkg + pkg_len - DFI_TRAILER_FRAME, DFI_TRAILER_FRAME);
		dd_sha256(b + mo, ml, t + 40);
		dfi_put32(t + 28, 0);
		dfi_put64(t + 32, len);
		rc = try_open(b, len, false, &r, &err);
		if (rc == DD_OK) {
			opened++;
			rc = dfi_check(r, NULL, NULL, &err);
			dfi_close(r);
			if (rc != DD_OK && rc != DD_ECHECK) {
				free(b);
				CHECK_FAIL_("iteration %d: check gave %d: %s", iter, rc, err.msg);
			}
		} else if (rc != DD_EINPUT || !strstr(err.msg, "try.dfi: ")) {
			free(b);
			CHECK_FAIL_("iteration %d: open gave %d: %s", iter, rc, err.msg);
		}
	}
	free(b);
	printf("# %d of 400 mutated manifests opened (hash or name bytes hit), all checked cleanly\n", opened);
}

/* ---- item 10: messages that say what is wrong ---------------------------------------------- */

TEST(manifest_reserved_bytes_named)
{
	struct dfi_reader *r;
	struct dd_err err = { 0 };
	int rc = open_crafted(15, 1, 1, &r, &err);

	if (rc == DD_OK)
		dfi_close(r);
	CHECK_EQ_INT(rc, DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "try.dfi: manifest damaged: reserved byte 15 is not zero");
	/* byte 14 is the version's length (docs/FORMAT.md): one the payload does not hold is a wrong length */
	memset(&err, 0, sizeof(err));
	rc = open_crafted(14, 1, 1, &r, &err);
	if (rc == DD_OK)
		dfi_close(r);
	CHECK_STR_CONTAINS(err.msg, "try.dfi: manifest damaged: length does not match its contents");
	memset(&err, 0, sizeof(err));
	rc = open_crafted(13, 1, 2, &r, &err);
	if (rc == DD_OK)
		dfi_close(r);
	CHECK_STR_CONTAINS(err.msg, "unknown hash algorithm 2");
}

/* The pristine package with its trailer's u16 at off set to v. */
static int open_trailer_u16(size_t off, uint16_t v, struct dd_err *err)
{
	uint8_t *b = malloc(pkg_len);
	struct dfi_reader *r;
	int rc;

	if (!b)
		return 99;
	memcpy(b, pkg, pkg_len);
	dfi_put16(b + pkg_len - DFI_TRAILER_FRAME + off, v);
	rc = try_open(b, pkg_len, false, &r, err);
	free(b);
	if (rc == DD_OK)
		dfi_close(r);
	return rc;
}

TEST(trailer_reserved_and_version_named)
{
	struct dd_err err = { 0 };

	CHECK_EQ_INT(open_trailer_u16(14, 0x0100, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "try.dfi: trailer damaged (reserved bytes 14-15 are not zero)");
	CHECK_EQ_INT(open_trailer_u16(12, 2, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "try.dfi: unsupported trailer version 2 (this dartdup reads 1)");
}

/* ---- item 4: the signature first, the manifest bounded ------------------------------------ */

/* The pristine package, unsigned (signature frame dropped), with its manifest frame's magic broken:
 * a reader that reads the manifest says "no manifest frame". */
static uint8_t *unsigned_broken_manifest(size_t *len)
{
	size_t end = manifest_off() + manifest_size();
	uint8_t *b = malloc(end + DFI_TRAILER_FRAME), *t;

	if (!b)
		return NULL;
	memcpy(b, pkg, end);
	t = b + end;
	memcpy(t, pkg + pkg_len - DFI_TRAILER_FRAME, DFI_TRAILER_FRAME);
	dfi_put32(t + 28, 0);
	dfi_put64(t + 32, end + DFI_TRAILER_FRAME);
	b[manifest_off()] ^= 0xff;
	*len = end + DFI_TRAILER_FRAME;
	return b;
}

TEST(unsigned_with_key_refused_before_the_manifest)
{
	struct dfi_reader *r;
	struct dd_err err = { 0 };
	size_t len;
	uint8_t *b = unsigned_broken_manifest(&len);
	int rc;

	CHECK(b);
	/* without a key the broken manifest is what is found (the crafting is sound) */
	rc = try_open(b, len, false, &r, &err);
	CHECK_EQ_INT(rc, DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "no manifest frame");
	memset(&err, 0, sizeof(err));
	rc = try_open(b, len, true, &r, &err);
	free(b);
	if (rc == DD_OK)
		dfi_close(r);
	CHECK_EQ_INT(rc, DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "try.dfi: not signed (a public key was given)");
}

/* A signed package whose trailer's image id was changed: the signature (over that id) fails before the
 * manifest (broken here too, so reading it would say so) is read. */
TEST(bad_signature_refused_before_the_manifest)
{
	uint8_t *b = malloc(pkg_len);
	struct dfi_reader *r;
	struct dd_err err = { 0 };
	int rc;

	CHECK(b);
	memcpy(b, pkg, pkg_len);
	b[manifest_off()] ^= 0xff;
	b[pkg_len - DFI_TRAILER_FRAME + 40] ^= 0x01;
	rc = try_open(b, pkg_len, true, &r, &err);
	free(b);
	if (rc == DD_OK)
		dfi_close(r);
	CHECK_EQ_INT(rc, DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "try.dfi: signature does not verify");
}

/* A sparse package file: a valid header, a manifest frame of payload_len bytes at mo whose first
 * head_len bytes are head (the rest holes: zeros), no signature, a trailer with image id `id`. */
static int craft_sparse(const char *p, uint64_t mo, uint32_t payload_len, const uint8_t *head, size_t head_len,
			const uint8_t id[DD_SHA256_LEN])
{
	uint8_t h[DFI_HEADER_FRAME] = { 0 }, fh[DFI_FRAME_HDR], t[DFI_TRAILER_FRAME] = { 0 };
	uint64_t size = mo + DFI_FRAME_HDR + payload_len + DFI_TRAILER_FRAME;
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644), bad;

	if (fd < 0)
		return -1;
	dfi_put32(h, DFI_SKIPPABLE_MAGIC);
	dfi_put32(h + 4, DFI_HEADER_PAYLOAD);
	memcpy(h + 8, DFI_TAG_HEADER, 4);
	dfi_put16(h + 12, DFI_VERSION);
	dfi_put32(fh, DFI_SKIPPABLE_MAGIC);
	dfi_put32(fh + 4, payload_len);
	dfi_put32(t, DFI_SKIPPABLE_MAGIC);
	dfi_put32(t + 4, DFI_TRAILER_PAYLOAD);
	memcpy(t + 8, DFI_TAG_TRAILER, 4);
	dfi_put16(t + 12, DFI_VERSION);
	dfi_put64(t + 16, mo);
	dfi_put32(t + 24, DFI_FRAME_HDR + payload_len);
	dfi_put64(t + 32, size);
	memcpy(t + 40, id, DD_SHA256_LEN);
	bad = ftruncate(fd, (off_t)size) ||
	      pwrite(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	      pwrite(fd, fh, sizeof(fh), (off_t)mo) != (ssize_t)sizeof(fh) ||
	      pwrite(fd, head, head_len, (off_t)(mo + DFI_FRAME_HDR)) != (ssize_t)head_len ||
	      pwrite(fd, t, sizeof(t), (off_t)(size - DFI_TRAILER_FRAME)) != (ssize_t)sizeof(t);
	close(fd);
	return bad ? -1 : 0;
}

struct open_arg {
	const char *path;
	bool keyed;
};

static int open_in_child(void *arg, char *msg)
{
	struct open_arg *a = arg;
	struct dfi_open_opts o = { .pubkeys = &pub, .n_pubkeys = a->keyed ? 1 : 0 };
	struct dfi_reader *r;
	struct dd_err err = { 0 };
	int rc = dfi_open(a->path, &o, &r, &err);

	if (rc == DD_OK)
		dfi_close(r);
	snprintf(msg, CHECK_RSS_MSG, "%s", err.msg);
	return rc;
}

/* Open path in a child: refused with DD_EINPUT, a message containing want, peak memory growth under
 * max_kib (not judged under ASan). */
static void refused_small(const char *p, bool keyed, const char *want, long max_kib)
{
	struct open_arg a = { p, keyed };
	char msg[CHECK_RSS_MSG];
	int rc = -100;
	long kib = check_peak_rss_kib(open_in_child, &a, &rc, msg);

	CHECK(kib >= 0);
	CHECK_EQ_INT(rc, DD_EINPUT);
	CHECK_STR_CONTAINS(msg, want);
	printf("# %s: refused, peak memory +%ld KiB\n", want, kib);
	if (!CHECK_ASAN && kib > max_kib)
		CHECK_FAIL_("%s: peak memory grew by %ld KiB (bound %ld)", want, kib, max_kib);
}

/* The fixed part of a manifest for n blocks of 4 KiB (no name, no tool). */
static void fixed_part(uint8_t *m, uint64_t n)
{
	memset(m, 0, DFI_MANIFEST_FIXED);
	memcpy(m, DFI_TAG_MANIFEST, 4);
	dfi_put16(m + 4, DFI_VERSION);
	dfi_put32(m + 8, BS);
	m[12] = 12;
	m[13] = DFI_HASH_SHA256;
	dfi_put64(m + 16, n * BS);
	dfi_put64(m + 24, n);
	dfi_put64(m + 32, DFI_HEADER_FRAME);
}

/* A trailer pointing at a manifest over the format's limit (a 4 GiB sparse file): refused from the
 * trailer, before a byte of the manifest is read, with or without a key. */
TEST(crafted_manifest_over_the_limit)
{
	const char *p = check_path("huge.dfi");
	uint8_t m[DFI_MANIFEST_FIXED], id[DD_SHA256_LEN] = { 0 };
	uint32_t payload = UINT32_MAX - 4096;

	fixed_part(m, (payload - DFI_MANIFEST_FIXED) / DFI_ENTRY_SIZE);
	CHECK(craft_sparse(p, DFI_HEADER_FRAME + (1ull << 30), payload, m, sizeof(m), id) == 0);
	refused_small(p, false, "over the format's limit", 4096);
	refused_small(p, true, "over the format's limit", 4096);
	unlink(p);
}

/* A manifest describing more blocks than the data before it can hold: refused from the trailer. */
TEST(crafted_manifest_without_data)
{
	const char *p = check_path("nodata.dfi");
	uint8_t m[DFI_MANIFEST_FIXED], id[DD_SHA256_LEN] = { 0 };
	uint64_t n = 1u << 20;

	fixed_part(m, n);
	CHECK(craft_sparse(p, DFI_HEADER_FRAME + 1000, (uint32_t)(DFI_MANIFEST_FIXED + n * DFI_ENTRY_SIZE), m,
			   sizeof(m), id) == 0);
	refused_small(p, false, "bytes of data frames", 4096);
	unlink(p);
}

/* A crafted 100 MB manifest (2^21 blocks) over 19 MB of "frames" (holes): it is streamed, never held,
 * so refusing it costs little memory, whether its hash is wrong (refused after hashing) or right
 * (refused at its first entry). Before: the whole manifest was read into memory first. */
TEST(crafted_big_manifest_bounded_memory)
{
	const char *p = check_path("big.dfi");
	uint64_t n = 1u << 21;
	uint32_t payload = (uint32_t)(DFI_MANIFEST_FIXED + n * DFI_ENTRY_SIZE);
	uint8_t m[DFI_MANIFEST_FIXED], id[DD_SHA256_LEN] = { 0 };
	static const uint8_t zeros[1 << 16];
	struct dd_sha256 h;

	fixed_part(m, n);
	CHECK(craft_sparse(p, DFI_HEADER_FRAME + n * 9, payload, m, sizeof(m), id) == 0);
	refused_small(p, false, "its SHA-256 does not match the image id", 16384);
	dd_sha256_init(&h);
	dd_sha256_update(&h, m, sizeof(m));
	for (uint64_t left = payload - sizeof(m); left; ) {
		size_t k = left < sizeof(zeros) ? (size_t)left : sizeof(zeros);

		dd_sha256_update(&h, zeros, k);
		left -= k;
	}
	dd_sha256_final(&h, id);
	CHECK(craft_sparse(p, DFI_HEADER_FRAME + n * 9, payload, m, sizeof(m), id) == 0);
	refused_small(p, false, "manifest damaged: frame of block 0", 16384);
	refused_small(p, true, "not signed", 1024);
	unlink(p);
}

int main(void)
{
	setup();
	RUN(pristine_opens_verified);
	RUN(flip_header);
	RUN(flip_manifest);
	RUN(flip_signature_keyed);
	RUN(flip_trailer);
	RUN(flip_data_frames);
	RUN(truncation);
	RUN(crafted_absurd_sizes);
	RUN(window_larger_than_pinned);
	RUN(zero_flag_on_data_block);
	RUN(random_manifest_mutations);
	RUN(manifest_reserved_bytes_named);
	RUN(trailer_reserved_and_version_named);
	RUN(unsigned_with_key_refused_before_the_manifest);
	RUN(bad_signature_refused_before_the_manifest);
	RUN(crafted_manifest_over_the_limit);
	RUN(crafted_manifest_without_data);
	RUN(crafted_big_manifest_bounded_memory);
	free(pkg);
	return check_done();
}
