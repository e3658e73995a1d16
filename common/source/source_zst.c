/* Source backend: a plain .zst stream (not a .dfi). A zstd decoder behind a struct dd_stream; the
 * one pass into a scanned temporary file is dd_source_open_stream()'s (source_stream.c), shared with
 * the streams the PC decodes through libarchive. */
#include "source/source_backends.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <zstd.h>

struct zst_reader {
	const char *path;
	int fd;
	ZSTD_DStream *ds;
	uint8_t *in;
	size_t in_cap;
	ZSTD_inBuffer ib;
	size_t last; /* last ZSTD_decompressStream result: 0 = a frame ended cleanly */
	bool eof;
};

static int zst_fill(struct zst_reader *z, struct dd_err *err)
{
	ssize_t n;

	do
		n = read(z->fd, z->in, z->in_cap);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return dd_fail_errno(err, DD_EIO, errno, "%s: read", z->path);
	z->ib.src = z->in;
	z->ib.size = (size_t)n;
	z->ib.pos = 0;
	z->eof = n == 0;
	return DD_OK;
}

static int zst_read(struct dd_stream *s, uint8_t *buf, size_t len, size_t *got, struct dd_err *err)
{
	struct zst_reader *z = s->priv;
	ZSTD_outBuffer out = { buf, len, 0 };
	int rc;

	while (out.pos < out.size) {
		size_t before = out.pos;
		bool drained;

		if (z->ib.pos == z->ib.size && !z->eof) {
			if ((rc = zst_fill(z, err)))
				return rc;
			continue;
		}
		drained = z->ib.pos == z->ib.size;
		if (drained && z->last == 0)
			break; /* the last frame ended with the file */
		z->last = ZSTD_decompressStream(z->ds, &out, &z->ib);
		if (ZSTD_isError(z->last))
			return dd_fail(err, DD_EINPUT, "%s: not a valid zstd stream: %s", z->path,
				       ZSTD_getErrorName(z->last));
		if (drained && out.pos == before)
			return dd_fail(err, DD_EINPUT, "%s: truncated zstd stream", z->path);
	}
	*got = out.pos;
	return DD_OK;
}

int dd_source_open_zst(const char *path, const struct dd_source_opts *opts, struct dd_source **out,
		       struct dd_err *err)
{
	struct zst_reader z = { .path = path, .last = 1 /* nothing decoded yet: empty is truncated */ };
	struct dd_stream s = { .read = zst_read, .priv = &z };
	int rc;

	*out = NULL;
	z.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (z.fd < 0)
		return dd_fail_errno(err, DD_EINPUT, errno, "%s", path);
	posix_fadvise(z.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	z.in_cap = ZSTD_DStreamInSize();
	z.in = malloc(z.in_cap);
	z.ds = ZSTD_createDStream();
	if (!z.in || !z.ds)
		rc = dd_fail(err, DD_ENOMEM, "%s: out of memory", path);
	else
		rc = dd_source_open_stream(path, opts, "zst", &s, out, err);
	ZSTD_freeDStream(z.ds);
	free(z.in);
	close(z.fd);
	return rc;
}
