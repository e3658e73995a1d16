/* station_view: the terminal view, result lines and JSON events of `dartdup station`. */
#include "check.h"
#include "screen_check.h"
#include "host/fit.h"
#include "host/station/view.h"

#define P1 "pci-0000:00:05.0-usb-0:1:1.0-scsi-0:0:0:0"
#define P2 "pci-0000:00:05.0-usb-0:2:1.0-scsi-0:0:0:0"

static void two_sticks(struct station *s)
{
	struct station_slot *a, *b;

	station_init(s, NULL, 0, NULL);
	a = station_slot_for_port(s, P1, "3-1");
	b = station_slot_for_port(s, P2, "3-2");
	station_stick_arrived(s, a, "/dev/sdb", "SER-A", "Stick", 1ull << 30, 1);
	a->phase = DD_PHASE_WRITE;
	a->progress = 0.5;
	a->rate = 12.5e6;
	station_stick_arrived(s, b, "/dev/sdc", "SER-B", "Stick", 1ull << 30, 2);
	station_job_done(s, b, OUT_COUNTERFEIT, "counterfeit: holds 8.00 GiB of the announced 64.00 GiB", 9);
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
	CHECK_STR_CONTAINS(buf, "3-1  SER-A            write       [##########..........]  50%   11.9 MiB/s");
	CHECK_STR_CONTAINS(buf, "3-2  SER-B            FAIL        counterfeit: counterfeit: holds 8.00 GiB");
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
	CHECK(!strstr(buf, "\x1b[3")); /* no colour unless asked */
	station_job_done(&s, &s.slot[0], OUT_FAIL, "write at offset 0: No such device", 6);
	station_view_render(&s, &vi, buf, sizeof(buf));
	CHECK_STR_CONTAINS(buf, "3-1  -                empty       last: pulled SER-A");
	station_stick_arrived(&s, &s.slot[0], "/dev/sdd", "SER-C", "Stick", 1ull << 30, 7);
	station_job_done(&s, &s.slot[0], OUT_PASS, "", 8);
	station_view_render(&s, &vi, buf, sizeof(buf));
	CHECK_STR_CONTAINS(buf, "SER-C            PULL        pass (safe to pull)");
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

	station_init(&s, NULL, 0, NULL);
	a = station_slot_for_port(&s, "pci-0000:00:05.0-usb-0:1\x1b]0;t\x07:1.0-scsi-0:0:0:0", "3-\x1b]0;t\x07");
	b = station_slot_for_port(&s, P2, "3-2");
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
	CHECK_STR_CONTAINS(buf, "S\\x1b[2J\\x0aX"); /* cut to the serial column, never raw */
	CHECK_STR_CONTAINS(buf, "3-\\x1b]0;t\\x07");
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
	CHECK(!strcmp(line, "slot 2 (3-2) /dev/sdc SER-B: counterfeit in 7.0 s: counterfeit: holds 8.00 GiB of the "
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

/* A bench of 16 sockets behind hubs: labels of different widths, every state, long serials and errors. */
static void bench(struct station *s, const struct dd_portmap *map)
{
	static const char *const models[] = { "Stick", "An Extremely Long Model Name Of A USB Flash Drive 3.2 Gen 1" };
	char path[128], usb[32], serial[64];

	station_init(s, NULL, 0, map);
	for (unsigned i = 0; i < 16; i++) {
		struct station_slot *sl;

		snprintf(path, sizeof(path), "pci-0000:00:14.0-usb-0:%u.%u:1.0-scsi-0:0:0:0", 1 + i / 7, 1 + i % 7);
		snprintf(usb, sizeof(usb), "1-%u.%u", 1 + i / 7, 1 + i % 7);
		snprintf(serial, sizeof(serial), "SERIAL-%u-0123456789ABCDEFGHIJ", i);
		sl = station_slot_for_port(s, path, usb);
		if (!sl || i % 5 == 4)
			continue; /* some stay empty */
		station_stick_arrived(s, sl, "/dev/sdx", serial, models[i % 2], 16ull << 30, i);
		if (i % 5 == 1)
			station_job_done(s, sl, OUT_PASS, "", 30 + i);
		else if (i % 5 == 2)
			station_job_done(s, sl, OUT_FAIL, "verify at offset 123731968: a very long error text from "
				         "the kernel that would wrap a small terminal several times over", 30 + i);
		else if (i % 5 == 3) {
			sl->phase = DD_PHASE_BOOT;
			sl->progress = 0.99;
			sl->rate = 31.5e6;
		} else {
			sl->phase = DD_PHASE_WRITE;
			sl->progress = 0.25;
			sl->rate = 12.5e6;
		}
	}
}

TEST(layout_fits_every_size)
{
	static const struct { unsigned w, h; } sizes[] = { { 40, 12 }, { 80, 24 }, { 200, 60 }, { 20, 3 }, { 10, 1 },
							   { 60, 8 }, { 120, 10 } };
	struct station s;
	static char buf[65536];

	bench(&s, NULL);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (int colour = 0; colour < 2; colour++) {
			struct station_view_info vi = { .image_name = "dart-recovery-toolset-10-x64.dfi",
							.image_size = 612ull << 20, .elapsed = 7200,
							.width = sizes[i].w, .height = sizes[i].h, .colour = colour,
							.warning = "warning: 1 port(s) not found on this machine: B7" };

			station_view_render(&s, &vi, buf, sizeof(buf));
			check_fits(buf, sizes[i].w, sizes[i].h > 1 ? sizes[i].h - 1 : 1);
			/* the counters: always, whatever the size */
			CHECK_STR_CONTAINS(buf, "done 3");
			if (sizes[i].w >= 40)
				CHECK_STR_CONTAINS(buf, colour ? FIT_RED "failed 3" FIT_RESET : "failed 3 ");
		}
}

TEST(layout_small_and_large)
{
	struct station s;
	static char buf[65536];
	struct station_view_info vi = { .image_name = "dart.dfi", .image_size = 612ull << 20, .elapsed = 7200 };

	bench(&s, NULL);
	vi.width = 200, vi.height = 60;
	station_view_render(&s, &vi, buf, sizeof(buf));
	CHECK_STR_CONTAINS(buf, "done 3 (written 3, already held it 0)   failed 3   refused 0   sticks/hour 3.0");
	CHECK_STR_CONTAINS(buf, "1-1.4 SERIAL-3-0123456789ABCDE first block [####################]  99%   30.0 MiB/s");
	CHECK_STR_CONTAINS(buf, "1-3.1 -                        empty\x1b[K");
	CHECK_STR_CONTAINS(buf, "plug sticks in");
	CHECK(!strstr(buf, "more:"));
	/* sorted by label: 1-1.1 .. 1-1.7, 1-2.1 .., never by arrival */
	CHECK(strstr(buf, "1-1.7 ") < strstr(buf, "1-2.1 "));
	vi.width = 80, vi.height = 24;
	station_view_render(&s, &vi, buf, sizeof(buf));
	CHECK_STR_CONTAINS(buf, "1-1.4 SERIAL-3-0123456 first block  99%   30.0 MiB/s");
	CHECK_STR_CONTAINS(buf, "1-3.2 SERIAL-15-012345 write        25%   11.9 MiB/s"); /* 16 sockets fit 80x24 */
	CHECK(!strstr(buf, "more: "));
	vi.width = 40, vi.height = 12;
	station_view_render(&s, &vi, buf, sizeof(buf));
	CHECK_STR_CONTAINS(buf, "+9 more: 4 busy, 1 to pull, 2 failed");
	CHECK_STR_CONTAINS(buf, "done 3  failed 3  refused 0  3.0/h");
	CHECK_STR_CONTAINS(buf, "1-1.4 first block  99%");
	CHECK(!strstr(buf, "SERIAL-"));
}

TEST(layout_colour)
{
	struct station s;
	char buf[8192];
	struct station_view_info vi = { .image_name = "x", .elapsed = 5, .width = 120, .height = 30, .colour = true };

	two_sticks(&s);
	station_stick_arrived(&s, &s.slot[0], "/dev/sdb", "SER-A", "Stick", 1ull << 30, 3);
	station_job_done(&s, &s.slot[0], OUT_PASS, "", 8);
	station_view_render(&s, &vi, buf, sizeof(buf));
	CHECK_STR_CONTAINS(buf, FIT_YELLOW "PULL" FIT_RESET);
	CHECK_STR_CONTAINS(buf, FIT_GREEN "pass" FIT_RESET);
	CHECK_STR_CONTAINS(buf, FIT_RED "FAIL" FIT_RESET);
	vi.colour = false;
	station_view_render(&s, &vi, buf, sizeof(buf));
	CHECK(!strstr(buf, "\x1b[3"));
	CHECK(!strstr(buf, "\x1b[0m"));
}

/* A port map: only its sockets are slots, shown by their names, in name order (A2 before A10). */
TEST(slots_from_the_map)
{
	struct dd_portmap m;
	struct station s;
	struct dd_err err;
	char buf[8192];
	struct station_view_info vi = { .image_name = "x", .width = 100, .height = 30 };

	CHECK_EQ_INT(dd_portmap_parse(&m, "ports.conf", "port.A10 = pci-0000:00:14.0-usb-0:1.3\n"
				      "port.A2 = pci-0000:00:14.0-usb-0:1.2 pci-0000:00:14.0-usb-0:2.2\n", &err), DD_OK);
	station_init(&s, NULL, 0, &m);
	CHECK_EQ_INT(s.n_slots, 2);
	CHECK(s.fixed);
	CHECK(!strcmp(s.slot[s.order[0]].label, "A2"));
	CHECK_EQ_INT(s.slot[s.order[0]].number, 1);
	CHECK(station_slot_for_port(&s, "pci-0000:00:14.0-usb-0:2.2:1.0-scsi-0:0:0:0", "4-2") == &s.slot[s.order[0]]);
	CHECK(station_slot_for_port(&s, "pci-0000:00:14.0-usb-0:1.3:1.0-scsi-0:0:0:0", "3-1.3") == &s.slot[s.order[1]]);
	CHECK(!station_slot_for_port(&s, "pci-0000:00:14.0-usb-0:1.4:1.0-scsi-0:0:0:0", "3-1.4")); /* not mapped */
	station_view_render(&s, &vi, buf, sizeof(buf));
	CHECK(strstr(buf, "A2  ") && strstr(buf, "A10 ") && strstr(buf, "A2  ") < strstr(buf, "A10 "));
	/* --ports with a map: the given ports, named by the map where it covers them */
	{
		const char *ports[] = { "pci-0000:00:14.0-usb-0:1.4", "pci-0000:00:14.0-usb-0:1.3" };

		station_init(&s, ports, 2, &m);
		CHECK(!strcmp(s.slot[s.order[0]].label, "A10"));
		CHECK(!strcmp(s.slot[s.order[1]].label, "usb-0:1.4"));
	}
}

int main(void)
{
	RUN(render_shows_slots_and_counters);
	RUN(render_after_pull_and_pass);
	RUN(render_escapes_untrusted_strings);
	RUN(render_truncates_safely);
	RUN(result_line);
	RUN(json_events);
	RUN(upgraded_result);
	RUN(layout_fits_every_size);
	RUN(layout_small_and_large);
	RUN(layout_colour);
	RUN(slots_from_the_map);
	return check_done();
}
