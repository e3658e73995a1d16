/* probe: find a stick's real capacity before writing it (counterfeit-capacity check, f3probe-like).
 *
 * Counterfeit sticks announce more capacity than their flash holds. Past the real size their
 * controller either drops writes (reads return zeros, garbage or stale data) or wraps them around
 * onto lower addresses (the high address bits are ignored). A small image written to such a stick
 * verifies fine; the customer's files later vanish. The probe catches both kinds in a few seconds:
 *
 *  1. Sample positions spread across the announced size: offset 0, every power of two from 1 MiB,
 *     the first block after the image's end, the start of the last MiB, the last block, and a fixed
 *     number of evenly spread positions with a per-run jitter. Bounded: about 200 blocks of 4 KiB
 *     however big the stick, never a full scan.
 *  2. Each sample block carries a magic, a per-run nonce, its own offset, a sequence number, and
 *     pseudo-random filler derived from them, so a block read back proves where it was written,
 *     in which run, and that it is intact. A stale block of an earlier run never passes.
 *  3. Blocks are written highest offset first with the target's aligned (O_DIRECT) I/O, flushed,
 *     then read back. Writing downwards means that on a wrapping stick the last write into a
 *     shared cell comes from the lowest offset: every position below the real size reads back its
 *     own block, and a position past it shows another offset's block (wrap) or not ours (drop).
 *  4. Between the highest faithful sample and the lowest unfaithful one, the boundary is found:
 *     for a wrap, from the alias pair (p shows q's block: the real size divides p - q), each
 *     candidate confirmed by writing at it and seeing block 0 change; otherwise by binary search,
 *     each step writing a fresh block, flushing, reading it and re-reading anchor blocks below.
 *  5. Block 0 and every sample inside the image are finally zeroed: a probed stick never looks
 *     partitioned or bootable, and the image's all-zero blocks (skipped by the engine) are zero.
 *
 * The probe overwrites the sampled blocks (about 1 MiB in all, spread over the stick); it is meant to
 * run right before the image is written, which overwrites the stick anyway; samples past the image's
 * end keep probe data, like any old data there. Limits (documented in
 * docs/PROBE.md): a stick that wraps at a size that is not a power of two and whose aliases land on
 * no sampled block is caught only if it also drops data; a stick whose own cache holds every
 * sample between write and read can fool any probe that cannot reset the USB device. */
#ifndef DARTDUP_PROBE_H
#define DARTDUP_PROBE_H

#include <stdatomic.h>
#include <stdint.h>

#include "target/target.h"
#include "util/err.h"

#define DD_PROBE_BLOCK 4096u          /* probe block size unless the target needs larger alignment */
#define DD_PROBE_DEFAULT_SPREAD 160u  /* evenly spread samples (plus powers of two and edges) */

struct dd_probe_opts {
	uint64_t announced;   /* bytes the stick claims; 0 = t->id.capacity */
	uint64_t image_size;  /* the image about to be written (one sample right after its end); 0 = none */
	uint64_t nonce;       /* per-run value in every block; 0 = a fresh random one */
	unsigned spread;      /* evenly spread samples; 0 = DD_PROBE_DEFAULT_SPREAD */
	atomic_int *abort_flag;  /* non-zero: stop at the next block (DD_EABORT) */
	/* optional: called after each block, done <= total (total may grow during the search) */
	void (*progress)(void *ctx, unsigned done, unsigned total);
	void *ctx;
};

enum dd_probe_verdict {
	DD_PROBE_GENUINE,  /* every sample held its data: real == announced */
	DD_PROBE_WRAPS,    /* writes past the real size land on lower addresses */
	DD_PROBE_DROPS,    /* writes past the real size are lost (zeros, garbage, stale data, errors) */
};

struct dd_probe_result {
	uint64_t announced;        /* bytes */
	uint64_t real;             /* bytes from offset 0 that hold data faithfully (== announced if genuine) */
	enum dd_probe_verdict verdict;
	uint32_t block;            /* probe block size used */
	unsigned samples;          /* spread positions probed */
	unsigned writes, reads;    /* blocks written and read in all */
	int64_t first_bad;         /* lowest sampled offset that did not read back, -1 none */
	int64_t alias_of;          /* wrap: the offset whose block showed up at first_bad, -1 none */
};

/* Probes t. Returns DD_OK when the stick is genuine, DD_ECHECK when it holds less than it announces
 * (err: "PATH: counterfeit: holds 8.00 GiB of the announced 64.00 GiB (writes past it wrap around)"),
 * DD_EIO when even offset 0 cannot be written and read back, DD_EABORT when aborted, DD_EUSAGE for a
 * stick too small to probe, DD_ENOMEM. r is filled in every case but DD_EUSAGE/DD_ENOMEM. */
int dd_probe_run(struct dd_target *t, const struct dd_probe_opts *o, struct dd_probe_result *r,
		 struct dd_err *err);

const char *dd_probe_verdict_name(enum dd_probe_verdict v);

/* "genuine: 16.00 GiB" or "counterfeit: holds 8.00 GiB of the announced 64.00 GiB (writes past it
 * wrap around)". */
void dd_probe_describe(const struct dd_probe_result *r, char *buf, size_t len);

#endif
