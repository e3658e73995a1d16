/* dfi_stream: decode and hash a package's data frames as its bytes arrive (see dfi_stream.h). */
#include "format/dfi_stream.h"
#include "format/dfi_format.h"

#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#define STREAM_OUT (256u << 10)                        /* decoded bytes hashed at a time */
#define STREAM_BLOCK_MAX (1ull << DFI_BLOCK_LOG_MAX)   /* the format's largest block */
#define ZSTD_HDR_MAX 14                                /* magic, descriptor, window, 8-byte content size */

struct stream_rec {
	uint8_t sha[DD_SHA256_LEN];  /* of the decoded bytes */
	uint64_t offset;             /* of the frame in the package */
	uint32_t size;               /* of the frame */
	uint32_t len;                /* decoded bytes */
	uint8_t window_log;          /* smallest log2 the frame's window fits in */
};

struct dfi_stream {
	enum dfi_stream_state state;
	uint64_t fed;
	uint64_t frame_start;        /* offset of the frame being read */
	uint8_t hdr[DFI_HEADER_FRAME]; /* the header frame, then each data frame's header, as they arrive */
	size_t hdr_len;
	bool in_frame;               /* the decoder has the current frame */
	uint64_t frame_in;           /* its bytes given to the decoder */
	uint64_t content_size, decoded;
	uint8_t window_log;
	struct dd_sha256 sha;
	ZSTD_DStream *ds;
	uint8_t *out;
	struct stream_rec *rec;
	uint64_t n, cap;
};

int dfi_frame_header(const uint8_t *p, size_t n, size_t *hdr_size, uint64_t *content_size, uint64_t *window)
{
	static const unsigned fcs_size[4] = { 0, 2, 4, 8 };
	unsigned fhd, single;
	uint64_t fcs = 0;
	size_t pos, fs;

	*hdr_size = 5;
	if (n >= 4 && dfi_get32(p) != DFI_ZSTD_MAGIC)
		return -1;
	if (n < 5)
		return 0;
	fhd = p[4];
	single = (fhd >> 5) & 1;
	if ((fhd & 0x08) || !(fhd & 0x04) || (fhd & 3))   /* reserved bit, checksum required, no dictionary */
		return -1;
	fs = fhd >> 6 ? fcs_size[fhd >> 6] : single;
	if (!fs)
		return -1;                                    /* content size is required */
	pos = 5 + !single;
	*hdr_size = pos + fs;
	if (n < *hdr_size)
		return 0;
	for (size_t i = 0; i < fs; i++)
		fcs |= (uint64_t)p[pos + i] << (8 * i);
	if (fs == 2)
		fcs += 256;
	if (single) {
		*window = fcs;
	} else {
		uint64_t base = 1ull << (10 + (p[5] >> 3));

		*window = base + (base / 8) * (p[5] & 7);
	}
	*content_size = fcs;
	return 1;
}

struct dfi_stream *dfi_stream_new(void)
{
	return calloc(1, sizeof(struct dfi_stream));
}

/* The decoder and its buffer are only needed between the header and the manifest. */
static void drop_decoder(struct dfi_stream *s)
{
	ZSTD_freeDStream(s->ds);
	free(s->out);
	s->ds = NULL;
	s->out = NULL;
	s->in_frame = false;
}

void dfi_stream_free(struct dfi_stream *s)
{
	if (!s)
		return;
	drop_decoder(s);
	free(s->rec);
	free(s);
}

void dfi_stream_reset(struct dfi_stream *s)
{
	drop_decoder(s);
	free(s->rec);
	memset(s, 0, sizeof(*s));
}

static void give_up(struct dfi_stream *s)
{
	drop_decoder(s);
	s->state = DFI_STREAM_GAVE_UP;
}

enum dfi_stream_state dfi_stream_state(const struct dfi_stream *s)
{
	return s->state;
}

uint64_t dfi_stream_fed(const struct dfi_stream *s)
{
	return s->fed;
}

uint64_t dfi_stream_blocks(const struct dfi_stream *s)
{
	return s->n;
}

size_t dfi_stream_footprint(const struct dfi_stream *s)
{
	return sizeof(*s) + (s->ds ? ZSTD_sizeof_DStream(s->ds) : 0) + (s->out ? STREAM_OUT : 0) +
	       (size_t)s->cap * sizeof(*s->rec);
}

/* Take up to n bytes into hdr until it holds want; returns the bytes taken. */
static size_t take_hdr(struct dfi_stream *s, const uint8_t *p, size_t n, size_t want)
{
	size_t k = want - s->hdr_len < n ? want - s->hdr_len : n;

	memcpy(s->hdr + s->hdr_len, p, k);
	s->hdr_len += k;
	return k;
}

static size_t read_header_frame(struct dfi_stream *s, const uint8_t *p, size_t n)
{
	size_t k = take_hdr(s, p, n, DFI_HEADER_FRAME);

	if (s->hdr_len < DFI_HEADER_FRAME)
		return k;
	/* dfi_open judges the header in full; this only makes sure the data starts where it should */
	if (dfi_get32(s->hdr) != DFI_SKIPPABLE_MAGIC || dfi_get32(s->hdr + 4) != DFI_HEADER_PAYLOAD ||
	    memcmp(s->hdr + 8, DFI_TAG_HEADER, 4)) {
		give_up(s);
		return k;
	}
	s->state = DFI_STREAM_DATA;
	s->frame_start = DFI_HEADER_FRAME;
	s->hdr_len = 0;
	return k;
}

static void end_frame(struct dfi_stream *s)
{
	struct stream_rec *r;

	if (s->decoded != s->content_size || s->frame_in > UINT32_MAX) {
		give_up(s);
		return;
	}
	if (s->n == s->cap) {
		uint64_t cap = s->cap ? 2 * s->cap : 64;
		struct stream_rec *p;

		if (cap > DFI_MAX_BLOCKS)
			cap = DFI_MAX_BLOCKS;
		p = s->n < cap ? realloc(s->rec, (size_t)cap * sizeof(*p)) : NULL;
		if (!p) {
			give_up(s);  /* out of memory, or more blocks than a package may have */
			return;
		}
		s->rec = p;
		s->cap = cap;
	}
	r = &s->rec[s->n++];
	dd_sha256_final(&s->sha, r->sha);
	r->offset = s->frame_start;
	r->size = (uint32_t)s->frame_in;
	r->len = (uint32_t)s->decoded;
	r->window_log = s->window_log;
	s->frame_start += s->frame_in;
	s->in_frame = false;
	s->hdr_len = 0;
}

/* Give n bytes of the current frame to the decoder and hash what comes out; returns the bytes taken
 * (fewer than n when the frame ended within them). */
static size_t decode(struct dfi_stream *s, const uint8_t *p, size_t n)
{
	ZSTD_inBuffer in = { p, n, 0 };

	for (;;) {
		ZSTD_outBuffer out = { s->out, STREAM_OUT, 0 };
		size_t in0 = in.pos, ret = ZSTD_decompressStream(s->ds, &out, &in);

		if (ZSTD_isError(ret)) {
			give_up(s);
			return n;
		}
		s->frame_in += in.pos - in0;
		s->decoded += out.pos;
		if (s->decoded > s->content_size || s->frame_in > DFI_FRAME_BOUND(STREAM_BLOCK_MAX)) {
			give_up(s);
			return n;
		}
		dd_sha256_update(&s->sha, s->out, out.pos);
		if (!ret) {
			end_frame(s);
			return in.pos;
		}
		if (in.pos == in.size && out.pos < out.size)
			return in.pos;   /* wants more input */
	}
}

static unsigned log_ceil(uint64_t v)
{
	unsigned l = 0;

	while (l < 63 && (1ull << l) < v)
		l++;
	return l;
}

/* A new frame: its first bytes gathered until the header is whole, then the decoder starts on them. */
static size_t start_frame(struct dfi_stream *s, const uint8_t *p, size_t n)
{
	size_t k = 0, hdr_size = 5;
	uint64_t window = 0;
	int rc;

	if (s->hdr_len < 4)
		k = take_hdr(s, p, n, 4);
	if (s->hdr_len < 4)
		return k;
	if ((dfi_get32(s->hdr) & 0xFFFFFFF0u) == (DFI_SKIPPABLE_MAGIC & 0xFFFFFFF0u)) {
		s->state = DFI_STREAM_DONE;  /* the manifest: the data is over */
		drop_decoder(s);
		return k;
	}
	while ((rc = dfi_frame_header(s->hdr, s->hdr_len, &hdr_size, &s->content_size, &window)) == 0 &&
	       k < n && hdr_size <= ZSTD_HDR_MAX)
		k += take_hdr(s, p + k, n - k, hdr_size);
	if (rc < 0 || hdr_size > ZSTD_HDR_MAX || (rc == 1 && s->content_size > STREAM_BLOCK_MAX)) {
		give_up(s);
		return n;
	}
	if (!rc)
		return k;
	if (!s->ds && ((s->ds = ZSTD_createDStream()) == NULL || (s->out = malloc(STREAM_OUT)) == NULL ||
		       ZSTD_isError(ZSTD_DCtx_setParameter(s->ds, ZSTD_d_windowLogMax, DFI_WINDOW_LOG_MAX)))) {
		give_up(s);
		return n;
	}
	ZSTD_DCtx_reset(s->ds, ZSTD_reset_session_only);
	dd_sha256_init(&s->sha);
	s->window_log = (uint8_t)log_ceil(window);
	s->frame_in = 0;
	s->decoded = 0;
	s->in_frame = true;
	/* the header alone never ends a frame: decode() takes all of it */
	if (decode(s, s->hdr, s->hdr_len) != s->hdr_len && s->state == DFI_STREAM_DATA)
		give_up(s);
	return k;
}

void dfi_stream_feed(struct dfi_stream *s, const void *data, size_t n)
{
	const uint8_t *p = data;

	while (n && (s->state == DFI_STREAM_HEADER || s->state == DFI_STREAM_DATA)) {
		size_t k;

		if (s->state == DFI_STREAM_HEADER)
			k = read_header_frame(s, p, n);
		else if (!s->in_frame)
			k = start_frame(s, p, n);
		else
			k = decode(s, p, n);
		p += k;
		n -= k;
		s->fed += k;
	}
	s->fed += n;  /* what follows the data is not looked at */
}

bool dfi_stream_proves(const struct dfi_stream *s, const struct dfi_reader *r)
{
	const struct dfi_manifest *m = &r->m;

	if (s->state != DFI_STREAM_DONE || s->n != m->block_count || s->frame_start != r->manifest_offset)
		return false;
	for (uint64_t i = 0; i < s->n; i++) {
		const struct stream_rec *c = &s->rec[i];
		uint64_t left = m->image_size - i * m->block_size;
		uint64_t len = left < m->block_size ? left : m->block_size;

		if (c->offset != m->frame[i].offset || c->size != m->frame[i].size || c->len != len ||
		    c->window_log > m->window_log || memcmp(c->sha, m->hash[i], DD_SHA256_LEN))
			return false;
	}
	return true;
}
