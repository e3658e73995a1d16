/* dd_source_open(): pick a backend by the file's content. */
#include "source/source.h"
#include "format/dfi_reader.h"
#include "source/source_backends.h"
#include "source/magic.h"

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
	{ "dfi", dfi_probe, dd_source_open_dfi },
	{ "zst", dd_source_probe_zst, dd_source_open_zst },
	{ "raw", dd_source_probe_raw, dd_source_open_raw },
};

int dd_source_open(const char *path, const struct dd_source_opts *opts, struct dd_source **out,
		   struct dd_err *err)
{
	uint8_t head[DD_MAGIC_HEAD];
	const struct dd_magic *m;
	size_t n;
	int rc;

	*out = NULL;
	if ((rc = dd_magic_read_head(path, head, &n, err)))
		return rc;
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (backends[i].probe(head, n))
			return backends[i].open(path, opts, out, err);
	/* claimed by a detector, yet no backend of this side opens it: say what it is */
	m = dd_magic_detect(head, n);
	if (m)
		return dd_magic_refuse(m, path, err);
	return dd_fail(err, DD_EINPUT, "%s: not a .dfi package", path);
}

void dd_source_close(struct dd_source *src)
{
	if (src && src->ops && src->ops->close)
		src->ops->close(src);
}
