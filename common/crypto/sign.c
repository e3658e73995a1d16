/* ECDSA P-256 keys and signatures with mbedTLS (see sign.h). */
#include "crypto/sign.h"
#include "crypto/mbedtls_compat.h"
#include "safety/door.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/platform_util.h>

struct rng {
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
};

static int rng_init(struct rng *r, struct dd_err *err)
{
	static const unsigned char pers[] = "dartdup";

	mbedtls_entropy_init(&r->entropy);
	mbedtls_ctr_drbg_init(&r->drbg);
	if (mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->entropy, pers, sizeof(pers) - 1))
		return dd_fail(err, DD_EINTERNAL, "random number generator: seeding failed");
	return DD_OK;
}

static void rng_free(struct rng *r)
{
	mbedtls_ctr_drbg_free(&r->drbg);
	mbedtls_entropy_free(&r->entropy);
}

static int is_p256(mbedtls_pk_context *pk)
{
	return mbedtls_pk_can_do(pk, MBEDTLS_PK_ECKEY) &&
	       mbedtls_pk_ec(*pk)->MBEDTLS_PRIVATE(grp).id == MBEDTLS_ECP_DP_SECP256R1;
}

static int compute_key_id(mbedtls_pk_context *pk, uint8_t id[DD_SHA256_LEN])
{
	unsigned char der[256];
	int n = mbedtls_pk_write_pubkey_der(pk, der, sizeof(der));

	if (n <= 0)
		return -1;
	/* mbedTLS writes DER at the end of the buffer */
	dd_sha256(der + sizeof(der) - n, (size_t)n, id);
	return 0;
}

static int write_file(const char *path, const unsigned char *data, size_t len, mode_t mode,
		      struct dd_err *err)
{
	int fd, rc;

	/* the door: created new (never over anything), never under /dev */
	if ((rc = dd_door_open_output(path, NULL, 0, O_WRONLY, DD_DOOR_EXCL, mode, &fd, err)))
		return rc;
	if (fchmod(fd, mode) || write(fd, data, len) != (ssize_t)len || fsync(fd))
		rc = dd_fail_errno(err, DD_EIO, errno, "%s: write failed", path);
	if (close(fd) && rc == DD_OK)
		rc = dd_fail_errno(err, DD_EIO, errno, "%s: write failed", path);
	if (rc)
		unlink(path);
	return rc;
}

int dd_keygen(const char *base, struct dd_err *err)
{
	mbedtls_pk_context pk;
	struct rng r;
	unsigned char pem[1024];
	char key_path[4096], pub_path[4096];
	int rc;

	if ((size_t)snprintf(key_path, sizeof(key_path), "%s.key", base) >= sizeof(key_path) ||
	    (size_t)snprintf(pub_path, sizeof(pub_path), "%s.pub", base) >= sizeof(pub_path))
		return dd_fail(err, DD_EUSAGE, "%s: name too long", base);
	/* both judged before either is written: a refusal leaves nothing behind */
	if ((rc = dd_door_judge_output(key_path, NULL, 0, err)) || (rc = dd_door_judge_output(pub_path, NULL, 0, err)))
		return rc;
	if (access(pub_path, F_OK) == 0)
		return dd_fail(err, DD_EUSAGE, "%s: already exists (not overwriting a key)", pub_path);
	mbedtls_pk_init(&pk);
	rc = rng_init(&r, err);
	if (rc)
		goto out;
	if (mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) ||
	    mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(pk), mbedtls_ctr_drbg_random, &r.drbg)) {
		rc = dd_fail(err, DD_EINTERNAL, "%s: key generation failed", base);
		goto out;
	}
	if (mbedtls_pk_write_key_pem(&pk, pem, sizeof(pem))) {
		rc = dd_fail(err, DD_EINTERNAL, "%s: cannot encode the private key", key_path);
		goto out;
	}
	rc = write_file(key_path, pem, strlen((char *)pem), 0600, err);
	if (rc)
		goto out;
	if (mbedtls_pk_write_pubkey_pem(&pk, pem, sizeof(pem))) {
		unlink(key_path);
		rc = dd_fail(err, DD_EINTERNAL, "%s: cannot encode the public key", pub_path);
		goto out;
	}
	rc = write_file(pub_path, pem, strlen((char *)pem), 0644, err);
	if (rc)
		unlink(key_path);
out:
	mbedtls_platform_zeroize(pem, sizeof(pem));
	mbedtls_pk_free(&pk);
	rng_free(&r);
	return rc;
}

struct dd_signer {
	mbedtls_pk_context pk;
	struct rng rng;
	uint8_t id[DD_SHA256_LEN];
};

/* A PEM key file, read whole into a NUL-terminated buffer (what mbedTLS's PEM parser wants). Only a
 * regular file of sane size: mbedTLS's own file loader sizes its buffer with fseek/ftell, which on a
 * folder asks for an absurd allocation, and a fifo would block it for ever. */
#define DD_KEY_FILE_MAX (64 * 1024)
static int read_key_file(const char *path, unsigned char **buf, size_t *len, struct dd_err *err)
{
	struct stat st;
	ssize_t n;
	int fd, rc = DD_OK;

	*buf = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return dd_fail_errno(err, DD_EINPUT, errno, "%s", path);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		rc = dd_fail(err, DD_EINPUT, "%s: not a key file (a key is a regular PEM file)", path);
		goto out;
	}
	if (st.st_size > DD_KEY_FILE_MAX) {
		rc = dd_fail(err, DD_EINPUT, "%s: not a key file (%lld bytes; a PEM key is a few hundred)", path,
			     (long long)st.st_size);
		goto out;
	}
	*buf = calloc(1, (size_t)st.st_size + 1);
	if (!*buf) {
		rc = dd_fail(err, DD_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	n = read(fd, *buf, (size_t)st.st_size);
	if (n != st.st_size) {
		rc = dd_fail_errno(err, DD_EINPUT, n < 0 ? errno : EIO, "%s: reading", path);
		free(*buf);
		*buf = NULL;
		goto out;
	}
	*len = (size_t)n + 1; /* the PEM parser counts the terminating NUL */
out:
	close(fd);
	return rc;
}

static void free_key_file(unsigned char *buf, size_t len)
{
	if (!buf)
		return;
	mbedtls_platform_zeroize(buf, len);
	free(buf);
}

int dd_signer_open(const char *key_path, struct dd_signer **out, struct dd_err *err)
{
	struct dd_signer *s = calloc(1, sizeof(*s));
	unsigned char *pem = NULL;
	size_t pem_len = 0;
	int rc;

	*out = NULL;
	if (!s)
		return dd_fail(err, DD_ENOMEM, "%s: out of memory", key_path);
	mbedtls_pk_init(&s->pk);
	rc = rng_init(&s->rng, err);
	if (rc)
		goto fail;
	rc = read_key_file(key_path, &pem, &pem_len, err);
	if (rc)
		goto fail;
	if (dd_mbedtls_pk_parse_key(&s->pk, pem, pem_len, mbedtls_ctr_drbg_random, &s->rng.drbg)) {
		rc = dd_fail(err, DD_EINPUT, "%s: not a PEM private key", key_path);
		goto fail;
	}
	free_key_file(pem, pem_len);
	pem = NULL;
	if (!is_p256(&s->pk) || compute_key_id(&s->pk, s->id)) {
		rc = dd_fail(err, DD_EINPUT, "%s: not an ECDSA P-256 key", key_path);
		goto fail;
	}
	*out = s;
	return DD_OK;
fail:
	free_key_file(pem, pem_len);
	dd_signer_close(s);
	return rc;
}

int dd_signer_sign(struct dd_signer *s, const uint8_t digest[DD_SHA256_LEN], uint8_t sig[DD_SIG_MAX],
		   size_t *sig_len, struct dd_err *err)
{
	/* mbedTLS 2.28 wants room for its largest signature of any type */
	unsigned char buf[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
	size_t n = 0;

	if (dd_mbedtls_pk_sign(&s->pk, MBEDTLS_MD_SHA256, digest, DD_SHA256_LEN, buf, sizeof(buf), &n,
			       mbedtls_ctr_drbg_random, &s->rng.drbg) || n > DD_SIG_MAX)
		return dd_fail(err, DD_EINTERNAL, "signing failed");
	memcpy(sig, buf, n);
	*sig_len = n;
	return DD_OK;
}

const uint8_t *dd_signer_key_id(const struct dd_signer *s)
{
	return s->id;
}

void dd_signer_close(struct dd_signer *s)
{
	if (!s)
		return;
	mbedtls_pk_free(&s->pk);
	rng_free(&s->rng);
	free(s);
}

static int load_pub(const char *path, mbedtls_pk_context *pk, struct dd_err *err)
{
	unsigned char *pem;
	size_t len;
	int rc = read_key_file(path, &pem, &len, err);

	if (rc)
		return rc;
	if (mbedtls_pk_parse_public_key(pk, pem, len))
		rc = dd_fail(err, DD_EINPUT, "%s: not a PEM public key", path);
	else if (!is_p256(pk))
		rc = dd_fail(err, DD_EINPUT, "%s: not an ECDSA P-256 key", path);
	free_key_file(pem, len);
	return rc;
}

struct dd_verifier {
	mbedtls_pk_context pk;
	uint8_t id[DD_SHA256_LEN];
};

int dd_verifier_open(const char *pub_path, struct dd_verifier **out, struct dd_err *err)
{
	struct dd_verifier *v = calloc(1, sizeof(*v));
	int rc;

	*out = NULL;
	if (!v)
		return dd_fail(err, DD_ENOMEM, "%s: out of memory", pub_path);
	mbedtls_pk_init(&v->pk);
	rc = load_pub(pub_path, &v->pk, err);
	if (!rc && compute_key_id(&v->pk, v->id))
		rc = dd_fail(err, DD_EINPUT, "%s: cannot encode the key", pub_path);
	if (rc) {
		dd_verifier_close(v);
		return rc;
	}
	*out = v;
	return DD_OK;
}

bool dd_verifier_check(struct dd_verifier *v, const uint8_t digest[DD_SHA256_LEN], const uint8_t *sig,
		       size_t sig_len)
{
	return !mbedtls_pk_verify(&v->pk, MBEDTLS_MD_SHA256, digest, DD_SHA256_LEN, sig, sig_len);
}

const uint8_t *dd_verifier_key_id(const struct dd_verifier *v)
{
	return v->id;
}

void dd_verifier_close(struct dd_verifier *v)
{
	if (!v)
		return;
	mbedtls_pk_free(&v->pk);
	free(v);
}

int dd_verify_any(const char *const *pub_paths, size_t n, const uint8_t *key_id,
		  const uint8_t digest[DD_SHA256_LEN], const uint8_t *sig, size_t sig_len, size_t *which,
		  struct dd_err *err)
{
	size_t tried = 0;

	for (size_t i = 0; i < n; i++) {
		mbedtls_pk_context pk;
		uint8_t id[DD_SHA256_LEN];
		int rc, ok = 0;

		mbedtls_pk_init(&pk);
		rc = load_pub(pub_paths[i], &pk, err);
		if (!rc && compute_key_id(&pk, id))
			rc = dd_fail(err, DD_EINPUT, "%s: cannot encode the key", pub_paths[i]);
		if (!rc && (!key_id || !memcmp(id, key_id, DD_SHA256_LEN))) {
			tried++;
			ok = !mbedtls_pk_verify(&pk, MBEDTLS_MD_SHA256, digest, DD_SHA256_LEN, sig, sig_len);
		}
		mbedtls_pk_free(&pk);
		if (rc)
			return rc;
		if (ok) {
			if (which)
				*which = i;
			return DD_OK;
		}
	}
	if (!tried) {
		char hex[17] = "";
		for (int i = 0; key_id && i < 8; i++)
			snprintf(hex + 2 * i, 3, "%02x", key_id[i]);
		return dd_fail(err, DD_EINPUT, "signed by another key (key id %s...), not by %s", hex,
			       n == 1 ? pub_paths[0] : "any of the given keys");
	}
	if (n == 1)
		return dd_fail(err, DD_EINPUT, "signature does not verify with %s", pub_paths[0]);
	return dd_fail(err, DD_EINPUT, "signature does not verify with any of the %zu public keys", n);
}

int dd_pubkey_id(const char *pub_path, uint8_t id[DD_SHA256_LEN], struct dd_err *err)
{
	mbedtls_pk_context pk;
	int rc;

	mbedtls_pk_init(&pk);
	rc = load_pub(pub_path, &pk, err);
	if (!rc && compute_key_id(&pk, id))
		rc = dd_fail(err, DD_EINPUT, "%s: cannot encode the key", pub_path);
	mbedtls_pk_free(&pk);
	return rc;
}

int dd_pubkey_id_pem(const char *pem, uint8_t id[DD_SHA256_LEN], struct dd_err *err)
{
	mbedtls_pk_context pk;
	int rc = DD_OK;

	mbedtls_pk_init(&pk);
	/* mbedTLS wants the terminating NUL counted for PEM */
	if (mbedtls_pk_parse_public_key(&pk, (const unsigned char *)pem, strlen(pem) + 1))
		rc = dd_fail(err, DD_EINPUT, "not a PEM public key");
	else if (!is_p256(&pk))
		rc = dd_fail(err, DD_EINPUT, "not an ECDSA P-256 key");
	else if (compute_key_id(&pk, id))
		rc = dd_fail(err, DD_EINPUT, "cannot encode the key");
	mbedtls_pk_free(&pk);
	return rc;
}
