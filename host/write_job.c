/* dartdup write / dartdup verify: parse, check every target (common/safety for block devices),
 * confirm, run the engine with the terminal / JSON / audit sinks, exit 0, 1 or 2.
 * All checks happen before the first byte is written anywhere. */
#include "host/write_job.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "engine/engine.h"
#include "host/cli.h"
#include "host/iso/build.h"
#include "host/write_ui.h"
#include "safety/safety.h"

#define MAX_PUBKEYS 16

struct opts {
	bool verify_only;
	bool all, yes, json, no_verify, full, unmount, allow_non_usb, probe;
	int retries;
	const char *log_path;
	const char *pubkeys[MAX_PUBKEYS];
	size_t n_pubkeys;
	const char *image;
	char **targets;
	unsigned n_targets;
};

struct planned {
	char path[PATH_MAX];
	bool is_dev;
	struct stat st;
	bool exists;
	struct dd_disk disk;
	struct dd_target *t;
};

/* The one piece of state a signal handler can reach: set on SIGINT/SIGTERM, read by the engine
 * through job.abort_flag. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
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
			"\n"
			"  --all            every USB stick libudev finds\n"
			"  --full           accepted for compatibility: every block is checked, all-zero ones too\n"
			"  --json           one JSON object per line per event\n"
			"  --log FILE       append one JSON audit record per target to FILE\n"
			"  --pubkey PUB     IMAGE must be a .dfi signed by this key (repeatable)\n"
			"\n"
			"exit status: 0 every target good, 1 a target differs (first bad offset shown), 2 bad usage/input\n");
	else
		fprintf(out,
			"usage: dartdup write IMAGE TARGET... | --all [--yes] [--json] [--log FILE] [--pubkey PUB]...\n"
			"                     [--no-verify] [--full] [--retries N] [--unmount] [--allow-non-usb] [--probe]\n"
			"\n"
			"Writes IMAGE (.dfi, raw .img or plain .zst) onto every TARGET at once and verifies each by\n"
			"reading it back. TARGET: a whole USB disk (/dev/sdX, /dev/disk/by-path/...) or a regular file.\n"
			"\n"
			"  --all            every eligible USB stick libudev finds (see dartdup list)\n"
			"  -y, --yes        do not ask for confirmation (needed when not on a terminal)\n"
			"  --json           one JSON object per line per event (start, phase, progress, done, summary)\n"
			"  --log FILE       append one JSON audit record per target to FILE\n"
			"  --pubkey PUB     IMAGE must be a .dfi signed by this key (repeatable)\n"
			"  --no-verify      skip the read-back (targets are reported \"written\", not \"pass\")\n"
			"  --full           write every block without reading first (default: an all-zero block is\n"
			"                   read first and written only where the stick is not zero; verified always)\n"
			"  --retries N      rewrite and re-read a failing block up to N times (default 2)\n"
			"  --unmount        unmount mounted partitions of the targets (never /, /boot or swap)\n"
			"  --allow-non-usb  allow loop, dm, nvme, virtio, mmc... disks (never this machine's own)\n"
			"  --probe          counterfeit-capacity check of each stick before writing it (overwrites\n"
			"                   about 1 MiB of samples; a stick holding less than it announces fails)\n"
			"\n"
			"exit status: 0 every target verified, 1 a target failed or interrupted, 2 bad usage/input\n"
			"or a target refused (then nothing was written anywhere)\n");
}

static int parse(int argc, char **argv, struct opts *o)
{
	enum { O_ALL = 256, O_JSON, O_LOG, O_PUBKEY, O_NOVERIFY, O_FULL, O_RETRIES, O_UNMOUNT, O_NONUSB, O_PROBE };
	static const struct option lo[] = {
		{ "all", no_argument, NULL, O_ALL },
		{ "yes", no_argument, NULL, 'y' },
		{ "json", no_argument, NULL, O_JSON },
		{ "log", required_argument, NULL, O_LOG },
		{ "pubkey", required_argument, NULL, O_PUBKEY },
		{ "no-verify", no_argument, NULL, O_NOVERIFY },
		{ "full", no_argument, NULL, O_FULL },
		{ "retries", required_argument, NULL, O_RETRIES },
		{ "unmount", no_argument, NULL, O_UNMOUNT },
		{ "allow-non-usb", no_argument, NULL, O_NONUSB },
		{ "probe", no_argument, NULL, O_PROBE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char *end;
	int c;

	o->retries = 2;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "yh", lo, NULL)) != -1) {
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
		case O_NOVERIFY: o->no_verify = true; break;
		case O_FULL: o->full = true; break;
		case O_RETRIES:
			errno = 0;
			o->retries = (int)strtol(optarg, &end, 10);
			if (errno || *end || !*optarg || o->retries < 0 || o->retries > 100) {
				cli_error("--retries %s: expected a number from 0 to 100", optarg);
				return 2;
			}
			break;
		case O_UNMOUNT: o->unmount = true; break;
		case O_NONUSB: o->allow_non_usb = true; break;
		case O_PROBE: o->probe = true; break;
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
	if (o->probe && o->verify_only) {
		cli_error("--probe writes: it belongs to dartdup write");
		return 2;
	}
	if (o->n_targets && o->all) {
		cli_error("--all and explicit targets do not go together");
		return 2;
	}
	return -1;
}

/* ---- targets ------------------------------------------------------------------------------- */

static uint64_t free_bytes(const char *path)
{
	char dir[PATH_MAX];
	struct statvfs v;

	snprintf(dir, sizeof(dir), "%s", path);
	if (statvfs(dirname(dir), &v))
		return 0;
	return (uint64_t)v.f_bavail * v.f_frsize;
}

/* Checks one target; prints why when refused. Returns 0 ok, 2 refused/bad. */
static int check_target(const struct opts *o, const struct stat *img, const struct dd_image_info *info,
			struct planned *p)
{
	struct dd_safety_opts so = { o->allow_non_usb, o->unmount, info->image_size, o->image };
	struct dd_err err;

	p->exists = stat(p->path, &p->st) == 0;
	if (o->probe && (!p->exists || !S_ISBLK(p->st.st_mode))) {
		/* a file has no announced capacity to fake; probing it would only make it huge and sparse */
		cli_error("%s: refused: --probe checks block devices, not files", p->path);
		return 2;
	}
	if (!p->exists) {
		if (errno != ENOENT || o->verify_only) {
			cli_error("%s: %s", p->path, strerror(errno));
			return 2;
		}
		if (free_bytes(p->path) < info->image_size) {
			cli_error("%s: refused: too small: its file system has %" PRIu64 " bytes free, the image needs %" PRIu64,
				  p->path, free_bytes(p->path), info->image_size);
			return 2;
		}
		return 0;
	}
	if (S_ISREG(p->st.st_mode)) {
		if (p->st.st_dev == img->st_dev && p->st.st_ino == img->st_ino) {
			cli_error("%s: refused: this is the image itself", p->path);
			return 2;
		}
		if (!o->verify_only && (uint64_t)p->st.st_size + free_bytes(p->path) < info->image_size) {
			cli_error("%s: refused: too small: %" PRIu64 " bytes with the free space, the image needs %" PRIu64,
				  p->path, (uint64_t)p->st.st_size + free_bytes(p->path), info->image_size);
			return 2;
		}
		return 0;
	}
	if (!S_ISBLK(p->st.st_mode)) {
		cli_error("%s: refused: not a regular file or a block device", p->path);
		return 2;
	}
	p->is_dev = true;
	if (o->verify_only) {
		/* reading is harmless: no eligibility rules, only the names */
		so.allow_non_usb = true;
		so.min_size = 0;
		so.image_path = NULL;
		so.unmount = true;
		dd_safety_check(p->path, &so, &p->disk, &err);
		return 0;
	}
	if (dd_safety_check(p->path, &so, &p->disk, &err)) {
		cli_error("%s", err.msg);
		return 2;
	}
	return 0;
}

static bool same_target(const struct planned *a, const struct planned *b)
{
	if (!a->exists || !b->exists)
		return !strcmp(a->path, b->path);
	if (a->is_dev != b->is_dev)
		return false;
	return a->is_dev ? a->st.st_rdev == b->st.st_rdev
			 : a->st.st_dev == b->st.st_dev && a->st.st_ino == b->st.st_ino;
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
		snprintf((*out)[k].path, sizeof((*out)[k].path), "%s", disks[i].devnode);
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
	struct stat img;
	int rc = 0;

	if (stat(o->image, &img))
		memset(&img, 0, sizeof(img));
	if (o->all) {
		if ((rc = plan_all(o, info, out, n)))
			return rc;
	} else {
		*n = o->n_targets;
		*out = calloc(*n, sizeof(**out));
		if (!*out)
			return 2;
		for (unsigned i = 0; i < *n; i++)
			snprintf((*out)[i].path, sizeof((*out)[i].path), "%s", o->targets[i]);
	}
	/* check them all (and report every refusal) before touching any */
	for (unsigned i = 0; i < *n; i++) {
		int r = check_target(o, &img, info, &(*out)[i]);

		rc = rc ? rc : r;
		for (unsigned k = 0; k < i && !r; k++)
			if (same_target(&(*out)[i], &(*out)[k])) {
				cli_error("%s: given twice (same as %s)", (*out)[i].path, (*out)[k].path);
				rc = 2;
				break;
			}
	}
	return rc;
}

static bool confirm(const struct opts *o, const struct dd_image_info *info, const struct planned *p, unsigned n)
{
	char line[64];

	if (o->yes || o->verify_only)
		return true;
	if (!isatty(STDIN_FILENO)) {
		cli_error("refusing to write without confirmation: not a terminal (add --yes)");
		return false;
	}
	fprintf(stderr, "Write %s (%" PRIu64 " bytes) onto %u target(s)? Everything on them is lost:\n",
		info->name, info->image_size, n);
	for (unsigned i = 0; i < n; i++) {
		const struct dd_disk *d = &p[i].disk;

		if (p[i].is_dev)
			fprintf(stderr, "  %-16s %-10s %-16s %-24s %8.1f GB  %s%s\n", p[i].path,
				d->id.vendor[0] ? d->id.vendor : "-", d->id.model[0] ? d->id.model : "-",
				d->id.port[0] ? d->id.port : "-", (double)d->id.capacity / 1e9,
				d->id.serial[0] ? d->id.serial : "-", d->needs_unmount ? "  (will be unmounted)" : "");
		else
			fprintf(stderr, "  %-16s (file)\n", p[i].path);
	}
	fprintf(stderr, "Type yes to continue: ");
	if (!fgets(line, sizeof(line), stdin))
		return false;
	return !strcmp(line, "yes\n") || !strcmp(line, "y\n");
}

static int open_targets(const struct opts *o, const struct dd_image_info *info, struct planned *p, unsigned n)
{
	enum dd_target_mode mode = o->verify_only ? DD_TARGET_READONLY : DD_TARGET_WRITE;
	struct dd_safety_opts so = { o->allow_non_usb, o->unmount, info->image_size, o->image };
	struct dd_err err;

	for (unsigned i = 0; i < n; i++) {
		if (p[i].is_dev && !o->verify_only && p[i].disk.needs_unmount &&
		    dd_safety_unmount(&p[i].disk, &so, &err)) {
			cli_error("%s", err.msg);
			return 2;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		int rc = p[i].is_dev ? dd_target_blockdev_open(p[i].path, mode, &p[i].t, &err)
				     : dd_target_file_open(p[i].path, mode, info->image_size, &p[i].t, &err);

		if (rc) {
			cli_error("%s", err.msg);
			return 2;
		}
		if (p[i].is_dev) {
			struct dd_target_identity *id = &p[i].t->id;

			memcpy(id->port, p[i].disk.id.port, sizeof(id->port));
			memcpy(id->vendor, p[i].disk.id.vendor, sizeof(id->vendor));
			memcpy(id->model, p[i].disk.id.model, sizeof(id->model));
			memcpy(id->serial, p[i].disk.id.serial, sizeof(id->serial));
		}
	}
	return 0;
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
}

static int run_job(const struct opts *o, struct dd_source *src, struct planned *p, unsigned n)
{
	struct dd_target **targets = calloc(n, sizeof(*targets));
	const struct dd_target_identity **ids = calloc(n, sizeof(*ids));
	struct dd_target_status *st = calloc(n, sizeof(*st));
	struct write_ui ui;
	struct dd_job job;
	struct dd_err err;
	int rc, status;

	memset(&ui, 0, sizeof(ui));
	if (!targets || !ids || !st) {
		status = 1;
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		targets[i] = p[i].t;
		ids[i] = &p[i].t->id;
	}
	ui.json = o->json;
	ui.tty = !o->json && isatty(STDOUT_FILENO);
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
	dd_policy_default(&job.policy);
	job.policy.verify = !o->no_verify;
	job.policy.verify_only = o->verify_only;
	job.policy.full = o->full;
	job.policy.retries = o->retries;
	job.policy.probe = o->probe;
	job.sink.emit = write_ui_emit;
	job.sink.ctx = &ui;
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
out:
	write_ui_free(&ui);
	free(st);
	free(ids);
	free(targets);
	return status;
}

int write_job_main(int argc, char **argv, bool verify_only)
{
	struct opts o = { .verify_only = verify_only };
	struct dd_source_opts so = { 0 };
	struct dd_source *src = NULL;
	struct planned *p = NULL;
	unsigned n = 0;
	struct dd_err err;
	int rc;

	if ((rc = parse(argc, argv, &o)) >= 0)
		return rc;
	/* a signal from here on stops the job cleanly (before any write: nothing is done) */
	catch_signals();
	so.pubkeys = o.pubkeys;
	so.n_pubkeys = o.n_pubkeys;
	/* IMAGE: .dfi, raw, plain .zst by content; a DaRT ISO is built into a temporary image first */
	if (dd_build_is_iso(o.image) ? dd_build_open_source(o.image, NULL, &so, &src, NULL, &err)
				     : dd_source_open(o.image, &so, &src, &err)) {
		cli_error("%s", err.msg);
		return dd_exit_status(err.code) ? dd_exit_status(err.code) : 2;
	}
	rc = plan_targets(&o, &src->info, &p, &n);
	if (!rc && !confirm(&o, &src->info, p, n))
		rc = 2;
	if (!rc && stop_requested)
		rc = 2;
	if (!rc)
		rc = open_targets(&o, &src->info, p, n);
	if (!rc)
		rc = run_job(&o, src, p, n);
	for (unsigned i = 0; p && i < n; i++)
		dd_target_close(p[i].t);
	free(p);
	dd_source_close(src);
	return rc;
}
