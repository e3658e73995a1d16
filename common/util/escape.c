#include "util/escape.h"

#include <stdio.h>
#include <string.h>

size_t dd_utf8_seq(const void *p, size_t avail, uint32_t *cp)
{
	const unsigned char *s = p;
	uint32_t c, min;
	size_t n;

	if (!avail)
		return 0;
	if (s[0] < 0x80) {
		n = 1, c = s[0], min = 0;
	} else if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		n = 2, c = s[0] & 0x1F, min = 0x80;
	} else if ((s[0] & 0xF0) == 0xE0) {
		n = 3, c = s[0] & 0x0F, min = 0x800;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		n = 4, c = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n > avail)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	if (cp)
		*cp = c;
	return n;
}

/* C0, DEL, C1: what a terminal acts on rather than shows. */
static bool is_control(uint32_t c)
{
	return c < 0x20 || (c >= 0x7F && c <= 0x9F);
}

/* Marks that reorder (bidi embeddings, overrides, isolates) or break a line without a newline byte. */
static bool is_layout(uint32_t c)
{
	return c == 0x200E || c == 0x200F || c == 0x2028 || c == 0x2029 || (c >= 0x202A && c <= 0x202E) ||
	       (c >= 0x2066 && c <= 0x2069);
}

bool dd_char_unsafe(uint32_t c)
{
	return is_control(c) || is_layout(c);
}

bool dd_utf8_text_ok(const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n;) {
		uint32_t c;
		size_t k = dd_utf8_seq(s + i, n - i, &c);

		if (!k || is_control(c))
			return false;
		i += k;
	}
	return true;
}

/* The next piece of s (n bytes left) as it is shown: the character itself, or \xNN for each of its bytes
 * (one byte when it is not UTF-8). Returns the piece's length in piece (room for 4 escapes); *used gets
 * how many bytes of s it stands for. */
static size_t escape_piece(const unsigned char *s, size_t n, char piece[17], size_t *used)
{
	uint32_t c = 0;
	size_t k = dd_utf8_seq(s, n, &c), len = 0;

	if (k && !dd_char_unsafe(c)) {
		memcpy(piece, s, k);
		*used = k;
		return k;
	}
	if (!k)
		k = 1;
	for (size_t i = 0; i < k; i++)
		len += (size_t)snprintf(piece + len, 17 - len, "\\x%02x", s[i]);
	*used = k;
	return len;
}

char *dd_escape_n(char *out, size_t cap, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t o = 0, mark = 0; /* mark: the last piece boundary that leaves room for "..." */

	for (size_t i = 0; i < n;) {
		char piece[17];
		size_t used, len = escape_piece(u + i, n - i, piece, &used);

		if (o + len + 1 > cap) {
			if (cap >= 4) {
				memcpy(out + mark, "...", 3);
				o = mark + 3;
			}
			break;
		}
		memcpy(out + o, piece, len);
		o += len;
		i += used;
		if (o + 4 <= cap)
			mark = o;
	}
	out[o] = '\0';
	return out;
}

char *dd_escape(char *out, size_t cap, const char *s)
{
	return dd_escape_n(out, cap, s ? s : "", s ? strlen(s) : 0);
}

char *dd_utf8_text_fix(char *out, size_t cap, const char *s)
{
	const unsigned char *u = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)u), o = 0;

	for (size_t i = 0; i < n;) {
		uint32_t c = 0;
		size_t k = dd_utf8_seq(u + i, n - i, &c);
		bool ok = k && !is_control(c);

		if (o + (ok ? k : 1) + 1 > cap)
			break;
		if (ok)
			memcpy(out + o, u + i, k);
		else
			out[o] = '?';
		o += ok ? k : 1;
		i += k ? k : 1;
	}
	out[o] = '\0';
	return out;
}
