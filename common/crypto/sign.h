/* Keys and signatures: ECDSA P-256 over a SHA-256 digest (the .dfi image id), with mbedTLS.
 * Key files are PEM: NAME.key (private, mode 0600) and NAME.pub (SubjectPublicKeyInfo).
 * A key id is the SHA-256 of the public key's DER encoding; it names a key in messages and in
 * the signature frame, but trust always comes from verifying, never from the id. */
#ifndef DARTDUP_SIGN_H
#define DARTDUP_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash/sha256.h"
#include "util/err.h"

/* What is known of an image's signature (a .dfi package's; the dd_source seam reports it). */
enum dd_sig_state {
	DD_SIG_NONE,       /* not signed */
	DD_SIG_UNCHECKED,  /* signed, but no public key was given */
	DD_SIG_VERIFIED,   /* signed and verified against the given public key */
};

#define DD_SIG_MAX 72 /* largest DER ECDSA P-256 signature */

/* Write base.key (0600, refused if it exists) and base.pub. */
int dd_keygen(const char *base, struct dd_err *err);

struct dd_signer;
/* Load a PEM private key; it must be an EC P-256 key. */
int dd_signer_open(const char *key_path, struct dd_signer **out, struct dd_err *err);
/* Sign a 32-byte digest; deterministic (RFC 6979), so equal inputs give equal packages. */
int dd_signer_sign(struct dd_signer *s, const uint8_t digest[DD_SHA256_LEN], uint8_t sig[DD_SIG_MAX],
		   size_t *sig_len, struct dd_err *err);
const uint8_t *dd_signer_key_id(const struct dd_signer *s);
void dd_signer_close(struct dd_signer *s);

/* Verify sig over digest with the public key files whose key id equals key_id (any of them when
 * key_id is NULL). DD_OK when one verifies (*which = its index, may be NULL); DD_EINPUT when
 * none does, none has that id, or a key file is unusable. */
int dd_verify_any(const char *const *pub_paths, size_t n, const uint8_t *key_id,
		  const uint8_t digest[DD_SHA256_LEN], const uint8_t *sig, size_t sig_len, size_t *which,
		  struct dd_err *err);

/* One public key loaded once, for checking many signatures (a board's audit log: one per record). */
struct dd_verifier;
int dd_verifier_open(const char *pub_path, struct dd_verifier **out, struct dd_err *err);
/* true when sig is a valid signature of digest by the key */
bool dd_verifier_check(struct dd_verifier *v, const uint8_t digest[DD_SHA256_LEN], const uint8_t *sig,
		       size_t sig_len);
const uint8_t *dd_verifier_key_id(const struct dd_verifier *v);
void dd_verifier_close(struct dd_verifier *v);

/* Key id of a PEM public key file. */
int dd_pubkey_id(const char *pub_path, uint8_t id[DD_SHA256_LEN], struct dd_err *err);
/* The same from PEM text in memory (a board's audit key, as AUDIT carries it). */
int dd_pubkey_id_pem(const char *pem, uint8_t id[DD_SHA256_LEN], struct dd_err *err);

#endif
