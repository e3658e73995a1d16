/* Small text files read whole: sysfs and configfs attributes, one-line settings. */
#ifndef DARTDUP_UTIL_FILE_H
#define DARTDUP_UTIL_FILE_H

#include <stddef.h>

#include "util/err.h"

/* The first line of the file at path, without its newline, in buf (len > 0; cut to fit). Returns 0, or
 * -errno when it cannot be opened or read; buf is "" then. */
int dd_read_line(const char *path, char *buf, size_t len);

/* A whole text file of at most max bytes (a settings file), NUL-terminated, in *text (the caller frees it).
 * A larger file or one holding NUL bytes is refused (DD_EINPUT: "PATH: larger than N KiB: not a WHAT"); an
 * unreadable one too, naming the path. */
int dd_read_text(const char *path, size_t max, const char *what, char **text, struct dd_err *err);

#endif
