/* Decoding compressed images on the PC with libarchive (never in the firmware: it links common/ only).
 * libarchive is a struct dd_stream here; dd_source_open_stream() does the one pass into a scanned
 * temporary file, as for a plain .zst.
 *
 * Exactly the filter the detector named is enabled (not archive_read_support_filter_all()): the
 * detector and the decoder then agree on what the file is, no external program is ever started, and
 * a stream inside a stream is refused by content (dd_source_open_stream's inner check) instead of
 * being peeled silently. And since libarchive falls back to "no filter" when its own bidder
 * declines, the filter actually chosen is checked: compressed bytes never pass as the image. */
#include "host/image.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <string.h>

struct filter {
	const char *name;  /* dd_magic name */
	int (*support)(struct archive *);
	int code;          /* what archive_filter_code() reports once it decodes */
};

static const struct filter filters[] = {
	{ "xz", archive_read_support_filter_xz, ARCHIVE_FILTER_XZ },
	{ "gzip", archive_read_support_filter_gzip, ARCHIVE_FILTER_GZIP },
	{ "bzip2", archive_read_support_filter_bzip2, ARCHIVE_FILTER_BZIP2 },
	{ "lz4", archive_read_support_filter_lz4, ARCHIVE_FILTER_LZ4 },
};

struct ar_reader {
	struct archive *a;
	const char *path;
	const struct dd_magic *m;
	const struct filter *f;   /* NULL for zip */
	char entry[256];          /* zip: the image file's name inside */
	bool ended;
};

static int ar_fail(struct ar_reader *r, const char *what, struct dd_err *err)
{
	const char *msg = archive_error_string(r->a);

	return dd_fail(err, DD_EINPUT, "%s: %s %s: %s", r->path, r->m->what, what, msg ? msg : "unknown error");
}

/* An entry's name as it may appear in a one-line message: control bytes (a newline, an escape) become '?'. */
static void safe_name(char *dst, size_t max, const char *src)
{
	size_t n = 0;

	for (; src && src[n] && n + 1 < max; n++)
		dst[n] = (unsigned char)src[n] < 0x20 || src[n] == 0x7f ? '?' : src[n];
	dst[n] = 0;
}

/* After the image file's data: nothing else may follow (a zip with a second file is refused). */
static int ar_end(struct ar_reader *r, struct dd_err *err)
{
	struct archive_entry *e;
	char next[256];
	int st = archive_read_next_header(r->a, &e);

	if (st == ARCHIVE_EOF)
		return DD_OK;
	if (st != ARCHIVE_OK)
		return ar_fail(r, "is damaged after its first file", err);
	safe_name(next, sizeof(next), archive_entry_pathname(e) ? archive_entry_pathname(e) : "?");
	return dd_fail(err, DD_EINPUT, "%s: %s holding several files (%s, %s ...): it must hold exactly one image",
		       r->path, r->m->what, r->entry, next);
}

static int ar_read(struct dd_stream *s, uint8_t *buf, size_t len, size_t *got, struct dd_err *err)
{
	struct ar_reader *r = s->priv;
	la_ssize_t n;

	*got = 0;
	if (r->ended)
		return DD_OK;
	do
		n = archive_read_data(r->a, buf, len);
	while (n == ARCHIVE_RETRY);
	if (n < 0)
		return ar_fail(r, "is damaged or truncated", err);
	if (n > 0) {
		*got = (size_t)n;
		return DD_OK;
	}
	r->ended = true;
	return ar_end(r, err);
}

static int ar_setup(struct ar_reader *r, struct dd_err *err)
{
	int st;

	if (r->m->kind == DD_MAGIC_ARCHIVE) {
		st = archive_read_support_format_zip(r->a);
	} else {
		for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]) && !r->f; i++)
			if (!strcmp(filters[i].name, r->m->name))
				r->f = &filters[i];
		if (!r->f)
			return dd_fail(err, DD_EINTERNAL, "%s: no decoder for %s", r->path, r->m->what);
		/* ARCHIVE_WARN would mean an external program: refuse rather than start one */
		st = r->f->support(r->a);
		/* raw: the stream's bytes are the one entry; empty: an empty stream reads as no entry */
		if (st == ARCHIVE_OK)
			st = archive_read_support_format_raw(r->a);
		if (st == ARCHIVE_OK)
			st = archive_read_support_format_empty(r->a);
	}
	if (st != ARCHIVE_OK)
		return dd_fail(err, DD_EINTERNAL, "%s: this libarchive cannot decode %s", r->path, r->m->what);
	return DD_OK;
}

/* Open and stand on the image's data: the single stream, or the zip's one regular file. */
static int ar_start(struct ar_reader *r, struct dd_err *err)
{
	struct archive_entry *e;
	const char *name;
	int st;

	if (archive_read_open_filename(r->a, r->path, 1 << 16) != ARCHIVE_OK)
		return ar_fail(r, "is damaged or truncated", err);
	st = archive_read_next_header(r->a, &e);
	if (st == ARCHIVE_EOF && r->f)
		return dd_fail(err, DD_EINPUT, "%s: the %s stream holds an empty image", r->path, r->m->name);
	if (st == ARCHIVE_EOF)
		return dd_fail(err, DD_EINPUT, "%s: %s holding no file", r->path, r->m->what);
	if (st != ARCHIVE_OK)
		return ar_fail(r, "is damaged", err);
	if (r->f && archive_filter_code(r->a, 0) != r->f->code)
		return dd_fail(err, DD_EINPUT, "%s: starts like %s but is not a valid one", r->path, r->m->what);
	if (r->f)
		return DD_OK;
	safe_name(r->entry, sizeof(r->entry), archive_entry_pathname(e) ? archive_entry_pathname(e) : "?");
	name = r->entry;
	if (archive_entry_filetype(e) == AE_IFDIR)
		return dd_fail(err, DD_EINPUT, "%s: %s holding a directory (%s): it must hold exactly one image file",
			       r->path, r->m->what, name);
	if (archive_entry_filetype(e) != AE_IFREG)
		return dd_fail(err, DD_EINPUT, "%s: %s whose entry %s is not a regular file", r->path, r->m->what,
			       name);
	return DD_OK;
}

int host_image_open_archive(const char *path, const struct dd_magic *m, const struct dd_source_opts *opts,
			    struct dd_source **out, struct dd_err *err)
{
	struct ar_reader r = { .path = path, .m = m };
	struct dd_stream s = { .read = ar_read, .priv = &r };
	int rc;

	*out = NULL;
	r.a = archive_read_new();
	if (!r.a)
		return dd_fail(err, DD_ENOMEM, "%s: out of memory", path);
	rc = ar_setup(&r, err);
	if (!rc)
		rc = ar_start(&r, err);
	if (!rc)
		rc = dd_source_open_stream(path, opts, m->name, &s, out, err);
	archive_read_free(r.a);
	return rc;
}
