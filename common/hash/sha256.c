/* SHA-256 streaming over a pluggable compression function. This file holds the portable path,
 * which runs mbedTLS's block function on our state; hardware paths plug in as other compress
 * functions (see dd_sha256_impl). */
#include "hash/sha256.h"
#include "crypto/mbedtls_compat.h"

#include <string.h>

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
		compress_portable(ctx->state, ctx->buf, 1);
		ctx->buf_len = 0;
	}
	if (len >= 64) {
		compress_portable(ctx->state, p, len / 64);
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
	return "portable";
}
