/* Checks on rendered screens (see screen_check.h). */
#include "screen_check.h"

#include "check.h"
#include "host/fit.h"

void check_fits(const char *buf, unsigned width, unsigned max_lines)
{
	unsigned lines = 0;
	char line[4096];

	for (const char *p = buf; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		CHECK(n < sizeof(line));
		memcpy(line, p, n);
		line[n] = '\0';
		if (fit_cols(line) > width)
			CHECK_FAIL_("line %u too wide (%u > %u columns): %s", lines + 1, fit_cols(line), width, line);
		lines++;
		p += n + (nl != NULL);
	}
	CHECK(lines <= max_lines);
}
