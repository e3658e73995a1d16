#include "util/json.h"
#include "util/escape.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dd_json_init(struct dd_json *j)
{
	memset(j, 0, sizeof(*j));
}

void dd_json_free(struct dd_json *j)
{
	free(j->buf);
	memset(j, 0, sizeof(*j));
}

void dd_json_reset(struct dd_json *j)
{
	j->len = 0;
	j->need_comma = false;
	j->oom = false;
	if (j->buf)
		j->buf[0] = '\0';
}

const char *dd_json_text(const struct dd_json *j)
{
	return (j->oom || !j->buf) ? "" : j->buf;
}

static void put(struct dd_json *j, const char *s, size_t n)
{
	if (j->oom)
		return;
	if (j->len + n + 1 > j->cap) {
		size_t cap = j->cap ? j->cap : 256;
		char *nb;

		while (cap < j->len + n + 1)
			cap *= 2;
		nb = realloc(j->buf, cap);
		if (!nb) {
			j->oom = true;
			return;
		}
		j->buf = nb;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static void puts_(struct dd_json *j, const char *s)
{
	put(j, s, strlen(s));
}

static void putf(struct dd_json *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct dd_json *j, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(j, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void put_string(struct dd_json *j, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s);

	put(j, "\"", 1);
	while (left) {
		uint32_t c = 0;
		size_t n = dd_utf8_seq(p, left, &c);

		if (*p == '"' || *p == '\\') {
			char esc[2] = { '\\', (char)*p };
			put(j, esc, 2);
		} else if (!n) {
			/* not UTF-8 (strictly: no overlong forms, no surrogates): the byte stays visible as U+00NN
			 * and the document stays valid UTF-8 */
			putf(j, "\\u%04x", *p);
		} else if (dd_char_unsafe(c)) {
			/* inert on a terminal, the same character to a JSON reader */
			putf(j, "\\u%04x", (unsigned)c);
		} else {
			put(j, (const char *)p, n);
		}
		n = n ? n : 1;
		p += n;
		left -= n;
	}
	put(j, "\"", 1);
}

static void begin_value(struct dd_json *j, const char *key)
{
	if (j->need_comma)
		put(j, ",", 1);
	if (key) {
		put_string(j, key);
		put(j, ":", 1);
	}
	j->need_comma = true;
}

void dd_json_begin_obj(struct dd_json *j, const char *key)
{
	begin_value(j, key);
	put(j, "{", 1);
	j->need_comma = false;
}

void dd_json_end_obj(struct dd_json *j)
{
	put(j, "}", 1);
	j->need_comma = true;
}

void dd_json_begin_arr(struct dd_json *j, const char *key)
{
	begin_value(j, key);
	put(j, "[", 1);
	j->need_comma = false;
}

void dd_json_end_arr(struct dd_json *j)
{
	put(j, "]", 1);
	j->need_comma = true;
}

void dd_json_str(struct dd_json *j, const char *key, const char *val)
{
	begin_value(j, key);
	if (val)
		put_string(j, val);
	else
		puts_(j, "null");
}

void dd_json_u64(struct dd_json *j, const char *key, uint64_t val)
{
	begin_value(j, key);
	putf(j, "%" PRIu64, val);
}

void dd_json_i64(struct dd_json *j, const char *key, int64_t val)
{
	begin_value(j, key);
	putf(j, "%" PRId64, val);
}

void dd_json_double(struct dd_json *j, const char *key, double val, int decimals)
{
	begin_value(j, key);
	if (!isfinite(val))
		puts_(j, "null");
	else
		putf(j, "%.*f", decimals, val);
}

void dd_json_bool(struct dd_json *j, const char *key, bool val)
{
	begin_value(j, key);
	puts_(j, val ? "true" : "false");
}

void dd_json_null(struct dd_json *j, const char *key)
{
	begin_value(j, key);
	puts_(j, "null");
}

void dd_hex(char *out, const uint8_t *bytes, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * n] = '\0';
}

void dd_json_hex(struct dd_json *j, const char *key, const uint8_t *bytes, size_t n)
{
	char *hex = malloc(2 * n + 1);

	if (!hex) {
		j->oom = true;
		return;
	}
	dd_hex(hex, bytes, n);
	dd_json_str(j, key, hex);
	free(hex);
}

int dd_unhex(const char *s, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v = 0;

		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + k];

			if (c >= '0' && c <= '9')
				v = v * 16 + (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v = v * 16 + (unsigned)(c - 'a' + 10);
			else
				return -1;
		}
		out[i] = (uint8_t)v;
	}
	return 0;
}
