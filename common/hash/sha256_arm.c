/* SHA-256 with the Armv8 cryptography extensions, detected at run time with getauxval(). */
#include "hash/sha256_hw.h"

/* GCC declares the SHA-2 intrinsics for a target("+crypto") function; clang 14 only when the whole
 * file is built for crypto, so there the path exists only in such builds. */
#if defined(__aarch64__) && (!defined(__clang__) || defined(__ARM_FEATURE_SHA2) || defined(__ARM_FEATURE_CRYPTO))
#include <arm_neon.h>
#include <sys/auxv.h>

#ifndef HWCAP_SHA2
#define HWCAP_SHA2 (1 << 6)
#endif

#if defined(__clang__)
#define DD_TARGET_SHA2 __attribute__((target("crypto")))
#else
#define DD_TARGET_SHA2 __attribute__((target("+crypto")))
#endif

DD_TARGET_SHA2
static void compress_armv8(uint32_t state[8], const uint8_t *data, size_t nblocks)
{
	uint32x4_t s0 = vld1q_u32(&state[0]);   /* ABCD */
	uint32x4_t s1 = vld1q_u32(&state[4]);   /* EFGH */

	for (; nblocks; nblocks--, data += 64) {
		uint32x4_t save0 = s0, save1 = s1, w[4];

		for (int i = 0; i < 4; i++)
			w[i] = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(data + 16 * i)));
#pragma GCC unroll 16
		for (int i = 0; i < 16; i++) {
			uint32x4_t wk, abcd = s0;
			if (i >= 4)
				w[i & 3] = vsha256su1q_u32(vsha256su0q_u32(w[i & 3], w[(i + 1) & 3]),
							   w[(i + 2) & 3], w[(i + 3) & 3]);
			wk = vaddq_u32(w[i & 3], vld1q_u32(&dd_sha256_k[4 * i]));
			s0 = vsha256hq_u32(s0, s1, wk);
			s1 = vsha256h2q_u32(s1, abcd, wk);
		}
		s0 = vaddq_u32(s0, save0);
		s1 = vaddq_u32(s1, save1);
	}
	vst1q_u32(&state[0], s0);
	vst1q_u32(&state[4], s1);
}

dd_sha256_compress_fn dd_sha256_armv8(void)
{
	return (getauxval(AT_HWCAP) & HWCAP_SHA2) ? compress_armv8 : NULL;
}

#else
dd_sha256_compress_fn dd_sha256_armv8(void)
{
	return NULL;
}
#endif
