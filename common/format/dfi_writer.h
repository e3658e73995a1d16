/* Writing .dfi packages (docs/FORMAT.md). Used by `dartdup pack` and by `dartdup build`. */
#ifndef DARTDUP_DFI_WRITER_H
#define DARTDUP_DFI_WRITER_H

#include <stdint.h>

#include "hash/sha256.h"
#include "util/err.h"

struct dfi_pack_opts {
	uint32_t block_size;        /* 0 = default (1 MiB); power of two >= 4096 */
	int level;                  /* zstd level; 0 = default (3) */
	unsigned threads;           /* 0 = one per online CPU */
	const char *name;           /* metadata name; NULL = input file's base name */
	const char *version;        /* the image's version (util/version.h); NULL or "" = none */
	const char *key_path;       /* PEM private key to sign with; NULL = unsigned */
	const uint8_t *source_sha256; /* optional SHA-256 of the source (e.g. the ISO); NULL = none */
	uint64_t created;           /* creation time (Unix seconds); 0 = now, or SOURCE_DATE_EPOCH */
	/* progress: called from the writing thread, done/total in input bytes */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *progress_ctx;
};

/* Pack the raw image at in_path (or a .zst stream, detected by magic) into out_path.
 * Writes to a temporary file beside out_path and renames it into place at the end, so a
 * failed or interrupted pack never leaves a half package under the final name. */
int dfi_pack(const char *in_path, const char *out_path, const struct dfi_pack_opts *opts,
	     struct dd_err *err);

struct dd_source;
/* Pack the image of an open source (any backend: what the PC decoded from an .xz or a zip, another
 * .dfi ...), read block by block in order; each block must still match the source's SHA-256 (else
 * DD_EIO). in_path names the input in messages and gives the default name; progress counts image
 * bytes. Output as dfi_pack(). */
int dfi_pack_source(struct dd_source *src, const char *in_path, const char *out_path,
		    const struct dfi_pack_opts *opts, struct dd_err *err);

#endif
