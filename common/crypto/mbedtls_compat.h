/* The one place that knows mbedTLS 2.28 (Debian 12) from 3.x. Everything else calls these names. */
#ifndef DARTDUP_MBEDTLS_COMPAT_H
#define DARTDUP_MBEDTLS_COMPAT_H

#include <mbedtls/version.h>
#include <mbedtls/sha256.h>
#include <mbedtls/pk.h>

/* 3.x hides struct members behind MBEDTLS_PRIVATE(); 2.28 has plain names. */
#ifndef MBEDTLS_PRIVATE
#define MBEDTLS_PRIVATE(member) member
#endif

#if MBEDTLS_VERSION_MAJOR >= 3
#define dd_mbedtls_sha256_starts(ctx, is224) mbedtls_sha256_starts((ctx), (is224))
#define dd_mbedtls_sha256_update(ctx, p, n) mbedtls_sha256_update((ctx), (p), (n))
#define dd_mbedtls_sha256_finish(ctx, out) mbedtls_sha256_finish((ctx), (out))
/* 3.x: parsing a private key takes an RNG (for blinding); signing takes the buffer size. */
#define dd_mbedtls_pk_parse_key(pk, buf, len, rng, prng) mbedtls_pk_parse_key((pk), (buf), (len), NULL, 0, (rng), (prng))
#define dd_mbedtls_pk_sign(pk, md, h, hl, sig, sig_size, sig_len, rng, prng) \
	mbedtls_pk_sign((pk), (md), (h), (hl), (sig), (sig_size), (sig_len), (rng), (prng))
#else
#define dd_mbedtls_sha256_starts(ctx, is224) mbedtls_sha256_starts_ret((ctx), (is224))
#define dd_mbedtls_sha256_update(ctx, p, n) mbedtls_sha256_update_ret((ctx), (p), (n))
#define dd_mbedtls_sha256_finish(ctx, out) mbedtls_sha256_finish_ret((ctx), (out))
#define dd_mbedtls_pk_parse_key(pk, buf, len, rng, prng) mbedtls_pk_parse_key((pk), (buf), (len), NULL, 0)
#define dd_mbedtls_pk_sign(pk, md, h, hl, sig, sig_size, sig_len, rng, prng) \
	mbedtls_pk_sign((pk), (md), (h), (hl), (sig), (sig_len), (rng), (prng))
#endif

#endif
