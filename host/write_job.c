/* dartdup write / dartdup verify: parse, check every target (common/safety for block devices),
 * confirm, run the engine with the terminal / JSON / audit sinks, exit 0, 1 or 2.
 * All checks happen before the first byte is written anywhere. */
#include "host/write_job.h"

#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/engine.h"
#include "host/access.h"
#include "host/cli.h"
#include "host/fleet/out.h"
#include "host/image.h"
#include "host/fit.h"
#include "host/ports.h"
#include "host/write_ui.h"
#include "util/units.h"
#include "engine/audit.h"
#include "safety/door.h"
#include "util/number.h"
#include "safety/safety.h"
#include "util/escape.h"

#define MAX_PUBKEYS 16

struct opts {
	bool verify_only;
	bool all, yes, json, unmount, allow_non_usb;
	struct dd_policy policy;   /* --no-verify, --full, --retries, --probe, --sanitize (engine/policy.h) */
	const char *log_path;
	struct fleet_out *fleet;    /* --metrics, --log-to (docs/FLEET.md) */
	const char *port_map;       /* --port-map FILE (NULL: ports.h's default if present) */
	const char *pubkeys[MAX_PUBKEYS];
	size_t n_pubkeys;
	const char *image;
	char **targets;
	unsigned n_targets;
};

struct planned {
	struct dd_door_target v;   /* the door's verdict: path, identity, reason when refused */
	struct dd_target *t;
};

/* The one piece of state a signal handler can reach: set on SIGINT/SIGTERM, read by the engine
 * through job.abort_flag. */
static atomic_int stop_requested; /* lock-free: a signal handler may set it, the engine's threads read it */

static void on_signal(int sig)
{
	if (sig == SIGWINCH) {
		write_ui_resized(); /* the next frame re-lays out at the new size */
		return;
	}
	stop_requested = 1;
}

static void usage(FILE *out, bool verify_only)
{
	if (verify_only)
		fprintf(out,
			"usage: dartdup verify IMAGE TARGET... | --all [--json] [--log FILE] [--pubkey PUB]... [--full]\n"
			"\n"
			"Re-verifies sticks (or image files) against IMAGE, read-only: every block the write put\n"
			"there is read back from the medium and its SHA-256 compared with the image's.\n"
			"IMAGE by content, as for write (a compressed image is decoded first, an ISO built).\n"
			"\n"
			"  --all            every USB stick libudev finds\n"
			"  --full           accepted for compatibility: every block is checked, all-zero ones too\n"
			"  --json           one JSON object per line per event\n"
			"  --log FILE       append one JSON audit record per target to FILE\n"
			"  --pubkey PUB     IMAGE must be a .dfi signed by this key (repeatable)\n"
			"  --metrics FILE   keep a node_exporter textfile (*.prom) up to date (docs/FLEET.md)\n"
			"  --log-to syslog|journal  each target's audit record to the system log as well\n"
			"  --port-map FILE  the sockets' names (docs/PORTS.md; default " HOST_PORTMAP_DEFAULT " if present)\n"
			"\n"
			"exit status: 0 every target good, 1 a target differs (first bad offset shown), 2 bad usage/input\n");
	else
		fprintf(out,
			"usage: dartdup write IMAGE TARGET... | --all [--yes] [--json] [--log FILE] [--pubkey PUB]...\n"
			"                     [--metrics FILE] [--log-to syslog|journal]\n"
			"                     [--no-verify] [--full] [--retries N] [--unmount] [--allow-non-usb] [--probe]\n"
			"                     [--sanitize]\n"
			"\n"
			"Writes IMAGE onto every TARGET at once and verifies each by reading it back.\n"
			"IMAGE by content: .dfi, raw, .zst/xz/gzip/bzip2/lz4 (decoded first), a zip of one image, DaRT ISO.\n"
			"TARGET: a whole USB disk (/dev/sdX, /dev/disk/by-path/...) or a regular file;\n"
			"a name under /dev must be an existing disk (a missing /dev/sdz is refused, never created).\n"
			"\n"
			"  --all            every eligible USB stick libudev finds (see dartdup list)\n"
			"  -y, --yes        do not ask for confirmation (needed when not on a terminal)\n"
			"  --json           one JSON object per line per event (start, phase, progress, done, summary)\n"
			"  --log FILE       append one JSON audit record per target to FILE (refused targets too:\n"
			"                   \"refused\" and why; the others of a refused run \"skipped\")\n"
			"  --pubkey PUB     IMAGE must be a .dfi signed by this key (repeatable)\n"
			"  --metrics FILE   keep a node_exporter textfile (*.prom) up to date (docs/FLEET.md)\n"
			"  --log-to syslog|journal  each target's audit record to the system log as well\n"
			"  --port-map FILE  the sockets' names in the views (docs/PORTS.md; default\n"
			"                   " HOST_PORTMAP_DEFAULT " if present; else the kernel's port names, 1-1.4)\n"
			"  --no-verify      skip the read-back (targets are reported \"written\", not \"pass\")\n"
			"  --full           write every block without reading first (default: an all-zero block is\n"
			"                   read first and written only where the stick is not zero; verified always)\n"
			"  --retries N      rewrite and re-read a failing block up to N times (default 2)\n"
			"  --unmount        unmount mounted partitions of the targets (never /, /boot or swap)\n"
			"  --allow-non-usb  allow loop, dm, nvme, virtio, mmc... disks (never this machine's own)\n"
			"  --probe          counterfeit-capacity check of each stick before writing it (overwrites\n"
			"                   about 1 MiB of samples; a stick holding less than it announces fails)\n"
			"  --sanitize       before writing, overwrite each target past the image with zeros, to its\n"
			"                   end, and read it all back (a returned stick keeps none of its old files)\n"
			"\n"
			"exit status: 0 every target verified, 1 a target failed or interrupted, 2 bad usage/input\n"
			"or a target refused (then nothing was written anywhere)\n");
}

static int parse(int argc, char **argv, struct opts *o)
{
	enum { O_ALL = 256, O_JSON, O_LOG, O_PUBKEY, O_NOVERIFY, O_POLICY, O_UNMOUNT, O_NONUSB, O_METRICS, O_LOG_TO,
	       O_PORTMAP };
	static const struct option lo[] = {
		{ "all", no_argument, NULL, O_ALL },
		{ "yes", no_argument, NULL, 'y' },
		{ "json", no_argument, NULL, O_JSON },
		{ "log", required_argument, NULL, O_LOG },
		{ "pubkey", required_argument, NULL, O_PUBKEY },
		{ "no-verify", no_argument, NULL, O_NOVERIFY },
		{ "full", no_argument, NULL, O_POLICY },
		{ "retries", required_argument, NULL, O_POLICY },
		{ "unmount", no_argument, NULL, O_UNMOUNT },
		{ "allow-non-usb", no_argument, NULL, O_NONUSB },
		{ "probe", no_argument, NULL, O_POLICY },
		{ "sanitize", no_argument, NULL, O_POLICY },
		{ "metrics", required_argument, NULL, O_METRICS },
		{ "log-to", required_argument, NULL, O_LOG_TO },
		{ "port-map", required_argument, NULL, O_PORTMAP },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct dd_err err;
	int c, li = -1;

	dd_policy_default(&o->policy);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "yh", lo, &li)) != -1) {
		switch (c) {
		case O_ALL: o->all = true; break;
		case 'y': o->yes = true; break;
		case O_JSON: o->json = true; break;
		case O_LOG: o->log_path = optarg; break;
		case O_PUBKEY:
			if (o->n_pubkeys == MAX_PUBKEYS) {
				cli_error("at most %d --pubkey", MAX_PUBKEYS);
				return 2;
			}
			o->pubkeys[o->n_pubkeys++] = optarg;
			break;
		case O_NOVERIFY: o->policy.verify = false; break;
		case O_POLICY: /* --full, --retries N, --probe, --sanitize: the policy's own words */
			if (dd_policy_set(&o->policy, lo[li].name, optarg, &err)) {
				cli_error("--%s", err.msg);
				return 2;
			}
			break;
		case O_UNMOUNT: o->unmount = true; break;
		case O_NONUSB: o->allow_non_usb = true; break;
		case O_METRICS: o->fleet->metrics_path = optarg; break;
		case O_LOG_TO:
			if (fleet_parse_log_to(optarg, &o->fleet->log_to))
				return 2;
			break;
		case O_PORTMAP: o->port_map = optarg; break;
		case 'h':
			usage(stdout, o->verify_only);
			return 0;
		default:
			cli_error("%s: unknown option (see --help)", argv[optind - 1]);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr, o->verify_only);
		return 2;
	}
	o->image = argv[optind++];
	o->targets = argv + optind;
	o->n_targets = (unsigned)(argc - optind);
	if (!o->n_targets && !o->all) {
		cli_error("no target given (TARGET... or --all)");
		return 2;
	}
	if ((o->policy.probe || o->policy.sanitize) && o->verify_only) {
		cli_error("--%s writes: it belongs to dartdup write", o->policy.probe ? "probe" : "sanitize");
		return 2;
	}
	if (o->n_targets && o->all) {
		cli_error("--all and explicit targets do not go together");
		return 2;
	}
	return -1;
}

/* ---- targets ------------------------------------------------------------------------------- */

static struct dd_door_opts door_opts(const struct opts *o, const struct dd_image_info *info)
{
	struct dd_door_opts d = {
		.safety = { o->allow_non_usb, o->unmount, info->image_size, o->image },
		.read_only = o->verify_only,
		.inputs = &o->image,
		.n_inputs = 1,
	};

	return d;
}

/* Judges one target through the door (common/safety/door.h); prints why when refused.
 * Returns 0 ok, 2 refused (p->v.reason says why, for the audit record). */
static int check_target(const struct opts *o, const struct dd_image_info *info, struct planned *p)
{
	struct dd_door_opts d = door_opts(o, info);
	struct dd_err err;
	char hint[192];

	if (dd_door_judge_target(p->v.path, &d, &p->v, &err)) {
		if (!p->v.reason[0])
			snprintf(p->v.reason, sizeof(p->v.reason), "%.255s", err.msg);
		cli_error("%s", err.msg);
		return 2;
	}
	if (p->v.exists && !host_access_ok(p->v.real, o->verify_only)) {
		/* said before the prompt, with what to do, rather than "Permission denied" after it */
		if (p->v.is_dev)
			snprintf(p->v.reason, sizeof(p->v.reason), "this user may not open it for %s: %s",
				 o->verify_only ? "reading" : "writing", host_access_hint(p->v.real, hint, sizeof(hint)));
		else
			snprintf(p->v.reason, sizeof(p->v.reason), "this user may not %s this file (its permissions)",
				 o->verify_only ? "read" : "write");
		p->v.kind = DD_FAIL_REFUSED;
		cli_error("%s: refused: %s", p->v.path, p->v.reason);
		return 2;
	}
	if (o->policy.probe && !p->v.is_dev) {
		/* a file has no announced capacity to fake; probing it would only make it huge and sparse */
		snprintf(p->v.reason, sizeof(p->v.reason), "--probe checks block devices, not files");
		cli_error("%s: refused: %s", p->v.path, p->v.reason);
		return 2;
	}
	return 0;
}

static bool same_target(const struct planned *a, const struct planned *b)
{
	if (!a->v.exists || !b->v.exists)
		return !strcmp(a->v.real, b->v.real);
	if (a->v.is_dev != b->v.is_dev)
		return false;
	return a->v.is_dev ? a->v.st.st_rdev == b->v.st.st_rdev
			   : a->v.st.st_dev == b->v.st.st_dev && a->v.st.st_ino == b->v.st.st_ino;
}

static int plan_all(const struct opts *o, const struct dd_image_info *info, struct planned **out, unsigned *n)
{
	struct dd_safety_opts so = { o->allow_non_usb, o->unmount, info->image_size, o->image };
	struct dd_disk *disks;
	unsigned nd, k = 0;
	struct dd_err err;

	if (dd_safety_list(&so, &disks, &nd, &err)) {
		cli_error("%s", err.msg);
		return 2;
	}
	*out = calloc(nd ? nd : 1, sizeof(**out));
	if (!*out) {
		dd_safety_free(disks);
		return 2;
	}
	for (unsigned i = 0; i < nd; i++) {
		/* --all means USB sticks only, whatever --allow-non-usb says */
		if (!disks[i].usb || !(disks[i].eligible || o->verify_only))
			continue;
		snprintf((*out)[k].v.path, sizeof((*out)[k].v.path), "%s", disks[i].devnode);
		k++;
	}
	dd_safety_free(disks);
	*n = k;
	if (!k) {
		cli_error("--all: no eligible USB stick found (see dartdup list)");
		return 2;
	}
	return 0;
}

static int plan_targets(const struct opts *o, const struct dd_image_info *info, struct planned **out,
			unsigned *n)
{
	int rc = 0;

	if (o->all) {
		if ((rc = plan_all(o, info, out, n)))
			return rc;
	} else {
		*n = o->n_targets;
		*out = calloc(*n, sizeof(**out));
		if (!*out)
			return 2;
		for (unsigned i = 0; i < *n; i++)
			snprintf((*out)[i].v.path, sizeof((*out)[i].v.path), "%s", o->targets[i]);
	}
	/* check them all (and report every refusal) before touching any */
	for (unsigned i = 0; i < *n; i++) {
		struct planned *p = &(*out)[i];
		int r = check_target(o, info, p);

		rc = rc ? rc : r;
		for (unsigned k = 0; k < i && !r; k++)
			if (same_target(p, &(*out)[k])) {
				snprintf(p->v.reason, sizeof(p->v.reason), "given twice (same as %.200s)", (*out)[k].v.path);
				cli_error("%s: %s", p->v.path, p->v.reason);
				rc = 2;
				break;
			}
	}
	return rc;
}

/* The answer confirms only when it is a whole line holding the word yes, in lower case; blanks around it
 * do not matter (a stray space is not a different answer). "y", "YES", "yes please", a line longer than
 * the buffer and end of input do not. */
static bool is_yes(const char *line)
{
	size_t n;

	if (!strchr(line, '\n'))
		return false;
	line += strspn(line, " \t");
	n = strcspn(line, " \t\r\n");
	return n == 3 && !strncmp(line, "yes", 3) && !line[n + strspn(line + n, " \t\r\n")];
}

static bool confirm(const struct opts *o, const struct dd_image_info *info, const struct planned *p, unsigned n)
{
	char line[64], size[24];

	if (o->yes || o->verify_only)
		return true;
	if (!isatty(STDIN_FILENO)) {
		cli_error("refusing to write without confirmation: not a terminal (add --yes)");
		return false;
	}
	/* the image's name and the sticks' strings are not ours: escaped (util/escape.h) */
	fprintf(stderr, "Write %s (%" PRIu64 " bytes) onto %u target(s)? Everything on them is lost:\n",
		DD_ESC(info->name), info->image_size, n);
	for (unsigned i = 0; i < n; i++) {
		const struct dd_disk *d = &p[i].v.disk;

		if (p[i].v.is_dev)
			fprintf(stderr, "  %-16s %-10.10s %-16.16s %-10.10s %10s  %s%s\n", DD_ESC(p[i].v.path),
				DD_ESC(d->id.vendor[0] ? d->id.vendor : "-"), DD_ESC(d->id.model[0] ? d->id.model : "-"),
				DD_ESC(d->id.usb[0] ? d->id.usb : d->id.port[0] ? d->id.port : "-"),
				dd_fmt_size(size, sizeof(size), d->id.capacity),
				DD_ESC(d->id.serial[0] ? d->id.serial : "-"),
				d->needs_unmount ? "  (will be unmounted)" : "");
		else
			fprintf(stderr, "  %-16s (file)\n", DD_ESC(p[i].v.path));
	}
	fprintf(stderr, "Type yes to continue: ");
	if (fgets(line, sizeof(line), stdin) && is_yes(line))
		return true;
	fprintf(stderr, "not confirmed (only yes confirms): nothing written\n");
	return false;
}

/* A later target could not be opened: the files the door created for the first n (new, empty, made
 * O_EXCL by us) go again, so a refused run leaves nothing behind. */
static void forget_new_files(struct planned *p, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		dd_target_close(p[i].t);
		p[i].t = NULL;
		if (!p[i].v.exists)
			unlink(p[i].v.real);
	}
}

/* Opens every target through the door; a target that cannot be opened is refused (its reason kept
 * for the audit record), and then none is written. */
static int open_targets(const struct opts *o, const struct dd_image_info *info, struct planned *p, unsigned n)
{
	struct dd_door_opts d = door_opts(o, info);
	struct dd_err err;

	for (unsigned i = 0; i < n; i++) {
		if (dd_door_open_target(&p[i].v, &d, info->image_size, &p[i].t, &err)) {
			snprintf(p[i].v.reason, sizeof(p[i].v.reason), "%.255s", err.msg);
			cli_error("%s", err.msg);
			forget_new_files(p, i);
			return 2;
		}
	}
	return 0;
}

/* A run that stopped before the engine: one audit record per target anyway. The refused ones say
 * "refused" and why; the others "skipped" (nothing was written to them either). */
static void audit_not_run(const struct opts *o, const struct dd_source *src, const struct planned *p,
			  unsigned n, const char *why_skipped)
{
	struct dd_audit_job aj = {
		.image_id = src->info.image_id, .image_name = src->info.name,
		.mode = o->verify_only ? "verify" : "write",
	};
	struct dd_target_status st;
	struct dd_json j;
	struct dd_err err;
	bool failed = false;

	if (!o->log_path && !fleet_out_active(o->fleet))
		return;
	dd_json_init(&j);
	for (unsigned i = 0; i < n; i++) {
		if (p[i].v.reason[0])
			dd_audit_not_run(&st, DD_RESULT_REFUSED, p[i].v.kind, p[i].v.reason);
		else
			dd_audit_not_run(&st, DD_RESULT_SKIPPED, DD_FAIL_NONE, why_skipped);
		fleet_out_stick(o->fleet, &aj, &p[i].v.id, &st);
		if (!o->log_path)
			continue;
		dd_audit_format(&j, &aj, &p[i].v.id, &st);
		if (!failed && dd_audit_append(o->log_path, dd_json_text(&j), &err)) {
			cli_error("%s", err.msg);
			failed = true;
		}
	}
	dd_json_free(&j);
}

/* ---- the job ------------------------------------------------------------------------------- */

static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);
}

/* The job's sink: the terminal/JSON/--log view, then --metrics and --log-to for each finished target. */
struct job_sinks {
	struct write_ui *ui;
	struct fleet_out *fleet;
};

static void job_emit(void *ctx, const struct dd_event *ev)
{
	struct job_sinks *s = ctx;

	write_ui_emit(s->ui, ev);
	if (ev->type == DD_EV_TARGET_DONE && ev->id && ev->status)
		fleet_out_stick(s->fleet, &s->ui->audit, ev->id, ev->status);
}

static int run_job(const struct opts *o, struct dd_source *src, struct planned *p, unsigned n)
{
	struct dd_target **targets = calloc(n, sizeof(*targets));
	const struct dd_target_identity **ids = calloc(n, sizeof(*ids));
	struct dd_target_status *st = calloc(n, sizeof(*st));
	char (*labels)[DD_PORT_LABEL_MAX] = calloc(n, sizeof(*labels));
	struct dd_portmap *map = malloc(sizeof(*map));
	char map_file[256];
	struct write_ui ui;
	struct job_sinks sinks = { &ui, o->fleet };
	struct dd_job job;
	struct dd_err err;
	int rc, status;

	memset(&ui, 0, sizeof(ui));
	if (!targets || !ids || !st || !labels || !map) {
		status = 1;
		goto out;
	}
	if (host_portmap_load(o->port_map, map, map_file, sizeof(map_file), &err)) {
		cli_error("%s", err.msg);
		status = 2;
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		targets[i] = p[i].t;
		ids[i] = &p[i].t->id;
		if (ids[i]->port[0]) /* a file target has no socket */
			dd_port_label(map, ids[i]->port, ids[i]->usb, labels[i], sizeof(labels[i]));
	}
	ui.json = o->json;
	ui.tty = !o->json && isatty(STDOUT_FILENO);
	ui.colour = !o->json && term_colour(STDOUT_FILENO);
	ui.labels = (const char (*)[DD_PORT_LABEL_MAX])labels;
	ui.out = stdout;
	ui.log_path = o->log_path;
	ui.audit.image_id = src->info.image_id;
	ui.audit.image_name = src->info.name;
	ui.audit.mode = o->verify_only ? "verify" : "write";
	ui.info = &src->info;
	ui.n = n;
	ui.ids = ids;
	if (write_ui_init(&ui)) {
		status = 1;
		goto out;
	}
	memset(&job, 0, sizeof(job));
	job.src = src;
	job.targets = targets;
	job.n_targets = n;
	job.policy = o->policy;
	job.policy.verify_only = o->verify_only;
	job.sink.emit = job_emit;
	job.sink.ctx = &sinks;
	job.abort_flag = &stop_requested;

	dd_err_clear(&err);
	rc = dd_engine_run(&job, st, &err);
	if (rc == DD_ESAFETY || rc == DD_EINPUT || rc == DD_EUSAGE || rc == DD_EINTERNAL || rc == DD_ENOMEM) {
		cli_error("%s", err.msg);
		status = dd_exit_status(rc);
		goto out;
	}
	write_ui_summary(&ui, st);
	status = dd_exit_status(rc);
	if (rc == DD_EABORT)
		cli_error("interrupted: unfinished targets are incomplete, never good");
	if (ui.log_failures) {
		cli_error("%s", ui.log_error);
		status = status ? status : 1;
	}
	if (o->fleet->failures) /* told on stderr when it happened */
		status = status ? status : 1;
out:
	write_ui_free(&ui);
	free(map);
	free(labels);
	free(st);
	free(ids);
	free(targets);
	return status;
}

int write_job_main(int argc, char **argv, bool verify_only)
{
	struct fleet_out fleet = { 0 };
	struct opts o = { .verify_only = verify_only, .fleet = &fleet };
	struct dd_source_opts so = { 0 };
	struct dd_source *src = NULL;
	struct planned *p = NULL;
	unsigned n = 0;
	struct dd_err err;
	int rc;

	if ((rc = parse(argc, argv, &o)) >= 0)
		return rc;
	if (o.log_path && dd_door_judge_log(o.log_path, &o.image, 1, &err)) {
		cli_error("%s", err.msg);
		return 2;
	}
	fleet.inputs = &o.image;
	fleet.n_inputs = 1;
	fleet.probed = o.policy.probe;
	if (fleet_out_open(&fleet, &err)) {
		cli_error("%s", err.msg);
		return 2;
	}
	/* a signal from here on stops the job cleanly (before any write: nothing is done) */
	catch_signals();
	so.pubkeys = o.pubkeys;
	so.n_pubkeys = o.n_pubkeys;
	/* IMAGE by content, through the one door (host/image.h): decoded or built before any target opens */
	if (host_image_open(o.image, &so, &src, &err)) {
		cli_error("%s", err.msg);
		fleet_out_close(&fleet);
		return 2; /* no target was opened: nothing was done, whatever went wrong (a full $TMPDIR too) */
	}
	fleet_out_image(&fleet, src->info.image_id, src->info.name);
	rc = plan_targets(&o, &src->info, &p, &n);
	if (rc && p)
		audit_not_run(&o, src, p, n, "not started: another target was refused");
	if (!rc && !confirm(&o, &src->info, p, n)) {
		rc = 2;
		audit_not_run(&o, src, p, n, "not started: not confirmed");
	}
	if (!rc && stop_requested) {
		rc = 2;
		audit_not_run(&o, src, p, n, "not started: interrupted");
	}
	if (!rc && (rc = open_targets(&o, &src->info, p, n)))
		audit_not_run(&o, src, p, n, "not started: another target was refused");
	if (!rc)
		rc = run_job(&o, src, p, n);
	for (unsigned i = 0; p && i < n; i++)
		if (p[i].t)
			dd_target_close(p[i].t);
	free(p);
	dd_source_close(src);
	fleet_out_close(&fleet);
	return rc;
}
