/* Checked number parsing for command-line values: what is not a number in range is refused, never 0. */
#include "check.h"
#include "util/number.h"

TEST(numbers_in_range)
{
	uint64_t v = 7;

	CHECK_EQ_INT(dd_parse_u64("0", 10, &v), 0);
	CHECK_EQ_U64(v, 0);
	CHECK_EQ_INT(dd_parse_u64("86400", 86400, &v), 0);
	CHECK_EQ_U64(v, 86400);
	CHECK_EQ_INT(dd_parse_u64("18446744073709551615", UINT64_MAX, &v), 0);
	CHECK_EQ_U64(v, UINT64_MAX);
	CHECK_EQ_INT(dd_parse_u64("007", 10, &v), 0);
	CHECK_EQ_U64(v, 7);
	CHECK_EQ_INT(dd_parse_u64("3", 3, &v), 0);
	CHECK_EQ_U64(v, 3);
	CHECK_EQ_INT(dd_parse_u64("03", 3, &v), 0);
	CHECK_EQ_U64(v, 3);
}

TEST(anything_else_refused)
{
	static const char *const bad[] = { "", "abc", "12x", "x12", "-1", "+1", " 1", "1 ", "1.5", "0x10", "1e3" };
	uint64_t v = 42;

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ_INT(dd_parse_u64(bad[i], UINT64_MAX, &v), -1);
	CHECK_EQ_INT(dd_parse_u64(NULL, 10, &v), -1);
	CHECK_EQ_INT(dd_parse_u64("86401", 86400, &v), -1);              /* over the limit */
	CHECK_EQ_INT(dd_parse_u64("4", 3, &v), -1);                      /* one digit over a limit under 9 */
	CHECK_EQ_INT(dd_parse_u64("07", 5, &v), -1);
	CHECK_EQ_INT(dd_parse_u64("16", 5, &v), -1);
	CHECK_EQ_INT(dd_parse_u64("18446744073709551616", UINT64_MAX, &v), -1); /* would wrap */
	CHECK_EQ_INT(dd_parse_u64("99999999999999999999", UINT64_MAX, &v), -1);
	CHECK_EQ_U64(v, 42); /* untouched */
}

TEST(sizes_with_suffixes)
{
	static const char *const bad[] = { "", "K", "abc", "-1", "1KK", "1KB", "1T", "k1", " 1K", "1.5M", "+1M" };
	uint64_t v = 42;

	CHECK_EQ_INT(dd_parse_size("4096", UINT64_MAX, &v), 0);
	CHECK_EQ_U64(v, 4096);
	CHECK_EQ_INT(dd_parse_size("4k", UINT64_MAX, &v), 0);
	CHECK_EQ_U64(v, 4096);
	CHECK_EQ_INT(dd_parse_size("64M", 64u << 20, &v), 0);
	CHECK_EQ_U64(v, 64u << 20);
	CHECK_EQ_INT(dd_parse_size("2g", UINT64_MAX, &v), 0);
	CHECK_EQ_U64(v, 2ull << 30);
	v = 42;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ_INT(dd_parse_size(bad[i], UINT64_MAX, &v), -1);
	CHECK_EQ_INT(dd_parse_size(NULL, 10, &v), -1);
	CHECK_EQ_INT(dd_parse_size("65M", 64u << 20, &v), -1);             /* over the limit */
	CHECK_EQ_INT(dd_parse_size("17179869184G", UINT64_MAX, &v), -1);   /* 2^64: would wrap */
	CHECK_EQ_U64(v, 42); /* untouched */
}

int main(void)
{
	RUN(numbers_in_range);
	RUN(anything_else_refused);
	RUN(sizes_with_suffixes);
	return check_done();
}
