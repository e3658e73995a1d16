/* One unit convention for every view (README "Units"): sizes and speeds in binary units, as the kernel and
 * lsblk count them: B, KiB, MiB, GiB, TiB (1 KiB = 1024 bytes) and MiB/s. JSON and audit records carry plain
 * bytes and bytes per second (the one exception, write's "mb_per_s", is documented in docs/EVENTS.md).
 * Formatting only: no printing. */
#ifndef DARTDUP_UNITS_H
#define DARTDUP_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* "512 B", "4.0 KiB", "64.0 MiB", "14.9 GiB", "1.8 TiB" into out; returns out. */
char *dd_fmt_size(char *out, size_t size, uint64_t bytes);

/* "12.3 MiB/s" (bytes per second; negative or NaN as 0) into out; returns out. */
char *dd_fmt_rate(char *out, size_t size, double bytes_per_s);

#endif
