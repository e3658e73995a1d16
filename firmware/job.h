/* The job runner (job.c): one engine job (common/engine) over the ports that hold a stick, in its own
 * thread. It needs no daemon: its owner gives it the store (the image, the revocation list, the audit
 * log's state), a way to open its ports and an event sink, and hears back through that sink only, always
 * on the owner's thread (inside dd_runner_check, dd_runner_start and dd_runner_update). An event's
 * target is the port's index (0-based):
 *   DD_EV_PHASE        the port joined the job (status queued; id: the stick as the job opened it)
 *   DD_EV_PROGRESS     the port's job moved
 *   DD_EV_TARGET_DONE  the port's final status: the job's result, or for a stick that never ran
 *                      (unusable, too small, the image revoked, no job thread) a failure with its kind
 *                      (id NULL when the stick could not be opened)
 *   DD_EV_JOB_DONE     the job ended and every port was reported (n_targets, n_pass, n_fail, n_incomplete)
 * The daemon (job.c, below the runner) lights the ports and writes the audit records from these. */
#ifndef DARTDUP_FIRMWARE_JOB_H
#define DARTDUP_FIRMWARE_JOB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "engine/engine.h"
#include "firmware/store.h"
#include "link/proto.h"

struct dd_job_ports {
	unsigned n;
	/* Open port i's stick for a job of need bytes. DD_EABSENT: no stick to write there (skipped);
	 * another status: a stick that cannot be used (err says why; DD_ESAFETY: refused by the rules). */
	int (*open)(void *ctx, unsigned i, uint64_t need, struct dd_target **t, struct dd_err *err);
	/* A stick waits in port i, not in a job: refused when the stored image is revoked. */
	bool (*waiting)(void *ctx, unsigned i);
	void *ctx;
};

struct dd_job_env {
	struct dd_store *store;
	struct dd_job_ports ports;
	struct dd_event_sink sink;
};

struct dd_runner {
	struct dd_job_env env;
	bool running;                    /* started, not yet reported done */
	pthread_t thread;
	bool thread_live;
	pthread_mutex_t lock;            /* guards st[], finished, rc, err */
	atomic_int abort_flag;
	int wake_fd;                     /* eventfd: the engine moved (the owner polls it) */
	bool finished;
	int rc;
	struct dd_err err;
	unsigned n;                      /* ports in the job */
	unsigned port[DD_LINK_MAX_PORTS];
	struct dd_target *targets[DD_LINK_MAX_PORTS];
	struct dd_target_status st[DD_LINK_MAX_PORTS];    /* written by the engine's threads */
	struct dd_target_status seen[DD_LINK_MAX_PORTS];  /* the owner's copy */
	struct dd_target_status final[DD_LINK_MAX_PORTS];
	struct dd_job job;
};

int dd_runner_init(struct dd_runner *r, const struct dd_job_env *env, struct dd_err *err);
void dd_runner_fini(struct dd_runner *r);
/* May a job start now? DD_OK, or DD_EBUSY (a job runs), DD_EABSENT (no image stored), DD_EINPUT (the stored
 * image is revoked: every waiting stick is reported refused), DD_ENOSPACE (the audit log is full: a stick
 * written without its record is worse than a stick not written); err says why. */
int dd_runner_check(struct dd_runner *r, struct dd_err *err);
/* Check, then start a job under policy over every port with a usable stick. DD_EABSENT when there is
 * none (err names the last unusable one), DD_EINTERNAL when no thread can be started. */
int dd_runner_start(struct dd_runner *r, const struct dd_policy *policy, struct dd_err *err);
void dd_runner_abort(struct dd_runner *r);
/* The engine moved (wake_fd): progress to the sink; when the job ended, the final statuses, then
 * DD_EV_JOB_DONE, and the targets are closed. wait: block until it ends. True when it ended now. */
bool dd_runner_update(struct dd_runner *r, bool wait);

#endif
