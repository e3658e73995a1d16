/* dfi_pack(): raw or .zst image in, .dfi package out (docs/FORMAT.md); dfi_pack_source(): the image
 * of an open dd_source in (what the PC decoded: xz, zip, ...).
 *
 * One reading thread (the caller) fills block slots in order; a pool of workers compresses,
 * hashes and zero-checks them in parallel (each block is an independent zstd frame); the caller
 * writes finished slots strictly in order. Memory is bounded by the number of slots. Output goes
 * to a temporary file renamed into place at the end. */
#include "format/dfi_writer.h"
#include "format/dfi_format.h"
#include "crypto/sign.h"
#include "safety/door.h"
#include "source/source.h"
#include "util/escape.h"
#include "util/version.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#ifndef DARTDUP_VERSION
#define DARTDUP_VERSION "0"
#endif

/* ---- input: a raw image, a .zst stream or a source, read block by block -------------------- */

struct pack_input {
	const char *path;
	int fd;
	uint64_t file_size;   /* of the input file (progress total) */
	uint64_t consumed;    /* input file bytes consumed (progress done) */
	ZSTD_DCtx *dctx;      /* NULL for raw input */
	uint8_t *zbuf;
	size_t zcap;
	ZSTD_inBuffer zin;
	size_t zlast;         /* last ZSTD_decompressStream() hint: 0 = at a frame boundary */
	bool file_eof;
	struct dd_source *src; /* dfi_pack_source(): blocks come from here, checked against their hash */
	uint8_t *sbuf;
	uint64_t snext;        /* next source block */
	size_t spos, slen;     /* bytes of sbuf handed out, bytes in sbuf */
};

static int read_full(int fd, uint8_t *buf, size_t want, size_t *got)
{
	size_t n = 0;

	while (n < want) {
		ssize_t r = read(fd, buf + n, want - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*got = n;
	return 0;
}

static int input_open(struct pack_input *in, const char *path, struct dd_err *err)
{
	uint8_t magic[4];
	size_t got;
	int e;
	off_t end;

	memset(in, 0, sizeof(*in));
	in->path = path;
	in->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (in->fd < 0)
		return dd_fail_errno(err, DD_EINPUT, errno, "%s", path);
	end = lseek(in->fd, 0, SEEK_END);
	in->file_size = end > 0 ? (uint64_t)end : 0;
	if (lseek(in->fd, 0, SEEK_SET) < 0)
		return dd_fail_errno(err, DD_EINPUT, errno, "%s: cannot seek", path);
	e = read_full(in->fd, magic, 4, &got);
	if (e)
		return dd_fail_errno(err, DD_EINPUT, -e, "%s: read failed", path);
	if (lseek(in->fd, 0, SEEK_SET) < 0)
		return dd_fail_errno(err, DD_EINPUT, errno, "%s: cannot seek", path);
	/* A zstd frame or a skippable frame (so a .dfi repacks too) starts a zstd stream. */
	if (got < 4 || (dfi_get32(magic) != DFI_ZSTD_MAGIC && (dfi_get32(magic) & 0xFFFFFFF0u) != 0x184D2A50u))
		return DD_OK;
	in->dctx = ZSTD_createDCtx();
	in->zcap = ZSTD_DStreamInSize();
	in->zbuf = malloc(in->zcap);
	if (!in->dctx || !in->zbuf)
		return dd_fail(err, DD_ENOMEM, "%s: out of memory", path);
	/* the user's own .zst may use any window; the memory pin applies to what we write */
	ZSTD_DCtx_setParameter(in->dctx, ZSTD_d_windowLogMax,
			       ZSTD_dParam_getBounds(ZSTD_d_windowLogMax).upperBound);
	in->zin.src = in->zbuf;
	in->zlast = 1; /* nothing decoded yet: an empty stream is a truncated one */
	return DD_OK;
}

static int input_open_source(struct pack_input *in, const char *path, struct dd_source *src,
			     struct dd_err *err)
{
	memset(in, 0, sizeof(*in));
	in->fd = -1;
	in->path = path;
	in->src = src;
	in->file_size = src->info.image_size;
	in->sbuf = malloc(src->info.block_size);
	if (!in->sbuf)
		return dd_fail(err, DD_ENOMEM, "%s: out of memory", path);
	return DD_OK;
}

static void input_close(struct pack_input *in)
{
	if (in->fd >= 0)
		close(in->fd);
	ZSTD_freeDCtx(in->dctx);
	free(in->zbuf);
	free(in->sbuf);
}

/* The source's next block into sbuf; its hash must still be the one the source was opened with
 * (a decoded copy on disk, or a package, that changed since is caught here, not packed). */
static int source_next(struct pack_input *in, struct dd_err *err)
{
	const struct dd_image_info *info = &in->src->info;
	uint8_t h[DD_SHA256_LEN];
	int rc = dd_source_read_block(in->src, in->snext, in->sbuf, err);

	if (rc)
		return rc;
	in->slen = dd_block_len(info, in->snext);
	in->spos = 0;
	dd_sha256(in->sbuf, in->slen, h);
	if (memcmp(h, info->block_hash[in->snext], DD_SHA256_LEN))
		return dd_fail(err, DD_EIO, "%s: block %llu does not match its SHA-256 any more", in->path,
			       (unsigned long long)in->snext);
	in->snext++;
	return DD_OK;
}

static int source_read(struct pack_input *in, uint8_t *buf, size_t want, size_t *got, struct dd_err *err)
{
	size_t n = 0;
	int rc;

	while (n < want) {
		size_t k;

		if (in->spos == in->slen) {
			if (in->snext == in->src->info.block_count)
				break;
			if ((rc = source_next(in, err)))
				return rc;
		}
		k = in->slen - in->spos < want - n ? in->slen - in->spos : want - n;
		memcpy(buf + n, in->sbuf + in->spos, k);
		in->spos += k;
		n += k;
	}
	in->consumed += n;
	*got = n;
	return DD_OK;
}

/* Fill buf with up to want bytes of image; *got < want only at the end of the image. */
static int input_read(struct pack_input *in, uint8_t *buf, size_t want, size_t *got, struct dd_err *err)
{
	ZSTD_outBuffer out = { buf, want, 0 };
	int e;

	if (in->src)
		return source_read(in, buf, want, got, err);
	if (!in->dctx) {
		e = read_full(in->fd, buf, want, got);
		if (e)
			return dd_fail_errno(err, DD_EINPUT, -e, "%s: read failed", in->path);
		in->consumed += *got;
		return DD_OK;
	}
	while (out.pos < out.size) {
		if (in->zin.pos == in->zin.size && !in->file_eof) {
			size_t n;
			e = read_full(in->fd, in->zbuf, in->zcap, &n);
			if (e)
				return dd_fail_errno(err, DD_EINPUT, -e, "%s: read failed", in->path);
			in->zin.size = n;
			in->zin.pos = 0;
			in->file_eof = n == 0;
			in->consumed += n;
		}
		bool drained = in->zin.pos == in->zin.size && in->file_eof;
		if (drained && in->zlast == 0)
			break;
		size_t before = out.pos;
		size_t r = ZSTD_decompressStream(in->dctx, &out, &in->zin);
		if (ZSTD_isError(r))
			return dd_fail(err, DD_EINPUT, "%s: zstd stream damaged: %s", in->path, ZSTD_getErrorName(r));
		in->zlast = r;
		if (drained && out.pos == before) {
			if (r)
				return dd_fail(err, DD_EINPUT, "%s: zstd stream truncated", in->path);
			break;
		}
	}
	*got = out.pos;
	return DD_OK;
}

/* ---- output --------------------------------------------------------------------------------- */

static int write_all(int fd, const void *buf, size_t len, uint64_t *off, const char *path, struct dd_err *err)
{
	const uint8_t *p = buf;
	size_t left = len;

	while (left) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return dd_fail_errno(err, DD_EIO, errno, "%s: write failed", path);
		p += w;
		left -= (size_t)w;
	}
	*off += len;
	return DD_OK;
}

static void skippable_header(uint8_t hdr[DFI_FRAME_HDR], uint32_t payload)
{
	dfi_put32(hdr, DFI_SKIPPABLE_MAGIC);
	dfi_put32(hdr + 4, payload);
}

/* ---- the worker pool ------------------------------------------------------------------------ */

enum slot_state { SLOT_FREE, SLOT_FILLED, SLOT_BUSY, SLOT_DONE };

struct slot {
	enum slot_state state;
	uint8_t *in, *out;
	size_t in_len, out_len, out_cap;
	bool zero;
	uint8_t hash[DD_SHA256_LEN];
	const char *zerr;     /* zstd error name, or NULL */
};

struct pool {
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	struct slot *slots;
	unsigned nslots;
	uint64_t next_job;    /* next slot index (mod nslots) a worker takes */
	uint64_t filled;      /* slots [0, filled) were handed to workers */
	bool stop;
	int level;
	unsigned window_log;
};

static bool all_zero(const uint8_t *p, size_t n)
{
	uint64_t acc = 0;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t v;
		memcpy(&v, p + i, 8);
		acc |= v;
		if (acc)
			return false;
	}
	for (; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

static void compress_slot(struct pool *pl, ZSTD_CCtx *cctx, struct slot *s)
{
	size_t r;

	s->zero = all_zero(s->in, s->in_len);
	dd_sha256(s->in, s->in_len, s->hash);
	ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, pl->level);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, (int)pl->window_log);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1);
	r = ZSTD_compress2(cctx, s->out, s->out_cap, s->in, s->in_len);
	s->zerr = ZSTD_isError(r) ? ZSTD_getErrorName(r) : NULL;
	s->out_len = ZSTD_isError(r) ? 0 : r;
}

static void *worker(void *arg)
{
	struct pool *pl = arg;
	ZSTD_CCtx *cctx = ZSTD_createCCtx();

	pthread_mutex_lock(&pl->mu);
	for (;;) {
		while (!pl->stop && pl->next_job >= pl->filled)
			pthread_cond_wait(&pl->work, &pl->mu);
		if (pl->next_job >= pl->filled)
			break;
		struct slot *s = &pl->slots[pl->next_job++ % pl->nslots];
		s->state = SLOT_BUSY;
		pthread_mutex_unlock(&pl->mu);
		if (cctx)
			compress_slot(pl, cctx, s);
		else
			s->zerr = "out of memory";
		pthread_mutex_lock(&pl->mu);
		s->state = SLOT_DONE;
		pthread_cond_broadcast(&pl->done);
	}
	pthread_mutex_unlock(&pl->mu);
	ZSTD_freeCCtx(cctx);
	return NULL;
}

/* ---- the package being written ---------------------------------------------------------- */

struct entry {
	uint8_t hash[DD_SHA256_LEN];
	uint64_t offset;
	uint32_t size;
	uint32_t flags;
};

struct pack {
	const char *in_path, *out_path;
	char tmp_path[4096];
	int out_fd;
	uint64_t out_off;
	uint32_t block_size;
	unsigned window_log;
	uint64_t image_size;
	struct entry *entries;
	uint64_t count, cap;
	const struct dfi_pack_opts *opts;
};

static int add_entry(struct pack *pk, const struct slot *s, struct dd_err *err)
{
	if (pk->count == DFI_MAX_BLOCKS)
		return dd_fail(err, DD_EINPUT, "%s: image too large (more than %llu blocks)", pk->in_path,
			       (unsigned long long)DFI_MAX_BLOCKS);
	if (pk->count == pk->cap) {
		uint64_t cap = pk->cap ? pk->cap * 2 : 1024;
		struct entry *e = realloc(pk->entries, cap * sizeof(*e));
		if (!e)
			return dd_fail(err, DD_ENOMEM, "%s: out of memory", pk->in_path);
		pk->entries = e;
		pk->cap = cap;
	}
	struct entry *e = &pk->entries[pk->count++];
	memcpy(e->hash, s->hash, DD_SHA256_LEN);
	e->offset = pk->out_off;
	e->size = (uint32_t)s->out_len;
	e->flags = s->zero ? DFI_ENTRY_ZERO : 0;
	pk->image_size += s->in_len;
	return DD_OK;
}

static int write_slot(struct pack *pk, const struct slot *s, struct dd_err *err)
{
	int rc;

	if (s->zerr)
		return dd_fail(err, DD_EINTERNAL, "%s: compression failed: %s", pk->in_path, s->zerr);
	rc = add_entry(pk, s, err);
	if (rc)
		return rc;
	return write_all(pk->out_fd, s->out, s->out_len, &pk->out_off, pk->out_path, err);
}

/* Read, compress in the pool, write in order. */
static int pack_blocks(struct pack *pk, struct pack_input *in, unsigned threads, struct dd_err *err)
{
	struct pool pl = { .level = pk->opts->level ? pk->opts->level : 3, .window_log = pk->window_log };
	pthread_t *tids = calloc(threads, sizeof(*tids));
	uint64_t next_read = 0, next_write = 0;
	unsigned started = 0;
	bool eof = false;
	int rc = DD_OK;

	pl.nslots = threads * 2 + 1;
	pl.slots = calloc(pl.nslots, sizeof(*pl.slots));
	if (!tids || !pl.slots) {
		rc = dd_fail(err, DD_ENOMEM, "%s: out of memory", pk->in_path);
		goto out_free;
	}
	for (unsigned i = 0; i < pl.nslots; i++) {
		struct slot *s = &pl.slots[i];
		s->out_cap = ZSTD_compressBound(pk->block_size);
		s->in = malloc(pk->block_size);
		s->out = malloc(s->out_cap);
		if (!s->in || !s->out) {
			rc = dd_fail(err, DD_ENOMEM, "%s: out of memory (%u blocks of %u bytes)", pk->in_path,
				     pl.nslots, pk->block_size);
			goto out_free;
		}
	}
	pthread_mutex_init(&pl.mu, NULL);
	pthread_cond_init(&pl.work, NULL);
	pthread_cond_init(&pl.done, NULL);
	for (; started < threads; started++)
		if (pthread_create(&tids[started], NULL, worker, &pl))
			break;
	if (!started) {
		rc = dd_fail(err, DD_EINTERNAL, "cannot start compression threads");
		goto out_sync;
	}

	pthread_mutex_lock(&pl.mu);
	while (rc == DD_OK) {
		struct slot *w = &pl.slots[next_write % pl.nslots];
		if (next_write < next_read && w->state == SLOT_DONE) {
			pthread_mutex_unlock(&pl.mu);
			rc = write_slot(pk, w, err);
			if (!rc && pk->opts->progress)
				pk->opts->progress(pk->opts->progress_ctx, in->consumed, in->file_size);
			pthread_mutex_lock(&pl.mu);
			w->state = SLOT_FREE;
			next_write++;
			continue;
		}
		if (!eof && next_read - next_write < pl.nslots) {
			struct slot *r = &pl.slots[next_read % pl.nslots];
			size_t got = 0;
			pthread_mutex_unlock(&pl.mu);
			rc = input_read(in, r->in, pk->block_size, &got, err);
			pthread_mutex_lock(&pl.mu);
			if (rc)
				break;
			eof = got < pk->block_size;
			if (got == 0)
				continue;
			r->in_len = got;
			r->state = SLOT_FILLED;
			pl.filled = ++next_read;
			pthread_cond_signal(&pl.work);
			continue;
		}
		if (eof && next_write == next_read)
			break;
		pthread_cond_wait(&pl.done, &pl.mu);
	}
	/* Let the workers finish what they hold (even after an error), then stop them. */
	pl.stop = true;
	pthread_cond_broadcast(&pl.work);
	pthread_mutex_unlock(&pl.mu);
	for (unsigned i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
out_sync:
	pthread_cond_destroy(&pl.done);
	pthread_cond_destroy(&pl.work);
	pthread_mutex_destroy(&pl.mu);
out_free:
	for (unsigned i = 0; pl.slots && i < pl.nslots; i++) {
		free(pl.slots[i].in);
		free(pl.slots[i].out);
	}
	free(pl.slots);
	free(tids);
	return rc;
}

/* ---- metadata frames ------------------------------------------------------------------------ */

static uint64_t created_time(const struct dfi_pack_opts *o)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	char *end;

	if (o->created)
		return o->created;
	if (sde && *sde) {
		unsigned long long v = strtoull(sde, &end, 10);
		if (!*end)
			return v;
	}
	return (uint64_t)time(NULL);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* Build the manifest payload (docs/FORMAT.md, "Manifest"). */
static uint8_t *build_manifest(const struct pack *pk, size_t *len_out)
{
	const struct dfi_pack_opts *o = pk->opts;
	char name[DFI_NAME_MAX + 1], tool[DFI_TOOL_MAX + 1];
	const char *ver = o->version ? o->version : "";
	size_t nl, tl, vl = strlen(ver), len;
	uint8_t *m, *p;

	/* a given name was judged by check_opts; a file's name is made text (its bad bytes shown as '?') */
	dd_utf8_text_fix(name, sizeof(name), o->name ? o->name : base_name(pk->in_path));
	dd_utf8_text_fix(tool, sizeof(tool), "dartdup " DARTDUP_VERSION);
	nl = strlen(name);
	tl = strlen(tool);
	len = DFI_MANIFEST_FIXED + nl + tl + vl + pk->count * DFI_ENTRY_SIZE;
	m = calloc(1, len);
	if (!m)
		return NULL;
	memcpy(m, DFI_TAG_MANIFEST, 4);
	dfi_put16(m + 4, DFI_VERSION);
	dfi_put16(m + 6, o->source_sha256 ? DFI_MF_SOURCE_SHA : 0);
	dfi_put32(m + 8, pk->block_size);
	m[12] = (uint8_t)pk->window_log;
	m[13] = DFI_HASH_SHA256;
	m[14] = (uint8_t)vl; /* judged by check_opts: a version of at most DFI_VERSION_TEXT_MAX bytes */
	dfi_put64(m + 16, pk->image_size);
	dfi_put64(m + 24, pk->count);
	dfi_put64(m + 32, DFI_HEADER_FRAME);
	dfi_put64(m + 40, created_time(o));
	if (o->source_sha256)
		memcpy(m + 48, o->source_sha256, DD_SHA256_LEN);
	dfi_put16(m + 80, (uint16_t)nl);
	dfi_put16(m + 82, (uint16_t)tl);
	memcpy(m + 84, name, nl);
	memcpy(m + 84 + nl, tool, tl);
	memcpy(m + 84 + nl + tl, ver, vl);
	p = m + DFI_MANIFEST_FIXED + nl + tl + vl;
	for (uint64_t i = 0; i < pk->count; i++, p += DFI_ENTRY_SIZE) {
		const struct entry *e = &pk->entries[i];
		memcpy(p, e->hash, DD_SHA256_LEN);
		dfi_put64(p + 32, e->offset);
		dfi_put32(p + 40, e->size);
		dfi_put32(p + 44, e->flags);
	}
	*len_out = len;
	return m;
}

static int write_metadata(struct pack *pk, struct dd_signer *signer, struct dd_err *err)
{
	uint64_t manifest_off = pk->out_off;
	uint8_t hdr[DFI_FRAME_HDR], id[DD_SHA256_LEN];
	uint8_t sigf[DFI_FRAME_HDR + DFI_SIG_FIXED + DD_SIG_MAX], tr[DFI_TRAILER_FRAME] = { 0 };
	size_t mlen, sig_len = 0, sig_frame = 0;
	uint8_t *m = build_manifest(pk, &mlen);
	int rc;

	if (!m)
		return dd_fail(err, DD_ENOMEM, "%s: out of memory", pk->out_path);
	if (mlen > UINT32_MAX) {
		free(m);
		return dd_fail(err, DD_EINPUT, "%s: manifest too large", pk->out_path);
	}
	dd_sha256(m, mlen, id);
	skippable_header(hdr, (uint32_t)mlen);
	rc = write_all(pk->out_fd, hdr, sizeof(hdr), &pk->out_off, pk->out_path, err);
	if (!rc)
		rc = write_all(pk->out_fd, m, mlen, &pk->out_off, pk->out_path, err);
	free(m);
	if (rc)
		return rc;
	if (signer) {
		uint8_t *s = sigf + DFI_FRAME_HDR;
		memset(sigf, 0, sizeof(sigf));
		rc = dd_signer_sign(signer, id, s + DFI_SIG_FIXED, &sig_len, err);
		if (rc)
			return rc;
		memcpy(s, DFI_TAG_SIGNATURE, 4);
		dfi_put16(s + 4, DFI_VERSION);
		dfi_put16(s + 6, DFI_SIG_ECDSA_P256_SHA256);
		memcpy(s + 8, dd_signer_key_id(signer), DD_SHA256_LEN);
		dfi_put16(s + 40, (uint16_t)sig_len);
		skippable_header(sigf, (uint32_t)(DFI_SIG_FIXED + sig_len));
		sig_frame = DFI_FRAME_HDR + DFI_SIG_FIXED + sig_len;
		rc = write_all(pk->out_fd, sigf, sig_frame, &pk->out_off, pk->out_path, err);
		if (rc)
			return rc;
	}
	skippable_header(tr, DFI_TRAILER_PAYLOAD);
	memcpy(tr + 8, DFI_TAG_TRAILER, 4);
	dfi_put16(tr + 12, DFI_VERSION);
	dfi_put64(tr + 16, manifest_off);
	dfi_put32(tr + 24, (uint32_t)(DFI_FRAME_HDR + mlen));
	dfi_put32(tr + 28, (uint32_t)sig_frame);
	dfi_put64(tr + 32, pk->out_off + DFI_TRAILER_FRAME);
	memcpy(tr + 40, id, DD_SHA256_LEN);
	return write_all(pk->out_fd, tr, sizeof(tr), &pk->out_off, pk->out_path, err);
}

static int write_header(struct pack *pk, struct dd_err *err)
{
	uint8_t h[DFI_HEADER_FRAME] = { 0 };

	skippable_header(h, DFI_HEADER_PAYLOAD);
	memcpy(h + 8, DFI_TAG_HEADER, 4);
	dfi_put16(h + 12, DFI_VERSION);
	return write_all(pk->out_fd, h, sizeof(h), &pk->out_off, pk->out_path, err);
}

static int check_opts(const struct dfi_pack_opts *o, uint32_t *bs, struct dd_err *err)
{
	*bs = o->block_size ? o->block_size : 1u << 20;
	if (*bs < (1u << DFI_BLOCK_LOG_MIN) || *bs > (1u << DFI_BLOCK_LOG_MAX) || (*bs & (*bs - 1)))
		return dd_fail(err, DD_EUSAGE, "block size %u: must be a power of two from 4096 to %u",
			       *bs, 1u << DFI_BLOCK_LOG_MAX);
	if (o->level && (o->level < ZSTD_minCLevel() || o->level > ZSTD_maxCLevel()))
		return dd_fail(err, DD_EUSAGE, "level %d: must be from %d to %d", o->level, ZSTD_minCLevel(),
			       ZSTD_maxCLevel());
	/* the name is UTF-8 text (docs/FORMAT.md): refused here rather than changed behind the user's back */
	if (o->name && !dd_utf8_text_ok(o->name, strlen(o->name)))
		return dd_fail(err, DD_EUSAGE, "name \"%s\": not UTF-8 text (control characters or invalid UTF-8)",
			       DD_ESC(o->name));
	if (o->version && *o->version && !dd_version_ok(o->version, strlen(o->version)))
		return dd_fail(err, DD_EUSAGE, "version \"%s\": not a version (dotted decimal numbers such as 3 or "
			       "1.2.0, at most %d numbers and %d bytes)", DD_ESC(o->version), DD_VERSION_PARTS,
			       DD_VERSION_MAX);
	return DD_OK;
}

static unsigned thread_count(const struct dfi_pack_opts *o)
{
	long n = o->threads ? (long)o->threads : sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

/* The body of both entry points: src NULL reads in_path (raw or zstd), else src's blocks. */
static int pack_run(const char *in_path, struct dd_source *src, const char *out_path,
		    const struct dfi_pack_opts *opts, struct dd_err *err)
{
	static const struct dfi_pack_opts defaults;
	struct pack pk = { .in_path = in_path, .out_path = out_path, .out_fd = -1 };
	struct pack_input in = { .fd = -1 };
	struct dd_signer *signer = NULL;
	const char *inputs[2];
	int rc;

	pk.opts = opts ? opts : &defaults;
	rc = check_opts(pk.opts, &pk.block_size, err);
	if (rc)
		return rc;
	/* the door: the package is renamed over out_path, so it must be no device, nothing under /dev,
	 * and not the image or key it is made from (the temporary file is new: mkostemp) */
	inputs[0] = in_path;
	inputs[1] = pk.opts->key_path;
	if ((rc = dd_door_judge_output(out_path, inputs, 2, err)))
		return rc;
	pk.window_log = dfi_window_log_for(pk.block_size);
	if (pk.opts->key_path) {
		rc = dd_signer_open(pk.opts->key_path, &signer, err);
		if (rc)
			return rc;
	}
	rc = src ? input_open_source(&in, in_path, src, err) : input_open(&in, in_path, err);
	if (rc)
		goto out;
	if ((size_t)snprintf(pk.tmp_path, sizeof(pk.tmp_path), "%s.XXXXXX", out_path) >= sizeof(pk.tmp_path)) {
		rc = dd_fail(err, DD_EUSAGE, "%s: path too long", out_path);
		goto out;
	}
	pk.out_fd = mkostemp(pk.tmp_path, O_CLOEXEC);
	if (pk.out_fd < 0) {
		rc = dd_fail_errno(err, DD_EIO, errno, "%s", out_path);
		goto out;
	}
	rc = fchmod(pk.out_fd, 0644) ? dd_fail_errno(err, DD_EIO, errno, "%s", out_path) : DD_OK;
	if (!rc)
		rc = write_header(&pk, err);
	if (!rc)
		rc = pack_blocks(&pk, &in, thread_count(pk.opts), err);
	/* a failed download leaves an empty file: a package of it would "pass" every stick unchanged */
	if (!rc && !pk.image_size)
		rc = dd_fail(err, DD_EINPUT, "%s: empty (0 bytes): not an image", in_path);
	if (!rc)
		rc = write_metadata(&pk, signer, err);
	/* No fsync: a package cut short by a crash fails every reader's checks (trailer, sizes,
	 * hashes), so durability is left to the system, as zstd does; the rename still keeps a failed
	 * pack from replacing a good package. */
	if (close(pk.out_fd) && !rc)
		rc = dd_fail_errno(err, DD_EIO, errno, "%s: write failed", out_path);
	if (!rc && rename(pk.tmp_path, out_path))
		rc = dd_fail_errno(err, DD_EIO, errno, "%s", out_path);
	if (rc)
		unlink(pk.tmp_path);
out:
	input_close(&in);
	dd_signer_close(signer);
	free(pk.entries);
	return rc;
}

int dfi_pack(const char *in_path, const char *out_path, const struct dfi_pack_opts *opts,
	     struct dd_err *err)
{
	return pack_run(in_path, NULL, out_path, opts, err);
}

int dfi_pack_source(struct dd_source *src, const char *in_path, const char *out_path,
		    const struct dfi_pack_opts *opts, struct dd_err *err)
{
	return pack_run(in_path, src, out_path, opts, err);
}
