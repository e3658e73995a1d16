/* The master stick, the daemon's side (master.h): read the DARTDUP folder of the stick in the master
 * port, check and store what it carries through the same store functions as a load over the link,
 * then append the audit records since the last export to the export files on it.
 *
 * It runs in the daemon's main thread, between two turns of the loop, while no job runs (the master
 * port is never part of a job). The board's watchdog is pinged while packages are copied and checked. */
#include "firmware/daemon.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/crashpoint.h"
#include "util/escape.h"

#define MASTER_SLICE (8u << 20) /* bytes checked between two watchdog pings */

/* What the DARTDUP folder holds. */
struct master_files {
	char image[900];     /* "" none */
	char firmware[900];  /* "" none */
	bool has_batch;
	bool has_revocation;
};

static void tick(struct dd_daemon *d)
{
	dd_notify_tick(&d->notify, dd_notify_now_ms());
}

static bool is_dfi(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && !strcasecmp(name + n - 4, ".dfi");
}

/* The folder's files; FAT is case-insensitive, so are the names here. Two images: refused (which
 * one was meant?). */
static int list_folder(const char *folder, struct master_files *f, struct dd_err *err)
{
	struct dirent *de;
	DIR *dir = opendir(folder);
	int rc = DD_OK;

	memset(f, 0, sizeof(*f));
	if (!dir)
		return dd_fail_errno(err, DD_EINPUT, errno, "no %s folder on the master stick", DD_MASTER_DIR);
	while (!rc && (de = readdir(dir))) {
		if (!strcasecmp(de->d_name, DD_MASTER_BATCH))
			f->has_batch = true;
		else if (!strcasecmp(de->d_name, DD_MASTER_REVOCATION))
			f->has_revocation = true;
		else if (!strcasecmp(de->d_name, DD_MASTER_FIRMWARE))
			snprintf(f->firmware, sizeof(f->firmware), "%s/%s", folder, de->d_name);
		else if (is_dfi(de->d_name) && f->image[0])
			rc = dd_fail(err, DD_EINPUT, "two images in %s (%s and another): keep one", DD_MASTER_DIR,
				     de->d_name);
		else if (is_dfi(de->d_name))
			snprintf(f->image, sizeof(f->image), "%s/%s", folder, de->d_name);
	}
	closedir(dir);
	return rc;
}

/* A small file of the folder, whole, into buf (cap bytes: one more than the largest taken, so that a
 * longer file is seen as too long by its parser). */
static int read_small(const char *folder, const char *name, char *buf, size_t cap, size_t *n, struct dd_err *err)
{
	char path[900];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", folder, name);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return dd_fail_errno(err, DD_EINPUT, errno, "%s", name);
	*n = 0;
	for (ssize_t r; *n < cap && (r = read(fd, buf + *n, cap - *n)) != 0; *n += (size_t)r)
		if (r < 0) {
			close(fd);
			return dd_fail_errno(err, DD_EINPUT, errno, "%s", name);
		}
	close(fd);
	return DD_OK;
}

static int read_batch(const char *folder, struct dd_master_batch *b, struct dd_err *err)
{
	char text[DD_MASTER_BATCH_MAX + 1];
	size_t n;
	int rc = read_small(folder, DD_MASTER_BATCH, text, sizeof(text), &n, err);

	return rc ? rc : dd_master_batch_parse(DD_MASTER_BATCH, text, n, b, err);
}

/* revocation.list: taken exactly as over the link (REVOKE: signed by a board key, a newer serial), before
 * the packages, so that an image or bundle it revokes is refused. A list is taken on its own merits: if the
 * packages are then refused it stays (a newer signed list is never worth losing). */
static int take_revocation(struct dd_daemon *d, const char *folder, struct dd_err *err)
{
	size_t n;
	char *text = malloc(DD_LINK_REVOKE_MAX + 1);
	int rc = text ? read_small(folder, DD_MASTER_REVOCATION, text, DD_LINK_REVOKE_MAX + 1, &n, err)
		      : dd_fail(err, DD_ENOMEM, "out of memory");

	if (!rc && n > DD_LINK_REVOKE_MAX)
		rc = dd_fail(err, DD_EINPUT, "%s: longer than %u bytes", DD_MASTER_REVOCATION, DD_LINK_REVOKE_MAX);
	if (!rc)
		rc = dd_store_revocation_load(&d->store, text, n, err);
	free(text);
	return rc;
}

/* --- packages: the same transfer as a LOAD over the link ---------------------------------------- */

static int read_at(int fd, uint8_t *buf, size_t len, uint64_t off, const char *name, struct dd_err *err)
{
	while (len) {
		ssize_t n = pread(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return dd_fail_errno(err, DD_EIO, n ? errno : EIO, "%s: read", name);
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return DD_OK;
}

static int hash_file(struct dd_daemon *d, int fd, uint64_t size, uint8_t *buf, const char *name,
		     uint8_t sha[DD_SHA256_LEN], struct dd_err *err)
{
	struct dd_sha256 h;
	int rc;

	dd_sha256_init(&h);
	for (uint64_t off = 0; off < size; off += DD_STORE_CHUNK) {
		size_t n = size - off < DD_STORE_CHUNK ? (size_t)(size - off) : DD_STORE_CHUNK;

		if ((rc = read_at(fd, buf, n, off, name, err)))
			return rc;
		dd_sha256_update(&h, buf, n);
		if (!(off % MASTER_SLICE))
			tick(d);
	}
	dd_sha256_final(&h, sha);
	return DD_OK;
}

/* LOAD_BEGIN and LOAD_DATA from the file on the stick. */
static int copy_in(struct dd_daemon *d, int fd, uint64_t size, int kind, const char *name, uint8_t *buf,
		   uint32_t *xfer, struct dd_err *err)
{
	struct dd_link_load_begin req = { .kind = (uint8_t)kind, .size = size };
	struct dd_link_load_begin_reply rep;
	uint64_t room, held, expected;
	int rc;

	if ((rc = hash_file(d, fd, size, buf, name, req.sha256, err)))
		return rc;
	if ((rc = dd_store_load_begin(&d->store, &req, &rep, &room, err)))
		return rc;
	*xfer = rep.xfer;
	for (uint64_t off = rep.offset; off < size; off += DD_STORE_CHUNK) {
		struct dd_link_load_data data = { .xfer = rep.xfer, .offset = off, .data = buf };

		data.len = size - off < DD_STORE_CHUNK ? (uint32_t)(size - off) : DD_STORE_CHUNK;
		if ((rc = read_at(fd, buf, data.len, off, name, err)))
			return rc;
		if ((rc = dd_store_load_data(&d->store, &data, &held, &expected, err)))
			return rc;
		if (!(off % MASTER_SLICE))
			tick(d);
	}
	return DD_OK;
}

/* Copy the package at path into the store and check it completely (signature, every block, name rules,
 * room): on DD_OK it waits, verified, to be installed (install_package) or dropped. */
static int check_package(struct dd_daemon *d, const char *path, int kind, struct dd_err *err)
{
	const char *name = strrchr(path, '/') + 1;
	struct dd_link_load_end_reply rep;
	struct stat st;
	uint8_t *buf = NULL;
	uint32_t xfer = 0;
	int fd, rc;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode) || !st.st_size) {
		rc = dd_fail(err, DD_EINPUT, "%s: not a package file", name);
		goto out;
	}
	buf = malloc(DD_STORE_CHUNK);
	rc = buf ? copy_in(d, fd, (uint64_t)st.st_size, kind, name, buf, &xfer, err)
		 : dd_fail(err, DD_ENOMEM, "out of memory");
	if (!rc)
		rc = dd_store_load_end_start(&d->store, xfer, err);
	while (!rc && d->store.xfer[kind].verify != DD_VERIFY_DONE) {
		rc = dd_store_verify_step(&d->store, kind, MASTER_SLICE, false, &rep, err);
		if (rc == DD_STORE_MORE)
			rc = DD_OK;
		tick(d);
	}
	if (rc)
		dd_err_prefix(err, "%s", name);
out:
	if (rc)
		dd_store_xfer_drop(&d->store, kind);
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

static int install_package(struct dd_daemon *d, int kind, struct dd_err *err)
{
	struct dd_link_load_end_reply rep;
	int rc = dd_store_verify_step(&d->store, kind, 0, true, &rep, err);

	if (rc)
		return rc == DD_STORE_MORE ? dd_fail(err, DD_EINTERNAL, "the verified package is not ready") : rc;
	fprintf(stderr, "dartdupd: master stick: stored the %s %s\n", kind == DD_KIND_IMAGE ? "image" : "firmware bundle",
		DD_ESC(rep.name));
	return DD_OK;
}

/* Read and check everything, then store it all: either all of it is taken or nothing changes. */
static int take_master(struct dd_daemon *d, const char *root, struct dd_master_batch *b, struct dd_err *err)
{
	char folder[600];
	struct master_files f;
	int rc;

	snprintf(folder, sizeof(folder), "%s/%s", root, DD_MASTER_DIR);
	memset(b, 0, sizeof(*b));
	b->probe = b->sanitize = DD_MASTER_UNSET;
	if ((rc = list_folder(folder, &f, err)))
		return rc;
	if (f.has_batch && (rc = read_batch(folder, b, err)))
		return rc;
	if (f.has_revocation && (rc = take_revocation(d, folder, err)))
		return rc;
	if (f.image[0] && (rc = check_package(d, f.image, DD_KIND_IMAGE, err)))
		return rc;
	if (f.firmware[0] && (rc = check_package(d, f.firmware, DD_KIND_FIRMWARE, err))) {
		dd_store_xfer_drop(&d->store, DD_KIND_IMAGE);
		return rc;
	}
	if (f.image[0] && (rc = install_package(d, DD_KIND_IMAGE, err)))
		return rc;
	if (f.firmware[0] && (rc = install_package(d, DD_KIND_FIRMWARE, err)))
		return rc;
	return DD_OK;
}

/* batch.conf's batch, operator and time take effect (the image and bundle are stored already). */
static void apply_batch(struct dd_daemon *d, const struct dd_master_batch *b)
{
	struct dd_err e;
	char when[32];

	if (b->has_time && d->clock.source == DD_TIME_UNSET &&
	    dd_clock_set(&d->clock, b->time, DD_TIME_MASTER)) {
		dd_clock_format(b->time, when, sizeof(when));
		fprintf(stderr, "dartdupd: clock set from the master stick: %s\n", when);
	}
	if (b->has_batch)
		dd_copy_str(d->batch, sizeof(d->batch), b->batch);
	if (b->has_operator)
		dd_copy_str(d->operator_, sizeof(d->operator_), b->operator_);
	if ((b->has_batch || b->has_operator) && dd_store_batch_save(&d->store, d->batch, d->operator_, &e))
		fprintf(stderr, "dartdupd: master stick: %s\n", e.msg);
	d->master = *b;
}

/* --- the audit export --------------------------------------------------------------------------- */

struct export_file {
	const char *ext;            /* "jsonl", "csv" */
	char path[900], tmp[920];
	FILE *out;
	uint64_t last;              /* the newest seq the file holds (its old content and what was added) */
	uint64_t added;
	int rc;
	struct dd_err *err;
};

/* A line's seq: {"seq":N,... in the JSONL file, N,... in the CSV file; 0 for the header or a stranger. */
static uint64_t seq_of_line(const char *line)
{
	if (!strncmp(line, "{\"seq\":", 7))
		line += 7;
	return line[0] >= '1' && line[0] <= '9' ? strtoull(line, NULL, 10) : 0;
}

/* The new copy starts as the old file (header first if there is none). */
static int start_copy(struct export_file *x, struct dd_err *err)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	bool whole = true;
	FILE *in;
	int fd;

	fd = open(x->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || !(x->out = fdopen(fd, "w"))) {
		if (fd >= 0)
			close(fd);
		return dd_fail_errno(err, DD_EIO, errno, "%s", x->tmp);
	}
	in = fopen(x->path, "re");
	if (!in && !strcmp(x->ext, "csv"))
		fputs(dd_master_csv_header(), x->out);
	while (in && (n = getline(&line, &cap, in)) > 0) {
		uint64_t s = seq_of_line(line);

		fwrite(line, 1, (size_t)n, x->out);
		whole = line[n - 1] == '\n';
		if (s > x->last)
			x->last = s;
	}
	if (!whole) /* a file edited elsewhere and cut: never glue a record to its last line */
		fputs(strcmp(x->ext, "csv") ? "\n" : "\r\n", x->out);
	free(line);
	if (in)
		fclose(in);
	return ferror(x->out) ? dd_fail_errno(err, DD_EIO, errno, "%s", x->tmp) : DD_OK;
}

static int add_record(void *ctx, uint64_t seq, const char *rec, size_t len)
{
	struct export_file *x = ctx;
	char *row;

	if (seq <= x->last) /* already there: an export cut after its rename, before its mark */
		return 0;
	if (!strcmp(x->ext, "jsonl")) {
		fwrite(rec, 1, len, x->out);
		fputc('\n', x->out);
	} else if ((row = dd_master_csv_row(rec, len))) {
		fputs(row, x->out);
		free(row);
	} else {
		return dd_fail(x->err, DD_EIO, "record %" PRIu64 ": cannot write it as CSV", seq);
	}
	x->added++;
	return ferror(x->out) ? dd_fail_errno(x->err, DD_EIO, errno ? errno : EIO, "%s", x->tmp) : 0;
}

static int finish_copy(struct export_file *x, struct dd_err *err)
{
	int rc = DD_OK;

	if (fflush(x->out) || fsync(fileno(x->out)))
		rc = dd_fail_errno(err, DD_EIO, errno, "%s", x->tmp);
	if (fclose(x->out) && !rc)
		rc = dd_fail_errno(err, DD_EIO, errno, "%s", x->tmp);
	x->out = NULL;
	return rc;
}

/* New copies of both files (old content + the records not in them yet), durable, renamed over the old
 * ones; then the mark advances. A stick pulled at any moment keeps each file whole (old or new), and the
 * mark never passes what is durable on the stick. */
static int export_audit(struct dd_daemon *d, const char *root, uint64_t *count, struct dd_err *err)
{
	struct export_file x[2] = { { .ext = "jsonl", .err = err }, { .ext = "csv", .err = err } };
	char folder[600], name[160];
	uint64_t newest = 0;
	int rc = DD_OK, fin;

	snprintf(folder, sizeof(folder), "%s/%s", root, DD_MASTER_DIR);
	*count = 0;
	for (unsigned k = 0; !rc && k < 2; k++) {
		dd_master_export_name(d->board->serial, x[k].ext, name, sizeof(name));
		snprintf(x[k].path, sizeof(x[k].path), "%s/%s", folder, name);
		snprintf(x[k].tmp, sizeof(x[k].tmp), "%s.tmp", x[k].path);
		if (!(rc = start_copy(&x[k], err)))
			rc = dd_store_log_foreach(&d->store, d->store.log_exported + 1, add_record, &x[k], &newest, err);
		if (x[k].out && (fin = finish_copy(&x[k], err)) && !rc)
			rc = fin;
	}
	dd_crashpoint("master-export-before-rename");
	for (unsigned k = 0; !rc && k < 2; k++)
		if (rename(x[k].tmp, x[k].path))
			rc = dd_fail_errno(err, DD_EIO, errno, "%s", x[k].path);
	if (!rc)
		rc = dd_store_fsync_dir(folder, err);
	for (unsigned k = 0; rc && k < 2; k++)
		if (x[k].tmp[0])
			unlink(x[k].tmp);
	if (rc)
		return rc;
	dd_crashpoint("master-export-before-mark");
	*count = x[0].added > x[1].added ? x[0].added : x[1].added;
	return newest ? dd_store_log_mark_exported(&d->store, newest, err) : DD_OK;
}

/* --- the whole --------------------------------------------------------------------------------- */

static int run_master(struct dd_daemon *d, unsigned i, struct dd_err *err)
{
	const struct dd_board_ops *ops = d->board->ops;
	struct dd_master_batch b;
	char root[512];
	uint64_t n = 0;
	int rc;

	if ((rc = ops->master_mount(d->board, i, false, root, sizeof(root), err)))
		return DD_LIGHT_MASTER_BAD;
	rc = take_master(d, root, &b, err);
	if (rc) {
		ops->master_umount(d->board, i);
		return DD_LIGHT_MASTER_BAD;
	}
	apply_batch(d, &b);
	if (!(rc = ops->master_mount(d->board, i, true, root, sizeof(root), err)))
		rc = export_audit(d, root, &n, err);
	ops->master_umount(d->board, i);
	if (rc)
		return DD_LIGHT_MASTER_NO_EXPORT;
	fprintf(stderr, "dartdupd: master stick: %" PRIu64 " audit record(s) exported\n", n);
	return DD_LIGHT_MASTER_OK;
}

void dd_daemon_master(struct dd_daemon *d, unsigned i)
{
	struct dd_port_slot *p = &d->port[i];
	struct dd_err err = { 0 };

	if (!p->now.present) { /* gone: the verdict goes with it */
		p->master_gen = 0;
		p->master_light = 0;
		return;
	}
	if (p->master_gen == p->now.generation || d->job_state == DD_JOB_RUNNING || !d->board->ops->master_mount)
		return;
	p->master_gen = p->now.generation;
	d->board->ops->set_light(d->board, i, DD_PORT_BUSY, 0);
	p->shown_state = DD_PORT_BUSY;
	p->master_light = run_master(d, i, &err);
	if (p->master_light == DD_LIGHT_MASTER_BAD)
		fprintf(stderr, "dartdupd: master stick refused, nothing changed: %s\n", DD_ESC(err.msg));
	else if (p->master_light == DD_LIGHT_MASTER_NO_EXPORT)
		fprintf(stderr, "dartdupd: master stick: taken, but the audit export failed: %s\n", DD_ESC(err.msg));
}
