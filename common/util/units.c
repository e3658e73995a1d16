/* Sizes and speeds for humans (units.h). */
#include "util/units.h"

#include <stdio.h>

char *dd_fmt_size(char *out, size_t size, uint64_t bytes)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	unsigned u = 0;

	if (bytes < 1024) {
		snprintf(out, size, "%u B", (unsigned)bytes);
		return out;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1024;
		u++;
	}
	snprintf(out, size, "%.1f %s", v, unit[u]);
	return out;
}

char *dd_fmt_rate(char *out, size_t size, double bytes_per_s)
{
	if (!(bytes_per_s > 0))
		bytes_per_s = 0;
	snprintf(out, size, "%.1f MiB/s", bytes_per_s / (1024.0 * 1024.0));
	return out;
}
