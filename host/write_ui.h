/* Front-end sinks of a write/verify job: the terminal view, --json lines, the --log audit file.
 * One dd_event_sink fans out to them; the engine formats nothing itself. */
#ifndef DARTDUP_HOST_WRITE_UI_H
#define DARTDUP_HOST_WRITE_UI_H

#include <stdbool.h>
#include <stdio.h>

#include "engine/audit.h"
#include "engine/events.h"
#include "source/source.h"
#include "util/json.h"
#include "util/portmap.h"

struct write_ui {
	/* set by the caller */
	bool json;                  /* one JSON object per line on out */
	bool tty;                   /* redraw one line per target in place */
	FILE *out;
	const char *log_path;       /* audit records appended here; NULL: none */
	struct dd_audit_job audit;
	const struct dd_image_info *info;
	unsigned n;
	const struct dd_target_identity *const *ids; /* n */
	const char (*labels)[DD_PORT_LABEL_MAX]; /* n: each target's port label (util/portmap.h); NULL: none */
	bool colour;                /* PASS green, FAIL red, INCOMPLETE yellow (host/fit.h term_colour) */
	/* state */
	struct dd_target_status *last; /* n: the latest status of each target */
	unsigned drawn;             /* lines of the view on screen */
	unsigned cols, rows;        /* the terminal's size: asked again after a SIGWINCH (write_ui_resized) */
	double last_draw;
	int log_failures;
	char log_error[512];
	struct dd_json j;
};

int write_ui_init(struct write_ui *ui);
void write_ui_free(struct write_ui *ui);
void write_ui_emit(void *ctx, const struct dd_event *ev);
/* The terminal changed size (SIGWINCH; async-signal-safe): the next frame asks for the new size. */
void write_ui_resized(void);

/* The progress view as text (pure, tested alone): one line per target (label, serial, phase, percent,
 * speed, ETA or the result) and a counters line, each cut to width (no wrap, "\x1b[K\n" after each), at
 * most height - 1 lines; on a short screen the targets that do not fit are summed up in one line, the
 * counters stay. Returns the number of lines. */
unsigned write_ui_render(const struct write_ui *ui, unsigned width, unsigned height, char *buf, size_t size);

/* The closing summary for humans (not with --json): one line per target and the counts. */
void write_ui_summary(struct write_ui *ui, const struct dd_target_status *st);

#endif
