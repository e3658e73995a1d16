/* SHA-256 streaming over a pluggable compression function. This file holds the portable path (our
 * own compression function, FIPS 180-4 section 6.2.2: the only one on CPUs without SHA instructions,
 * such as the Raspberry Pi 4's) and the run-time choice between it and the hardware paths
 * (sha256_x86.c, sha256_arm.c). The portable path used to run mbedTLS's internal block function on
 * its private state, which mbedTLS 3 no longer allows. */
#include "hash/sha256.h"
#include "hash/sha256_hw.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

const uint32_t dd_sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t sha256_iv[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static inline uint32_t ror32(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static inline uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One round of FIPS 180-4 6.2.2 step 3, with Ch(e,f,g) and Maj(a,b,c) in their forms of fewer
 * operations (g ^ (e & (f ^ g)), (a & b) | (c & (a | b))). Rather than shifting eight variables each
 * round, the caller names them in rotated order (eight rounds unrolled), so only d and h change. */
#define SHA256_ROUND(a, b, c, d, e, f, g, h, k, w)                                                   \
	do {                                                                                            \
		uint32_t t1_ = (h) + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((g) ^ ((e) & ((f) ^ (g)))) + \
			       (k) + (w);                                                                 \
		uint32_t t2_ = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + (((a) & (b)) | ((c) & ((a) | (b)))); \
		(d) += t1_;                                                                             \
		(h) = t1_ + t2_;                                                                        \
	} while (0)

/* Eight rounds, from round t on, each taking its message word from W(t + i). */
#define SHA256_ROUNDS8(t, W)                                        \
	do {                                                        \
		SHA256_ROUND(a, b, c, d, e, f, g, h, k[(t) + 0], W((t) + 0)); \
		SHA256_ROUND(h, a, b, c, d, e, f, g, k[(t) + 1], W((t) + 1)); \
		SHA256_ROUND(g, h, a, b, c, d, e, f, k[(t) + 2], W((t) + 2)); \
		SHA256_ROUND(f, g, h, a, b, c, d, e, k[(t) + 3], W((t) + 3)); \
		SHA256_ROUND(e, f, g, h, a, b, c, d, k[(t) + 4], W((t) + 4)); \
		SHA256_ROUND(d, e, f, g, h, a, b, c, k[(t) + 5], W((t) + 5)); \
		SHA256_ROUND(c, d, e, f, g, h, a, b, k[(t) + 6], W((t) + 6)); \
		SHA256_ROUND(b, c, d, e, f, g, h, a, k[(t) + 7], W((t) + 7)); \
	} while (0)

/* The message schedule (FIPS 180-4 6.2.2 step 1): the block's 16 words, then each next word made in
 * the round that uses it, so the schedule's work overlaps the rounds'. */
#define W_LOADED(t) w[t]
#define W_NEXT(t)                                                                                 \
	(w[t] = (ror32(w[(t) - 2], 17) ^ ror32(w[(t) - 2], 19) ^ (w[(t) - 2] >> 10)) + w[(t) - 7] + \
		(ror32(w[(t) - 15], 7) ^ ror32(w[(t) - 15], 18) ^ (w[(t) - 15] >> 3)) + w[(t) - 16])

static void compress_block(uint32_t state[8], const uint8_t *block)
{
	uint32_t w[64], a = state[0], b = state[1], c = state[2], d = state[3];
	uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
	const uint32_t *k = dd_sha256_k;

	for (unsigned t = 0; t < 16; t++)
		w[t] = load_be32(block + 4 * t);
	for (unsigned t = 0; t < 16; t += 8)
		SHA256_ROUNDS8(t, W_LOADED);
	for (unsigned t = 16; t < 64; t += 8)
		SHA256_ROUNDS8(t, W_NEXT);
	state[0] += a;
	state[1] += b;
	state[2] += c;
	state[3] += d;
	state[4] += e;
	state[5] += f;
	state[6] += g;
	state[7] += h;
}

static void compress_portable(uint32_t state[8], const uint8_t *blocks, size_t nblocks)
{
	for (size_t i = 0; i < nblocks; i++)
		compress_block(state, blocks + 64 * i);
}

struct impl {
	const char *name;
	dd_sha256_compress_fn (*detect)(void);
};

static dd_sha256_compress_fn detect_portable(void)
{
	return compress_portable;
}

/* Fastest first. */
static const struct impl impls[] = {
	{ "sha-ni", dd_sha256_shani },
	{ "armv8-ce", dd_sha256_armv8 },
	{ "portable", detect_portable },
};
#define N_IMPLS (sizeof(impls) / sizeof(impls[0]))

/* Detection runs once (CPUID / getauxval); afterwards the choice is read lock-free and only
 * dd_sha256_force() changes it. */
struct resolved {
	const char *name;
	dd_sha256_compress_fn fn;   /* NULL: not on this CPU */
};
static struct resolved resolved[N_IMPLS];
static const struct resolved *chosen;
static pthread_once_t choose_once = PTHREAD_ONCE_INIT;

static const struct resolved *find(const char *name)
{
	for (size_t i = 0; i < N_IMPLS; i++)
		if (resolved[i].fn && !strcmp(resolved[i].name, name))
			return &resolved[i];
	return NULL;
}

static void choose(void)
{
	const char *want = getenv("DARTDUP_SHA256");
	const struct resolved *c;

	for (size_t i = 0; i < N_IMPLS; i++) {
		resolved[i].name = impls[i].name;
		resolved[i].fn = impls[i].detect();
	}
	c = want ? find(want) : NULL;
	for (size_t i = 0; !c && i < N_IMPLS; i++)
		if (resolved[i].fn)
			c = &resolved[i];
	__atomic_store_n(&chosen, c, __ATOMIC_RELEASE);
}

static const struct resolved *current(void)
{
	pthread_once(&choose_once, choose);
	return __atomic_load_n(&chosen, __ATOMIC_ACQUIRE);
}

static void compress(uint32_t state[8], const uint8_t *blocks, size_t nblocks)
{
	current()->fn(state, blocks, nblocks);
}

size_t dd_sha256_available(const char **names, size_t max)
{
	size_t n = 0;

	pthread_once(&choose_once, choose);
	for (size_t i = 0; i < N_IMPLS; i++)
		if (resolved[i].fn) {
			if (n < max)
				names[n] = resolved[i].name;
			n++;
		}
	return n;
}

int dd_sha256_force(const char *name)
{
	const struct resolved *c;

	pthread_once(&choose_once, choose);
	c = find(name);
	if (!c)
		return -1;
	__atomic_store_n(&chosen, c, __ATOMIC_RELEASE);
	return 0;
}

void dd_sha256_init(struct dd_sha256 *ctx)
{
	memcpy(ctx->state, sha256_iv, sizeof(sha256_iv));
	ctx->total = 0;
	ctx->buf_len = 0;
}

void dd_sha256_update(struct dd_sha256 *ctx, const void *data, size_t len)
{
	const uint8_t *p = data;

	ctx->total += len;
	if (ctx->buf_len) {
		size_t take = 64 - ctx->buf_len;
		if (take > len)
			take = len;
		memcpy(ctx->buf + ctx->buf_len, p, take);
		ctx->buf_len += take;
		p += take;
		len -= take;
		if (ctx->buf_len < 64)
			return;
		compress(ctx->state, ctx->buf, 1);
		ctx->buf_len = 0;
	}
	if (len >= 64) {
		compress(ctx->state, p, len / 64);
		p += len & ~(size_t)63;
		len &= 63;
	}
	memcpy(ctx->buf, p, len);
	ctx->buf_len = len;
}

void dd_sha256_final(struct dd_sha256 *ctx, uint8_t out[DD_SHA256_LEN])
{
	uint64_t bits = ctx->total * 8;
	uint8_t pad[72] = { 0x80 };
	size_t padlen = (ctx->buf_len < 56) ? 56 - ctx->buf_len : 120 - ctx->buf_len;

	for (int i = 0; i < 8; i++)
		pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
	dd_sha256_update(ctx, pad, padlen + 8);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(ctx->state[i] >> 24);
		out[4 * i + 1] = (uint8_t)(ctx->state[i] >> 16);
		out[4 * i + 2] = (uint8_t)(ctx->state[i] >> 8);
		out[4 * i + 3] = (uint8_t)ctx->state[i];
	}
}

void dd_sha256(const void *data, size_t len, uint8_t out[DD_SHA256_LEN])
{
	struct dd_sha256 c;

	dd_sha256_init(&c);
	dd_sha256_update(&c, data, len);
	dd_sha256_final(&c, out);
}

const char *dd_sha256_impl(void)
{
	return current()->name;
}
