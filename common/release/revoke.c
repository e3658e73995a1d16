/* The signed revocation list (revoke.h). */
#include "release/revoke.h"
#include "release/release.h"
#include "crypto/sign.h"
#include "util/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER "dartdup-revocation 1\n"
#define HEX64 (2 * DD_SHA256_LEN)

static int id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, DD_SHA256_LEN);
}

/* Sorted copy of ids without repeats into out; returns how many. */
static size_t sorted_unique(const uint8_t (*ids)[DD_SHA256_LEN], size_t n, uint8_t (*out)[DD_SHA256_LEN])
{
	size_t m = 0;

	if (n)
		memcpy(out, ids, n * DD_SHA256_LEN);
	qsort(out, n, DD_SHA256_LEN, id_cmp);
	for (size_t i = 0; i < n; i++)
		if (!m || memcmp(out[m - 1], out[i], DD_SHA256_LEN))
			memmove(out[m++], out[i], DD_SHA256_LEN);
	return m;
}

static size_t put_ids(char *text, size_t len, size_t cap, const char *word, const uint8_t (*ids)[DD_SHA256_LEN],
		      size_t n)
{
	char hex[HEX64 + 1];

	for (size_t i = 0; i < n; i++) {
		dd_hex(hex, ids[i], DD_SHA256_LEN);
		len += (size_t)snprintf(text + len, cap - len, "%s %s\n", word, hex);
	}
	return len;
}

int dd_revocation_make(uint64_t serial, const uint8_t (*keys)[DD_SHA256_LEN], size_t n_keys,
		       const uint8_t (*images)[DD_SHA256_LEN], size_t n_images, const char *key_path, char **text,
		       size_t *len, struct dd_err *err)
{
	struct dd_revocation *rl;
	char line[512], *t;
	size_t n;
	int rc;

	*text = NULL;
	if (!serial || serial > DD_REVOKE_SERIAL_MAX)
		return dd_fail(err, DD_EUSAGE, "serial %llu: must be from 1 to %lld", (unsigned long long)serial,
			       (long long)DD_REVOKE_SERIAL_MAX);
	if (n_keys + n_images > DD_REVOKE_MAX)
		return dd_fail(err, DD_EUSAGE, "%zu entries: a revocation list holds at most %d", n_keys + n_images,
			       DD_REVOKE_MAX);
	rl = malloc(sizeof(*rl));
	t = malloc(DD_REVOKE_TEXT_MAX);
	if (!rl || !t) {
		free(rl);
		free(t);
		return dd_fail(err, DD_ENOMEM, "out of memory");
	}
	rl->n_keys = sorted_unique(keys, n_keys, rl->keys);
	rl->n_images = sorted_unique(images, n_images, rl->images);
	n = (size_t)snprintf(t, DD_REVOKE_TEXT_MAX, HEADER "serial %llu\n", (unsigned long long)serial);
	n = put_ids(t, n, DD_REVOKE_TEXT_MAX, "key", (const uint8_t(*)[DD_SHA256_LEN])rl->keys, rl->n_keys);
	n = put_ids(t, n, DD_REVOKE_TEXT_MAX, "image", (const uint8_t(*)[DD_SHA256_LEN])rl->images, rl->n_images);
	dd_sha256(t, n, rl->id);
	rc = dd_release_sign_line(key_path, rl->id, line, sizeof(line), err);
	if (!rc) {
		n += (size_t)snprintf(t + n, DD_REVOKE_TEXT_MAX - n, "%s", line);
		*text = t;
		*len = n;
		t = NULL;
	}
	free(rl);
	free(t);
	return rc;
}

/* --- reading ---------------------------------------------------------------------------------- */

/* The last line is the signature: verified over the list id before any other line is believed. */
static int check_signature(char *text, size_t len, const char *const *pubs, size_t n_pubs, const char *what,
			   struct dd_revocation *rl, struct dd_err *err)
{
	uint8_t sig[DD_SIG_MAX];
	size_t sig_len;
	int rc;

	switch (dd_release_read_sign_line(text, len, rl->id, rl->key_id, sig, &sig_len)) {
	case DD_SIGN_LINE_NONE:
		return dd_fail(err, DD_EINPUT, "%s: not signed", what);
	case DD_SIGN_LINE_DAMAGED:
		return dd_fail(err, DD_EINPUT, "%s: signature line damaged", what);
	case DD_SIGN_LINE_OK:
		break;
	}
	if (!n_pubs)
		return dd_fail(err, DD_EINPUT, "%s: no depot public key to check it with", what);
	rc = dd_verify_any(pubs, n_pubs, rl->key_id, rl->id, sig, sig_len, NULL, err);
	if (rc)
		dd_err_prefix(err, "%s", what);
	return rc ? DD_EINPUT : DD_OK;
}

/* "serial N": decimal without leading zeros, 1 .. DD_REVOKE_SERIAL_MAX. */
static int parse_serial(const char *p, uint64_t *out)
{
	uint64_t v = 0;

	if (*p < '1' || *p > '9')
		return -1;
	for (; *p; p++) {
		if (*p < '0' || *p > '9' || v > (DD_REVOKE_SERIAL_MAX - (uint64_t)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = v;
	return 0;
}

/* One "key HEX64" or "image HEX64" line, in order: keys first, each list strictly ascending. */
static int parse_entry(const char *line, struct dd_revocation *rl)
{
	bool key = !strncmp(line, "key ", 4), image = !strncmp(line, "image ", 6);
	const char *hex = line + (key ? 4 : 6);
	uint8_t (*ids)[DD_SHA256_LEN] = key ? rl->keys : rl->images;
	size_t *n = key ? &rl->n_keys : &rl->n_images;

	if ((!key && !image) || (key && rl->n_images) || strlen(hex) != HEX64 ||
	    rl->n_keys + rl->n_images >= DD_REVOKE_MAX || dd_unhex(hex, DD_SHA256_LEN, ids[*n]))
		return -1;
	if (*n && memcmp(ids[*n - 1], ids[*n], DD_SHA256_LEN) >= 0)
		return -1;
	(*n)++;
	return 0;
}

static int parse_body(char *text, const char *what, struct dd_revocation *rl, struct dd_err *err)
{
	char *save = NULL, *line = strtok_r(text + strlen(HEADER), "\n", &save);
	int idx = 2;

	if (!line || strncmp(line, "serial ", 7) || parse_serial(line + 7, &rl->serial))
		return dd_fail(err, DD_EINPUT, "%s: line 2 is not \"serial N\"", what);
	while ((line = strtok_r(NULL, "\n", &save))) {
		idx++;
		if (parse_entry(line, rl))
			return dd_fail(err, DD_EINPUT, "%s: line %d damaged (key lines, then image lines, each sorted, "
				       "at most %d)", what, idx, DD_REVOKE_MAX);
	}
	return DD_OK;
}

int dd_revocation_parse(const void *buf, size_t len, const char *const *pubs, size_t n_pubs, const char *what,
			struct dd_revocation *out, struct dd_err *err)
{
	char *text;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!len || len > DD_REVOKE_TEXT_MAX)
		return dd_fail(err, DD_EINPUT, "%s: not a revocation list (%zu bytes)", what, len);
	text = malloc(len + 1);
	if (!text)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	memcpy(text, buf, len);
	text[len] = '\0';
	if (memchr(text, '\0', len) || text[len - 1] != '\n' || strncmp(text, HEADER, strlen(HEADER)))
		rc = dd_fail(err, DD_EINPUT, "%s: not a dartdup revocation list", what);
	else if (!(rc = check_signature(text, len, pubs, n_pubs, what, out, err)))
		rc = parse_body(text, what, out, err);
	free(text);
	if (rc) {
		uint8_t keep[DD_SHA256_LEN];

		memcpy(keep, out->key_id, sizeof(keep));
		memset(out, 0, sizeof(*out));
		memcpy(out->key_id, keep, sizeof(keep)); /* who it claims to be signed by: for messages */
	}
	return rc;
}

static bool has(const uint8_t (*ids)[DD_SHA256_LEN], size_t n, const uint8_t id[DD_SHA256_LEN])
{
	return n && bsearch(id, ids, n, DD_SHA256_LEN, id_cmp);
}

bool dd_revocation_has_key(const struct dd_revocation *rl, const uint8_t id[DD_SHA256_LEN])
{
	return rl && has((const uint8_t(*)[DD_SHA256_LEN])rl->keys, rl->n_keys, id);
}

bool dd_revocation_has_image(const struct dd_revocation *rl, const uint8_t id[DD_SHA256_LEN])
{
	return rl && has((const uint8_t(*)[DD_SHA256_LEN])rl->images, rl->n_images, id);
}
