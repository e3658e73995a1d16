/* The board's clock (see clock.h). */
#include "firmware/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/rtc.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int sys_gettime(struct timespec *ts)
{
	return clock_gettime(CLOCK_REALTIME, ts);
}

static int sys_settime(const struct timespec *ts)
{
	return clock_settime(CLOCK_REALTIME, ts);
}

void dd_clock_init(struct dd_clock *c, bool system)
{
	memset(c, 0, sizeof(*c));
	c->source = DD_TIME_UNSET;
	c->system = system;
	c->gettime = sys_gettime;
	c->settime = sys_settime;
	c->rtc_read = dd_rtc_read;
}

int64_t dd_clock_now(const struct dd_clock *c, int *source)
{
	struct timespec ts = { 0 };

	if (c->gettime(&ts))
		ts.tv_sec = 0;
	if (source)
		*source = c->source;
	return (int64_t)ts.tv_sec + c->offset;
}

bool dd_clock_sane(int64_t t)
{
	return t >= DD_CLOCK_MIN && t < DD_CLOCK_MAX;
}

bool dd_clock_set(struct dd_clock *c, int64_t t, int source)
{
	struct timespec ts = { 0 };

	if (!dd_clock_sane(t))
		return false;
	/* the system clock only as root on a board that owns its machine; never on the sim board */
	if (c->system && geteuid() == 0) {
		ts.tv_sec = (time_t)t;
		if (!c->settime(&ts)) {
			c->offset = 0;
			c->source = source;
			return true;
		}
	}
	if (c->gettime(&ts))
		ts.tv_sec = 0;
	c->offset = t - (int64_t)ts.tv_sec;
	c->source = source;
	return true;
}

int dd_rtc_read(const char *path, int64_t *t, struct dd_err *err)
{
	struct rtc_time rt;
	struct tm tm;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int rc = DD_OK;

	if (fd < 0)
		return dd_fail_errno(err, DD_EIO, errno, "rtc %s", path);
	memset(&rt, 0, sizeof(rt));
	if (ioctl(fd, RTC_RD_TIME, &rt))
		rc = dd_fail_errno(err, DD_EIO, errno, "rtc %s: RTC_RD_TIME", path);
	close(fd);
	if (rc)
		return rc;
	memset(&tm, 0, sizeof(tm));
	tm.tm_sec = rt.tm_sec;
	tm.tm_min = rt.tm_min;
	tm.tm_hour = rt.tm_hour;
	tm.tm_mday = rt.tm_mday;
	tm.tm_mon = rt.tm_mon;
	tm.tm_year = rt.tm_year;
	*t = (int64_t)timegm(&tm);
	return DD_OK;
}

int dd_clock_from_rtc(struct dd_clock *c, const char *path, struct dd_err *err)
{
	char when[32];
	int64_t t = 0;
	int rc = c->rtc_read(path, &t, err);

	if (rc)
		return rc;
	if (dd_clock_set(c, t, DD_TIME_RTC))
		return DD_OK;
	dd_clock_format(t, when, sizeof(when));
	return dd_fail(err, DD_EINPUT, "rtc %s holds %s: not a time (flat battery?); the clock stays unset", path,
		       when);
}

void dd_clock_format(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm)) {
		snprintf(out, len, "%lld", (long long)t);
		return;
	}
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
