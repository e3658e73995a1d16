/* Small text files read whole: sysfs and configfs attributes, one-line settings. */
#ifndef DARTDUP_UTIL_FILE_H
#define DARTDUP_UTIL_FILE_H

#include <stddef.h>

/* The first line of the file at path, without its newline, in buf (len > 0; cut to fit). Returns 0, or
 * -errno when it cannot be opened or read; buf is "" then. */
int dd_read_line(const char *path, char *buf, size_t len);

#endif
