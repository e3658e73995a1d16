/* dfi_check(): decode and hash every block in parallel (see dfi_reader.h). */
#include "format/dfi_reader.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Block buffers of all check threads together: 64 MiB blocks are checked by 2 threads, not one per CPU. */
#define DFI_CHECK_BUDGET (128u << 20)

struct check_job {
	struct dfi_reader *r;
	const struct dfi_check_opts *o;
	pthread_mutex_t mu;
	uint64_t next;          /* next block to take */
	uint64_t done;          /* blocks finished */
	uint64_t bad;           /* lowest failed block, or UINT64_MAX */
	struct dd_err bad_err;  /* its message */
};

static bool all_zero(const uint8_t *p, size_t n)
{
	uint64_t acc = 0, v;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&v, p + i, 8);
		acc |= v;
	}
	for (; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

static bool block_matches(const struct dfi_reader *r, uint64_t i, const uint8_t *buf, size_t len)
{
	uint8_t h[DD_SHA256_LEN];

	/* A zero block's entry carries the hash of zeros (dfi_open checked that), so "all bytes are
	 * zero" proves what the hash would, at memory speed. */
	if (r->m.frame[i].zero)
		return all_zero(buf, len);
	dd_sha256(buf, len, h);
	return !memcmp(h, r->m.hash[i], DD_SHA256_LEN);
}

static int check_one(struct dfi_reader *r, uint64_t i, uint8_t *buf, struct dd_err *err)
{
	uint64_t left = r->m.image_size - i * r->m.block_size;
	size_t len = left < r->m.block_size ? (size_t)left : r->m.block_size;
	int rc = dfi_read_block(r, i, buf, err);

	if (rc)
		return rc;
	if (!block_matches(r, i, buf, len))
		return dd_fail(err, DD_ECHECK, "%s: block %llu (image offset %llu): SHA-256 mismatch", r->path,
			       (unsigned long long)i, (unsigned long long)(i * r->m.block_size));
	return DD_OK;
}

static void *check_worker(void *arg)
{
	struct check_job *j = arg;
	uint8_t *buf = malloc(j->r->m.block_size);
	struct dd_err err = { 0 };

	pthread_mutex_lock(&j->mu);
	/* Blocks are taken in order and stop being taken after a failure, so every block below
	 * the lowest failure was checked: the reported block is the first bad one. */
	while (j->next < j->r->m.block_count && j->bad == UINT64_MAX) {
		uint64_t i = j->next++;
		int rc;
		pthread_mutex_unlock(&j->mu);
		rc = buf ? check_one(j->r, i, buf, &err)
			 : dd_fail(&err, DD_ENOMEM, "%s: out of memory", j->r->path);
		pthread_mutex_lock(&j->mu);
		j->done++;
		if (rc && i < j->bad) {
			j->bad = i;
			j->bad_err = err;
		}
		if (j->o && j->o->progress)
			j->o->progress(j->o->progress_ctx, j->done, j->r->m.block_count);
	}
	pthread_mutex_unlock(&j->mu);
	free(buf);
	return NULL;
}

int dfi_check(struct dfi_reader *r, const struct dfi_check_opts *opts, uint64_t *bad_block,
	      struct dd_err *err)
{
	struct check_job j = { .r = r, .o = opts, .bad = UINT64_MAX };
	long n = opts && opts->threads ? (long)opts->threads : sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t tids[64];
	unsigned started = 0;

	if (n > (long)(DFI_CHECK_BUDGET / r->m.block_size))
		n = (long)(DFI_CHECK_BUDGET / r->m.block_size);  /* a block buffer each: big blocks, fewer threads */
	if (n < 1)
		n = 1;
	if (n > 64)
		n = 64;
	pthread_mutex_init(&j.mu, NULL);
	for (; started < (unsigned)n; started++)
		if (pthread_create(&tids[started], NULL, check_worker, &j))
			break;
	if (!started)
		check_worker(&j);
	for (unsigned i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	pthread_mutex_destroy(&j.mu);
	if (j.bad == UINT64_MAX)
		return DD_OK;
	if (bad_block)
		*bad_block = j.bad;
	if (err)
		*err = j.bad_err;
	return j.bad_err.code;
}
