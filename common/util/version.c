/* Versions (version.h). */
#include "util/version.h"

#include <stdint.h>
#include <string.h>

bool dd_version_ok(const char *s, size_t n)
{
	size_t digits = 0, parts = 1;

	if (!n || n > DD_VERSION_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (!digits || ++parts > DD_VERSION_PARTS)
				return false;
			digits = 0;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return false;
		/* no leading zeros: "01" and "1" would otherwise be two spellings of one version */
		if (digits == 1 && s[i - 1] == '0')
			return false;
		if (++digits > 9)
			return false;
	}
	return digits > 0;
}

/* The next number of a valid version at *p (0 past its end). */
static uint32_t next_part(const char **p)
{
	uint32_t v = 0;

	if (!**p)
		return 0;
	while (**p >= '0' && **p <= '9')
		v = v * 10 + (uint32_t)(*(*p)++ - '0');
	if (**p == '.')
		(*p)++;
	return v;
}

int dd_version_cmp(const char *a, const char *b)
{
	bool va = a && dd_version_ok(a, strlen(a)), vb = b && dd_version_ok(b, strlen(b));

	if (!va || !vb)
		return (int)va - (int)vb;
	for (int i = 0; i < DD_VERSION_PARTS; i++) {
		uint32_t x = next_part(&a), y = next_part(&b);

		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

const char *dd_version_of_bundle(const char *name)
{
	const char *sp = strrchr(name, ' ');

	return sp ? sp + 1 : name + strlen(name);
}
