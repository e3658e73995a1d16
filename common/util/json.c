#include "util/json.h"

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

/* Length of a valid UTF-8 sequence starting at s (0 if invalid). */
static size_t utf8_len(const unsigned char *s)
{
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xE0) == 0xC0 && s[0] >= 0xC2)
		n = 2;
	else if ((s[0] & 0xF0) == 0xE0)
		n = 3;
	else if ((s[0] & 0xF8) == 0xF0 && s[0] <= 0xF4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return n;
}

static void put_string(struct dd_json *j, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	put(j, "\"", 1);
	while (*p) {
		size_t n;

		if (*p == '"' || *p == '\\') {
			char esc[2] = { '\\', (char)*p };
			put(j, esc, 2);
			p++;
			continue;
		}
		if (*p < 0x20) {
			putf(j, "\\u%04x", *p);
			p++;
			continue;
		}
		n = utf8_len(p);
		if (!n) {
			putf(j, "\\u%04x", *p); /* keep the byte visible, keep the document valid */
			p++;
			continue;
		}
		put(j, (const char *)p, n);
		p += n;
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
