/* The signed hash chain of audit records (see chain.h). */
#include "link/chain.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

#define SIG_KEY ",\"sig\":\""
#define PREV_KEY ",\"prev\":\""

int dd_chain_seal(const char *body_open, const uint8_t prev[DD_SHA256_LEN], struct dd_signer *signer,
		  char **line, uint8_t line_hash[DD_SHA256_LEN], struct dd_err *err)
{
	uint8_t digest[DD_SHA256_LEN], sig[DD_SIG_MAX];
	char prev_hex[2 * DD_SHA256_LEN + 1], sig_hex[2 * DD_SIG_MAX + 1];
	size_t sig_len = 0, body_len, cap;
	char *out;
	int rc;

	*line = NULL;
	dd_hex(prev_hex, prev, DD_SHA256_LEN);
	cap = strlen(body_open) + sizeof(PREV_KEY) + sizeof(prev_hex) + sizeof(SIG_KEY) + sizeof(sig_hex) + 4;
	out = malloc(cap);
	if (!out)
		return dd_fail(err, DD_ENOMEM, "audit record: out of memory");
	body_len = (size_t)snprintf(out, cap, "%s%s%s\"", body_open, PREV_KEY, prev_hex);
	dd_sha256(out, body_len, digest);
	if ((rc = dd_signer_sign(signer, digest, sig, &sig_len, err))) {
		free(out);
		return rc;
	}
	dd_hex(sig_hex, sig, sig_len);
	snprintf(out + body_len, cap - body_len, "%s%s\"}", SIG_KEY, sig_hex);
	dd_sha256(out, strlen(out), line_hash);
	*line = out;
	return DD_OK;
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* n bytes from 2n lower-case hex digits */
static bool from_hex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = unhex(s[2 * i]), lo = unhex(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static const char *last_of(const char *p, size_t len, const char *key)
{
	size_t k = strlen(key);

	for (size_t i = len >= k ? len - k + 1 : 0; i-- > 0;)
		if (!memcmp(p + i, key, k))
			return p + i;
	return NULL;
}

bool dd_chain_parse(const char *line, size_t len, struct dd_chain_rec *r)
{
	static const char head[] = "{\"seq\":";
	const char *sig, *prev, *p = line + strlen(head), *end = line + len;
	size_t hex_len;

	memset(r, 0, sizeof(*r));
	if (len < strlen(head) + 2 || memcmp(line, head, strlen(head)) || memchr(line, '\0', len))
		return false;
	if (p >= end || *p < '1' || *p > '9')
		return false;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (r->seq > (UINT64_MAX - 9) / 10)
			return false;
		r->seq = r->seq * 10 + (uint64_t)(*p - '0');
	}
	if (p >= end || *p != ',')
		return false;
	/* ...,"prev":"<64 hex>","sig":"<hex>"} and nothing after */
	sig = last_of(line, len, SIG_KEY);
	if (!sig || len < 2 || memcmp(end - 2, "\"}", 2))
		return false;
	r->body_len = (size_t)(sig - line);
	hex_len = (size_t)(end - 2 - (sig + strlen(SIG_KEY)));
	if (hex_len % 2 || !hex_len || hex_len / 2 > DD_SIG_MAX)
		return false;
	r->sig_len = hex_len / 2;
	if (!from_hex(sig + strlen(SIG_KEY), r->sig, r->sig_len))
		return false;
	if (r->body_len < strlen(PREV_KEY) + 2 * DD_SHA256_LEN + 1)
		return false;
	prev = sig - (strlen(PREV_KEY) + 2 * DD_SHA256_LEN + 1);
	if (memcmp(prev, PREV_KEY, strlen(PREV_KEY)) || sig[-1] != '"')
		return false;
	return from_hex(prev + strlen(PREV_KEY), r->prev, DD_SHA256_LEN);
}

static int bad(struct dd_chain_result *res, uint64_t line, uint64_t seq, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int bad(struct dd_chain_result *res, uint64_t line, uint64_t seq, const char *fmt, ...)
{
	va_list ap;

	res->bad_line = line;
	res->bad_seq = seq;
	va_start(ap, fmt);
	vsnprintf(res->why, sizeof(res->why), fmt, ap);
	va_end(ap);
	return DD_ECHECK;
}

/* One record against its signature and the record before it (prev_hash/prev_seq, have_prev). */
static int check_one(struct dd_verifier *key, const char *line, size_t len, uint64_t lineno, bool have_prev,
		     uint64_t prev_seq, const uint8_t prev_hash[DD_SHA256_LEN], struct dd_chain_rec *r,
		     struct dd_chain_result *res)
{
	static const uint8_t zero[DD_SHA256_LEN];
	uint8_t digest[DD_SHA256_LEN];

	if (!dd_chain_parse(line, len, r))
		return bad(res, lineno, 0, "not a sealed audit record (changed, or cut short)");
	dd_sha256(line, r->body_len, digest);
	if (!dd_verifier_check(key, digest, r->sig, r->sig_len))
		return bad(res, lineno, r->seq, "its signature does not verify with the board key: the record was "
			   "changed, or another board wrote it");
	if (!have_prev) {
		if (r->seq == 1 && memcmp(r->prev, zero, DD_SHA256_LEN))
			return bad(res, lineno, r->seq, "the board's first record does not start the chain");
		return DD_OK;
	}
	if (r->seq != prev_seq + 1)
		return bad(res, lineno, r->seq, "follows record %" PRIu64 ": record(s) removed or reordered", prev_seq);
	if (memcmp(r->prev, prev_hash, DD_SHA256_LEN))
		return bad(res, lineno, r->seq, "does not chain to record %" PRIu64 " before it: that record was "
			   "changed or replaced", prev_seq);
	return DD_OK;
}

/* The next line of in into buf (cap bytes), without its line end; *len its length. 0 at the end,
 * 1 a line, -1 a line longer than cap - 2 (the rest of it is skipped: memory stays bounded). */
static int next_line(FILE *in, char *buf, size_t cap, size_t *len)
{
	int c;

	if (!fgets(buf, (int)cap, in))
		return 0;
	*len = strlen(buf);
	if (*len && buf[*len - 1] == '\n') {
		buf[--*len] = '\0';
		if (*len && buf[*len - 1] == '\r') /* a copy that went through a Windows editor */
			buf[--*len] = '\0';
		return 1;
	}
	if (feof(in))
		return 1;
	while ((c = fgetc(in)) != EOF && c != '\n')
		;
	return -1;
}

int dd_chain_verify(FILE *in, const char *name, const char *pub_path, struct dd_chain_result *res,
		    struct dd_err *err)
{
	uint8_t prev_hash[DD_SHA256_LEN] = { 0 };
	struct dd_verifier *key;
	struct dd_chain_rec r;
	size_t cap = DD_CHAIN_LINE_MAX + 2, len = 0;
	char *line = malloc(cap);
	uint64_t lineno = 0;
	int rc = DD_OK, got;

	memset(res, 0, sizeof(*res));
	if (!line)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	if (dd_verifier_open(pub_path, &key, err)) {
		free(line);
		return DD_EINPUT;
	}
	while ((got = next_line(in, line, cap, &len)) != 0) {
		lineno++;
		if (got > 0 && !len)
			continue;
		if (got < 0)
			rc = bad(res, lineno, 0, "a line longer than any record");
		else
			rc = check_one(key, line, len, lineno, res->records > 0, res->last_seq, prev_hash, &r, res);
		if (rc && !res->records && (got < 0 || strncmp(line, "{\"seq\":", 7))) {
			free(line);
			dd_verifier_close(key);
			return dd_fail(err, DD_EINPUT, "%s: not an audit log (line %" PRIu64 " is not a record)", name,
				       lineno);
		}
		if (rc)
			break;
		if (!res->records)
			res->first_seq = r.seq;
		res->last_seq = r.seq;
		res->records++;
		dd_sha256(line, len, prev_hash);
	}
	free(line);
	dd_verifier_close(key);
	if (!rc && ferror(in))
		return dd_fail(err, DD_EINPUT, "%s: read error", name);
	if (!rc && !res->records)
		return dd_fail(err, DD_EINPUT, "%s: no audit records in it", name);
	return rc;
}
