/* The master stick's files (firmware/master.h): batch.conf is parsed strictly, the time form is the one
 * documented, export names are FAT-safe, and a record becomes one RFC 4180 CSV row a spreadsheet opens
 * without running anything. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "format/master.h"

static int parse(const char *text, struct dd_master_batch *b, struct dd_err *err)
{
	return dd_master_batch_parse("batch.conf", text, strlen(text), b, err);
}

TEST(batch_file_parsed)
{
	struct dd_master_batch b;
	struct dd_err err = { 0 };

	CHECK_EQ_INT(parse("\xEF\xBB\xBF# work order\r\nbatch = WO-2026-117\r\n  operator=Ann Lee  \r\n\r\nprobe = yes\n"
			   "sanitize = no\ntime = 2026-12-02T09:30:00Z\n",
			   &b, &err),
		     DD_OK);
	CHECK(b.has_batch && !strcmp(b.batch, "WO-2026-117"));
	CHECK(b.has_operator && !strcmp(b.operator_, "Ann Lee"));
	CHECK_EQ_INT(b.probe, DD_MASTER_YES);
	CHECK_EQ_INT(b.sanitize, DD_MASTER_NO);
	CHECK(b.has_time);
	CHECK_EQ_U64((uint64_t)b.time, 1796203800ull);
	CHECK_EQ_INT(parse("", &b, &err), DD_OK);
	CHECK(!b.has_batch && !b.has_operator && !b.has_time);
	CHECK_EQ_INT(b.probe, DD_MASTER_UNSET);
	CHECK_EQ_INT(b.sanitize, DD_MASTER_UNSET);
}

TEST(batch_file_mistakes_refused)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "batch = a\nbatch = b\n", "batch.conf:2: batch given twice" },
		{ "colour = red\n", "batch.conf:1: unknown key" },
		{ "probe = maybe\n", "batch.conf:1: probe must be yes or no" },
		{ "sanitize = YES\n", "sanitize must be yes or no" },
		{ "\nprobe = yes\nprobe = no\n", "batch.conf:3: probe given twice" },
		{ "just words\n", "batch.conf:1: not \"key = value\"" },
		{ "time = 2026-12-02 09:30:00\n", "time must be UTC" },
		{ "time = 2026-02-31T09:30:00Z\n", "time must be UTC" },
		{ "operator = a\x1b[31mb\n", "batch.conf:1: a control character" },
	};
	struct dd_master_batch b;
	struct dd_err err = { 0 };
	char big[DD_MASTER_BATCH_MAX + 2], longv[400];

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ_INT(parse(bad[i].text, &b, &err), DD_EINPUT);
		CHECK_STR_CONTAINS(err.msg, bad[i].msg);
	}
	CHECK_EQ_INT(dd_master_batch_parse("batch.conf", "batch = a\0b\n", 12, &b, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "NUL");
	memset(big, '#', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_EQ_INT(parse(big, &b, &err), DD_EINPUT);
	snprintf(longv, sizeof(longv), "batch = %0300d\n", 1);
	CHECK_EQ_INT(parse(longv, &b, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "longer than 255 bytes");
}

TEST(time_form)
{
	int64_t t = 42;

	CHECK(dd_master_parse_time("1970-01-01T00:00:00Z", &t));
	CHECK_EQ_U64((uint64_t)t, 0);
	CHECK(dd_master_parse_time("2028-02-29T23:59:59Z", &t));
	CHECK(!dd_master_parse_time("2027-02-29T00:00:00Z", &t)); /* not a leap year */
	CHECK(!dd_master_parse_time("2026-12-02T09:30:00", &t));
	CHECK(!dd_master_parse_time("2026-12-02T09:30:00+01:00", &t));
	CHECK(!dd_master_parse_time("2026-12-02T24:00:00Z", &t));
	CHECK(!dd_master_parse_time("2026-1-02T09:30:000Z", &t));
	CHECK(!dd_master_parse_time("+026-12-02T09:30:00Z", &t));
	CHECK(!dd_master_parse_time("", &t));
}

TEST(export_names_fat_safe)
{
	char name[64];

	dd_master_export_name("SIM-1A2B3C4D", "csv", name, sizeof(name));
	CHECK(!strcmp(name, "audit-SIM-1A2B3C4D.csv"));
	dd_master_export_name("a/b:c*d?\"e<f>g|h\\ ", "jsonl", name, sizeof(name));
	CHECK(!strcmp(name, "audit-a_b_c_d__e_f_g_h__.jsonl"));
}

TEST(csv_rows)
{
	const char *rec = "{\"seq\":7,\"board\":\"SIM-1\",\"time\":null,\"time_source\":\"unset\",\"port_number\":2,"
			  "\"vendor\":\"=HYPERLINK(\\\"x\\\")\",\"model\":\"a,b\",\"serial\":\"line\\nbreak\","
			  "\"capacity\":4194304,\"batch\":\"W\\u00f6-\\ud83d\\ude00\",\"extra\":{\"n\":[1,2]},"
			  "\"result\":\"pass\",\"first_bad_offset\":-1,\"sig\":\"AAA=\"}";
	char *row = dd_master_csv_row(rec, strlen(rec));
	const char *h = dd_master_csv_header();

	CHECK(!strncmp(h, "\xEF\xBB\xBFseq,board,time,", 17));
	CHECK(strlen(h) > 2 && !strcmp(h + strlen(h) - 2, "\r\n"));
	CHECK(row != NULL);
	if (!row)
		return;
	CHECK(!strncmp(row, "7,SIM-1,,unset,2,,,", 19));
	CHECK_STR_CONTAINS(row, ",\"'=HYPERLINK(\"\"x\"\")\",\"a,b\",\"line\nbreak\",4194304,");
	CHECK_STR_CONTAINS(row, ",W\xc3\xb6-\xf0\x9f\x98\x80,");  /* \u escapes as UTF-8 */
	CHECK_STR_CONTAINS(row, ",pass,");
	CHECK_STR_CONTAINS(row, ",-1,"); /* a number is not a formula */
	CHECK(!strcmp(row + strlen(row) - 7, ",AAA=\r\n"));
	free(row);
	/* not an object, or cut: no row */
	CHECK(dd_master_csv_row("[1]", 3) == NULL);
	CHECK(dd_master_csv_row(rec, strlen(rec) - 1) == NULL);
	CHECK(dd_master_csv_row("{\"a\":\"\\u12\"}", 12) == NULL);
}

int main(void)
{
	RUN(batch_file_parsed);
	RUN(batch_file_mistakes_refused);
	RUN(time_form);
	RUN(export_names_fat_safe);
	RUN(csv_rows);
	return check_done();
}
