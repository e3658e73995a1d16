/* The engine: one source, N targets, the ordering rules (see engine.h).
 *
 * Threads (only where I/O waits, see docs/ARCHITECTURE.md):
 *  - one decoder: decodes block after block into shared, reference-counted buffers and publishes
 *    them in a window (a ring of `window` slots covering positions [tail, head) of e->seq);
 *  - per target, one thread running the phases (write, flush, verify, boot) plus queue_depth - 1
 *    helpers during the write and verify phases, so that several requests are in flight per device
 *    with plain blocking pread/pwrite (the backends stay simple and thread-safe);
 *  - the caller's thread: supervisor (abort flag, progress events every 500 ms).
 *
 * Bounded memory: shared buffers never exceed max_bufs. The window's tail follows the slowest
 * target still inside it; when the window is full and a faster target is starving, the tail is
 * pushed on regardless and the laggard decodes what it needs itself (read_block is thread-safe,
 * frames are independent) into a spare taken for that one block (at most max_spare of them, for
 * every target together). A laggard that catches up uses the window again. So a slow stick never
 * holds the others back, and memory grows neither with the block size nor with the targets
 * (plan_memory(): the budget; each worker's I/O buffer is at most IO_CHUNK).
 *
 * Locking: e->lock guards the window, every target's counters and status; e->emit_lock orders the
 * events (a snapshot of the status is taken under e->lock and emitted under emit_lock only). */
#include "engine/engine.h"
#include "probe/probe.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Memory: the budget holds every block-sized buffer (the shared window, the spares, block 0); the
 * rest is small and does not grow with the block size: one I/O buffer of at most IO_CHUNK per worker
 * (read-back, zero checks and zero writes go through it in pieces) and the source's decoders (a .dfi
 * decoder streams its frame: its window, at most 8 MiB, and a small input buffer). */
#define DEFAULT_BUDGET (16u << 20)
#define IO_CHUNK (1u << 20)
#define MIN_WINDOW 2u
/* Fewest block buffers a writing job runs with: a window of MIN_WINDOW, one being decoded, one spare
 * (a laggard's own decode, a rewrite), block 0. */
#define MIN_BLOCKS (MIN_WINDOW + 3u)
#define MAX_QUEUE_DEPTH 16u
#define PROGRESS_INTERVAL 0.5
#define TICK_NS 100000000L
/* A target must have starved this long behind a full window before the slowest target is cut loose
 * to decode alone: scheduler jitter between equally fast targets (many targets on few cores) then
 * never costs extra decoding, while a really slow stick is left behind within a fraction of a second. */
#define FORCE_DELAY 0.25

struct ebuf {
	uint8_t *data;
	unsigned refs;      /* window slot + workers using it */
	struct ebuf *next;  /* free list */
};

enum tstage { TS_WRITE, TS_AFTER_WRITE };

struct engine;
struct tctx;

struct worker {
	struct tctx *tc;
	uint8_t *io;        /* private I/O buffer (e->chunk bytes): read-back, zero checks */
	pthread_t thread;
};

struct tctx {
	struct engine *e;
	struct dd_target *t;
	unsigned idx;
	pthread_t thread;
	bool started;
	struct worker *w;
	unsigned n_workers;
	/* under e->lock */
	enum tstage stage;
	uint64_t cursor;    /* next position of e->seq to claim in the current phase */
	bool failed;
	bool finished;
	double phase_t0, last_progress;
	uint64_t phase_base;  /* the phase's byte counter when it began (for its rate) */
	struct dd_target_status st;
};

struct engine {
	struct dd_job *job;
	const struct dd_image_info *info;
	size_t block_size;
	uint64_t *seq;      /* blocks the write/verify phases go through, in order: every block of the
	                       image (but block 0 when writing: it is written last) */
	uint64_t n_seq;
	bool write_block0;  /* block 0 is written in the boot phase (always, when writing) */
	uint8_t *block0;    /* block 0, decoded and checked before any I/O (when written) */
	size_t chunk;       /* I/O piece: min(block_size, IO_CHUNK) */
	uint8_t *zeros;     /* chunk bytes of zeros */
	struct timespec t0;

	pthread_mutex_t lock;
	pthread_cond_t cond; /* every state change: broadcast (few dozen threads, 1 MiB steps) */
	struct ebuf **slot;
	unsigned window, n_bufs, max_bufs;
	uint64_t head, tail;
	struct ebuf *free_list;
	/* spare block buffers (a laggard's own decode, a rewrite), taken and given back per block */
	struct ebuf *spare_list;
	unsigned n_spare, max_spare;
	unsigned starving;
	double starve_t0;   /* when starving last went from 0 to 1 */
	unsigned writers;   /* targets still in the write phase */
	bool decoder_done;
	unsigned n_finished;

	pthread_mutex_t emit_lock;
	struct tctx *tc;
	unsigned n;
};

static double now(const struct engine *e)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)(ts.tv_sec - e->t0.tv_sec) + (double)(ts.tv_nsec - e->t0.tv_nsec) / 1e9;
}

static bool aborted(const struct engine *e)
{
	return e->job->abort_flag && *e->job->abort_flag;
}

static bool stopping(const struct tctx *tc)
{
	return tc->failed || aborted(tc->e);
}

static uint8_t *alloc_buf(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, len))
		return NULL;
	memset(p, 0, len);
	return p;
}

static uint8_t *alloc_block(const struct engine *e)
{
	return alloc_buf(e->block_size);
}

/* ---- events ------------------------------------------------------------------------------ */

/* The current phase's byte counter (a zero block found in place counts as done by the write phase). */
static uint64_t phase_bytes(const struct dd_target_status *st)
{
	return st->phase == DD_PHASE_VERIFY ? st->bytes_verified : st->bytes_written + st->bytes_skipped;
}

/* Under e->lock: rate, ETA and progress from the counters. */
static void update_rates(struct engine *e, struct tctx *tc, double t)
{
	struct dd_target_status *st = &tc->st;
	uint64_t total = dd_status_total(st);
	uint64_t done = dd_status_done(st);
	uint64_t phase_done = phase_bytes(st);
	double dt = t - tc->phase_t0;

	phase_done -= tc->phase_base;

	st->progress = total ? (double)done / (double)total : 1.0;
	if (st->result != DD_RESULT_NONE) {
		st->eta = 0;
		return;
	}
	st->rate = dt > 0 ? (double)phase_done / dt : 0;
	st->eta = st->rate > 0 ? (double)(total - done) / st->rate : -1;
}

static void emit_target(struct engine *e, struct tctx *tc, enum dd_event_type type)
{
	struct dd_target_status snap;
	struct dd_event ev;
	double t;

	pthread_mutex_lock(&e->emit_lock);
	pthread_mutex_lock(&e->lock);
	/* the supervisor's tick may race the target's end: once its done event is out, nothing follows */
	if (type == DD_EV_PROGRESS && tc->st.result != DD_RESULT_NONE) {
		pthread_mutex_unlock(&e->lock);
		pthread_mutex_unlock(&e->emit_lock);
		return;
	}
	t = now(e);
	update_rates(e, tc, t);
	if (type == DD_EV_PROGRESS)
		tc->last_progress = t;
	snap = tc->st;
	pthread_mutex_unlock(&e->lock);
	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.t = t;
	ev.target = (int)tc->idx;
	ev.id = &tc->t->id;
	ev.status = &snap;
	ev.n_targets = e->n;
	if (e->job->sink.emit)
		e->job->sink.emit(e->job->sink.ctx, &ev);
	pthread_mutex_unlock(&e->emit_lock);
}

static void emit_job(struct engine *e, enum dd_event_type type, const struct dd_target_status *status)
{
	struct dd_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.t = now(e);
	ev.target = -1;
	ev.n_targets = e->n;
	for (unsigned i = 0; status && i < e->n; i++) {
		ev.n_pass += status[i].result == DD_RESULT_PASS || status[i].result == DD_RESULT_WRITTEN;
		ev.n_fail += status[i].result == DD_RESULT_FAIL;
		ev.n_incomplete += status[i].result == DD_RESULT_INCOMPLETE;
	}
	pthread_mutex_lock(&e->emit_lock);
	if (e->job->sink.emit)
		e->job->sink.emit(e->job->sink.ctx, &ev);
	pthread_mutex_unlock(&e->emit_lock);
}

static void set_phase(struct engine *e, struct tctx *tc, enum dd_phase phase)
{
	pthread_mutex_lock(&e->lock);
	tc->st.phase = phase;
	tc->phase_t0 = now(e);
	tc->phase_base = phase_bytes(&tc->st);
	pthread_mutex_unlock(&e->lock);
	emit_target(e, tc, DD_EV_PHASE);
}

/* What a failing call's status says of the target (the probe's verdict is its own: DD_FAIL_COUNTERFEIT). */
static enum dd_fail_kind kind_of(int rc)
{
	switch (rc) {
	case DD_EIO: return DD_FAIL_IO;
	case DD_ECHECK: return DD_FAIL_MISMATCH;
	case DD_EINPUT: return DD_FAIL_IMAGE;    /* the image's bytes: unreadable or not its manifest's */
	case DD_EABORT: return DD_FAIL_INTERRUPTED;
	default: return DD_FAIL_OTHER;
	}
}

/* Under e->lock. The first failure names the target's error and its kind; the lowest offset wins. */
static void target_fail(struct tctx *tc, int64_t off, enum dd_fail_kind kind, const char *msg)
{
	if (!tc->failed) {
		tc->failed = true;
		tc->st.kind = kind;
		size_t n = strnlen(msg, sizeof(tc->st.error) - 1);

		memcpy(tc->st.error, msg, n); /* a longer message is cut, never overflows */
		tc->st.error[n] = '\0';
	}
	if (off >= 0 && (tc->st.first_bad_offset < 0 || off < tc->st.first_bad_offset))
		tc->st.first_bad_offset = off;
	pthread_cond_broadcast(&tc->e->cond);
}

static void fail_locked(struct tctx *tc, int64_t off, enum dd_fail_kind kind, const char *msg)
{
	pthread_mutex_lock(&tc->e->lock);
	target_fail(tc, off, kind, msg);
	pthread_mutex_unlock(&tc->e->lock);
}

/* ---- the shared window (all under e->lock) ------------------------------------------------ */

static void buf_put(struct engine *e, struct ebuf *b)
{
	if (--b->refs)
		return;
	b->next = e->free_list;
	e->free_list = b;
	pthread_cond_broadcast(&e->cond);
}

static void release_tail(struct engine *e)
{
	struct ebuf **s = &e->slot[e->tail % e->window];

	if (*s) /* NULL: a position no writer needs the image's bytes for */
		buf_put(e, *s);
	*s = NULL;
	e->tail++;
}

/* The tail follows the slowest writer still inside the window (laggards below it read alone). */
static void advance_tail(struct engine *e)
{
	uint64_t low = e->head;

	for (unsigned i = 0; i < e->n; i++) {
		const struct tctx *tc = &e->tc[i];

		if (tc->stage == TS_WRITE && !tc->failed && tc->cursor >= e->tail && tc->cursor < low)
			low = tc->cursor;
	}
	while (e->tail < low)
		release_tail(e);
}

static struct ebuf *buf_get(struct engine *e)
{
	struct ebuf *b = e->free_list;

	if (b) {
		e->free_list = b->next;
		return b;
	}
	if (e->n_bufs >= e->max_bufs)
		return NULL;
	b = calloc(1, sizeof(*b));
	if (b && !(b->data = alloc_block(e))) {
		free(b);
		b = NULL;
	}
	if (b)
		e->n_bufs++;
	return b;
}

/* Waits on e->cond (under e->lock) for at most `seconds`. */
static void wait_at_most(struct engine *e, double seconds)
{
	struct timespec ts;
	long ns;

	clock_gettime(CLOCK_REALTIME, &ts);
	ns = ts.tv_nsec + (long)(seconds * 1e9);
	ts.tv_sec += ns / 1000000000L;
	ts.tv_nsec = ns % 1000000000L;
	pthread_cond_timedwait(&e->cond, &e->lock, &ts);
}

/* ---- decoding ---------------------------------------------------------------------------- */

/* What an error about the image's bytes names: the file they come from (the manifest's name is a
 * label the package carries, not where the damage is). */
static const char *image_label(const struct dd_image_info *info)
{
	if (info->path)
		return info->path;
	return info->name[0] ? info->name : "image";
}

/* Decode block i into buf and check it against the manifest; the slack after the block's length
 * is zeroed (backends may write whole sectors). */
static int decode_block(struct engine *e, uint64_t i, uint8_t *buf, struct dd_err *err)
{
	const struct dd_image_info *info = e->info;
	uint32_t len = dd_block_len(info, i);
	uint8_t h[DD_SHA256_LEN];
	int rc;

	rc = dd_source_read_block(e->job->src, i, buf, err);
	if (rc)
		return rc;
	memset(buf + len, 0, e->block_size - len);
	dd_sha256(buf, len, h);
	if (memcmp(h, info->block_hash[i], DD_SHA256_LEN))
		return dd_fail(err, DD_EINPUT, "%s: block %" PRIu64 " (offset %" PRIu64
			       ") does not match the image's hash: the image is damaged or changed",
			       image_label(info), i, i * (uint64_t)info->block_size);
	return DD_OK;
}

static void decoder_fail(struct engine *e, enum dd_fail_kind kind, const char *msg)
{
	for (unsigned i = 0; i < e->n; i++)
		if (e->tc[i].stage == TS_WRITE)
			target_fail(&e->tc[i], -1, kind, msg);
}

static void *decoder_main(void *arg)
{
	struct engine *e = arg;
	struct dd_err err;
	struct ebuf *b;
	int rc;

	pthread_mutex_lock(&e->lock);
	for (;;) {
		advance_tail(e);
		if (e->head >= e->n_seq || !e->writers || aborted(e))
			break;
		if (e->head - e->tail >= e->window) {
			double waited = e->starving ? now(e) - e->starve_t0 : 0;

			if (e->starving && waited >= FORCE_DELAY) {
				release_tail(e);
				continue;
			}
			if (e->starving)
				wait_at_most(e, FORCE_DELAY - waited);
			else
				pthread_cond_wait(&e->cond, &e->lock);
			continue;
		}
		if (dd_policy_write(&e->job->policy, e->info, e->seq[e->head]) != DD_WRITE_DATA) {
			e->slot[e->head++ % e->window] = NULL; /* written without the image's bytes */
			pthread_cond_broadcast(&e->cond);
			continue;
		}
		b = buf_get(e);
		if (!b && !e->n_bufs) {
			decoder_fail(e, DD_FAIL_OTHER, "out of memory for block buffers");
			break;
		}
		if (!b) {
			pthread_cond_wait(&e->cond, &e->lock);
			continue;
		}
		pthread_mutex_unlock(&e->lock);
		dd_err_clear(&err);
		rc = decode_block(e, e->seq[e->head], b->data, &err);
		pthread_mutex_lock(&e->lock);
		b->refs = 1;
		if (rc) {
			buf_put(e, b);
			decoder_fail(e, kind_of(rc), err.msg);
			break;
		}
		e->slot[e->head % e->window] = b;
		e->head++;
		pthread_cond_broadcast(&e->cond);
	}
	e->decoder_done = true;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

/* ---- per-target work --------------------------------------------------------------------- */

static int io_buffer(struct worker *w, struct dd_err *err)
{
	if (!w->io && !(w->io = alloc_buf(w->tc->e->chunk)))
		return dd_fail(err, DD_ENOMEM, "%s: out of memory", w->tc->t->id.path);
	return DD_OK;
}

/* A spare block buffer, waiting while every one is in use (they are few, and each is held for one
 * block's decode and write). NULL when the target stops (err untouched) or memory runs out. */
static struct ebuf *spare_get(struct tctx *tc, struct dd_err *err)
{
	struct engine *e = tc->e;
	struct ebuf *b = NULL;
	bool grow = false;

	pthread_mutex_lock(&e->lock);
	while (!stopping(tc)) {
		if ((b = e->spare_list)) {
			e->spare_list = b->next;
			break;
		}
		if ((grow = e->n_spare < e->max_spare)) {
			e->n_spare++;
			break;
		}
		pthread_cond_wait(&e->cond, &e->lock);
	}
	pthread_mutex_unlock(&e->lock);
	if (!grow)
		return b;
	b = calloc(1, sizeof(*b));
	if (b && !(b->data = alloc_block(e))) {
		free(b);
		b = NULL;
	}
	if (b)
		return b;
	pthread_mutex_lock(&e->lock);
	e->n_spare--;
	pthread_mutex_unlock(&e->lock);
	dd_fail(err, DD_ENOMEM, "%s: out of memory for a block buffer", tc->t->id.path);
	return NULL;
}

static void spare_put(struct engine *e, struct ebuf *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&e->lock);
	b->next = e->spare_list;
	e->spare_list = b;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

static int flush_target(struct tctx *tc, struct dd_err *err)
{
	return tc->t->ops->flush(tc->t, err);
}

/* Takes position s of the write phase: the window's buffer (a reference, *shared) or a decode of its
 * own into a spare (*spare); the caller gives back whichever it got. */
static const uint8_t *claim_block(struct worker *w, uint64_t s, struct ebuf **shared, struct ebuf **spare,
				  struct dd_err *err)
{
	struct tctx *tc = w->tc;
	struct engine *e = tc->e;

	pthread_mutex_lock(&e->lock);
	if (s >= e->head && !e->decoder_done && !stopping(tc)) {
		if (!e->starving++)
			e->starve_t0 = now(e);
		pthread_cond_broadcast(&e->cond);
		while (s >= e->head && !e->decoder_done && !stopping(tc))
			pthread_cond_wait(&e->cond, &e->lock);
		e->starving--;
	}
	*shared = NULL;
	if (s >= e->tail && s < e->head) {
		*shared = e->slot[s % e->window];
		(*shared)->refs++;
	}
	pthread_mutex_unlock(&e->lock);
	if (*shared)
		return (*shared)->data;
	if (stopping(tc) || !(*spare = spare_get(tc, err)))
		return NULL;
	if (decode_block(e, e->seq[s], (*spare)->data, err))
		return NULL;
	return (*spare)->data;
}

/* The target's next position in the block sequence (its workers share one cursor); false when it is
 * done or stopping. A writer moving on may let the shared window's tail advance. */
static bool next_in_seq(struct tctx *tc, uint64_t *s, bool writing)
{
	struct engine *e = tc->e;
	bool more;

	pthread_mutex_lock(&e->lock);
	more = !stopping(tc) && tc->cursor < e->n_seq;
	if (more) {
		*s = tc->cursor++;
		if (writing)
			advance_tail(e);
	}
	pthread_mutex_unlock(&e->lock);
	return more;
}

/* len <= e->chunk */
static bool all_zero(const struct engine *e, const uint8_t *buf, size_t len)
{
	return !memcmp(buf, e->zeros, len);
}

/* Zeros over [off, off + len), a chunk at a time. */
static int write_zeros(struct tctx *tc, uint64_t off, uint64_t len, struct dd_err *err)
{
	struct engine *e = tc->e;

	while (len) {
		size_t n = len < e->chunk ? (size_t)len : e->chunk;
		int rc = tc->t->ops->write_at(tc->t, e->zeros, n, off, err);

		if (rc)
			return rc;
		off += n;
		len -= n;
	}
	return DD_OK;
}

/* An all-zero image block (DD_WRITE_ZERO_IF_DIRTY): read what the target holds there, a chunk at a
 * time, and write zeros only over the chunks where any byte is not zero. *wrote says whether any was. */
static int zero_if_dirty(struct worker *w, uint64_t off, uint32_t len, bool *wrote, struct dd_err *err)
{
	struct tctx *tc = w->tc;
	size_t chunk = tc->e->chunk;
	int rc;

	*wrote = false;
	if ((rc = io_buffer(w, err)))
		return rc;
	for (uint32_t done = 0; done < len; done += (uint32_t)chunk) {
		size_t n = len - done < chunk ? len - done : chunk;

		if ((rc = tc->t->ops->read_at(tc->t, w->io, n, off + done, err)))
			return rc;
		if (all_zero(tc->e, w->io, n))
			continue;
		*wrote = true;
		if ((rc = tc->t->ops->write_at(tc->t, tc->e->zeros, n, off + done, err)))
			return rc;
	}
	return DD_OK;
}

static void *write_worker(void *arg)
{
	struct worker *w = arg;
	struct tctx *tc = w->tc;
	struct engine *e = tc->e;
	const struct dd_image_info *info = e->info;

	for (;;) {
		struct dd_err err;
		struct ebuf *shared = NULL, *spare = NULL;
		const uint8_t *data;
		uint64_t s, i, off;
		uint32_t len;
		bool wrote = true;
		int rc;

		if (!next_in_seq(tc, &s, true))
			break;

		i = e->seq[s];
		off = i * (uint64_t)info->block_size;
		len = dd_block_len(info, i);
		dd_err_clear(&err);
		if (dd_policy_write(&e->job->policy, info, i) == DD_WRITE_ZERO_IF_DIRTY) {
			data = e->zeros;
			rc = zero_if_dirty(w, off, len, &wrote, &err);
		} else {
			data = claim_block(w, s, &shared, &spare, &err);
			rc = data ? tc->t->ops->write_at(tc->t, data, len, off, &err) : err.code;
			spare_put(e, spare);
		}

		pthread_mutex_lock(&e->lock);
		if (shared)
			buf_put(e, shared);
		if (rc)
			target_fail(tc, rc == DD_EIO ? (int64_t)off : -1, kind_of(rc), err.msg);
		else if (data && wrote)
			tc->st.bytes_written += len;
		else if (data)
			tc->st.bytes_skipped += len;
		pthread_mutex_unlock(&e->lock);
		if (!data && !rc)
			break; /* stopping */
	}
	return NULL;
}

/* Does the target hold image block i? Read back a chunk at a time. A zero block is proven by its
 * content: the manifest's hash of an all-zero block says no more (dfi_open checks zero blocks carry
 * that hash). */
static int holds_block(struct worker *w, uint64_t i, bool zeros, bool *holds, struct dd_err *err)
{
	struct tctx *tc = w->tc;
	struct engine *e = tc->e;
	uint64_t off = i * (uint64_t)e->info->block_size;
	uint32_t len = dd_block_len(e->info, i);
	uint8_t h[DD_SHA256_LEN];
	struct dd_sha256 ctx;
	int rc;

	*holds = false;
	if ((rc = io_buffer(w, err)))
		return rc;
	dd_sha256_init(&ctx);
	for (uint32_t done = 0; done < len; done += (uint32_t)e->chunk) {
		size_t n = len - done < e->chunk ? len - done : e->chunk;

		if ((rc = tc->t->ops->read_at(tc->t, w->io, n, off + done, err)))
			return rc;
		if (zeros && !all_zero(e, w->io, n))
			return DD_OK;
		if (!zeros)
			dd_sha256_update(&ctx, w->io, n);
	}
	dd_sha256_final(&ctx, h);
	*holds = zeros || !memcmp(h, e->info->block_hash[i], DD_SHA256_LEN);
	return DD_OK;
}

/* Write block i again: zeros, the bytes known (block 0), or the block decoded again into a spare.
 * DD_EABORT when the target stopped while waiting for a spare. */
static int rewrite_block(struct worker *w, uint64_t i, const uint8_t *known, bool zeros, struct dd_err *err)
{
	struct tctx *tc = w->tc;
	struct engine *e = tc->e;
	uint64_t off = i * (uint64_t)e->info->block_size;
	uint32_t len = dd_block_len(e->info, i);
	struct ebuf *spare = NULL;
	int rc;

	if (zeros) {
		rc = write_zeros(tc, off, len, err);
	} else if (known) {
		rc = tc->t->ops->write_at(tc->t, known, len, off, err);
	} else if (!(spare = spare_get(tc, err))) {
		return err->code ? err->code : dd_fail(err, DD_EABORT, "%s: stopped", tc->t->id.path);
	} else {
		rc = decode_block(e, i, spare->data, err);
		if (!rc)
			rc = tc->t->ops->write_at(tc->t, spare->data, len, off, err);
		spare_put(e, spare);
	}
	return rc ? rc : flush_target(tc, err);
}

/* Read block i back from the medium and compare; on a mismatch rewrite it (from known, or decoded
 * again) and read again, up to policy.retries times. */
static int verify_block(struct worker *w, uint64_t i, const uint8_t *known, struct dd_err *err)
{
	struct tctx *tc = w->tc;
	struct engine *e = tc->e;
	const struct dd_policy *pol = &e->job->policy;
	uint64_t off = i * (uint64_t)e->info->block_size;
	bool zeros = dd_policy_check(pol, e->info, i) == DD_CHECK_ZEROS, holds;
	int rc;

	for (int attempt = 0;; attempt++) {
		if ((rc = holds_block(w, i, zeros, &holds, err)))
			return rc;
		if (holds)
			return DD_OK;
		if (pol->verify_only || attempt >= pol->retries || stopping(tc))
			break;
		if ((rc = rewrite_block(w, i, known, zeros && !known, err)))
			return rc;
	}
	if (pol->verify_only)
		return dd_fail(err, DD_ECHECK, "%s: block at offset %" PRIu64 " does not match the image",
			       tc->t->id.path, off);
	return dd_fail(err, DD_ECHECK, "%s: block at offset %" PRIu64
		       " does not match the image after %d rewrite(s)", tc->t->id.path, off, pol->retries);
}

static void *verify_worker(void *arg)
{
	struct worker *w = arg;
	struct tctx *tc = w->tc;
	struct engine *e = tc->e;

	for (;;) {
		struct dd_err err;
		uint64_t s, i;
		int rc;

		if (!next_in_seq(tc, &s, false))
			break;

		i = e->seq[s];
		dd_err_clear(&err);
		rc = verify_block(w, i, NULL, &err);
		if (rc == DD_EABORT)
			break; /* stopping: the target's result says why */
		pthread_mutex_lock(&e->lock);
		if (rc)
			target_fail(tc, rc == DD_EIO || rc == DD_ECHECK ?
					(int64_t)(i * (uint64_t)e->info->block_size) : -1, kind_of(rc), err.msg);
		else
			tc->st.bytes_verified += dd_block_len(e->info, i);
		pthread_mutex_unlock(&e->lock);
	}
	return NULL;
}

/* Runs fn on n_workers threads (this one included) and waits for them all. */
static void run_workers(struct tctx *tc, void *(*fn)(void *))
{
	unsigned started = 1;

	pthread_mutex_lock(&tc->e->lock);
	tc->cursor = 0;
	pthread_mutex_unlock(&tc->e->lock);
	for (unsigned k = 1; k < tc->n_workers; k++, started++)
		if (pthread_create(&tc->w[k].thread, NULL, fn, &tc->w[k]))
			break;
	fn(&tc->w[0]);
	for (unsigned k = 1; k < started; k++)
		pthread_join(tc->w[k].thread, NULL);
}

/* The end of a whole disk past the image, where a partition table may keep a copy of itself (GPT's
 * backup header and entries fill the last 33 sectors; the last MiB covers the other schemes'
 * copies too). Empty for a file, or when the image reaches that far. */
#define DISK_TAIL (1u << 20)

static void disk_tail(const struct tctx *tc, uint64_t *off, uint64_t *len)
{
	const struct dd_target *t = tc->t;
	uint64_t cap = t->id.capacity, align = t->align ? t->align : 1;
	uint64_t start = cap > DISK_TAIL ? cap - DISK_TAIL : 0;
	uint64_t image_end = (tc->e->info->image_size + align - 1) / align * align;

	*off = *len = 0;
	if (!t->whole_disk)
		return;
	if (start < image_end)
		start = image_end;
	start = (start + align - 1) / align * align;
	if (start >= cap)
		return;
	*off = start;
	*len = cap - start;
}

/* Clear block 0 before anything else: a stick interrupted or failed later never looks bootable.
 * Clear the disk's tail too: a GPT's old backup copy there would describe partitions of the stick's
 * previous life beside the new image (tools that find it offer to "repair" the stick with it). */
static int clear_boot_records(struct tctx *tc, struct dd_err *err)
{
	struct engine *e = tc->e;
	uint64_t off, len;
	int rc;

	if (e->info->block_count && (rc = write_zeros(tc, 0, dd_block_len(e->info, 0), err)))
		return rc;
	disk_tail(tc, &off, &len);
	return write_zeros(tc, off, len, err);
}

/* Read the cleared tail [off, off + len) back (after the write phase's flush): it must hold zeros. */
static int verify_disk_tail(struct tctx *tc, uint64_t off, uint64_t len, struct dd_err *err)
{
	struct worker *w = &tc->w[0];
	struct engine *e = tc->e;
	int rc;

	if (len && (rc = io_buffer(w, err)))
		return rc;
	while (len) {
		size_t n = len < e->chunk ? (size_t)len : e->chunk;

		if ((rc = tc->t->ops->read_at(tc->t, w->io, n, off, err)))
			return rc;
		if (!all_zero(e, w->io, n))
			return dd_fail(err, DD_ECHECK, "%s: the end of the disk (offset %" PRIu64
				       ") did not keep the zeros written over its old partition table copy",
				       tc->t->id.path, off);
		off += n;
		len -= n;
	}
	return DD_OK;
}

/* Boot phase: block 0 last, then flush and verify it. */
static int write_block0(struct tctx *tc, struct dd_err *err)
{
	struct engine *e = tc->e;
	uint32_t len = dd_block_len(e->info, 0);
	int rc;

	rc = tc->t->ops->write_at(tc->t, e->block0, len, 0, err);
	if (!rc)
		rc = flush_target(tc, err);
	if (!rc && e->job->policy.verify)
		rc = verify_block(&tc->w[0], 0, e->block0, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&e->lock);
	tc->st.bytes_written += len;
	if (e->job->policy.verify)
		tc->st.bytes_verified += len;
	pthread_mutex_unlock(&e->lock);
	return DD_OK;
}

static void leave_write_stage(struct tctx *tc)
{
	struct engine *e = tc->e;

	pthread_mutex_lock(&e->lock);
	if (tc->stage == TS_WRITE) {
		tc->stage = TS_AFTER_WRITE;
		e->writers--;
		advance_tail(e);
		pthread_cond_broadcast(&e->cond);
	}
	pthread_mutex_unlock(&e->lock);
}

/* The write phase of one target: clear block 0, every block of seq, flush. */
static int write_phase(struct tctx *tc, struct dd_err *err)
{
	struct engine *e = tc->e;
	double t0 = now(e);
	int rc;

	set_phase(e, tc, DD_PHASE_WRITE);
	rc = clear_boot_records(tc, err);
	if (rc) {
		fail_locked(tc, 0, kind_of(rc), err->msg);
	} else {
		run_workers(tc, write_worker);
		leave_write_stage(tc);
		if (!stopping(tc) && (rc = flush_target(tc, err)))
			fail_locked(tc, -1, kind_of(rc), err->msg);
	}
	leave_write_stage(tc);
	pthread_mutex_lock(&e->lock);
	tc->st.write_seconds = now(e) - t0;
	pthread_mutex_unlock(&e->lock);
	return rc;
}

static void verify_phase(struct tctx *tc)
{
	struct engine *e = tc->e;
	struct dd_err err;
	uint64_t off, len;
	double t0;

	set_phase(e, tc, DD_PHASE_VERIFY);
	t0 = now(e);
	run_workers(tc, verify_worker);
	disk_tail(tc, &off, &len);
	if (!stopping(tc) && !e->job->policy.verify_only && verify_disk_tail(tc, off, len, &err))
		fail_locked(tc, err.code == DD_ECHECK ? (int64_t)off : -1, kind_of(err.code), err.msg);
	pthread_mutex_lock(&e->lock);
	tc->st.verify_seconds = now(e) - t0;
	pthread_mutex_unlock(&e->lock);
}

static void finish_target(struct tctx *tc, bool complete)
{
	struct engine *e = tc->e;
	const struct dd_policy *pol = &e->job->policy;

	pthread_mutex_lock(&e->lock);
	if (tc->failed)
		tc->st.result = DD_RESULT_FAIL;
	else if (!complete)
		tc->st.result = DD_RESULT_INCOMPLETE;
	else if (!pol->verify && !pol->verify_only)
		tc->st.result = DD_RESULT_WRITTEN;
	else
		tc->st.result = DD_RESULT_PASS;
	if (tc->st.result == DD_RESULT_INCOMPLETE)
		tc->st.kind = DD_FAIL_INTERRUPTED;
	tc->st.phase = DD_PHASE_DONE;
	tc->st.t_end = now(e);
	pthread_mutex_unlock(&e->lock);
	emit_target(e, tc, DD_EV_TARGET_DONE);
	pthread_mutex_lock(&e->lock);
	tc->finished = true;
	e->n_finished++;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

/* The probe's verdict as a failure kind (probe.h): DD_ECHECK is its "holds less than it announces",
 * DD_EUSAGE a stick too small to probe. */
static enum dd_fail_kind probe_kind(int rc)
{
	if (rc == DD_ECHECK)
		return DD_FAIL_COUNTERFEIT;
	return rc == DD_EUSAGE ? DD_FAIL_TOO_SMALL : kind_of(rc);
}

/* Counterfeit-capacity probe (policy.probe) before anything is written: a stick that holds less
 * than it announces fails here, with the first offset that did not hold its data. */
static int probe_phase(struct tctx *tc, struct dd_err *err)
{
	struct engine *e = tc->e;
	struct dd_probe_opts po;
	struct dd_probe_result r;
	int rc;

	set_phase(e, tc, DD_PHASE_PROBE);
	memset(&po, 0, sizeof(po));
	memset(&r, 0, sizeof(r));
	r.first_bad = -1;
	po.image_size = e->info->image_size;
	po.abort_flag = e->job->abort_flag;
	rc = dd_probe_run(tc->t, &po, &r, err);
	if (rc == DD_EABORT)
		return DD_OK; /* stopping() reports it incomplete */
	if (rc)
		fail_locked(tc, rc == DD_ECHECK ? r.first_bad : -1, probe_kind(rc), err->msg);
	return rc;
}

static void *target_main(void *arg)
{
	struct tctx *tc = arg;
	struct engine *e = tc->e;
	const struct dd_policy *pol = &e->job->policy;
	struct dd_err err;
	bool booted = false;
	int rc = DD_OK;

	dd_err_clear(&err);
	pthread_mutex_lock(&e->lock);
	tc->st.t_start = now(e);
	pthread_mutex_unlock(&e->lock);
	if (pol->probe && !pol->verify_only)
		rc = probe_phase(tc, &err);
	if (!rc && !stopping(tc) && !pol->verify_only)
		rc = write_phase(tc, &err);
	if (!rc && !stopping(tc) && (pol->verify || pol->verify_only))
		verify_phase(tc);
	if (!rc && !stopping(tc) && e->write_block0) {
		set_phase(e, tc, DD_PHASE_BOOT);
		if ((rc = write_block0(tc, &err)))
			fail_locked(tc, rc == DD_EIO || rc == DD_ECHECK ? 0 : -1, kind_of(rc), err.msg);
		booted = !rc;
	}
	/* A stop that lands after block 0 was written and verified finds the target complete (every
	 * phase before it ran to its end, or the boot phase would not have started): not incomplete. */
	finish_target(tc, booted || !stopping(tc));
	return NULL;
}

/* ---- set-up ------------------------------------------------------------------------------ */

static int build_seq(struct engine *e, struct dd_err *err)
{
	const struct dd_image_info *info = e->info;
	const struct dd_policy *pol = &e->job->policy;

	e->seq = calloc(info->block_count ? info->block_count : 1, sizeof(*e->seq));
	if (!e->seq)
		return dd_fail(err, DD_ENOMEM, "out of memory for the block list");
	/* verification covers every block; the write phase every block but the one written last */
	for (uint64_t i = 0; i < info->block_count; i++)
		if (pol->verify_only || dd_policy_write(pol, info, i) != DD_WRITE_LAST)
			e->seq[e->n_seq++] = i;
	e->write_block0 = !pol->verify_only && info->block_count &&
			  dd_policy_write(pol, info, 0) == DD_WRITE_LAST;
	return DD_OK;
}

static int check_targets(struct engine *e, struct dd_err *err)
{
	const struct dd_image_info *info = e->info;

	for (unsigned i = 0; i < e->n; i++) {
		const struct dd_target *t = e->job->targets[i];
		uint64_t need;

		if (!t || !t->ops)
			return dd_fail(err, DD_EINTERNAL, "target %u: not opened", i);
		if (!t->align || (t->align & (t->align - 1)) || t->align > info->block_size)
			return dd_fail(err, DD_EINTERNAL, "%s: unsupported alignment %zu", t->id.path, t->align);
		need = (info->image_size + t->align - 1) / t->align * t->align;
		if (dd_target_room(t) < need)
			return dd_fail(err, DD_ESAFETY, "%s: too small: %" PRIu64 " bytes, the image needs %" PRIu64,
				       t->id.path, dd_target_room(t), need);
	}
	return DD_OK;
}

/* Splits the budget among block 0, the spares and the window. The default budget grows to what the
 * block size needs at least (MIN_BLOCKS: 320 MiB for the largest blocks the format allows); a budget
 * the caller set (a board with little memory) is a limit: a block size it cannot hold is refused. */
static int plan_memory(struct engine *e, struct dd_err *err)
{
	size_t bs = e->block_size, budget = e->job->memory_budget ? e->job->memory_budget : DEFAULT_BUDGET;
	size_t blocks;

	e->chunk = bs < IO_CHUNK ? bs : IO_CHUNK;
	if (e->job->policy.verify_only) {     /* reads back only: no decoder, no rewrite, no block buffer */
		e->max_bufs = e->window = MIN_WINDOW;
		return DD_OK;
	}
	if (budget / bs < MIN_BLOCKS) {
		if (e->job->memory_budget)
			return dd_fail(err, DD_EINPUT, "image: its %zu KiB blocks need a memory budget of at least "
				       "%zu KiB (%u blocks); this job has %zu KiB", bs >> 10, (MIN_BLOCKS * bs) >> 10,
				       MIN_BLOCKS, budget >> 10);
		budget = MIN_BLOCKS * bs;
	}
	blocks = budget / bs - 1;             /* block 0 */
	if (blocks > 4096)
		blocks = 4096;                /* more buffers buy nothing: the window only hides jitter */
	e->max_spare = (unsigned)(blocks / 4);
	e->max_bufs = (unsigned)blocks - e->max_spare;
	e->window = e->max_bufs * 3 / 4 < MIN_WINDOW ? MIN_WINDOW : e->max_bufs * 3 / 4;
	return DD_OK;
}

static int engine_init(struct engine *e, struct dd_job *job, struct dd_err *err)
{
	uint64_t to_write = 0;
	int rc;

	e->job = job;
	e->info = &job->src->info;
	e->block_size = e->info->block_size;
	e->n = job->n_targets;
	clock_gettime(CLOCK_MONOTONIC, &e->t0);
	pthread_mutex_init(&e->lock, NULL);
	pthread_mutex_init(&e->emit_lock, NULL);
	pthread_cond_init(&e->cond, NULL);
	if (e->block_size < 4096 || (e->block_size & (e->block_size - 1)))
		return dd_fail(err, DD_EINPUT, "image: unsupported block size %zu", e->block_size);
	if ((rc = check_targets(e, err)) || (rc = build_seq(e, err)))
		return rc;

	if ((rc = plan_memory(e, err)))
		return rc;
	e->slot = calloc(e->window, sizeof(*e->slot));
	e->tc = calloc(e->n, sizeof(*e->tc));
	e->zeros = alloc_buf(e->chunk);
	e->block0 = e->write_block0 ? alloc_block(e) : NULL;
	if (!e->slot || !e->tc || !e->zeros || (e->write_block0 && !e->block0))
		return dd_fail(err, DD_ENOMEM, "out of memory");
	if (e->write_block0 && (rc = decode_block(e, 0, e->block0, err)))
		return rc;

	for (uint64_t s = 0; s < e->n_seq; s++)
		to_write += dd_block_len(e->info, e->seq[s]);
	if (e->write_block0)
		to_write += dd_block_len(e->info, 0);
	for (unsigned i = 0; i < e->n; i++) {
		struct tctx *tc = &e->tc[i];

		tc->e = e;
		tc->t = job->targets[i];
		tc->idx = i;
		tc->n_workers = tc->t->queue_depth ? tc->t->queue_depth : 1;
		if (tc->n_workers > MAX_QUEUE_DEPTH)
			tc->n_workers = MAX_QUEUE_DEPTH;
		tc->w = calloc(tc->n_workers, sizeof(*tc->w));
		if (!tc->w)
			return dd_fail(err, DD_ENOMEM, "out of memory");
		for (unsigned k = 0; k < tc->n_workers; k++)
			tc->w[k].tc = tc;
		tc->stage = job->policy.verify_only ? TS_AFTER_WRITE : TS_WRITE;
		e->writers += tc->stage == TS_WRITE;
		tc->st.phase = DD_PHASE_QUEUED;
		tc->st.first_bad_offset = -1;
		tc->st.eta = -1;
		tc->st.bytes_total = job->policy.verify_only ? 0 : to_write;
		tc->st.bytes_to_verify = job->policy.verify_only || job->policy.verify ? to_write : 0;
	}
	return DD_OK;
}

static void free_bufs(struct ebuf **list)
{
	while (*list) {
		struct ebuf *b = *list;

		*list = b->next;
		free(b->data);
		free(b);
	}
}

static void engine_free(struct engine *e)
{
	for (unsigned i = 0; e->tc && i < e->n; i++) {
		for (unsigned k = 0; e->tc[i].w && k < e->tc[i].n_workers; k++)
			free(e->tc[i].w[k].io);
		free(e->tc[i].w);
	}
	for (unsigned s = 0; e->slot && s < e->window; s++)
		if (e->slot[s])
			buf_put(e, e->slot[s]);
	free_bufs(&e->free_list);
	free_bufs(&e->spare_list);
	free(e->slot);
	free(e->tc);
	free(e->seq);
	free(e->zeros);
	free(e->block0);
	pthread_cond_destroy(&e->cond);
	pthread_mutex_destroy(&e->emit_lock);
	pthread_mutex_destroy(&e->lock);
}

/* The caller's thread: waits for the targets, relays the abort flag, emits progress. */
static void supervise(struct engine *e)
{
	pthread_mutex_lock(&e->lock);
	while (e->n_finished < e->n) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += TICK_NS;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&e->cond, &e->lock, &ts);
		if (aborted(e))
			pthread_cond_broadcast(&e->cond); /* wake waiters so they see it */
		for (unsigned i = 0; i < e->n; i++) {
			struct tctx *tc = &e->tc[i];
			double t = now(e);

			if (tc->finished || tc->st.phase == DD_PHASE_QUEUED ||
			    t - tc->last_progress < PROGRESS_INTERVAL)
				continue;
			pthread_mutex_unlock(&e->lock);
			emit_target(e, tc, DD_EV_PROGRESS);
			pthread_mutex_lock(&e->lock);
		}
	}
	pthread_mutex_unlock(&e->lock);
}

int dd_engine_run(struct dd_job *job, struct dd_target_status *status, struct dd_err *err)
{
	struct engine e;
	pthread_t decoder;
	bool decoding = false;
	unsigned n_fail = 0, n_incomplete = 0;
	int rc;

	if (!job || !job->src || !job->targets || !job->n_targets || !status)
		return dd_fail(err, DD_EINTERNAL, "engine: empty job");
	memset(&e, 0, sizeof(e));
	rc = engine_init(&e, job, err);
	if (rc)
		goto out;
	emit_job(&e, DD_EV_JOB_START, NULL);
	if (e.writers && e.n_seq) {
		if (pthread_create(&decoder, NULL, decoder_main, &e)) {
			rc = dd_fail(err, DD_EINTERNAL, "engine: cannot start the decoder thread");
			goto out;
		}
		decoding = true;
	} else {
		e.decoder_done = true;
	}
	for (unsigned i = 0; i < e.n; i++) {
		struct tctx *tc = &e.tc[i];

		if (!pthread_create(&tc->thread, NULL, target_main, tc)) {
			tc->started = true;
			continue;
		}
		fail_locked(tc, -1, DD_FAIL_OTHER, "engine: cannot start a thread for this target");
		leave_write_stage(tc);
		finish_target(tc, false);
	}
	supervise(&e);
	for (unsigned i = 0; i < e.n; i++)
		if (e.tc[i].started)
			pthread_join(e.tc[i].thread, NULL);
	if (decoding)
		pthread_join(decoder, NULL);

	for (unsigned i = 0; i < e.n; i++) {
		status[i] = e.tc[i].st;
		n_fail += status[i].result == DD_RESULT_FAIL;
		n_incomplete += status[i].result == DD_RESULT_INCOMPLETE;
	}
	emit_job(&e, DD_EV_JOB_DONE, status);

	if (n_incomplete || aborted(&e))
		rc = dd_fail(err, DD_EABORT, "interrupted: %u target(s) incomplete", n_incomplete);
	else if (n_fail)
		rc = dd_fail(err, DD_ECHECK, "%u of %u target(s) failed", n_fail, e.n);
out:
	engine_free(&e);
	return rc;
}
