/* SHA-256 streaming over a pluggable compression function. This file holds the portable path,
 * which runs mbedTLS's block function on our state, and the run-time choice between it and the
 * hardware paths (sha256_x86.c, sha256_arm.c). */
#include "hash/sha256.h"
#include "hash/sha256_hw.h"
#include "crypto/mbedtls_compat.h"

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

static void compress_portable(uint32_t state[8], const uint8_t *blocks, size_t nblocks)
{
	mbedtls_sha256_context c;

	mbedtls_sha256_init(&c);
	dd_mbedtls_sha256_starts(&c, 0);
	memcpy(c.MBEDTLS_PRIVATE(state), state, 32);
	for (size_t i = 0; i < nblocks; i++)
		mbedtls_internal_sha256_process(&c, blocks + 64 * i);
	memcpy(state, c.MBEDTLS_PRIVATE(state), 32);
	mbedtls_sha256_free(&c);
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
