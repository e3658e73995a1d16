/* engine: one job = one source + N targets + a policy + an event sink.
 * Owns the ordering rules shared by the PC tool and the board firmware:
 *  - each block is decoded once and handed to every target (shared, reference-counted buffer);
 *  - one queue per target: a slow stick never holds the others back;
 *  - bounded memory whatever the image size, the block size and the number of targets: a target that falls
 *    behind the shared window decodes the block it needs again from the source;
 *  - the policy (engine/policy.h) decides each block: PASS means every byte of the image's range equals
 *    the image, whatever the target held. An all-zero image block is read first and zeros written only
 *    where the target is not zero (policy.full: written like any block);
 *  - the first block is cleared first and written last, after every other block verified, zero or not;
 *  - on a whole disk, the last MiB past the image is cleared (with the first block, before any image
 *    block) and read back: a GPT's stale backup copy never outlives the write;
 *  - verification reads EVERY block of the image back from the medium (after flush), compares its SHA-256
 *    with the manifest (an all-zero block: every byte zero), rewrites a failing block up to
 *    policy.retries times; verify_only reads every block the same way and writes nothing;
 *  - a target that fails, fails alone. */
#ifndef DARTDUP_ENGINE_H
#define DARTDUP_ENGINE_H

#include <stdatomic.h>
#include <stdbool.h>

#include "engine/events.h"
#include "engine/policy.h"
#include "source/source.h"
#include "target/target.h"

struct dd_job {
	struct dd_source *src;
	struct dd_target **targets;
	unsigned n_targets;
	struct dd_policy policy;
	struct dd_event_sink sink;
	atomic_int *abort_flag; /* set non-zero to stop: by a signal handler or another thread (lock-free, so both may) */
	size_t memory_budget;              /* bytes for block buffers (window, spares, block 0); 0 = default
	                                      (16 MiB, grown to the 5 blocks a block size needs at least);
	                                      set, and too small for 5 blocks: the job is refused */
};

/* Runs the job to the end. status[i] receives each target's final status (array of n_targets).
 * Returns DD_OK when every target passed, DD_ECHECK when any failed, DD_EABORT when interrupted,
 * another code (and err) when the job could not run at all. */
int dd_engine_run(struct dd_job *job, struct dd_target_status *status, struct dd_err *err);

#endif
