/* events: what the engine tells the world. The engine formats nothing; sinks (terminal view,
 * JSON lines, audit log, board lights) subscribe through one callback. */
#ifndef DARTDUP_EVENTS_H
#define DARTDUP_EVENTS_H

#include <stdint.h>

#include "target/target.h"

enum dd_event_type {
	DD_EV_JOB_START,   /* once, before any I/O */
	DD_EV_PHASE,       /* a target entered a new phase */
	DD_EV_PROGRESS,    /* a target moved (rate-limited by the engine, at most every 500 ms per target) */
	DD_EV_TARGET_DONE, /* a target finished: result set */
	DD_EV_JOB_DONE,    /* once, at the end: summary */
};

enum dd_phase {
	DD_PHASE_QUEUED,
	DD_PHASE_PROBE,     /* counterfeit-capacity probe */
	DD_PHASE_SANITIZE,  /* zeros over the target past the image's range, read back (policy.sanitize) */
	DD_PHASE_WRITE,
	DD_PHASE_VERIFY,
	DD_PHASE_BOOT,      /* writing the first block last */
	DD_PHASE_DONE,
};

enum dd_result {
	DD_RESULT_NONE,        /* still running */
	DD_RESULT_PASS,        /* the image's range holds the image: every block in place and verified */
	DD_RESULT_FAIL,        /* an error or a verification failure */
	DD_RESULT_INCOMPLETE,  /* interrupted before the end */
	DD_RESULT_WRITTEN,     /* written with verification turned off (--no-verify): not proven good */
	/* never run by the engine; only in audit records of targets a run was asked to handle: */
	DD_RESULT_REFUSED,     /* refused by the safety rules or a check before anything was written */
	DD_RESULT_SKIPPED,     /* not started: another target of the run was refused, so none was written */
};

/* Where the counterfeit-capacity probe (policy.probe) left a target, as records state it. */
enum dd_probe_state {
	DD_PROBED_NO,          /* not asked (JSON: null) */
	DD_PROBED_PENDING,     /* asked, no verdict: stopped before it ended ("incomplete") */
	DD_PROBED_GENUINE,     /* it holds what it announces ("genuine") */
	DD_PROBED_COUNTERFEIT, /* it holds less ("counterfeit"; kind counterfeit) */
	DD_PROBED_ERROR,       /* the probe could not run: too small to probe, an I/O error ("error") */
};

struct dd_target_status {
	enum dd_phase phase;
	enum dd_result result;
	uint64_t bytes_written;
	uint64_t bytes_verified;
	uint64_t bytes_skipped;    /* image bytes found already in place (all-zero blocks read first: not written) */
	uint64_t bytes_total;      /* bytes the write phase covers: written + skipped at its end (the image's size) */
	uint64_t bytes_to_verify;  /* bytes the verification reads back (the image's size; 0 with --no-verify) */
	uint64_t sanitize_total;   /* bytes past the image's range the sanitize phase zeroes (0: no sanitize) */
	uint64_t bytes_zeroed;     /* of those, written with zeros so far */
	uint64_t bytes_sanitized;  /* of those, read back as zeros so far */
	bool sanitized;            /* the sanitize phase ran to its end: every byte past the image read back zero */
	enum dd_probe_state probe;
	double progress;           /* 0..1 of this target's whole job (write + verify) */
	double rate;               /* bytes per second, current phase */
	double eta;                /* seconds, < 0 unknown */
	int64_t first_bad_offset;  /* -1 none */
	double write_seconds, verify_seconds;
	double t_start, t_end;     /* seconds since job start */
	enum dd_fail_kind kind;    /* why it failed (or stopped early); DD_FAIL_NONE when it did not */
	char error[256];           /* "" when none */
};

/* The whole job's bytes (write phase + verification) and how many are done: progress = done / total. */
static inline uint64_t dd_status_total(const struct dd_target_status *st)
{
	return st->bytes_total + st->bytes_to_verify + 2 * st->sanitize_total;
}

static inline uint64_t dd_status_done(const struct dd_target_status *st)
{
	return st->bytes_written + st->bytes_skipped + st->bytes_verified + st->bytes_zeroed + st->bytes_sanitized;
}

/* The kind a status reports: its own, or for a failure nobody gave a kind (a board's unusable stick),
 * what its result says (fail: other; incomplete: interrupted; refused: refused). */
static inline enum dd_fail_kind dd_status_kind(const struct dd_target_status *st)
{
	if (st->kind != DD_FAIL_NONE)
		return st->result == DD_RESULT_PASS || st->result == DD_RESULT_WRITTEN ? DD_FAIL_NONE : st->kind;
	switch (st->result) {
	case DD_RESULT_FAIL: return DD_FAIL_OTHER;
	case DD_RESULT_INCOMPLETE: return DD_FAIL_INTERRUPTED;
	case DD_RESULT_REFUSED: return DD_FAIL_REFUSED;
	default: return DD_FAIL_NONE;
	}
}

/* Sanitized, as records state it: the sanitize phase proved zeros past the image's range AND the pass
 * proved the image over its range, so every byte of the stick is accounted for (docs/AUDIT.md). */
static inline bool dd_status_sanitized(const struct dd_target_status *st)
{
	return st->sanitized && st->result == DD_RESULT_PASS;
}

struct dd_event {
	enum dd_event_type type;
	double t;                  /* seconds since the job started (monotonic) */
	int target;                /* index, -1 for job events */
	const struct dd_target_identity *id;   /* NULL for job events */
	const struct dd_target_status *status; /* NULL for job events */
	/* job events */
	unsigned n_targets, n_pass, n_fail, n_incomplete;
};

struct dd_event_sink {
	void (*emit)(void *ctx, const struct dd_event *ev);
	void *ctx;
};

/* Lower-case names used in JSON lines and audit records ("write", "pass", ...). */
const char *dd_phase_name(enum dd_phase p);
/* The phase as views show it to a technician: the name, but "first block" for DD_PHASE_BOOT (the first
 * block, cleared at the start, written and verified last). JSON keeps dd_phase_name(). */
const char *dd_phase_label(enum dd_phase p);
const char *dd_result_name(enum dd_result r);
const char *dd_event_type_name(enum dd_event_type t);
/* "io", "mismatch", "counterfeit", "too_small", "refused", "pulled", "interrupted", "image", "other";
 * NULL for DD_FAIL_NONE (JSON: null). */
const char *dd_fail_kind_name(enum dd_fail_kind k);
/* "genuine", "counterfeit", "incomplete", "error"; NULL for DD_PROBED_NO (JSON: null). */
const char *dd_probe_state_name(enum dd_probe_state v);

#endif
