#include "util/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dd_read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	int rc = 0;

	buf[0] = '\0';
	if (!f)
		return -errno;
	errno = 0;
	if (!fgets(buf, len > 1 << 30 ? 1 << 30 : (int)len, f)) {
		rc = ferror(f) ? -(errno ? errno : EIO) : 0;
		buf[0] = '\0';
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return rc;
}

int dd_read_text(const char *path, size_t max, const char *what, char **text, struct dd_err *err)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;
	int rc;

	*text = NULL;
	if (!f)
		return dd_fail_errno(err, DD_EINPUT, errno, "%s", path);
	buf = malloc(max + 1);
	if (!buf) {
		fclose(f);
		return dd_fail(err, DD_ENOMEM, "%s: out of memory", path);
	}
	n = fread(buf, 1, max + 1, f);
	rc = ferror(f) ? dd_fail_errno(err, DD_EINPUT, errno, "%s: read", path) : DD_OK;
	fclose(f);
	if (!rc && n > max)
		rc = dd_fail(err, DD_EINPUT, "%s: larger than %zu KiB: not a %s", path, max >> 10, what);
	if (!rc && memchr(buf, 0, n))
		rc = dd_fail(err, DD_EINPUT, "%s: contains NUL bytes: not a %s", path, what);
	if (rc) {
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*text = buf;
	return DD_OK;
}
