/* Source backend: a plain .zst stream (not a .dfi). A zstd stream has no random access and no
 * manifest, yet the engine needs any block again at any time (lagging targets, rewrites). So the
 * open decodes the stream once into an unlinked temporary file ($TMPDIR, else /var/tmp) while
 * hashing every block; zero blocks are left as holes, so the file costs only the non-zero part.
 * Memory stays at one block plus the zstd window; read_block is then a pread. (Packing to a
 * temporary .dfi would cost a second compression for nothing: the blocks are read locally.) */
#include "source/source_backends.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "source/source_scan.h"

struct zst_source {
	struct dd_source src;
	struct dd_scan scan;
	int tmp_fd;
	char path[256];
};

static int zst_read_block(struct dd_source *src, uint64_t i, uint8_t *buf, struct dd_err *err)
{
	struct zst_source *z = src->priv;
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

static void zst_close(struct dd_source *src)
{
	struct zst_source *z = src->priv;

	if (z->tmp_fd >= 0)
		close(z->tmp_fd);
	dd_scan_free(&z->scan);
	free(z);
}

static const struct dd_source_ops zst_ops = {
	.read_block = zst_read_block,
	.close = zst_close,
};

static int open_tmp(struct zst_source *z, struct dd_err *err)
{
	const char *dir = getenv("TMPDIR");

	if (!dir || !*dir)
		dir = "/var/tmp";
	z->tmp_fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (z->tmp_fd < 0)
		return dd_fail_errno(err, DD_EIO, errno, "%s: temporary file for the decoded image", dir);
	return DD_OK;
}

/* One full (or last) block is ready in blk: hash it, store it unless it is zero. */
static int put_block(struct zst_source *z, const uint8_t *blk, uint32_t len, struct dd_err *err)
{
	uint64_t off = z->scan.size;
	bool zero;
	size_t done = 0;
	int rc = dd_scan_add(&z->scan, blk, len, &zero, err);

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

static int decode_all(struct zst_source *z, int in_fd, struct dd_err *err)
{
	size_t in_cap = ZSTD_DStreamInSize();
	uint32_t bs = z->scan.block_size;
	uint8_t *in = malloc(in_cap), *blk = malloc(bs);
	ZSTD_DStream *ds = ZSTD_createDStream();
	ZSTD_outBuffer out = { blk, bs, 0 };
	size_t last = 0; /* last ZSTD_decompressStream result: 0 = a frame ended cleanly */
	int rc = DD_OK;
	bool any = false;

	if (!in || !blk || !ds) {
		rc = dd_fail(err, DD_ENOMEM, "%s: out of memory", z->path);
		goto out;
	}
	for (;;) {
		ssize_t n = read(in_fd, in, in_cap);
		ZSTD_inBuffer ib = { in, 0, 0 };

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = dd_fail_errno(err, DD_EIO, errno, "%s: read", z->path);
			goto out;
		}
		if (n == 0)
			break;
		any = true;
		ib.size = (size_t)n;
		while (ib.pos < ib.size) {
			last = ZSTD_decompressStream(ds, &out, &ib);
			if (ZSTD_isError(last)) {
				rc = dd_fail(err, DD_EINPUT, "%s: not a valid zstd stream: %s", z->path,
					     ZSTD_getErrorName(last));
				goto out;
			}
			if (out.pos == out.size) {
				if ((rc = put_block(z, blk, bs, err)))
					goto out;
				out.pos = 0;
			}
		}
	}
	if (!any || last != 0) {
		rc = dd_fail(err, DD_EINPUT, "%s: truncated zstd stream", z->path);
		goto out;
	}
	if (out.pos)
		rc = put_block(z, blk, (uint32_t)out.pos, err);
	if (!rc && ftruncate(z->tmp_fd, (off_t)z->scan.size))
		rc = dd_fail_errno(err, DD_EIO, errno, "%s: sizing the decoded copy", z->path);
out:
	ZSTD_freeDStream(ds);
	free(in);
	free(blk);
	return rc;
}

int dd_source_open_zst(const char *path, const struct dd_source_opts *opts, struct dd_source **out,
		       struct dd_err *err)
{
	struct zst_source *z;
	int in_fd, rc;

	if ((rc = dd_source_refuse_keys(opts, path, "plain .zst", err)))
		return rc;
	z = calloc(1, sizeof(*z));
	if (!z)
		return dd_fail(err, DD_ENOMEM, "%s: out of memory", path);
	z->src.priv = z;
	z->tmp_fd = -1;
	snprintf(z->path, sizeof(z->path), "%s", path);
	in_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (in_fd < 0) {
		rc = dd_fail_errno(err, DD_EINPUT, errno, "%s", path);
		zst_close(&z->src);
		return rc;
	}
	posix_fadvise(in_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	rc = dd_scan_init(&z->scan, opts, path, err);
	if (!rc)
		rc = open_tmp(z, err);
	if (!rc)
		rc = decode_all(z, in_fd, err);
	close(in_fd);
	if (rc) {
		zst_close(&z->src);
		return rc;
	}
	z->src.ops = &zst_ops;
	dd_scan_info(&z->scan, path, "zst", &z->src.info);
	*out = &z->src;
	return DD_OK;
}
