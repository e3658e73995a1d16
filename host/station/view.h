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
};

/* The whole screen into buf (NUL-terminated, truncated to size), lines separated by "\x1b[K\n" so a
 * redraw from the top (ESC [H) overwrites the previous one without flicker. */
void station_view_render(const struct station *s, const struct station_view_info *vi, char *buf, size_t size);

/* "usb-0:1:1.0" out of "pci-0000:00:05.0-usb-0:1:1.0-scsi-0:0:0:0": the part an operator can map to
 * a socket. */
void station_port_short(const char *id_path, char *out, size_t size);

/* One plain line for a finished stick: "slot 2 /dev/sdc SERIAL: pass in 12.3 s" (+ ": detail"). */
void station_result_line(const struct station_slot *slot, char *buf, size_t size);

/* JSON events (one object, no newline), "event": "stick" | "phase" | "progress" | "result" |
 * "removed" | "ejected" | "summary". */
void station_json_slot(struct dd_json *j, const char *event, const struct station_slot *slot, double t);
void station_json_summary(struct dd_json *j, const struct station *s, double elapsed);

#endif
