/* sd_notify(3) spoken directly (notify.h). */
#include "firmware/notify.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <limits.h>

#define RETRY_MS 50

uint64_t dd_notify_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end ? -1 : 0;
}

static int open_socket(struct dd_notify *n, const char *path, struct dd_err *err)
{
	size_t len = strlen(path);

	if ((path[0] != '/' && path[0] != '@') || len < 2 || len >= sizeof(n->addr.sun_path))
		return dd_fail(err, DD_EUSAGE, "$NOTIFY_SOCKET \"%.100s\": not a socket path or @name", path);
	n->addr.sun_family = AF_UNIX;
	memcpy(n->addr.sun_path, path, len);
	if (path[0] == '@')
		n->addr.sun_path[0] = '\0'; /* abstract namespace: the name is not NUL-terminated */
	n->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (n->fd < 0)
		return dd_fail_errno(err, DD_EIO, errno, "$NOTIFY_SOCKET: socket");
	return DD_OK;
}

int dd_notify_open(struct dd_notify *n, const char *socket, const char *watchdog_usec, const char *watchdog_pid,
		   struct dd_err *err)
{
	uint64_t usec, pid;
	int rc;

	memset(n, 0, sizeof(*n));
	n->fd = -1;
	if (!socket || !*socket)
		return DD_OK;
	if ((rc = open_socket(n, socket, err)))
		return rc;
	if (!watchdog_usec || !*watchdog_usec)
		return DD_OK;
	if (parse_u64(watchdog_usec, &usec) || usec < 2000)
		return dd_fail(err, DD_EUSAGE, "$WATCHDOG_USEC \"%.40s\": not a period in microseconds", watchdog_usec);
	/* the watchdog may be meant for another process of the service */
	if (watchdog_pid && *watchdog_pid && (parse_u64(watchdog_pid, &pid) || pid != (uint64_t)getpid()))
		return DD_OK;
	n->period_ms = usec / 2000;
	n->next_ms = dd_notify_now_ms();
	return DD_OK;
}

void dd_notify_close(struct dd_notify *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
	n->period_ms = 0;
}

int dd_notify_send(struct dd_notify *n, const char *msg, struct dd_err *err)
{
	ssize_t r;

	if (n->fd < 0)
		return DD_OK;
	do
		r = sendto(n->fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *)&n->addr,
			   n->addr_len);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return dd_fail_errno(err, DD_EIO, errno, "$NOTIFY_SOCKET: %s", msg);
	return DD_OK;
}

int dd_notify_tick(struct dd_notify *n, uint64_t now_ms)
{
	struct dd_err err;

	if (!n->period_ms || n->fd < 0)
		return -1;
	if (now_ms >= n->next_ms) {
		/* a lost ping (socket full) is tried again soon: the manager acts only after a whole period */
		if (dd_notify_send(n, "WATCHDOG=1", &err))
			return RETRY_MS;
		n->next_ms = now_ms + n->period_ms;
	}
	return n->next_ms - now_ms < INT_MAX ? (int)(n->next_ms - now_ms) : INT_MAX;
}
