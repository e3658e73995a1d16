/* dartdup report's aggregation and escaping (host/report/): records counted where they belong, damaged
 * lines counted and named, tables bounded whatever the log holds, hostile strings made inert. */
#include "check.h"
#include "host/report/agg.h"
#include "host/report/render.h"

#include <stdlib.h>

static void line(struct rep_agg *a, const char *s, uint64_t n)
{
	rep_agg_line(a, s, strlen(s), "t.jsonl", n);
}

TEST(counts_results_kinds_ports_models)
{
	static struct rep_agg a;

	CHECK_EQ_INT(rep_agg_init(&a), 0);
	line(&a, "{\"schema\":1,\"time\":\"2026-12-01T20:10:36Z\",\"port\":\"p1\",\"vendor\":\"V\",\"model\":\"M\","
		 "\"result\":\"pass\",\"bytes_written\":100000000,\"write_seconds\":10.0,\"bytes_verified\":100000000,"
		 "\"verify_seconds\":1,\"first_bad_offset\":null,\"kind\":null}", 1);
	line(&a, "{\"schema\":1,\"time\":\"2026-12-01T20:59:59Z\",\"board\":\"B7\",\"port\":\"2\",\"vendor\":\"V\","
		 "\"model\":\"M\",\"result\":\"fail\",\"kind\":\"counterfeit\",\"first_bad_offset\":1073741824}", 2);
	line(&a, "{\"result\":\"fail\",\"kind\":\"brand-new\"}", 3); /* no schema: older dartdup; unknown kind */
	CHECK_EQ_U64(a.records, 3);
	CHECK_EQ_U64(a.damaged, 0);
	CHECK_EQ_U64(a.by_result[REP_PASS], 1);
	CHECK_EQ_U64(a.by_result[REP_FAIL], 2);
	CHECK_EQ_U64(a.by_kind[REP_K_COUNTERFEIT], 1);
	CHECK_EQ_U64(a.by_kind[REP_K_UNKNOWN], 1);
	CHECK_EQ_INT(a.n_ports, 3);
	CHECK(!strcmp(a.ports[1].name, "B7/2"));
	CHECK(!strcmp(a.ports[2].name, "(unknown)"));
	CHECK_EQ_INT(a.n_models, 2);
	CHECK(!strcmp(a.models[0].name, "V M"));
	CHECK_EQ_U64(a.models[0].sticks, 2);
	CHECK_EQ_U64(a.models[0].counterfeit, 1);
	CHECK_EQ_U64(a.models[0].write.n, 1);
	CHECK_EQ_U64(a.models[0].write.bins[3], 1);    /* 10 MB/s: the 10-15 bin */
	CHECK_EQ_U64(a.models[0].verify.bins[9], 1);   /* 100 MB/s: 100-200 */
	CHECK_EQ_U64(a.offsets[11], 1);                /* 1 GiB: the 1-2 GiB bin */
	CHECK_EQ_INT(a.n_hours, 1);                    /* both in 20:00-21:00 */
	CHECK_EQ_U64(a.hours[0].total, 2);
	CHECK_EQ_U64(a.hours[0].pass, 1);
	CHECK_EQ_U64(a.no_time, 1);
	rep_agg_free(&a);
}

TEST(damaged_lines_counted_and_named)
{
	static const char *const bad[] = {
		"nope", "{\"result\":", "{\"result\":\"pass\"} x", "[\"result\"]", "{\"result\":5}",
		"{\"result\":\"maybe\"}", "{\"schema\":2,\"result\":\"pass\"}", "{\"result\":\"pass\",\"port\":7}",
		"{\"result\":\"pass\",\"bytes_written\":\"many\"}", "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{}}}}}}}}}",
		"{\"result\":\"pass\",\"vendor\":\"\xff\xfe\"}", /* not UTF-8 */
	};
	static struct rep_agg a;

	CHECK_EQ_INT(rep_agg_init(&a), 0);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		line(&a, bad[i], i + 1);
	rep_agg_line(&a, "{\"result\":\"pass\"}\0x", 20, "t.jsonl", 99); /* a NUL inside */
	line(&a, "   ", 100);                                            /* blank: neither */
	CHECK_EQ_U64(a.records, 0);
	CHECK_EQ_U64(a.damaged, sizeof(bad) / sizeof(bad[0]) + 1);
	CHECK_EQ_U64(a.damaged_shown[0].line, 1);
	CHECK(!strcmp(a.damaged_shown[0].file, "t.jsonl"));
	CHECK(!strcmp(a.damaged_shown[0].why, "not JSON"));
	CHECK(!strcmp(a.damaged_shown[2].why, "not JSON")); /* strict: nothing may follow the object */
	CHECK(!strcmp(a.damaged_shown[6].why, "schema not understood (this dartdup reads 1)"));
	CHECK_EQ_INT(a.n_damaged_shown, REP_MAX_DAMAGED_SHOWN < 12 ? REP_MAX_DAMAGED_SHOWN : 12);
	rep_agg_free(&a);
}

TEST(tables_stay_bounded)
{
	static struct rep_agg a;
	char buf[256];

	CHECK_EQ_INT(rep_agg_init(&a), 0);
	for (unsigned i = 0; i < REP_MAX_MODELS + 50; i++) {
		snprintf(buf, sizeof(buf), "{\"result\":\"pass\",\"model\":\"m%u\",\"port\":\"p%u\","
			 "\"time\":\"2020-01-%02uT%02u:00:00Z\"}", i, i, 1 + i / 24 % 28, i % 24);
		line(&a, buf, i + 1);
	}
	for (unsigned i = 0; i < 30; i++)
		line(&a, "nope", i);
	CHECK_EQ_INT(a.n_models, REP_MAX_MODELS);
	CHECK(rep_agg_models_other(&a));
	CHECK_EQ_U64(a.models[REP_MAX_MODELS].sticks, 50);
	CHECK_EQ_INT(a.n_ports, REP_MAX_PORTS);
	CHECK_EQ_U64(a.ports[REP_MAX_PORTS].by_result[REP_PASS], 50);
	CHECK_EQ_INT(a.n_damaged_shown, REP_MAX_DAMAGED_SHOWN);
	CHECK_EQ_U64(a.damaged, 30);
	for (unsigned i = 1; i < a.n_hours; i++)
		CHECK(a.hours[i - 1].hour < a.hours[i].hour);
	rep_agg_free(&a);
}

TEST(hostile_strings_inert)
{
	char out[64], *html = NULL, *csv = NULL;
	size_t hl = 0, cl = 0;
	FILE *f;

	rep_clean(out, sizeof(out), "a\x1b[2J\xe2\x80\xae" "b\xff", 10);
	CHECK(!strcmp(out, "a?[2J?b?"));
	rep_clean(out, 4, "abcdef", 6);
	CHECK(!strcmp(out, "abc"));

	f = open_memstream(&html, &hl);
	rep_html_text(f, "<script>&\"'");
	fclose(f);
	CHECK(!strcmp(html, "&lt;script&gt;&amp;&quot;&#39;"));
	f = open_memstream(&csv, &cl);
	rep_csv_cell(f, "=cmd|\"x\"");
	fputc(',', f);
	rep_csv_cell(f, "+1");
	fputc(',', f);
	rep_csv_cell(f, "-2");
	fputc(',', f);
	rep_csv_cell(f, "@x");
	fputc(',', f);
	rep_csv_cell(f, "a,b");
	fclose(f);
	CHECK(!strcmp(csv, "\"'=cmd|\"\"x\"\"\",\"'+1\",\"'-2\",\"'@x\",\"a,b\""));
	free(html);
	free(csv);
}

TEST(labels)
{
	char b[48];

	CHECK(!strcmp(rep_offset_label(b, sizeof(b), 0), "< 1 MiB"));
	CHECK(!strcmp(rep_offset_label(b, sizeof(b), 1), "1 MiB - 2 MiB"));
	CHECK(!strcmp(rep_offset_label(b, sizeof(b), 10), "512 MiB - 1 GiB"));
	CHECK(!strcmp(rep_offset_label(b, sizeof(b), REP_OFFSET_BINS - 1), ">= 4 TiB"));
	CHECK(!strcmp(rep_speed_label(b, sizeof(b), 0), "0-2"));
	CHECK(!strcmp(rep_speed_label(b, sizeof(b), REP_SPEED_BINS - 1), "400+"));
}

static int many_records(void *arg, char *msg)
{
	static struct rep_agg a;
	char buf[512];

	if (rep_agg_init(&a))
		return -1;
	for (unsigned i = 0; i < 200000; i++) {
		snprintf(buf, sizeof(buf), "{\"schema\":1,\"time\":\"2026-%02u-%02uT%02u:00:00Z\",\"port\":\"p%u\","
			 "\"vendor\":\"v%u\",\"model\":\"m\",\"result\":\"fail\",\"kind\":\"io\",\"first_bad_offset\":%u,"
			 "\"bytes_written\":%u,\"write_seconds\":1.5}", 1 + i % 12, 1 + i % 28, i % 24, i, i, i, i);
		rep_agg_line(&a, buf, strlen(buf), "big.jsonl", i + 1);
	}
	snprintf(msg, CHECK_RSS_MSG, "%llu records", (unsigned long long)a.records);
	rep_agg_free(&a);
	return 0;
}

TEST(memory_bounded_by_the_tables)
{
	char msg[CHECK_RSS_MSG] = "";
	int rc = -1;
	long kib = check_peak_rss_kib(many_records, NULL, &rc, msg);

	CHECK_EQ_INT(rc, 0);
	CHECK(!strcmp(msg, "200000 records"));
	if (kib >= 0 && !CHECK_ASAN)
		CHECK(kib < 4096); /* 200000 distinct ports and vendors: the tables' fixed size, not the log's */
}

int main(void)
{
	RUN(counts_results_kinds_ports_models);
	RUN(damaged_lines_counted_and_named);
	RUN(tables_stay_bounded);
	RUN(hostile_strings_inert);
	RUN(labels);
	RUN(memory_bounded_by_the_tables);
	return check_done();
}
