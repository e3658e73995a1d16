/* systemd's notification protocol as dartdupd speaks it (firmware/notify.c): datagrams to a socket the
 * test owns (a path and an abstract name), the watchdog's pace, and refused settings. */
#include "check.h"
#include "firmware/notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* A datagram socket bound at name ("/path" or "@abstract"), as systemd's would be. */
static int listener(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	memcpy(sa.sun_path, name, len);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)))
		return -1;
	return fd;
}

/* The next datagram, "" if none is waiting. */
static const char *next_msg(int fd)
{
	static char buf[128];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

TEST(ready_and_watchdog_over_a_path)
{
	char path[600], pid[32];
	struct dd_notify n;
	struct dd_err err;
	uint64_t t0;
	int fd, wait;

	snprintf(path, sizeof(path), "%s/notify", check_tmpdir());
	fd = listener(path);
	CHECK(fd >= 0);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	CHECK_EQ_INT(dd_notify_open(&n, path, "10000000", pid, &err), DD_OK); /* WatchdogSec=10 */
	CHECK_EQ_INT(dd_notify_send(&n, "READY=1", &err), DD_OK);
	CHECK_EQ_INT(strcmp(next_msg(fd), "READY=1"), 0);
	t0 = n.next_ms;
	wait = dd_notify_tick(&n, t0); /* due at once: ping, then every half period */
	CHECK_EQ_INT(strcmp(next_msg(fd), "WATCHDOG=1"), 0);
	CHECK_EQ_INT(wait, 5000);
	CHECK_EQ_INT(dd_notify_tick(&n, t0 + 4999), 1);
	CHECK_EQ_INT(strcmp(next_msg(fd), ""), 0); /* not yet */
	CHECK_EQ_INT(dd_notify_tick(&n, t0 + 5000), 5000);
	CHECK_EQ_INT(strcmp(next_msg(fd), "WATCHDOG=1"), 0);
	dd_notify_close(&n);
	close(fd);
}

TEST(abstract_socket_without_watchdog)
{
	char name[64];
	struct dd_notify n;
	struct dd_err err;
	int fd;

	snprintf(name, sizeof(name), "@dartdup-test-notify-%d", (int)getpid());
	fd = listener(name);
	CHECK(fd >= 0);
	CHECK_EQ_INT(dd_notify_open(&n, name, NULL, NULL, &err), DD_OK);
	CHECK_EQ_INT(dd_notify_tick(&n, dd_notify_now_ms()), -1); /* no watchdog asked for */
	CHECK_EQ_INT(dd_notify_send(&n, "STOPPING=1", &err), DD_OK);
	CHECK_EQ_INT(strcmp(next_msg(fd), "STOPPING=1"), 0);
	dd_notify_close(&n);
	close(fd);
}

TEST(watchdog_of_another_process_is_not_ours)
{
	char path[600];
	struct dd_notify n;
	struct dd_err err;
	int fd;

	snprintf(path, sizeof(path), "%s/notify2", check_tmpdir());
	fd = listener(path);
	CHECK(fd >= 0);
	CHECK_EQ_INT(dd_notify_open(&n, path, "1000000", "1", &err), DD_OK); /* pid 1 is not us */
	CHECK_EQ_INT(dd_notify_tick(&n, dd_notify_now_ms()), -1);
	CHECK_EQ_INT(strcmp(next_msg(fd), ""), 0);
	dd_notify_close(&n);
	close(fd);
}

TEST(nothing_to_notify_and_bad_settings)
{
	struct dd_notify n;
	struct dd_err err;

	CHECK_EQ_INT(dd_notify_open(&n, NULL, "1000000", NULL, &err), DD_OK); /* not under systemd */
	CHECK_EQ_INT(dd_notify_send(&n, "READY=1", &err), DD_OK);
	CHECK_EQ_INT(dd_notify_tick(&n, 0), -1);
	CHECK_EQ_INT(dd_notify_open(&n, "relative/path", NULL, NULL, &err), DD_EUSAGE);
	CHECK_STR_CONTAINS(err.msg, "$NOTIFY_SOCKET");
	CHECK_EQ_INT(n.fd, -1);
	CHECK_EQ_INT(dd_notify_open(&n, "/run/x", "ten", NULL, &err), DD_EUSAGE);
	CHECK_STR_CONTAINS(err.msg, "$WATCHDOG_USEC");
	CHECK_EQ_INT(n.period_ms, 0);
	dd_notify_close(&n);
	CHECK_EQ_INT(dd_notify_open(&n, "/run/x", "12abc", NULL, &err), DD_EUSAGE);
	dd_notify_close(&n);
	/* a socket nobody listens on: the send fails with the reason, never blocks or crashes */
	CHECK_EQ_INT(dd_notify_open(&n, "/nonexistent/dartdup-notify", NULL, NULL, &err), DD_OK);
	CHECK_EQ_INT(dd_notify_send(&n, "READY=1", &err), DD_EIO);
	CHECK_STR_CONTAINS(err.msg, "READY=1");
	dd_notify_close(&n);
}

int main(void)
{
	RUN(ready_and_watchdog_over_a_path);
	RUN(abstract_socket_without_watchdog);
	RUN(watchdog_of_another_process_is_not_ours);
	RUN(nothing_to_notify_and_bad_settings);
	return check_done();
}
