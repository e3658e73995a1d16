#include "host/iso/util.h"

#include <errno.h>
#include <unistd.h>

int iso_write_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!n)
				errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Howard Hinnant's days-from-civil algorithm (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int64_t iso_civil_to_unix(int year, int month, int day, int hour, int min, int sec)
{
	if (month < 1 || month > 12 || day < 1 || day > 31)
		return 0;
	return days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec;
}

void iso_unix_to_civil(int64_t t, int *year, int *month, int *day, int *hour, int *min, int *sec)
{
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	int64_t rem = t - days * 86400, z, era, doe, yoe, doy, mp, y;

	*hour = (int)(rem / 3600);
	*min = (int)(rem / 60 % 60);
	*sec = (int)(rem % 60);
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*day = (int)(doy - (153 * mp + 2) / 5 + 1);
	*month = (int)(mp < 10 ? mp + 3 : mp - 9);
	*year = (int)(y + (*month <= 2));
}

static int digits(const uint8_t *p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

int64_t iso_dec_datetime(const uint8_t *p)
{
	int y = digits(p, 4), mo = digits(p + 4, 2), d = digits(p + 6, 2);
	int h = digits(p + 8, 2), mi = digits(p + 10, 2), s = digits(p + 12, 2);
	int64_t t;

	if (y <= 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0)
		return 0;
	t = iso_civil_to_unix(y, mo, d, h, mi, s);
	return t ? t - (int64_t)(int8_t)p[16] * 15 * 60 : 0;
}

int64_t iso_dir_datetime(const uint8_t *p)
{
	int64_t t = iso_civil_to_unix(1900 + p[0], p[1], p[2], p[3], p[4], p[5]);

	return t ? t - (int64_t)(int8_t)p[6] * 15 * 60 : 0;
}
