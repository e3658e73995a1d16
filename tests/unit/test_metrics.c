/* host/fleet/metrics: the Prometheus textfile's counters, histograms, bounded labels and escaping. */
#include <stdlib.h>

#include "check.h"
#include "host/fleet/metrics.h"

/* The formatted file, in a malloc'd string. */
static char *format(const struct metrics *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	if (metrics_format(m, f)) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	return buf;
}

static struct metrics_stick stick(const char *result, const char *kind, const char *port, const char *model)
{
	struct metrics_stick s = {
		.result = result, .kind = kind, .port = port, .vendor = "Acme", .model = model,
		.bytes_written = 30000000, .bytes_verified = 30000000, .write_seconds = 2, .verify_seconds = 1,
	};

	return s;
}

TEST(counts_by_result_kind_port_model)
{
	struct metrics *m = malloc(sizeof(*m));
	struct metrics_stick s;
	char *t;

	CHECK(m);
	metrics_init(m);
	s = stick("pass", NULL, "usb-0:1", "Flash 16");
	metrics_add_stick(m, &s);
	metrics_add_stick(m, &s);
	s = stick("fail", "counterfeit", "usb-0:2", "Cheap 64");
	s.bytes_verified = 0;
	metrics_add_stick(m, &s);
	t = format(m);
	CHECK(t);
	CHECK_STR_CONTAINS(t, "# TYPE dartdup_sticks_total counter\n");
	CHECK_STR_CONTAINS(t, "dartdup_sticks_total{result=\"pass\",kind=\"none\"} 2\n");
	CHECK_STR_CONTAINS(t, "dartdup_sticks_total{result=\"fail\",kind=\"counterfeit\"} 1\n");
	CHECK_STR_CONTAINS(t, "dartdup_sticks_total{result=\"fail\",kind=\"none\"} 0\n");
	CHECK_STR_CONTAINS(t, "dartdup_port_sticks_total{port=\"usb-0:1\",result=\"pass\"} 2\n");
	CHECK_STR_CONTAINS(t, "dartdup_port_sticks_total{port=\"usb-0:2\",result=\"fail\"} 1\n");
	CHECK_STR_CONTAINS(t, "dartdup_model_sticks_total{vendor=\"Acme\",model=\"Cheap 64\",result=\"fail\"} 1\n");
	CHECK_STR_CONTAINS(t, "dartdup_model_counterfeit_total{vendor=\"Acme\",model=\"Cheap 64\"} 1\n");
	CHECK_STR_CONTAINS(t, "dartdup_written_bytes_total 90000000\n");
	CHECK_STR_CONTAINS(t, "dartdup_verified_bytes_total 60000000\n");
	CHECK_STR_CONTAINS(t, "dartdup_probe_verdicts_total{verdict=\"counterfeit\"} 1\n");
	CHECK(!strstr(t, "dartdup_image_info"));  /* no image given: no info metric */
	CHECK(!strstr(t, "dartdup_board_up"));    /* no board looked at */
	free(t);
	free(m);
}

TEST(histogram_is_cumulative)
{
	struct metrics *m = malloc(sizeof(*m));
	struct metrics_stick s;
	char *t;

	CHECK(m);
	metrics_init(m);
	s = stick("pass", NULL, "p", "m");  /* 15 MB/s write, 30 MB/s verify */
	metrics_add_stick(m, &s);
	s.write_seconds = 0.1;              /* 300 MB/s */
	metrics_add_stick(m, &s);
	s.write_seconds = 0;                /* no time: not observed */
	metrics_add_stick(m, &s);
	t = format(m);
	CHECK(t);
	CHECK_STR_CONTAINS(t, "# TYPE dartdup_write_speed_bytes_per_second histogram\n");
	CHECK_STR_CONTAINS(t, "dartdup_write_speed_bytes_per_second_bucket{le=\"10000000\"} 0\n");
	CHECK_STR_CONTAINS(t, "dartdup_write_speed_bytes_per_second_bucket{le=\"20000000\"} 1\n");
	CHECK_STR_CONTAINS(t, "dartdup_write_speed_bytes_per_second_bucket{le=\"200000000\"} 1\n");
	CHECK_STR_CONTAINS(t, "dartdup_write_speed_bytes_per_second_bucket{le=\"500000000\"} 2\n");
	CHECK_STR_CONTAINS(t, "dartdup_write_speed_bytes_per_second_bucket{le=\"+Inf\"} 2\n");
	CHECK_STR_CONTAINS(t, "dartdup_write_speed_bytes_per_second_sum 315000000\n");
	CHECK_STR_CONTAINS(t, "dartdup_write_speed_bytes_per_second_count 2\n");
	CHECK_STR_CONTAINS(t, "dartdup_verify_speed_bytes_per_second_count 3\n");
	free(t);
	free(m);
}

TEST(labels_are_bounded_and_clean)
{
	struct metrics *m = malloc(sizeof(*m));
	struct metrics_stick s;
	char port[32], model[32], *t;

	CHECK(m);
	metrics_init(m);
	for (int i = 0; i < METRICS_MAX_PORTS + 5; i++) {
		snprintf(port, sizeof(port), "port-%d", i);
		snprintf(model, sizeof(model), "model-%d", i);
		s = stick("pass", NULL, port, model);
		metrics_add_stick(m, &s);
	}
	s = stick("bogus-result", "bogus-kind", "a\"b\\c\nd\x1b[2J\xc3\xa9", NULL);
	metrics_add_stick(m, &s);
	metrics_set_image(m, "not hex", "img\"\n");
	t = format(m);
	CHECK(t);
	CHECK_STR_CONTAINS(t, "dartdup_port_sticks_total{port=\"port-31\",result=\"pass\"} 1\n");
	CHECK(!strstr(t, "port=\"port-32\""));
	CHECK_STR_CONTAINS(t, "dartdup_port_sticks_total{port=\"other\",result=\"pass\"} 5\n");
	CHECK_STR_CONTAINS(t, "dartdup_port_sticks_total{port=\"other\",result=\"other\"} 1\n");
	CHECK_STR_CONTAINS(t, "model=\"model-15\"");
	CHECK(!strstr(t, "model=\"model-16\""));
	CHECK_STR_CONTAINS(t, "dartdup_model_sticks_total{vendor=\"other\",model=\"other\",result=\"pass\"} 21\n");
	CHECK_STR_CONTAINS(t, "dartdup_sticks_total{result=\"other\",kind=\"other\"} 1\n");
	CHECK_STR_CONTAINS(t, "dartdup_image_info{image_id=\"unknown\",image_name=\"img__\"} 1\n");
	CHECK(!strstr(t, "\x1b"));
	/* a port past the bound with hostile bytes went to "other"; cleaned when it has a series of its own: */
	metrics_init(m);
	metrics_add_stick(m, &s);
	free(t);
	t = format(m);
	CHECK(t);
	CHECK_STR_CONTAINS(t, "port=\"a_b_c_d_[2J__\"");
	CHECK_STR_CONTAINS(t, "vendor=\"Acme\",model=\"unknown\"");
	free(t);
	free(m);
}

TEST(boards_and_probe)
{
	struct metrics *m = malloc(sizeof(*m));
	const char *states[] = { "pass", "pass", "busy", "weird" };
	struct metrics_stick s;
	char *t;

	CHECK(m);
	metrics_init(m);
	metrics_set_board(m, "B-1", true, states, 4);
	metrics_set_board(m, "B-2", false, NULL, 0);
	metrics_set_board(m, "B-1", true, states, 2); /* the latest look replaces the one before */
	s = stick("pass", NULL, "p", "m");
	s.probed = true;
	metrics_add_stick(m, &s);
	s = stick("fail", "io", "p", "m");
	s.probed = true;                           /* failed: the probe's verdict is not known */
	metrics_add_stick(m, &s);
	metrics_set_image(m, "a7c82b2e5f3c3da1e150c2464b869533e8343b32178f49842659a9d2fac885ce", "dart 10");
	t = format(m);
	CHECK(t);
	CHECK_STR_CONTAINS(t, "dartdup_board_up{board=\"B-1\"} 1\n");
	CHECK_STR_CONTAINS(t, "dartdup_board_up{board=\"B-2\"} 0\n");
	CHECK_STR_CONTAINS(t, "dartdup_board_ports{board=\"B-1\",state=\"pass\"} 2\n");
	CHECK(!strstr(t, "state=\"busy\""));
	CHECK(!strstr(t, "board=\"B-2\",state"));
	CHECK_STR_CONTAINS(t, "dartdup_probe_verdicts_total{verdict=\"genuine\"} 1\n");
	CHECK_STR_CONTAINS(t, "dartdup_image_info{image_id=\"a7c82b2e5f3c3da1e150c2464b869533e8343b32178f49842659a9d2fac885ce\","
			      "image_name=\"dart 10\"} 1\n");
	free(t);
	free(m);
}

int main(void)
{
	RUN(counts_by_result_kind_port_model);
	RUN(histogram_is_cumulative);
	RUN(labels_are_bounded_and_clean);
	RUN(boards_and_probe);
	return check_done();
}
