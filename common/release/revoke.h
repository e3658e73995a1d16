/* The signed revocation list (docs/SECURITY.md "Revocation", docs/FORMAT.md "The revocation list"):
 * which signing keys and which images (or firmware bundles) a board must no longer accept, signed with
 * a depot key, with a serial that only grows so that an old list cannot replace a newer one.
 *
 *   dartdup-revocation 1
 *   serial N                     decimal, 1 .. 2^63-1, no leading zeros
 *   key HEX64                    a revoked key id (SHA-256 of the public key's DER, as crypto/sign.h)
 *   image HEX64                  a revoked image id (SHA-256 of a .dfi's manifest) or bundle id
 *   signature KEYID-HEX64 DER-HEX
 *
 * LF line ends, lower-case hex, key lines before image lines, each sorted and none twice, at most
 * DD_REVOKE_MAX entries. The list id is the SHA-256 of every byte before the signature line; the
 * signature is ECDSA P-256 over the list id used as the digest (as a .dfi's image id). Never prints. */
#ifndef DARTDUP_REVOKE_H
#define DARTDUP_REVOKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash/sha256.h"
#include "util/err.h"

#define DD_REVOKE_MAX 512              /* keys + images in one list */
#define DD_REVOKE_TEXT_MAX (48u << 10) /* bytes of a list, at most (512 entries take ~37 KiB) */
#define DD_REVOKE_SERIAL_MAX INT64_MAX

struct dd_revocation {
	uint64_t serial;
	uint8_t id[DD_SHA256_LEN];         /* the list id (what was signed) */
	uint8_t key_id[DD_SHA256_LEN];     /* who signed it */
	size_t n_keys, n_images;
	uint8_t keys[DD_REVOKE_MAX][DD_SHA256_LEN];
	uint8_t images[DD_REVOKE_MAX][DD_SHA256_LEN];
};

/* The text of a list (malloc'd into *text, *len bytes) revoking keys[n_keys] and images[n_images],
 * sorted and without repeats, signed with key_path. DD_EUSAGE for a bad serial or too many entries. */
int dd_revocation_make(uint64_t serial, const uint8_t (*keys)[DD_SHA256_LEN], size_t n_keys,
		       const uint8_t (*images)[DD_SHA256_LEN], size_t n_images, const char *key_path, char **text,
		       size_t *len, struct dd_err *err);

/* Check a list's signature with one of pubs (whose key id must match its signature line) before any
 * other line is believed, then its body. DD_EINPUT (with a one-line reason) for anything else; *out
 * is filled on DD_OK. what names the list in messages. */
int dd_revocation_parse(const void *buf, size_t len, const char *const *pubs, size_t n_pubs, const char *what,
			struct dd_revocation *out, struct dd_err *err);

bool dd_revocation_has_key(const struct dd_revocation *rl, const uint8_t id[DD_SHA256_LEN]);
bool dd_revocation_has_image(const struct dd_revocation *rl, const uint8_t id[DD_SHA256_LEN]);

#endif
