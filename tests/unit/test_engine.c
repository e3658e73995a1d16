/* The engine against file targets and a fake target backend that fails on purpose: errors at an
 * offset, lies on read-back, disappears, is slow; interruption; bounded memory; verify-only.
 * Every target starts with random old content ("a reused stick"): a PASS must leave it byte-equal to the
 * image over the image's range (engine/policy.h). */
#include "check.h"
#include "fixtures.h"
#include "engine/audit.h"
#include "engine/engine.h"
#include "format/dfi_format.h"
#include "format/dfi_reader.h"
#include "format/dfi_writer.h"
#include "source/source_backends.h"
#include "source/source_scan.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#define BS 4096u

/* ---- a fake target in memory ---------------------------------------------------------------- */

struct fake {
	struct dd_target t;
	uint8_t *mem;
	uint8_t *orig;           /* the stick's old content (random), to see what was left untouched */
	size_t cap;
	pthread_mutex_t lock;
	int64_t fail_write_at;   /* write_at covering this offset fails (-1: never) */
	int64_t lie_at;          /* read_at covering this offset flips a byte... */
	int lie_times;           /* ...this many times (-1: always) */
	int vanish_after;        /* after this many writes every call fails (-1: never) */
	int writes;
	int reads;
	uint64_t zero_block_writes; /* writes into an all-zero block of image `zimg` (when set) */
	const struct dd_image_info *zimg;
	int64_t order[4096];     /* offsets written, in order (first byte of data in order_b0) */
	uint8_t order_b0[4096];
	int n_order;
	/* gate: write number gate_at (read number gate_read_at) blocks until *gate_open */
	int gate_at;
	int gate_read_at;
	pthread_cond_t gate_cond;
	bool gate_open;
	atomic_int *abort_at_write; /* set after abort_after writes */
	int abort_after;
	uint64_t wrap;           /* counterfeit: offsets wrap around at this size (0: genuine) */
	int64_t drop_from;       /* writes at or past this offset "succeed" but change nothing (-1: never) */
};

static bool covers(int64_t at, size_t len, uint64_t off)
{
	return at >= 0 && (uint64_t)at >= off && (uint64_t)at < off + len;
}

/* Under f->lock: wait until the test opens the gate. */
static void gate_wait(struct fake *f)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 60; /* a guard against a hang, not a synchronisation */
	while (!f->gate_open)
		if (pthread_cond_timedwait(&f->gate_cond, &f->lock, &ts) == ETIMEDOUT)
			break;
}

static int fake_write(struct dd_target *t, const void *buf, size_t len, uint64_t off, struct dd_err *err)
{
	struct fake *f = t->priv;
	int rc = DD_OK;

	pthread_mutex_lock(&f->lock);
	if (f->wrap)
		off %= f->wrap;
	f->writes++;
	if (f->gate_at && f->writes == f->gate_at)
		gate_wait(f);
	if (f->vanish_after >= 0 && f->writes > f->vanish_after)
		rc = dd_fail(err, DD_EIO, "%s: device vanished", t->id.path);
	else if (covers(f->fail_write_at, len, off))
		rc = dd_fail(err, DD_EIO, "%s: write error at %llu", t->id.path, (unsigned long long)off);
	else if (off + len > f->cap)
		rc = dd_fail(err, DD_EIO, "%s: past the end", t->id.path);
	if (!rc && f->zimg && off / BS < f->zimg->block_count && dd_block_is_zero(f->zimg, off / BS))
		f->zero_block_writes++;
	if (!rc && f->drop_from >= 0 && off + len > (uint64_t)f->drop_from) {
		/* a stick that acknowledges writes it never keeps: only the part below drop_from lands */
		if (off < (uint64_t)f->drop_from)
			memcpy(f->mem + off, buf, (size_t)((uint64_t)f->drop_from - off));
	} else if (!rc) {
		memcpy(f->mem + off, buf, len);
		if (f->n_order < 4096) {
			f->order_b0[f->n_order] = len ? ((const uint8_t *)buf)[0] : 0;
			f->order[f->n_order++] = (int64_t)off;
		}
	}
	if (f->abort_at_write && f->writes == f->abort_after)
		*f->abort_at_write = 1;
	pthread_mutex_unlock(&f->lock);
	return rc;
}

static int fake_read(struct dd_target *t, void *buf, size_t len, uint64_t off, struct dd_err *err)
{
	struct fake *f = t->priv;
	int rc = DD_OK;

	pthread_mutex_lock(&f->lock);
	if (f->wrap)
		off %= f->wrap;
	f->reads++;
	if (f->gate_read_at && f->reads == f->gate_read_at)
		gate_wait(f);
	if (f->vanish_after >= 0 && f->writes >= f->vanish_after)
		rc = dd_fail(err, DD_EIO, "%s: device vanished", t->id.path);
	else if (off + len > f->cap)
		rc = dd_fail(err, DD_EIO, "%s: past the end", t->id.path);
	else
		memcpy(buf, f->mem + off, len);
	if (!rc && covers(f->lie_at, len, off) && f->lie_times) {
		((uint8_t *)buf)[(uint64_t)f->lie_at - off] ^= 0x5a;
		if (f->lie_times > 0)
			f->lie_times--;
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

static int fake_flush(struct dd_target *t, struct dd_err *err)
{
	return DD_OK;
}

static void fake_close(struct dd_target *t)
{
	struct fake *f = t->priv;

	pthread_cond_destroy(&f->gate_cond);
	pthread_mutex_destroy(&f->lock);
	free(f->mem);
	free(f->orig);
	free(f);
}

static const struct dd_target_ops fake_ops = { fake_write, fake_read, fake_flush, fake_close };

static struct fake *fake_new(const char *name, size_t cap)
{
	static uint64_t seed = 1000;
	struct fake *f = calloc(1, sizeof(*f));

	f->mem = malloc(cap);
	f->orig = malloc(cap);
	check_fill_random(f->mem, cap, seed++); /* old content of the "stick": random, never zeros */
	memcpy(f->orig, f->mem, cap);
	f->cap = cap;
	f->fail_write_at = f->lie_at = f->drop_from = -1;
	f->vanish_after = -1;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->gate_cond, NULL);
	f->t.ops = &fake_ops;
	f->t.priv = f;
	f->t.align = 512;
	f->t.queue_depth = 2;
	snprintf(f->t.id.path, sizeof(f->t.id.path), "%s", name);
	f->t.id.capacity = cap;
	return f;
}

/* ---- helpers --------------------------------------------------------------------------------- */

/* ---- more helpers --------------------------------------------------------------------------------- */

/* An image of n_blocks blocks plus tail bytes: block 0 non-zero, every third block zero. */
static uint8_t *make_image(const char *path, unsigned n_blocks, unsigned tail, size_t *len)
{
	size_t n = (size_t)n_blocks * BS + tail;
	uint8_t *img = malloc(n ? n : 1);

	check_fill_random(img, n, n_blocks * 31 + tail);
	for (unsigned b = 1; b < n_blocks; b += 3)
		memset(img + (size_t)b * BS, 0, BS);
	if (check_write_file(path, img, n))
		abort();
	*len = n;
	return img;
}

/* A PASS's promise: the image's range holds the image byte for byte, zero blocks included, whatever
 * the stick held before. */
static int written_ok(const uint8_t *mem, const uint8_t *img, size_t n)
{
	return !memcmp(mem, img, n);
}

static struct dd_source *open_raw(const char *path)
{
	struct dd_source_opts o = { .block_size = BS };
	struct dd_source *src = NULL;
	struct dd_err err;

	if (dd_source_open_raw(path, &o, &src, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return NULL;
	}
	return src;
}

/* The image `name` under the test folder (make_image) and a raw source over it in *src. */
static uint8_t *image_source(const char *name, unsigned n_blocks, unsigned tail, size_t *len, struct dd_source **src)
{
	const char *path = check_path(name);
	uint8_t *img = make_image(path, n_blocks, tail, len);

	*src = open_raw(path);
	CHECK(*src);
	return img;
}

struct recorder {
	pthread_mutex_t lock;
	int starts, dones, summaries, progress, boot_phases;
	int last_type;
	unsigned n_pass, n_fail, n_incomplete;
	int done_before_gate;     /* TARGET_DONE count that opens the gate */
	struct fake *gate;
	atomic_int *abort_on_phase_write; /* set on the first write phase event */
	atomic_int *abort_on_phase_boot;  /* set on the first boot phase event */
	bool done_seen[8];        /* per target: its TARGET_DONE came */
	int progress_after_done;  /* PROGRESS events of a target after its TARGET_DONE */
	bool slow_done;           /* the sink takes 0.7 s over a TARGET_DONE (an audit log's fsync) */
	int phase_order[16];      /* target 0's phases, in the order they began */
	int n_phases;
};

static void rec_emit(void *ctx, const struct dd_event *ev)
{
	struct recorder *r = ctx;

	pthread_mutex_lock(&r->lock);
	r->last_type = ev->type;
	switch (ev->type) {
	case DD_EV_JOB_START: r->starts++; break;
	case DD_EV_PROGRESS:
		r->progress++;
		if (ev->target >= 0 && ev->target < 8 && r->done_seen[ev->target])
			r->progress_after_done++;
		break;
	case DD_EV_PHASE:
		r->boot_phases += ev->status->phase == DD_PHASE_BOOT;
		if (ev->target == 0 && r->n_phases < 16)
			r->phase_order[r->n_phases++] = (int)ev->status->phase;
		if (r->abort_on_phase_write && ev->status->phase == DD_PHASE_WRITE)
			*r->abort_on_phase_write = 1;
		if (r->abort_on_phase_boot && ev->status->phase == DD_PHASE_BOOT)
			*r->abort_on_phase_boot = 1;
		break;
	case DD_EV_TARGET_DONE:
		r->dones++;
		if (ev->target >= 0 && ev->target < 8)
			r->done_seen[ev->target] = true;
		if (r->slow_done) {
			/* not synchronisation: it holds the sink long enough for the supervisor's 500 ms
			 * progress tick to come due, the window in which a progress event used to follow done */
			struct timespec ts = { 0, 700000000L };

			nanosleep(&ts, NULL);
		}
		if (r->gate && r->dones == r->done_before_gate) {
			pthread_mutex_lock(&r->gate->lock);
			r->gate->gate_open = true;
			pthread_cond_broadcast(&r->gate->gate_cond);
			pthread_mutex_unlock(&r->gate->lock);
		}
		break;
	case DD_EV_JOB_DONE:
		r->summaries++;
		r->n_pass = ev->n_pass;
		r->n_fail = ev->n_fail;
		r->n_incomplete = ev->n_incomplete;
		break;
	}
	pthread_mutex_unlock(&r->lock);
}

static void job_init(struct dd_job *job, struct dd_source *src, struct dd_target **t, unsigned n,
		     struct recorder *r)
{
	memset(job, 0, sizeof(*job));
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	job->src = src;
	job->targets = t;
	job->n_targets = n;
	dd_policy_default(&job->policy);
	job->sink.emit = rec_emit;
	job->sink.ctx = r;
}

/* ---- tests ----------------------------------------------------------------------------------- */

TEST(three_file_targets_odd_size)
{
	char tp[3][512];
	size_t n, got;
	uint8_t *img = NULL;
	struct dd_source *src;
	struct dd_target *t[3];
	struct dd_target_status st[3];
	struct dd_job job;
	struct recorder r;
	struct dd_err err;

	img = image_source("odd.img", 10, 777, &n, &src);
	CHECK_EQ_U64(src->info.block_count, 11);
	CHECK(dd_block_is_zero(&src->info, 1) && dd_block_is_zero(&src->info, 7));
	CHECK(!dd_block_is_zero(&src->info, 0) && !dd_block_is_zero(&src->info, 10));
	for (int i = 0; i < 3; i++) {
		snprintf(tp[i], sizeof(tp[i]), "%s/odd-t%d", check_tmpdir(), i);
		/* a reused file: random old bytes, longer or as long */
		CHECK(check_random_file(tp[i], n + 100 * i, 77 + i, NULL) == 0);
		CHECK(dd_target_file_open(tp[i], DD_TARGET_WRITE, n, &t[i], &err) == DD_OK);
	}
	job_init(&job, src, t, 3, &r);
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_OK);
	for (int i = 0; i < 3; i++) {
		uint8_t *back;

		CHECK_EQ_INT(st[i].result, DD_RESULT_PASS);
		CHECK(st[i].first_bad_offset == -1);
		CHECK_EQ_U64(st[i].bytes_total, n);    /* every block: written, or found already zero */
		CHECK_EQ_U64(st[i].bytes_verified, n); /* every block read back, zero blocks included */
		CHECK_EQ_U64(st[i].bytes_written, n);  /* random old bytes: every zero block rewritten */
		CHECK_EQ_U64(st[i].bytes_skipped, 0);
		dd_target_close(t[i]);
		back = check_read_file(tp[i], &got);
		CHECK(back);
		CHECK_EQ_U64(got, n + 100 * i);
		CHECK_MEM_EQ(back, img, n);
		free(back);
	}
	CHECK_EQ_INT(r.starts, 1);
	CHECK_EQ_INT(r.dones, 3);
	CHECK_EQ_INT(r.summaries, 1);
	CHECK_EQ_INT(r.n_pass, 3);
	CHECK_EQ_INT(r.last_type, DD_EV_JOB_DONE);
	dd_source_close(src);
	free(img);
}

/* A sink that is slow over a target's done event (the audit log's fsync) must not see a progress event of
 * that target afterwards: done is the target's last event (docs/EVENTS.md). */
TEST(no_progress_after_done)
{
	size_t n;
	uint8_t *img;
	struct dd_source *src;
	struct fake *f[2];
	struct dd_target *t[2];
	struct dd_target_status st[2];
	struct dd_job job;
	struct recorder r;
	struct dd_err err;

	img = image_source("slowdone.img", 6, 100, &n, &src);
	for (int i = 0; i < 2; i++) {
		f[i] = fake_new(i ? "slowdone-b" : "slowdone-a", n + 4096);
		t[i] = &f[i]->t;
	}
	job_init(&job, src, t, 2, &r);
	r.slow_done = true;
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_OK);
	CHECK_EQ_INT(r.dones, 2);
	CHECK_EQ_INT(r.progress_after_done, 0);
	CHECK_EQ_INT(r.last_type, DD_EV_JOB_DONE);
	for (int i = 0; i < 2; i++)
		dd_target_close(t[i]);
	dd_source_close(src);
	free(img);
}

TEST(first_block_cleared_first_written_last)
{
	size_t n;
	uint8_t *img;
	struct dd_source *src;
	struct fake *f;
	struct dd_target *t[1];
	struct dd_target_status st[1];
	struct dd_job job;
	struct recorder r;
	struct dd_err err;

	img = image_source("order.img", 12, 0, &n, &src);
	f = fake_new("order", 1 << 20);
	t[0] = &f->t;
	job_init(&job, src, t, 1, &r);
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_OK);
	CHECK_EQ_INT(st[0].result, DD_RESULT_PASS);
	CHECK(f->n_order >= 3);
	CHECK(f->order[0] == 0 && f->order_b0[0] == 0);          /* cleared first */
	CHECK(f->order[f->n_order - 1] == 0 && f->order_b0[f->n_order - 1] == img[0]); /* written last */
	for (int k = 1; k < f->n_order - 1; k++)
		CHECK(f->order[k] != 0);
	CHECK_EQ_INT(r.boot_phases, 1);
	CHECK(written_ok(f->mem, img, n));
	CHECK(f->mem[n] == f->orig[n]); /* nothing past the image */
	dd_target_close(t[0]);
	dd_source_close(src);
	free(img);
}

/* A whole disk bigger than the image: its last MiB (a GPT's backup copy lives in the last 33 sectors)
 * is cleared and read back; what lies between the image and that tail keeps its old content; a file
 * target's end is never touched (first_block_cleared_first_written_last). */
TEST(whole_disk_tail_cleared)
{
	const size_t cap = 4u << 20, tail = 1u << 20;
	size_t n;
	uint8_t *img, zeros[4096] = { 0 };
	struct dd_source *src;
	struct fake *big, *snug, *liar, *werr;
	struct dd_target *t[4];
	struct dd_target_status st[4];
	struct dd_job job;
	struct recorder r;
	struct dd_err err;

	img = image_source("tail.img", 12, 100, &n, &src);
	big = fake_new("big", cap);
	snug = fake_new("snug", n + 2 * BS + 412); /* the image reaches into the last MiB */
	liar = fake_new("tail-liar", cap);
	liar->lie_at = (int64_t)(cap - 512);    /* the old backup GPT header "survives" */
	liar->lie_times = -1;
	werr = fake_new("tail-write-error", cap);
	werr->fail_write_at = (int64_t)(cap - 2 * BS);
	t[0] = &big->t, t[1] = &snug->t, t[2] = &liar->t, t[3] = &werr->t;
	for (int i = 0; i < 4; i++)
		t[i]->whole_disk = true;
	snug->t.id.capacity = snug->cap = (n + 2 * BS + 412) / 512 * 512;
	job_init(&job, src, t, 4, &r);
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_ECHECK);

	CHECK_EQ_INT(st[0].result, DD_RESULT_PASS);
	CHECK(written_ok(big->mem, img, n));
	for (size_t off = cap - tail; off < cap; off += sizeof(zeros))
		CHECK_MEM_EQ(big->mem + off, zeros, sizeof(zeros));
	CHECK(big->mem[cap - tail - 1] == big->orig[cap - tail - 1] &&
	      big->mem[n + 512] == big->orig[n + 512]); /* between: untouched */
	CHECK_EQ_U64(st[0].bytes_written, st[0].bytes_total);                /* the tail is not image */

	CHECK_EQ_INT(st[1].result, DD_RESULT_PASS);
	CHECK(written_ok(snug->mem, img, n));
	for (size_t off = (n + 511) / 512 * 512; off < snug->cap; off++)
		CHECK(snug->mem[off] == 0);

	CHECK_EQ_INT(st[2].result, DD_RESULT_FAIL);
	CHECK_EQ_INT(st[2].first_bad_offset, (int64_t)(cap - tail));
	CHECK_STR_CONTAINS(st[2].error, "end of the disk");
	CHECK_EQ_INT(st[2].kind, DD_FAIL_MISMATCH);
	CHECK_EQ_INT(st[3].result, DD_RESULT_FAIL);
	CHECK_STR_CONTAINS(st[3].error, "write error");
	CHECK_EQ_INT(st[3].kind, DD_FAIL_IO);
	for (int i = 2; i < 4; i++) /* failed: never got the first block */
		CHECK(memcmp(((struct fake *)t[i]->priv)->mem, img, BS) != 0);
	for (int i = 0; i < 4; i++)
		dd_target_close(t[i]);
	dd_source_close(src);
	free(img);
}

TEST(failing_targets_fail_alone)
{
	size_t n;
	uint8_t *img;
	struct dd_source *src;
	struct fake *good, *werr, *liar, *gone, *once;
	struct dd_target *t[5];
	struct dd_target_status st[5];
	struct dd_job job;
	struct recorder r;
	struct dd_err err;

	img = image_source("fail.img", 20, 100, &n, &src);
	good = fake_new("good", n + BS);
	werr = fake_new("write-error", n + BS);
	werr->fail_write_at = 8 * BS + 5;
	liar = fake_new("liar", n + BS);
	liar->lie_at = 5 * BS + 17;
	liar->lie_times = -1;
	gone = fake_new("gone", n + BS);
	gone->vanish_after = 4;
	once = fake_new("lies-once", n + BS);
	once->lie_at = 14 * BS + 1;
	once->lie_times = 1;
	t[0] = &good->t, t[1] = &werr->t, t[2] = &liar->t, t[3] = &gone->t, t[4] = &once->t;
	job_init(&job, src, t, 5, &r);
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_ECHECK);
	CHECK_EQ_INT(st[0].result, DD_RESULT_PASS);
	CHECK_EQ_INT(st[0].kind, DD_FAIL_NONE);
	CHECK(written_ok(good->mem, img, n));
	CHECK_EQ_INT(st[1].result, DD_RESULT_FAIL);
	CHECK_EQ_INT(st[1].first_bad_offset, 8 * BS);
	CHECK_STR_CONTAINS(st[1].error, "write error");
	CHECK_EQ_INT(st[1].kind, DD_FAIL_IO);
	CHECK_EQ_INT(st[2].result, DD_RESULT_FAIL);
	CHECK_EQ_INT(st[2].first_bad_offset, 5 * BS);
	CHECK_STR_CONTAINS(st[2].error, "after 2 rewrite(s)");
	CHECK_EQ_INT(st[2].kind, DD_FAIL_MISMATCH);
	CHECK_EQ_INT(st[3].result, DD_RESULT_FAIL);
	CHECK_STR_CONTAINS(st[3].error, "vanished");
	CHECK_EQ_INT(st[3].kind, DD_FAIL_IO);
	CHECK_EQ_INT(st[4].result, DD_RESULT_PASS); /* rewritten and re-read once */
	CHECK_EQ_INT(st[4].kind, DD_FAIL_NONE);
	CHECK_EQ_INT(r.n_pass, 2);
	CHECK_EQ_INT(r.n_fail, 3);
	/* a failed stick never got its first block: it does not look bootable */
	for (int i = 1; i <= 3; i++)
		CHECK(memcmp(((struct fake *)t[i]->priv)->mem, img, BS) != 0);
	for (int i = 0; i < 5; i++)
		dd_target_close(t[i]);
	dd_source_close(src);
	free(img);
}

TEST(no_retries_fails_on_first_lie)
{
	size_t n;
	uint8_t *img;
	struct dd_source *src;
	struct fake *once;
	struct dd_target *t[1];
	struct dd_target_status st[1];
	struct dd_job job;
	struct recorder r;
	struct dd_err err;

	img = image_source("noretry.img", 6, 0, &n, &src);
	once = fake_new("lies-once", n);
	once->lie_at = 0; /* block 0: the boot phase's verification */
	once->lie_times = 1;
	t[0] = &once->t;
	job_init(&job, src, t, 1, &r);
	job.policy.retries = 0;
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_ECHECK);
	CHECK_EQ_INT(st[0].result, DD_RESULT_FAIL);
	CHECK_EQ_INT(st[0].first_bad_offset, 0);
	dd_target_close(t[0]);
	dd_source_close(src);
	free(img);
}

TEST(interrupted_targets_are_incomplete)
{
	size_t n;
	uint8_t *img;
	struct dd_source *src;
	struct fake *f[3];
	struct dd_target *t[3];
	struct dd_target_status st[3];
	struct dd_job job;
	struct recorder r;
	struct dd_err err;
	atomic_int stop = 0;

	img = image_source("intr.img", 40, 0, &n, &src);
	for (int i = 0; i < 3; i++) {
		f[i] = fake_new("t", n);
		t[i] = &f[i]->t;
	}
	f[1]->abort_at_write = &stop;
	f[1]->abort_after = 6;
	job_init(&job, src, t, 3, &r);
	job.abort_flag = &stop;
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_EABORT);
	for (int i = 0; i < 3; i++) {
		CHECK(st[i].result == DD_RESULT_INCOMPLETE || st[i].result == DD_RESULT_PASS);
		/* a target is good only with its first block written and verified */
		if (st[i].result == DD_RESULT_PASS)
			CHECK(written_ok(f[i]->mem, img, n));
		else
			CHECK(memcmp(f[i]->mem, img, BS) != 0);
	}
	CHECK_EQ_INT(st[1].result, DD_RESULT_INCOMPLETE);
	CHECK_EQ_INT(st[1].kind, DD_FAIL_INTERRUPTED);
	CHECK_EQ_INT(r.n_incomplete + r.n_pass, 3);
	CHECK(r.n_incomplete >= 1);
	for (int i = 0; i < 3; i++)
		dd_target_close(t[i]);
	dd_source_close(src);
	free(img);
}

/* A stop that lands once the boot phase began (block 0 is then written and verified anyway): the target
 * holds the whole image, verified, and is reported so, never "incomplete" with a bootable first block. */
TEST(stop_in_the_boot_phase_is_a_pass)
{
	size_t n;
	uint8_t *img;
	struct dd_source *src;
	struct fake *f;
	struct dd_target *t[1];
	struct dd_target_status st[1];
	struct dd_job job;
	struct recorder r;
	struct dd_err err;
	atomic_int stop = 0;

	img = image_source("boot-stop.img", 6, 0, &n, &src);
	f = fake_new("t", n);
	t[0] = &f->t;
	job_init(&job, src, t, 1, &r);
	job.abort_flag = &stop;
	r.abort_on_phase_boot = &stop;
	dd_engine_run(&job, st, &err);
	CHECK(stop);
	CHECK_EQ_INT(st[0].result, DD_RESULT_PASS);
	CHECK(written_ok(f->mem, img, n));
	dd_target_close(t[0]);
	dd_source_close(src);
	free(img);
}

TEST(abort_before_any_write)
{
	size_t n;
	uint8_t *img;
	struct dd_source *src;
	struct fake *f;
	struct dd_target *t[1];
	struct dd_target_status st[1];
	struct dd_job job;
	struct recorder r;
	struct dd_err err;
	atomic_int stop = 0;

	img = image_source("intr0.img", 8, 0, &n, &src);
	f = fake_new("t", n);
	t[0] = &f->t;
	job_init(&job, src, t, 1, &r);
	r.abort_on_phase_write = &stop;
	job.abort_flag = &stop;
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_EABORT);
	CHECK_EQ_INT(st[0].result, DD_RESULT_INCOMPLETE);
	CHECK(memcmp(f->mem, img, BS) != 0);
	dd_target_close(t[0]);
	dd_source_close(src);
	free(img);
}

/* A source that counts decodes, to see lagging targets decode again. */
struct counting {
	struct dd_source src;
	struct dd_source *inner;
	pthread_mutex_t lock;
	uint64_t reads;
};

static int counting_read(struct dd_source *s, uint64_t i, uint8_t *buf, struct dd_err *err)
{
	struct counting *c = s->priv;

	pthread_mutex_lock(&c->lock);
	c->reads++;
	pthread_mutex_unlock(&c->lock);
	return dd_source_read_block(c->inner, i, buf, err);
}

static void counting_close(struct dd_source *s)
{
}

static const struct dd_source_ops counting_ops = { counting_read, counting_close };

TEST(slow_target_holds_nobody_back_memory_bounded)
{
	enum { N = 16 };
	char ip[512];
	size_t n;
	uint8_t *img;
	struct counting c;
	struct fake *f[N];
	struct dd_target *t[N];
	struct dd_target_status st[N];
	struct dd_job job;
	struct recorder r;
	struct dd_err err;

	snprintf(ip, sizeof(ip), "%s/slow.img", check_tmpdir());
	img = make_image(ip, 64, 0, &n);
	memset(&c, 0, sizeof(c));
	c.inner = open_raw(ip);
	CHECK(c.inner);
	pthread_mutex_init(&c.lock, NULL);
	c.src.ops = &counting_ops;
	c.src.info = c.inner->info;
	c.src.priv = &c;
	for (int i = 0; i < N; i++) {
		f[i] = fake_new("t", n);
		t[i] = &f[i]->t;
	}
	/* target 0 stalls on its 3rd write until every other target has finished: if a slow stick
	 * held the others back, they could never finish and the gate would time out */
	f[0]->gate_at = 3;
	job_init(&job, &c.src, t, N, &r);
	r.gate = f[0];
	r.done_before_gate = N - 1;
	/* a write window of 2 blocks (3 buffers; 1 for the verify window, a spare, block 0) for 64 blocks */
	job.memory_budget = 6 * BS;
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_OK);
	CHECK(f[0]->gate_open);
	for (int i = 0; i < N; i++) {
		CHECK_EQ_INT(st[i].result, DD_RESULT_PASS);
		CHECK(written_ok(f[i]->mem, img, n));
	}
	/* the laggard decoded its blocks again instead of pinning buffers */
	CHECK(c.reads > c.src.info.block_count);
	for (int i = 0; i < N; i++)
		dd_target_close(t[i]);
	dd_source_close(c.inner);
	pthread_mutex_destroy(&c.lock);
	free(img);
}

static void counting_init(struct counting *c, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->inner = open_raw(path);
	pthread_mutex_init(&c->lock, NULL);
	c->src.ops = &counting_ops;
	if (c->inner)
		c->src.info = c->inner->info;
	c->src.priv = c;
}

/* Decodes a job needs when no target lags: block 0 once, then each block the write phase writes
 * from the image once, and each block the verification compares with once (zero blocks: none). */
static uint64_t decodes_needed(const struct dd_image_info *info, bool full)
{
	uint64_t d = 1;

	for (uint64_t i = 1; i < info->block_count; i++)
		d += (full || !dd_block_is_zero(info, i)) + !dd_block_is_zero(info, i);
	return d;
}

/* Issue 21: the read-back is compared with the verify window's bytes, decoded and hash-checked once,
 * not hashed per target: one target (nobody to lag behind) decodes each block once per phase. */
TEST(verification_decodes_each_block_once)
{
	char ip[512];
	size_t n;
	uint8_t *img;
	struct counting c;
	struct fake *f;
	struct dd_target *t[1];
	struct dd_target_status st[1];
	struct dd_job job;
	struct recorder r;
	struct dd_err err;

	snprintf(ip, sizeof(ip), "%s/once.img", check_tmpdir());
	img = make_image(ip, 40, 300, &n);
	counting_init(&c, ip);
	CHECK(c.inner);
	f = fake_new("t", n + BS);
	t[0] = &f->t;
	job_init(&job, &c.src, t, 1, &r);
	job.memory_budget = 8 * BS;
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_OK);
	CHECK_EQ_INT(st[0].result, DD_RESULT_PASS);
	CHECK(written_ok(f->mem, img, n));
	CHECK_EQ_INT(c.reads, decodes_needed(&c.src.info, false));
	dd_target_close(t[0]);
	dd_source_close(c.inner);
	pthread_mutex_destroy(&c.lock);
	free(img);
}

/* The compare path where it could go wrong: a target stuck in a read-back pins the verify window's only
 * buffer (the others, left without the window, hash their read-back and finish), then goes on, and a
 * block it reads wrong once is rewritten (from the window's bytes, or a decode of its own, hash-checked:
 * which depends on the timing) and passes; a stick whose last, partial block reads wrong and one whose zero
 * block reads wrong fail at those blocks; the minimum budget (a verify window of one block). */
TEST(verify_compare_laggard_zero_and_last_block)
{
	enum { N = 8, BLOCKS = 64 };
	char ip[512];
	size_t n;
	uint8_t *img;
	struct counting c;
	struct fake *f[N];
	struct dd_target *t[N];
	struct dd_target_status st[N];
	struct dd_job job;
	struct recorder r;
	struct dd_err err;

	snprintf(ip, sizeof(ip), "%s/lagv.img", check_tmpdir());
	img = make_image(ip, BLOCKS, 300, &n);
	counting_init(&c, ip);
	CHECK(c.inner);
	for (int i = 0; i < N; i++) {
		f[i] = fake_new("t", n + BS);
		t[i] = &f[i]->t;
	}
	/* --full: no read in the write phase, so target 0's 3rd read (one at a time) is block 3 in its
	 * verification; it stalls there, holding the block, until every other target is done, then reads
	 * block 40 wrong once */
	f[0]->t.queue_depth = 1;
	f[0]->gate_read_at = 3;
	f[0]->lie_at = 40 * BS + 7;
	f[0]->lie_times = 1;
	f[1]->lie_at = (int64_t)n - 1; /* the last byte: block BLOCKS, 300 bytes long */
	f[1]->lie_times = -1;
	f[2]->lie_at = 4 * BS + 9;     /* block 4 is all zero */
	f[2]->lie_times = -1;
	job_init(&job, &c.src, t, N, &r);
	r.gate = f[0];
	r.done_before_gate = N - 1;
	job.policy.full = true;
	job.memory_budget = 5 * BS; /* MIN_BLOCKS: the verify window holds one block */
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_ECHECK);
	CHECK(f[0]->gate_open);
	CHECK_EQ_INT(st[0].result, DD_RESULT_PASS);
	CHECK_EQ_INT(st[1].result, DD_RESULT_FAIL);
	CHECK_EQ_INT(st[1].kind, DD_FAIL_MISMATCH);
	CHECK_EQ_INT(st[1].first_bad_offset, BLOCKS * BS);
	CHECK_EQ_INT(st[2].result, DD_RESULT_FAIL);
	CHECK_EQ_INT(st[2].kind, DD_FAIL_MISMATCH);
	CHECK_EQ_INT(st[2].first_bad_offset, 4 * BS);
	for (int i = 0; i < N; i++) {
		if (i != 1 && i != 2) {
			CHECK_EQ_INT(st[i].result, DD_RESULT_PASS);
			CHECK(written_ok(f[i]->mem, img, n));
		}
	}
	for (int i = 0; i < N; i++)
		dd_target_close(t[i]);
	dd_source_close(c.inner);
	pthread_mutex_destroy(&c.lock);
	free(img);
}

TEST(verify_only_catches_a_changed_byte)
{
	size_t n;
	uint8_t *img;
	struct dd_source *src;
	struct fake *f;
	struct dd_target *t[1];
	struct dd_target_status st[1];
	struct dd_job job;
	struct recorder r;
	struct dd_err err;

	img = image_source("vo.img", 9, 300, &n, &src);
	f = fake_new("shelf", n + BS);
	memcpy(f->mem, img, n);
	t[0] = &f->t;
	job_init(&job, src, t, 1, &r);
	job.policy.verify_only = true;
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_OK);
	CHECK_EQ_INT(st[0].result, DD_RESULT_PASS);
	CHECK_EQ_INT(f->writes, 0);
	f->mem[6 * BS + 3] ^= 1;
	f->mem[0] ^= 1; /* only the lowest bad offset is reported as first */
	job_init(&job, src, t, 1, &r);
	job.policy.verify_only = true;
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_ECHECK);
	CHECK_EQ_INT(st[0].result, DD_RESULT_FAIL);
	CHECK_EQ_INT(st[0].first_bad_offset, 0);
	CHECK_EQ_INT(f->writes, 0);
	f->mem[0] ^= 1;
	job_init(&job, src, t, 1, &r);
	job.policy.verify_only = true;
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_ECHECK);
	CHECK_EQ_INT(st[0].first_bad_offset, 6 * BS);
	dd_target_close(t[0]);
	dd_source_close(src);
	free(img);
}

static unsigned zero_blocks(const struct dd_image_info *info)
{
	unsigned z = 0;

	for (uint64_t i = 0; i < info->block_count; i++)
		z += dd_block_is_zero(info, i);
	return z;
}

/* Issue #13: a reused stick's old bytes in the image's all-zero blocks must not survive a PASS. */
TEST(reused_stick_holds_the_image_after_pass)
{
	size_t n;
	uint8_t *img;
	struct dd_source *src;
	struct fake *f;
	struct dd_target *t[1];
	struct dd_target_status st[1];
	struct dd_job job;
	struct recorder r;
	struct dd_err err;
	unsigned nz;

	img = image_source("reused.img", 13, 999, &n, &src);
	nz = zero_blocks(&src->info);
	CHECK(nz >= 4);
	f = fake_new("reused", n + BS); /* random old content */
	f->zimg = &src->info;
	t[0] = &f->t;
	job_init(&job, src, t, 1, &r);
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_OK);
	CHECK_EQ_INT(st[0].result, DD_RESULT_PASS);
	CHECK_MEM_EQ(f->mem, img, n);
	CHECK_EQ_U64(f->zero_block_writes, nz); /* every dirty zero block written, once */
	CHECK_EQ_U64(st[0].bytes_total, n);
	CHECK_EQ_U64(st[0].bytes_written, n);
	CHECK_EQ_U64(st[0].bytes_skipped, 0);
	CHECK_EQ_U64(st[0].bytes_to_verify, n);
	CHECK_EQ_U64(st[0].bytes_verified, n);
	CHECK(st[0].progress == 1.0);

	/* written again: the zero blocks already hold zeros, read and left alone */
	f->zero_block_writes = 0;
	job_init(&job, src, t, 1, &r);
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_OK);
	CHECK_EQ_INT(st[0].result, DD_RESULT_PASS);
	CHECK_MEM_EQ(f->mem, img, n);
	CHECK_EQ_U64(f->zero_block_writes, 0);
	CHECK_EQ_U64(st[0].bytes_skipped, (uint64_t)nz * BS);
	CHECK_EQ_U64(st[0].bytes_written + st[0].bytes_skipped, st[0].bytes_total);
	CHECK_EQ_U64(st[0].bytes_verified, n);
	CHECK(st[0].progress == 1.0);
	dd_target_close(t[0]);
	dd_source_close(src);
	free(img);
}

/* A fresh stick (zeros) with one stale byte in one zero block: only that zero block is written. */
TEST(zero_blocks_already_zero_get_no_write)
{
	size_t n;
	uint8_t *img;
	struct dd_source *src;
	struct fake *f;
	struct dd_target *t[1];
	struct dd_target_status st[1];
	struct dd_job job;
	struct recorder r;
	struct dd_err err;
	unsigned nz;

	img = image_source("fresh.img", 12, 0, &n, &src);
	nz = zero_blocks(&src->info);
	CHECK(dd_block_is_zero(&src->info, 4));
	f = fake_new("fresh", n);
	memset(f->mem, 0, n);
	f->mem[4 * BS + 777] = 0x42;
	f->zimg = &src->info;
	t[0] = &f->t;
	job_init(&job, src, t, 1, &r);
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_OK);
	CHECK_EQ_INT(st[0].result, DD_RESULT_PASS);
	CHECK_MEM_EQ(f->mem, img, n);
	CHECK_EQ_U64(f->zero_block_writes, 1);
	CHECK_EQ_U64(st[0].bytes_skipped, (uint64_t)(nz - 1) * BS);
	CHECK_EQ_U64(st[0].bytes_written, n - (uint64_t)(nz - 1) * BS);
	CHECK_EQ_U64(st[0].bytes_verified, n);
	/* reads: one per block verified, one per zero block read first */
	CHECK_EQ_INT(f->reads, (int)(src->info.block_count + nz));
	dd_target_close(t[0]);
	dd_source_close(src);
	free(img);
}

/* --full: every block written, zero blocks too, without reading them first. */
TEST(full_writes_every_block_without_reading_first)
{
	size_t n;
	uint8_t *img;
	struct dd_source *src;
	struct fake *f;
	struct dd_target *t[1];
	struct dd_target_status st[1];
	struct dd_job job;
	struct recorder r;
	struct dd_err err;

	img = image_source("fullfresh.img", 12, 0, &n, &src);
	f = fake_new("fresh-full", n);
	memset(f->mem, 0, n); /* already zero where the image is: --full writes there all the same */
	f->zimg = &src->info;
	t[0] = &f->t;
	job_init(&job, src, t, 1, &r);
	job.policy.full = true;
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_OK);
	CHECK_EQ_INT(st[0].result, DD_RESULT_PASS);
	CHECK_MEM_EQ(f->mem, img, n);
	CHECK_EQ_U64(f->zero_block_writes, zero_blocks(&src->info));
	CHECK_EQ_INT(f->writes, (int)src->info.block_count + 1);      /* + block 0 cleared first */
	CHECK_EQ_INT(f->reads, (int)src->info.block_count);           /* the verification only */
	CHECK_EQ_U64(st[0].bytes_written, n);
	CHECK_EQ_U64(st[0].bytes_skipped, 0);
	CHECK_EQ_U64(st[0].bytes_verified, n);
	dd_target_close(t[0]);
	dd_source_close(src);
	free(img);
}

/* dartdup verify (and the station's "already holds the image" check): stale bytes in a zero block
 * are a difference like any other. */
TEST(verify_only_finds_stale_bytes_in_a_zero_block)
{
	size_t n;
	uint8_t *img;
	struct dd_source *src;
	struct fake *f;
	struct dd_target *t[1];
	struct dd_target_status st[1];
	struct dd_job job;
	struct recorder r;
	struct dd_err err;

	img = image_source("vozero.img", 9, 300, &n, &src);
	CHECK(dd_block_is_zero(&src->info, 4));
	f = fake_new("stale", n + BS);
	memcpy(f->mem, img, n);
	f->mem[4 * BS + 100] = 0x17; /* old data the write never cleared */
	t[0] = &f->t;
	job_init(&job, src, t, 1, &r);
	job.policy.verify_only = true;
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_ECHECK);
	CHECK_EQ_INT(st[0].result, DD_RESULT_FAIL);
	CHECK_EQ_INT(st[0].first_bad_offset, 4 * BS);
	CHECK_STR_CONTAINS(st[0].error, "offset 16384");
	CHECK_EQ_INT(st[0].kind, DD_FAIL_MISMATCH);
	CHECK_EQ_INT(f->writes, 0);
	CHECK_EQ_U64(st[0].bytes_to_verify, n);
	f->mem[4 * BS + 100] = 0;
	job_init(&job, src, t, 1, &r);
	job.policy.verify_only = true;
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_OK);
	CHECK_EQ_U64(st[0].bytes_verified, n);
	dd_target_close(t[0]);
	dd_source_close(src);
	free(img);
}

/* An image whose first block is all zero: still cleared first, written last and verified. */
TEST(zero_first_block_written_and_verified_last)
{
	char ip[512];
	size_t n;
	uint8_t *img;
	struct dd_source *src;
	struct fake *f, *liar;
	struct dd_target *t[2];
	struct dd_target_status st[2];
	struct dd_job job;
	struct recorder r;
	struct dd_err err;

	snprintf(ip, sizeof(ip), "%s/zero0.img", check_tmpdir());
	img = make_image(ip, 6, 0, &n);
	memset(img, 0, BS);
	CHECK(check_write_file(ip, img, n) == 0);
	src = open_raw(ip);
	CHECK(src);
	CHECK(dd_block_is_zero(&src->info, 0));
	f = fake_new("z0", n);
	liar = fake_new("z0-liar", n);
	liar->lie_at = 10; /* block 0 keeps showing a stale byte */
	liar->lie_times = -1;
	t[0] = &f->t;
	t[1] = &liar->t;
	job_init(&job, src, t, 2, &r);
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_ECHECK);
	CHECK_EQ_INT(st[0].result, DD_RESULT_PASS);
	CHECK_MEM_EQ(f->mem, img, n);
	CHECK(f->order[0] == 0 && f->order[f->n_order - 1] == 0); /* cleared first, written last */
	CHECK_EQ_INT(r.boot_phases, 2);
	CHECK_EQ_INT(st[1].result, DD_RESULT_FAIL);
	CHECK_EQ_INT(st[1].first_bad_offset, 0);
	dd_target_close(t[0]);
	dd_target_close(t[1]);
	dd_source_close(src);
	free(img);
}

TEST(full_writes_zero_blocks_and_too_small_refused)
{
	size_t n;
	uint8_t *img;
	struct dd_source *src;
	struct fake *f, *small;
	struct dd_target *t[2];
	struct dd_target_status st[2];
	struct dd_job job;
	struct recorder r;
	struct dd_err err;

	img = image_source("full.img", 7, 0, &n, &src);
	f = fake_new("full", n);
	t[0] = &f->t;
	job_init(&job, src, t, 1, &r);
	job.policy.full = true;
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_OK);
	CHECK_EQ_U64(st[0].bytes_written, n);
	CHECK_MEM_EQ(f->mem, img, n); /* the 0xee of zero blocks is gone */

	small = fake_new("small", n - 512);
	memset(f->mem, 0xee, n);
	f->writes = 0;
	t[1] = &small->t;
	job_init(&job, src, t, 2, &r);
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_ESAFETY);
	CHECK(strstr(err.msg, "small"));
	CHECK_EQ_INT(f->writes, 0); /* nothing written anywhere */
	CHECK_EQ_INT(small->writes, 0);
	CHECK_EQ_INT(r.starts, 0);
	dd_target_close(t[0]);
	dd_target_close(t[1]);
	dd_source_close(src);
	free(img);
}

TEST(empty_image_and_no_verify)
{
	char ip[512];
	size_t n;
	uint8_t *img;
	struct dd_source *src;
	struct fake *f;
	struct dd_target *t[1];
	struct dd_target_status st[1];
	struct dd_source empty = { .info = { .block_size = 4096, .name = "empty", .format = "dfi" } };
	struct dd_job job;
	struct recorder r;
	struct dd_err err;

	snprintf(ip, sizeof(ip), "%s/empty.img", check_tmpdir());
	img = make_image(ip, 0, 0, &n);
	/* an empty file is no image (a failed download): refused on open */
	CHECK_EQ_INT(dd_source_open(ip, NULL, &src, &err), DD_EINPUT);
	/* an empty image that opens anyway (an old empty .dfi) is refused before any target is touched:
	 * it would "pass" every stick while writing nothing */
	f = fake_new("e", 4096);
	t[0] = &f->t;
	job_init(&job, &empty, t, 1, &r);
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_EINPUT);
	CHECK(strstr(err.msg, "empty") != NULL);
	CHECK_EQ_INT(f->writes, 0);
	free(img);

	img = image_source("nv.img", 3, 5, &n, &src);
	job_init(&job, src, t, 1, &r);
	job.policy.verify = false;
	f->cap = 4096 * 4;
	f->t.id.capacity = f->cap;
	free(f->mem);
	f->mem = calloc(1, f->cap);
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_OK);
	CHECK_EQ_INT(st[0].result, DD_RESULT_WRITTEN);
	CHECK_EQ_U64(st[0].bytes_verified, 0);
	CHECK_MEM_EQ(f->mem, img, n);
	dd_target_close(t[0]);
	dd_source_close(src);
	free(img);
}

TEST(damaged_source_fails_writers)
{
	size_t n;
	uint8_t *img;
	struct dd_source *src;
	struct fake *f;
	struct dd_target *t[1];
	struct dd_target_status st[1];
	struct dd_job job;
	struct recorder r;
	struct dd_err err;

	img = image_source("changed.img", 8, 0, &n, &src);
	img[5 * BS + 9] ^= 0xff; /* the file changes after it was scanned */
	CHECK(check_write_file(check_path("changed.img"), img, n) == 0);
	f = fake_new("t", n);
	t[0] = &f->t;
	job_init(&job, src, t, 1, &r);
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_ECHECK);
	CHECK_EQ_INT(st[0].result, DD_RESULT_FAIL);
	CHECK_STR_CONTAINS(st[0].error, "does not match the image's hash");
	CHECK_EQ_INT(st[0].kind, DD_FAIL_IMAGE);
	CHECK(memcmp(f->mem, img, BS) != 0);
	dd_target_close(t[0]);
	dd_source_close(src);
	free(img);
}

/* A package whose frames 1 and 2 were swapped after it was opened (as if the file changed while
 * being written): each still decodes, its hash does not match, and the error names the package's
 * path, not the manifest's name (issue 17 item 10). */
TEST(swapped_frame_names_the_package)
{
	char ip[512], pp[512];
	uint8_t *img = malloc(4 * BS), *pkgb, tmp[2 * BS];
	struct dfi_pack_opts po = { .block_size = BS, .created = 1, .name = "label-not-a-path" };
	struct dd_source *src;
	struct dfi_reader *r;
	struct fake *f;
	struct dd_target *t[1];
	struct dd_target_status st[1];
	struct dd_job job;
	struct recorder rec;
	struct dd_err err = { 0 };
	uint64_t o1, o2;
	uint32_t n1;
	size_t plen;

	CHECK(img);
	snprintf(ip, sizeof(ip), "%s/swap.img", check_tmpdir());
	snprintf(pp, sizeof(pp), "%s/swap.dfi", check_tmpdir());
	check_fill_random(img, 4 * BS, 77); /* random: every frame the same (stored) size */
	CHECK(check_write_file(ip, img, 4 * BS) == 0);
	CHECK_EQ_INT(dfi_pack(ip, pp, &po, &err), DD_OK);
	CHECK_EQ_INT(dfi_open(pp, NULL, &r, &err), DD_OK);
	o1 = r->m.frame[1].offset, o2 = r->m.frame[2].offset, n1 = r->m.frame[1].size;
	CHECK_EQ_INT(n1, r->m.frame[2].size);
	dfi_close(r);
	CHECK(n1 <= BS + 64);
	CHECK_EQ_INT(dd_source_open(pp, NULL, &src, &err), DD_OK);
	pkgb = check_read_file(pp, &plen);
	CHECK(pkgb);
	memcpy(tmp, pkgb + o1, n1);
	memmove(pkgb + o1, pkgb + o2, n1);
	memcpy(pkgb + o2, tmp, n1);
	CHECK(check_write_file(pp, pkgb, plen) == 0);
	free(pkgb);
	f = fake_new("t", 4 * BS);
	t[0] = &f->t;
	job_init(&job, src, t, 1, &rec);
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_ECHECK);
	CHECK_EQ_INT(st[0].result, DD_RESULT_FAIL);
	CHECK_STR_CONTAINS(st[0].error, pp);
	CHECK_STR_CONTAINS(st[0].error, ": block 1 (offset 4096) does not match the image's hash");
	CHECK(!strstr(st[0].error, "label-not-a-path"));
	dd_target_close(t[0]);
	dd_source_close(src);
	free(img);
}

/* ---- memory whatever the block size (issue 17 item 3) -------------------------------------- */

#define BIG_TARGETS 16

struct big_job {
	char pkg[512];
	char tp[BIG_TARGETS][512];
	uint64_t image_size;
	size_t budget;
};

/* In a child (check_peak_rss_kib): the package to every target, one job. Returns how many passed,
 * or 100 + the engine's error code's magnitude. */
static int big_job_run(void *arg, char *msg)
{
	struct big_job *b = arg;
	struct dd_source *src;
	struct dd_target *t[BIG_TARGETS];
	struct dd_target_status st[BIG_TARGETS];
	struct dd_job job;
	struct recorder r;
	struct dd_err err = { 0 };
	int rc, pass = 0;

	if ((rc = dd_source_open(b->pkg, NULL, &src, &err))) {
		snprintf(msg, CHECK_RSS_MSG, "%s", err.msg);
		return 100 - rc;
	}
	for (int i = 0; i < BIG_TARGETS; i++)
		if ((rc = dd_target_file_open(b->tp[i], DD_TARGET_WRITE, b->image_size, &t[i], &err))) {
			snprintf(msg, CHECK_RSS_MSG, "%s", err.msg);
			return 100 - rc;
		}
	job_init(&job, src, t, BIG_TARGETS, &r);
	job.memory_budget = b->budget;
	rc = dd_engine_run(&job, st, &err);
	snprintf(msg, CHECK_RSS_MSG, "%s", rc ? err.msg : st[0].error);
	for (int i = 0; i < BIG_TARGETS; i++) {
		pass += st[i].result == DD_RESULT_PASS;
		dd_target_close(t[i]);
	}
	dd_source_close(src);
	return rc ? 100 - rc : pass;
}

/* A package of `bs`-byte blocks holding a random image of `size` bytes written to 16 random-filled
 * file targets: every target passes and holds the image, and the job's peak memory stays under
 * max_mib (the old engine took a private block buffer per worker: 16 blocks and more). */
static void big_blocks(uint32_t bs, size_t size, long max_mib)
{
	struct dfi_pack_opts po = { .block_size = bs, .level = 1, .created = 1 };
	struct big_job b = { .image_size = size };
	uint8_t *img = NULL;
	char msg[CHECK_RSS_MSG];
	struct dd_err err = { 0 };
	int rc = -1;
	long kib;

	snprintf(b.pkg, sizeof(b.pkg), "%s/big.dfi", check_tmpdir());
	CHECK_EQ_INT(check_pack_random(b.pkg, size, bs, &po, &img, &err), DD_OK);
	for (int i = 0; i < BIG_TARGETS; i++) {
		snprintf(b.tp[i], sizeof(b.tp[i]), "%s/big-t%d", check_tmpdir(), i);
		CHECK(check_random_file(b.tp[i], size, 500 + i, NULL) == 0);
	}
	kib = check_peak_rss_kib(big_job_run, &b, &rc, msg);
	CHECK(kib >= 0);
	printf("# %u MiB blocks, %d targets: peak memory +%ld MiB\n", bs >> 20, BIG_TARGETS, kib >> 10);
	if (rc != BIG_TARGETS)
		CHECK_FAIL_("%d of %d passed: %s", rc, BIG_TARGETS, msg);
	for (int i = 0; i < BIG_TARGETS; i++) {
		size_t got;
		uint8_t *back = check_read_file(b.tp[i], &got);

		CHECK(back);
		rc = got == size && !memcmp(back, img, size);
		free(back);
		unlink(b.tp[i]);
		CHECK(rc);
	}
	free(img);
	if (!CHECK_ASAN && kib > max_mib << 10)
		CHECK_FAIL_("peak memory grew by %ld MiB (bound %ld MiB)", kib >> 10, max_mib);
}

/* 16 MiB blocks, two of them (a full block 0 written last, a short data block through the window). */
TEST(big_blocks_many_targets_memory_bounded) { big_blocks(16u << 20, (17u << 20) + 4096, 112); }

/* The largest blocks the format allows, an image shorter than one (block 0 only): before, each of the
 * 16 targets' workers held a private 64 MiB buffer (over 1 GB); now block 0 and 1 MiB pieces. */
TEST(largest_blocks_many_targets_memory_bounded) { big_blocks(64u << 20, 3u << 20, 112); }

/* A budget the caller set that cannot hold the minimum for the block size: refused before any I/O,
 * with what it would take. */
TEST(budget_too_small_for_the_block_size_refused)
{
	struct dfi_pack_opts po = { .block_size = 16u << 20, .level = 1, .created = 1 };
	char ip[512], pp[512];
	uint8_t *img = malloc(1u << 20);
	struct dd_source *src;
	struct fake *f;
	struct dd_target *t[1];
	struct dd_target_status st[1];
	struct dd_job job;
	struct recorder r;
	struct dd_err err = { 0 };

	CHECK(img);
	snprintf(ip, sizeof(ip), "%s/budget.img", check_tmpdir());
	snprintf(pp, sizeof(pp), "%s/budget.dfi", check_tmpdir());
	check_fill_random(img, 1u << 20, 3);
	CHECK(check_write_file(ip, img, 1u << 20) == 0);
	free(img);
	CHECK_EQ_INT(dfi_pack(ip, pp, &po, &err), DD_OK);
	CHECK_EQ_INT(dd_source_open(pp, NULL, &src, &err), DD_OK);
	f = fake_new("t", 1u << 20);
	t[0] = &f->t;
	job_init(&job, src, t, 1, &r);
	job.memory_budget = 64u << 20;
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "16384 KiB blocks need a memory budget of at least 81920 KiB");
	CHECK_EQ_INT(f->writes, 0);
	/* verifying only needs no block buffer: the same budget runs (and finds the random stick differs) */
	job.policy.verify_only = true;
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_ECHECK);
	CHECK_EQ_INT(st[0].result, DD_RESULT_FAIL);
	CHECK_STR_CONTAINS(st[0].error, "does not match the image");
	CHECK_EQ_INT(f->writes, 0);
	dd_target_close(t[0]);
	dd_source_close(src);
}

TEST(zst_source_matches_raw)
{
	char ip[512], zp[512];
	size_t n, zn;
	uint8_t *img, *z, *buf;
	struct dd_source *raw, *zs = NULL;
	struct dd_source_opts o = { .block_size = BS };
	struct dd_err err;

	snprintf(ip, sizeof(ip), "%s/z.img", check_tmpdir());
	snprintf(zp, sizeof(zp), "%s/z.img.zst", check_tmpdir());
	img = make_image(ip, 13, 1234, &n);
	zn = ZSTD_compressBound(n);
	z = malloc(zn);
	zn = ZSTD_compress(z, zn, img, n, 3);
	CHECK(!ZSTD_isError(zn));
	CHECK(check_write_file(zp, z, zn) == 0);
	raw = open_raw(ip);
	CHECK(raw);
	CHECK_EQ_INT(dd_source_open_zst(zp, &o, &zs, &err), DD_OK);
	CHECK_EQ_U64(zs->info.image_size, n);
	CHECK_EQ_U64(zs->info.block_count, raw->info.block_count);
	CHECK_MEM_EQ(zs->info.image_id, raw->info.image_id, DD_SHA256_LEN);
	CHECK_MEM_EQ(zs->info.zero_map, raw->info.zero_map, (raw->info.block_count + 7) / 8);
	buf = malloc(BS);
	for (uint64_t i = 0; i < zs->info.block_count; i++) {
		CHECK_EQ_INT(dd_source_read_block(zs, i, buf, &err), DD_OK);
		CHECK_MEM_EQ(buf, img + i * BS, dd_block_len(&zs->info, i));
	}
	dd_source_close(zs);
	/* truncated stream: refused */
	CHECK(check_write_file(zp, z, zn - 7) == 0);
	CHECK_EQ_INT(dd_source_open_zst(zp, &o, &zs, &err), DD_EINPUT);
	CHECK(strstr(err.msg, "truncated"));
	/* garbage: refused */
	CHECK(check_write_file(zp, img + 10, 100) == 0);
	CHECK_EQ_INT(dd_source_open_zst(zp, &o, &zs, &err), DD_EINPUT);
	dd_source_close(raw);
	free(buf);
	free(z);
	free(img);
}

TEST(probe_fails_a_counterfeit_alone)
{
	size_t n;
	uint8_t *img;
	struct dd_source *src;
	struct fake *real, *fake;
	struct dd_target *t[2];
	struct dd_target_status st[2];
	struct dd_job job;
	struct recorder r;
	struct dd_err err;

	img = image_source("probe.img", 16, 0, &n, &src);
	real = fake_new("genuine", 16u << 20);
	fake = fake_new("counterfeit", 4u << 20); /* holds 4 MiB, announces 16 */
	fake->wrap = 4u << 20;
	fake->t.id.capacity = 16u << 20;
	t[0] = &real->t;
	t[1] = &fake->t;
	job_init(&job, src, t, 2, &r);
	job.policy.probe = true; /* (probe samples land in zero blocks too: the default leaves them zero) */
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_ECHECK);
	CHECK_EQ_INT(st[0].result, DD_RESULT_PASS);
	CHECK_MEM_EQ(real->mem, img, n);
	CHECK_EQ_INT(st[1].result, DD_RESULT_FAIL);
	CHECK_STR_CONTAINS(st[1].error, "counterfeit");
	CHECK_EQ_INT(st[1].kind, DD_FAIL_COUNTERFEIT); /* the probe's verdict, as data */
	CHECK_EQ_INT(st[0].kind, DD_FAIL_NONE);
	CHECK(st[1].first_bad_offset >= 4 << 20);
	CHECK_EQ_U64(st[1].bytes_written, 0);
	dd_target_close(t[0]);
	dd_target_close(t[1]);
	dd_source_close(src);
	free(img);
}

TEST(dispatcher_picks_raw_zst_and_refuses_broken_packages)
{
	char p[512];
	static const uint8_t skippable[16] = { 0x50, 0x2a, 0x4d, 0x18, 8, 0, 0, 0, 'X', 'X', 'X', 'X' };
	uint8_t img[5000], z[6000];
	size_t zn;
	struct dd_source *src = NULL;
	struct dd_source_opts o = { 0 };
	const char *keys[1] = { "some.pub" };
	struct dd_err err;

	check_fill_random(img, sizeof(img), 5);
	snprintf(p, sizeof(p), "%s/d.img", check_tmpdir());
	CHECK(!check_write_file(p, img, sizeof(img)));
	CHECK_EQ_INT(dd_source_open(p, NULL, &src, &err), DD_OK);
	CHECK(!strcmp(src->info.format, "raw"));
	CHECK_EQ_U64(src->info.image_size, sizeof(img));
	CHECK_EQ_U64(src->info.block_size, 1u << 20);
	dd_source_close(src);
	o.pubkeys = keys;
	o.n_pubkeys = 1;
	CHECK_EQ_INT(dd_source_open(p, &o, &src, &err), DD_EINPUT); /* unsigned, yet a key was given */
	CHECK(strstr(err.msg, "no signature"));

	snprintf(p, sizeof(p), "%s/d.img.zst", check_tmpdir());
	zn = ZSTD_compress(z, sizeof(z), img, sizeof(img), 1);
	CHECK(!ZSTD_isError(zn));
	CHECK(!check_write_file(p, z, zn));
	CHECK_EQ_INT(dd_source_open(p, NULL, &src, &err), DD_OK);
	CHECK(!strcmp(src->info.format, "zst"));
	CHECK_EQ_U64(src->info.image_size, sizeof(img));
	dd_source_close(src);

	/* starts like a zstd skippable frame but is no .dfi: never written out as raw bytes */
	snprintf(p, sizeof(p), "%s/broken", check_tmpdir());
	CHECK(!check_write_file(p, skippable, sizeof(skippable)));
	CHECK_EQ_INT(dd_source_open(p, NULL, &src, &err), DD_EINPUT);
}

TEST(audit_record_fields)
{
	struct dd_json j;
	struct dd_target_identity id = { .path = "/dev/sdz", .port = "pci-0:1", .serial = "S\"1",
					 .capacity = 1000 };
	struct dd_target_status st = { .result = DD_RESULT_FAIL, .bytes_written = 42,
				       .first_bad_offset = 4096, .kind = DD_FAIL_IO, .error = "bad" };
	uint8_t idb[DD_SHA256_LEN] = { 0xab };
	struct dd_audit_job aj = { .time = 86400, .host = "depot1", .tool_version = "9.9",
				   .image_id = idb, .image_name = "dart.dfi" };
	struct dd_target_status other = { .result = DD_RESULT_FAIL, .first_bad_offset = -1 };
	struct dd_target_status pass = { .result = DD_RESULT_PASS, .first_bad_offset = -1 };
	struct dd_target_status refused;
	char path[512];
	size_t len;
	char *text;
	struct dd_err err;

	dd_json_init(&j);
	dd_audit_format(&j, &aj, &id, &st);
	CHECK_STR_CONTAINS(dd_json_text(&j), "\"time\":\"1970-01-02T00:00:00Z\"");
	CHECK_STR_CONTAINS(dd_json_text(&j), "\"host\":\"depot1\"");
	CHECK_STR_CONTAINS(dd_json_text(&j), "\"image_id\":\"ab00");
	CHECK_STR_CONTAINS(dd_json_text(&j), "\"serial\":\"S\\\"1\"");
	CHECK_STR_CONTAINS(dd_json_text(&j), "\"vendor\":null");
	CHECK_STR_CONTAINS(dd_json_text(&j), "\"result\":\"fail\"");
	CHECK_STR_CONTAINS(dd_json_text(&j), "\"first_bad_offset\":4096");
	CHECK_STR_CONTAINS(dd_json_text(&j), "\"error\":\"bad\"");
	CHECK_STR_CONTAINS(dd_json_text(&j), "\"kind\":\"io\"");
	/* a failure nobody gave a kind (a board's unusable stick) is "other"; a pass has none; a refusal
	 * keeps the door's verdict */
	CHECK_EQ_INT(dd_status_kind(&other), DD_FAIL_OTHER);
	CHECK_EQ_INT(dd_status_kind(&pass), DD_FAIL_NONE);
	dd_audit_not_run(&refused, DD_RESULT_REFUSED, DD_FAIL_TOO_SMALL, "too small");
	CHECK_EQ_INT(dd_status_kind(&refused), DD_FAIL_TOO_SMALL);
	dd_audit_not_run(&refused, DD_RESULT_REFUSED, DD_FAIL_NONE, "no such device");
	CHECK_EQ_INT(dd_status_kind(&refused), DD_FAIL_REFUSED);
	dd_audit_not_run(&refused, DD_RESULT_SKIPPED, DD_FAIL_NONE, "another was refused");
	CHECK_EQ_INT(dd_status_kind(&refused), DD_FAIL_NONE);
	dd_audit_format(&j, &aj, &id, &pass);
	CHECK_STR_CONTAINS(dd_json_text(&j), "\"kind\":null");
	dd_audit_format(&j, &aj, &id, &st);
	snprintf(path, sizeof(path), "%s/audit.log", check_tmpdir());
	CHECK_EQ_INT(dd_audit_append(path, dd_json_text(&j), &err), DD_OK);
	CHECK_EQ_INT(dd_audit_append(path, dd_json_text(&j), &err), DD_OK);
	text = check_read_file(path, &len);
	CHECK(text);
	CHECK_EQ_U64(len, 2 * (strlen(dd_json_text(&j)) + 1));
	free(text);
	dd_json_free(&j);
}

TEST(sanitize_zeroes_the_stick_past_the_image)
{
	const size_t cap = (3u << 20) + 5 * 512; /* > 2 x the image, not a whole number of chunks */
	size_t n, end;
	uint8_t *img;
	struct dd_source *src;
	struct fake *big, *snug;
	struct dd_target *t[2];
	struct dd_target_status st[2];
	struct dd_job job;
	struct recorder r;
	struct dd_err err;
	struct dd_json j;
	bool zeros = true;

	img = image_source("sanitize.img", 300, 777, &n, &src);
	end = (n + 511) / 512 * 512; /* the snug stick's capacity; sanitizing starts at n / 512 * 512 */
	big = fake_new("returned-stick", cap); /* random old content: the customer's files */
	snug = fake_new("snug", end);         /* nothing past the image: sanitized all the same */
	t[0] = &big->t, t[1] = &snug->t;
	job_init(&job, src, t, 2, &r);
	job.policy.sanitize = true;
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_OK);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ_INT(st[i].result, DD_RESULT_PASS);
		CHECK(st[i].sanitized && dd_status_sanitized(&st[i]));
		CHECK_EQ_INT(st[i].probe, DD_PROBED_NO);
	}
	CHECK(written_ok(big->mem, img, n));
	for (size_t off = n; off < cap; off++)
		zeros = zeros && !big->mem[off];
	CHECK(zeros); /* every byte past the image, the alignment slack too */
	CHECK_EQ_U64(st[0].sanitize_total, cap - n / 512 * 512);
	CHECK_EQ_U64(st[0].bytes_sanitized, cap - n / 512 * 512);
	CHECK_EQ_U64(st[0].bytes_zeroed, cap - n / 512 * 512);
	CHECK_EQ_U64(st[1].bytes_sanitized, end - n / 512 * 512); /* the last sector's slack */
	for (size_t off = n; off < end; off++)
		zeros = zeros && !snug->mem[off];
	CHECK(zeros);
	CHECK(st[0].progress == 1.0);
	/* the phase comes before anything of the image is written */
	CHECK(r.n_phases >= 3);
	CHECK_EQ_INT(r.phase_order[0], DD_PHASE_SANITIZE);
	CHECK_EQ_INT(r.phase_order[1], DD_PHASE_WRITE);
	CHECK(big->n_order > 0 && big->order[0] >= (int64_t)(n / 512 * 512)); /* first write: past the image */
	dd_json_init(&j);
	dd_audit_result_fields(&j, &st[0]);
	CHECK_STR_CONTAINS(dd_json_text(&j), "\"sanitized\":true");
	CHECK_STR_CONTAINS(dd_json_text(&j), "\"probe\":null");
	dd_json_free(&j);
	dd_target_close(t[0]);
	dd_target_close(t[1]);
	dd_source_close(src);
	free(img);
}

/* A stick that acknowledges the zeros past the image but keeps its old bytes (or the probe's
 * verdict when both are asked) must not pass as sanitized: it fails in the sanitize phase, before the
 * image is written, at the first offset that kept its old bytes. The image's range alone being good
 * proves nothing of the rest. */
TEST(sanitize_dropped_by_the_stick_fails)
{
	const size_t cap = 4u << 20;
	size_t n;
	uint8_t *img;
	struct dd_source *src;
	struct fake *good, *drops, *fake;
	struct dd_target *t[2];
	struct dd_target_status st[2];
	struct dd_job job;
	struct recorder r;
	struct dd_err err;
	struct dd_json j;

	img = image_source("sanitize-drop.img", 64, 0, &n, &src);
	good = fake_new("good", cap);
	drops = fake_new("drops-past-3MiB", cap);
	drops->drop_from = 3u << 20;
	fake = fake_new("counterfeit", 1u << 20); /* holds 1 MiB, announces 4 */
	fake->wrap = 1u << 20;
	fake->t.id.capacity = cap;
	t[0] = &good->t, t[1] = &drops->t;
	job_init(&job, src, t, 2, &r);
	job.policy.sanitize = true;
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_ECHECK);
	CHECK_EQ_INT(st[0].result, DD_RESULT_PASS);
	CHECK(dd_status_sanitized(&st[0]));
	CHECK_EQ_INT(st[1].result, DD_RESULT_FAIL);
	CHECK_EQ_INT(st[1].kind, DD_FAIL_MISMATCH);
	CHECK_STR_CONTAINS(st[1].error, "sanitize");
	CHECK_EQ_INT(st[1].first_bad_offset, 3 << 20);
	CHECK(!st[1].sanitized && !dd_status_sanitized(&st[1]));
	CHECK_EQ_U64(st[1].bytes_written, 0); /* nothing of the image: it never looks bootable */
	CHECK(memcmp(drops->mem, img, BS) != 0);
	CHECK_EQ_U64(st[1].bytes_sanitized, (3u << 20) - n);
	dd_json_init(&j);
	dd_audit_result_fields(&j, &st[1]);
	CHECK_STR_CONTAINS(dd_json_text(&j), "\"sanitized\":false");
	CHECK_STR_CONTAINS(dd_json_text(&j), "\"kind\":\"mismatch\"");

	/* with the probe too: a counterfeit fails on the probe's verdict, the genuine one passes both */
	dd_target_close(&drops->t);
	t[1] = &fake->t;
	job_init(&job, src, t, 2, &r);
	job.policy.sanitize = true;
	job.policy.probe = true;
	CHECK_EQ_INT(dd_engine_run(&job, st, &err), DD_ECHECK);
	CHECK_EQ_INT(st[0].result, DD_RESULT_PASS);
	CHECK(dd_status_sanitized(&st[0]));
	CHECK_EQ_INT(st[0].probe, DD_PROBED_GENUINE);
	CHECK_EQ_INT(r.phase_order[0], DD_PHASE_PROBE);
	CHECK_EQ_INT(r.phase_order[1], DD_PHASE_SANITIZE);
	CHECK_EQ_INT(st[1].result, DD_RESULT_FAIL);
	CHECK_EQ_INT(st[1].kind, DD_FAIL_COUNTERFEIT);
	CHECK_EQ_INT(st[1].probe, DD_PROBED_COUNTERFEIT);
	CHECK(!st[1].sanitized);
	dd_json_reset(&j);
	dd_audit_result_fields(&j, &st[1]);
	CHECK_STR_CONTAINS(dd_json_text(&j), "\"probe\":\"counterfeit\"");
	dd_json_free(&j);
	for (int i = 0; i < 2; i++)
		dd_target_close(t[i]);
	dd_source_close(src);
	free(img);
}

int main(void)
{
	RUN(three_file_targets_odd_size);
	RUN(first_block_cleared_first_written_last);
	RUN(whole_disk_tail_cleared);
	RUN(failing_targets_fail_alone);
	RUN(no_retries_fails_on_first_lie);
	RUN(interrupted_targets_are_incomplete);
	RUN(abort_before_any_write);
	RUN(stop_in_the_boot_phase_is_a_pass);
	RUN(slow_target_holds_nobody_back_memory_bounded);
	RUN(verify_only_catches_a_changed_byte);
	RUN(reused_stick_holds_the_image_after_pass);
	RUN(zero_blocks_already_zero_get_no_write);
	RUN(full_writes_every_block_without_reading_first);
	RUN(verify_only_finds_stale_bytes_in_a_zero_block);
	RUN(zero_first_block_written_and_verified_last);
	RUN(full_writes_zero_blocks_and_too_small_refused);
	RUN(empty_image_and_no_verify);
	RUN(damaged_source_fails_writers);
	RUN(swapped_frame_names_the_package);
	RUN(big_blocks_many_targets_memory_bounded);
	RUN(largest_blocks_many_targets_memory_bounded);
	RUN(budget_too_small_for_the_block_size_refused);
	RUN(zst_source_matches_raw);
	RUN(probe_fails_a_counterfeit_alone);
	RUN(dispatcher_picks_raw_zst_and_refuses_broken_packages);
	RUN(audit_record_fields);
	RUN(no_progress_after_done);
	RUN(verification_decodes_each_block_once);
	RUN(verify_compare_laggard_zero_and_last_block);
	RUN(sanitize_zeroes_the_stick_past_the_image);
	RUN(sanitize_dropped_by_the_stick_fails);
	return check_done();
}
