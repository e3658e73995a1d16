/* The engine's shared block windows and their decoders (see engine_priv.h): the write window feeds
 * the writers, the verify window the verifiers (each compares its read-back with the window's bytes,
 * whose hash was checked once against the manifest when they were decoded).
 *
 * Bounded memory: a window's buffers never exceed its max_bufs. A window's tail follows the slowest
 * target still inside it (a target still writing holds the verify window at position 0: it will
 * verify from there); when the window is held full and a faster target is starving, the tail is
 * pushed on regardless and the laggard decodes what it needs itself (read_block is thread-safe,
 * frames are independent) into a spare taken for that one block (at most max_spare of them, for
 * every target together), or, behind the verify window, hashes its read-back (phases.c). A laggard
 * that catches up uses the window again. So a slow stick never
 * holds the others back, and memory grows neither with the block size nor with the targets
 * (engine.c plan_memory(): the budget; each worker's I/O buffer is at most IO_CHUNK). */
#include "engine/engine_priv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint8_t *eng_alloc_buf(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, len))
		return NULL;
	memset(p, 0, len);
	return p;
}

uint8_t *eng_alloc_block(const struct engine *e)
{
	return eng_alloc_buf(e->block_size);
}

/* A new block buffer (the caller counts it against its limit); NULL when memory runs out. */
static struct ebuf *ebuf_new(const struct engine *e)
{
	struct ebuf *b = calloc(1, sizeof(*b));

	if (b && !(b->data = eng_alloc_block(e))) {
		free(b);
		b = NULL;
	}
	return b;
}

void eng_free_bufs(struct ebuf **list)
{
	while (*list) {
		struct ebuf *b = *list;

		*list = b->next;
		free(b->data);
		free(b);
	}
}

/* ---- the shared windows (all under e->lock) ----------------------------------------------- */

void eng_buf_put(struct engine *e, struct ewin *win, struct ebuf *b)
{
	if (--b->refs)
		return;
	b->next = win->free_list;
	win->free_list = b;
	pthread_cond_broadcast(&e->cond);
}

static void release_tail(struct engine *e, struct ewin *win)
{
	struct ebuf **s = &win->slot[win->tail % win->window];

	if (*s) /* NULL: a position no target needs the image's bytes for */
		eng_buf_put(e, win, *s);
	*s = NULL;
	win->tail++;
}

/* The lowest position target tc still needs from win; false when it needs none. A target on its way to
 * the verify phase (still writing, flushing) needs it from position 0 on. */
static bool needs_from(const struct ewin *win, const struct tctx *tc, uint64_t *pos)
{
	if (tc->failed || tc->stage > win->stage)
		return false;
	if (tc->stage < win->stage) {
		*pos = 0;
		return true;
	}
	*pos = tc->cursor;
	for (unsigned k = 0; k < tc->n_workers; k++)
		if (tc->w[k].claiming < *pos)
			*pos = tc->w[k].claiming;
	return true;
}

/* The tail follows the slowest target still inside the window (laggards below it decode alone). */
void eng_advance_tail(struct engine *e, struct ewin *win)
{
	uint64_t low = win->head, pos;

	if (!win->slot)
		return;
	for (unsigned i = 0; i < e->n; i++)
		if (needs_from(win, &e->tc[i], &pos) && pos >= win->tail && pos < low)
			low = pos;
	if (win->tail < low)
		win->full = false; /* the tail moves on its own: a full window's wait starts again */
	while (win->tail < low)
		release_tail(e, win);
}

void eng_advance_tails(struct engine *e)
{
	eng_advance_tail(e, &e->win[W_WRITE]);
	eng_advance_tail(e, &e->win[W_VERIFY]);
}

static struct ebuf *buf_get(struct engine *e, struct ewin *win)
{
	struct ebuf *b = win->free_list;

	if (b) {
		win->free_list = b->next;
		return b;
	}
	if (win->n_bufs >= win->max_bufs)
		return NULL;
	b = ebuf_new(e);
	if (b)
		win->n_bufs++;
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
int eng_decode_block(struct engine *e, uint64_t i, uint8_t *buf, struct dd_err *err)
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

/* Does position s of the window's phase need the image's bytes? (zero blocks do without.) */
bool eng_needs_bytes(const struct engine *e, const struct ewin *win, uint64_t s)
{
	const struct dd_policy *pol = &e->job->policy;
	uint64_t i = e->seq[s];

	if (win->stage == TS_WRITE)
		return dd_policy_write(pol, e->info, i) == DD_WRITE_DATA;
	return dd_policy_check(pol, e->info, i) == DD_CHECK_HASH;
}

/* The image cannot give its bytes: every target that still needs this window fails. */
static void decoder_fail(struct engine *e, struct ewin *win, enum dd_fail_kind kind, const char *msg)
{
	uint64_t pos;

	for (unsigned i = 0; i < e->n; i++)
		if (needs_from(win, &e->tc[i], &pos))
			eng_target_fail(&e->tc[i], -1, kind, msg);
}

/* Under e->lock: the decoder cannot go on (its window full, or every buffer taken: a stuck target
 * may pin one it no longer shares). Once the window has been held full for FORCE_DELAY while a target
 * starves, the tail is pushed on: the slowest target is left behind it (it decodes alone, or in the
 * verify phase hashes its read-back). Until the tail moves on its own again, it is pushed at once. */
static void decoder_wait(struct engine *e, struct ewin *win)
{
	double waited;

	if (!win->full) {
		win->full = true;
		win->full_t0 = eng_now(e);
	}
	waited = eng_now(e) - win->full_t0;
	if (win->starving && waited >= FORCE_DELAY && win->tail < win->head)
		release_tail(e, win);
	else if (win->starving && waited < FORCE_DELAY)
		wait_at_most(e, FORCE_DELAY - waited);
	else
		pthread_cond_wait(&e->cond, &e->lock);
}

/* Under e->lock: decode the window's next position; false when the decoder stops (the targets that
 * needed it have failed). */
static bool decode_next(struct engine *e, struct ewin *win)
{
	struct dd_err err;
	struct ebuf *b;
	int rc;

	if (win->head - win->tail >= win->window) {
		decoder_wait(e, win);
		return true;
	}
	if (!eng_needs_bytes(e, win, win->head)) {
		win->slot[win->head++ % win->window] = NULL;
		pthread_cond_broadcast(&e->cond);
		return true;
	}
	b = buf_get(e, win);
	if (b || !win->nobuf)
		win->nobuf_t0 = eng_now(e);
	win->nobuf = !b;
	if (!b && !win->n_bufs) {
		decoder_fail(e, win, DD_FAIL_OTHER, "out of memory for block buffers");
		return false;
	}
	if (!b) {
		decoder_wait(e, win);
		return true;
	}
	pthread_mutex_unlock(&e->lock);
	dd_err_clear(&err);
	rc = eng_decode_block(e, e->seq[win->head], b->data, &err);
	pthread_mutex_lock(&e->lock);
	b->refs = 1;
	if (rc) {
		eng_buf_put(e, win, b);
		decoder_fail(e, win, eng_kind_of(rc), err.msg);
		return false;
	}
	win->slot[win->head % win->window] = b;
	win->head++;
	pthread_cond_broadcast(&e->cond);
	return true;
}

static void *decoder_main(void *arg)
{
	struct ewin *win = arg;
	struct engine *e = win->e;

	pthread_mutex_lock(&e->lock);
	for (;;) {
		eng_advance_tail(e, win);
		if (win->head >= e->n_seq || !win->users || aborted(e))
			break;
		if (!decode_next(e, win))
			break;
	}
	win->done = true;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

/* After every target ended (the decoders stop when their window has no user left). */
void eng_join_decoders(struct engine *e)
{
	for (unsigned k = 0; k < 2; k++)
		if (e->win[k].running)
			pthread_join(e->win[k].thread, NULL);
}

/* A window whose decoder is not needed (no user, nothing to decode) is done from the start. Before any
 * target runs; on a failure the decoders started are stopped (their windows lose their users). */
int eng_start_decoders(struct engine *e)
{
	for (unsigned k = 0; k < 2; k++) {
		struct ewin *win = &e->win[k];

		win->done = true;
		if (!win->slot || !win->users || !e->n_seq)
			continue;
		win->done = false;
		if (!pthread_create(&win->thread, NULL, decoder_main, win)) {
			win->running = true;
			continue;
		}
		pthread_mutex_lock(&e->lock);
		e->win[W_WRITE].users = e->win[W_VERIFY].users = 0;
		pthread_cond_broadcast(&e->cond);
		pthread_mutex_unlock(&e->lock);
		eng_join_decoders(e);
		return -1;
	}
	return 0;
}

void eng_free_windows(struct engine *e)
{
	for (unsigned k = 0; k < 2; k++) {
		struct ewin *win = &e->win[k];

		for (unsigned s = 0; win->slot && s < win->window; s++)
			if (win->slot[s])
				eng_buf_put(e, win, win->slot[s]);
		eng_free_bufs(&win->free_list);
		free(win->slot);
	}
}

/* A spare block buffer, waiting while every one is in use (they are few, and each is held for one
 * block's decode and write). NULL when the target stops (err untouched) or memory runs out. */
struct ebuf *eng_spare_get(struct tctx *tc, struct dd_err *err)
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
	b = ebuf_new(e);
	if (b)
		return b;
	pthread_mutex_lock(&e->lock);
	e->n_spare--;
	pthread_mutex_unlock(&e->lock);
	dd_fail(err, DD_ENOMEM, "%s: out of memory for a block buffer", tc->t->id.path);
	return NULL;
}

void eng_spare_put(struct engine *e, struct ebuf *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&e->lock);
	b->next = e->spare_list;
	e->spare_list = b;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

/* The decoder has had no buffer for FORCE_DELAY with nothing left in its window: every buffer is pinned
 * by targets stuck in an I/O with the block they took (a hung stick). A waiting target decodes alone. */
static bool decoder_stuck(struct engine *e, const struct ewin *win)
{
	return win->nobuf && win->tail == win->head && eng_now(e) - win->nobuf_t0 >= FORCE_DELAY;
}

/* Takes position s of the window's phase: the window's buffer (a reference, *shared) or, when spare is
 * given, a decode of its own into a spare (*spare), hash-checked either way; the caller gives back
 * whichever it got (eng_release_block). Without spare, NULL and no error when s is not in the window.
 * The worker's claim on s ends here: the tail may pass it. */
const uint8_t *eng_claim_block(struct worker *w, struct ewin *win, uint64_t s, struct ebuf **shared,
			       struct ebuf **spare, struct dd_err *err)
{
	struct tctx *tc = w->tc;
	struct engine *e = tc->e;

	*shared = NULL;
	if (spare)
		*spare = NULL;
	pthread_mutex_lock(&e->lock);
	if (s >= win->head && !win->done && !stopping(tc)) {
		win->starving++;
		pthread_cond_broadcast(&e->cond);
		while (s >= win->head && !win->done && !stopping(tc) && !decoder_stuck(e, win))
			wait_at_most(e, FORCE_DELAY);
		win->starving--;
	}
	if (s >= win->tail && s < win->head && win->slot[s % win->window]) {
		*shared = win->slot[s % win->window];
		(*shared)->refs++;
	}
	w->claiming = NO_CLAIM;
	eng_advance_tail(e, win);
	pthread_mutex_unlock(&e->lock);
	if (*shared)
		return (*shared)->data;
	if (!spare || stopping(tc) || !(*spare = eng_spare_get(tc, err)))
		return NULL;
	if (eng_decode_block(e, e->seq[s], (*spare)->data, err))
		return NULL;
	return (*spare)->data;
}

void eng_release_block(struct engine *e, struct ewin *win, struct ebuf *shared, struct ebuf *spare)
{
	eng_spare_put(e, spare);
	if (!shared)
		return;
	pthread_mutex_lock(&e->lock);
	eng_buf_put(e, win, shared);
	pthread_mutex_unlock(&e->lock);
}
