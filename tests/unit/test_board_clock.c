/* The board's clock (firmware/clock.h): unset until something sets it, only sane times taken, a PC's
 * time kept as a process-local offset unless the board may set the system clock (and is root), the RTC
 * read at boot, a flat RTC or a device that is no RTC leaving the clock unset. */
#include "check.h"
#include "firmware/clock.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int64_t sys_now = 100;   /* a board booted at 1970 + 100 s, as a Pi without RTC does */
static unsigned settime_calls;
static int64_t settime_to;
static int64_t rtc_value;
static int rtc_rc;

static int fake_gettime(struct timespec *ts)
{
	ts->tv_sec = (time_t)sys_now;
	ts->tv_nsec = 0;
	return 0;
}

static int fake_settime(const struct timespec *ts)
{
	settime_calls++;
	settime_to = ts->tv_sec;
	sys_now = ts->tv_sec;
	return 0;
}

static int fake_rtc(const char *path, int64_t *t, struct dd_err *err)
{
	(void)path;
	*t = rtc_value;
	return rtc_rc ? dd_fail(err, DD_EIO, "fake rtc: cannot read") : DD_OK;
}

static void fake_clock(struct dd_clock *c, bool system)
{
	dd_clock_init(c, system);
	c->gettime = fake_gettime;
	c->settime = fake_settime;
	c->rtc_read = fake_rtc;
	sys_now = 100;
	settime_calls = 0;
}

TEST(unset_until_set)
{
	struct dd_clock c;
	int src = -1;

	fake_clock(&c, false);
	CHECK_EQ_INT((int)dd_clock_now(&c, &src), 100);
	CHECK_EQ_INT(src, DD_TIME_UNSET);
	/* a PC with a wrong clock is not taken: 1970, before 2025, past 2100 */
	CHECK(!dd_clock_set(&c, 0, DD_TIME_PC));
	CHECK(!dd_clock_set(&c, 1600000000, DD_TIME_PC));
	CHECK(!dd_clock_set(&c, 5000000000ll, DD_TIME_PC));
	dd_clock_now(&c, &src);
	CHECK_EQ_INT(src, DD_TIME_UNSET);
}

/* The sim board (system = false): an offset in this process, never the system clock, even as root. */
TEST(pc_time_is_an_offset_on_the_sim_board)
{
	struct dd_clock c;
	int src;

	fake_clock(&c, false);
	CHECK(dd_clock_set(&c, 1796000000, DD_TIME_PC));
	CHECK_EQ_INT(settime_calls, 0);
	CHECK_EQ_U64((uint64_t)dd_clock_now(&c, &src), 1796000000);
	CHECK_EQ_INT(src, DD_TIME_PC);
	sys_now += 60; /* time goes on */
	CHECK_EQ_U64((uint64_t)dd_clock_now(&c, NULL), 1796000060);
}

/* linux-gadget (system = true): clock_settime as root, an offset otherwise. */
TEST(pc_time_sets_the_system_clock_as_root)
{
	struct dd_clock c;
	int src;

	fake_clock(&c, true);
	CHECK(dd_clock_set(&c, 1796000000, DD_TIME_PC));
	CHECK_EQ_INT(settime_calls, geteuid() == 0 ? 1 : 0);
	if (geteuid() == 0)
		CHECK_EQ_U64((uint64_t)settime_to, 1796000000);
	CHECK_EQ_U64((uint64_t)dd_clock_now(&c, &src), 1796000000);
	CHECK_EQ_INT(src, DD_TIME_PC);
}

TEST(rtc_at_boot)
{
	struct dd_clock c;
	struct dd_err err = { 0 };
	int src;

	fake_clock(&c, false);
	rtc_rc = 0;
	rtc_value = 1796000000;
	CHECK_EQ_INT(dd_clock_from_rtc(&c, "/dev/rtc0", &err), DD_OK);
	CHECK_EQ_U64((uint64_t)dd_clock_now(&c, &src), 1796000000);
	CHECK_EQ_INT(src, DD_TIME_RTC);
	/* a flat battery: the RTC counts from 2000 or 1970; the clock stays unset, and says why */
	fake_clock(&c, false);
	rtc_value = 946684800;
	CHECK_EQ_INT(dd_clock_from_rtc(&c, "/dev/rtc0", &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "2000-01-01T00:00:00Z");
	dd_clock_now(&c, &src);
	CHECK_EQ_INT(src, DD_TIME_UNSET);
	/* an RTC that cannot be read */
	rtc_rc = 1;
	CHECK_EQ_INT(dd_clock_from_rtc(&c, "/dev/rtc0", &err), DD_EIO);
	dd_clock_now(&c, &src);
	CHECK_EQ_INT(src, DD_TIME_UNSET);
}

/* The real RTC_RD_TIME on paths that are no RTC (a description file naming the wrong thing). */
TEST(rtc_read_of_what_is_no_rtc)
{
	struct dd_err err = { 0 };
	char path[600];
	int64_t t = 0;

	snprintf(path, sizeof(path), "%s/not-an-rtc", check_tmpdir());
	CHECK(!check_write_file(path, "x", 1));
	CHECK_EQ_INT(dd_rtc_read(path, &t, &err), DD_EIO);
	CHECK_STR_CONTAINS(err.msg, "RTC_RD_TIME");
	snprintf(path, sizeof(path), "%s/missing-rtc", check_tmpdir());
	CHECK_EQ_INT(dd_rtc_read(path, &t, &err), DD_EIO);
	CHECK_STR_CONTAINS(err.msg, "missing-rtc");
}

int main(void)
{
	RUN(unset_until_set);
	RUN(pc_time_is_an_offset_on_the_sim_board);
	RUN(pc_time_sets_the_system_clock_as_root);
	RUN(rtc_at_boot);
	RUN(rtc_read_of_what_is_no_rtc);
	return check_done();
}
