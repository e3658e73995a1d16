/* Whole-buffer positional I/O on a file descriptor, shared by the file and block-device targets:
 * retries short transfers and EINTR, and names the target and the offset in the one-line error. */
#ifndef DARTDUP_TARGET_FD_IO_H
#define DARTDUP_TARGET_FD_IO_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

int dd_fd_write_full(int fd, const void *buf, size_t len, uint64_t off, const char *name, struct dd_err *err);
int dd_fd_read_full(int fd, void *buf, size_t len, uint64_t off, const char *name, struct dd_err *err);

#endif
