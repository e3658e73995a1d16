/* host/station/view: terminal view, log lines and JSON events of `dartdup station` (see view.h). */
#include "host/station/view.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "host/fit.h"
#include "util/escape.h"
#include "util/units.h"
#include "util/schema.h"

struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len + 1 >= o->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	o->len += (size_t)n;
	if (o->len >= o->size)
		o->len = o->size - 1;
}

static void hms(char *buf, size_t size, double secs)
{
	unsigned s = secs > 0 ? (unsigned)secs : 0;

	snprintf(buf, size, "%02u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
}

static void bar(char *buf, size_t width, double frac)
{
	size_t fill = (size_t)(frac * width + 0.5);

	if (fill > width)
		fill = width;
	memset(buf, '#', fill);
	memset(buf + fill, '.', width - fill);
	buf[width] = '\0';
}

/* The screen's geometry: how much of each slot a line shows. */
struct layout {
	unsigned width, rows;
	unsigned label_w;        /* the PORT column: the longest label, 4..DD_PORT_LABEL_MAX-1 */
	bool serial, speed, barr; /* columns shown at this width */
	unsigned serial_w;
	bool colour;
};

#define PHASE_W 11 /* "first block" */

/* A word padded to w columns, coloured when the layout is (padding outside the colour: widths stay true). */
static void cell(char *out, size_t size, const char *word, unsigned w, const char *colour, bool on)
{
	size_t len;

	fit_paint(out, size, word, colour, on);
	len = strlen(out);
	for (size_t n = strlen(word); n < w && len + 1 < size; n++)
		out[len++] = ' ';
	out[len] = '\0';
}

static void slot_line(struct out *o, const struct station_slot *sl, const struct layout *L)
{
	char label[DD_PORT_LABEL_MAX * 4], serial[DD_ESC_CAP], state[64], b[24], rate[24], res[DD_ESC_CAP + 64];
	char line[2 * DD_ESC_CAP + 256], pass[32];
	size_t n = 0;

	/* the port path, the stick's serial and the error are not ours: escaped (util/escape.h), so no name
	 * adds a line to the view or drives the terminal; the line is cut to the screen's width */
	dd_escape(label, sizeof(label), sl->label[0] ? sl->label : "-");
	dd_escape(serial, sizeof(serial), sl->serial[0] ? sl->serial : "-");
	n += (size_t)snprintf(line + n, sizeof(line) - n, "%-*s ", (int)L->label_w, label);
	if (L->serial)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%-*.*s ", (int)L->serial_w, (int)L->serial_w,
				      sl->state != SLOT_EMPTY ? serial : "-");
	switch (sl->state) {
	case SLOT_BUSY:
		cell(state, sizeof(state), sl->pulled ? "pulled" : dd_phase_label(sl->phase), PHASE_W,
		     sl->pulled ? FIT_RED : NULL, L->colour);
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s ", state);
		if (L->barr) {
			bar(b, 20, sl->progress);
			n += (size_t)snprintf(line + n, sizeof(line) - n, "[%s] ", b);
		}
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%3.0f%%", sl->progress * 100);
		if (L->speed)
			snprintf(line + n, sizeof(line) - n, " %12s", dd_fmt_rate(rate, sizeof(rate), sl->rate));
		break;
	case SLOT_DONE:
		if (station_outcome_good(sl->outcome)) {
			cell(state, sizeof(state), "PULL", PHASE_W, FIT_YELLOW, L->colour);
			snprintf(line + n, sizeof(line) - n, "%s %s (safe to pull)", state,
				 fit_paint(pass, sizeof(pass), station_outcome_name(sl->outcome), FIT_GREEN, L->colour));
			break;
		}
		cell(state, sizeof(state), "FAIL", PHASE_W, FIT_RED, L->colour);
		snprintf(res, sizeof(res), "%s%s%s", station_outcome_name(sl->outcome), sl->detail[0] ? ": " : "",
			 DD_ESC(sl->detail));
		snprintf(line + n, sizeof(line) - n, "%s %s", state, res);
		break;
	case SLOT_EMPTY:
		cell(state, sizeof(state), "empty", sl->outcome != OUT_NONE ? PHASE_W : 0, NULL, false);
		if (sl->outcome != OUT_NONE)
			snprintf(line + n, sizeof(line) - n, "%s last: %s %s", state, station_outcome_name(sl->outcome),
				 serial);
		else
			snprintf(line + n, sizeof(line) - n, "%s", state);
		break;
	}
	fit_append(o->buf, o->size, &o->len, line, L->width);
}

/* One line of the view: cut to the width, then "clear to the end of the line" and a newline. */
static void line_out(struct out *o, const struct layout *L, const char *text)
{
	fit_append(o->buf, o->size, &o->len, text, L->width);
	put(o, "\x1b[K\n");
}

static void counters(char *line, size_t size, const struct station *s, const struct station_view_info *vi,
		     const struct layout *L)
{
	const struct station_counters *c = &s->c;
	char done[32], failed[32];
	double ph = station_per_hour(c, vi->elapsed);

	snprintf(done, sizeof(done), "done %u", c->passed + c->already);
	snprintf(failed, sizeof(failed), "failed %u", c->failed);
	if (L->colour && c->failed) {
		char tmp[32];

		snprintf(tmp, sizeof(tmp), "%s", failed);
		fit_paint(failed, sizeof(failed), tmp, FIT_RED, true);
	}
	if (L->width >= 80)
		snprintf(line, size, "%s (written %u, already held it %u)   %s   refused %u   sticks/hour %.1f", done,
			 c->passed, c->already, failed, c->refused, ph);
	else
		snprintf(line, size, "%s  %s  refused %u  %.1f/h", done, failed, c->refused, ph);
}

static struct layout layout_of(const struct station *s, const struct station_view_info *vi)
{
	struct layout L = { .width = vi->width ? vi->width : 100, .rows = vi->height ? vi->height : 24,
			    .label_w = 4, .colour = vi->colour };

	for (unsigned i = 0; i < s->n_slots; i++) {
		unsigned w = fit_cols(s->slot[i].label);

		if (w > L.label_w)
			L.label_w = w;
	}
	/* per-slot detail goes first on a narrow screen: the bar, then serial and speed */
	L.barr = L.width >= L.label_w + 84;
	L.serial = L.width >= L.label_w + 50;
	L.speed = L.width >= L.label_w + 40;
	L.serial_w = L.width >= L.label_w + 120 ? 24 : 16;
	return L;
}

/* Slots that did not fit: how many, and what they need from the technician. */
static void more_line(struct out *o, const struct layout *L, const struct station *s, unsigned from)
{
	unsigned pull = 0, fail = 0, busy = 0;
	char line[160];

	for (unsigned k = from; k < s->n_slots; k++) {
		const struct station_slot *sl = &s->slot[s->order[k]];

		busy += sl->state == SLOT_BUSY;
		pull += sl->state == SLOT_DONE && station_outcome_good(sl->outcome);
		fail += sl->state == SLOT_DONE && !station_outcome_good(sl->outcome);
	}
	snprintf(line, sizeof(line), "+%u more: %u busy, %u to pull, %u failed",
		 s->n_slots - from, busy, pull, fail);
	line_out(o, L, line);
}

void station_view_render(const struct station *s, const struct station_view_info *vi, char *buf, size_t size)
{
	struct out o = { buf, size, 0 };
	struct layout L = layout_of(s, vi);
	char el[16], sz[24], line[DD_ESC_CAP + 256], head[128];
	/* the last row stays empty: a newline there would scroll the screen */
	unsigned room = L.rows > 1 ? L.rows - 1 : 1, shown, extra;

	if (!size)
		return;
	buf[0] = '\0';
	counters(line, sizeof(line), s, vi, &L);
	if (room < 2) {
		line_out(&o, &L, line); /* the counters, whatever else goes */
		return;
	}
	hms(el, sizeof(el), vi->elapsed);
	dd_fmt_size(sz, sizeof(sz), vi->image_size);
	{
		char title[DD_ESC_CAP + 128];

		/* the image's name last: a narrow screen cuts it, not the time */
		snprintf(title, sizeof(title), "%sdartdup station%s   up %s%s%s   image %s (%s)", L.colour ? FIT_BOLD : "",
			 L.colour ? FIT_RESET : "", el, vi->probe ? "   probe on" : "", vi->rewrite ? "   rewrite on" : "",
			 DD_ESC(vi->image_name ? vi->image_name : "?"), sz);
		line_out(&o, &L, title);
	}
	line_out(&o, &L, line);
	room -= 2;
	if (vi->warning && vi->warning[0] && room) {
		char w[DD_ESC_CAP + 16];

		snprintf(w, sizeof(w), "%s", DD_ESC(vi->warning));
		line_out(&o, &L, w);
		room--;
	}
	if (!room)
		return;
	/* the rest: blank, header, slots, blank, hint; what does not fit goes in that order from the end */
	extra = s->n_slots ? s->n_slots : 1;
	if (room >= extra + 4)
		line_out(&o, &L, "");
	snprintf(head, sizeof(head), "%-*s %-*s%-*s %s", (int)L.label_w, "PORT", L.serial ? (int)L.serial_w + 1 : 0,
		 L.serial ? "SERIAL" : "", PHASE_W, "PHASE", "PROGRESS / RESULT");
	line_out(&o, &L, head);
	room -= room >= extra + 4 ? 2 : 1;
	if (!s->n_slots && room) {
		line_out(&o, &L, s->fixed ? "(waiting for sticks on the given ports)" : "(waiting for sticks)");
		room--;
	}
	shown = s->n_slots <= room ? s->n_slots : room ? room - 1 : 0;
	for (unsigned k = 0; k < shown; k++) {
		slot_line(&o, &s->slot[s->order[k]], &L);
		put(&o, "\x1b[K\n");
	}
	if (shown < s->n_slots) {
		if (room)
			more_line(&o, &L, s, shown);
		return;
	}
	if (room >= shown + 2) {
		line_out(&o, &L, "");
		line_out(&o, &L, "plug sticks in; Ctrl-C stops (running sticks are reported incomplete)");
	}
}

void station_result_line(const struct station_slot *slot, char *buf, size_t size)
{
	snprintf(buf, size, "slot %u (%s) %s %s: %s%s%s in %.1f s%s%s", slot->number, slot->label, slot->devnode,
		 slot->serial[0] ? slot->serial : "-", station_outcome_name(slot->outcome),
		 slot->upgraded_from[0] ? ", upgraded from version " : "", slot->upgraded_from,
		 slot->t_end - slot->t_start, slot->detail[0] ? ": " : "", slot->detail);
}

void station_json_slot(struct dd_json *j, const char *event, const struct station_slot *slot, double t)
{
	dd_json_reset(j);
	dd_json_begin_obj(j, NULL);
	dd_json_schema(j);
	dd_json_str(j, "event", event);
	dd_json_double(j, "t", t, 3);
	dd_json_u64(j, "slot", slot->number);
	dd_json_str(j, "port", slot->port);
	dd_json_str(j, "label", slot->label);
	dd_json_str(j, "dev", slot->devnode);
	dd_json_str(j, "serial", slot->serial);
	if (!strcmp(event, "stick")) {
		dd_json_str(j, "model", slot->model);
		dd_json_u64(j, "capacity", slot->capacity);
	}
	if (!strcmp(event, "phase") || !strcmp(event, "progress")) {
		dd_json_str(j, "phase", dd_phase_name(slot->phase)); /* "boot": docs/EVENTS.md */
		dd_json_double(j, "progress", slot->progress, 4);
		dd_json_double(j, "rate", slot->rate, 0);
	}
	if (!strcmp(event, "result")) {
		dd_json_str(j, "result", station_outcome_name(slot->outcome));
		dd_json_bool(j, "good", station_outcome_good(slot->outcome));
		dd_json_double(j, "seconds", slot->t_end - slot->t_start, 3);
		dd_json_str(j, "detail", slot->detail[0] ? slot->detail : NULL);
		dd_json_str(j, "kind", dd_fail_kind_name(slot->kind)); /* null when good */
		dd_json_bool(j, "sanitized", slot->sanitized);
		dd_json_bool(j, "upgraded", slot->upgraded_from[0] != '\0');
		dd_json_str(j, "upgraded_from", slot->upgraded_from[0] ? slot->upgraded_from : NULL);
	}
	dd_json_end_obj(j);
}

void station_json_summary(struct dd_json *j, const struct station *s, double elapsed)
{
	const struct station_counters *c = &s->c;

	dd_json_reset(j);
	dd_json_begin_obj(j, NULL);
	dd_json_schema(j);
	dd_json_str(j, "event", "summary");
	dd_json_double(j, "t", elapsed, 3);
	dd_json_u64(j, "done", c->passed + c->already);
	dd_json_u64(j, "passed", c->passed);
	dd_json_u64(j, "already", c->already);
	dd_json_u64(j, "failed", c->failed);
	dd_json_u64(j, "refused", c->refused);
	dd_json_u64(j, "incomplete", c->incomplete);
	dd_json_double(j, "per_hour", station_per_hour(c, elapsed), 1);
	dd_json_end_obj(j);
}
