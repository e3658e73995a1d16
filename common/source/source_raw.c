/* Source backend: a raw disk image (or a block device read as one). There is no manifest, so the
 * open scans the whole image once: SHA-256 of every block and the zero map. read_block is a
 * pread: thread-safe, random access. If the file changes after the scan, the engine's hash check
 * of every decoded block catches it. */
#include "source/source_backends.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source/source_scan.h"

struct raw_source {
	struct dd_source src;
	struct dd_scan scan;
	int fd;
	char path[256];
};

static int read_full(int fd, uint8_t *buf, size_t len, uint64_t off, const char *path, struct dd_err *err)
{
	while (len) {
		ssize_t n = pread(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return dd_fail_errno(err, DD_EIO, errno, "%s: read at offset %" PRIu64, path, off);
		if (n == 0)
			return dd_fail(err, DD_EINPUT, "%s: shorter than when it was opened (offset %" PRIu64 ")",
				       path, off);
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return DD_OK;
}

static int raw_read_block(struct dd_source *src, uint64_t i, uint8_t *buf, struct dd_err *err)
{
	struct raw_source *r = src->priv;

	if (i >= src->info.block_count)
		return dd_fail(err, DD_EINTERNAL, "%s: block %" PRIu64 " out of range", r->path, i);
	return read_full(r->fd, buf, dd_block_len(&src->info, i), i * (uint64_t)src->info.block_size,
			 r->path, err);
}

static void raw_close(struct dd_source *src)
{
	struct raw_source *r = src->priv;

	close(r->fd);
	dd_scan_free(&r->scan);
	free(r);
}

static const struct dd_source_ops raw_ops = {
	.read_block = raw_read_block,
	.close = raw_close,
};

static int scan_file(struct raw_source *r, uint64_t size, struct dd_err *err)
{
	uint32_t bs = r->scan.block_size;
	uint8_t *buf = malloc(bs);
	int rc = DD_OK;

	if (!buf)
		return dd_fail(err, DD_ENOMEM, "%s: out of memory", r->path);
	posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (uint64_t off = 0; off < size && !rc; off += bs) {
		uint32_t len = size - off < bs ? (uint32_t)(size - off) : bs;

		rc = read_full(r->fd, buf, len, off, r->path, err);
		if (!rc)
			rc = dd_scan_add(&r->scan, buf, len, NULL, err);
	}
	free(buf);
	return rc;
}

int dd_source_open_raw(const char *path, const struct dd_source_opts *opts, struct dd_source **out,
		       struct dd_err *err)
{
	size_t plen = strlen(path);
	struct raw_source *r;
	struct stat st;
	off_t size;
	int rc;

	if ((rc = dd_source_refuse_keys(opts, path, "raw", err)))
		return rc;
	if ((plen >= 4 && !strcmp(path + plen - 4, ".dfi")) || (plen >= 4 && !strcmp(path + plen - 4, ".zst")))
		return dd_fail(err, DD_EINPUT, "%s: named like a package but its content is not one (damaged?)", path);
	r = calloc(1, sizeof(*r));
	if (!r)
		return dd_fail(err, DD_ENOMEM, "%s: out of memory", path);
	r->src.priv = r;
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		rc = dd_fail_errno(err, DD_EINPUT, errno, "%s", path);
		free(r);
		return rc;
	}
	rc = dd_scan_init(&r->scan, opts, path, err);
	if (!rc && (fstat(r->fd, &st) || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))))
		rc = dd_fail(err, DD_EINPUT, "%s: not a regular file or block device", path);
	if (!rc && (size = lseek(r->fd, 0, SEEK_END)) < 0)
		rc = dd_fail_errno(err, DD_EINPUT, errno, "%s: size", path);
	/* an empty file (a download that failed, a typo'd copy) is no image: writing "it" would pass every stick */
	if (!rc && size == 0)
		rc = dd_fail(err, DD_EINPUT, "%s: empty (0 bytes): not an image", path);
	if (!rc)
		rc = scan_file(r, (uint64_t)size, err);
	if (rc) {
		raw_close(&r->src);
		return rc;
	}
	r->src.ops = &raw_ops;
	dd_scan_info(&r->scan, path, "raw", &r->src.info);
	r->src.info.path = r->path;
	*out = &r->src;
	return DD_OK;
}
