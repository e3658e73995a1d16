/* Unix stream socket transport: the simulated board's link. Same frames as over USB. */
#include "link/link.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int unix_send(struct dd_link_transport *t, const void *buf, size_t len, struct dd_err *err)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(t->fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return dd_fail_errno(err, DD_EIO, errno, "%s: send", t->name);
		p += n;
		len -= (size_t)n;
	}
	return DD_OK;
}

static int unix_send_some(struct dd_link_transport *t, const void *buf, size_t len, size_t *sent,
			  struct dd_err *err)
{
	ssize_t n;

	*sent = 0;
	do
		n = send(t->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return DD_OK;
	if (n < 0)
		return dd_fail_errno(err, DD_EIO, errno, "%s: send", t->name);
	*sent = (size_t)n;
	return DD_OK;
}

static int unix_recv(struct dd_link_transport *t, void *buf, size_t cap, size_t *got, int timeout_ms,
		     struct dd_err *err)
{
	struct pollfd pfd = { .fd = t->fd, .events = POLLIN };
	ssize_t n;
	int rc;

	*got = 0;
	do
		rc = poll(&pfd, 1, timeout_ms);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return dd_fail_errno(err, DD_EIO, errno, "%s: poll", t->name);
	if (rc == 0)
		return DD_OK;
	do
		n = recv(t->fd, buf, cap, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return DD_OK;
	if (n < 0)
		return dd_fail_errno(err, DD_EIO, errno, "%s: receive", t->name);
	if (n == 0)
		return dd_fail(err, DD_EIO, "%s: connection closed by the peer", t->name);
	*got = (size_t)n;
	return DD_OK;
}

static void unix_close(struct dd_link_transport *t)
{
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

static const struct dd_link_transport_ops unix_ops = {
	.send = unix_send,
	.send_some = unix_send_some,
	.recv = unix_recv,
	.close = unix_close,
};

int dd_link_unix_wrap(int fd, const char *name, struct dd_link_transport **out, struct dd_err *err)
{
	struct dd_link_transport *t = calloc(1, sizeof(*t));

	if (!t) {
		close(fd);
		return dd_fail(err, DD_ENOMEM, "link: out of memory");
	}
	t->ops = &unix_ops;
	t->fd = fd;
	snprintf(t->name, sizeof(t->name), "%s", name);
	*out = t;
	return DD_OK;
}

static int fill_addr(const char *path, struct sockaddr_un *sa, struct dd_err *err)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return dd_fail(err, DD_EUSAGE, "%s: socket path too long", path);
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return DD_OK;
}

int dd_link_unix_connect(const char *path, struct dd_link_transport **out, struct dd_err *err)
{
	struct sockaddr_un sa;
	char name[128];
	int fd;

	if (fill_addr(path, &sa, err))
		return err ? err->code : DD_EUSAGE;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return dd_fail_errno(err, DD_EIO, errno, "%s: socket", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;

		close(fd);
		return dd_fail_errno(err, DD_EIO, e, "%s: no board there", path);
	}
	snprintf(name, sizeof(name), "socket %s", path);
	return dd_link_unix_wrap(fd, name, out, err);
}

int dd_link_unix_listen(const char *path, int *fd, struct dd_err *err)
{
	struct sockaddr_un sa;
	int s;

	if (fill_addr(path, &sa, err))
		return err ? err->code : DD_EUSAGE;
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return dd_fail_errno(err, DD_EIO, errno, "%s: socket", path);
	unlink(path); /* a socket left by a board that died */
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) || listen(s, 8)) {
		int e = errno;

		close(s);
		return dd_fail_errno(err, DD_EIO, e, "%s: listen", path);
	}
	*fd = s;
	return DD_OK;
}
