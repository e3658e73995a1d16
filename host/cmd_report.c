/* dartdup report AUDIT.jsonl... -o report.html [--csv report.csv] [--json]: audit records -> one
 * self-contained HTML page (inline CSS and SVG, nothing from the network) and the same figures as CSV.
 * The logs are streamed line by line: memory is bounded by the report's tables (host/report/agg.h). */
#include "host/cli.h"
#include "host/report/agg.h"
#include "host/report/render.h"
#include "safety/door.h"
#include "util/escape.h"
#include "util/json.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536

static void report_usage(FILE *out)
{
	fprintf(out,
		"usage: dartdup report AUDIT.jsonl... -o REPORT.html [--csv REPORT.csv] [--json]\n"
		"\n"
		"Reads audit logs (write/verify/station --log, dartdup board log --json) and makes one HTML page\n"
		"that needs nothing else to open (no script, nothing from the network): sticks per hour, pass and\n"
		"fail by port, failure kinds, write and verify speed by vendor and model, counterfeit sticks by\n"
		"model, where sticks first went bad. --csv writes the same figures as CSV (UTF-8, for spreadsheets).\n"
		"A damaged line is counted and named (file and line), never fatal. Outputs are replaced atomically.\n"
		"\n"
		"  -o, --output FILE   the HTML page\n"
		"      --csv FILE      the figures as CSV\n"
		"      --json          one summary object on standard output (docs/EVENTS.md)\n"
		"\n"
		"exit status: 0 report written, 1 it could not be written, 2 bad usage or a log that cannot be read\n");
}

struct progress {
	bool on;
	struct timespec last;
};

static void progress_show(struct progress *p, const char *file, off_t done, off_t size, uint64_t records,
			  bool force)
{
	struct timespec now;

	if (!p->on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!force && (now.tv_sec - p->last.tv_sec) * 1000 + (now.tv_nsec - p->last.tv_nsec) / 1000000 < 200)
		return;
	p->last = now;
	if (size > 0)
		fprintf(stderr, "\rreport: %s %3d%% (%" PRIu64 " records)\033[K", DD_ESC(file),
			(int)(100 * (double)done / (double)size), records);
	else
		fprintf(stderr, "\rreport: %s (%" PRIu64 " records)\033[K", DD_ESC(file), records);
}

/* Streams one open log into a: lines are cut at '\n'; a line longer than REP_LINE_MAX is dropped as it
 * goes (counted as damaged), so a log without newlines cannot grow memory. */
static int read_log(int fd, const char *name, struct rep_agg *a, struct progress *pg, struct dd_err *err)
{
	static char chunk[CHUNK];
	char *line = malloc(REP_LINE_MAX + 1);
	size_t len = 0;
	bool too_long = false;
	uint64_t lineno = 1;
	off_t done = 0;
	struct stat st;
	ssize_t n;
	int rc = DD_OK;

	if (!line)
		return dd_fail(err, DD_ENOMEM, "%s: out of memory", name);
	if (fstat(fd, &st))
		st.st_size = 0;
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = dd_fail_errno(err, DD_EIO, errno, "%s", name);
			break;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (chunk[i] != '\n') {
				if (len < REP_LINE_MAX)
					line[len++] = chunk[i];
				else
					too_long = true;
				continue;
			}
			if (too_long) {
				a->lines++;
				rep_agg_damaged(a, name, lineno, "line too long");
			} else
				rep_agg_line(a, line, len, name, lineno);
			lineno++;
			len = 0;
			too_long = false;
		}
		done += n;
		progress_show(pg, name, done, S_ISREG(st.st_mode) ? st.st_size : 0, a->records, false);
	}
	if (!rc && too_long) {
		a->lines++;
		rep_agg_damaged(a, name, lineno, "line too long");
	} else if (!rc && len)
		rep_agg_line(a, line, len, name, lineno); /* the last line, without its newline */
	free(line);
	return rc;
}

/* A log is a regular file or a stream handed over (a pipe): never a device, a folder or a socket. */
static int open_log(const char *path, int *fd, struct dd_err *err)
{
	struct stat st;

	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (*fd < 0)
		return dd_fail_errno(err, DD_EINPUT, errno, "%s", path);
	if (fstat(*fd, &st) || !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode))) {
		close(*fd);
		*fd = -1;
		return dd_fail(err, DD_EINPUT, "%s: not a log file (a regular file or a pipe)", path);
	}
	fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) & ~O_NONBLOCK);
	return DD_OK;
}

typedef int (*render_fn)(FILE *f, const struct rep_agg *a, const struct rep_meta *m);

/* Judged by the door (a new file beside path, created exclusively), written, synced, then renamed over
 * path, which is judged again just before: a reader never sees half a report, a failure leaves the old one. */
static int write_atomic(const char *path, const char *const *inputs, unsigned n_inputs, render_fn render,
			const struct rep_agg *a, const struct rep_meta *m, struct dd_err *err)
{
	char tmp[PATH_MAX];
	FILE *f;
	int fd, rc;

	if ((rc = dd_door_judge_output(path, inputs, n_inputs, err)))
		return rc;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid()) >= sizeof(tmp))
		return dd_fail(err, DD_EUSAGE, "%s: path too long", path);
	if ((rc = dd_door_open_output(tmp, inputs, n_inputs, O_WRONLY, DD_DOOR_EXCL, 0644, &fd, err)))
		return rc;
	f = fdopen(fd, "w");
	if (!f) {
		rc = dd_fail_errno(err, DD_ENOMEM, errno, "%s", tmp);
		close(fd);
		goto fail;
	}
	errno = 0;
	if (render(f, a, m) || fflush(f) || fsync(fileno(f))) {
		rc = dd_fail_errno(err, DD_EIO, errno ? errno : EIO, "%s: write failed", tmp);
		fclose(f);
		goto fail;
	}
	if (fclose(f)) {
		rc = dd_fail_errno(err, DD_EIO, errno, "%s: write failed", tmp);
		goto fail;
	}
	if ((rc = dd_door_judge_output(path, inputs, n_inputs, err)))
		goto fail;
	if (rename(tmp, path)) {
		rc = dd_fail_errno(err, DD_EIO, errno, "%s", path);
		goto fail;
	}
	return DD_OK;
fail:
	unlink(tmp);
	return rc;
}

static void print_summary(const struct rep_agg *a, const char *out, const char *csv, bool json)
{
	if (json) {
		struct dd_json j;

		dd_json_init(&j);
		dd_json_begin_obj(&j, NULL);
		dd_json_u64(&j, "schema", 1);
		dd_json_str(&j, "event", "report");
		dd_json_str(&j, "output", out);
		dd_json_str(&j, "csv", csv);
		dd_json_u64(&j, "files", a->files);
		dd_json_u64(&j, "lines", a->lines);
		dd_json_u64(&j, "records", a->records);
		dd_json_u64(&j, "damaged", a->damaged);
		dd_json_begin_obj(&j, "results");
		for (int r = 0; r < REP_RESULTS; r++)
			dd_json_u64(&j, rep_result_names[r], a->by_result[r]);
		dd_json_end_obj(&j);
		dd_json_begin_arr(&j, "damaged_lines");
		for (unsigned i = 0; i < a->n_damaged_shown; i++) {
			dd_json_begin_obj(&j, NULL);
			dd_json_str(&j, "file", a->damaged_shown[i].file);
			dd_json_u64(&j, "line", a->damaged_shown[i].line);
			dd_json_str(&j, "problem", a->damaged_shown[i].why);
			dd_json_end_obj(&j);
		}
		dd_json_end_arr(&j);
		dd_json_end_obj(&j);
		puts(dd_json_text(&j));
		dd_json_free(&j);
		return;
	}
	printf("wrote %s%s%s: %" PRIu64 " records from %" PRIu64 " files (%" PRIu64 " pass, %" PRIu64 " fail), %"
	       PRIu64 " damaged lines\n", DD_ESC(out), csv ? " and " : "", csv ? DD_ESC(csv) : "", a->records,
	       a->files, a->by_result[REP_PASS], a->by_result[REP_FAIL], a->damaged);
	for (unsigned i = 0; i < a->n_damaged_shown; i++)
		fprintf(stderr, "dartdup: %s:%" PRIu64 ": damaged line: %s\n", DD_ESC(a->damaged_shown[i].file),
			a->damaged_shown[i].line, a->damaged_shown[i].why);
	if (a->damaged > a->n_damaged_shown)
		fprintf(stderr, "dartdup: and %" PRIu64 " more damaged lines\n", a->damaged - a->n_damaged_shown);
}

static int same_path(const char *x, const char *y)
{
	char rx[PATH_MAX], ry[PATH_MAX];
	bool ex, ey;

	if (dd_door_resolve(x, rx, sizeof(rx), &ex, NULL) || dd_door_resolve(y, ry, sizeof(ry), &ey, NULL))
		return 0;
	return !strcmp(rx, ry);
}

static int run(const char *const *logs, unsigned n_logs, const char *out, const char *csv, bool json)
{
	struct progress pg = { .on = !json && isatty(STDERR_FILENO) };
	struct rep_agg *a = malloc(sizeof(*a));
	struct dd_err err = { 0 };
	struct rep_meta meta = { .files = logs, .n_files = n_logs };
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	int rc = DD_OK;

	if (!a || rep_agg_init(a)) {
		free(a);
		cli_error("out of memory");
		return 1;
	}
	/* refuse a bad output before reading gigabytes of logs */
	if ((rc = dd_door_judge_output(out, logs, n_logs, &err)) ||
	    (csv && (rc = dd_door_judge_output(csv, logs, n_logs, &err))))
		goto out;
	if (csv && same_path(out, csv)) {
		rc = dd_fail(&err, DD_EUSAGE, "%s: the HTML page and the CSV cannot be the same file", csv);
		goto out;
	}
	for (unsigned i = 0; i < n_logs && !rc; i++) {
		int fd;

		if ((rc = open_log(logs[i], &fd, &err)))
			break;
		rc = read_log(fd, logs[i], a, &pg, &err);
		close(fd);
		a->files++;
	}
	if (pg.on)
		fputs("\r\033[K", stderr);
	if (rc)
		goto out;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	meta.generated = when;
	if ((rc = write_atomic(out, logs, n_logs, rep_write_html, a, &meta, &err)))
		goto out;
	if (csv && (rc = write_atomic(csv, logs, n_logs, rep_write_csv, a, &meta, &err)))
		goto out;
	print_summary(a, out, csv, json);
out:
	if (rc)
		cli_error("%s", err.msg);
	rep_agg_free(a);
	free(a);
	return dd_exit_status(rc);
}

int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "csv", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *out = NULL, *csv = NULL;
	bool json = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'c': csv = optarg; break;
		case 'j': json = true; break;
		case 'h': report_usage(stdout); return 0;
		default: report_usage(stderr); return 2;
		}
	}
	if (!out || optind >= argc) {
		report_usage(stderr);
		return 2;
	}
	return run((const char *const *)argv + optind, (unsigned)(argc - optind), out, csv, json);
}
