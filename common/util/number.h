/* Checked number parsing for command-line values: "abc", "", "12x", "-1" and values over the limit are
 * refused, never read as 0 or wrapped (a `--timeout abc` must not become "no time at all"). */
#ifndef DARTDUP_NUMBER_H
#define DARTDUP_NUMBER_H

#include <stdint.h>

/* The decimal number s (digits only, at least one) in *out when it is at most max: 0; else -1, *out
 * untouched. */
int dd_parse_u64(const char *s, uint64_t max, uint64_t *out);

/* A size: the decimal number of dd_parse_u64, optionally followed by one binary suffix K, M or G (either
 * case: KiB, MiB, GiB), at most max once multiplied; 0 or -1 as dd_parse_u64. */
int dd_parse_size(const char *s, uint64_t max, uint64_t *out);

#endif
