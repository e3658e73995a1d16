/* The job runner (job.h): one engine job (common/engine) over every port holding a stick, in its own
 * thread; the engine's events are copied under a lock and wake the owner's loop, which hears them
 * through its own sink. Below it, the daemon's side: its ports, lights and audit records. */
#include "firmware/job.h"
#include "firmware/daemon.h"
#include "firmware/version.h"

#include <errno.h>
#include <inttypes.h>
#include <sys/random.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "engine/audit.h"
#include "link/wire.h"
#include "util/json.h"

int dd_runner_init(struct dd_runner *r, const struct dd_job_env *env, struct dd_err *err)
{
	memset(r, 0, sizeof(*r));
	r->env = *env;
	r->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->wake_fd < 0)
		return dd_fail_errno(err, DD_EIO, errno, "eventfd");
	pthread_mutex_init(&r->lock, NULL);
	return DD_OK;
}

void dd_runner_fini(struct dd_runner *r)
{
	if (r->wake_fd < 0)
		return;
	close(r->wake_fd);
	r->wake_fd = -1;
	pthread_mutex_destroy(&r->lock);
}

static void wake(struct dd_runner *r)
{
	uint64_t one = 1;

	if (write(r->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return; /* the main loop will see the state at its next tick anyway */
}

/* Engine threads: copy the target's status for the main loop. */
static void emit(void *ctx, const struct dd_event *ev)
{
	struct dd_runner *r = ctx;

	if (ev->target >= 0 && (unsigned)ev->target < r->n && ev->status) {
		pthread_mutex_lock(&r->lock);
		r->st[ev->target] = *ev->status;
		pthread_mutex_unlock(&r->lock);
	}
	wake(r);
}

static void *job_thread(void *arg)
{
	struct dd_runner *r = arg;
	struct dd_err err = { 0 };
	int rc = dd_engine_run(&r->job, r->final, &err);

	pthread_mutex_lock(&r->lock);
	r->rc = rc;
	r->err = err;
	r->finished = true;
	pthread_mutex_unlock(&r->lock);
	wake(r);
	return NULL;
}

/* To the owner's sink, on the owner's thread. */
static void report(struct dd_runner *r, enum dd_event_type type, unsigned port, const struct dd_target_identity *id,
		   const struct dd_target_status *st)
{
	struct dd_event ev = { .type = type, .target = (int)port, .id = id, .status = st };

	r->env.sink.emit(r->env.sink.ctx, &ev);
}

/* A stick that never ran (unusable, too small, refused, no job thread): reported failed with its kind. */
static void not_run(struct dd_runner *r, unsigned port, const struct dd_target_identity *id, enum dd_fail_kind kind,
		    const char *why)
{
	struct dd_target_status st;

	memset(&st, 0, sizeof(st));
	st.result = DD_RESULT_FAIL;
	st.kind = kind;
	st.first_bad_offset = -1;
	dd_copy_str(st.error, sizeof(st.error), why);
	report(r, DD_EV_TARGET_DONE, port, id, &st);
}

/* Every port's stick for the job: opened, big enough, joined (reported). The number that joined; why says
 * what stopped the last port that could not. */
static unsigned open_ports(struct dd_runner *r, uint64_t need, char *why, size_t why_len)
{
	const struct dd_job_ports *ports = &r->env.ports;
	struct dd_err e;
	unsigned n = 0;

	snprintf(why, why_len, "no stick in any port");
	for (unsigned i = 0; i < ports->n && n < DD_LINK_MAX_PORTS; i++) {
		struct dd_target *t = NULL;
		int rc = ports->open(ports->ctx, i, need, &t, &e);

		if (rc == DD_EABSENT)
			continue;
		if (rc) {
			not_run(r, i, NULL, rc == DD_ESAFETY ? DD_FAIL_REFUSED : DD_FAIL_IO, e.msg);
			snprintf(why, why_len, "no usable stick (port %u: %.200s)", i + 1, e.msg);
			continue;
		}
		if (dd_target_room(t) < need) {
			/* checked here so that a small stick fails alone (the engine refuses the job) */
			snprintf(e.msg, sizeof(e.msg), "stick too small: %llu bytes, the image needs %llu",
				 (unsigned long long)dd_target_room(t), (unsigned long long)need);
			not_run(r, i, &t->id, DD_FAIL_TOO_SMALL, e.msg);
			dd_target_close(t);
			snprintf(why, why_len, "no usable stick (port %u: %.200s)", i + 1, e.msg);
			continue;
		}
		r->port[n] = i;
		r->targets[n] = t;
		memset(&r->st[n], 0, sizeof(r->st[n]));
		r->st[n].first_bad_offset = -1;
		r->seen[n] = r->st[n];
		r->n = ++n;
		report(r, DD_EV_PHASE, i, &t->id, &r->seen[n - 1]);
	}
	return n;
}

/* The stored image was revoked after it was loaded: it is not written. Every stick waiting is reported
 * refused with the reason. */
static int refuse_revoked(struct dd_runner *r, const char *why, struct dd_err *err)
{
	const struct dd_job_ports *ports = &r->env.ports;
	char line[320];

	snprintf(line, sizeof(line), "not written: %s", why);
	for (unsigned i = 0; i < ports->n; i++)
		if (ports->waiting(ports->ctx, i))
			not_run(r, i, NULL, DD_FAIL_REFUSED, line);
	return dd_fail(err, DD_EINPUT, "the stored image is not used: %s; load another image", why);
}

int dd_runner_check(struct dd_runner *r, struct dd_err *err)
{
	struct dd_store *s = r->env.store;
	char why[300];

	if (r->running)
		return dd_fail(err, DD_EBUSY, "a job is already running");
	if (!s->image)
		return dd_fail(err, DD_EABSENT, "no image stored on the board (load one first)");
	if (dd_store_revoked(s, &s->image->info, why, sizeof(why)))
		return refuse_revoked(r, why, err);
	if (dd_store_log_state(s, NULL) == DD_LOG_FULL)
		return dd_fail(err, DD_ENOSPACE, "the audit log is full: read it (dartdup board log), then start again");
	return DD_OK;
}

int dd_runner_start(struct dd_runner *r, const struct dd_policy *policy, struct dd_err *err)
{
	char why[300];
	int rc = dd_runner_check(r, err);

	if (rc)
		return rc;
	r->n = 0;
	if (!open_ports(r, r->env.store->image->info.image_size, why, sizeof(why)))
		return dd_fail(err, DD_EABSENT, "%s", why);
	memset(&r->job, 0, sizeof(r->job));
	r->job.src = r->env.store->image;
	r->job.targets = r->targets;
	r->job.n_targets = r->n;
	r->job.policy = *policy;
	r->job.sink = (struct dd_event_sink){ .emit = emit, .ctx = r };
	r->abort_flag = 0;
	r->job.abort_flag = &r->abort_flag;
	r->finished = false;
	if (pthread_create(&r->thread, NULL, job_thread, r)) {
		for (unsigned k = 0; k < r->n; k++) {
			not_run(r, r->port[k], &r->targets[k]->id, DD_FAIL_OTHER, "cannot start a job thread");
			dd_target_close(r->targets[k]);
		}
		r->n = 0;
		return dd_fail(err, DD_EINTERNAL, "cannot start a job thread");
	}
	r->thread_live = true;
	r->running = true;
	return DD_OK;
}

void dd_runner_abort(struct dd_runner *r)
{
	if (r->running)
		r->abort_flag = 1;
}

/* The job thread ended: every port's final status reported, targets closed, then the job's end. */
static void collect(struct dd_runner *r)
{
	struct dd_event done = { .type = DD_EV_JOB_DONE, .target = -1, .n_targets = r->n };

	for (unsigned k = 0; k < r->n; k++) {
		struct dd_target_status *st = &r->final[k];

		if (st->result == DD_RESULT_NONE || st->result == DD_RESULT_WRITTEN) {
			st->result = r->rc == DD_EABORT ? DD_RESULT_INCOMPLETE : DD_RESULT_FAIL;
			if (!st->error[0])
				dd_copy_str(st->error, sizeof(st->error), r->err.msg[0] ? r->err.msg : "job ended");
		}
		done.n_pass += st->result == DD_RESULT_PASS;
		done.n_fail += st->result == DD_RESULT_FAIL;
		done.n_incomplete += st->result == DD_RESULT_INCOMPLETE;
		report(r, DD_EV_TARGET_DONE, r->port[k], &r->targets[k]->id, st);
		dd_target_close(r->targets[k]);
		r->targets[k] = NULL;
	}
	r->running = false;
	r->env.sink.emit(r->env.sink.ctx, &done);
}

bool dd_runner_update(struct dd_runner *r, bool wait)
{
	uint64_t v;
	bool finished;

	if (read(r->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return false;
	if (!r->thread_live)
		return false;
	if (wait) {
		pthread_join(r->thread, NULL);
		r->thread_live = false;
	}
	pthread_mutex_lock(&r->lock);
	memcpy(r->seen, r->st, r->n * sizeof(r->st[0]));
	finished = r->finished;
	pthread_mutex_unlock(&r->lock);
	for (unsigned k = 0; k < r->n; k++)
		report(r, DD_EV_PROGRESS, r->port[k], &r->targets[k]->id, &r->seen[k]);
	if (!finished)
		return false;
	if (r->thread_live)
		pthread_join(r->thread, NULL);
	r->thread_live = false;
	collect(r);
	return true;
}

/* --- the daemon's side: its ports, lights and audit records from the runner's events ----------- */

/* The fields only a board's record has (docs/AUDIT.md "The record"). */
struct board_fields {
	const struct dd_daemon *d;
	unsigned port;                   /* 1-based */
	const struct dd_port_slot *p;
	const struct dd_target_identity *id;
};

/* A stick's identity that stays unique when serials are blank or shared: the SHA-256 of the board, the
 * port, the job's time, the capacity, the serial and a random nonce, all as the record states them (so an
 * auditor can recompute it, docs/AUDIT.md). Cut to 128 bits. */
static void stick_id(const struct board_fields *f, char id_hex[33], char nonce_hex[33])
{
	uint8_t nonce[16] = { 0 }, h[DD_SHA256_LEN];
	char text[600], when[32] = "null";
	int n;

	if (getrandom(nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce))
		for (unsigned i = 0; i < sizeof(nonce); i++) /* never short on Linux >= 3.19; still unique-ish */
			nonce[i] = (uint8_t)(f->d->store.log_next >> (8 * (i % 8)) ^ (uint64_t)f->d->job_time >> i);
	dd_hex(nonce_hex, nonce, sizeof(nonce));
	/* the record's own "time" (null while the clock is unset): an auditor recomputes it from the record */
	if (f->d->job_time_source != DD_TIME_UNSET)
		dd_clock_format(f->d->job_time, when, sizeof(when));
	n = snprintf(text, sizeof(text), "%s|%u|%s|%" PRIu64 "|%s|%s", f->d->board->serial, f->port, when,
		     f->id->capacity, f->id->serial, nonce_hex);
	dd_sha256(text, (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1, h);
	dd_hex(id_hex, h, 16);
}

static void board_extra(struct dd_json *j, const void *ctx)
{
	const struct board_fields *f = ctx;
	char id[33], nonce[33];

	dd_json_u64(j, "port_number", f->port);
	if (f->p->speed_mbps)
		dd_json_u64(j, "usb_speed_mbps", f->p->speed_mbps);
	else
		dd_json_null(j, "usb_speed_mbps");
	stick_id(f, id, nonce);
	dd_json_str(j, "stick_id", id);
	dd_json_str(j, "stick_nonce", nonce);
	dd_json_str(j, "batch", f->d->batch[0] ? f->d->batch : NULL);
	dd_json_str(j, "operator", f->d->operator_[0] ? f->d->operator_ : NULL);
}

static void record(struct dd_daemon *d, const struct dd_port_slot *p, const struct dd_target_identity *id,
		   const struct dd_target_status *st)
{
	const struct dd_source *img = d->store.image;
	struct dd_link_name nb;
	struct board_fields f = { .d = d, .port = (unsigned)(p - d->port) + 1, .p = p, .id = id };
	struct dd_audit_job job = {
		.time = (time_t)d->job_time,
		.image_id = img->info.image_id,
		.image_name = img->info.name,
		.mode = "write",
		.tool_version = dd_firmware_version,
		.time_source = dd_time_source_name((unsigned)d->job_time_source, &nb),
		.no_time = d->job_time_source == DD_TIME_UNSET,
		.extra = board_extra,
		.extra_ctx = &f,
	};
	struct dd_json j;
	struct dd_err e;

	dd_json_init(&j);
	dd_audit_format(&j, &job, id, st);
	if (dd_store_log_append(&d->store, d->board->serial, dd_json_text(&j), &e))
		fprintf(stderr, "dartdupd: audit log: %s\n", e.msg);
	dd_json_free(&j);
}

/* The job's policy, decided here only: the default (exact copies: a reused stick's old bytes in the
 * image's zero blocks are zeroed, every block is verified: engine/policy.h), made as strict as every
 * source asks: the description file, then this job's request (START's flags; the button's jobs have
 * none), then the last master stick's batch.conf (`probe`/`sanitize = yes`). */
static void effective_policy(const struct dd_daemon *d, const struct dd_link_start *start, struct dd_policy *p)
{
	struct dd_policy req;

	dd_policy_default(p);
	dd_policy_merge(p, &d->board->policy);
	memset(&req, 0, sizeof(req));
	if (start)
		dd_link_start_policy(start->flags, &req);
	dd_policy_merge(p, &req);
	memset(&req, 0, sizeof(req)); /* the last master stick's batch.conf (firmware/master.h) */
	req.probe = d->master.probe == DD_MASTER_YES;
	req.sanitize = d->master.sanitize == DD_MASTER_YES;
	dd_policy_merge(p, &req);
}

/* A stick that never ran (not_run above): lit "attention", recorded, not in the job. */
static void port_unusable(struct dd_daemon *d, struct dd_port_slot *p, const struct dd_event *ev)
{
	p->st = *ev->status;
	p->id = ev->id ? *ev->id : p->now.id;
	p->has_result = true;
	p->result_gen = p->now.generation;
	p->result_state = DD_PORT_ATTENTION;
	p->speed_mbps = p->now.speed_mbps;
	p->job_index = -1;
	record(d, p, &p->id, &p->st);
}

static void port_joined(struct dd_daemon *d, struct dd_port_slot *p, const struct dd_event *ev)
{
	p->st = *ev->status;
	p->id = *ev->id;
	p->speed_mbps = p->now.speed_mbps;
	p->has_result = false;
	p->result_gen = p->now.generation;
	p->job_index = (int)d->run.n - 1; /* it joined last */
}

/* The job's result for the port: lit, recorded. */
static void port_done(struct dd_daemon *d, struct dd_port_slot *p, const struct dd_event *ev)
{
	p->st = *ev->status;
	p->has_result = true;
	p->result_state = ev->status->result == DD_RESULT_PASS ? DD_PORT_PASS : DD_PORT_FAIL;
	p->job_index = -1;
	record(d, p, ev->id, ev->status);
}

/* The runner's sink (job.h), on the main thread: the port table, the lights' state, the records. A final
 * status while no job runs is a stick that never ran. */
static void job_event(void *ctx, const struct dd_event *ev)
{
	struct dd_daemon *d = ctx;
	struct dd_port_slot *p = ev->target >= 0 && (unsigned)ev->target < d->board->n_ports ? &d->port[ev->target]
											       : NULL;

	if (ev->type == DD_EV_JOB_DONE) {
		fprintf(stderr, "dartdupd: job %u done: %u of %u port(s) passed\n", d->job_no, ev->n_pass,
			ev->n_targets);
		d->job_state = DD_JOB_DONE;
		return;
	}
	if (!p || !ev->status)
		return;
	if (ev->type == DD_EV_PHASE)
		port_joined(d, p, ev);
	else if (ev->type == DD_EV_PROGRESS)
		p->st = *ev->status;
	else if (ev->type == DD_EV_TARGET_DONE && d->job_state == DD_JOB_RUNNING)
		port_done(d, p, ev);
	else if (ev->type == DD_EV_TARGET_DONE)
		port_unusable(d, p, ev);
}

/* The runner's ports: the board's, but never an empty one or the master port (its stick is not written). */
static int port_open(void *ctx, unsigned i, uint64_t need, struct dd_target **t, struct dd_err *err)
{
	struct dd_daemon *d = ctx;

	if (!d->port[i].now.present || d->board->master == i + 1)
		return DD_EABSENT;
	return d->board->ops->port_open(d->board, i, need, t, err);
}

static bool port_waiting(void *ctx, unsigned i)
{
	const struct dd_daemon *d = ctx;

	return d->port[i].now.present && d->port[i].job_index < 0;
}

int dd_daemon_runner_init(struct dd_daemon *d, struct dd_err *err)
{
	struct dd_job_env env = {
		.store = &d->store,
		.ports = { .n = d->board->n_ports, .open = port_open, .waiting = port_waiting, .ctx = d },
		.sink = { .emit = job_event, .ctx = d },
	};

	return dd_runner_init(&d->run, &env, err);
}

/* START or the button: the runner's refusals, the batch a PC names (kept before a job records it), then
 * the job. */
int dd_daemon_start_job(struct dd_daemon *d, const struct dd_link_start *start, struct dd_err *err)
{
	struct dd_runner *r = &d->run;
	struct dd_policy policy;
	int rc;

	if (d->not_ready[0])
		return dd_fail(err, DD_EBUSY, "the board is not ready: %s", d->not_ready);
	dd_daemon_refresh_ports(d); /* the sticks in the ports now: the job, or a refusal, is for them */
	rc = dd_runner_check(r, err);
	if (!rc && start && (strcmp(d->batch, start->batch) || strcmp(d->operator_, start->operator_))) {
		dd_copy_str(d->batch, sizeof(d->batch), start->batch);
		dd_copy_str(d->operator_, sizeof(d->operator_), start->operator_);
		if (dd_store_batch_save(&d->store, d->batch, d->operator_, err)) {
			fprintf(stderr, "dartdupd: %s\n", err->msg);
			rc = dd_fail(err, DD_EIO, "the board cannot store the batch and operator");
		}
	}
	if (!rc) {
		d->job_time = dd_clock_now(&d->clock, &d->job_time_source);
		effective_policy(d, start, &policy);
		rc = dd_runner_start(r, &policy, err);
	}
	if (rc) {
		dd_daemon_refresh_ports(d);
		return rc;
	}
	d->job_no++;
	d->job_state = DD_JOB_RUNNING;
	fprintf(stderr, "dartdupd: job %u started on %u port(s)%s%s\n", d->job_no, r->n,
		r->job.policy.probe ? ", probe" : "", r->job.policy.sanitize ? ", sanitize" : "");
	dd_daemon_refresh_ports(d);
	return DD_OK;
}

void dd_daemon_abort_job(struct dd_daemon *d)
{
	if (d->job_state == DD_JOB_RUNNING)
		dd_runner_abort(&d->run);
}

void dd_daemon_job_update(struct dd_daemon *d, bool wait)
{
	if (dd_runner_update(&d->run, wait))
		dd_daemon_refresh_ports(d);
}
