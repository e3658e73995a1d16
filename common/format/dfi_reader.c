/* .dfi reader: validate everything, then serve blocks (see dfi_reader.h, docs/FORMAT.md). */
#include "format/dfi_reader.h"
#include "format/dfi_format.h"
#include "format/dfi_stream.h"
#include "crypto/sign.h"
#include "util/escape.h"
#include "util/version.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

/* ---- pooled decoders: read_block is called from many threads ------------------------------ */

/* A decoder streams its frame through a small input buffer: its memory is the frame's window (at
 * most 2^window_log, 8 MiB) and DFI_IN_CHUNK, whatever the block size. */
#define DFI_IN_CHUNK (128u << 10)

struct dctx_item {
	ZSTD_DCtx *dctx;
	uint8_t *fbuf;               /* compressed input, DFI_IN_CHUNK bytes */
	struct dctx_item *next;
};

struct dctx_pool {
	pthread_mutex_t mu;
	struct dctx_item *free;
	unsigned window_log;
};

static struct dctx_item *pool_get(struct dctx_pool *p)
{
	struct dctx_item *it;

	pthread_mutex_lock(&p->mu);
	it = p->free;
	if (it)
		p->free = it->next;
	pthread_mutex_unlock(&p->mu);
	if (it)
		return it;
	it = calloc(1, sizeof(*it));
	if (!it)
		return NULL;
	it->dctx = ZSTD_createDCtx();
	it->fbuf = malloc(DFI_IN_CHUNK);
	if (!it->dctx || !it->fbuf ||
	    ZSTD_isError(ZSTD_DCtx_setParameter(it->dctx, ZSTD_d_windowLogMax, (int)p->window_log))) {
		ZSTD_freeDCtx(it->dctx);
		free(it->fbuf);
		free(it);
		return NULL;
	}
	return it;
}

static void pool_put(struct dctx_pool *p, struct dctx_item *it)
{
	pthread_mutex_lock(&p->mu);
	it->next = p->free;
	p->free = it;
	pthread_mutex_unlock(&p->mu);
}

static void pool_free(struct dctx_pool *p)
{
	if (!p)
		return;
	while (p->free) {
		struct dctx_item *it = p->free;
		p->free = it->next;
		ZSTD_freeDCtx(it->dctx);
		free(it->fbuf);
		free(it);
	}
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* ---- file access ----------------------------------------------------------------------------- */

static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t r = pread(fd, p, len, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO; /* the file shrank under us */
		p += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static int read_at(struct dfi_reader *r, void *buf, size_t len, uint64_t off, const char *what,
		   struct dd_err *err)
{
	int e = pread_full(r->fd, buf, len, off);

	if (e)
		return dd_fail_errno(err, DD_EIO, -e, "%s: reading %s at byte %llu", r->path, what,
				     (unsigned long long)off);
	return DD_OK;
}

bool dfi_probe(const uint8_t *head, size_t n)
{
	return n >= 12 && dfi_get32(head) == DFI_SKIPPABLE_MAGIC && !memcmp(head + 8, DFI_TAG_HEADER, 4);
}

/* ---- header and trailer ---------------------------------------------------------------------- */

static int check_header(struct dfi_reader *r, struct dd_err *err)
{
	uint8_t h[DFI_HEADER_FRAME];
	size_t n = r->file_size < sizeof(h) ? (size_t)r->file_size : sizeof(h);
	int rc = read_at(r, h, n, 0, "header", err);

	if (rc)
		return rc;
	if (!dfi_probe(h, n))
		return dd_fail(err, DD_EINPUT, "%s: not a .dfi package", r->path);
	if (n < sizeof(h))
		return dd_fail(err, DD_EINPUT, "%s: truncated in the header (%llu bytes)", r->path,
			       (unsigned long long)r->file_size);
	if (dfi_get32(h + 4) != DFI_HEADER_PAYLOAD)
		return dd_fail(err, DD_EINPUT, "%s: header damaged (size %u)", r->path, dfi_get32(h + 4));
	if (dfi_get16(h + 12) != DFI_VERSION)
		return dd_fail(err, DD_EINPUT, "%s: unsupported format version %u (this dartdup reads %u)",
			       r->path, dfi_get16(h + 12), DFI_VERSION);
	for (size_t i = 14; i < sizeof(h); i++)
		if (h[i])
			return dd_fail(err, DD_EINPUT, "%s: header damaged (reserved byte %zu is not zero)",
				       r->path, i);
	return DD_OK;
}

/* The manifest's size, judged before a byte of it is read: within the format's limit, and not
 * describing more blocks than the data before it can hold (every frame takes DFI_FRAME_MIN bytes
 * at least), so what it costs to read is bounded by what a real image of that size would cost. */
static int check_manifest_room(struct dfi_reader *r, uint64_t mo, struct dd_err *err)
{
	uint64_t payload = r->manifest_frame_size - DFI_FRAME_HDR;
	uint64_t text = DFI_MANIFEST_FIXED + DFI_NAME_MAX + DFI_TOOL_MAX + DFI_VERSION_TEXT_MAX;
	uint64_t min_blocks = payload > text ? (payload - text) / DFI_ENTRY_SIZE : 0;

	if (payload > DFI_MANIFEST_MAX)
		return dd_fail(err, DD_EINPUT, "%s: trailer damaged: a %llu-byte manifest is over the format's "
			       "limit of %llu bytes (%llu blocks)", r->path, (unsigned long long)payload,
			       (unsigned long long)DFI_MANIFEST_MAX, (unsigned long long)DFI_MAX_BLOCKS);
	if (min_blocks > (mo - DFI_HEADER_FRAME) / DFI_FRAME_MIN)
		return dd_fail(err, DD_EINPUT, "%s: damaged: a manifest of %llu blocks or more, but only %llu "
			       "bytes of data frames", r->path, (unsigned long long)min_blocks,
			       (unsigned long long)(mo - DFI_HEADER_FRAME));
	r->manifest_offset = mo;
	return DD_OK;
}

static int check_trailer(struct dfi_reader *r, struct dd_err *err)
{
	uint8_t t[DFI_TRAILER_FRAME];
	uint64_t min = DFI_HEADER_FRAME + DFI_FRAME_HDR + DFI_MANIFEST_FIXED + DFI_TRAILER_FRAME;
	uint64_t mo, end;
	int rc;

	if (r->file_size < min)
		return dd_fail(err, DD_EINPUT, "%s: truncated (%llu bytes, a package has at least %llu)",
			       r->path, (unsigned long long)r->file_size, (unsigned long long)min);
	rc = read_at(r, t, sizeof(t), r->file_size - sizeof(t), "trailer", err);
	if (rc)
		return rc;
	if (dfi_get32(t) != DFI_SKIPPABLE_MAGIC || dfi_get32(t + 4) != DFI_TRAILER_PAYLOAD ||
	    memcmp(t + 8, DFI_TAG_TRAILER, 4))
		return dd_fail(err, DD_EINPUT, "%s: truncated or damaged: no trailer at the end (%llu bytes)",
			       r->path, (unsigned long long)r->file_size);
	if (dfi_get16(t + 12) != DFI_VERSION)
		return dd_fail(err, DD_EINPUT, "%s: unsupported trailer version %u (this dartdup reads %u)",
			       r->path, dfi_get16(t + 12), DFI_VERSION);
	if (dfi_get16(t + 14))
		return dd_fail(err, DD_EINPUT, "%s: trailer damaged (reserved bytes 14-15 are not zero)", r->path);
	if (dfi_get64(t + 32) != r->file_size)
		return dd_fail(err, DD_EINPUT, "%s: truncated or extended: %llu bytes, the trailer says %llu",
			       r->path, (unsigned long long)r->file_size, (unsigned long long)dfi_get64(t + 32));
	mo = dfi_get64(t + 16);
	r->manifest_frame_size = dfi_get32(t + 24);
	r->sig_frame_size = dfi_get32(t + 28);
	memcpy(r->image_id, t + 40, DD_SHA256_LEN);
	/* Everything between the data and the end is accounted for, with no overflow:
	 * manifest frame, optional signature frame, trailer. */
	end = r->file_size - DFI_TRAILER_FRAME;
	if (r->manifest_frame_size < DFI_FRAME_HDR + DFI_MANIFEST_FIXED ||
	    (r->sig_frame_size && (r->sig_frame_size < DFI_FRAME_HDR + DFI_SIG_FIXED + DFI_SIG_DER_MIN ||
				   r->sig_frame_size > DFI_FRAME_HDR + DFI_SIG_FIXED + DFI_SIG_DER_MAX)) ||
	    mo < DFI_HEADER_FRAME || mo > end ||
	    (uint64_t)r->manifest_frame_size + r->sig_frame_size != end - mo)
		return dd_fail(err, DD_EINPUT, "%s: trailer damaged (manifest at %llu, %u bytes; signature %u bytes)",
			       r->path, (unsigned long long)mo, r->manifest_frame_size, r->sig_frame_size);
	return check_manifest_room(r, mo, err);
}

/* ---- signature ----------------------------------------------------------------------------- */

static int read_signature(struct dfi_reader *r, const struct dfi_open_opts *o, struct dd_err *err)
{
	uint8_t s[DFI_FRAME_HDR + DFI_SIG_FIXED + DFI_SIG_DER_MAX];
	uint64_t off = r->manifest_offset + r->manifest_frame_size;
	int rc;

	if (!r->sig_frame_size) {
		if (o && o->n_pubkeys)
			return dd_fail(err, DD_EINPUT, "%s: not signed (a public key was given)", r->path);
		r->sig.state = DD_SIG_NONE;
		return DD_OK;
	}
	rc = read_at(r, s, r->sig_frame_size, off, "signature", err);
	if (rc)
		return rc;
	r->sig.der_len = dfi_get16(s + DFI_FRAME_HDR + 40);
	if (dfi_get32(s) != DFI_SKIPPABLE_MAGIC || dfi_get32(s + 4) != r->sig_frame_size - DFI_FRAME_HDR ||
	    memcmp(s + 8, DFI_TAG_SIGNATURE, 4) || dfi_get16(s + 12) != DFI_VERSION ||
	    dfi_get16(s + 14) != DFI_SIG_ECDSA_P256_SHA256 ||
	    r->sig.der_len != r->sig_frame_size - DFI_FRAME_HDR - DFI_SIG_FIXED)
		return dd_fail(err, DD_EINPUT, "%s: signature frame damaged (at byte %llu)", r->path,
			       (unsigned long long)off);
	r->sig.present = true;
	r->sig.alg = DFI_SIG_ECDSA_P256_SHA256;
	memcpy(r->sig.key_id, s + 16, DD_SHA256_LEN);
	memcpy(r->sig.der, s + DFI_FRAME_HDR + DFI_SIG_FIXED, r->sig.der_len);
	r->sig.state = DD_SIG_UNCHECKED;
	if (!o || !o->n_pubkeys)
		return DD_OK;
	rc = dd_verify_any(o->pubkeys, o->n_pubkeys, r->sig.key_id, r->image_id, r->sig.der, r->sig.der_len,
			   &r->sig.key_index, err);
	if (rc) {
		dd_err_prefix(err, "%s", r->path);
		return DD_EINPUT;
	}
	r->sig.state = DD_SIG_VERIFIED;
	return DD_OK;
}

/* ---- manifest ------------------------------------------------------------------------------- */

static int mf_fail(struct dfi_reader *r, struct dd_err *err, const char *what)
{
	return dd_fail(err, DD_EINPUT, "%s: manifest damaged: %s", r->path, what);
}

static int parse_fixed(struct dfi_reader *r, const uint8_t *m, size_t len, struct dd_err *err)
{
	struct dfi_manifest *mf = &r->m;
	uint32_t bs = dfi_get32(m + 8);
	size_t nl = dfi_get16(m + 80), tl = dfi_get16(m + 82), vl = m[14];
	uint64_t need;

	if (memcmp(m, DFI_TAG_MANIFEST, 4))
		return mf_fail(r, err, "bad tag");
	mf->version = dfi_get16(m + 4);
	if (mf->version != DFI_VERSION)
		return dd_fail(err, DD_EINPUT, "%s: unsupported manifest version %u", r->path, mf->version);
	if (dfi_get16(m + 6) & ~DFI_MF_SOURCE_SHA)
		return mf_fail(r, err, "unknown flags");
	if (bs < (1u << DFI_BLOCK_LOG_MIN) || bs > (1u << DFI_BLOCK_LOG_MAX) || (bs & (bs - 1)))
		return mf_fail(r, err, "block size out of range");
	mf->block_size = bs;
	mf->window_log = m[12];
	if (mf->window_log < DFI_WINDOW_LOG_MIN || mf->window_log > DFI_WINDOW_LOG_MAX)
		return mf_fail(r, err, "window log out of range");
	if (m[13] != DFI_HASH_SHA256)
		return dd_fail(err, DD_EINPUT, "%s: manifest damaged: unknown hash algorithm %u", r->path, m[13]);
	if (m[15])
		return mf_fail(r, err, "reserved byte 15 is not zero");
	mf->image_size = dfi_get64(m + 16);
	mf->block_count = dfi_get64(m + 24);
	mf->data_offset = dfi_get64(m + 32);
	mf->created = dfi_get64(m + 40);
	if (mf->image_size > DFI_MAX_IMAGE_SIZE ||
	    mf->block_count != mf->image_size / bs + (mf->image_size % bs != 0) ||
	    mf->block_count > DFI_MAX_BLOCKS)
		return mf_fail(r, err, "image size and block count disagree or are too large");
	if (mf->data_offset != DFI_HEADER_FRAME)
		return mf_fail(r, err, "data offset");
	mf->has_source_sha256 = dfi_get16(m + 6) & DFI_MF_SOURCE_SHA;
	memcpy(mf->source_sha256, m + 48, DD_SHA256_LEN);
	if (!mf->has_source_sha256)
		for (int i = 0; i < DD_SHA256_LEN; i++)
			if (mf->source_sha256[i])
				return mf_fail(r, err, "source hash without its flag");
	need = DFI_MANIFEST_FIXED + nl + tl + vl + mf->block_count * DFI_ENTRY_SIZE;
	if (nl > DFI_NAME_MAX || tl > DFI_TOOL_MAX || vl > DFI_VERSION_TEXT_MAX || need != len)
		return mf_fail(r, err, "length does not match its contents");
	if (!dd_utf8_text_ok(m + 84, nl))
		return mf_fail(r, err, "name is not UTF-8 text (control characters or invalid UTF-8)");
	if (!dd_utf8_text_ok(m + 84 + nl, tl))
		return mf_fail(r, err, "tool is not UTF-8 text (control characters or invalid UTF-8)");
	if (vl && !dd_version_ok((const char *)m + 84 + nl + tl, vl))
		return mf_fail(r, err, "version is not a dotted decimal version");
	memcpy(mf->name, m + 84, nl);
	mf->name[nl] = 0;
	memcpy(mf->tool, m + 84 + nl, tl);
	mf->tool[tl] = 0;
	memcpy(mf->image_version, m + 84 + nl + tl, vl);
	mf->image_version[vl] = 0;
	return DD_OK;
}

/* The hash of `len` zero bytes, without a block-sized buffer of zeros. */
static void sha256_zeros(uint64_t len, uint8_t out[DD_SHA256_LEN])
{
	static const uint8_t zeros[4096];
	struct dd_sha256 h;

	dd_sha256_init(&h);
	for (; len; len -= len < sizeof(zeros) ? len : sizeof(zeros))
		dd_sha256_update(&h, zeros, len < sizeof(zeros) ? (size_t)len : sizeof(zeros));
	dd_sha256_final(&h, out);
}

/* Parsing the entries as they stream by (whole entries per call). */
struct entry_parse {
	uint64_t i;                          /* next entry */
	uint64_t off;                        /* where its frame must start */
	uint64_t frame_max;
	uint8_t zero_full[DD_SHA256_LEN], zero_last[DD_SHA256_LEN];
};

static int alloc_entries(struct dfi_reader *r, struct entry_parse *ep, struct dd_err *err)
{
	struct dfi_manifest *mf = &r->m;
	uint64_t n = mf->block_count;

	mf->hash = malloc(n ? n * DD_SHA256_LEN : 1);
	mf->frame = malloc(n ? n * sizeof(*mf->frame) : 1);
	mf->zero_map = calloc(1, n / 8 + 1);
	if (!mf->hash || !mf->frame || !mf->zero_map)
		return dd_fail(err, DD_ENOMEM, "%s: out of memory for %llu blocks", r->path, (unsigned long long)n);
	memset(ep, 0, sizeof(*ep));
	ep->off = mf->data_offset;
	ep->frame_max = DFI_FRAME_BOUND(mf->block_size);
	/* Zero blocks are served without decoding: their hash must be the hash of zeros. */
	sha256_zeros(mf->block_size, ep->zero_full);
	if (n)
		sha256_zeros(mf->image_size - (n - 1) * mf->block_size, ep->zero_last);
	return DD_OK;
}

static int parse_entries(struct dfi_reader *r, struct entry_parse *ep, const uint8_t *p, size_t len,
			 struct dd_err *err)
{
	struct dfi_manifest *mf = &r->m;
	uint64_t n = mf->block_count;

	for (; len >= DFI_ENTRY_SIZE && ep->i < n; len -= DFI_ENTRY_SIZE, p += DFI_ENTRY_SIZE, ep->i++) {
		uint64_t i = ep->i;
		struct dfi_frame *f = &mf->frame[i];
		uint32_t flags = dfi_get32(p + 44);

		memcpy(mf->hash[i], p, DD_SHA256_LEN);
		f->offset = dfi_get64(p + 32);
		f->size = dfi_get32(p + 40);
		f->zero = flags & DFI_ENTRY_ZERO;
		if (f->offset != ep->off || f->size < DFI_FRAME_MIN || f->size > ep->frame_max ||
		    (flags & ~DFI_ENTRY_ZERO))
			return dd_fail(err, DD_EINPUT, "%s: manifest damaged: frame of block %llu (at byte %llu, %u bytes)",
				       r->path, (unsigned long long)i, (unsigned long long)f->offset, f->size);
		ep->off += f->size;
		if (ep->off > r->manifest_offset)
			return dd_fail(err, DD_EINPUT, "%s: manifest damaged: frame of block %llu runs past the data",
				       r->path, (unsigned long long)i);
		if (f->zero) {
			mf->zero_map[i / 8] |= (uint8_t)(1u << (i % 8));
			mf->zero_blocks++;
			if (memcmp(mf->hash[i], i + 1 == n ? ep->zero_last : ep->zero_full, DD_SHA256_LEN))
				return dd_fail(err, DD_EINPUT, "%s: manifest damaged: block %llu marked zero, hash is not",
					       r->path, (unsigned long long)i);
		}
	}
	if (len)
		return dd_fail(err, DD_EINTERNAL, "%s: manifest entries cut", r->path);
	return DD_OK;
}

/* The manifest is read in chunks of whole entries: memory is one chunk plus the parsed table,
 * never a copy of the manifest. */
#define MF_HEAD (DFI_MANIFEST_FIXED + DFI_NAME_MAX + DFI_TOOL_MAX + DFI_VERSION_TEXT_MAX)
#define MF_CHUNK (DFI_ENTRY_SIZE * 1365u)    /* ~64 KiB */

/* Feeds payload bytes [from, to) of the manifest to h, chunk by chunk, and each chunk to the
 * entry parser when ep is not NULL (from is then the first entry's offset). */
static int stream_manifest(struct dfi_reader *r, struct dd_sha256 *h, uint8_t *buf, uint64_t from, uint64_t to,
			   struct entry_parse *ep, struct dd_err *err)
{
	while (from < to) {
		size_t n = to - from < MF_CHUNK ? (size_t)(to - from) : MF_CHUNK;
		int rc = read_at(r, buf, n, r->manifest_offset + DFI_FRAME_HDR + from, "manifest", err);

		if (rc)
			return rc;
		dd_sha256_update(h, buf, n);
		if (ep && (rc = parse_entries(r, ep, buf, n, err)))
			return rc;
		from += n;
	}
	return DD_OK;
}

/* Pass 1: the manifest's SHA-256 must be the trailer's image id (which the signature, when a key
 * was given, has already proven) before any field is believed or any memory sized by one; its
 * fixed part and text are kept in head. */
static int hash_manifest(struct dfi_reader *r, uint8_t *head, uint8_t *buf, struct dd_err *err)
{
	uint64_t len = r->manifest_frame_size - DFI_FRAME_HDR;
	size_t hn = len < MF_HEAD ? (size_t)len : MF_HEAD;
	uint8_t id[DD_SHA256_LEN];
	struct dd_sha256 h;
	int rc;

	dd_sha256_init(&h);
	if ((rc = read_at(r, head, hn, r->manifest_offset + DFI_FRAME_HDR, "manifest", err)))
		return rc;
	dd_sha256_update(&h, head, hn);
	if ((rc = stream_manifest(r, &h, buf, hn, len, NULL, err)))
		return rc;
	dd_sha256_final(&h, id);
	if (memcmp(id, r->image_id, DD_SHA256_LEN))
		return dd_fail(err, DD_EINPUT, "%s: manifest damaged (its SHA-256 does not match the image id)", r->path);
	return DD_OK;
}

/* Pass 2: the entries into the table, hashed again as they go by: a file changed between the
 * passes is caught, not half believed. */
static int load_entries(struct dfi_reader *r, const uint8_t *head, uint8_t *buf, struct dd_err *err)
{
	uint64_t len = r->manifest_frame_size - DFI_FRAME_HDR;
	uint64_t e = DFI_MANIFEST_FIXED + strlen(r->m.name) + strlen(r->m.tool) + strlen(r->m.image_version);
	uint8_t id[DD_SHA256_LEN];
	struct entry_parse ep;
	struct dd_sha256 h;
	int rc;

	if ((rc = alloc_entries(r, &ep, err)))
		return rc;
	dd_sha256_init(&h);
	dd_sha256_update(&h, head, (size_t)e);
	if ((rc = stream_manifest(r, &h, buf, e, len, &ep, err)))
		return rc;
	dd_sha256_final(&h, id);
	if (memcmp(id, r->image_id, DD_SHA256_LEN))
		return dd_fail(err, DD_EINPUT, "%s: changed while it was being read (the manifest)", r->path);
	if (ep.off != r->manifest_offset)
		return dd_fail(err, DD_EINPUT, "%s: damaged: %llu bytes between the last frame and the manifest",
			       r->path, (unsigned long long)(r->manifest_offset - ep.off));
	return DD_OK;
}

static int read_manifest(struct dfi_reader *r, struct dd_err *err)
{
	uint8_t hdr[DFI_FRAME_HDR], head[MF_HEAD];
	uint64_t len = r->manifest_frame_size - DFI_FRAME_HDR;
	uint8_t *buf;
	int rc;

	rc = read_at(r, hdr, sizeof(hdr), r->manifest_offset, "manifest", err);
	if (rc)
		return rc;
	if (dfi_get32(hdr) != DFI_SKIPPABLE_MAGIC || dfi_get32(hdr + 4) != len)
		return dd_fail(err, DD_EINPUT, "%s: manifest damaged: no manifest frame at byte %llu", r->path,
			       (unsigned long long)r->manifest_offset);
	buf = malloc(MF_CHUNK);
	if (!buf)
		return dd_fail(err, DD_ENOMEM, "%s: out of memory", r->path);
	rc = hash_manifest(r, head, buf, err);
	if (!rc)
		rc = parse_fixed(r, head, (size_t)len, err);
	if (!rc)
		rc = load_entries(r, head, buf, err);
	free(buf);
	return rc;
}

/* ---- open / close --------------------------------------------------------------------------- */

int dfi_open(const char *path, const struct dfi_open_opts *opts, struct dfi_reader **out, struct dd_err *err)
{
	struct dfi_reader *r = calloc(1, sizeof(*r));
	struct dctx_pool *pool;
	struct stat st;
	int rc;

	*out = NULL;
	if (!r)
		return dd_fail(err, DD_ENOMEM, "%s: out of memory", path);
	r->fd = -1;
	r->path = strdup(path);
	if (!r->path) {
		rc = dd_fail(err, DD_ENOMEM, "%s: out of memory", path);
		goto fail;
	}
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0 || fstat(r->fd, &st)) {
		rc = dd_fail_errno(err, DD_EINPUT, errno, "%s", path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = dd_fail(err, DD_EINPUT, "%s: not a regular file", path);
		goto fail;
	}
	r->file_size = (uint64_t)st.st_size;
	rc = check_header(r, err);
	if (!rc)
		rc = check_trailer(r, err);
	/* The signature covers the trailer's image id: checked before a byte of the manifest is read. */
	if (!rc)
		rc = read_signature(r, opts, err);
	if (!rc)
		rc = read_manifest(r, err);
	if (rc)
		goto fail;
	pool = calloc(1, sizeof(*pool));
	if (!pool) {
		rc = dd_fail(err, DD_ENOMEM, "%s: out of memory", path);
		goto fail;
	}
	pthread_mutex_init(&pool->mu, NULL);
	pool->window_log = r->m.window_log;
	r->dctx_pool = pool;
	*out = r;
	return DD_OK;
fail:
	dfi_close(r);
	return rc;
}

void dfi_close(struct dfi_reader *r)
{
	if (!r)
		return;
	pool_free(r->dctx_pool);
	if (r->fd >= 0)
		close(r->fd);
	free(r->m.hash);
	free(r->m.frame);
	free(r->m.zero_map);
	free(r->path);
	free(r);
}

/* ---- blocks -------------------------------------------------------------------------------- */

static uint32_t block_len(const struct dfi_manifest *m, uint64_t i)
{
	uint64_t left = m->image_size - i * m->block_size;

	return left < m->block_size ? (uint32_t)left : m->block_size;
}

/* The frame header (RFC 8878 3.1.1.1) parsed ourselves (dfi_frame_header, shared with the streaming
 * check), so the window and content-size rules of docs/FORMAT.md hold without zstd's experimental API.
 * Returns false when the frame breaks them. */
static bool frame_header_ok(const uint8_t *p, size_t n, uint32_t len, unsigned window_log)
{
	uint64_t fcs, window;
	size_t hdr_size;

	return dfi_frame_header(p, n, &hdr_size, &fcs, &window) == 1 && fcs == len &&
	       window <= (1ull << window_log);
}

static int frame_fail(struct dfi_reader *r, uint64_t i, const char *why, struct dd_err *err)
{
	return dd_fail(err, DD_ECHECK, "%s: block %llu (image offset %llu): data frame damaged (%s)", r->path,
		       (unsigned long long)i, (unsigned long long)(i * r->m.block_size), why);
}

/* Streams frame i through the decoder, DFI_IN_CHUNK at a time: the frame must end exactly at its
 * recorded size (not before, not after), give exactly the block's length, and pass its checksum. */
static int decode_frame(struct dfi_reader *r, uint64_t i, struct dctx_item *it, uint8_t *buf, struct dd_err *err)
{
	const struct dfi_frame *f = &r->m.frame[i];
	uint32_t len = block_len(&r->m, i);
	ZSTD_outBuffer out = { buf, r->m.block_size, 0 };
	size_t ret = 1;
	int e;

	ZSTD_DCtx_reset(it->dctx, ZSTD_reset_session_only);
	for (uint32_t done = 0; done < f->size; ) {
		size_t n = f->size - done < DFI_IN_CHUNK ? f->size - done : DFI_IN_CHUNK;
		ZSTD_inBuffer in = { it->fbuf, n, 0 };

		e = pread_full(r->fd, it->fbuf, n, f->offset + done);
		if (e)
			return dd_fail_errno(err, DD_EIO, -e, "%s: block %llu (image offset %llu): read failed", r->path,
					     (unsigned long long)i, (unsigned long long)(i * r->m.block_size));
		if (!done && !frame_header_ok(it->fbuf, n, len, r->m.window_log))
			return frame_fail(r, i, "header", err);
		while (in.pos < in.size && ret) {
			size_t in0 = in.pos, out0 = out.pos;

			ret = ZSTD_decompressStream(it->dctx, &out, &in);
			if (ZSTD_isError(ret))
				return frame_fail(r, i, ZSTD_getErrorName(ret), err);
			if (ret && in.pos == in0 && out.pos == out0)
				return frame_fail(r, i, "longer than its block", err); /* no room left, no progress */
		}
		if (in.pos < in.size)
			return frame_fail(r, i, "length", err);   /* the frame ended before its recorded size */
		done += (uint32_t)n;
	}
	if (ret)
		return frame_fail(r, i, "length", err);           /* ... or runs past it */
	if (out.pos != len)
		return frame_fail(r, i, "short", err);
	return DD_OK;
}

int dfi_read_block(struct dfi_reader *r, uint64_t i, uint8_t *buf, struct dd_err *err)
{
	struct dctx_item *it;
	int rc;

	if (i >= r->m.block_count)
		return dd_fail(err, DD_EINTERNAL, "%s: block %llu out of range", r->path, (unsigned long long)i);
	it = pool_get(r->dctx_pool);
	if (!it)
		return dd_fail(err, DD_ENOMEM, "%s: out of memory for a decoder", r->path);
	rc = decode_frame(r, i, it, buf, err);
	pool_put(r->dctx_pool, it);
	return rc;
}
