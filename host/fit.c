/* Screens that fit (fit.h). */
#include "host/fit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

void term_size(int fd, unsigned *cols, unsigned *rows)
{
	struct winsize ws;

	*cols = 80;
	*rows = 24;
	if (ioctl(fd, TIOCGWINSZ, &ws) || !ws.ws_col || !ws.ws_row)
		return;
	*cols = ws.ws_col;
	*rows = ws.ws_row;
}

bool term_colour(int fd)
{
	const char *no = getenv("NO_COLOR");

	return isatty(fd) && !(no && no[0]);
}

/* Bytes of the escape sequence at s (ESC [ params final), 0 if none. */
static size_t esc_len(const char *s)
{
	size_t n = 2;

	if (s[0] != '\x1b' || s[1] != '[')
		return 0;
	while (s[n] && !((unsigned char)s[n] >= 0x40 && (unsigned char)s[n] <= 0x7e))
		n++;
	return s[n] ? n + 1 : n;
}

/* Bytes of the character at s: a UTF-8 lead byte and its continuation bytes. */
static size_t char_len(const char *s)
{
	size_t n = 1;

	while (((unsigned char)s[n] & 0xc0) == 0x80)
		n++;
	return n;
}

unsigned fit_cols(const char *text)
{
	unsigned cols = 0;

	while (*text) {
		size_t e = esc_len(text);

		if (e) {
			text += e;
			continue;
		}
		text += char_len(text);
		cols++;
	}
	return cols;
}

unsigned fit_append(char *dst, size_t cap, size_t *len, const char *src, unsigned width)
{
	unsigned cols = 0;
	bool coloured = false;

	while (*src) {
		size_t e = esc_len(src), n = e ? e : char_len(src);

		if (!e && cols == width)
			break;
		if (*len + n + sizeof(FIT_RESET) > cap)
			break;
		memcpy(dst + *len, src, n);
		*len += n;
		if (e)
			coloured = strncmp(src, FIT_RESET, e) != 0;
		else
			cols++;
		src += n;
	}
	if (coloured && *len + sizeof(FIT_RESET) <= cap) {
		memcpy(dst + *len, FIT_RESET, sizeof(FIT_RESET) - 1);
		*len += sizeof(FIT_RESET) - 1;
	}
	if (cap)
		dst[*len < cap ? *len : cap - 1] = '\0';
	return cols;
}

const char *fit_paint(char *out, size_t size, const char *word, const char *colour, bool on)
{
	if (on && colour)
		snprintf(out, size, "%s%s%s", colour, word, FIT_RESET);
	else
		snprintf(out, size, "%s", word);
	return out;
}
