/* dartdupd --selftest on the linux-gadget board (selftest.c; docs/ACCEPTANCE.md). */
#ifndef DARTDUP_LG_SELFTEST_H
#define DARTDUP_LG_SELFTEST_H

#include <stdbool.h>
#include <stdio.h>

#include "boards/linux-gadget/conf.h"
#include "util/err.h"

struct dd_store;

/* Every check on out (a line each, or one JSON object each with json). store: the running daemon's
 * (NULL: open it here and read the stored image again in full). DD_OK when none failed, DD_ECHECK when
 * one did. */
int lg_selftest(const struct lg_conf *c, const struct dd_store *store, FILE *out, bool json, struct dd_err *err);

/* The negotiated USB speed of the disk sysname (sdb) in Mbit/s, from sysfs; 0 when unknown. */
unsigned lg_usb_speed(const char *sysname);

#endif
