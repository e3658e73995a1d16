/* SHA-256 of a file (sha256_fd.h). */
#include "hash/sha256_fd.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

int dd_sha256_fd(int fd, const char *name, uint8_t out[DD_SHA256_LEN], uint64_t *size, struct dd_err *err)
{
	enum { BUF = 1 << 20 };
	uint8_t *buf = malloc(BUF);
	struct dd_sha256 ctx;
	uint64_t off = 0;
	ssize_t n;

	if (!buf)
		return dd_fail(err, DD_ENOMEM, "%s: out of memory", name);
	dd_sha256_init(&ctx);
	while ((n = pread(fd, buf, BUF, (off_t)off)) > 0) {
		dd_sha256_update(&ctx, buf, (size_t)n);
		off += (uint64_t)n;
	}
	free(buf);
	if (n < 0)
		return dd_fail_errno(err, DD_EIO, errno, "%s: read", name);
	dd_sha256_final(&ctx, out);
	if (size)
		*size = off;
	return DD_OK;
}
