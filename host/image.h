/* The one door through which every command of the PC (write, verify, station, inspect, pack) opens
 * an IMAGE. By content, never by name (common/source/magic.h):
 *   a DaRT ISO                      -> the stick image built on the fly (dd_build_open_source)
 *   xz, gzip, bzip2, lz4, zip       -> decoded once with libarchive into a scanned temporary file
 *   .dfi, plain zstd, raw           -> common's dd_source_open()
 *   tar, 7z, a damaged .dfi, ...    -> refused (DD_EINPUT, one line naming the file)
 * Decoding ends before the call returns, so a truncated or damaged stream fails here, before any
 * target is opened. */
#ifndef DARTDUP_HOST_IMAGE_H
#define DARTDUP_HOST_IMAGE_H

#include <stdbool.h>

#include "source/magic.h"
#include "source/source.h"

/* What path holds, by content: *m = the detector's entry, or NULL (then *iso tells a DaRT ISO, which
 * no entry claims, from a raw image). DD_EINPUT when it cannot be read. */
int host_image_detect(const char *path, const struct dd_magic **m, bool *iso, struct dd_err *err);

/* Open IMAGE as a validated source (see above). opts: keys and block size, as dd_source_open(). */
int host_image_open(const char *path, const struct dd_source_opts *opts, struct dd_source **out,
		    struct dd_err *err);

/* The libarchive decoder behind the door (host/image_archive.c): m is a DD_MAGIC_STREAM entry (one
 * compressed stream) or DD_MAGIC_ARCHIVE (a zip that must hold exactly one regular file). */
int host_image_open_archive(const char *path, const struct dd_magic *m, const struct dd_source_opts *opts,
			    struct dd_source **out, struct dd_err *err);

#endif
