/* dd_read_line: the one reader of sysfs/configfs attributes (the linux-gadget board's serial, diskseq,
 * self-test readings). */
#include "check.h"
#include "util/file.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void put(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "we");

	CHECK(f != NULL);
	if (!f)
		return;
	CHECK_EQ_INT((int)fwrite(text, 1, len, f), (int)len);
	fclose(f);
}

TEST(first_line_without_newline)
{
	char path[512], buf[16];

	snprintf(path, sizeof(path), "%s/attr", check_tmpdir());
	put(path, "480\nsecond\n", 11);
	CHECK_EQ_INT(dd_read_line(path, buf, sizeof(buf)), 0);
	CHECK_EQ_INT(strcmp(buf, "480"), 0);
	put(path, "no newline", 10);
	CHECK_EQ_INT(dd_read_line(path, buf, sizeof(buf)), 0);
	CHECK_EQ_INT(strcmp(buf, "no newline"), 0);
	put(path, "", 0); /* an empty attribute: "" and no error */
	strcpy(buf, "stale");
	CHECK_EQ_INT(dd_read_line(path, buf, sizeof(buf)), 0);
	CHECK_EQ_INT(strcmp(buf, ""), 0);
}

TEST(long_lines_cut_to_fit)
{
	char path[512], buf[8];

	snprintf(path, sizeof(path), "%s/long", check_tmpdir());
	put(path, "0123456789abcdef\n", 17);
	CHECK_EQ_INT(dd_read_line(path, buf, sizeof(buf)), 0);
	CHECK_EQ_INT(strcmp(buf, "0123456"), 0);
}

TEST(missing_or_unreadable_is_an_error_and_empty)
{
	char path[512], buf[16] = "stale";

	snprintf(path, sizeof(path), "%s/absent", check_tmpdir());
	CHECK_EQ_INT(dd_read_line(path, buf, sizeof(buf)), -ENOENT);
	CHECK_EQ_INT(strcmp(buf, ""), 0);
	strcpy(buf, "stale");
	CHECK_EQ_INT(dd_read_line(check_tmpdir(), buf, sizeof(buf)), -EISDIR); /* a directory opens, reads fail */
	CHECK_EQ_INT(strcmp(buf, ""), 0);
}

int main(void)
{
	RUN(first_line_without_newline);
	RUN(long_lines_cut_to_fit);
	RUN(missing_or_unreadable_is_an_error_and_empty);
	return check_done();
}
