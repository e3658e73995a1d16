/* SHA-256 compression functions (private to common/hash/). Each runs nblocks 64-byte blocks
 * through state, in FIPS 180-4 order (state[0] = a ... state[7] = h). */
#ifndef DARTDUP_SHA256_HW_H
#define DARTDUP_SHA256_HW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef void (*dd_sha256_compress_fn)(uint32_t state[8], const uint8_t *blocks, size_t nblocks);

extern const uint32_t dd_sha256_k[64];

/* Each returns NULL when this build or this CPU lacks the instructions. */
dd_sha256_compress_fn dd_sha256_shani(void);
dd_sha256_compress_fn dd_sha256_armv8(void);

#endif
