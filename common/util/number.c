/* Checked number parsing (number.h). */
#include "util/number.h"

#include <string.h>

/* The n decimal digits at s (n >= 1, nothing else) as a value of at most max. */
static int parse_digits(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (d > 9 || d > max || v > (max - d) / 10) /* d > max: max - d would wrap (a digit over a max < 9) */
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int dd_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	if (!s)
		return -1;
	return parse_digits(s, strlen(s), max, out);
}

static unsigned suffix_shift(char c)
{
	switch (c) {
	case 'K': case 'k': return 10;
	case 'M': case 'm': return 20;
	case 'G': case 'g': return 30;
	default: return 0;
	}
}

int dd_parse_size(const char *s, uint64_t max, uint64_t *out)
{
	size_t n;
	unsigned shift;
	uint64_t v;

	if (!s || !(n = strlen(s)))
		return -1;
	shift = suffix_shift(s[n - 1]);
	if (shift)
		n--;
	/* the digits' own limit keeps the shifted value within max: nothing wraps */
	if (parse_digits(s, n, max >> shift, &v))
		return -1;
	*out = v << shift;
	return 0;
}
