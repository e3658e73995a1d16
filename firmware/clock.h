/* The board's idea of the time, and where it came from (docs/AUDIT.md "Time").
 *
 * A Pi has no battery-backed clock: it boots at a saved time or at 1970, and the board has no network.
 * So the daemon keeps its own clock: the system clock plus an offset, and a source:
 *   unset   nothing has set it since boot (records then carry no time, only "time_source":"unset")
 *   rtc     read at boot from the RTC the description file names (/dev/rtcN, RTC_RD_TIME)
 *   pc      set by `dartdup board` (link TIME), whenever a PC connects
 *   master  set from a master stick's batch.conf (time = ...), only while unset (firmware/master.h)
 * A time is applied only when it is sane (DD_CLOCK_MIN..DD_CLOCK_MAX). With `system` set (linux-gadget)
 * and root, a PC's time also sets the system clock (clock_settime); otherwise, and always on the sim board,
 * only this process's offset moves. */
#ifndef DARTDUP_FIRMWARE_CLOCK_H
#define DARTDUP_FIRMWARE_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "link/proto.h"
#include "util/err.h"

#define DD_CLOCK_MIN 1735689600ll /* 2025-01-01T00:00:00Z: earlier is a clock that was never set */
#define DD_CLOCK_MAX 4102444800ll /* 2100-01-01T00:00:00Z */

struct dd_clock {
	int source;          /* enum dd_time_source */
	int64_t offset;      /* added to CLOCK_REALTIME */
	bool system;         /* may set the system clock (clock_settime, when root) */
	/* tests replace these */
	int (*gettime)(struct timespec *ts);
	int (*settime)(const struct timespec *ts);
	int (*rtc_read)(const char *path, int64_t *t, struct dd_err *err);
};

void dd_clock_init(struct dd_clock *c, bool system);
/* Now, by this clock (seconds since 1970 UTC); *source its source (may be NULL). */
int64_t dd_clock_now(const struct dd_clock *c, int *source);
bool dd_clock_sane(int64_t t);
/* Set the clock to t from source (DD_TIME_PC, _MASTER). false (nothing changed) when t is not sane. */
bool dd_clock_set(struct dd_clock *c, int64_t t, int source);
/* Read the RTC at path and set the clock from it. DD_OK, DD_EIO (cannot read it) or DD_EINPUT (it holds
 * no sane time: a flat battery); the clock stays unset then, err says why. */
int dd_clock_from_rtc(struct dd_clock *c, const char *path, struct dd_err *err);
/* The RTC's time (RTC_RD_TIME ioctl, the RTC keeps UTC). */
int dd_rtc_read(const char *path, int64_t *t, struct dd_err *err);
/* "2026-12-02T01:37:23Z" */
void dd_clock_format(int64_t t, char *out, size_t len);

#endif
