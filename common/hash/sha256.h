/* SHA-256 for block hashing. One API; the implementation is chosen once at run time:
 * x86 SHA-NI or Armv8 crypto extensions where the CPU has them, mbedTLS otherwise. */
#ifndef DARTDUP_SHA256_H
#define DARTDUP_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define DD_SHA256_LEN 32

struct dd_sha256 {
	uint32_t state[8];
	uint64_t total;    /* bytes fed so far */
	uint8_t buf[64];   /* partial block */
	size_t buf_len;
};

void dd_sha256_init(struct dd_sha256 *ctx);
void dd_sha256_update(struct dd_sha256 *ctx, const void *data, size_t len);
void dd_sha256_final(struct dd_sha256 *ctx, uint8_t out[DD_SHA256_LEN]);

/* One shot: out = SHA-256(data[0..len)). */
void dd_sha256(const void *data, size_t len, uint8_t out[DD_SHA256_LEN]);

/* Name of the implementation in use ("sha-ni", "armv8-ce", "portable"). */
const char *dd_sha256_impl(void);

/* For tests and benchmarks. The implementations this CPU can run ("portable" always last);
 * returns how many, filling up to max names. */
size_t dd_sha256_available(const char **names, size_t max);
/* Use the named implementation from now on, process-wide: 0, or -1 when this CPU lacks it.
 * The environment variable DARTDUP_SHA256=NAME makes the same choice at start-up. */
int dd_sha256_force(const char *name);

#endif
