/* source: where the image comes from. One small table of functions; backends for .dfi packages,
 * raw images and plain .zst streams; host side also .iso (through the builder) and the streams
 * and archives host/image.c decodes (xz, gzip, bzip2, lz4, zip) through dd_source_open_stream().
 *
 * After dd_source_open() returns DD_OK the source is fully validated (MCUboot-style: bounds,
 * hashes, signature when a key was given) and info.block_hash[] can be trusted. */
#ifndef DARTDUP_SOURCE_H
#define DARTDUP_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/sign.h"
#include "hash/sha256.h"
#include "util/err.h"

struct dd_image_info {
	uint64_t image_size;        /* bytes */
	uint32_t block_size;        /* bytes, power of two >= 4096 */
	uint64_t block_count;       /* ceil(image_size / block_size) */
	const uint8_t (*block_hash)[DD_SHA256_LEN]; /* SHA-256 of each block (last one: its real length) */
	const uint8_t *zero_map;    /* bit i (byte i/8, bit i%8) set: block i is all zeros */
	uint8_t image_id[DD_SHA256_LEN]; /* SHA-256 of the manifest (for raw sources: of the synthesized one) */
	char name[128];
	const char *path;           /* the file the blocks are read from (NULL: none); lives as long as
	                               the source. Errors about the image's bytes name it, not `name` */
	enum dd_sig_state sig;
	uint8_t key_id[DD_SHA256_LEN]; /* the signer's key id (sig != DD_SIG_NONE), else zeros */
	char version[32];           /* the image's version (util/version.h), "" when it has none */
	const char *format;         /* "dfi", "raw", "zst", "iso", or a decoded stream's dd_magic name
	                               ("xz", "gzip", "bzip2", "lz4", "zip") */
};

static inline bool dd_block_is_zero(const struct dd_image_info *info, uint64_t i)
{
	return info->zero_map && (info->zero_map[i / 8] >> (i % 8)) & 1;
}

/* Length of block i (the last block may be short). */
static inline uint32_t dd_block_len(const struct dd_image_info *info, uint64_t i)
{
	uint64_t off = i * (uint64_t)info->block_size;
	uint64_t left = info->image_size - off;
	return left < info->block_size ? (uint32_t)left : info->block_size;
}

struct dd_source;

struct dd_source_ops {
	/* Decode block i into buf (block_size bytes; only dd_block_len() are meaningful).
	 * Thread-safe: the engine's decoder and lagging targets call it concurrently.
	 * Does not check the hash; the engine does (so a damaged frame is caught the same way
	 * whatever the backend). */
	int (*read_block)(struct dd_source *src, uint64_t i, uint8_t *buf, struct dd_err *err);
	void (*close)(struct dd_source *src);
};

struct dd_source {
	const struct dd_source_ops *ops;
	struct dd_image_info info;
	void *priv;
};

struct dd_source_opts {
	const char *const *pubkeys;  /* PEM public key files; when any is given the package must be
	                                signed by one of them (else DD_EINPUT) */
	size_t n_pubkeys;
	uint32_t block_size;         /* for raw/zst sources; 0 = default 1 MiB */
	/* Sources without a manifest (raw, decoded streams) read the whole image once on open: called
	 * after each block with the bytes read so far (a front end shows it; NULL: silent). */
	void (*progress)(void *ctx, const char *path, uint64_t bytes);
	void *progress_ctx;
};

/* The .dfi reader under a source opened from a package (format/dfi_reader.h: its manifest's frames),
 * NULL for any other source. */
struct dfi_reader;
const struct dfi_reader *dd_source_dfi_reader(const struct dd_source *src);

/* Open by content (source/magic.h): a .dfi, a plain zstd stream, or a raw image (what no detector
 * claims). Anything else a detector claims is refused (DD_EINPUT) with a line saying what it is. */
int dd_source_open(const char *path, const struct dd_source_opts *opts, struct dd_source **out,
		   struct dd_err *err);

/* A decoder: the decoded bytes of an image, in order, once. */
struct dd_stream {
	/* Up to len decoded bytes into buf; *got == 0 only at the end of the image. A damaged or
	 * truncated stream fails (DD_EINPUT, one line naming the file). */
	int (*read)(struct dd_stream *s, uint8_t *buf, size_t len, size_t *got, struct dd_err *err);
	void *priv;
};

/* A source from a stream without random access or manifest (plain .zst here; xz, gzip, ... on the
 * PC): decoded once, to its end, into an unlinked sparse temporary file ($TMPDIR, else /var/tmp;
 * zero blocks stay holes) while every block is hashed and zero blocks noted, so the image size is
 * learned in that one pass and memory stays at one block whatever the size. Blocks are then read
 * back from the file. Refused (DD_EINPUT): a key in opts (a stream is unsigned), an empty image, a
 * decoded image that a detector of source/magic.h claims (a .tar.gz, an .xz inside a zip ...).
 * format (a string that lives as long as the source, e.g. a dd_magic name) goes to info.format. */
int dd_source_open_stream(const char *path, const struct dd_source_opts *opts, const char *format,
			  struct dd_stream *in, struct dd_source **out, struct dd_err *err);

static inline int dd_source_read_block(struct dd_source *src, uint64_t i, uint8_t *buf, struct dd_err *err)
{
	return src->ops->read_block(src, i, buf, err);
}

void dd_source_close(struct dd_source *src);

#endif
