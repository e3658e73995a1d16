/* The engine: one source, N targets, the ordering rules (see engine.h).
 *
 * Threads (only where I/O waits, see docs/ARCHITECTURE.md):
 *  - two decoders: each decodes block after block into shared, reference-counted buffers, checks
 *    each against the manifest's hash and publishes them in its window (a ring of `window` slots
 *    covering positions [tail, head) of e->seq): the write window's bytes are written, the verify
 *    window's are what every target's read-back is compared with (memcmp: one SHA-256 per block and
 *    phase, whatever the number of targets);
 *  - per target, one thread running the phases (write, flush, verify, boot) plus queue_depth - 1
 *    helpers during the write and verify phases, so that several requests are in flight per device
 *    with plain blocking pread/pwrite (the backends stay simple and thread-safe);
 *  - the caller's thread: supervisor (abort flag, progress events every 500 ms).
 *
 * This file: set-up, events, failures, supervision and dd_engine_run(); the shared window and the
 * decoder are in window.c, a target's phases in phases.c (engine_priv.h: what they share, the locking). */
#include "engine/engine_priv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double eng_now(const struct engine *e)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)(ts.tv_sec - e->t0.tv_sec) + (double)(ts.tv_nsec - e->t0.tv_nsec) / 1e9;
}

/* ---- events ------------------------------------------------------------------------------ */

/* The current phase's byte counter (a zero block found in place counts as done by the write phase). */
static uint64_t phase_bytes(const struct dd_target_status *st)
{
	if (st->phase == DD_PHASE_SANITIZE)
		return st->bytes_zeroed + st->bytes_sanitized;
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

void eng_emit_target(struct engine *e, struct tctx *tc, enum dd_event_type type)
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
	t = eng_now(e);
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
	ev.t = eng_now(e);
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

void eng_set_phase(struct engine *e, struct tctx *tc, enum dd_phase phase)
{
	pthread_mutex_lock(&e->lock);
	tc->st.phase = phase;
	tc->phase_t0 = eng_now(e);
	tc->phase_base = phase_bytes(&tc->st);
	pthread_mutex_unlock(&e->lock);
	eng_emit_target(e, tc, DD_EV_PHASE);
}

/* What a failing call's status says of the target (the probe's verdict is its own: DD_FAIL_COUNTERFEIT). */
enum dd_fail_kind eng_kind_of(int rc)
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
void eng_target_fail(struct tctx *tc, int64_t off, enum dd_fail_kind kind, const char *msg)
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

void eng_fail_locked(struct tctx *tc, int64_t off, enum dd_fail_kind kind, const char *msg)
{
	pthread_mutex_lock(&tc->e->lock);
	eng_target_fail(tc, off, kind, msg);
	pthread_mutex_unlock(&tc->e->lock);
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

/* Splits the budget among block 0, the spares and the windows. The default budget grows to what the
 * block size needs at least (MIN_BLOCKS: 320 MiB for the largest blocks the format allows); a budget
 * the caller set (a board with little memory) is a limit: a block size it cannot hold is refused.
 * A job that verifies gives a third of the windows' buffers to the verify window (at the least one
 * block: its targets then compare block after block); the write window keeps the rest (at the least
 * MIN_WINDOW). */
static int plan_memory(struct engine *e, struct dd_err *err)
{
	size_t bs = e->block_size, budget = e->job->memory_budget ? e->job->memory_budget : DEFAULT_BUDGET;
	struct ewin *ww = &e->win[W_WRITE], *vw = &e->win[W_VERIFY];
	size_t blocks, bufs;

	e->chunk = bs < IO_CHUNK ? bs : IO_CHUNK;
	if (e->job->policy.verify_only)       /* reads back and hashes: no decoder, no block buffer */
		return DD_OK;
	if (budget / bs < MIN_BLOCKS) {
		if (e->job->memory_budget)
			return dd_fail(err, DD_EINPUT, "image: its %zu KiB blocks need a memory budget of at least "
				       "%zu KiB (%u blocks); this job has %zu KiB", bs >> 10, (MIN_BLOCKS * bs) >> 10,
				       MIN_BLOCKS, budget >> 10);
		budget = MIN_BLOCKS * bs;
	}
	blocks = budget / bs - 1;             /* block 0 */
	if (blocks > 4096)
		blocks = 4096;                /* more buffers buy nothing: a window only hides jitter */
	e->max_spare = (unsigned)(blocks / 4);
	bufs = blocks - e->max_spare;
	e->compare = e->job->policy.verify;
	vw->max_bufs = e->compare ? (bufs / 3 ? (unsigned)(bufs / 3) : 1) : 0;
	ww->max_bufs = (unsigned)bufs - vw->max_bufs;
	ww->window = ww->max_bufs * 3 / 4 < MIN_WINDOW ? MIN_WINDOW : ww->max_bufs * 3 / 4;
	vw->window = vw->max_bufs * 3 / 4 < 1 ? 1 : vw->max_bufs * 3 / 4;
	return DD_OK;
}

/* The windows' slot rings (none for a verify-only job: it hashes what it reads back). */
static int alloc_windows(struct engine *e)
{
	for (unsigned k = 0; k < 2; k++) {
		struct ewin *win = &e->win[k];

		win->e = e;
		win->stage = k == W_WRITE ? TS_WRITE : TS_VERIFY;
		if (!win->max_bufs)
			continue;
		if (!(win->slot = calloc(win->window, sizeof(*win->slot))))
			return -1;
	}
	return 0;
}

/* Bytes the sanitize phase zeroes: the target past the image's range, from its last sector on. */
static uint64_t sanitize_bytes(const struct dd_job *job, const struct dd_target *t, const struct dd_image_info *info)
{
	uint64_t start = eng_sanitize_start(info, t);

	if (!job->policy.sanitize || job->policy.verify_only || t->id.capacity <= start)
		return 0;
	return t->id.capacity - start;
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
	/* an empty image would "pass" every stick while writing nothing to it (an old empty .dfi; every
	 * source refuses to open an empty file) */
	if (!e->info->image_size)
		return dd_fail(err, DD_EINPUT, "image: empty (0 bytes): nothing to write");
	if ((rc = check_targets(e, err)) || (rc = build_seq(e, err)))
		return rc;

	if ((rc = plan_memory(e, err)))
		return rc;
	e->tc = calloc(e->n, sizeof(*e->tc));
	e->zeros = eng_alloc_buf(e->chunk);
	e->block0 = e->write_block0 ? eng_alloc_block(e) : NULL;
	if (alloc_windows(e) || !e->tc || !e->zeros || (e->write_block0 && !e->block0))
		return dd_fail(err, DD_ENOMEM, "out of memory");
	if (e->write_block0 && (rc = eng_decode_block(e, 0, e->block0, err)))
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
		for (unsigned k = 0; k < tc->n_workers; k++) {
			tc->w[k].tc = tc;
			tc->w[k].claiming = NO_CLAIM;
		}
		tc->stage = job->policy.verify_only ? TS_AFTER_WRITE : TS_WRITE;
		e->win[W_WRITE].users += tc->stage == TS_WRITE;
		e->win[W_VERIFY].users++; /* every target until it leaves the verify stage */
		tc->st.phase = DD_PHASE_QUEUED;
		tc->st.first_bad_offset = -1;
		tc->st.eta = -1;
		tc->st.bytes_total = job->policy.verify_only ? 0 : to_write;
		tc->st.bytes_to_verify = job->policy.verify_only || job->policy.verify ? to_write : 0;
		tc->st.sanitize_total = sanitize_bytes(job, tc->t, e->info);
		tc->st.probe = job->policy.probe && !job->policy.verify_only ? DD_PROBED_PENDING : DD_PROBED_NO;
	}
	return DD_OK;
}

static void engine_free(struct engine *e)
{
	for (unsigned i = 0; e->tc && i < e->n; i++) {
		for (unsigned k = 0; e->tc[i].w && k < e->tc[i].n_workers; k++)
			free(e->tc[i].w[k].io);
		free(e->tc[i].w);
	}
	eng_free_windows(e);
	eng_free_bufs(&e->spare_list);
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
			double t = eng_now(e);

			if (tc->finished || tc->st.phase == DD_PHASE_QUEUED ||
			    t - tc->last_progress < PROGRESS_INTERVAL)
				continue;
			pthread_mutex_unlock(&e->lock);
			eng_emit_target(e, tc, DD_EV_PROGRESS);
			pthread_mutex_lock(&e->lock);
		}
	}
	pthread_mutex_unlock(&e->lock);
}

int dd_engine_run(struct dd_job *job, struct dd_target_status *status, struct dd_err *err)
{
	struct engine e;
	unsigned n_fail = 0, n_incomplete = 0;
	int rc;

	if (!job || !job->src || !job->targets || !job->n_targets || !status)
		return dd_fail(err, DD_EINTERNAL, "engine: empty job");
	memset(&e, 0, sizeof(e));
	rc = engine_init(&e, job, err);
	if (rc)
		goto out;
	emit_job(&e, DD_EV_JOB_START, NULL);
	if (eng_start_decoders(&e)) {
		rc = dd_fail(err, DD_EINTERNAL, "engine: cannot start a decoder thread");
		goto out;
	}
	for (unsigned i = 0; i < e.n; i++) {
		struct tctx *tc = &e.tc[i];

		if (!pthread_create(&tc->thread, NULL, eng_target_main, tc)) {
			tc->started = true;
			continue;
		}
		eng_fail_locked(tc, -1, DD_FAIL_OTHER, "engine: cannot start a thread for this target");
		eng_leave_write_stage(tc);
		eng_finish_target(tc, false);
	}
	supervise(&e);
	for (unsigned i = 0; i < e.n; i++)
		if (e.tc[i].started)
			pthread_join(e.tc[i].thread, NULL);
	eng_join_decoders(&e);

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
