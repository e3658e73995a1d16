/* station_view: the terminal view, result lines and JSON events of `dartdup station`. */
#include "check.h"
#include "host/station/view.h"

#define P1 "pci-0000:00:05.0-usb-0:1:1.0-scsi-0:0:0:0"
#define P2 "pci-0000:00:05.0-usb-0:2:1.0-scsi-0:0:0:0"

static void two_sticks(struct station *s)
{
	struct station_slot *a, *b;

	station_init(s, NULL, 0);
	a = station_slot_for_port(s, P1);
	b = station_slot_for_port(s, P2);
	station_stick_arrived(s, a, "/dev/sdb", "SER-A", "Stick", 1ull << 30, 1);
	a->phase = DD_PHASE_WRITE;
	a->progress = 0.5;
	a->rate = 12.5e6;
	station_stick_arrived(s, b, "/dev/sdc", "SER-B", "Stick", 1ull << 30, 2);
	station_job_done(s, b, OUT_COUNTERFEIT, "counterfeit: holds 8.00 GiB of the announced 64.00 GiB", 9);
}

TEST(port_short)
{
	char buf[40];

	station_port_short(P1, buf, sizeof(buf));
	CHECK(!strcmp(buf, "usb-0:1:1.0"));
	station_port_short("platform-xhci-hcd.1.auto-usb-0:1.4:1.0-scsi-0:0:0:0", buf, sizeof(buf));
	CHECK(!strcmp(buf, "usb-0:1.4:1.0"));
	station_port_short("virtio-pci-0000:00:04.0", buf, sizeof(buf));
	CHECK(!strcmp(buf, "virtio-pci-0000:00:04.0"));
	station_port_short(P1, buf, 6);
	CHECK(!strcmp(buf, "usb-0"));
}

TEST(render_shows_slots_and_counters)
{
	struct station s;
	struct station_view_info vi = { .image_name = "dart.dfi", .image_size = 64ull << 20, .probe = true,
					.elapsed = 3600 };
	char buf[8192];

	two_sticks(&s);
	station_view_render(&s, &vi, buf, sizeof(buf));
	CHECK_STR_CONTAINS(buf, "image dart.dfi (64.0 MiB)");
	CHECK_STR_CONTAINS(buf, "probe on");
	CHECK_STR_CONTAINS(buf, "up 01:00:00");
	CHECK_STR_CONTAINS(buf, "done 0 (written 0, already held it 0)   failed 1");
	CHECK_STR_CONTAINS(buf, "sticks/hour 1.0");
	CHECK_STR_CONTAINS(buf, "   1  usb-0:1:1.0        SER-A            write   [##########..........]  50%   12.5 MB/s");
	CHECK_STR_CONTAINS(buf, "   2  usb-0:2:1.0        SER-B            FAILED  counterfeit: counterfeit: holds 8.00 GiB");
	CHECK_STR_CONTAINS(buf, "\x1b[K\n"); /* lines clear their rest on redraw */
}

TEST(render_after_pull_and_pass)
{
	struct station s;
	struct station_view_info vi = { .image_name = "x", .elapsed = 5 };
	char buf[8192];

	two_sticks(&s);
	station_stick_left(&s, "/dev/sdb"); /* pulled mid-write */
	station_view_render(&s, &vi, buf, sizeof(buf));
	CHECK_STR_CONTAINS(buf, "SER-A            pulled");
	station_job_done(&s, &s.slot[0], OUT_FAIL, "write at offset 0: No such device", 6);
	station_view_render(&s, &vi, buf, sizeof(buf));
	CHECK_STR_CONTAINS(buf, "   1  usb-0:1:1.0        -                empty   last: pulled SER-A");
	station_stick_arrived(&s, &s.slot[0], "/dev/sdd", "SER-C", "Stick", 1ull << 30, 7);
	station_job_done(&s, &s.slot[0], OUT_PASS, "", 8);
	station_view_render(&s, &vi, buf, sizeof(buf));
	CHECK_STR_CONTAINS(buf, "SER-C            PULL    pass (safe to pull)");
}

/* A stick's serial, its port path, an error and the image's name may hold anything: the view shows them
 * escaped, so no line is added and the only ESC left is the view's own "clear to end of line". */
TEST(render_escapes_untrusted_strings)
{
	struct station s, clean;
	struct station_view_info vi = { .image_name = "img\x1b[2J\xe9", .elapsed = 5 };
	struct station_view_info vi_clean = { .image_name = "img", .elapsed = 5 };
	struct station_slot *a, *b;
	char buf[8192], ref[8192];
	unsigned lines = 0, ref_lines = 0;

	station_init(&s, NULL, 0);
	a = station_slot_for_port(&s, "pci-0000:00:05.0-usb-0:1\x1b]0;t\x07:1.0-scsi-0:0:0:0");
	b = station_slot_for_port(&s, P2);
	station_stick_arrived(&s, a, "/dev/sdb", "S\x1b[2J\nX\xc2\x9b", "Stick", 1ull << 30, 1);
	station_stick_arrived(&s, b, "/dev/sdc", "SER-B", "Stick", 1ull << 30, 2);
	station_job_done(&s, b, OUT_FAIL, "bad\nforged line\x1b[31m", 9);
	station_view_render(&s, &vi, buf, sizeof(buf));
	two_sticks(&clean);
	station_view_render(&clean, &vi_clean, ref, sizeof(ref));
	for (const char *p = buf; *p; p++) {
		lines += *p == '\n';
		if (*p == '\x1b')
			CHECK(!strncmp(p, "\x1b[K", 3));
		CHECK(!((unsigned char)p[0] == 0xC2 && (unsigned char)p[1] >= 0x80 && (unsigned char)p[1] <= 0x9F));
		CHECK((unsigned char)*p >= 0x20 || *p == '\n' || *p == '\x1b');
	}
	for (const char *p = ref; *p; p++)
		ref_lines += *p == '\n';
	CHECK_EQ_INT(lines, ref_lines);
	CHECK_STR_CONTAINS(buf, "image img\\x1b[2J\\xe9 (");
	CHECK_STR_CONTAINS(buf, "S\\x1b[2J\\x0aX\\xc2\\x9b");
	CHECK_STR_CONTAINS(buf, "usb-0:1\\x1b]0;t\\x07:1.0");
	CHECK_STR_CONTAINS(buf, "fail: bad\\x0aforged line\\x1b[31m");
}

TEST(render_truncates_safely)
{
	struct station s;
	struct station_view_info vi = { .image_name = "x" };
	char buf[64];

	two_sticks(&s);
	station_view_render(&s, &vi, buf, sizeof(buf));
	CHECK(strlen(buf) == sizeof(buf) - 1);
	station_view_render(&s, &vi, buf, 1);
	CHECK(buf[0] == '\0');
}

TEST(result_line)
{
	struct station s;
	char line[256];

	two_sticks(&s);
	station_result_line(&s.slot[1], line, sizeof(line));
	CHECK(!strcmp(line, "slot 2 /dev/sdc SER-B: counterfeit in 7.0 s: counterfeit: holds 8.00 GiB of the "
			    "announced 64.00 GiB"));
}

TEST(json_events)
{
	struct station s;
	struct dd_json j;

	two_sticks(&s);
	dd_json_init(&j);
	station_json_slot(&j, "progress", &s.slot[0], 1.5);
	CHECK_STR_CONTAINS(dd_json_text(&j), "\"event\":\"progress\"");
	CHECK_STR_CONTAINS(dd_json_text(&j), "\"slot\":1");
	CHECK_STR_CONTAINS(dd_json_text(&j), "\"serial\":\"SER-A\"");
	CHECK_STR_CONTAINS(dd_json_text(&j), "\"phase\":\"write\"");
	CHECK_STR_CONTAINS(dd_json_text(&j), "\"progress\":0.5");
	station_json_slot(&j, "result", &s.slot[1], 9);
	CHECK_STR_CONTAINS(dd_json_text(&j), "\"result\":\"counterfeit\"");
	CHECK_STR_CONTAINS(dd_json_text(&j), "\"good\":false");
	CHECK(!strstr(dd_json_text(&j), "\"phase\""));
	station_json_summary(&j, &s, 7200);
	CHECK_STR_CONTAINS(dd_json_text(&j), "\"event\":\"summary\"");
	CHECK_STR_CONTAINS(dd_json_text(&j), "\"failed\":1");
	CHECK_STR_CONTAINS(dd_json_text(&j), "\"per_hour\":0.5");
	dd_json_free(&j);
}

/* station --known: a stick rewritten over an older version says so in its line and its result event */
TEST(upgraded_result)
{
	struct station s;
	struct dd_json j;
	char line[256];

	two_sticks(&s);
	station_job_done(&s, &s.slot[0], OUT_PASS, "", 12);
	snprintf(s.slot[0].upgraded_from, sizeof(s.slot[0].upgraded_from), "1.2");
	station_result_line(&s.slot[0], line, sizeof(line));
	CHECK_STR_CONTAINS(line, "SER-A: pass, upgraded from version 1.2 in ");
	dd_json_init(&j);
	station_json_slot(&j, "result", &s.slot[0], 12);
	CHECK_STR_CONTAINS(dd_json_text(&j), "\"upgraded\":true,\"upgraded_from\":\"1.2\"");
	station_json_slot(&j, "result", &s.slot[1], 12);
	CHECK_STR_CONTAINS(dd_json_text(&j), "\"upgraded\":false,\"upgraded_from\":null");
	station_result_line(&s.slot[1], line, sizeof(line));
	CHECK(!strstr(line, "upgraded"));
	dd_json_free(&j);
}

int main(void)
{
	RUN(port_short);
	RUN(render_shows_slots_and_counters);
	RUN(render_after_pull_and_pass);
	RUN(render_escapes_untrusted_strings);
	RUN(render_truncates_safely);
	RUN(result_line);
	RUN(json_events);
	RUN(upgraded_result);
	return check_done();
}
