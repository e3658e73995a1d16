/* The engine's shared block window and its decoder (see engine_priv.h).
 *
 * Bounded memory: shared buffers never exceed max_bufs. The window's tail follows the slowest
 * target still inside it; when the window is full and a faster target is starving, the tail is
 * pushed on regardless and the laggard decodes what it needs itself (read_block is thread-safe,
 * frames are independent) into a spare taken for that one block (at most max_spare of them, for
 * every target together). A laggard that catches up uses the window again. So a slow stick never
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

/* ---- the shared window (all under e->lock) ------------------------------------------------ */

void eng_buf_put(struct engine *e, struct ebuf *b)
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
		eng_buf_put(e, *s);
	*s = NULL;
	e->tail++;
}

/* The tail follows the slowest writer still inside the window (laggards below it read alone). */
void eng_advance_tail(struct engine *e)
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
	b = ebuf_new(e);
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

static void decoder_fail(struct engine *e, enum dd_fail_kind kind, const char *msg)
{
	for (unsigned i = 0; i < e->n; i++)
		if (e->tc[i].stage == TS_WRITE)
			eng_target_fail(&e->tc[i], -1, kind, msg);
}

void *eng_decoder_main(void *arg)
{
	struct engine *e = arg;
	struct dd_err err;
	struct ebuf *b;
	int rc;

	pthread_mutex_lock(&e->lock);
	for (;;) {
		eng_advance_tail(e);
		if (e->head >= e->n_seq || !e->writers || aborted(e))
			break;
		if (e->head - e->tail >= e->window) {
			double waited = e->starving ? eng_now(e) - e->starve_t0 : 0;

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
		rc = eng_decode_block(e, e->seq[e->head], b->data, &err);
		pthread_mutex_lock(&e->lock);
		b->refs = 1;
		if (rc) {
			eng_buf_put(e, b);
			decoder_fail(e, eng_kind_of(rc), err.msg);
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

/* Takes position s of the write phase: the window's buffer (a reference, *shared) or a decode of its
 * own into a spare (*spare); the caller gives back whichever it got. */
const uint8_t *eng_claim_block(struct worker *w, uint64_t s, struct ebuf **shared, struct ebuf **spare,
			       struct dd_err *err)
{
	struct tctx *tc = w->tc;
	struct engine *e = tc->e;

	pthread_mutex_lock(&e->lock);
	if (s >= e->head && !e->decoder_done && !stopping(tc)) {
		if (!e->starving++)
			e->starve_t0 = eng_now(e);
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
	if (stopping(tc) || !(*spare = eng_spare_get(tc, err)))
		return NULL;
	if (eng_decode_block(e, e->seq[s], (*spare)->data, err))
		return NULL;
	return (*spare)->data;
}
