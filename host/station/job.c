/* One stick (see station.h): safety check (common/safety) -> open O_DIRECT|O_EXCL -> unless
 * --rewrite/--probe, read block 0: if it is the image's, verify the whole stick read-only and keep it
 * when it passes -> else engine job (probe when asked, write, verify, first block last) -> audit
 * record -> on success, flush and eject.
 *
 * Eject = write "1" to /sys/block/sdX/device/delete. The SCSI layer then synchronises the stick's
 * write cache (SYNCHRONIZE CACHE) and removes the disk, so nothing can touch it any more and it can
 * be pulled. We chose it over a SCSI START STOP UNIT (leaves a medium-less device behind that desktop
 * tools may poke) and over powering the port down through the hub port's sysfs `disable` (most hubs
 * gang their ports' power, and a disabled port would not see the next stick until re-enabled, which
 * breaks "pull, plug the next one"). The port stays live for the next stick. */
#include "host/station/station.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/audit.h"
#include "engine/engine.h"
#include "hash/sha256.h"
#include "host/cli.h"
#include "host/identify.h"
#include "host/station/view.h"
#include "safety/door.h"
#include "host/access.h"
#include "target/target.h"
#include "util/json.h"
#include "util/version.h"

struct job_sink {
	struct job *job;
	bool verifying_only;
};

static void job_event(void *arg, const struct dd_event *ev)
{
	struct job_sink *s = arg;
	struct ctx *c = s->job->ctx;
	struct station_slot *slot = s->job->slot;

	if (!ev->status || (ev->type != DD_EV_PHASE && ev->type != DD_EV_PROGRESS))
		return;
	pthread_mutex_lock(&c->lock);
	slot->phase = ev->status->phase;
	slot->progress = ev->status->progress;
	slot->rate = ev->status->rate;
	station_emit_slot(c, ev->type == DD_EV_PHASE ? "phase" : "progress", slot);
	pthread_mutex_unlock(&c->lock);
}

/* Bounded copy that states its intent (and keeps -Wformat-truncation quiet about messages that are
 * meant to be cut). */
static void set_text(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Does the stick's first block equal the image's? One aligned read. */
static bool block0_matches(struct dd_target *t, const struct dd_image_info *info)
{
	uint32_t len = dd_block_len(info, 0);
	size_t align = t->align > 64 ? t->align : 64;
	size_t room = (len + align - 1) / align * align;
	uint8_t *buf = NULL, digest[DD_SHA256_LEN];
	struct dd_err err;
	bool same = false;

	if (!info->block_count || posix_memalign((void **)&buf, align, room))
		return false;
	memset(buf, 0, room);
	if (t->ops->read_at(t, buf, len, 0, &err) == DD_OK) {
		dd_sha256(buf, len, digest);
		same = !memcmp(digest, info->block_hash[0], DD_SHA256_LEN);
	}
	free(buf);
	return same;
}

static int run_engine(struct job *job, struct dd_target *t, bool verify_only, struct dd_target_status *st,
		      struct dd_err *err)
{
	struct ctx *c = job->ctx;
	struct job_sink sink = { job, verify_only };
	struct dd_job dj = {
		.src = c->src, .targets = &t, .n_targets = 1,
		.sink = { job_event, &sink }, .abort_flag = &job->abort,
	};

	/* the default policy (engine/policy.h): the "already holds the image" check (verify_only) reads every
	 * block back, all-zero ones included, so a stick with stale bytes there is written, not kept */
	dj.policy = c->o.policy; /* the engine runs no probe or sanitize in a verify-only job */
	dj.policy.verify_only = verify_only;
	memset(st, 0, sizeof(*st));
	st->first_bad_offset = -1;
	return dd_engine_run(&dj, st, err);
}

/* Before it is written: does the stick hold an older version of the image's name (one of the --known
 * packages, recognised by its block 0 and where versions differ: host/identify.h)? Then job->upgraded_from
 * is that version ("none" for a package without one). */
static void recognise_old(struct job *job, struct dd_target *t)
{
	struct ctx *c = job->ctx;
	const struct dd_image_info *img = &c->src->info;
	bool *keep = c->o.n_known ? calloc(c->o.n_known, sizeof(*keep)) : NULL;

	job->upgraded_from[0] = '\0';
	if (!keep)
		return;
	host_identify_candidates(t, c->known, c->o.n_known, keep, NULL);
	for (unsigned i = 0; i < c->o.n_known; i++) {
		const struct dd_image_info *k = &c->known[i]->info;

		if (keep[i] && !strcmp(k->name, img->name) && dd_version_cmp(k->version, img->version) < 0)
			set_text(job->upgraded_from, sizeof(job->upgraded_from), dd_version_show(k->version));
	}
	free(keep);
}

static void audit_extra(struct dd_json *j, const void *ctx)
{
	dd_json_str(j, "upgraded_from", ctx);
}

static void audit(struct job *job, const struct dd_target_identity *id, const struct dd_target_status *st,
		  const char *mode)
{
	struct ctx *c = job->ctx;
	struct dd_audit_job aj = {
		.image_id = c->src->info.image_id, .image_name = c->src->info.name, .mode = mode,
	};
	struct dd_json j;
	struct dd_err err;

	if (job->upgraded_from[0] && !strcmp(mode, "write")) {
		aj.extra = audit_extra;
		aj.extra_ctx = job->upgraded_from;
	}
	fleet_out_stick(&c->fleet, &aj, id, st); /* its own lock */
	if (!c->o.log)
		return;
	dd_json_init(&j);
	dd_audit_format(&j, &aj, id, st);
	if (dd_audit_append(c->o.log, dd_json_text(&j), &err)) {
		pthread_mutex_lock(&c->lock);
		cli_error("%s", err.msg);
		pthread_mutex_unlock(&c->lock);
	}
	dd_json_free(&j);
}

/* After a pass: the disk leaves the system (cache synchronised by the SCSI layer), so it can be pulled. */
static void eject(struct job *job, char *detail, size_t size)
{
	char path[320];
	int fd;

	if (job->ctx->o.no_eject || !job->syspath[0])
		return;
	pthread_mutex_lock(&job->ctx->lock);
	station_eject_begin(&job->ctx->st, job->slot);
	pthread_mutex_unlock(&job->ctx->lock);
	snprintf(path, sizeof(path), "%s/device/delete", job->syspath);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "1", 1) != 1)
		snprintf(detail, size, "not ejected: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* The stick's whole job; *kind: why it did not pass, as the door or the engine found it; *sanitized:
 * it passed with the sanitize phase (dd_status_sanitized()). */
static enum station_outcome stick_job(struct job *job, struct dd_target_identity *id, enum dd_fail_kind *kind,
				      bool *sanitized, char *detail, size_t size)
{
	struct ctx *c = job->ctx;
	const char *inputs[] = { c->o.image };
	struct dd_door_opts door = {
		.safety = { .allow_non_usb = c->o.allow_non_usb, .unmount = c->o.unmount,
			    .min_size = c->src->info.image_size, .image_path = c->o.image },
		.inputs = inputs, .n_inputs = 1,
	};
	struct dd_door_target v;
	struct dd_target_status st;
	char hint[192];
	struct dd_target *t = NULL;
	struct dd_err err;
	enum station_action act;
	bool pulled;
	int rc;

	dd_err_clear(&err);
	/* the door: judged by common/safety, then opened O_EXCL; a refused stick's record still names
	 * it as sysfs knows it (vendor, model, serial, port, capacity) */
	if (dd_door_target(job->devnode, &door, c->src->info.image_size, &v, &t, &err) != DD_OK) {
		*id = v.id;
		set_text(detail, size, v.reason[0] ? v.reason : err.msg);
		if (!v.reason[0] && !host_access_ok(job->devnode, false)) /* say what to do, not EACCES */
			snprintf(detail, size, "this user may not open it for writing: %s",
				 host_access_hint(job->devnode, hint, sizeof(hint)));
		dd_audit_not_run(&st, DD_RESULT_REFUSED, v.kind, detail);
		*kind = st.kind;
		audit(job, id, &st, "write");
		return OUT_REFUSED;
	}
	*id = t->id;
	recognise_old(job, t);

	act = station_first_action(block0_matches(t, &c->src->info), c->o.rewrite,
				   c->o.policy.probe || c->o.policy.sanitize);
	if (act == ACT_VERIFY) {
		rc = run_engine(job, t, true, &st, &err);
		act = station_after_verify(rc == DD_OK ? st.result : DD_RESULT_FAIL);
		if (act == ACT_KEEP) {
			audit(job, &t->id, &st, "verify");
			dd_target_close(t);
			eject(job, detail, size);
			return OUT_ALREADY;
		}
		if (job->abort)
			goto finish;
	}
	rc = run_engine(job, t, false, &st, &err);
finish:
	if (rc && !st.error[0])
		set_text(st.error, sizeof(st.error), err.msg);
	if (rc && st.kind == DD_FAIL_NONE && rc != DD_EABORT && rc != DD_ECHECK)
		st.kind = DD_FAIL_OTHER; /* the job could not run at all */
	audit(job, &t->id, &st, "write");
	dd_target_close(t);
	pthread_mutex_lock(&c->lock);
	pulled = job->slot->pulled;
	pthread_mutex_unlock(&c->lock);
	*kind = st.kind;
	*sanitized = dd_status_sanitized(&st);
	set_text(detail, size, st.error);
	if (st.result == DD_RESULT_PASS && !pulled) {
		eject(job, detail, size);
		return OUT_PASS;
	}
	return station_outcome_of(st.result, pulled, st.kind == DD_FAIL_COUNTERFEIT, job->abort != 0);
}

/* A stick yanked out fails with I/O errors, sometimes before udev tells the main thread it left.
 * Before calling such a failure a bad stick, wait (at most 2 s) for its sysfs node to vanish. */
static bool vanished(struct job *job)
{
	struct timespec tick = { 0, 100 * 1000 * 1000 };

	for (int i = 0; i < 20; i++) {
		if (access(job->syspath, F_OK))
			return true;
		if (job->abort)
			return false;
		nanosleep(&tick, NULL);
	}
	return false;
}

void *station_job_main(void *arg)
{
	struct job *job = arg;
	struct ctx *c = job->ctx;
	struct dd_target_identity id;
	char detail[192] = "", line[512];
	enum dd_fail_kind kind = DD_FAIL_NONE;
	enum station_outcome out;
	bool sanitized = false;
	uint64_t one = 1;

	out = stick_job(job, &id, &kind, &sanitized, detail, sizeof(detail));
	if (out == OUT_FAIL && vanished(job))
		out = OUT_PULLED;
	pthread_mutex_lock(&c->lock);
	if (!job->slot->serial[0]) /* no udev database: the names sysfs gave (the audit record's) */
		set_text(job->slot->serial, sizeof(job->slot->serial), id.serial);
	if (out != OUT_PASS && out != OUT_ALREADY && job->abort && !job->slot->pulled)
		out = OUT_INCOMPLETE;
	station_job_done(&c->st, job->slot, out, detail, station_elapsed(c));
	set_text(job->slot->upgraded_from, sizeof(job->slot->upgraded_from),
		 out == OUT_PASS ? job->upgraded_from : "");
	job->slot->kind = station_outcome_kind(job->slot->outcome, kind);
	job->slot->sanitized = sanitized && job->slot->outcome == OUT_PASS;
	station_emit_slot(c, "result", job->slot);
	station_result_line(job->slot, line, sizeof(line));
	station_log(c, "%s", line);
	job->done = true;
	pthread_mutex_unlock(&c->lock);
	if (write(c->wake_fd, &one, sizeof(one)) < 0) {
		/* the main loop also polls on a timer: it will notice */
	}
	return NULL;
}
