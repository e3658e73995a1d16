/* engine: one job = one source + N targets + a policy + an event sink.
 * Owns the ordering rules shared by the PC tool and the board firmware:
 *  - each block is decoded once and handed to every target (shared, reference-counted buffer);
 *  - one queue per target: a slow stick never holds the others back;
 *  - bounded memory whatever the image size and the number of targets: a target that falls
 *    behind the shared window decodes the block it needs again from the source;
 *  - all-zero blocks skipped unless policy.full;
 *  - the first block is written last, after every other block verified;
 *  - on a whole disk, the last MiB past the image is cleared (with the first block, before any image
 *    block) and read back: a GPT's stale backup copy never outlives the write;
 *  - verification reads the medium back (after flush), compares SHA-256 with the manifest,
 *    rewrites a failing block up to policy.retries times;
 *  - a target that fails, fails alone. */
#ifndef DARTDUP_ENGINE_H
#define DARTDUP_ENGINE_H

#include <signal.h>
#include <stdbool.h>

#include "engine/events.h"
#include "source/source.h"
#include "target/target.h"

struct dd_policy {
	bool verify;        /* default true */
	bool verify_only;   /* read-only verification (dartdup verify) */
	bool full;          /* write zero blocks too */
	int retries;        /* per failing block; default 2 */
	bool probe;         /* counterfeit-capacity probe before writing */
};

struct dd_job {
	struct dd_source *src;
	struct dd_target **targets;
	unsigned n_targets;
	struct dd_policy policy;
	struct dd_event_sink sink;
	volatile sig_atomic_t *abort_flag; /* set non-zero (e.g. from a signal handler) to stop */
	size_t memory_budget;              /* bytes for shared block buffers; 0 = default */
};

void dd_policy_default(struct dd_policy *p);

/* Runs the job to the end. status[i] receives each target's final status (array of n_targets).
 * Returns DD_OK when every target passed, DD_ECHECK when any failed, DD_EABORT when interrupted,
 * another code (and err) when the job could not run at all. */
int dd_engine_run(struct dd_job *job, struct dd_target_status *status, struct dd_err *err);

#endif
