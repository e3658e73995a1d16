/* SHA-256 of a whole file through its descriptor (positional reads: the file offset is left alone). */
#ifndef DARTDUP_SHA256_FD_H
#define DARTDUP_SHA256_FD_H

#include <stdint.h>

#include "hash/sha256.h"
#include "util/err.h"

/* out = SHA-256 of the file's bytes from offset 0 to its end; *size (may be NULL) = their count.
 * name is used in messages. */
int dd_sha256_fd(int fd, const char *name, uint8_t out[DD_SHA256_LEN], uint64_t *size, struct dd_err *err);

#endif
