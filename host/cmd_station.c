/* dartdup station IMAGE: a PC with hubs becomes a duplicator.
 *
 * The main thread owns the udev monitor, the signals (signalfd: no handler, no global) and the screen;
 * every stick gets its own thread running its own engine job (one source shared read-only by all:
 * read_block is thread-safe), so each stick goes at its own pace. A job thread reports through its slot
 * under ctx->lock and wakes the main thread through an eventfd when it ends.
 *
 * Per stick: safety check (common/safety) -> open O_DIRECT|O_EXCL -> unless --rewrite/--probe, read
 * block 0: if it is the image's, verify the whole stick read-only and keep it when it passes -> else
 * engine job (probe when asked, write, verify, first block last) -> audit record -> on success, flush
 * and eject.
 *
 * Eject = write "1" to /sys/block/sdX/device/delete. The SCSI layer then synchronises the stick's
 * write cache (SYNCHRONIZE CACHE) and removes the disk, so nothing can touch it any more and it can
 * be pulled. We chose it over a SCSI START STOP UNIT (leaves a medium-less device behind that desktop
 * tools may poke) and over powering the port down through the hub port's sysfs `disable` (most hubs
 * gang their ports' power, and a disabled port would not see the next stick until re-enabled, which
 * breaks "pull, plug the next one"). The port stays live for the next stick. */
#include "host/cli.h"
#include "host/image.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <libudev.h>

#include "engine/audit.h"
#include "engine/engine.h"
#include "hash/sha256.h"
#include "host/station_core.h"
#include "host/station_view.h"
#include "safety/door.h"
#include "safety/safety.h"
#include "source/source.h"
#include "target/target.h"
#include "util/escape.h"
#include "util/json.h"
#include "util/schema.h"

struct options {
	const char *image;
	const char **ports;
	unsigned n_ports;
	const char *log;
	const char **pubkeys;
	unsigned n_pubkeys;
	bool json, probe, rewrite, existing, allow_non_usb, no_eject;
};

struct ctx;

struct job {
	struct ctx *ctx;
	struct station_slot *slot;
	char devnode[64];
	char syspath[256];
	volatile sig_atomic_t abort;
	bool done;              /* under ctx->lock */
	pthread_t thread;
	struct job *next;
};

struct ctx {
	struct options o;
	struct dd_source *src;
	struct station st;
	pthread_mutex_t lock;   /* st, jobs' done flags, stdout */
	struct timespec t0;
	int wake_fd;            /* eventfd: a job ended */
	bool tty;
	struct job *jobs;
	struct udev *udev;
	/* a stick plugged into a slot whose previous job is still winding down: started when it ends */
	char pending[STATION_MAX_SLOTS][256];  /* syspaths, by slot index */
	bool stopping;
};

static double elapsed(const struct ctx *c)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - c->t0.tv_sec) + (now.tv_nsec - c->t0.tv_nsec) / 1e9;
}

/* ---- output (ctx->lock held) ------------------------------------------------------------------- */

static void emit_json_slot(struct ctx *c, const char *event, const struct station_slot *slot)
{
	struct dd_json j;

	if (!c->o.json)
		return;
	dd_json_init(&j);
	station_json_slot(&j, event, slot, elapsed(c));
	puts(dd_json_text(&j));
	fflush(stdout);
	dd_json_free(&j);
}

/* --json: the first line, once the station listens (scripts may plug sticks from then on). */
static void emit_json_start(struct ctx *c)
{
	struct dd_json j;

	if (!c->o.json)
		return;
	dd_json_init(&j);
	dd_json_begin_obj(&j, NULL);
	dd_json_schema(&j);
	dd_json_str(&j, "event", "start");
	dd_json_str(&j, "image", c->o.image);
	dd_json_str(&j, "name", c->src->info.name);
	dd_json_u64(&j, "image_size", c->src->info.image_size);
	dd_json_bool(&j, "probe", c->o.probe);
	dd_json_bool(&j, "rewrite", c->o.rewrite);
	dd_json_u64(&j, "ports", c->o.n_ports);
	dd_json_end_obj(&j);
	puts(dd_json_text(&j));
	fflush(stdout);
	dd_json_free(&j);
}

static void log_line(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line quotes the sticks' strings and errors: escaped whole (util/escape.h), so it stays one line. */
static void log_line(struct ctx *c, const char *fmt, ...)
{
	char line[2048], shown[4 * sizeof(line)];
	va_list ap;

	if (c->o.json || c->tty)
		return; /* the screen shows it; JSON lines carry it */
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	puts(dd_escape(shown, sizeof(shown), line));
	fflush(stdout);
}

static void redraw(struct ctx *c)
{
	struct station_view_info vi = {
		.image_name = c->src->info.name, .image_size = c->src->info.image_size,
		.probe = c->o.probe, .rewrite = c->o.rewrite, .elapsed = elapsed(c),
	};
	static const size_t size = 16384;
	char *buf;

	if (!c->tty || c->o.json)
		return;
	buf = malloc(size);
	if (!buf)
		return;
	station_view_render(&c->st, &vi, buf, size);
	fputs("\x1b[H", stdout);
	fputs(buf, stdout);
	fputs("\x1b[J", stdout);
	fflush(stdout);
	free(buf);
}

/* ---- one stick --------------------------------------------------------------------------------- */

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
	emit_json_slot(c, ev->type == DD_EV_PHASE ? "phase" : "progress", slot);
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
	dd_policy_default(&dj.policy);
	dj.policy.verify_only = verify_only;
	dj.policy.probe = c->o.probe && !verify_only;
	memset(st, 0, sizeof(*st));
	st->first_bad_offset = -1;
	return dd_engine_run(&dj, st, err);
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

/* The stick's whole job; *kind: why it did not pass, as the door or the engine found it. */
static enum station_outcome stick_job(struct job *job, struct dd_target_identity *id, enum dd_fail_kind *kind,
				      char *detail, size_t size)
{
	struct ctx *c = job->ctx;
	const char *inputs[] = { c->o.image };
	struct dd_door_opts door = {
		.safety = { .allow_non_usb = c->o.allow_non_usb, .min_size = c->src->info.image_size,
			    .image_path = c->o.image },
		.inputs = inputs, .n_inputs = 1,
	};
	struct dd_door_target v;
	struct dd_target_status st;
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
		dd_audit_not_run(&st, DD_RESULT_REFUSED, detail);
		if (v.kind != DD_FAIL_NONE) /* too small, or refused by the rules */
			st.kind = v.kind;
		*kind = st.kind;
		audit(job, id, &st, "write");
		return OUT_REFUSED;
	}
	*id = t->id;

	act = station_first_action(block0_matches(t, &c->src->info), c->o.rewrite, c->o.probe);
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

static void *job_main(void *arg)
{
	struct job *job = arg;
	struct ctx *c = job->ctx;
	struct dd_target_identity id;
	char detail[192] = "", line[512];
	enum dd_fail_kind kind = DD_FAIL_NONE;
	enum station_outcome out;
	uint64_t one = 1;

	out = stick_job(job, &id, &kind, detail, sizeof(detail));
	if (out == OUT_FAIL && vanished(job))
		out = OUT_PULLED;
	pthread_mutex_lock(&c->lock);
	if (!job->slot->serial[0]) /* no udev database: the names sysfs gave (the audit record's) */
		set_text(job->slot->serial, sizeof(job->slot->serial), id.serial);
	if (out != OUT_PASS && out != OUT_ALREADY && job->abort && !job->slot->pulled)
		out = OUT_INCOMPLETE;
	station_job_done(&c->st, job->slot, out, detail, elapsed(c));
	job->slot->kind = station_outcome_kind(job->slot->outcome, kind);
	emit_json_slot(c, "result", job->slot);
	station_result_line(job->slot, line, sizeof(line));
	log_line(c, "%s", line);
	job->done = true;
	pthread_mutex_unlock(&c->lock);
	if (write(c->wake_fd, &one, sizeof(one)) < 0) {
		/* the main loop also polls on a timer: it will notice */
	}
	return NULL;
}

/* ---- udev ---------------------------------------------------------------------------------------- */

static struct job *job_of_dev(struct ctx *c, const char *devnode)
{
	for (struct job *j = c->jobs; j; j = j->next)
		if (!j->done && !j->slot->pulled && !strcmp(j->devnode, devnode))
			return j;
	return NULL;
}

static uint64_t disk_bytes(struct udev_device *dev)
{
	const char *size = udev_device_get_sysattr_value(dev, "size");

	return size ? strtoull(size, NULL, 10) * 512 : 0;
}

static const char *prop(struct udev_device *dev, const char *key)
{
	const char *v = udev_device_get_property_value(dev, key);

	return v ? v : "";
}

/* A disk appeared (or got its medium): start its job when its port is watched and its slot free. */
static void stick_added(struct ctx *c, struct udev_device *dev)
{
	const char *devnode = udev_device_get_devnode(dev);
	const char *port = prop(dev, "ID_PATH");
	struct station_slot *slot;
	struct job *job;

	if (!devnode || c->stopping || disk_bytes(dev) == 0)
		return;
	/* Only USB disks get a slot (a loop device made on this PC is no stick). The safety module still
	 * judges each stick in full before a byte is written. */
	if (!c->o.allow_non_usb && !udev_device_get_parent_with_subsystem_devtype(dev, "usb", "usb_device"))
		return;
	pthread_mutex_lock(&c->lock);
	/* A stick we already handled (its result is showing) sends "change" events whenever a writer
	 * closes it (udev's watch rule): it is the same stick, not a new one, until it is removed. */
	if (job_of_dev(c, devnode) || station_slot_of_dev(&c->st, devnode) ||
	    !(slot = station_slot_for_port(&c->st, port))) {
		pthread_mutex_unlock(&c->lock);
		return; /* already ours, or not on a watched port: never touched */
	}
	if (!station_stick_arrived(&c->st, slot, devnode, prop(dev, "ID_SERIAL_SHORT"), prop(dev, "ID_MODEL"),
				   disk_bytes(dev), elapsed(c))) {
		snprintf(c->pending[slot - c->st.slot], sizeof(c->pending[0]), "%s", udev_device_get_syspath(dev));
		pthread_mutex_unlock(&c->lock);
		return;
	}
	job = calloc(1, sizeof(*job));
	if (!job) {
		station_job_done(&c->st, slot, OUT_REFUSED, "out of memory", elapsed(c));
		pthread_mutex_unlock(&c->lock);
		return;
	}
	job->ctx = c;
	job->slot = slot;
	snprintf(job->devnode, sizeof(job->devnode), "%s", devnode);
	snprintf(job->syspath, sizeof(job->syspath), "%s", udev_device_get_syspath(dev));
	emit_json_slot(c, "stick", slot);
	log_line(c, "slot %u %s %s: stick on %s", slot->number, devnode, slot->serial[0] ? slot->serial : "-",
		 port);
	if (pthread_create(&job->thread, NULL, job_main, job)) {
		station_job_done(&c->st, slot, OUT_REFUSED, "cannot start a thread", elapsed(c));
		free(job);
	} else {
		job->next = c->jobs;
		c->jobs = job;
	}
	pthread_mutex_unlock(&c->lock);
}

static void stick_removed(struct ctx *c, struct udev_device *dev)
{
	const char *devnode = udev_device_get_devnode(dev);
	struct station_slot *slot;
	struct job *job;

	if (!devnode)
		return;
	pthread_mutex_lock(&c->lock);
	job = job_of_dev(c, devnode);
	slot = station_stick_left(&c->st, devnode);
	if (job && slot && slot->pulled)
		job->abort = 1; /* the engine stops at its next block; the stick is reported pulled */
	if (slot) {
		emit_json_slot(c, slot->detached ? "ejected" : "removed", slot);
		log_line(c, "slot %u %s: %s", slot->number, devnode, slot->detached ? "ejected" : "removed");
	}
	pthread_mutex_unlock(&c->lock);
}

static void udev_event(struct ctx *c, struct udev_monitor *mon)
{
	struct udev_device *dev = udev_monitor_receive_device(mon);
	const char *action;

	if (!dev)
		return;
	action = udev_device_get_action(dev);
	if (action && (!strcmp(action, "add") || !strcmp(action, "change")))
		stick_added(c, dev);
	else if (action && !strcmp(action, "remove"))
		stick_removed(c, dev);
	udev_device_unref(dev);
}

/* --existing: sticks already plugged in when the station starts are written too. */
static void adopt_existing(struct ctx *c, struct udev *udev)
{
	struct udev_enumerate *en = udev_enumerate_new(udev);
	struct udev_list_entry *e;

	if (!en)
		return;
	udev_enumerate_add_match_subsystem(en, "block");
	udev_enumerate_add_match_property(en, "DEVTYPE", "disk");
	udev_enumerate_scan_devices(en);
	udev_list_entry_foreach(e, udev_enumerate_get_list_entry(en)) {
		struct udev_device *dev = udev_device_new_from_syspath(udev, udev_list_entry_get_name(e));

		if (dev) {
			stick_added(c, dev);
			udev_device_unref(dev);
		}
	}
	udev_enumerate_unref(en);
}

/* Starts the stick that waited for its slot, if it is still there. */
static void start_pending(struct ctx *c, struct station_slot *slot)
{
	char *syspath = c->pending[slot - c->st.slot];
	struct udev_device *dev;

	if (!syspath[0])
		return;
	dev = udev_device_new_from_syspath(c->udev, syspath);
	syspath[0] = '\0';
	if (dev) {
		stick_added(c, dev);
		udev_device_unref(dev);
	}
}

/* Joins the jobs that ended; returns how many still run. */
static unsigned reap_jobs(struct ctx *c)
{
	struct job **pp = &c->jobs;
	unsigned running = 0;

	while (*pp) {
		struct job *j = *pp;
		bool done;

		pthread_mutex_lock(&c->lock);
		done = j->done;
		pthread_mutex_unlock(&c->lock);
		if (!done) {
			running++;
			pp = &j->next;
			continue;
		}
		pthread_join(j->thread, NULL);
		*pp = j->next;
		if (!c->stopping)
			start_pending(c, j->slot);
		free(j);
	}
	return running;
}

static void stop_all(struct ctx *c)
{
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	for (struct job *j = c->jobs; j; j = j->next)
		j->abort = 1;
	pthread_mutex_unlock(&c->lock);
}

/* ---- main loop ------------------------------------------------------------------------------------- */

static int open_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	/* blocked before any thread starts, so every job thread inherits the mask */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void drain(int fd)
{
	uint8_t buf[256];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static void loop(struct ctx *c, struct udev_monitor *mon, int sig_fd)
{
	struct pollfd pfd[3] = {
		{ .fd = udev_monitor_get_fd(mon), .events = POLLIN },
		{ .fd = sig_fd, .events = POLLIN },
		{ .fd = c->wake_fd, .events = POLLIN },
	};
	unsigned running = 1;

	while (!c->stopping || running) {
		int n = poll(pfd, 3, c->tty && !c->o.json ? 250 : 1000);

		if (n < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN)
			udev_event(c, mon);
		if (pfd[1].revents & POLLIN) {
			drain(sig_fd);
			stop_all(c);
		}
		if (pfd[2].revents & POLLIN)
			drain(c->wake_fd);
		running = reap_jobs(c);
		pthread_mutex_lock(&c->lock);
		redraw(c);
		pthread_mutex_unlock(&c->lock);
	}
}

static void print_totals(struct ctx *c)
{
	const struct station_counters *k = &c->st.c;
	double t = elapsed(c);
	struct dd_json j;

	if (c->o.json) {
		dd_json_init(&j);
		station_json_summary(&j, &c->st, t);
		puts(dd_json_text(&j));
		dd_json_free(&j);
		fflush(stdout);
		return;
	}
	printf("\nstation stopped after %.0f s: %u done (%u written, %u already held the image), %u failed, "
	       "%u refused, %u incomplete; %.1f sticks/hour\n",
	       t, k->passed + k->already, k->passed, k->already, k->failed, k->refused, k->incomplete,
	       station_per_hour(k, t));
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: dartdup station IMAGE [--ports PATH...] [--log FILE] [--json] [--probe] [--rewrite]\n"
		"                       [--existing] [--pubkey PUB] [--no-eject] [--allow-non-usb]\n"
		"Writes and verifies IMAGE onto every eligible USB stick plugged in, each at its own pace, until\n"
		"Ctrl-C; then prints the session's totals. A stick that passed is flushed and ejected: pull it.\n"
		"IMAGE by content, as for write: .dfi, raw, compressed (decoded once at start), DaRT ISO (built).\n"
		"  --ports PATH...  only these ports (udev ID_PATH or /dev/disk/by-path/ name; a prefix covers a\n"
		"                   hub on that socket); they become slots 1..N. Default: every USB port.\n"
		"  --log FILE       append one JSON audit record per stick\n"
		"  --json           one JSON event per line (stick, phase, progress, result, removed, summary)\n"
		"  --probe          counterfeit-capacity probe before writing; a fake stick fails\n"
		"  --rewrite        write even sticks that already hold this image (default: verify and keep)\n"
		"  --existing       also write sticks already plugged in at start (default: only new ones)\n"
		"  --pubkey PUB     the image must be signed by this key\n"
		"  --no-eject       leave passed sticks attached\n"
		"  --allow-non-usb  do not require a USB ancestor (test rigs only)\n"
		"exit status: 0 every stick done, 1 a stick failed, 2 bad usage or image\n");
}

static int parse(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {
		{ "ports", no_argument, NULL, 'p' },    { "log", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },     { "probe", no_argument, NULL, 'P' },
		{ "rewrite", no_argument, NULL, 'r' },  { "existing", no_argument, NULL, 'e' },
		{ "pubkey", required_argument, NULL, 'k' }, { "no-eject", no_argument, NULL, 'E' },
		{ "allow-non-usb", no_argument, NULL, 'A' }, { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool in_ports = false;
	int ch;

	o->ports = calloc((size_t)argc, sizeof(*o->ports));
	o->pubkeys = calloc((size_t)argc, sizeof(*o->pubkeys));
	if (!o->ports || !o->pubkeys)
		return 2;
	opterr = 0;
	optind = 1;
	/* '-' in front: non-options come back as ch 1, in order, so "--ports A B IMAGE" is possible only
	 * with IMAGE first; every word after --ports up to the next option is a port */
	while ((ch = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
		if (ch != 1)
			in_ports = false;
		switch (ch) {
		case 1:
			if (in_ports)
				o->ports[o->n_ports++] = optarg;
			else if (!o->image)
				o->image = optarg;
			else {
				cli_error("station: unexpected argument %s (one IMAGE)", optarg);
				return 2;
			}
			break;
		case 'p': in_ports = true; break;
		case 'l': o->log = optarg; break;
		case 'j': o->json = true; break;
		case 'P': o->probe = true; break;
		case 'r': o->rewrite = true; break;
		case 'e': o->existing = true; break;
		case 'k': o->pubkeys[o->n_pubkeys++] = optarg; break;
		case 'E': o->no_eject = true; break;
		case 'A': o->allow_non_usb = true; break;
		case 'h': usage(stdout); return 0;
		default:
			cli_error("station: unknown option %s (dartdup station --help)", argv[optind - 1]);
			return 2;
		}
	}
	if (!o->image) {
		usage(stderr);
		return 2;
	}
	if (in_ports && !o->n_ports) {
		cli_error("station: --ports needs at least one port");
		return 2;
	}
	if (o->n_ports > STATION_MAX_SLOTS) {
		cli_error("station: at most %d ports", STATION_MAX_SLOTS);
		return 2;
	}
	return -1; /* go on */
}

static struct udev_monitor *open_monitor(struct udev *udev)
{
	struct udev_monitor *mon = udev_monitor_new_from_netlink(udev, "udev");

	if (!mon)
		return NULL;
	if (udev_monitor_filter_add_match_subsystem_devtype(mon, "block", "disk") ||
	    udev_monitor_enable_receiving(mon)) {
		udev_monitor_unref(mon);
		return NULL;
	}
	return mon;
}

static int run(struct ctx *c)
{
	struct udev *udev = udev_new();
	struct udev_monitor *mon = udev ? open_monitor(udev) : NULL;
	int sig_fd = -1, rc = 2;

	c->udev = udev;
	if (!mon) {
		cli_error("station: cannot listen to udev (is systemd-udevd running?)");
		goto out;
	}
	sig_fd = open_signals();
	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sig_fd < 0 || c->wake_fd < 0) {
		cli_error("station: cannot set up signals: %s", strerror(errno));
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &c->t0);
	if (c->tty && !c->o.json)
		fputs("\x1b[2J", stdout);
	log_line(c, "station: writing %s onto every stick plugged in%s; Ctrl-C stops", c->o.image,
		 c->o.n_ports ? " on the given ports" : "");
	emit_json_start(c);
	if (c->o.existing)
		adopt_existing(c, udev);
	loop(c, mon, sig_fd);
	print_totals(c);
	rc = c->st.c.failed ? 1 : 0;
out:
	if (sig_fd >= 0)
		close(sig_fd);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	if (mon)
		udev_monitor_unref(mon);
	if (udev)
		udev_unref(udev);
	return rc;
}

int cmd_station(int argc, char **argv)
{
	struct ctx c = { .wake_fd = -1 };
	struct dd_source_opts so = { 0 };
	struct dd_err err;
	int rc;

	rc = parse(argc, argv, &c.o);
	if (rc >= 0)
		goto out;
	if (c.o.log && dd_door_judge_log(c.o.log, &c.o.image, 1, &err)) {
		cli_error("%s", err.msg);
		rc = 2;
		goto out;
	}
	so.pubkeys = c.o.pubkeys;
	so.n_pubkeys = c.o.n_pubkeys;
	dd_err_clear(&err);
	if (host_image_open(c.o.image, &so, &c.src, &err)) {
		cli_error("%s", err.msg);
		rc = 2; /* no stick was touched */
		goto out;
	}
	station_init(&c.st, c.o.ports, c.o.n_ports);
	pthread_mutex_init(&c.lock, NULL);
	c.tty = isatty(STDOUT_FILENO);
	rc = run(&c);
	pthread_mutex_destroy(&c.lock);
	dd_source_close(c.src);
out:
	free(c.o.ports);
	free(c.o.pubkeys);
	return rc;
}
