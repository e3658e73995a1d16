#include "util/file.h"

#include <errno.h>
#include <stdio.h>
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
