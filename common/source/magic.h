/* magic: what a file is, from its first bytes, never from its name. One table of {name, offset,
 * bytes}; pure (no I/O), so the PC and the board's firmware judge a file the same way.
 *
 * Only a file that no entry claims is a raw disk image: common's raw backend refuses whatever an
 * entry claims, so a compressed image is never written out as its compressed bytes. Which entries a
 * program can open depends on its side: the firmware opens .dfi and plain zstd; the PC also
 * decodes the DD_MAGIC_STREAM and DD_MAGIC_ARCHIVE kinds (host/image.c, libarchive). */
#ifndef DARTDUP_SOURCE_MAGIC_H
#define DARTDUP_SOURCE_MAGIC_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Bytes a caller reads from the start of a file so that every entry can be tested. */
#define DD_MAGIC_HEAD 512

enum dd_magic_kind {
	DD_MAGIC_DFI,      /* a zstd/lz4 skippable frame: only a valid .dfi package may start so */
	DD_MAGIC_ZSTD,     /* a plain zstd stream (common's zst backend decodes it) */
	DD_MAGIC_STREAM,   /* one compressed stream of an image (the PC decodes it) */
	DD_MAGIC_ARCHIVE,  /* an archive that may hold exactly one image file (the PC unpacks it) */
	DD_MAGIC_REFUSED,  /* never a disk image dartdup writes: tar, 7z, rar, VM disk formats */
};

struct dd_magic {
	const char *name;        /* short name: dd_image_info.format of the decoded source ("xz") */
	const char *what;        /* for messages: "an xz stream" */
	const char *hint;        /* DD_MAGIC_REFUSED: what to do instead; else NULL */
	enum dd_magic_kind kind;
	uint32_t offset;         /* where the bytes are */
	uint8_t len;
	const uint8_t *bytes;
	const uint8_t *mask;     /* NULL: bytes match exactly; else byte i matches under mask[i] */
};

/* The entry claiming a file that starts with head[0..n), or NULL: a raw image (n may be short:
 * an entry whose bytes lie beyond n does not match). */
const struct dd_magic *dd_magic_detect(const uint8_t *head, size_t n);

/* The first DD_MAGIC_HEAD bytes of path (fewer for a short file: *n says how many), what
 * dd_magic_detect() looks at. DD_EINPUT with one line naming path when it cannot be read. */
int dd_magic_read_head(const char *path, uint8_t head[DD_MAGIC_HEAD], size_t *n, struct dd_err *err);

/* The whole table (for tests and docs). */
const struct dd_magic *dd_magic_table(size_t *count);

/* Fails with DD_EINPUT and one line saying what path is and why this side does not write it. */
int dd_magic_refuse(const struct dd_magic *m, const char *path, struct dd_err *err);

#endif
