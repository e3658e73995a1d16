/* The engine's per-target phases (see engine_priv.h): each target runs probe, sanitize, write, flush,
 * verify and boot on its own thread plus queue_depth - 1 helpers during the write and verify phases, so that
 * several requests are in flight per device with plain blocking pread/pwrite (the backends stay simple
 * and thread-safe). A target that fails, fails alone. */
#include "engine/engine_priv.h"
#include "probe/probe.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- per-target work --------------------------------------------------------------------- */

static int io_buffer(struct worker *w, struct dd_err *err)
{
	if (!w->io && !(w->io = eng_alloc_buf(w->tc->e->chunk)))
		return dd_fail(err, DD_ENOMEM, "%s: out of memory", w->tc->t->id.path);
	return DD_OK;
}

static int flush_target(struct tctx *tc, struct dd_err *err)
{
	return tc->t->ops->flush(tc->t, err);
}

/* The worker's next position in the block sequence (a target's workers share one cursor); false when
 * the target is done or stopping. When the position's block is to come from win, the worker's claim
 * on it keeps the window's tail from passing it before eng_claim_block() takes it; a target moving on
 * may let the tail advance. */
static bool next_in_seq(struct worker *w, uint64_t *s, struct ewin *win)
{
	struct tctx *tc = w->tc;
	struct engine *e = tc->e;
	bool more;

	pthread_mutex_lock(&e->lock);
	more = !stopping(tc) && tc->cursor < e->n_seq;
	if (more) {
		*s = tc->cursor++;
		if (win && eng_needs_bytes(e, win, *s))
			w->claiming = *s;
		if (win)
			eng_advance_tail(e, win);
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

		if (!next_in_seq(w, &s, &e->win[W_WRITE]))
			break;

		i = e->seq[s];
		off = i * (uint64_t)info->block_size;
		len = dd_block_len(info, i);
		dd_err_clear(&err);
		if (dd_policy_write(&e->job->policy, info, i) == DD_WRITE_ZERO_IF_DIRTY) {
			data = e->zeros;
			rc = zero_if_dirty(w, off, len, &wrote, &err);
		} else {
			data = eng_claim_block(w, &e->win[W_WRITE], s, &shared, &spare, &err);
			rc = data ? tc->t->ops->write_at(tc->t, data, len, off, &err) : err.code;
			eng_release_block(e, &e->win[W_WRITE], shared, spare);
		}

		pthread_mutex_lock(&e->lock);
		if (rc)
			eng_target_fail(tc, rc == DD_EIO ? (int64_t)off : -1, eng_kind_of(rc), err.msg);
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

/* Does the target hold image block i? Read back a chunk at a time and compare with ref, the block's
 * bytes as decoded and checked against the manifest's hash (the verify window's, a laggard's own
 * decode, block 0): a memory compare, whatever the number of targets. Without ref (a verify-only job:
 * no window) the read-back's SHA-256 is compared with the manifest's. A zero block is proven by its
 * content: the manifest's hash of an all-zero block says no more (dfi_open checks zero blocks carry
 * that hash). */
static int holds_block(struct worker *w, uint64_t i, bool zeros, const uint8_t *ref, bool *holds,
		       struct dd_err *err)
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
		if (!zeros && ref && memcmp(w->io, ref + done, n))
			return DD_OK;
		if (!zeros && !ref)
			dd_sha256_update(&ctx, w->io, n);
	}
	if (zeros || ref) {
		*holds = true;
		return DD_OK;
	}
	dd_sha256_final(&ctx, h);
	*holds = !memcmp(h, e->info->block_hash[i], DD_SHA256_LEN);
	return DD_OK;
}

/* Write block i again: zeros, the bytes known (checked against the manifest: the verify window's, a
 * laggard's own decode, block 0), or the block decoded again into a spare (verify-only jobs rewrite
 * nothing; kept for a caller without known bytes).
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
	} else if (!(spare = eng_spare_get(tc, err))) {
		return err->code ? err->code : dd_fail(err, DD_EABORT, "%s: stopped", tc->t->id.path);
	} else {
		rc = eng_decode_block(e, i, spare->data, err);
		if (!rc)
			rc = tc->t->ops->write_at(tc->t, spare->data, len, off, err);
		eng_spare_put(e, spare);
	}
	return rc ? rc : flush_target(tc, err);
}

/* Read block i back from the medium and compare with known (hash-checked bytes) or, without them, with
 * the manifest's hash; on a mismatch rewrite it (from known, or decoded again) and read again, up to
 * policy.retries times. */
static int verify_block(struct worker *w, uint64_t i, const uint8_t *known, struct dd_err *err)
{
	struct tctx *tc = w->tc;
	struct engine *e = tc->e;
	const struct dd_policy *pol = &e->job->policy;
	uint64_t off = i * (uint64_t)e->info->block_size;
	bool zeros = dd_policy_check(pol, e->info, i) == DD_CHECK_ZEROS, holds;
	int rc;

	for (int attempt = 0;; attempt++) {
		if ((rc = holds_block(w, i, zeros, known, &holds, err)))
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

/* Position s of the verify phase: what the target holds, compared with the block's checked bytes in the
 * verify window. A target left behind the window (or in a verify-only job: no window) hashes its
 * read-back instead: as proven, and cheaper than decoding and hashing the block again. */
static int verify_pos(struct worker *w, uint64_t s, struct dd_err *err)
{
	struct tctx *tc = w->tc;
	struct engine *e = tc->e;
	struct ewin *win = &e->win[W_VERIFY];
	struct ebuf *shared = NULL;
	const uint8_t *ref = NULL;
	int rc;

	if (e->compare && eng_needs_bytes(e, win, s)) {
		ref = eng_claim_block(w, win, s, &shared, NULL, err);
		if (!ref && stopping(tc))
			return DD_EABORT; /* the target's result says why */
	}
	rc = verify_block(w, e->seq[s], ref, err);
	eng_release_block(e, win, shared, NULL);
	return rc;
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

		if (!next_in_seq(w, &s, e->compare ? &e->win[W_VERIFY] : NULL))
			break;

		i = e->seq[s];
		dd_err_clear(&err);
		rc = verify_pos(w, s, &err);
		if (rc == DD_EABORT)
			break; /* stopping: the target's result says why */
		pthread_mutex_lock(&e->lock);
		if (rc)
			eng_target_fail(tc, rc == DD_EIO || rc == DD_ECHECK ?
					(int64_t)(i * (uint64_t)e->info->block_size) : -1, eng_kind_of(rc), err.msg);
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

/* The sanitize phase's count of bytes done (counter: &st.bytes_zeroed or &st.bytes_sanitized). */
static void sanitize_count(struct tctx *tc, uint64_t *counter, uint64_t n)
{
	pthread_mutex_lock(&tc->e->lock);
	*counter += n;
	pthread_mutex_unlock(&tc->e->lock);
}

/* Zeros over [off, off + len), a chunk at a time, counted as the sanitize phase goes. */
static int sanitize_zero(struct tctx *tc, uint64_t off, uint64_t len, struct dd_err *err)
{
	struct engine *e = tc->e;

	while (len && !stopping(tc)) {
		size_t n = len < e->chunk ? (size_t)len : e->chunk;
		int rc = write_zeros(tc, off, n, err);

		if (rc)
			return rc;
		sanitize_count(tc, &tc->st.bytes_zeroed, n);
		off += n;
		len -= n;
	}
	return DD_OK;
}

/* Read [off, off + len) back (after a flush): every byte must be zero. A stick that dropped the
 * writes, or kept them in a cache only, shows its old bytes here. *bad: the first chunk that did not. */
static int sanitize_check(struct tctx *tc, uint64_t off, uint64_t len, uint64_t *bad, struct dd_err *err)
{
	struct worker *w = &tc->w[0];
	struct engine *e = tc->e;
	int rc;

	if (len && (rc = io_buffer(w, err)))
		return rc;
	while (len && !stopping(tc)) {
		size_t n = len < e->chunk ? (size_t)len : e->chunk;

		*bad = off;
		if ((rc = tc->t->ops->read_at(tc->t, w->io, n, off, err)))
			return rc;
		if (!all_zero(e, w->io, n))
			return dd_fail(err, DD_ECHECK, "%s: sanitize: the zeros written at offset %" PRIu64
				       " did not stay (the stick kept its old bytes)", tc->t->id.path, off);
		sanitize_count(tc, &tc->st.bytes_sanitized, n);
		off += n;
		len -= n;
	}
	return DD_OK;
}

/* Sanitize (policy.sanitize), before the image is written: zeros over the whole target past the
 * image's range, flushed and read back, every byte. The image's range needs no pass of its own: the
 * write phase puts the image over every byte of it and the verification proves it. Zeros, not random
 * bytes: a sanitized stick then reads as "nothing" past the image, checkable by anyone with dd and cmp,
 * and an all-zero read-back proves the write without keeping what was written. */
static int sanitize_phase(struct tctx *tc, struct dd_err *err)
{
	struct engine *e = tc->e;
	uint64_t off, len, bad = 0;
	int rc;

	eng_set_phase(e, tc, DD_PHASE_SANITIZE);
	off = eng_sanitize_start(e->info, tc->t);
	len = tc->st.sanitize_total; /* [off, capacity): set up with the job (engine.c) */
	rc = sanitize_zero(tc, off, len, err);
	if (!rc && !stopping(tc))
		rc = flush_target(tc, err);
	if (!rc && !stopping(tc))
		rc = sanitize_check(tc, off, len, &bad, err);
	if (rc) {
		eng_fail_locked(tc, rc == DD_ECHECK || rc == DD_EIO ? (int64_t)bad : -1, eng_kind_of(rc), err->msg);
		return rc;
	}
	pthread_mutex_lock(&e->lock);
	tc->st.sanitized = !stopping(tc);
	pthread_mutex_unlock(&e->lock);
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

void eng_leave_write_stage(struct tctx *tc)
{
	struct engine *e = tc->e;

	pthread_mutex_lock(&e->lock);
	if (tc->stage == TS_WRITE) {
		tc->stage = TS_AFTER_WRITE;
		e->win[W_WRITE].users--;
		eng_advance_tails(e);
		pthread_cond_broadcast(&e->cond);
	}
	pthread_mutex_unlock(&e->lock);
}

/* The target needs the verify window no more (verified, failed or stopped): it no longer holds its tail. */
void eng_leave_verify_stage(struct tctx *tc)
{
	struct engine *e = tc->e;

	pthread_mutex_lock(&e->lock);
	if (tc->stage != TS_DONE) {
		if (tc->stage == TS_WRITE)
			e->win[W_WRITE].users--;
		tc->stage = TS_DONE;
		e->win[W_VERIFY].users--;
		eng_advance_tails(e);
		pthread_cond_broadcast(&e->cond);
	}
	pthread_mutex_unlock(&e->lock);
}

/* The write phase of one target: clear block 0, every block of seq, flush. */
static int write_phase(struct tctx *tc, struct dd_err *err)
{
	struct engine *e = tc->e;
	double t0 = eng_now(e);
	int rc;

	eng_set_phase(e, tc, DD_PHASE_WRITE);
	rc = clear_boot_records(tc, err);
	if (rc) {
		eng_fail_locked(tc, 0, eng_kind_of(rc), err->msg);
	} else {
		run_workers(tc, write_worker);
		eng_leave_write_stage(tc);
		if (!stopping(tc) && (rc = flush_target(tc, err)))
			eng_fail_locked(tc, -1, eng_kind_of(rc), err->msg);
	}
	eng_leave_write_stage(tc);
	pthread_mutex_lock(&e->lock);
	tc->st.write_seconds = eng_now(e) - t0;
	pthread_mutex_unlock(&e->lock);
	return rc;
}

static void verify_phase(struct tctx *tc)
{
	struct engine *e = tc->e;
	struct dd_err err;
	uint64_t off, len;
	double t0;

	eng_set_phase(e, tc, DD_PHASE_VERIFY);
	t0 = eng_now(e);
	pthread_mutex_lock(&e->lock);
	tc->cursor = 0; /* with the stage: the verify window's tail never sees the write phase's cursor */
	tc->stage = TS_VERIFY;
	pthread_mutex_unlock(&e->lock);
	run_workers(tc, verify_worker);
	eng_leave_verify_stage(tc);
	disk_tail(tc, &off, &len);
	if (!stopping(tc) && !e->job->policy.verify_only && verify_disk_tail(tc, off, len, &err))
		eng_fail_locked(tc, err.code == DD_ECHECK ? (int64_t)off : -1, eng_kind_of(err.code), err.msg);
	pthread_mutex_lock(&e->lock);
	tc->st.verify_seconds = eng_now(e) - t0;
	pthread_mutex_unlock(&e->lock);
}

void eng_finish_target(struct tctx *tc, bool complete)
{
	struct engine *e = tc->e;
	const struct dd_policy *pol = &e->job->policy;

	eng_leave_verify_stage(tc);
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
	tc->st.t_end = eng_now(e);
	pthread_mutex_unlock(&e->lock);
	eng_emit_target(e, tc, DD_EV_TARGET_DONE);
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
	return rc == DD_EUSAGE ? DD_FAIL_TOO_SMALL : eng_kind_of(rc);
}

/* Counterfeit-capacity probe (policy.probe) before anything is written: a stick that holds less
 * than it announces fails here, with the first offset that did not hold its data. */
static int probe_phase(struct tctx *tc, struct dd_err *err)
{
	struct engine *e = tc->e;
	struct dd_probe_opts po;
	struct dd_probe_result r;
	int rc;

	eng_set_phase(e, tc, DD_PHASE_PROBE);
	memset(&po, 0, sizeof(po));
	memset(&r, 0, sizeof(r));
	r.first_bad = -1;
	po.image_size = e->info->image_size;
	po.abort_flag = e->job->abort_flag;
	rc = dd_probe_run(tc->t, &po, &r, err);
	if (rc == DD_EABORT)
		return DD_OK; /* stopping() reports it incomplete; the verdict stays pending */
	pthread_mutex_lock(&e->lock);
	tc->st.probe = !rc ? DD_PROBED_GENUINE : rc == DD_ECHECK ? DD_PROBED_COUNTERFEIT : DD_PROBED_ERROR;
	pthread_mutex_unlock(&e->lock);
	if (rc)
		eng_fail_locked(tc, rc == DD_ECHECK ? r.first_bad : -1, probe_kind(rc), err->msg);
	return rc;
}

void *eng_target_main(void *arg)
{
	struct tctx *tc = arg;
	struct engine *e = tc->e;
	const struct dd_policy *pol = &e->job->policy;
	struct dd_err err;
	bool booted = false;
	int rc = DD_OK;

	dd_err_clear(&err);
	pthread_mutex_lock(&e->lock);
	tc->st.t_start = eng_now(e);
	pthread_mutex_unlock(&e->lock);
	if (pol->probe && !pol->verify_only)
		rc = probe_phase(tc, &err);
	if (!rc && !stopping(tc) && pol->sanitize && !pol->verify_only)
		rc = sanitize_phase(tc, &err);
	if (!rc && !stopping(tc) && !pol->verify_only)
		rc = write_phase(tc, &err);
	if (!rc && !stopping(tc) && (pol->verify || pol->verify_only))
		verify_phase(tc);
	if (!rc && !stopping(tc) && e->write_block0) {
		eng_set_phase(e, tc, DD_PHASE_BOOT);
		if ((rc = write_block0(tc, &err)))
			eng_fail_locked(tc, rc == DD_EIO || rc == DD_ECHECK ? 0 : -1, eng_kind_of(rc), err.msg);
		booted = !rc;
	}
	/* A stop that lands after block 0 was written and verified finds the target complete (every
	 * phase before it ran to its end, or the boot phase would not have started): not incomplete. */
	eng_finish_target(tc, booted || !stopping(tc));
	return NULL;
}
