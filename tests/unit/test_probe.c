/* probe: counterfeit-capacity detection against fake sticks that keep their blocks in a sparse map:
 * a genuine one, one that wraps writes past its real size (modulo), one that drops them (reads give
 * zeros), one that drops them and replays stale blocks of an earlier probe, and one that was pulled. */
#include "check.h"
#include "engine/engine.h"
#include "probe/probe.h"
#include "source/source.h"

#include <stdatomic.h>
#include <stdlib.h>

#define CELL 4096u

/* CHECK_STR_CONTAINS for a dd_err message (which is as long as check's own buffer) */
#define CHECK_MSG(e, needle)                                                                  \
	do {                                                                                  \
		if (!strstr((e).msg, (needle)))                                               \
			CHECK_FAIL_("%s:%d: \"%.300s\" lacks \"%s\"", __FILE__, __LINE__, (e).msg, \
				    (needle));                                                \
	} while (0)
#define GiB (1ull << 30)
#define MiB (1ull << 20)

enum fake_mode { GENUINE, WRAP, DROP_ZERO, DROP_STALE, PULLED };

struct cell {
	uint64_t idx;
	uint8_t data[CELL];
};

struct fake {
	struct dd_target t;
	enum fake_mode mode;
	uint64_t real;
	struct cell **cells;
	size_t n, cap;
	unsigned writes, reads, flushes, unaligned;
	uint64_t written[1024]; /* offsets written, in order (first 1024) */
	unsigned n_written;
};

static struct cell *find_cell(struct fake *f, uint64_t idx, int create)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->cells[i]->idx == idx)
			return f->cells[i];
	if (!create)
		return NULL;
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 64;
		f->cells = realloc(f->cells, f->cap * sizeof(*f->cells));
	}
	f->cells[f->n] = calloc(1, sizeof(struct cell));
	f->cells[f->n]->idx = idx;
	return f->cells[f->n++];
}

/* Where an offset's data really lives, or -1 when writes there are lost. */
static int64_t physical(struct fake *f, uint64_t off)
{
	if (f->mode == GENUINE || off < f->real)
		return (int64_t)off;
	if (f->mode == WRAP)
		return (int64_t)(off % f->real);
	return -1;
}

static int fake_write(struct dd_target *t, const void *buf, size_t len, uint64_t off, struct dd_err *err)
{
	struct fake *f = t->priv;
	int64_t phys = physical(f, off);

	if (off % t->align || len % t->align || (uintptr_t)buf % t->align) {
		f->unaligned++;
		return dd_fail(err, DD_EINTERNAL, "%s: unaligned write", t->id.path);
	}
	if (f->mode == PULLED)
		return dd_fail(err, DD_EIO, "%s: write at %llu: No such device", t->id.path,
			       (unsigned long long)off);
	if (f->n_written < 1024)
		f->written[f->n_written++] = off;
	f->writes++;
	for (size_t done = 0; done < len; done += CELL)
		if (phys >= 0)
			memcpy(find_cell(f, ((uint64_t)phys + done) / CELL, 1)->data, (const uint8_t *)buf + done, CELL);
	return DD_OK;
}

static int fake_read(struct dd_target *t, void *buf, size_t len, uint64_t off, struct dd_err *err)
{
	struct fake *f = t->priv;
	int64_t phys = physical(f, off);

	if (off % t->align || len % t->align || (uintptr_t)buf % t->align) {
		f->unaligned++;
		return dd_fail(err, DD_EINTERNAL, "%s: unaligned read", t->id.path);
	}
	if (f->mode == PULLED)
		return dd_fail(err, DD_EIO, "%s: read at %llu: No such device", t->id.path,
			       (unsigned long long)off);
	f->reads++;
	if (phys < 0 && f->mode == DROP_STALE)
		phys = (int64_t)off; /* whatever an earlier run left there */
	for (size_t done = 0; done < len; done += CELL) {
		struct cell *c = phys >= 0 ? find_cell(f, ((uint64_t)phys + done) / CELL, 0) : NULL;

		if (c)
			memcpy((uint8_t *)buf + done, c->data, CELL);
		else
			memset((uint8_t *)buf + done, 0, CELL);
	}
	return DD_OK;
}

static int fake_flush(struct dd_target *t, struct dd_err *err)
{
	struct fake *f = t->priv;

	f->flushes++;
	return f->mode == PULLED ? dd_fail(err, DD_EIO, "%s: flush: No such device", t->id.path) : DD_OK;
}

static void fake_close(struct dd_target *t)
{
	(void)t;
}

static const struct dd_target_ops fake_ops = { fake_write, fake_read, fake_flush, fake_close };

static struct fake *fake_new(enum fake_mode mode, uint64_t announced, uint64_t real)
{
	struct fake *f = calloc(1, sizeof(*f));

	f->t.ops = &fake_ops;
	f->t.align = CELL;
	f->t.queue_depth = 1;
	f->t.priv = f;
	f->t.id.capacity = announced;
	snprintf(f->t.id.path, sizeof(f->t.id.path), "/dev/fake");
	f->mode = mode;
	f->real = real;
	return f;
}

static void fake_free(struct fake *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->cells[i]);
	free(f->cells);
	free(f);
}

static int was_written(const struct fake *f, uint64_t off)
{
	for (unsigned i = 0; i < f->n_written; i++)
		if (f->written[i] == off)
			return 1;
	return 0;
}

static int run_probe(struct fake *f, uint64_t image_size, uint64_t nonce, struct dd_probe_result *r,
		     struct dd_err *err)
{
	struct dd_probe_opts o = { .image_size = image_size, .nonce = nonce };

	dd_err_clear(err);
	return dd_probe_run(&f->t, &o, r, err);
}

TEST(genuine_odd_size_passes_and_blanks_block_0)
{
	uint64_t announced = 256 * MiB + 3 * CELL + 512;
	struct fake *f = fake_new(GENUINE, announced, 0);
	struct dd_probe_result r;
	struct dd_err err;
	struct cell *c0 = find_cell(f, 0, 1);

	c0->data[510] = 0x55; /* an old boot sector */
	c0->data[511] = 0xAA;
	CHECK_EQ_INT(run_probe(f, 100 * MiB + 7, 42, &r, &err), DD_OK);
	CHECK_EQ_INT(r.verdict, DD_PROBE_GENUINE);
	CHECK_EQ_U64(r.real, announced);
	CHECK_EQ_U64(r.announced, announced);
	CHECK_EQ_INT(r.first_bad, -1);
	CHECK_EQ_INT(f->unaligned, 0);
	CHECK(f->flushes >= 1);
	/* the edges named in the method were probed */
	CHECK(was_written(f, 0));
	CHECK(was_written(f, 1 * MiB));
	CHECK(was_written(f, 128 * MiB));
	CHECK(was_written(f, (100 * MiB + 7 + CELL - 1) / CELL * CELL)); /* first block after the image */
	CHECK(was_written(f, announced / CELL * CELL - CELL));           /* last block */
	CHECK(was_written(f, announced / CELL * CELL - MiB));            /* last MiB */
	for (unsigned i = 0; i < CELL; i++)
		CHECK_EQ_INT(c0->data[i], 0);
	/* every sample inside the image is zero again (the engine skips the image's zero blocks);
	 * samples past it keep probe data */
	for (size_t k = 0; k < f->n; k++) {
		const struct cell *c = f->cells[k];
		int zero = 1;

		for (unsigned i = 0; i < CELL && zero; i++)
			zero = !c->data[i];
		if (c->idx * CELL < 100 * MiB + 7)
			CHECK(zero);
		else
			CHECK(!zero);
	}
	fake_free(f);
}

TEST(genuine_2tib_is_bounded)
{
	struct fake *f = fake_new(GENUINE, 2048 * GiB, 0);
	struct dd_probe_result r;
	struct dd_err err;

	CHECK_EQ_INT(run_probe(f, 0, 7, &r, &err), DD_OK);
	CHECK_EQ_INT(r.verdict, DD_PROBE_GENUINE);
	/* a fixed number of blocks whatever the size: no scan */
	CHECK(f->writes <= 260);
	CHECK(f->reads <= 260);
	CHECK_EQ_INT(r.writes, f->writes);
	CHECK_EQ_INT(r.reads, f->reads);
	fake_free(f);
}

static void expect_fake(enum fake_mode mode, uint64_t announced, uint64_t real, enum dd_probe_verdict v)
{
	struct fake *f = fake_new(mode, announced, real);
	struct dd_probe_result r;
	struct dd_err err;
	char want[64];

	CHECK_EQ_INT(run_probe(f, 64 * MiB, 99, &r, &err), DD_ECHECK);
	CHECK_EQ_INT(r.verdict, v);
	CHECK_EQ_U64(r.real, real);
	CHECK_EQ_U64(r.announced, announced);
	CHECK(r.first_bad >= (int64_t)real);
	CHECK_EQ_INT(f->unaligned, 0);
	CHECK_MSG(err, "/dev/fake: counterfeit: holds ");
	snprintf(want, sizeof(want), "of the announced %.2f GiB", (double)announced / GiB);
	CHECK_MSG(err, want);
	CHECK(r.writes + r.reads < 1200);
	fake_free(f);
}

TEST(wrap_at_power_of_two)
{
	expect_fake(WRAP, 64 * GiB, 8 * GiB, DD_PROBE_WRAPS);
}

TEST(wrap_at_3_gib)
{
	expect_fake(WRAP, 32 * GiB, 3 * GiB, DD_PROBE_WRAPS);
}

TEST(wrap_at_7_5_gib)
{
	expect_fake(WRAP, 16 * GiB, 7680 * MiB, DD_PROBE_WRAPS);
}

TEST(wrap_below_first_mib)
{
	expect_fake(WRAP, 1 * GiB, 512 * 1024, DD_PROBE_WRAPS);
}

TEST(drop_to_zeros_at_odd_size)
{
	expect_fake(DROP_ZERO, 64 * GiB, 5000 * MiB + 3 * CELL, DD_PROBE_DROPS);
}

TEST(drop_near_announced_end)
{
	/* only the last few MiB are missing: the last-MiB sample catches it */
	expect_fake(DROP_ZERO, 16 * GiB, 16 * GiB - 3 * MiB, DD_PROBE_DROPS);
}

TEST(drop_with_stale_blocks_of_an_earlier_probe)
{
	/* An earlier probe left valid probe blocks everywhere; this stick now loses writes from just below
	 * 4 GiB but keeps answering with those old blocks. Only the per-run nonce tells them apart. */
	uint64_t real = 4 * GiB - 5 * CELL;
	struct fake *f = fake_new(GENUINE, 64 * GiB, 0);
	struct dd_probe_result r;
	struct dd_err err;

	CHECK_EQ_INT(run_probe(f, 0, 1111, &r, &err), DD_OK);
	f->mode = DROP_STALE;
	f->real = real;
	CHECK_EQ_INT(run_probe(f, 0, 2222, &r, &err), DD_ECHECK);
	CHECK_EQ_INT(r.verdict, DD_PROBE_DROPS);
	CHECK_EQ_U64(r.real, real);
	fake_free(f);
}

TEST(fresh_nonce_each_run)
{
	/* with the default nonce, a second probe of a stick that now drops writes still fails */
	struct fake *f = fake_new(GENUINE, 8 * GiB, 0);
	struct dd_probe_result r;
	struct dd_err err;

	CHECK_EQ_INT(run_probe(f, 0, 0, &r, &err), DD_OK);
	f->mode = DROP_STALE;
	f->real = 2 * GiB - CELL;
	CHECK_EQ_INT(run_probe(f, 0, 0, &r, &err), DD_ECHECK);
	CHECK_EQ_U64(r.real, 2 * GiB - CELL);
	fake_free(f);
}

TEST(pulled_stick_is_an_io_error)
{
	struct fake *f = fake_new(PULLED, 8 * GiB, 0);
	struct dd_probe_result r;
	struct dd_err err;
	int rc = run_probe(f, 0, 5, &r, &err);

	CHECK_EQ_INT(rc, DD_EIO);
	CHECK(r.verdict != DD_PROBE_GENUINE || r.real != r.announced);
	CHECK_MSG(err, "/dev/fake");
	CHECK_MSG(err, "No such device");
	fake_free(f);
}

TEST(abort_flag_stops_before_writing)
{
	struct fake *f = fake_new(GENUINE, 8 * GiB, 0);
	atomic_int stop = 1;
	struct dd_probe_opts o = { .abort_flag = &stop };
	struct dd_probe_result r;
	struct dd_err err;

	dd_err_clear(&err);
	CHECK_EQ_INT(dd_probe_run(&f->t, &o, &r, &err), DD_EABORT);
	CHECK_EQ_INT(f->writes, 0);
	CHECK_MSG(err, "interrupted");
	fake_free(f);
}

TEST(too_small_is_refused)
{
	struct fake *f = fake_new(GENUINE, 3 * CELL, 0);
	struct dd_probe_result r;
	struct dd_err err;

	CHECK_EQ_INT(run_probe(f, 0, 5, &r, &err), DD_EUSAGE);
	CHECK_EQ_INT(f->writes, 0);
	fake_free(f);
}

TEST(larger_alignment_is_honoured)
{
	struct fake *f = fake_new(WRAP, 4 * GiB, 1 * GiB);
	struct dd_probe_result r;
	struct dd_err err;

	f->t.align = 8192;
	CHECK_EQ_INT(run_probe(f, 0, 5, &r, &err), DD_ECHECK);
	CHECK_EQ_INT(r.block, 8192);
	CHECK_EQ_INT(f->unaligned, 0);
	CHECK_EQ_U64(r.real, 1 * GiB);
	fake_free(f);
}

TEST(describe)
{
	struct dd_probe_result r = { .announced = 16 * GiB, .real = 16 * GiB, .verdict = DD_PROBE_GENUINE };
	char buf[160];

	dd_probe_describe(&r, buf, sizeof(buf));
	CHECK(!strcmp(buf, "genuine: 16.00 GiB"));
	r.real = 512 * MiB;
	r.verdict = DD_PROBE_DROPS;
	dd_probe_describe(&r, buf, sizeof(buf));
	CHECK(!strcmp(buf, "counterfeit: holds 512.00 MiB of the announced 16.00 GiB (writes past it are lost)"));
	CHECK(!strcmp(dd_probe_verdict_name(DD_PROBE_WRAPS), "wraps"));
}

/* The engine's probe phase (policy.probe) with these fakes: a counterfeit stick fails alone, before any
 * byte of the image is written, and the job ends; a genuine one is probed, written and verified. */
static int engine_job(struct fake *f, struct dd_target_status *st, struct dd_err *err)
{
	char path[512];
	struct dd_source *src = NULL;
	struct dd_target *t = &f->t;
	struct dd_job job = { .targets = &t, .n_targets = 1 };
	int rc;

	snprintf(path, sizeof(path), "%s/probe-image.img", check_tmpdir());
	if (check_random_file(path, 3 * MiB, 77, NULL))
		return DD_EIO;
	dd_err_clear(err);
	rc = dd_source_open(path, NULL, &src, err);
	if (rc)
		return rc;
	job.src = src;
	dd_policy_default(&job.policy);
	job.policy.probe = true;
	memset(st, 0, sizeof(*st));
	rc = dd_engine_run(&job, st, err);
	dd_source_close(src);
	return rc;
}

TEST(engine_fails_a_counterfeit_before_writing)
{
	struct fake *f = fake_new(WRAP, 64 * MiB, 16 * MiB);
	struct dd_target_status st;
	struct dd_err err;

	CHECK_EQ_INT(engine_job(f, &st, &err), DD_ECHECK);
	CHECK_EQ_INT(st.result, DD_RESULT_FAIL);
	CHECK_EQ_U64(st.bytes_written, 0);
	CHECK_STR_CONTAINS(st.error, "counterfeit: holds 16.00 MiB of the announced 64.00 MiB");
	fake_free(f);
}

TEST(engine_probes_then_writes_a_genuine_stick)
{
	struct fake *f = fake_new(GENUINE, 64 * MiB, 0);
	struct dd_target_status st;
	struct dd_err err;
	uint8_t *img = malloc(3 * MiB), *got = NULL;

	CHECK(img && !posix_memalign((void **)&got, CELL, 3 * MiB));
	CHECK_EQ_INT(engine_job(f, &st, &err), DD_OK);
	CHECK_EQ_INT(st.result, DD_RESULT_PASS);
	check_fill_random(img, 3 * MiB, 77);
	CHECK_EQ_INT(fake_read(&f->t, got, 3 * MiB, 0, &err), DD_OK);
	CHECK_MEM_EQ(got, img, 3 * MiB);
	free(img);
	free(got);
	fake_free(f);
}

int main(void)
{
	RUN(genuine_odd_size_passes_and_blanks_block_0);
	RUN(genuine_2tib_is_bounded);
	RUN(wrap_at_power_of_two);
	RUN(wrap_at_3_gib);
	RUN(wrap_at_7_5_gib);
	RUN(wrap_below_first_mib);
	RUN(drop_to_zeros_at_odd_size);
	RUN(drop_near_announced_end);
	RUN(drop_with_stale_blocks_of_an_earlier_probe);
	RUN(fresh_nonce_each_run);
	RUN(pulled_stick_is_an_io_error);
	RUN(abort_flag_stops_before_writing);
	RUN(too_small_is_refused);
	RUN(larger_alignment_is_honoured);
	RUN(describe);
	RUN(engine_fails_a_counterfeit_before_writing);
	RUN(engine_probes_then_writes_a_genuine_stick);
	return check_done();
}
