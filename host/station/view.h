/* host/station/view: what `dartdup station` shows. Pure formatting (no I/O), so it can be tested:
 *  - the full-screen terminal view (one line per slot: slot, port, serial, phase, progress, speed,
 *    result; counters done / failed / sticks per hour);
 *  - plain log lines when stdout is not a terminal (systemd journal);
 *  - --json event lines for scripts. */
#ifndef DARTDUP_HOST_STATION_VIEW_H
#define DARTDUP_HOST_STATION_VIEW_H

#include <stddef.h>

#include "host/station/core.h"
#include "util/json.h"

struct station_view_info {
	const char *image_name;
	uint64_t image_size;
	bool probe, rewrite;
	double elapsed;   /* seconds since the session started */
	unsigned width;   /* terminal columns (0 = 100) */
	unsigned height;  /* terminal rows (0 = 24) */
	bool colour;      /* PASS green, FAIL red, PULL yellow (term_colour()) */
	const char *warning; /* one line under the counters (ports of --ports or the map not found), or NULL */
};

/* The whole screen into buf (NUL-terminated, truncated to size), lines separated by "\x1b[K\n" so a
 * redraw from the top (ESC [H) overwrites the previous one without flicker. Deterministic, and it fits:
 * no line is wider than width columns (cut, never wrapped), at most height - 1 lines (the last row stays
 * empty so nothing scrolls), and the counters line is always there. What a small screen drops, in order:
 * the hint and the blank lines, the progress bar, the serial and speed columns, then the slots that do
 * not fit (summed up in one "+N more: ..." line); never the counters. Slots in label order. */
void station_view_render(const struct station *s, const struct station_view_info *vi, char *buf, size_t size);

/* One plain line for a finished stick: "slot 2 (1-1.4) /dev/sdc SERIAL: pass in 12.3 s" (+ ": detail"). */
void station_result_line(const struct station_slot *slot, char *buf, size_t size);

/* JSON events (one object, no newline), "event": "stick" | "phase" | "progress" | "result" |
 * "removed" | "ejected" | "summary". */
void station_json_slot(struct dd_json *j, const char *event, const struct station_slot *slot, double t);
void station_json_summary(struct dd_json *j, const struct station *s, double elapsed);

#endif
