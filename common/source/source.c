/* dd_source_open(): pick a backend by the file's content. */
#include "source/source.h"
#include "format/dfi_reader.h"
#include "source/source_backends.h"
#include "source/magic.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

struct source_backend {
	const char *name;
	/* true when this backend reads a file starting with head[0..n) */
	bool (*probe)(const uint8_t *head, size_t n);
	int (*open)(const char *path, const struct dd_source_opts *opts, struct dd_source **out,
		    struct dd_err *err);
};

/* Tried in order; the first whose probe accepts the head opens the file. A .dfi starts with a
 * skippable frame, so it must come before a plain .zst backend; the raw backend goes last and takes
 * only what no detector of source/magic.h claims. */
static const struct source_backend backends[] = {
	{ "dfi", dfi_probe, dfi_source_open },
	{ "zst", dd_source_probe_zst, dd_source_open_zst },
	{ "raw", dd_source_probe_raw, dd_source_open_raw },
};

int dd_source_open(const char *path, const struct dd_source_opts *opts, struct dd_source **out,
		   struct dd_err *err)
{
	uint8_t head[DD_MAGIC_HEAD];
	const struct dd_magic *m;
	ssize_t n;
	int fd;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dd_fail_errno(err, DD_EINPUT, errno, "%s", path);
	do
		n = pread(fd, head, sizeof(head), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int e = errno;
		close(fd);
		return dd_fail_errno(err, DD_EINPUT, e, "%s: read failed", path);
	}
	close(fd);
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (backends[i].probe(head, (size_t)n))
			return backends[i].open(path, opts, out, err);
	/* claimed by a detector, yet no backend of this side opens it: say what it is */
	m = dd_magic_detect(head, (size_t)n);
	if (m)
		return dd_magic_refuse(m, path, err);
	return dd_fail(err, DD_EINPUT, "%s: not a .dfi package", path);
}

void dd_source_close(struct dd_source *src)
{
	if (src && src->ops && src->ops->close)
		src->ops->close(src);
}
