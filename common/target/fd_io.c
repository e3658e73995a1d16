#include "target/fd_io.h"

#include <errno.h>
#include <inttypes.h>
#include <unistd.h>

int dd_fd_write_full(int fd, const void *buf, size_t len, uint64_t off, const char *name, struct dd_err *err)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		/* a write of 0 bytes means the medium is full: report it as such */
		if (n <= 0)
			return dd_fail_errno(err, DD_EIO, n < 0 ? errno : ENOSPC,
					     "%s: write at offset %" PRIu64, name, off);
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return DD_OK;
}

int dd_fd_read_full(int fd, void *buf, size_t len, uint64_t off, const char *name, struct dd_err *err)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return dd_fail_errno(err, DD_EIO, errno, "%s: read at offset %" PRIu64, name, off);
		if (n == 0)
			return dd_fail(err, DD_EIO, "%s: ends before offset %" PRIu64, name, off);
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return DD_OK;
}
