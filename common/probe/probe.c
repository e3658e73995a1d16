/* probe: counterfeit-capacity check. See probe.h for the method and docs/PROBE.md for its limits. */
#include "probe/probe.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define PROBE_MAGIC 0x3145424f52504444ull /* "DDPROBE1" little-endian */
#define HEADER_LEN 32
#define MAX_ANCHORS 24
#define MAX_WRAP_TESTS 128

enum sample_state { S_GOOD, S_ALIAS, S_FOREIGN, S_IOERR };

struct sample {
	uint64_t off;
	uint32_t seq;      /* sequence number of the block last written there */
	enum sample_state state;
	uint64_t alias;    /* S_ALIAS: offset whose block showed up here */
};

struct probe {
	struct dd_target *t;
	const struct dd_probe_opts *o;
	struct dd_probe_result *r;
	uint64_t nonce;
	uint32_t bs;          /* probe block size */
	uint64_t limit;       /* announced size rounded down to bs */
	uint8_t *wbuf, *rbuf, *xbuf;
	struct sample *s;
	unsigned n;
	uint32_t seq;         /* last sequence number used */
	unsigned done, total; /* progress */
	bool io_error;        /* an I/O error happened (err_io holds the first) */
	struct dd_err err_io;
};

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The block for (offset, seq) in this run: header, then filler derived from the header, so that a
 * block read anywhere proves which write it came from and that it arrived whole. Bytes 510..511 are
 * never 0x55 0xAA: a probe block at offset 0 is not a boot sector. */
static void fill_block(uint8_t *buf, uint32_t bs, uint64_t nonce, uint64_t off, uint32_t seq)
{
	uint64_t state = nonce ^ (off * 0xd6e8feb86659fd93ull) ^ ((uint64_t)seq << 40);

	put_le64(buf, PROBE_MAGIC);
	put_le64(buf + 8, nonce);
	put_le64(buf + 16, off);
	put_le64(buf + 24, seq);
	for (uint32_t i = HEADER_LEN; i < bs; i += 8)
		put_le64(buf + i, splitmix64(&state));
	buf[510] = 0;
	buf[511] = 0;
}

/* What a block read at off holds: our block for (off, seq), another offset's block of this run
 * (*alias set), or anything else (zeros, garbage, stale data of an earlier run or write). */
static enum sample_state classify(struct probe *p, uint64_t off, uint32_t seq, uint64_t *alias)
{
	const uint8_t *b = p->rbuf;
	uint64_t hoff, hseq;

	if (get_le64(b) != PROBE_MAGIC || get_le64(b + 8) != p->nonce)
		return S_FOREIGN;
	hoff = get_le64(b + 16);
	hseq = get_le64(b + 24);
	if (hseq > UINT32_MAX || hoff % p->bs)
		return S_FOREIGN;
	fill_block(p->xbuf, p->bs, p->nonce, hoff, (uint32_t)hseq);
	if (memcmp(b, p->xbuf, p->bs))
		return S_FOREIGN; /* torn or altered: not faithful wherever it came from */
	if (hoff != off) {
		*alias = hoff;
		return S_ALIAS;
	}
	return hseq == seq ? S_GOOD : S_FOREIGN;
}

static void tick(struct probe *p)
{
	p->done++;
	if (p->done > p->total)
		p->total = p->done;
	if (p->o->progress)
		p->o->progress(p->o->ctx, p->done, p->total);
}

static void note_io_error(struct probe *p, const struct dd_err *e)
{
	if (!p->io_error)
		p->err_io = *e;
	p->io_error = true;
}

static int write_block(struct probe *p, uint64_t off, uint32_t seq)
{
	struct dd_err e = { 0 };
	int rc;

	fill_block(p->wbuf, p->bs, p->nonce, off, seq);
	rc = p->t->ops->write_at(p->t, p->wbuf, p->bs, off, &e);
	p->r->writes++;
	tick(p);
	if (rc)
		note_io_error(p, &e);
	return rc;
}

/* Reads off and classifies it; an I/O error counts as unfaithful. */
static enum sample_state read_block(struct probe *p, uint64_t off, uint32_t seq, uint64_t *alias)
{
	struct dd_err e = { 0 };
	int rc;

	rc = p->t->ops->read_at(p->t, p->rbuf, p->bs, off, &e);
	p->r->reads++;
	tick(p);
	if (rc) {
		note_io_error(p, &e);
		return S_IOERR;
	}
	return classify(p, off, seq, alias);
}

static int flush(struct probe *p, struct dd_err *err)
{
	int rc = p->t->ops->flush(p->t, err);

	if (rc)
		dd_err_prefix(err, "probe");
	return rc;
}

static bool aborted(const struct probe *p)
{
	return p->o->abort_flag && *p->o->abort_flag;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Offsets to probe, sorted, unique, multiples of bs, below limit. */
static int plan_samples(struct probe *p)
{
	unsigned spread = p->o->spread ? p->o->spread : DD_PROBE_DEFAULT_SPREAD;
	uint64_t bs = p->bs, limit = p->limit, *off, jitter_state = p->nonce;
	unsigned cap = spread + 72, n = 0;

	off = calloc(cap, sizeof(*off));
	if (!off)
		return DD_ENOMEM;
	off[n++] = 0;
	for (uint64_t pw = 1u << 20; pw < limit && n < cap; pw <<= 1)
		off[n++] = pw;
	if (p->o->image_size && p->o->image_size < limit)
		off[n++] = (p->o->image_size + bs - 1) / bs * bs % limit;
	if (limit > (1u << 20))
		off[n++] = limit - (1u << 20);
	off[n++] = limit - bs;
	for (unsigned i = 1; i < spread && n < cap; i++) {
		uint64_t step = limit / spread;
		uint64_t jitter = step ? splitmix64(&jitter_state) % step : 0;

		off[n++] = (step * i + jitter) / bs * bs;
	}
	qsort(off, n, sizeof(*off), cmp_u64);
	p->s = calloc(n, sizeof(*p->s));
	if (!p->s) {
		free(off);
		return DD_ENOMEM;
	}
	p->n = 0;
	for (unsigned i = 0; i < n; i++)
		if (off[i] < limit && (!p->n || off[i] != p->s[p->n - 1].off))
			p->s[p->n++].off = off[i];
	free(off);
	return DD_OK;
}

/* Phase 1: every sample written highest first, flushed, read back. */
static int sample_pass(struct probe *p, struct dd_err *err)
{
	int rc;

	for (unsigned i = p->n; i-- > 0;) {
		if (aborted(p))
			return dd_fail(err, DD_EABORT, "%s: probe interrupted", p->t->id.path);
		write_block(p, p->s[i].off, 0);
	}
	rc = flush(p, err);
	if (rc)
		return rc;
	for (unsigned i = 0; i < p->n; i++) {
		if (aborted(p))
			return dd_fail(err, DD_EABORT, "%s: probe interrupted", p->t->id.path);
		p->s[i].state = read_block(p, p->s[i].off, 0, &p->s[i].alias);
	}
	return DD_OK;
}

/* Divisors of d that are multiples of bs, ascending, at most cap of them. */
static unsigned block_divisors(uint64_t d, uint32_t bs, uint64_t *out, unsigned cap)
{
	uint64_t n = d / bs, small[MAX_WRAP_TESTS], large[MAX_WRAP_TESTS];
	unsigned ns = 0, nl = 0, k = 0;

	if (d % bs)
		return 0;
	for (uint64_t i = 1; i * i <= n && ns < MAX_WRAP_TESTS && nl < MAX_WRAP_TESTS; i++) {
		if (n % i)
			continue;
		small[ns++] = i;
		if (i != n / i)
			large[nl++] = n / i;
	}
	for (unsigned i = 0; i < ns && k < cap; i++)
		out[k++] = small[i] * bs;
	while (nl > 0 && k < cap)
		out[k++] = large[--nl] * bs;
	return k;
}

/* Wrap: the block of q showed up at p, so the real size R divides d = p - q. Writing at a candidate c
 * changes block 0 exactly when R divides c; trying the divisors of d smallest first, the first that
 * does is R itself. Candidates below R hit their own cell, which is harmless. */
static int resolve_wrap(struct probe *p, uint64_t d, uint64_t *real, struct dd_err *err)
{
	uint64_t cand[MAX_WRAP_TESTS];
	unsigned n = block_divisors(d, p->bs, cand, MAX_WRAP_TESTS);
	int rc;

	*real = 0; /* not resolved */
	p->total += 2 * n;
	for (unsigned i = 0; i < n; i++) {
		uint64_t c = cand[i], alias = 0;

		if (c >= p->limit)
			break;
		if (aborted(p))
			return dd_fail(err, DD_EABORT, "%s: probe interrupted", p->t->id.path);
		if (write_block(p, c, ++p->seq))
			continue;
		rc = flush(p, err);
		if (rc)
			return rc;
		if (read_block(p, 0, p->s[0].seq, &alias) == S_ALIAS && alias == c) {
			*real = c;
			return DD_OK;
		}
	}
	return DD_OK;
}

/* Does offset m hold a fresh block, and do the anchors below still hold theirs? */
static int bisect_step(struct probe *p, uint64_t m, const unsigned *anchors, unsigned n_anchors,
		       bool *faithful, bool *wrapped, struct dd_err *err)
{
	uint32_t seq = ++p->seq;
	uint64_t alias = 0;
	enum sample_state st;
	int rc;

	*faithful = false;
	p->total += 2 + n_anchors;
	if (write_block(p, m, seq))
		return DD_OK;
	rc = flush(p, err);
	if (rc)
		return rc;
	st = read_block(p, m, seq, &alias);
	if (st == S_ALIAS)
		*wrapped = true;
	if (st != S_GOOD)
		return DD_OK;
	for (unsigned i = 0; i < n_anchors; i++) {
		const struct sample *a = &p->s[anchors[i]];

		st = read_block(p, a->off, a->seq, &alias);
		if (st == S_ALIAS)
			*wrapped = true;
		if (st != S_GOOD)
			return DD_OK;
	}
	*faithful = true;
	return DD_OK;
}

/* Binary search for the first unfaithful block between good (faithful) and bad (not). */
static int bisect(struct probe *p, unsigned ib, uint64_t *real, bool *wrapped, struct dd_err *err)
{
	unsigned anchors[MAX_ANCHORS], n_anchors = 0;
	uint64_t lo = p->s[ib - 1].off, hi = p->s[ib].off;
	int rc;

	anchors[n_anchors++] = 0;
	for (unsigned i = ib - 1; i > 0 && n_anchors < MAX_ANCHORS; i--)
		anchors[n_anchors++] = i;
	while (hi - lo > p->bs) {
		uint64_t m = lo + (hi - lo) / 2 / p->bs * p->bs;
		bool ok;

		if (aborted(p))
			return dd_fail(err, DD_EABORT, "%s: probe interrupted", p->t->id.path);
		rc = bisect_step(p, m, anchors, n_anchors, &ok, wrapped, err);
		if (rc)
			return rc;
		if (ok)
			lo = m;
		else
			hi = m;
	}
	*real = hi;
	return DD_OK;
}

static int find_boundary(struct probe *p, unsigned ib, struct dd_err *err)
{
	struct dd_probe_result *r = p->r;
	uint64_t real = 0;
	bool wrapped = false;
	int rc;

	r->verdict = DD_PROBE_DROPS;
	for (unsigned i = ib; i < p->n; i++) {
		if (p->s[i].state != S_ALIAS || p->s[i].alias >= p->s[i].off)
			continue;
		r->verdict = DD_PROBE_WRAPS;
		rc = resolve_wrap(p, p->s[i].off - p->s[i].alias, &real, err);
		if (rc)
			return rc;
		break;
	}
	if (!real) {
		rc = bisect(p, ib, &real, &wrapped, err);
		if (rc)
			return rc;
		if (wrapped)
			r->verdict = DD_PROBE_WRAPS;
	}
	r->real = real;
	return DD_OK;
}

static void format_size(char *buf, size_t len, uint64_t bytes)
{
	if (bytes >= (1ull << 30))
		snprintf(buf, len, "%.2f GiB", (double)bytes / (1ull << 30));
	else if (bytes >= (1ull << 20))
		snprintf(buf, len, "%.2f MiB", (double)bytes / (1ull << 20));
	else
		snprintf(buf, len, "%llu bytes", (unsigned long long)bytes);
}

const char *dd_probe_verdict_name(enum dd_probe_verdict v)
{
	switch (v) {
	case DD_PROBE_GENUINE: return "genuine";
	case DD_PROBE_WRAPS: return "wraps";
	case DD_PROBE_DROPS: return "drops";
	}
	return "?";
}

void dd_probe_describe(const struct dd_probe_result *r, char *buf, size_t len)
{
	char real[32], ann[32];

	format_size(real, sizeof(real), r->real);
	format_size(ann, sizeof(ann), r->announced);
	if (r->verdict == DD_PROBE_GENUINE)
		snprintf(buf, len, "genuine: %s", ann);
	else
		snprintf(buf, len, "counterfeit: holds %s of the announced %s (writes past it %s)", real, ann,
			 r->verdict == DD_PROBE_WRAPS ? "wrap around" : "are lost");
}

static uint64_t fresh_nonce(void)
{
	uint64_t n = 0;
	struct timespec ts;

	if (getrandom(&n, sizeof(n), GRND_NONBLOCK) != (ssize_t)sizeof(n)) {
		clock_gettime(CLOCK_REALTIME, &ts);
		n = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec;
	}
	return n ? n : 1;
}

/* Zero block 0 and every sample inside the image: a probed stick looks blank (no partition table, not
 * bootable) until the engine writes the image's first block last, and the image's all-zero blocks,
 * which the engine skips by default, really are zero. Samples past the image's end keep probe data,
 * like any old data there. */
static int blank_samples(struct probe *p, struct dd_err *err)
{
	uint64_t end = p->o->image_size;
	int rc;

	memset(p->wbuf, 0, p->bs);
	for (unsigned i = 0; i < p->n; i++) {
		if (i > 0 && p->s[i].off >= end)
			break;
		rc = p->t->ops->write_at(p->t, p->wbuf, p->bs, p->s[i].off, err);
		p->r->writes++;
		if (rc)
			return rc;
	}
	return flush(p, err);
}

static int verdict(struct probe *p, struct dd_err *err)
{
	struct dd_err ignored = { 0 };
	char what[160];
	unsigned ib;
	int rc;

	for (ib = 0; ib < p->n && p->s[ib].state == S_GOOD; ib++)
		;
	if (ib == p->n) {
		p->r->verdict = DD_PROBE_GENUINE;
		p->r->real = p->r->announced;
		return blank_samples(p, err);
	}
	p->r->first_bad = (int64_t)p->s[ib].off;
	p->r->alias_of = p->s[ib].state == S_ALIAS ? (int64_t)p->s[ib].alias : -1;
	if (ib == 0) {
		p->r->verdict = DD_PROBE_DROPS;
		p->r->real = 0;
		if (p->io_error) {
			if (err)
				*err = p->err_io;
			dd_err_prefix(err, "%s: probe", p->t->id.path);
			return p->err_io.code ? p->err_io.code : DD_EIO;
		}
		return dd_fail(err, DD_ECHECK, "%s: counterfeit: offset 0 does not hold data", p->t->id.path);
	}
	rc = find_boundary(p, ib, err);
	if (rc)
		return rc;
	blank_samples(p, &ignored); /* best effort: the stick fails anyway */
	dd_probe_describe(p->r, what, sizeof(what));
	return dd_fail(err, DD_ECHECK, "%s: %s", p->t->id.path, what);
}

static uint32_t probe_block_size(const struct dd_target *t)
{
	size_t a = t->align ? t->align : 1;
	size_t bs = DD_PROBE_BLOCK;

	if (bs % a)
		bs = (bs + a - 1) / a * a;
	return (uint32_t)bs;
}

int dd_probe_run(struct dd_target *t, const struct dd_probe_opts *o, struct dd_probe_result *r,
		 struct dd_err *err)
{
	static const struct dd_probe_opts defaults;
	struct probe p = { .t = t, .o = o ? o : &defaults, .r = r };
	size_t align;
	int rc;

	memset(r, 0, sizeof(*r));
	r->announced = p.o->announced ? p.o->announced : t->id.capacity;
	r->first_bad = r->alias_of = -1;
	p.bs = r->block = probe_block_size(t);
	p.limit = r->announced / p.bs * p.bs;
	if (p.limit < 4ull * p.bs)
		return dd_fail(err, DD_EUSAGE, "%s: too small to probe (%llu bytes)", t->id.path,
			       (unsigned long long)r->announced);
	p.nonce = p.o->nonce ? p.o->nonce : fresh_nonce();
	align = t->align > 64 ? t->align : 64;
	rc = DD_ENOMEM;
	if (posix_memalign((void **)&p.wbuf, align, p.bs) || posix_memalign((void **)&p.rbuf, align, p.bs) ||
	    posix_memalign((void **)&p.xbuf, align, p.bs) || plan_samples(&p)) {
		dd_fail(err, DD_ENOMEM, "%s: probe: out of memory", t->id.path);
		goto out;
	}
	r->samples = p.n;
	p.total = 2 * p.n + 1;
	rc = sample_pass(&p, err);
	if (rc)
		goto out;
	rc = verdict(&p, err);
out:
	free(p.s);
	free(p.wbuf);
	free(p.rbuf);
	free(p.xbuf);
	return rc;
}
