/* dd_source_open_stream(): a source from any decoder (see source.h). A stream has no random access
 * and no manifest, yet the engine needs any block again at any time (lagging targets, rewrites). So
 * the open decodes the stream once into an unlinked temporary file ($TMPDIR, else /var/tmp) while
 * hashing every block; zero blocks are left as holes, so the file costs only the non-zero part.
 * Memory stays at one block plus the decoder's own; read_block is then a pread. (Packing to a
 * temporary .dfi would cost a second compression for nothing: the blocks are read locally.) */
#include "source/source.h"
#include "source/magic.h"
#include "source/source_scan.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct stream_source {
	struct dd_source src;
	struct dd_scan scan;
	int tmp_fd;
	const char *format;
	char path[256];
};

static int stream_read_block(struct dd_source *src, uint64_t i, uint8_t *buf, struct dd_err *err)
{
	struct stream_source *z = src->priv;
	uint32_t len;
	uint64_t off;
	size_t done = 0;

	if (i >= src->info.block_count)
		return dd_fail(err, DD_EINTERNAL, "%s: block %" PRIu64 " out of range", z->path, i);
	len = dd_block_len(&src->info, i);
	off = i * (uint64_t)src->info.block_size;
	while (done < len) {
		ssize_t n = pread(z->tmp_fd, buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return dd_fail_errno(err, DD_EIO, n < 0 ? errno : EIO, "%s: decoded copy: read at %" PRIu64,
					     z->path, off + done);
		done += (size_t)n;
	}
	return DD_OK;
}

static void stream_close(struct dd_source *src)
{
	struct stream_source *z = src->priv;

	if (z->tmp_fd >= 0)
		close(z->tmp_fd);
	dd_scan_free(&z->scan);
	free(z);
}

static const struct dd_source_ops stream_ops = {
	.read_block = stream_read_block,
	.close = stream_close,
};

static int open_tmp(struct stream_source *z, struct dd_err *err)
{
	const char *dir = getenv("TMPDIR");

	if (!dir || !*dir)
		dir = "/var/tmp";
	z->tmp_fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (z->tmp_fd < 0)
		return dd_fail_errno(err, DD_EIO, errno, "%s: temporary file for the decoded image", dir);
	return DD_OK;
}

/* The first block: a stream must hold a raw image, not another format (a .tar.gz, a zip of an .xz):
 * those bytes would otherwise go onto the sticks as they are. */
static int check_inner(struct stream_source *z, const uint8_t *blk, uint32_t len, struct dd_err *err)
{
	const struct dd_magic *m = dd_magic_detect(blk, len < DD_MAGIC_HEAD ? len : DD_MAGIC_HEAD);

	if (!m)
		return DD_OK;
	return dd_fail(err, DD_EINPUT, "%s: the %s stream holds %s, not a raw disk image (unpack it first)",
		       z->path, z->format, m->what);
}

/* One full (or last) block is ready in blk: hash it, store it unless it is zero. */
static int put_block(struct stream_source *z, const uint8_t *blk, uint32_t len, struct dd_err *err)
{
	uint64_t off = z->scan.size;
	bool zero;
	size_t done = 0;
	int rc = z->scan.n ? DD_OK : check_inner(z, blk, len, err);

	if (!rc)
		rc = dd_scan_add(&z->scan, blk, len, &zero, err);
	while (!rc && !zero && done < len) {
		ssize_t n = pwrite(z->tmp_fd, blk + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return dd_fail_errno(err, DD_EIO, n < 0 ? errno : ENOSPC, "%s: writing the decoded copy",
					     z->path);
		done += (size_t)n;
	}
	return rc;
}

static int decode_all(struct stream_source *z, struct dd_stream *in, struct dd_err *err)
{
	uint32_t bs = z->scan.block_size;
	uint8_t *blk = malloc(bs);
	size_t fill = 0, got = 1;
	int rc = DD_OK;

	if (!blk)
		return dd_fail(err, DD_ENOMEM, "%s: out of memory", z->path);
	while (!rc && got) {
		rc = in->read(in, blk + fill, bs - fill, &got, err);
		fill += rc ? 0 : got;
		if (!rc && fill == bs) {
			rc = put_block(z, blk, bs, err);
			fill = 0;
		}
	}
	if (!rc && fill)
		rc = put_block(z, blk, (uint32_t)fill, err);
	if (!rc && !z->scan.size)
		rc = dd_fail(err, DD_EINPUT, "%s: the %s stream holds an empty image", z->path, z->format);
	if (!rc && ftruncate(z->tmp_fd, (off_t)z->scan.size))
		rc = dd_fail_errno(err, DD_EIO, errno, "%s: sizing the decoded copy", z->path);
	free(blk);
	return rc;
}

int dd_source_open_stream(const char *path, const struct dd_source_opts *opts, const char *format,
			  struct dd_stream *in, struct dd_source **out, struct dd_err *err)
{
	struct stream_source *z;
	char what[64];
	int rc;


	*out = NULL;
	snprintf(what, sizeof(what), "decoded %s", format);
	if ((rc = dd_source_refuse_keys(opts, path, what, err)))
		return rc;
	z = calloc(1, sizeof(*z));
	if (!z)
		return dd_fail(err, DD_ENOMEM, "%s: out of memory", path);
	z->src.priv = z;
	z->tmp_fd = -1;
	z->format = format;
	snprintf(z->path, sizeof(z->path), "%s", path);
	rc = dd_scan_init(&z->scan, opts, path, err);
	if (!rc)
		rc = open_tmp(z, err);
	if (!rc)
		rc = decode_all(z, in, err);
	if (rc) {
		stream_close(&z->src);
		return rc;
	}
	z->src.ops = &stream_ops;
	dd_scan_info(&z->scan, path, format, &z->src.info);
	z->src.info.path = z->path;
	*out = &z->src;
	return DD_OK;
}
