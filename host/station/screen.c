/* The station's output (see station.h): the full-screen view on a terminal, plain log lines otherwise
 * (systemd's journal), one JSON event per line with --json. What is shown is formatted by view.c
 * (pure, tested alone); this file only decides where it goes. Called with ctx->lock held. */
#include "host/station/station.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "host/fit.h"

#include "host/station/view.h"
#include "util/escape.h"
#include "util/json.h"
#include "util/schema.h"

void station_emit_slot(struct ctx *c, const char *event, const struct station_slot *slot)
{
	struct dd_json j;

	if (!c->o.json)
		return;
	dd_json_init(&j);
	station_json_slot(&j, event, slot, station_elapsed(c));
	puts(dd_json_text(&j));
	fflush(stdout);
	dd_json_free(&j);
}

/* --json: the first line, once the station listens (scripts may plug sticks from then on). */
void station_emit_start(struct ctx *c)
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
	dd_json_bool(&j, "probe", c->o.policy.probe);
	dd_json_bool(&j, "sanitize", c->o.policy.sanitize);
	dd_json_bool(&j, "rewrite", c->o.rewrite);
	dd_json_u64(&j, "ports", c->o.n_ports);
	dd_json_str(&j, "port_map", c->map_file[0] ? c->map_file : NULL);
	dd_json_begin_arr(&j, "not_found");
	for (unsigned i = 0; i < c->n_missing; i++)
		dd_json_str(&j, NULL, c->missing[i]);
	dd_json_end_arr(&j);
	dd_json_end_obj(&j);
	puts(dd_json_text(&j));
	fflush(stdout);
	dd_json_free(&j);
}

/* A line quotes the sticks' strings and errors: escaped whole (util/escape.h), so it stays one line. */
void station_log(struct ctx *c, const char *fmt, ...)
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

void station_redraw(struct ctx *c)
{
	struct station_view_info vi = {
		.image_name = c->src->info.name, .image_size = c->src->info.image_size,
		.probe = c->o.policy.probe, .rewrite = c->o.rewrite, .elapsed = station_elapsed(c),
		.colour = c->colour, .warning = c->warning,
	};
	static const size_t size = 65536;
	unsigned cols, rows;
	char *buf;

	if (!c->tty || c->o.json)
		return;
	buf = malloc(size);
	if (!buf)
		return;
	/* asked at every redraw: after a SIGWINCH (which wakes the main loop) the next frame has the new size */
	term_size(STDOUT_FILENO, &cols, &rows);
	vi.width = cols;
	vi.height = rows;
	if (cols != c->cols || rows != c->rows)
		fputs("\x1b[2J", stdout); /* the old frame's lines may be longer or lower than the new one's */
	c->cols = cols;
	c->rows = rows;
	station_view_render(&c->st, &vi, buf, size);
	fputs("\x1b[H", stdout);
	fputs(buf, stdout);
	fputs("\x1b[J", stdout);
	fflush(stdout);
	free(buf);
}

/* The terminal view takes the screen (cleared once; every redraw then starts at the top). */
void station_screen_begin(struct ctx *c)
{
	if (c->tty && !c->o.json)
		fputs("\x1b[2J", stdout);
}

void station_print_totals(struct ctx *c)
{
	const struct station_counters *k = &c->st.c;
	double t = station_elapsed(c);
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
