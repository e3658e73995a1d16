/* Sinks of a write/verify job (see write_ui.h). */
#include "host/write_ui.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "util/escape.h"
#include "util/schema.h"

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

static const char *label(const struct dd_target_identity *id)
{
	return id->port[0] ? id->port : id->path;
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
static void result_text(char *out, size_t n, const struct dd_target_status *st)
{
	switch (st->result) {
	case DD_RESULT_PASS:
		snprintf(out, n, "PASS  verified %.1f MB%s", (double)st->bytes_verified / 1e6,
			 dd_status_sanitized(st) ? ", sanitized to the end" : "");
		break;
	case DD_RESULT_WRITTEN:
		snprintf(out, n, "WRITTEN (not verified)");
		break;
	case DD_RESULT_INCOMPLETE:
		snprintf(out, n, "INCOMPLETE (interrupted)");
		break;
	case DD_RESULT_FAIL:
		if (st->first_bad_offset >= 0)
			snprintf(out, n, "FAIL at offset %" PRId64 ": %s", st->first_bad_offset, DD_ESC(st->error));
		else
			snprintf(out, n, "FAIL: %s", DD_ESC(st->error));
		break;
	default:
		snprintf(out, n, "running");
	}
}

/* One line of the view: path/port, serial, phase, percent, MB/s, ETA (or the result). */
static void print_line(struct write_ui *ui, unsigned i)
{
	const struct dd_target_identity *id = ui->ids[i];
	const struct dd_target_status *st = &ui->last[i];
	char eta[32], res[RES_MAX];

	fprintf(ui->out, "\r\033[K%-22.22s %-14.14s ", DD_ESC(label(id)), DD_ESC(id->serial[0] ? id->serial : "-"));
	if (st->result != DD_RESULT_NONE) {
		result_text(res, sizeof(res), st);
		fprintf(ui->out, "%s\n", res);
		return;
	}
	fmt_eta(eta, sizeof(eta), st->eta);
	fprintf(ui->out, "%-7s %5.1f%% %7.1f MB/s  ETA %s\n", dd_phase_name(st->phase), st->progress * 100,
		st->rate / 1e6, eta);
}

static void redraw(struct write_ui *ui, double t, bool force)
{
	if (!force && ui->drawn && t - ui->last_draw < REDRAW_INTERVAL)
		return;
	if (ui->drawn)
		fprintf(ui->out, "\033[%uA", ui->drawn);
	for (unsigned i = 0; i < ui->n; i++)
		print_line(ui, i);
	ui->drawn = ui->n;
	ui->last_draw = t;
	fflush(ui->out);
}

/* Without a terminal and without --json: one plain line per phase change and result. */
static void plain_event(struct write_ui *ui, const struct dd_event *ev)
{
	char res[RES_MAX];

	if (ev->type == DD_EV_PHASE) {
		fprintf(ui->out, "%s: %s\n", DD_ESC(ev->id->path), dd_phase_name(ev->status->phase));
	} else if (ev->type == DD_EV_TARGET_DONE) {
		result_text(res, sizeof(res), ev->status);
		fprintf(ui->out, "%s: %s\n", DD_ESC(ev->id->path), res);
	}
	fflush(ui->out);
}

static void json_ids(struct dd_json *j, const struct dd_target_identity *id)
{
	dd_json_str(j, "target", id->path);
	dd_json_str(j, "port", id->port[0] ? id->port : NULL);
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
			json_ids(j, ui->ids[i]);
			dd_json_u64(j, "capacity", ui->ids[i]->capacity);
			dd_json_end_obj(j);
		}
		dd_json_end_arr(j);
		break;
	case DD_EV_PHASE:
	case DD_EV_PROGRESS:
		dd_json_u64(j, "index", (uint64_t)ev->target);
		json_ids(j, ev->id);
		dd_json_str(j, "phase", dd_phase_name(st->phase));
		dd_json_double(j, "percent", st->progress * 100, 1);
		dd_json_u64(j, "bytes_written", st->bytes_written);
		dd_json_u64(j, "bytes_skipped", st->bytes_skipped);
		dd_json_u64(j, "bytes_verified", st->bytes_verified);
		dd_json_double(j, "mb_per_s", st->rate / 1e6, 1);
		dd_json_double(j, "eta", st->eta, 1);
		break;
	case DD_EV_TARGET_DONE:
		dd_json_u64(j, "index", (uint64_t)ev->target);
		json_ids(j, ev->id);
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

void write_ui_summary(struct write_ui *ui, const struct dd_target_status *st)
{
	unsigned pass = 0, fail = 0, inc = 0;
	char res[RES_MAX];

	if (ui->json)
		return;
	fprintf(ui->out, "\n");
	for (unsigned i = 0; i < ui->n; i++) {
		const struct dd_target_identity *id = ui->ids[i];

		result_text(res, sizeof(res), &st[i]);
		fprintf(ui->out, "%-22s %-22s %-14s %s\n", DD_ESC(id->path), DD_ESC(id->port[0] ? id->port : "-"),
			DD_ESC(id->serial[0] ? id->serial : "-"), res);
		pass += st[i].result == DD_RESULT_PASS || st[i].result == DD_RESULT_WRITTEN;
		fail += st[i].result == DD_RESULT_FAIL;
		inc += st[i].result == DD_RESULT_INCOMPLETE;
	}
	fprintf(ui->out, "%s: %u passed, %u failed, %u incomplete\n", ui->audit.mode, pass, fail, inc);
	fflush(ui->out);
}
