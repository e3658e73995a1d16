/* host/station/view: terminal view, log lines and JSON events of `dartdup station` (see view.h). */
#include "host/station/view.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "util/escape.h"
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

void station_port_short(const char *id_path, char *out, size_t size)
{
	const char *start = strstr(id_path, "usb-");
	const char *end;
	size_t n;

	if (!start) {
		snprintf(out, size, "%s", id_path);
		return;
	}
	end = strstr(start, "-scsi-");
	n = end ? (size_t)(end - start) : strlen(start);
	if (n >= size)
		n = size - 1;
	memcpy(out, start, n);
	out[n] = '\0';
}

static void hms(char *buf, size_t size, double secs)
{
	unsigned s = secs > 0 ? (unsigned)secs : 0;

	snprintf(buf, size, "%02u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
}

static void size_text(char *buf, size_t size, uint64_t bytes)
{
	if (bytes >= (1ull << 30))
		snprintf(buf, size, "%.1f GiB", (double)bytes / (1ull << 30));
	else
		snprintf(buf, size, "%.1f MiB", (double)bytes / (1ull << 20));
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

static void slot_line(struct out *o, const struct station_slot *sl, const struct station_view_info *vi)
{
	char port[40], serial[24], b[24], res[160];
	const char *phase;

	/* the port path, the stick's serial and the error are not ours: escaped (util/escape.h), so no name
	 * adds a line to the view or drives the terminal */
	station_port_short(DD_ESC(sl->port), port, sizeof(port));
	snprintf(serial, sizeof(serial), "%s", DD_ESC(sl->serial[0] ? sl->serial : "-"));
	switch (sl->state) {
	case SLOT_BUSY:
		phase = sl->pulled ? "pulled" : dd_phase_name(sl->phase);
		bar(b, 20, sl->progress);
		put(o, "%4u  %-18s %-16s %-7s [%s] %3.0f%% %6.1f MB/s", sl->number, port, serial, phase, b,
		    sl->progress * 100, sl->rate / 1e6);
		break;
	case SLOT_DONE:
		snprintf(res, sizeof(res), "%s%s%s", station_outcome_name(sl->outcome),
			 sl->detail[0] ? ": " : "", DD_ESC(sl->detail));
		put(o, "%4u  %-18s %-16s %-7s %s%s", sl->number, port, serial,
		    station_outcome_good(sl->outcome) ? "PULL" : "FAILED", res,
		    station_outcome_good(sl->outcome) ? " (safe to pull)" : "");
		break;
	case SLOT_EMPTY:
		if (sl->outcome != OUT_NONE)
			put(o, "%4u  %-18s %-16s %-7s last: %s %s", sl->number, port, "-", "empty",
			    station_outcome_name(sl->outcome), DD_ESC(sl->serial));
		else
			put(o, "%4u  %-18s %-16s %-7s", sl->number, port, "-", "empty");
		break;
	}
	(void)vi;
}

void station_view_render(const struct station *s, const struct station_view_info *vi, char *buf, size_t size)
{
	struct out o = { buf, size, 0 };
	const struct station_counters *c = &s->c;
	char el[16], sz[24];

	if (!size)
		return;
	buf[0] = '\0';
	hms(el, sizeof(el), vi->elapsed);
	size_text(sz, sizeof(sz), vi->image_size);
	put(&o, "dartdup station   image %s (%s)%s%s   up %s\x1b[K\n", DD_ESC(vi->image_name ? vi->image_name : "?"), sz,
	    vi->probe ? "   probe on" : "", vi->rewrite ? "   rewrite on" : "", el);
	put(&o, "done %u (written %u, already held it %u)   failed %u   refused %u   sticks/hour %.1f\x1b[K\n",
	    c->passed + c->already, c->passed, c->already, c->failed, c->refused, station_per_hour(c, vi->elapsed));
	put(&o, "\x1b[K\n");
	put(&o, "%4s  %-18s %-16s %-7s %s\x1b[K\n", "SLOT", "PORT", "SERIAL", "PHASE", "PROGRESS / RESULT");
	if (!s->n_slots)
		put(&o, "      (waiting for sticks%s)\x1b[K\n", s->fixed ? " on the given ports" : "");
	for (unsigned i = 0; i < s->n_slots; i++) {
		slot_line(&o, &s->slot[i], vi);
		put(&o, "\x1b[K\n");
	}
	put(&o, "\x1b[K\nplug sticks in; Ctrl-C stops (running sticks are reported incomplete)\x1b[K\n");
}

void station_result_line(const struct station_slot *slot, char *buf, size_t size)
{
	snprintf(buf, size, "slot %u %s %s: %s%s%s in %.1f s%s%s", slot->number, slot->devnode,
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
	dd_json_str(j, "dev", slot->devnode);
	dd_json_str(j, "serial", slot->serial);
	if (!strcmp(event, "stick")) {
		dd_json_str(j, "model", slot->model);
		dd_json_u64(j, "capacity", slot->capacity);
	}
	if (!strcmp(event, "phase") || !strcmp(event, "progress")) {
		dd_json_str(j, "phase", dd_phase_name(slot->phase));
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
