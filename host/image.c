/* See image.h: the one door to an IMAGE on the PC. */
#include "host/image.h"
#include "host/iso/build.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


/* Where an ISO 9660 / UDF volume descriptor starts (dd_build_is_iso() looks there too). */
#define ISO_VD_OFFSET (16 * 2048)

int host_image_detect(const char *path, const struct dd_magic **m, bool *iso, struct dd_err *err)
{
	uint8_t head[DD_MAGIC_HEAD];
	size_t n;
	int rc;

	*m = NULL;
	*iso = false;
	if ((rc = dd_magic_read_head(path, head, &n, err)))
		return rc;
	*m = dd_magic_detect(head, n);
	if (!*m)
		*iso = dd_build_is_iso(path);
	return DD_OK;
}

/* A decoded image that is an ISO would go onto the sticks as a raw ISO: the builder needs the .iso
 * itself (it reads it by random access), so say so. */
static int refuse_inner_iso(const char *path, struct dd_source *src, struct dd_err *err)
{
	const struct dd_image_info *info = &src->info;
	uint64_t i = ISO_VD_OFFSET / info->block_size;
	uint32_t off = ISO_VD_OFFSET % info->block_size;
	uint8_t *buf;
	bool iso;
	int rc;

	if (i >= info->block_count || dd_block_len(info, i) < off + 8)
		return DD_OK;
	buf = malloc(info->block_size);
	if (!buf)
		return dd_fail(err, DD_ENOMEM, "%s: out of memory", path);
	rc = dd_source_read_block(src, i, buf, err);
	iso = !rc && (!memcmp(buf + off + 1, "CD001", 5) || !memcmp(buf + off + 1, "BEA01", 5));
	free(buf);
	if (!rc && iso)
		rc = dd_fail(err, DD_EINPUT, "%s: the %s stream holds an ISO: decompress it and give the .iso "
			     "itself (dartdup builds the stick image from it)", path, info->format);
	return rc;
}

static int image_open(const char *path, const struct dd_source_opts *opts, struct dd_source **out,
		      struct dd_err *err);

/* A raw image is hashed, a compressed one decoded, in full before anything is written: on a terminal,
 * say how far (a multi-GB .xz takes minutes). At most 4 lines a second, on stderr. */
struct read_progress {
	struct timespec last;
	bool shown;
};

static void show_read_progress(void *ctx, const char *path, uint64_t bytes)
{
	struct read_progress *p = ctx;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (p->shown && (now.tv_sec - p->last.tv_sec) * 1000 + (now.tv_nsec - p->last.tv_nsec) / 1000000 < 250)
		return;
	p->last = now;
	p->shown = true;
	(void)path; /* the user's own argument, but it may hold control bytes: not echoed */
	fprintf(stderr, "\rreading the image: %.0f MiB", (double)bytes / (1 << 20));
}

int host_image_open(const char *path, const struct dd_source_opts *opts, struct dd_source **out,
		    struct dd_err *err)
{
	struct dd_source_opts o = opts ? *opts : (struct dd_source_opts){ 0 };
	struct read_progress rp = { .shown = false };
	int rc;

	if (!o.progress && isatty(STDERR_FILENO)) {
		o.progress = show_read_progress;
		o.progress_ctx = &rp;
	}
	rc = image_open(path, &o, out, err);
	if (rp.shown)
		fputc('\n', stderr);
	return rc;
}

static int image_open(const char *path, const struct dd_source_opts *opts, struct dd_source **out,
		      struct dd_err *err)
{
	const struct dd_magic *m;
	bool iso;
	int rc;

	*out = NULL;
	if ((rc = host_image_detect(path, &m, &iso, err)))
		return rc;
	if (iso)
		return dd_build_open_source(path, NULL, opts, out, NULL, err);
	if (!m || m->kind == DD_MAGIC_DFI || m->kind == DD_MAGIC_ZSTD)
		rc = dd_source_open(path, opts, out, err);
	else if (m->kind == DD_MAGIC_STREAM || m->kind == DD_MAGIC_ARCHIVE)
		rc = host_image_open_archive(path, m, opts, out, err);
	else
		return dd_magic_refuse(m, path, err);
	if (!rc && m && m->kind != DD_MAGIC_DFI)
		rc = refuse_inner_iso(path, *out, err);
	if (rc) {
		dd_source_close(*out);
		*out = NULL;
	}
	return rc;
}
