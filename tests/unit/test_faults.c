/* Fault matrix rows (docs/RELIABILITY.md) that need a stick failing at one exact moment: pulled
 * during the first-block write, pulled during the verify, a sector that cannot be read back, a
 * stick that stalls. A fault target (memory-backed) fails on cue; a good target runs beside it.
 * Each test proves: the faulty stick is not reported good, it does not carry the image's first
 * block (unless the pull came after it was written: then it still fails), the good stick passes
 * with the exact image, and nothing outside the image's range of either stick was written. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine/engine.h"
#include "source/source.h"

#define BS 65536u
#define N_BLOCKS 12u
#define OLD 0xee   /* the stick's content before the job */

enum cue {
	CUE_NONE,
	CUE_PULL_AT_BOOT_WRITE,  /* gone at the second write of offset 0 (the first block, written last) */
	CUE_PULL_AT_FIRST_READ,  /* gone when verification starts reading */
	CUE_BAD_READ_SECTOR,     /* reads covering bad_off fail with EIO, every time */
	CUE_STALL,               /* the first write blocks until released */
};

struct faulty {
	struct dd_target t;
	uint8_t *mem;
	size_t cap, image_len;
	enum cue cue;
	uint64_t bad_off;
	bool gone, stalled, released, wrote_past_image;
	int writes_at_zero;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static int f_write(struct dd_target *t, const void *buf, size_t len, uint64_t off, struct dd_err *err)
{
	struct faulty *f = t->priv;
	int rc = DD_OK;

	pthread_mutex_lock(&f->lock);
	if (f->cue == CUE_STALL && !f->released) {
		f->stalled = true;
		pthread_cond_broadcast(&f->cond);
		while (!f->released)
			pthread_cond_wait(&f->cond, &f->lock);
	}
	if (off == 0 && ++f->writes_at_zero == 2 && f->cue == CUE_PULL_AT_BOOT_WRITE)
		f->gone = true;
	if (f->gone)
		rc = dd_fail(err, DD_EIO, "%s: device vanished", t->id.path);
	else if (off > f->cap || len > f->cap - off)
		rc = dd_fail(err, DD_EIO, "%s: past the end", t->id.path);
	else {
		if (off + len > (f->image_len + 511) / 512 * 512)
			f->wrote_past_image = true;
		memcpy(f->mem + off, buf, len);
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

static int f_read(struct dd_target *t, void *buf, size_t len, uint64_t off, struct dd_err *err)
{
	struct faulty *f = t->priv;
	int rc = DD_OK;

	pthread_mutex_lock(&f->lock);
	if (f->cue == CUE_PULL_AT_FIRST_READ)
		f->gone = true;
	if (f->gone)
		rc = dd_fail(err, DD_EIO, "%s: device vanished", t->id.path);
	else if (f->cue == CUE_BAD_READ_SECTOR && f->bad_off >= off && f->bad_off < off + len)
		rc = dd_fail(err, DD_EIO, "%s: read error at %llu", t->id.path, (unsigned long long)off);
	else if (off > f->cap || len > f->cap - off)
		rc = dd_fail(err, DD_EIO, "%s: past the end", t->id.path);
	else
		memcpy(buf, f->mem + off, len);
	pthread_mutex_unlock(&f->lock);
	return rc;
}

static int f_flush(struct dd_target *t, struct dd_err *err)
{
	struct faulty *f = t->priv;

	return f->gone ? dd_fail(err, DD_EIO, "%s: device vanished", t->id.path) : DD_OK;
}

static void f_close(struct dd_target *t)
{
	(void)t;  /* freed by the test, which still inspects the memory */
}

static const struct dd_target_ops faulty_ops = { f_write, f_read, f_flush, f_close };

static struct faulty *faulty_new(const char *name, size_t image_len, enum cue cue)
{
	struct faulty *f = calloc(1, sizeof(*f));

	f->cap = image_len + 4 * BS;
	f->mem = malloc(f->cap);
	memset(f->mem, OLD, f->cap);
	f->image_len = image_len;
	f->cue = cue;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	f->t.ops = &faulty_ops;
	f->t.priv = f;
	f->t.align = 512;
	f->t.queue_depth = 2;
	snprintf(f->t.id.path, sizeof(f->t.id.path), "%s", name);
	f->t.id.capacity = f->cap;
	return f;
}

static void faulty_free(struct faulty *f)
{
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
	free(f->mem);
	free(f);
}

/* Nothing past the image was written (the stick's old bytes are still there). */
static bool untouched_past_image(const struct faulty *f)
{
	for (size_t i = (f->image_len + 511) / 512 * 512; i < f->cap; i++)
		if (f->mem[i] != OLD)
			return false;
	return !f->wrote_past_image;
}

/* An image of random blocks (none zero, so every block is written and verified). */
static uint8_t *image(const char *name, size_t *len, struct dd_source **src)
{
	char path[512];
	size_t n = N_BLOCKS * BS + 777;
	uint8_t *img = NULL;
	struct dd_source_opts o = { .block_size = BS };
	struct dd_err err;

	snprintf(path, sizeof(path), "%s/%s", check_tmpdir(), name);
	if (check_random_file(path, n, n, &img) || dd_source_open(path, &o, src, &err))
		abort();
	*len = n;
	return img;
}

/* The sink: counts results; wakes a waiter when a target is done. */
struct watch {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done, pass;
};

static void watch_emit(void *ctx, const struct dd_event *ev)
{
	struct watch *w = ctx;

	if (ev->type != DD_EV_TARGET_DONE)
		return;
	pthread_mutex_lock(&w->lock);
	w->done++;
	w->pass += ev->status->result == DD_RESULT_PASS;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

struct run {
	struct dd_job job;
	struct dd_target *t[2];
	struct dd_target_status st[2];
	struct watch w;
	atomic_int abort_flag;
	int rc;
	struct dd_err err;
};

static void run_init(struct run *r, struct dd_source *src, struct faulty *good, struct faulty *bad)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->w.lock, NULL);
	pthread_cond_init(&r->w.cond, NULL);
	r->t[0] = &good->t;
	r->t[1] = &bad->t;
	r->job.src = src;
	r->job.targets = r->t;
	r->job.n_targets = 2;
	dd_policy_default(&r->job.policy);
	r->job.sink.emit = watch_emit;
	r->job.sink.ctx = &r->w;
	r->job.abort_flag = &r->abort_flag;
}

static void *run_thread(void *arg)
{
	struct run *r = arg;

	r->rc = dd_engine_run(&r->job, r->st, &r->err);
	return NULL;
}

/* A fault on cue; the good stick beside it passes; the faulty one fails and is checked. */
static void one_fault(enum cue cue, const char *name, bool first_block_expected_missing,
		      const char *error_has)
{
	struct dd_source *src;
	size_t n;
	uint8_t *img = image(name, &n, &src);
	struct faulty *good = faulty_new("good", n, CUE_NONE), *bad = faulty_new(name, n, cue);
	struct run r;

	bad->bad_off = 7 * BS + 100;
	run_init(&r, src, good, bad);
	run_thread(&r);
	CHECK_EQ_INT(r.rc, DD_ECHECK);
	CHECK_EQ_INT(r.st[0].result, DD_RESULT_PASS);
	CHECK(memcmp(good->mem, img, n) == 0);
	CHECK(untouched_past_image(good));
	CHECK_EQ_INT(r.st[1].result, DD_RESULT_FAIL);
	CHECK_EQ_INT(r.w.pass, 1);
	CHECK_STR_CONTAINS(r.st[1].error, error_has);
	if (first_block_expected_missing)
		CHECK(memcmp(bad->mem, img, BS) != 0);
	CHECK(untouched_past_image(bad));
	if (cue == CUE_BAD_READ_SECTOR)
		CHECK_EQ_INT(r.st[1].first_bad_offset, 7 * BS);
	faulty_free(good);
	faulty_free(bad);
	dd_source_close(src);
	free(img);
}

TEST(pulled_during_first_block_write)
{
	/* The first block was cleared first and never written back: the stick cannot boot the image. */
	one_fault(CUE_PULL_AT_BOOT_WRITE, "pull-boot", true, "vanished");
}

TEST(pulled_during_verify)
{
	one_fault(CUE_PULL_AT_FIRST_READ, "pull-verify", true, "vanished");
}

TEST(bad_read_sector)
{
	one_fault(CUE_BAD_READ_SECTOR, "bad-read", true, "read error");
}

TEST(stalled_stick_holds_nobody_back_and_is_never_good)
{
	struct dd_source *src;
	size_t n;
	uint8_t *img = image("stall", &n, &src);
	struct faulty *good = faulty_new("good", n, CUE_NONE), *bad = faulty_new("stall", n, CUE_STALL);
	struct run r;
	pthread_t th;

	run_init(&r, src, good, bad);
	CHECK(pthread_create(&th, NULL, run_thread, &r) == 0);
	/* the good stick finishes while the other one hangs in its first write */
	pthread_mutex_lock(&r.w.lock);
	while (r.w.done < 1)
		pthread_cond_wait(&r.w.cond, &r.w.lock);
	pthread_mutex_unlock(&r.w.lock);
	pthread_mutex_lock(&bad->lock);
	while (!bad->stalled)
		pthread_cond_wait(&bad->cond, &bad->lock);
	/* the operator gives up (Ctrl-C), then the stuck request returns */
	r.abort_flag = 1;
	bad->released = true;
	pthread_cond_broadcast(&bad->cond);
	pthread_mutex_unlock(&bad->lock);
	pthread_join(th, NULL);
	CHECK_EQ_INT(r.rc, DD_EABORT);
	CHECK_EQ_INT(r.st[0].result, DD_RESULT_PASS);
	CHECK(memcmp(good->mem, img, n) == 0);
	CHECK_EQ_INT(r.st[1].result, DD_RESULT_INCOMPLETE);
	CHECK(memcmp(bad->mem, img, BS) != 0);
	CHECK(untouched_past_image(bad));
	faulty_free(good);
	faulty_free(bad);
	dd_source_close(src);
	free(img);
}

int main(void)
{
	RUN(pulled_during_first_block_write);
	RUN(pulled_during_verify);
	RUN(bad_read_sector);
	RUN(stalled_stick_holds_nobody_back_and_is_never_good);
	return check_done();
}
