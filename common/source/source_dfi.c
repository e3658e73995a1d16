/* Source backend: a .dfi package (docs/FORMAT.md) through the format's reader (format/dfi_reader.h),
 * which validates the whole package before it returns. read_block decodes one frame (thread-safe,
 * pooled decoders) and skips decoding for zero blocks (memset), which the manifest proves are zeros.
 * The engine still compares every block with the manifest's hash. */
#include "source/source_backends.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/dfi_reader.h"

static int src_read_block(struct dd_source *src, uint64_t i, uint8_t *buf, struct dd_err *err)
{
	struct dfi_reader *r = src->priv;

	if (i < r->m.block_count && r->m.frame[i].zero) {
		memset(buf, 0, dd_block_len(&src->info, i));
		return DD_OK;
	}
	return dfi_read_block(r, i, buf, err);
}

static void src_close(struct dd_source *src)
{
	dfi_close(src->priv);
	free(src);
}

static const struct dd_source_ops dfi_source_ops = {
	.read_block = src_read_block,
	.close = src_close,
};

const struct dfi_reader *dd_source_dfi_reader(const struct dd_source *src)
{
	return src && src->ops == &dfi_source_ops ? src->priv : NULL;
}

int dd_source_open_dfi(const char *path, const struct dd_source_opts *opts, struct dd_source **out,
		       struct dd_err *err)
{
	struct dfi_open_opts o = { 0 };
	struct dfi_reader *r;
	struct dd_source *src;
	int rc;

	*out = NULL;
	if (opts) {
		o.pubkeys = opts->pubkeys;
		o.n_pubkeys = opts->n_pubkeys;
	}
	rc = dfi_open(path, &o, &r, err);
	if (rc)
		return rc;
	src = calloc(1, sizeof(*src));
	if (!src) {
		dfi_close(r);
		return dd_fail(err, DD_ENOMEM, "%s: out of memory", path);
	}
	src->ops = &dfi_source_ops;
	src->priv = r;
	src->info.image_size = r->m.image_size;
	src->info.block_size = r->m.block_size;
	src->info.block_count = r->m.block_count;
	src->info.block_hash = (const uint8_t(*)[DD_SHA256_LEN])r->m.hash;
	src->info.zero_map = r->m.zero_map;
	memcpy(src->info.image_id, r->image_id, DD_SHA256_LEN);
	snprintf(src->info.name, sizeof(src->info.name), "%s", r->m.name);
	src->info.path = r->path;
	src->info.sig = r->sig.state;
	snprintf(src->info.version, sizeof(src->info.version), "%s", r->m.image_version);
	if (r->sig.present)
		memcpy(src->info.key_id, r->sig.key_id, DD_SHA256_LEN);
	src->info.format = "dfi";
	*out = src;
	return DD_OK;
}
