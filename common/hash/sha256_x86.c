/* SHA-256 with the x86 SHA extensions (SHA-NI), detected at run time with CPUID.
 * The state lives in two registers as ABEF and CDGH, the layout SHA256RNDS2 wants. */
#include "hash/sha256_hw.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>

__attribute__((target("sha,sse4.1,ssse3")))
static void compress_shani(uint32_t state[8], const uint8_t *data, size_t nblocks)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bll, 0x0405060700010203ll);
	__m128i tmp = _mm_loadu_si128((const __m128i *)&state[0]);    /* DCBA */
	__m128i st1 = _mm_loadu_si128((const __m128i *)&state[4]);    /* HGFE */
	__m128i st0;

	tmp = _mm_shuffle_epi32(tmp, 0xB1);                            /* CDAB */
	st1 = _mm_shuffle_epi32(st1, 0x1B);                            /* EFGH */
	st0 = _mm_alignr_epi8(tmp, st1, 8);                            /* ABEF */
	st1 = _mm_blend_epi16(st1, tmp, 0xF0);                         /* CDGH */

	for (; nblocks; nblocks--, data += 64) {
		__m128i save0 = st0, save1 = st1, w[4], msg;

		for (int i = 0; i < 4; i++)
			w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16 * i)), bswap);
#pragma GCC unroll 16
		for (int i = 0; i < 16; i++) {
			if (i >= 4) {
				/* W[t..t+3] from W[t-16..t-1]: sigma0 part, + W[t-7..t-4], sigma1 part */
				__m128i t = _mm_sha256msg1_epu32(w[i & 3], w[(i + 1) & 3]);
				t = _mm_add_epi32(t, _mm_alignr_epi8(w[(i + 3) & 3], w[(i + 2) & 3], 4));
				w[i & 3] = _mm_sha256msg2_epu32(t, w[(i + 3) & 3]);
			}
			msg = _mm_add_epi32(w[i & 3], _mm_loadu_si128((const __m128i *)&dd_sha256_k[4 * i]));
			st1 = _mm_sha256rnds2_epu32(st1, st0, msg);
			msg = _mm_shuffle_epi32(msg, 0x0E);
			st0 = _mm_sha256rnds2_epu32(st0, st1, msg);
		}
		st0 = _mm_add_epi32(st0, save0);
		st1 = _mm_add_epi32(st1, save1);
	}

	tmp = _mm_shuffle_epi32(st0, 0x1B);                            /* FEBA */
	st1 = _mm_shuffle_epi32(st1, 0xB1);                            /* DCHG */
	st0 = _mm_blend_epi16(tmp, st1, 0xF0);                         /* DCBA */
	st1 = _mm_alignr_epi8(st1, tmp, 8);                            /* HGFE */
	_mm_storeu_si128((__m128i *)&state[0], st0);
	_mm_storeu_si128((__m128i *)&state[4], st1);
}

dd_sha256_compress_fn dd_sha256_shani(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSE4_1) || !(c & bit_SSSE3))
		return NULL;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & (1u << 29)))
		return NULL;
	return compress_shani;
}

#else
dd_sha256_compress_fn dd_sha256_shani(void)
{
	return NULL;
}
#endif
