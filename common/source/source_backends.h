/* The source backends behind dd_source_open() (the dispatcher in source.c picks one by content).
 * Each opens one kind of image and returns a validated dd_source. */
#ifndef DARTDUP_SOURCE_BACKENDS_H
#define DARTDUP_SOURCE_BACKENDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source/source.h"

/* Probes for the dispatcher: does a file starting with head[0..n) belong to this backend? */
bool dd_source_probe_zst(const uint8_t *head, size_t n); /* zstd frame magic (after dfi's probe) */
bool dd_source_probe_raw(const uint8_t *head, size_t n); /* what no source/magic.h entry claims */

/* .dfi package (source_dfi.c, over format/dfi_reader.h): validated in full on open. */
int dd_source_open_dfi(const char *path, const struct dd_source_opts *opts, struct dd_source **out,
		       struct dd_err *err);

/* Raw disk image: scanned once on open (block hashes, zero map). */
int dd_source_open_raw(const char *path, const struct dd_source_opts *opts, struct dd_source **out,
		       struct dd_err *err);

/* Plain .zst stream (no manifest, no random access): a zstd decoder fed to dd_source_open_stream()
 * (decoded once on open into an unlinked sparse temporary file while hashing). */
int dd_source_open_zst(const char *path, const struct dd_source_opts *opts, struct dd_source **out,
		       struct dd_err *err);

#endif
