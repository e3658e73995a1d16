/* The board's job runner (firmware/job.h) without a daemon: a store, ports that are files filled with
 * random bytes (as the sim board's are), and an event sink that keeps what it hears. Every refusal comes
 * with its status; a job reports a pass per good stick and a failure with its kind for a stick that drops
 * its writes or is too small. Then the one translation of those statuses into the link's error codes
 * (server.c dd_daemon_link_error). */
#include "check.h"
#include "crypto/sign.h"
#include "firmware/daemon.h"
#include "firmware/job.h"
#include "format/dfi_writer.h"

#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define IMAGE_LEN 300000
#define MAX_PORTS 5

static char *tmp(const char *name)
{
	static char paths[32][512];
	static int n;
	char *p = paths[n++ % 32];

	snprintf(p, 512, "%s/%s", check_tmpdir(), name);
	return p;
}

static const char *pubkeys[1];
static uint8_t image[IMAGE_LEN]; /* the raw image the stored package holds */

/* A store in dir; with_image: holding a signed package of IMAGE_LEN random bytes as its image. */
static int open_store(struct dd_store *s, const char *dir, bool with_image)
{
	static bool have_key;
	struct dfi_pack_opts o = { .block_size = 4096, .threads = 1, .created = 1, .name = "job test" };
	char warning[600], out[700];

	if (!have_key) {
		if (dd_keygen(tmp("depot"), NULL))
			return -1;
		pubkeys[0] = strdup(tmp("depot.pub"));
		check_fill_random(image, sizeof(image), 41);
		if (check_write_file(tmp("raw.img"), image, sizeof(image)))
			return -1;
		have_key = true;
	}
	o.key_path = tmp("depot.key");
	snprintf(out, sizeof(out), "%s/image.dfi", dir);
	if (mkdir(dir, 0755) || (with_image && dfi_pack(tmp("raw.img"), out, &o, NULL)))
		return -1;
	return dd_store_open(s, dir, pubkeys, 1, "sim", warning, sizeof(warning), NULL);
}

/* --- ports: files, as the sim board's sticks ---------------------------------------------------- */

enum stick { NONE, GOOD, DROPS_WRITES, SMALL };

struct ports {
	enum stick stick[MAX_PORTS];
	char path[MAX_PORTS][512];
};

static const struct dd_target_ops *file_ops;
static struct dd_target_ops drop_ops;

/* A stick that takes writes and keeps nothing (a fake, a dying flash chip). */
static int drop_write(struct dd_target *t, const void *buf, size_t len, uint64_t off, struct dd_err *err)
{
	return DD_OK;
}

static int port_open(void *ctx, unsigned i, uint64_t need, struct dd_target **t, struct dd_err *err)
{
	struct ports *p = ctx;
	int rc;

	if (p->stick[i] == NONE)
		return DD_EABSENT;
	rc = dd_target_file_open(p->path[i], DD_TARGET_WRITE, need, t, err);
	if (rc)
		return rc;
	(*t)->room = 0; /* a stick holds its size, not its file system's free space */
	if (p->stick[i] == DROPS_WRITES) {
		file_ops = (*t)->ops;
		drop_ops = *file_ops;
		drop_ops.write_at = drop_write;
		(*t)->ops = &drop_ops;
	}
	return DD_OK;
}

static bool port_waiting(void *ctx, unsigned i)
{
	const struct ports *p = ctx;

	return p->stick[i] != NONE;
}

/* Port i of name holds stick: a file of random bytes, as big as the image and more (half of it: SMALL). */
static void ports_set(struct ports *p, const char *name, const enum stick *stick)
{
	static uint8_t junk[IMAGE_LEN + 65536];

	memset(p, 0, sizeof(*p));
	for (unsigned i = 0; i < MAX_PORTS; i++) {
		char file[64];

		snprintf(file, sizeof(file), "%s-port%u", name, i + 1);
		snprintf(p->path[i], sizeof(p->path[i]), "%s", tmp(file));
		p->stick[i] = stick[i];
		if (stick[i] == NONE)
			continue;
		check_fill_random(junk, sizeof(junk), 100 + i);
		CHECK_EQ_INT(check_write_file(p->path[i], junk, stick[i] == SMALL ? IMAGE_LEN / 2 : sizeof(junk)), 0);
	}
}

/* --- the sink: what the runner said, per port --------------------------------------------------- */

struct heard {
	unsigned joined[MAX_PORTS], progress[MAX_PORTS], done[MAX_PORTS];
	struct dd_target_status final[MAX_PORTS];
	bool had_id[MAX_PORTS];
	unsigned jobs_done, n_targets, n_pass, n_fail;
	bool stray;  /* an event for a port out of range, or without a status */
};

static void sink(void *ctx, const struct dd_event *ev)
{
	struct heard *h = ctx;

	if (ev->type == DD_EV_JOB_DONE) {
		h->jobs_done++;
		h->n_targets = ev->n_targets;
		h->n_pass = ev->n_pass;
		h->n_fail = ev->n_fail;
		return;
	}
	if (ev->target < 0 || ev->target >= MAX_PORTS || !ev->status) {
		h->stray = true;
		return;
	}
	if (ev->type == DD_EV_PHASE)
		h->joined[ev->target]++;
	else if (ev->type == DD_EV_PROGRESS)
		h->progress[ev->target]++;
	else if (ev->type == DD_EV_TARGET_DONE) {
		h->done[ev->target]++;
		h->final[ev->target] = *ev->status;
		h->had_id[ev->target] = ev->id != NULL;
	}
}

struct rig {
	struct dd_store store;
	struct ports ports;
	struct heard heard;
	struct dd_runner run;
};

static void rig_open(struct rig *g, const char *name, bool with_image, const enum stick *stick)
{
	struct dd_job_env env;

	memset(g, 0, sizeof(*g));
	CHECK_EQ_INT(open_store(&g->store, tmp(name), with_image), DD_OK);
	CHECK(!with_image || g->store.image);
	ports_set(&g->ports, name, stick);
	env = (struct dd_job_env){
		.store = &g->store,
		.ports = { .n = MAX_PORTS, .open = port_open, .waiting = port_waiting, .ctx = &g->ports },
		.sink = { .emit = sink, .ctx = &g->heard },
	};
	CHECK_EQ_INT(dd_runner_init(&g->run, &env, NULL), DD_OK);
}

static void rig_close(struct rig *g)
{
	dd_runner_fini(&g->run);
	dd_store_close(&g->store);
}

/* The owner's loop: wait on the runner's eventfd (bounded), update until the job ended. */
static bool run_to_end(struct dd_runner *r)
{
	for (unsigned turns = 0; turns < 600; turns++) {
		struct pollfd p = { .fd = r->wake_fd, .events = POLLIN };

		if (poll(&p, 1, 100) < 0)
			return false;
		if (dd_runner_update(r, false))
			return true;
	}
	return dd_runner_update(r, true); /* a minute without an end: wait, and the test fails on it */
}

static bool file_holds_image(const char *path)
{
	size_t len;
	uint8_t *p = check_read_file(path, &len);
	bool ok = p && len >= IMAGE_LEN && !memcmp(p, image, IMAGE_LEN);

	free(p);
	return ok;
}

static void policy(struct dd_policy *p)
{
	dd_policy_default(p);
}

/* --- refusals ------------------------------------------------------------------------------------ */

/* A job refused before any stick was touched: the check's and the start's status, the start's words, and
 * nothing ran or was heard of a port. */
struct refusal {
	const char *name;
	bool with_image;
	enum stick stick[MAX_PORTS];
	void (*setup)(struct rig *g); /* NULL: none */
	int check_rc, start_rc;
	const char *msg;
};

static void refusal_case(const struct refusal *r)
{
	struct dd_policy p;
	struct dd_err err = { 0 };
	struct rig g;

	policy(&p);
	rig_open(&g, r->name, r->with_image, r->stick);
	if (r->setup)
		r->setup(&g);
	CHECK_EQ_INT(dd_runner_check(&g.run, &err), r->check_rc);
	CHECK_EQ_INT(dd_runner_start(&g.run, &p, &err), r->start_rc);
	CHECK_STR_CONTAINS(err.msg, r->msg);
	CHECK(!g.run.running && !g.heard.joined[0] && !g.heard.done[0] && !g.heard.stray);
	rig_close(&g);
}

TEST(job_refused_without_image)
{
	refusal_case(&(struct refusal){ "noimage", false, { GOOD }, NULL, DD_EABSENT, DD_EABSENT, "no image stored" });
}

TEST(job_refused_without_sticks)
{
	static const enum stick small[MAX_PORTS] = { NONE, SMALL };
	struct dd_policy p;
	struct dd_err err = { 0 };
	struct rig g;

	refusal_case(&(struct refusal){ "nosticks", true, { NONE }, NULL, DD_OK, DD_EABSENT, "no stick in any port" });
	/* only a stick too small: it fails alone, with its kind, and no job starts */
	policy(&p);
	rig_open(&g, "smallonly", true, small);
	CHECK_EQ_INT(dd_runner_start(&g.run, &p, &err), DD_EABSENT);
	CHECK_STR_CONTAINS(err.msg, "no usable stick (port 2: stick too small");
	CHECK_EQ_INT(g.heard.done[1], 1);
	CHECK_EQ_INT(g.heard.joined[1], 0);
	CHECK_EQ_INT(g.heard.final[1].result, DD_RESULT_FAIL);
	CHECK_EQ_INT(g.heard.final[1].kind, DD_FAIL_TOO_SMALL);
	CHECK(g.heard.had_id[1]);
	CHECK(!g.run.running && !g.heard.jobs_done);
	rig_close(&g);
}

TEST(job_refused_while_busy)
{
	static const enum stick s[MAX_PORTS] = { GOOD };
	struct dd_policy p;
	struct dd_err err = { 0 };
	struct rig g;

	policy(&p);
	rig_open(&g, "busy", true, s);
	CHECK_EQ_INT(dd_runner_start(&g.run, &p, &err), DD_OK);
	CHECK_EQ_INT(dd_runner_check(&g.run, &err), DD_EBUSY);
	CHECK_EQ_INT(dd_runner_start(&g.run, &p, &err), DD_EBUSY);
	CHECK_STR_CONTAINS(err.msg, "already running");
	CHECK(run_to_end(&g.run));
	CHECK_EQ_INT(g.heard.jobs_done, 1);
	CHECK_EQ_INT(g.heard.final[0].result, DD_RESULT_PASS);
	CHECK_EQ_INT(dd_runner_check(&g.run, &err), DD_OK); /* ended: another may start */
	rig_close(&g);
}

TEST(job_refused_revoked_image)
{
	static const enum stick s[MAX_PORTS] = { GOOD, NONE, GOOD };
	struct dd_revocation *rl = calloc(1, sizeof(*rl));
	struct dd_policy p;
	struct dd_err err = { 0 };
	struct rig g;

	CHECK(rl);
	policy(&p);
	rig_open(&g, "revoked", true, s);
	rl->serial = 7;
	rl->n_images = 1;
	memcpy(rl->images[0], g.store.image->info.image_id, DD_SHA256_LEN);
	g.store.revoked = rl; /* as if a signed list revoking it had been taken (trust.c) */
	CHECK_EQ_INT(dd_runner_start(&g.run, &p, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "the stored image is not used");
	CHECK_STR_CONTAINS(err.msg, "revoked");
	for (unsigned i = 0; i <= 2; i += 2) { /* every waiting stick: refused, with the reason */
		CHECK_EQ_INT(g.heard.done[i], 1);
		CHECK_EQ_INT(g.heard.final[i].kind, DD_FAIL_REFUSED);
		CHECK_STR_CONTAINS(g.heard.final[i].error, "not written");
	}
	CHECK_EQ_INT(g.heard.done[1] + g.heard.done[3] + g.heard.done[4], 0); /* empty ports: nothing */
	CHECK(!g.run.running && !g.heard.joined[0] && !file_holds_image(g.ports.path[0]));
	rig_close(&g);
}

static int full_statvfs(const char *path, struct statvfs *v)
{
	memset(v, 0, sizeof(*v));
	v->f_frsize = v->f_bsize = 4096;
	v->f_bavail = v->f_bfree = (DD_LOG_FULL_FREE / 2) / 4096;
	v->f_blocks = 1 << 20;
	return 0;
}

static void fill_the_log(struct rig *g)
{
	g->store.statvfs = full_statvfs;
	CHECK_EQ_INT(dd_store_log_state(&g->store, NULL), DD_LOG_FULL);
}

TEST(job_refused_full_audit_log)
{
	refusal_case(&(struct refusal){ "logfull", true, { GOOD }, fill_the_log, DD_ENOSPACE, DD_ENOSPACE,
					"audit log is full" });
}

/* --- a job ---------------------------------------------------------------------------------------- */

TEST(job_reports_through_its_sink)
{
	static const enum stick s[MAX_PORTS] = { GOOD, DROPS_WRITES, NONE, SMALL, GOOD };
	struct dd_policy p;
	struct dd_err err = { 0 };
	struct rig g;

	policy(&p);
	rig_open(&g, "job", true, s);
	CHECK_EQ_INT(dd_runner_start(&g.run, &p, &err), DD_OK);
	CHECK_EQ_INT(g.run.n, 3); /* ports 1, 2, 5; 3 is empty, 4 too small */
	CHECK_EQ_INT(g.heard.done[3], 1); /* at once, before the job runs */
	CHECK_EQ_INT(g.heard.final[3].kind, DD_FAIL_TOO_SMALL);
	CHECK(run_to_end(&g.run));
	CHECK(!g.run.running && !g.heard.stray);

	for (unsigned i = 0; i < MAX_PORTS; i++) {
		bool in_job = s[i] == GOOD || s[i] == DROPS_WRITES;

		CHECK_EQ_INT(g.heard.joined[i], in_job);
		CHECK(!in_job || g.heard.progress[i] >= 1);
		CHECK_EQ_INT(g.heard.done[i], s[i] != NONE);
	}
	CHECK_EQ_INT(g.heard.final[0].result, DD_RESULT_PASS);
	CHECK_EQ_INT(g.heard.final[4].result, DD_RESULT_PASS);
	CHECK(file_holds_image(g.ports.path[0]) && file_holds_image(g.ports.path[4]));
	CHECK_EQ_INT(g.heard.final[1].result, DD_RESULT_FAIL); /* it lied: verification caught it */
	CHECK_EQ_INT(g.heard.final[1].kind, DD_FAIL_MISMATCH);
	CHECK(g.heard.final[1].error[0]);
	CHECK(!file_holds_image(g.ports.path[1]));
	CHECK_EQ_INT(g.heard.jobs_done, 1);
	CHECK_EQ_INT(g.heard.n_targets, 3);
	CHECK_EQ_INT(g.heard.n_pass, 2);
	CHECK_EQ_INT(g.heard.n_fail, 1);
	rig_close(&g);
}

/* --- the translation to the link's codes --------------------------------------------------------- */

TEST(link_error_of_every_status)
{
	static const struct {
		int status, type;
		bool has_image;
		uint16_t code;
	} cases[] = {
		/* the store: LOAD_* */
		{ DD_EBUSY, DD_MSG_LOAD_BEGIN, true, DD_LERR_STATE },      /* being verified */
		{ DD_EBUSY, DD_MSG_LOAD_END, true, DD_LERR_STATE },        /* incomplete */
		{ DD_EBUSY, DD_MSG_LOAD_CANCEL, true, DD_LERR_STATE },     /* too late */
		{ DD_EABSENT, DD_MSG_LOAD_DATA, true, DD_LERR_STATE },     /* no such transfer */
		{ DD_EABSENT, DD_MSG_LOAD_END, false, DD_LERR_STATE },
		{ DD_EOFFSET, DD_MSG_LOAD_DATA, true, DD_LERR_OFFSET },
		{ DD_EINPUT, DD_MSG_LOAD_DATA, true, DD_LERR_FIELD },      /* past the end */
		{ DD_EINPUT, DD_MSG_LOAD_END, true, DD_LERR_REFUSED },     /* a package that does not pass */
		{ DD_EUSAGE, DD_MSG_LOAD_END, true, DD_LERR_FIELD },       /* HASH_AT_END without its SHA-256 */
		{ DD_ENOSPACE, DD_MSG_LOAD_BEGIN, true, DD_LERR_NO_SPACE },
		{ DD_ENOSPACE, DD_MSG_LOAD_DATA, true, DD_LERR_NO_SPACE },
		{ DD_EIO, DD_MSG_LOAD_DATA, true, DD_LERR_IO },
		{ DD_ENOMEM, DD_MSG_LOAD_END, true, DD_LERR_INTERNAL },
		/* the job runner: START */
		{ DD_EBUSY, DD_MSG_START, true, DD_LERR_STATE },           /* a job runs, not ready */
		{ DD_EABSENT, DD_MSG_START, false, DD_LERR_NO_IMAGE },
		{ DD_EABSENT, DD_MSG_START, true, DD_LERR_NO_STICKS },
		{ DD_EINPUT, DD_MSG_START, true, DD_LERR_REFUSED },        /* the image is revoked */
		{ DD_ENOSPACE, DD_MSG_START, true, DD_LERR_NO_SPACE },     /* the audit log is full */
		{ DD_EIO, DD_MSG_START, true, DD_LERR_IO },                /* the batch not kept */
		{ DD_EINTERNAL, DD_MSG_START, true, DD_LERR_INTERNAL },    /* no thread */
		/* trust.c and the server's own */
		{ DD_EINPUT, DD_MSG_REVOKE, true, DD_LERR_REFUSED },
		{ DD_EIO, DD_MSG_REVOKE, true, DD_LERR_IO },
		{ DD_EBUSY, DD_MSG_REVOKE, true, DD_LERR_STATE },
		{ DD_EINPUT, DD_MSG_HELLO, true, DD_LERR_VERSION },
		{ DD_EIO, DD_MSG_LOG, true, DD_LERR_IO },
		{ DD_EABSENT, DD_MSG_SELFTEST, true, DD_LERR_STATE },
		{ DD_EINTERNAL, DD_MSG_SELFTEST, true, DD_LERR_INTERNAL },
		{ DD_EINPUT, 0x7f, true, DD_LERR_TYPE },
		{ DD_ECHECK, DD_MSG_START, true, DD_LERR_INTERNAL },       /* never said: a bug */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (dd_daemon_link_error(cases[i].status, cases[i].type, cases[i].has_image) != cases[i].code)
			CHECK_FAIL_("case %zu: %s for %s gives %u, expected %u", i, dd_status_name(cases[i].status),
				    dd_link_type_name(cases[i].type),
				    dd_daemon_link_error(cases[i].status, cases[i].type, cases[i].has_image), cases[i].code);
}

/* The new statuses have names, and a front end that ever gets one exits as the rules say. */
TEST(new_statuses_named)
{
	CHECK(!strcmp(dd_status_name(DD_EBUSY), "not-now"));
	CHECK(!strcmp(dd_status_name(DD_ENOSPACE), "no-space"));
	CHECK(!strcmp(dd_status_name(DD_EABSENT), "absent"));
	CHECK(!strcmp(dd_status_name(DD_EOFFSET), "bad-offset"));
	CHECK_EQ_INT(dd_exit_status(DD_EBUSY), 2);
	CHECK_EQ_INT(dd_exit_status(DD_EABSENT), 2);
	CHECK_EQ_INT(dd_exit_status(DD_EOFFSET), 2);
	CHECK_EQ_INT(dd_exit_status(DD_ENOSPACE), 1);
	CHECK_EQ_INT(dd_exit_status(DD_EIO), 1); /* the old ones as they were */
	CHECK_EQ_INT(dd_exit_status(DD_EINPUT), 2);
}

int main(void)
{
	RUN(job_refused_without_image);
	RUN(job_refused_without_sticks);
	RUN(job_refused_while_busy);
	RUN(job_refused_revoked_image);
	RUN(job_refused_full_audit_log);
	RUN(job_reports_through_its_sink);
	RUN(link_error_of_every_status);
	RUN(new_statuses_named);
	return check_done();
}
