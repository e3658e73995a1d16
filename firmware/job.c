/* The job runner: one engine job (common/engine) over every port holding a stick, in its own
 * thread; progress comes back through an event sink that copies it under a lock and wakes the
 * main loop, which owns the ports, the lights and the store. */
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

int dd_runner_init(struct dd_runner *r, struct dd_err *err)
{
	memset(r, 0, sizeof(*r));
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

/* A stick that cannot be used (unreadable, too small): lit "attention", recorded, not in the job. */
static void port_unusable(struct dd_daemon *d, struct dd_port_slot *p, enum dd_fail_kind kind, const char *why)
{
	memset(&p->st, 0, sizeof(p->st));
	p->st.result = DD_RESULT_FAIL;
	p->st.kind = kind;
	p->st.first_bad_offset = -1;
	dd_copy_str(p->st.error, sizeof(p->st.error), why);
	p->id = p->now.id;
	p->has_result = true;
	p->result_gen = p->now.generation;
	p->result_state = DD_PORT_ATTENTION;
	p->speed_mbps = p->now.speed_mbps;
	record(d, p, &p->id, &p->st);
}

static unsigned open_ports(struct dd_daemon *d, char *why, size_t why_len)
{
	struct dd_runner *r = &d->run;
	uint64_t need = d->store.image->info.image_size;
	struct dd_err e;
	unsigned n = 0;

	snprintf(why, why_len, "no stick in any port");
	for (unsigned i = 0; i < d->board->n_ports; i++) {
		struct dd_port_slot *p = &d->port[i];
		struct dd_target *t;

		if (!p->now.present || d->board->master == i + 1) /* the master stick is never written */
			continue;
		if (d->board->ops->port_open(d->board, i, need, &t, &e)) {
			port_unusable(d, p, e.code == DD_ESAFETY ? DD_FAIL_REFUSED : DD_FAIL_IO, e.msg);
			snprintf(why, why_len, "no usable stick (port %u: %.200s)", i + 1, e.msg);
			continue;
		}
		if (dd_target_room(t) < need) {
			/* checked here so that a small stick fails alone (the engine refuses the job) */
			snprintf(e.msg, sizeof(e.msg), "stick too small: %llu bytes, the image needs %llu",
				 (unsigned long long)dd_target_room(t), (unsigned long long)need);
			p->now.id = t->id;
			dd_target_close(t);
			port_unusable(d, p, DD_FAIL_TOO_SMALL, e.msg);
			snprintf(why, why_len, "no usable stick (port %u: %.200s)", i + 1, e.msg);
			continue;
		}
		memset(&p->st, 0, sizeof(p->st));
		p->st.first_bad_offset = -1;
		p->id = t->id;
		p->speed_mbps = p->now.speed_mbps;
		p->has_result = false;
		p->result_gen = p->now.generation;
		p->job_index = (int)n;
		r->port[n] = i;
		r->targets[n] = t;
		memset(&r->st[n], 0, sizeof(r->st[n]));
		r->st[n].first_bad_offset = -1;
		n++;
	}
	return n;
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

/* The stored image was revoked after it was loaded: it is not written. Every stick waiting is lit
 * "attention" with the reason (STATUS shows it) and recorded as refused. */
static int refuse_revoked(struct dd_daemon *d, const char *why, struct dd_err *err)
{
	char line[320];

	snprintf(line, sizeof(line), "not written: %s", why);
	dd_daemon_refresh_ports(d);
	for (unsigned i = 0; i < d->board->n_ports; i++)
		if (d->port[i].now.present && d->port[i].job_index < 0)
			port_unusable(d, &d->port[i], DD_FAIL_REFUSED, line);
	dd_daemon_refresh_ports(d);
	dd_fail(err, DD_EINPUT, "the stored image is not used: %s; load another image", why);
	return DD_LERR_REFUSED;
}

int dd_daemon_start_job(struct dd_daemon *d, const struct dd_link_start *start, struct dd_err *err)
{
	struct dd_runner *r = &d->run;
	char why[300];

	if (d->not_ready[0]) {
		dd_fail(err, DD_EINPUT, "the board is not ready: %s", d->not_ready);
		return DD_LERR_STATE;
	}
	if (d->job_state == DD_JOB_RUNNING) {
		dd_fail(err, DD_EINPUT, "a job is already running");
		return DD_LERR_STATE;
	}
	if (!d->store.image) {
		dd_fail(err, DD_EINPUT, "no image stored on the board (load one first)");
		return DD_LERR_NO_IMAGE;
	}
	if (dd_store_revoked(&d->store, &d->store.image->info, why, sizeof(why)))
		return refuse_revoked(d, why, err);
	if (dd_store_log_state(&d->store, NULL) == DD_LOG_FULL) {
		/* a stick written without its record is worse than a stick not written */
		dd_fail(err, DD_EINPUT, "the audit log is full: read it (dartdup board log), then start again");
		return DD_LERR_NO_SPACE;
	}
	if (start && (strcmp(d->batch, start->batch) || strcmp(d->operator_, start->operator_))) {
		dd_copy_str(d->batch, sizeof(d->batch), start->batch);
		dd_copy_str(d->operator_, sizeof(d->operator_), start->operator_);
		if (dd_store_batch_save(&d->store, d->batch, d->operator_, err)) {
			fprintf(stderr, "dartdupd: %s\n", err->msg);
			dd_fail(err, DD_EIO, "the board cannot store the batch and operator");
			return DD_LERR_IO;
		}
	}
	dd_daemon_refresh_ports(d);
	d->job_time = dd_clock_now(&d->clock, &d->job_time_source);
	r->n = open_ports(d, why, sizeof(why));
	if (!r->n) {
		dd_daemon_refresh_ports(d);
		dd_fail(err, DD_EINPUT, "%s", why);
		return DD_LERR_NO_STICKS;
	}
	memset(&r->job, 0, sizeof(r->job));
	r->job.src = d->store.image;
	r->job.targets = r->targets;
	r->job.n_targets = r->n;
	effective_policy(d, start, &r->job.policy);
	r->job.sink = (struct dd_event_sink){ .emit = emit, .ctx = r };
	r->abort_flag = 0;
	r->job.abort_flag = &r->abort_flag;
	r->finished = false;
	d->job_no++;
	if (pthread_create(&r->thread, NULL, job_thread, r)) {
		for (unsigned k = 0; k < r->n; k++) {
			port_unusable(d, &d->port[r->port[k]], DD_FAIL_OTHER, "cannot start a job thread");
			d->port[r->port[k]].job_index = -1;
			dd_target_close(r->targets[k]);
		}
		r->n = 0;
		dd_fail(err, DD_EINTERNAL, "cannot start a job thread");
		return DD_LERR_INTERNAL;
	}
	r->thread_live = true;
	d->job_state = DD_JOB_RUNNING;
	fprintf(stderr, "dartdupd: job %u started on %u port(s)%s%s\n", d->job_no, r->n,
		r->job.policy.probe ? ", probe" : "", r->job.policy.sanitize ? ", sanitize" : "");
	dd_daemon_refresh_ports(d);
	return 0;
}

void dd_daemon_abort_job(struct dd_daemon *d)
{
	if (d->job_state == DD_JOB_RUNNING)
		d->run.abort_flag = 1;
}

/* The job thread ended: results into the ports, records into the ring, targets closed. */
static void collect(struct dd_daemon *d)
{
	struct dd_runner *r = &d->run;
	unsigned pass = 0;

	for (unsigned k = 0; k < r->n; k++) {
		struct dd_port_slot *p = &d->port[r->port[k]];
		struct dd_target_status *st = &r->final[k];

		if (st->result == DD_RESULT_NONE || st->result == DD_RESULT_WRITTEN) {
			st->result = r->rc == DD_EABORT ? DD_RESULT_INCOMPLETE : DD_RESULT_FAIL;
			if (!st->error[0])
				dd_copy_str(st->error, sizeof(st->error), r->err.msg[0] ? r->err.msg : "job ended");
		}
		p->st = *st;
		p->has_result = true;
		p->result_state = st->result == DD_RESULT_PASS ? DD_PORT_PASS : DD_PORT_FAIL;
		p->job_index = -1;
		pass += st->result == DD_RESULT_PASS;
		record(d, p, &r->targets[k]->id, st);
		dd_target_close(r->targets[k]);
		r->targets[k] = NULL;
	}
	fprintf(stderr, "dartdupd: job %u done: %u of %u port(s) passed\n", d->job_no, pass, r->n);
	d->job_state = DD_JOB_DONE;
}

void dd_daemon_job_update(struct dd_daemon *d, bool wait)
{
	struct dd_runner *r = &d->run;
	uint64_t v;
	bool finished;

	if (read(r->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	if (!r->thread_live)
		return;
	if (wait) {
		pthread_join(r->thread, NULL);
		r->thread_live = false;
	}
	pthread_mutex_lock(&r->lock);
	for (unsigned k = 0; k < r->n; k++)
		d->port[r->port[k]].st = r->st[k];
	finished = r->finished;
	pthread_mutex_unlock(&r->lock);
	if (!finished)
		return;
	if (r->thread_live)
		pthread_join(r->thread, NULL);
	r->thread_live = false;
	collect(d);
	dd_daemon_refresh_ports(d);
}
