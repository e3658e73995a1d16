/* The engine's private header: what its three parts share (see engine.h for the rules they keep).
 *
 *   window.c  the shared block windows (write, verify) and their decoders: each decoder thread decodes
 *             and hash-checks block after block into shared, reference-counted buffers (a ring covering
 *             [tail, head) of e->seq); a laggard decodes its own block into a spare; the budget's
 *             buffers are allocated here
 *   phases.c  one target's phases on its own thread (+ queue_depth - 1 helpers): probe, write (block 0
 *             cleared first, the disk's tail cleared), flush, verify (read-back compared with the verify
 *             window's checked bytes, or hashed in a verify-only job; rewrite up to policy.retries),
 *             boot (block 0 last), and its result
 *   engine.c  set-up (the block sequence, the targets' checks, the memory plan), events and failures,
 *             supervision (the caller's thread: abort flag, progress every 500 ms) and dd_engine_run()
 *
 * Locking: e->lock guards the window, every target's counters and status; e->emit_lock orders the
 * events (a snapshot of the status is taken under e->lock and emitted under emit_lock only). */
#ifndef DARTDUP_ENGINE_PRIV_H
#define DARTDUP_ENGINE_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "engine/engine.h"

/* Memory: the budget holds every block-sized buffer (the shared window, the spares, block 0); the
 * rest is small and does not grow with the block size: one I/O buffer of at most IO_CHUNK per worker
 * (read-back, zero checks and zero writes go through it in pieces) and the source's decoders (a .dfi
 * decoder streams its frame: its window, at most 8 MiB, and a small input buffer). */
#define DEFAULT_BUDGET (16u << 20)
#define IO_CHUNK (1u << 20)
#define MIN_WINDOW 2u
/* Fewest block buffers a writing job runs with: the write window's MIN_WINDOW, one more (being decoded,
 * or for the verify window: one block, compared by every target in turn; plan_memory()), one spare (a
 * laggard's own decode, a rewrite without known bytes), block 0. */
#define MIN_BLOCKS (MIN_WINDOW + 3u)
#define MAX_QUEUE_DEPTH 16u
#define PROGRESS_INTERVAL 0.5
#define TICK_NS 100000000L
/* A target must have starved this long behind a full window before the slowest target is cut loose
 * to decode alone: scheduler jitter between equally fast targets (many targets on few cores) then
 * never costs extra decoding, while a really slow stick is left behind within a fraction of a second. */
#define FORCE_DELAY 0.25

struct ebuf {
	uint8_t *data;
	unsigned refs;      /* window slot + workers using it */
	struct ebuf *next;  /* free list */
};

/* Where a target is: writing (the write window's user), between its write and its verify phase (the
 * verify window waits for it at position 0), verifying (the verify window's user), past verification. */
enum tstage { TS_WRITE, TS_AFTER_WRITE, TS_VERIFY, TS_DONE };

/* A window of decoded, hash-checked blocks over positions [tail, head) of e->seq, fed by its own
 * decoder thread: the write window holds the bytes every writer writes, the verify window the bytes
 * every verifier compares its read-back with (memcmp), so a block's SHA-256 is computed once per phase
 * whatever the number of targets. Each window has its own buffers (its share of the budget). */
struct ewin {
	struct engine *e;
	enum tstage stage;  /* the stage of the targets it serves */
	struct ebuf **slot;
	unsigned window, n_bufs, max_bufs;
	uint64_t head, tail;
	struct ebuf *free_list;
	unsigned users;     /* targets that still need it (a writer, a target still to verify) */
	unsigned starving;  /* targets waiting for its head */
	bool full;          /* the decoder found the window full and the tail has not moved on its own... */
	double full_t0;     /* ...since then */
	bool nobuf;         /* the decoder waits for a buffer... */
	double nobuf_t0;    /* ...since then */
	bool done;          /* its decoder stopped */
	bool running;       /* its decoder thread was started */
	pthread_t thread;
};

struct engine;
struct tctx;

struct worker {
	struct tctx *tc;
	uint8_t *io;        /* private I/O buffer (e->chunk bytes): read-back, zero checks */
	uint64_t claiming;  /* under e->lock: a position taken but whose block it has not yet claimed from
	                       the window (NO_CLAIM: none); the window's tail stays at or below it */
	pthread_t thread;
};

struct tctx {
	struct engine *e;
	struct dd_target *t;
	unsigned idx;
	pthread_t thread;
	bool started;
	struct worker *w;
	unsigned n_workers;
	/* under e->lock */
	enum tstage stage;
	uint64_t cursor;    /* next position of e->seq to claim in the current phase */
	bool failed;
	bool finished;
	double phase_t0, last_progress;
	uint64_t phase_base;  /* the phase's byte counter when it began (for its rate) */
	struct dd_target_status st;
};

struct engine {
	struct dd_job *job;
	const struct dd_image_info *info;
	size_t block_size;
	uint64_t *seq;      /* blocks the write/verify phases go through, in order: every block of the
	                       image (but block 0 when writing: it is written last) */
	uint64_t n_seq;
	bool write_block0;  /* block 0 is written in the boot phase (always, when writing) */
	uint8_t *block0;    /* block 0, decoded and checked before any I/O (when written) */
	size_t chunk;       /* I/O piece: min(block_size, IO_CHUNK) */
	uint8_t *zeros;     /* chunk bytes of zeros */
	struct timespec t0;

	pthread_mutex_t lock;
	pthread_cond_t cond; /* every state change: broadcast (few dozen threads, 1 MiB steps) */
	struct ewin win[2];  /* W_WRITE, W_VERIFY (the latter unused when nothing is verified against it) */
	bool compare;        /* the verify phase compares with the verify window (not in verify-only jobs) */
	/* spare block buffers (a laggard's own decode), taken and given back per block */
	struct ebuf *spare_list;
	unsigned n_spare, max_spare;
	unsigned n_finished;

	pthread_mutex_t emit_lock;
	struct tctx *tc;
	unsigned n;
};

#define W_WRITE 0
#define W_VERIFY 1
#define NO_CLAIM UINT64_MAX

static inline bool aborted(const struct engine *e)
{
	return e->job->abort_flag && *e->job->abort_flag;
}

static inline bool stopping(const struct tctx *tc)
{
	return tc->failed || aborted(tc->e);
}

/* Where the sanitize phase starts on target t: the image's size rounded down to t's alignment, so that
 * the slack between the image's end and the end of its last sector is zeroed too (the image's last
 * block is written over its part of that sector afterwards). It covers [here, capacity). */
static inline uint64_t eng_sanitize_start(const struct dd_image_info *info, const struct dd_target *t)
{
	uint64_t align = t->align ? t->align : 1;

	return info->image_size / align * align;
}

/* engine.c: time, events, failures */
double eng_now(const struct engine *e);
void eng_emit_target(struct engine *e, struct tctx *tc, enum dd_event_type type);
void eng_set_phase(struct engine *e, struct tctx *tc, enum dd_phase phase);
enum dd_fail_kind eng_kind_of(int rc);
void eng_target_fail(struct tctx *tc, int64_t off, enum dd_fail_kind kind, const char *msg); /* under e->lock */
void eng_fail_locked(struct tctx *tc, int64_t off, enum dd_fail_kind kind, const char *msg);

/* window.c: buffers, the shared window (e->lock held where marked), decoding */
uint8_t *eng_alloc_buf(size_t len);
uint8_t *eng_alloc_block(const struct engine *e);
void eng_free_bufs(struct ebuf **list);
void eng_buf_put(struct engine *e, struct ewin *win, struct ebuf *b);   /* under e->lock */
void eng_advance_tail(struct engine *e, struct ewin *win);              /* under e->lock */
void eng_advance_tails(struct engine *e);                               /* under e->lock */
int eng_decode_block(struct engine *e, uint64_t i, uint8_t *buf, struct dd_err *err);
bool eng_needs_bytes(const struct engine *e, const struct ewin *win, uint64_t s);
int eng_start_decoders(struct engine *e);
void eng_join_decoders(struct engine *e);
void eng_free_windows(struct engine *e);
struct ebuf *eng_spare_get(struct tctx *tc, struct dd_err *err);
void eng_spare_put(struct engine *e, struct ebuf *b);
const uint8_t *eng_claim_block(struct worker *w, struct ewin *win, uint64_t s, struct ebuf **shared,
			       struct ebuf **spare, struct dd_err *err);
void eng_release_block(struct engine *e, struct ewin *win, struct ebuf *shared, struct ebuf *spare);

/* phases.c: one target */
void *eng_target_main(void *arg);
void eng_leave_write_stage(struct tctx *tc);
void eng_leave_verify_stage(struct tctx *tc);
void eng_finish_target(struct tctx *tc, bool complete);

#endif
