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
	/* state */
	struct dd_target_status *last; /* n: the latest status of each target */
	unsigned drawn;             /* lines of the view on screen */
	double last_draw;
	int log_failures;
	char log_error[512];
	struct dd_json j;
};

int write_ui_init(struct write_ui *ui);
void write_ui_free(struct write_ui *ui);
void write_ui_emit(void *ctx, const struct dd_event *ev);
/* The closing summary for humans (not with --json): one line per target and the counts. */
void write_ui_summary(struct write_ui *ui, const struct dd_target_status *st);

#endif
