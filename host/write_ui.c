/* Sinks of a write/verify job (see write_ui.h). */
#include "host/write_ui.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include "host/fit.h"
#include "util/escape.h"
#include "util/schema.h"
#include "util/units.h"

#define REDRAW_INTERVAL 0.2
#define RES_MAX (DD_ESC_CAP + 64) /* a result line: a few words and an escaped error */

int write_ui_init(struct write_ui *ui)
{
	dd_json_init(&ui->j);
	ui->last = calloc(ui->n ? ui->n : 1, sizeof(*ui->last));
	if (!ui->last)
		return -1;
	for (unsigned i = 0; i < ui->n; i++)
		ui->last[i].eta = -1;
	return 0;
}

void write_ui_free(struct write_ui *ui)
{
	dd_json_free(&ui->j);
	free(ui->last);
	ui->last = NULL;
}

static volatile sig_atomic_t resized = 1; /* the first frame asks too */

void write_ui_resized(void)
{
	resized = 1;
}

static const char *label(const struct write_ui *ui, unsigned i)
{
	return ui->labels && ui->labels[i][0] ? ui->labels[i] : "-";
}

/* What the progress view names a target by: its socket's label, else (a file) its path. */
static const char *view_label(const struct write_ui *ui, unsigned i)
{
	return ui->labels && ui->labels[i][0] ? ui->labels[i] : ui->ids[i]->path;
}

static void fmt_eta(char *out, size_t n, double eta)
{
	if (eta < 0)
		snprintf(out, n, "--:--");
	else if (eta >= 3600)
		snprintf(out, n, "%d:%02d:%02d", (int)(eta / 3600), (int)(eta / 60) % 60, (int)eta % 60);
	else
		snprintf(out, n, "%02d:%02d", (int)(eta / 60), (int)eta % 60);
}

/* The error quotes names (the image's, a stick's): escaped here, so every caller prints inert text. */
static void result_text(char *out, size_t n, const struct dd_target_status *st, bool colour)
{
	char word[48], size[24];

	switch (st->result) {
	case DD_RESULT_PASS:
		snprintf(out, n, "%s  verified %s%s", fit_paint(word, sizeof(word), "PASS", FIT_GREEN, colour),
			 dd_fmt_size(size, sizeof(size), st->bytes_verified),
			 dd_status_sanitized(st) ? ", sanitized to the end" : "");
		break;
	case DD_RESULT_WRITTEN:
		snprintf(out, n, "WRITTEN (not verified)");
		break;
	case DD_RESULT_INCOMPLETE:
		snprintf(out, n, "%s (interrupted)", fit_paint(word, sizeof(word), "INCOMPLETE", FIT_YELLOW, colour));
		break;
	case DD_RESULT_FAIL:
		fit_paint(word, sizeof(word), "FAIL", FIT_RED, colour);
		if (st->first_bad_offset >= 0)
			snprintf(out, n, "%s at offset %" PRId64 ": %s", word, st->first_bad_offset, DD_ESC(st->error));
		else
			snprintf(out, n, "%s: %s", word, DD_ESC(st->error));
		break;
	default:
		snprintf(out, n, "running");
	}
}

#define LINE_MAX_BYTES (2 * DD_ESC_CAP + 256)

/* One line of the view: label, serial, phase, percent, speed, ETA (or the result); narrower screens drop
 * the ETA, then the serial, then the speed. */
static void target_line(const struct write_ui *ui, unsigned i, unsigned width, unsigned label_w, char *line,
			size_t size)
{
	const struct dd_target_identity *id = ui->ids[i];
	const struct dd_target_status *st = &ui->last[i];
	char eta[32], rate[24], res[RES_MAX], serial[DD_ESC_CAP];
	size_t n;

	n = (size_t)snprintf(line, size, "%-*s ", (int)label_w, DD_ESC(view_label(ui, i)));
	if (width >= label_w + 60) {
		dd_escape(serial, sizeof(serial), id->serial[0] ? id->serial : "-");
		n += (size_t)snprintf(line + n, size - n, "%-16.16s ", serial);
	}
	if (st->result != DD_RESULT_NONE) {
		result_text(res, sizeof(res), st, ui->colour);
		snprintf(line + n, size - n, "%s", res);
		return;
	}
	n += (size_t)snprintf(line + n, size - n, "%-11s %5.1f%%", dd_phase_label(st->phase), st->progress * 100);
	if (width >= label_w + 40)
		n += (size_t)snprintf(line + n, size - n, " %12s", dd_fmt_rate(rate, sizeof(rate), st->rate));
	if (width >= label_w + 70) {
		fmt_eta(eta, sizeof(eta), st->eta);
		snprintf(line + n, size - n, "  ETA %s", eta);
	}
}

struct counts {
	unsigned running, pass, fail, incomplete;
};

static struct counts count(const struct write_ui *ui, unsigned from)
{
	struct counts c = { 0 };

	for (unsigned i = from; i < ui->n; i++) {
		enum dd_result r = ui->last[i].result;

		c.running += r == DD_RESULT_NONE;
		c.pass += r == DD_RESULT_PASS || r == DD_RESULT_WRITTEN;
		c.fail += r == DD_RESULT_FAIL;
		c.incomplete += r == DD_RESULT_INCOMPLETE;
	}
	return c;
}

static void out_line(char *buf, size_t size, size_t *len, const char *text, unsigned width)
{
	fit_append(buf, size, len, text, width);
	if (*len + 5 <= size) {
		memcpy(buf + *len, "\x1b[K\n", 5);
		*len += 4;
	}
}

unsigned write_ui_render(const struct write_ui *ui, unsigned width, unsigned height, char *buf, size_t size)
{
	unsigned room = height > 1 ? height - 1 : 1, label_w = 4, shown, lines = 0;
	char line[LINE_MAX_BYTES], failed[48];
	struct counts c = count(ui, 0);
	size_t len = 0;

	if (!size)
		return 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < ui->n; i++)
		if (fit_cols(DD_ESC(view_label(ui, i))) > label_w)
			label_w = fit_cols(DD_ESC(view_label(ui, i)));
	if (label_w > 24)
		label_w = 24; /* a long file name: its line is cut, the columns stay */
	/* the counters take the last line; targets that do not fit above it are summed up in one line */
	shown = ui->n < room ? ui->n : room > 1 ? room - 2 : 0;
	for (unsigned i = 0; i < shown; i++, lines++) {
		target_line(ui, i, width, label_w, line, sizeof(line));
		out_line(buf, size, &len, line, width);
	}
	if (shown < ui->n && room > 1) {
		struct counts rest = count(ui, shown);

		snprintf(line, sizeof(line), "+%u more: %u running, %u passed, %u failed", ui->n - shown, rest.running,
			 rest.pass, rest.fail);
		out_line(buf, size, &len, line, width);
		lines++;
	}
	if (c.fail && ui->colour)
		snprintf(failed, sizeof(failed), FIT_RED "%u failed" FIT_RESET, c.fail);
	else
		snprintf(failed, sizeof(failed), "%u failed", c.fail);
	snprintf(line, sizeof(line), "%s: %u running, %u passed, %s, %u incomplete", ui->audit.mode, c.running, c.pass,
		 failed, c.incomplete);
	out_line(buf, size, &len, line, width);
	return lines + 1;
}

static void redraw(struct write_ui *ui, double t, bool force)
{
	size_t size = (size_t)(ui->n + 2) * (LINE_MAX_BYTES + 8);
	char *buf;

	if (!force && !resized && ui->drawn && t - ui->last_draw < REDRAW_INTERVAL)
		return;
	if (resized) {
		resized = 0;
		term_size(fileno(ui->out), &ui->cols, &ui->rows);
	}
	buf = malloc(size);
	if (!buf)
		return;
	/* back to the view's first line, the old frame cleared (it may have been taller) */
	if (ui->drawn)
		fprintf(ui->out, "\033[%uA\r\033[J", ui->drawn);
	ui->drawn = write_ui_render(ui, ui->cols, ui->rows, buf, size);
	fputs(buf, ui->out);
	free(buf);
	ui->last_draw = t;
	fflush(ui->out);
}

/* Without a terminal and without --json: one plain line per phase change and result. */
static void plain_event(struct write_ui *ui, const struct dd_event *ev)
{
	char res[RES_MAX], who[DD_ESC_CAP + DD_PORT_LABEL_MAX * 4 + 8];
	const char *lab;

	if (!ev->id || (ev->type != DD_EV_PHASE && ev->type != DD_EV_TARGET_DONE))
		return; /* job events: the summary tells */
	lab = ev->target >= 0 && (unsigned)ev->target < ui->n ? label(ui, (unsigned)ev->target) : "-";
	/* "/dev/sdb [A3]" (a file: its path alone) */
	snprintf(who, sizeof(who), "%s%s%s%s", DD_ESC(ev->id->path), strcmp(lab, "-") ? " [" : "",
		 strcmp(lab, "-") ? DD_ESC(lab) : "", strcmp(lab, "-") ? "]" : "");
	if (ev->type == DD_EV_PHASE) {
		fprintf(ui->out, "%s: %s\n", who, dd_phase_label(ev->status->phase));
	} else if (ev->type == DD_EV_TARGET_DONE) {
		result_text(res, sizeof(res), ev->status, false);
		fprintf(ui->out, "%s: %s\n", who, res);
	}
	fflush(ui->out);
}

static void json_ids(struct dd_json *j, const struct write_ui *ui, unsigned i, const struct dd_target_identity *id)
{
	dd_json_str(j, "target", id->path);
	dd_json_str(j, "port", id->port[0] ? id->port : NULL);
	dd_json_str(j, "label", ui->labels && i < ui->n && ui->labels[i][0] ? ui->labels[i] : NULL);
	dd_json_str(j, "serial", id->serial[0] ? id->serial : NULL);
}

static void json_event(struct write_ui *ui, const struct dd_event *ev)
{
	struct dd_json *j = &ui->j;
	const struct dd_target_status *st = ev->status;

	dd_json_reset(j);
	dd_json_begin_obj(j, NULL);
	dd_json_schema(j);
	dd_json_str(j, "event", dd_event_type_name(ev->type));
	dd_json_double(j, "t", ev->t, 3);
	switch (ev->type) {
	case DD_EV_JOB_START:
		dd_json_str(j, "mode", ui->audit.mode);
		dd_json_str(j, "image", ui->info->name);
		dd_json_hex(j, "image_id", ui->info->image_id, DD_SHA256_LEN);
		dd_json_u64(j, "image_size", ui->info->image_size);
		dd_json_begin_arr(j, "targets");
		for (unsigned i = 0; i < ui->n; i++) {
			dd_json_begin_obj(j, NULL);
			dd_json_u64(j, "index", i);
			json_ids(j, ui, i, ui->ids[i]);
			dd_json_u64(j, "capacity", ui->ids[i]->capacity);
			dd_json_end_obj(j);
		}
		dd_json_end_arr(j);
		break;
	case DD_EV_PHASE:
	case DD_EV_PROGRESS:
		dd_json_u64(j, "index", (uint64_t)ev->target);
		json_ids(j, ui, (unsigned)ev->target, ev->id);
		dd_json_str(j, "phase", dd_phase_name(st->phase)); /* "boot": docs/EVENTS.md */
		dd_json_double(j, "percent", st->progress * 100, 1);
		dd_json_u64(j, "bytes_written", st->bytes_written);
		dd_json_u64(j, "bytes_skipped", st->bytes_skipped);
		dd_json_u64(j, "bytes_verified", st->bytes_verified);
		dd_json_double(j, "mb_per_s", st->rate / 1e6, 1);
		dd_json_double(j, "eta", st->eta, 1);
		break;
	case DD_EV_TARGET_DONE:
		dd_json_u64(j, "index", (uint64_t)ev->target);
		json_ids(j, ui, (unsigned)ev->target, ev->id);
		dd_audit_result_fields(j, st);
		break;
	case DD_EV_JOB_DONE:
		dd_json_u64(j, "targets", ev->n_targets);
		dd_json_u64(j, "pass", ev->n_pass);
		dd_json_u64(j, "fail", ev->n_fail);
		dd_json_u64(j, "incomplete", ev->n_incomplete);
		dd_json_str(j, "result", ev->n_fail ? "fail" : ev->n_incomplete ? "incomplete" : "pass");
		break;
	}
	dd_json_end_obj(j);
	fprintf(ui->out, "%s\n", dd_json_text(j));
	fflush(ui->out);
}

static void audit_event(struct write_ui *ui, const struct dd_event *ev)
{
	struct dd_err err;

	dd_audit_format(&ui->j, &ui->audit, ev->id, ev->status);
	if (dd_audit_append(ui->log_path, dd_json_text(&ui->j), &err)) {
		if (!ui->log_failures++)
			snprintf(ui->log_error, sizeof(ui->log_error), "%s", err.msg);
	}
}

void write_ui_emit(void *ctx, const struct dd_event *ev)
{
	struct write_ui *ui = ctx;

	if (ev->target >= 0 && (unsigned)ev->target < ui->n)
		ui->last[ev->target] = *ev->status;
	if (ev->type == DD_EV_TARGET_DONE && ui->log_path)
		audit_event(ui, ev);
	if (ui->json) {
		json_event(ui, ev);
		return;
	}
	if (!ui->tty) {
		plain_event(ui, ev);
		return;
	}
	if (ev->type != DD_EV_JOB_DONE)
		redraw(ui, ev->t, ev->type != DD_EV_PROGRESS);
}

typedef const char *(*field_fn)(const struct write_ui *ui, unsigned i);

static const char *or_dash(const char *s)
{
	return s[0] ? s : "-";
}

static const char *get_path(const struct write_ui *ui, unsigned i) { return ui->ids[i]->path; }
static const char *get_label(const struct write_ui *ui, unsigned i) { return label(ui, i); }
static const char *get_serial(const struct write_ui *ui, unsigned i) { return or_dash(ui->ids[i]->serial); }
static const char *get_model(const struct write_ui *ui, unsigned i) { return or_dash(ui->ids[i]->model); }

/* Column width: the longest escaped value, at least the heading, at most cap. */
static int col_width(const struct write_ui *ui, const char *head, int cap, field_fn get)
{
	int w = (int)strlen(head);

	for (unsigned i = 0; i < ui->n; i++) {
		int n = (int)fit_cols(DD_ESC(get(ui, i)));

		if (n > w)
			w = n;
	}
	return w < cap ? w : cap;
}

/* A cell: the escaped value cut to w columns (a cut one ends with '~'), padded to w. */
static void summary_cell(FILE *out, const char *value, int w)
{
	char cut[DD_ESC_CAP];
	const char *esc = DD_ESC(value);
	unsigned cols = fit_cols(esc);
	size_t len = 0;

	cut[0] = '\0';
	if ((int)cols > w) {
		fit_append(cut, sizeof(cut), &len, esc, (unsigned)(w > 1 ? w - 1 : 0));
		fprintf(out, "%s~ ", cut);
		return;
	}
	fprintf(out, "%s%*s ", esc, w - (int)cols, "");
}

void write_ui_summary(struct write_ui *ui, const struct dd_target_status *st)
{
	char res[RES_MAX];
	struct counts c;
	int wp, wl, ws, wm;

	if (ui->json)
		return;
	for (unsigned i = 0; i < ui->n; i++)
		ui->last[i] = st[i];
	c = count(ui, 0);
	/* aligned whatever the names' widths; long ones cut (escaped first, so a cut never splits an escape) */
	wp = col_width(ui, "TARGET", 24, get_path);
	wl = col_width(ui, "PORT", DD_PORT_LABEL_MAX - 1, get_label);
	ws = col_width(ui, "SERIAL", 20, get_serial);
	wm = col_width(ui, "MODEL", 20, get_model);
	fprintf(ui->out, "\n%-*s %-*s %-*s %-*s %s\n", wp, "TARGET", wl, "PORT", ws, "SERIAL", wm, "MODEL", "RESULT");
	for (unsigned i = 0; i < ui->n; i++) {
		summary_cell(ui->out, get_path(ui, i), wp);
		summary_cell(ui->out, get_label(ui, i), wl);
		summary_cell(ui->out, get_serial(ui, i), ws);
		summary_cell(ui->out, get_model(ui, i), wm);
		result_text(res, sizeof(res), &st[i], ui->colour);
		fprintf(ui->out, "%s\n", res);
	}
	fprintf(ui->out, "%s: %u passed, %u failed, %u incomplete\n", ui->audit.mode, c.pass, c.fail, c.incomplete);
	fflush(ui->out);
}
