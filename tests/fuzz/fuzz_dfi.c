/* Fuzz target: the .dfi reader (common/format/dfi_reader.c) and the dd_source seam over it.
 *
 * Each input is opened three ways:
 *   1. as it is: header, trailer, manifest frame, image-id check;
 *   2. "fixed up": the trailer's file size and image id recomputed from the input, so mutations get
 *      past the SHA-256 gate into the manifest parser, the frame index and the zstd frame decoder
 *      (a hash is not a parser; fuzzers cannot forge one, an attacker can always compute one);
 *   3. fixed up and opened with a public key, so the signature frame is parsed and checked
 *      (build/fuzz/keys/fuzz.pub, made with `dartdup keygen` by mk/fuzz.mk).
 * Whatever opens, every block (up to a bound) is decoded and hashed: no crash, no leak, and the
 * manifest's promises hold (frames inside the file, block count and size agree, name and tool are text).
 * Each input also goes through the streaming check (format/dfi_stream.h) twice, whole and in small
 * chunks: both must agree, and when it proves the opened package, dfi_check() must pass it too. */
#include "fuzz_util.h"

#include <string.h>

#include "format/dfi_format.h"
#include "format/dfi_reader.h"
#include "format/dfi_stream.h"
#include "hash/sha256.h"
#include "source/source.h"
#include "util/escape.h"

#define MAX_BLOCKS_READ 64

static char pubkey[PATH_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_key_path(pubkey, sizeof(pubkey)); /* none: inputs are checked without a key */
	return 0;
}

/* Make the trailer agree with the input: file size and the SHA-256 of the manifest it points to. */
static void fix_up(uint8_t *p, size_t n)
{
	uint8_t *t;
	uint64_t mo;
	uint32_t ms;

	if (n < DFI_HEADER_FRAME + DFI_TRAILER_FRAME)
		return;
	t = p + n - DFI_TRAILER_FRAME;
	dfi_put64(t + 32, n);
	mo = dfi_get64(t + 16);
	ms = dfi_get32(t + 24);
	if (ms < DFI_FRAME_HDR || mo > n - DFI_TRAILER_FRAME || ms > n - DFI_TRAILER_FRAME - mo)
		return;
	dd_sha256(p + mo + DFI_FRAME_HDR, ms - DFI_FRAME_HDR, t + 40);
}

static void check_reader(struct dfi_reader *r, uint64_t file_size)
{
	const struct dfi_manifest *m = &r->m;
	uint64_t n = m->block_count < MAX_BLOCKS_READ ? m->block_count : MAX_BLOCKS_READ;
	uint8_t *buf = malloc(m->block_size);
	struct dd_err err;

	FUZZ_ASSERT(m->block_count == (m->image_size + m->block_size - 1) / m->block_size);
	/* the name and tool are UTF-8 text without controls (docs/FORMAT.md), whatever the file held */
	FUZZ_ASSERT(dd_utf8_text_ok(m->name, strlen(m->name)) && dd_utf8_text_ok(m->tool, strlen(m->tool)));
	FUZZ_ASSERT(buf);
	for (uint64_t i = 0; i < m->block_count; i++)
		FUZZ_ASSERT(m->frame[i].offset + m->frame[i].size <= file_size);
	for (uint64_t i = 0; i < n; i++) {
		/* the last block too: it is the short one */
		uint64_t b = i + 1 == n ? m->block_count - 1 : i;
		uint64_t left = m->image_size - b * m->block_size;
		uint8_t h[DD_SHA256_LEN];

		if (dfi_read_block(r, b, buf, &err) == DD_OK)
			dd_sha256(buf, left < m->block_size ? left : m->block_size, h);
	}
	free(buf);
}

static void check_source(const char *path, const struct dd_source_opts *o)
{
	struct dd_source *src;
	struct dd_err err;
	uint8_t *buf;

	if (dd_source_open(path, o, &src, &err))
		return;
	buf = malloc(src->info.block_size);
	FUZZ_ASSERT(buf);
	for (uint64_t i = 0; i < src->info.block_count && i < MAX_BLOCKS_READ; i++)
		if (dd_source_read_block(src, i, buf, &err) == DD_OK && dd_block_is_zero(&src->info, i))
			for (uint32_t k = 0; k < dd_block_len(&src->info, i); k++)
				FUZZ_ASSERT(buf[k] == 0);
	free(buf);
	dd_source_close(src);
}

/* The input streamed whole into a, and in chunks of 1 to 13 bytes into b: the same result either way. */
static void stream_both(struct dfi_stream *a, struct dfi_stream *b, const uint8_t *data, size_t size)
{
	dfi_stream_feed(a, data, size);
	for (size_t off = 0, k = 1; off < size; off += k, k = k % 13 + 1)
		dfi_stream_feed(b, data + off, size - off < k ? size - off : k);
	FUZZ_ASSERT(dfi_stream_fed(a) == size && dfi_stream_fed(b) == size);
	FUZZ_ASSERT(dfi_stream_state(a) == dfi_stream_state(b));
	FUZZ_ASSERT(dfi_stream_blocks(a) == dfi_stream_blocks(b));
}

/* Proven while streaming means proven by the full check. */
static void check_stream(struct dfi_stream *a, struct dfi_stream *b, struct dfi_reader *r)
{
	struct dfi_check_opts co = { .threads = 1 };
	bool proven = dfi_stream_proves(a, r);
	struct dd_err err;

	FUZZ_ASSERT(proven == dfi_stream_proves(b, r));
	if (proven)
		FUZZ_ASSERT(dfi_check(r, &co, NULL, &err) == DD_OK);
}

static void open_one(const uint8_t *data, size_t size, const char *key)
{
	struct dfi_stream *sa = dfi_stream_new(), *sb = dfi_stream_new();
	const char *keys[1] = { key };
	struct dfi_open_opts o = { .pubkeys = keys, .n_pubkeys = key ? 1 : 0 };
	struct dd_source_opts so = { .pubkeys = keys, .n_pubkeys = key ? 1 : 0 };
	struct dfi_reader *r;
	struct dd_err err;
	char path[64];
	int fd = fuzz_memfd("fuzz.dfi", 0, data, size, path);

	FUZZ_ASSERT(sa && sb);
	stream_both(sa, sb, data, size);
	if (dfi_open(path, &o, &r, &err) == DD_OK) {
		check_reader(r, size);
		check_stream(sa, sb, r);
		dfi_close(r);
		check_source(path, &so);
	}
	dfi_stream_free(sa);
	dfi_stream_free(sb);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *fixed;

	open_one(data, size, NULL);
	fixed = malloc(size ? size : 1);
	FUZZ_ASSERT(fixed);
	memcpy(fixed, data, size);
	fix_up(fixed, size);
	open_one(fixed, size, NULL);
	if (pubkey[0])
		open_one(fixed, size, pubkey);
	free(fixed);
	return 0;
}
