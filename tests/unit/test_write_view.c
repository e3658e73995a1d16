/* write's terminal view (host/write_ui.c write_ui_render, pure): labels, phase names, units, every line cut
 * to the width and the counters kept on a small screen; units (util/units.h); host_port_exists on a sysfs
 * tree made here. */
#include <stdlib.h>
#include <sys/stat.h>

#include "check.h"
#include "screen_check.h"
#include "host/fit.h"
#include "host/ports.h"
#include "host/write_ui.h"
#include "util/units.h"

#define N 12

static struct dd_target_identity ids_store[N];
static const struct dd_target_identity *ids[N];
static char labels[N][DD_PORT_LABEL_MAX];

static void setup(struct write_ui *ui, unsigned n)
{
	memset(ui, 0, sizeof(*ui));
	ui->n = n;
	ui->ids = ids;
	ui->labels = (const char (*)[DD_PORT_LABEL_MAX])labels;
	ui->audit.mode = "write";
	CHECK_EQ_INT(write_ui_init(ui), 0);
	for (unsigned i = 0; i < n; i++) {
		memset(&ids_store[i], 0, sizeof(ids_store[i]));
		snprintf(ids_store[i].path, sizeof(ids_store[i].path), "/dev/sd%c", 'b' + i);
		snprintf(ids_store[i].serial, sizeof(ids_store[i].serial), "SER%u-0123456789ABCDEFGHIJKLMNOP", i);
		snprintf(labels[i], sizeof(labels[i]), i % 3 ? "1-1.%u" : "A%u", i + 1);
		ids[i] = &ids_store[i];
		ui->last[i].phase = i % 2 ? DD_PHASE_BOOT : DD_PHASE_WRITE;
		ui->last[i].progress = 0.5;
		ui->last[i].rate = 20.0 * 1024 * 1024;
		ui->last[i].eta = 65;
	}
	ui->last[2].result = DD_RESULT_PASS;
	ui->last[2].bytes_verified = 612ull << 20;
	ui->last[3].result = DD_RESULT_FAIL;
	ui->last[3].first_bad_offset = 1048576;
	snprintf(ui->last[3].error, sizeof(ui->last[3].error), "verify: a long error from the kernel\nand a forged line");
}

TEST(view_fits)
{
	static const struct { unsigned w, h; } sizes[] = { { 40, 12 }, { 80, 24 }, { 200, 60 }, { 30, 4 }, { 20, 2 } };
	static char buf[65536];
	struct write_ui ui;

	setup(&ui, N);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (int colour = 0; colour < 2; colour++) {
			unsigned lines;

			ui.colour = colour;
			lines = write_ui_render(&ui, sizes[i].w, sizes[i].h, buf, sizeof(buf));
			check_fits(buf, sizes[i].w, sizes[i].h - 1);
			CHECK(lines <= sizes[i].h - 1);
			CHECK_STR_CONTAINS(buf, "write: 10 running"); /* the counters, always */
		}
	write_ui_free(&ui);
}

TEST(view_content)
{
	static char buf[65536];
	struct write_ui ui;

	setup(&ui, N);
	write_ui_render(&ui, 200, 60, buf, sizeof(buf));
	CHECK_STR_CONTAINS(buf, "A1     SER0-0123456789A write        50.0%   20.0 MiB/s  ETA 01:05");
	CHECK_STR_CONTAINS(buf, "1-1.2  SER1-0123456789A first block  50.0%   20.0 MiB/s  ETA 01:05");
	CHECK_STR_CONTAINS(buf, "1-1.3  SER2-0123456789A PASS  verified 612.0 MiB");
	CHECK_STR_CONTAINS(buf, "A4     SER3-0123456789A FAIL at offset 1048576: verify: a long error from the kernel\\x0aand");
	CHECK_STR_CONTAINS(buf, "write: 10 running, 1 passed, 1 failed, 0 incomplete");
	CHECK(!strstr(buf, "\x1b[3"));
	ui.colour = true;
	write_ui_render(&ui, 200, 60, buf, sizeof(buf));
	CHECK_STR_CONTAINS(buf, FIT_GREEN "PASS" FIT_RESET);
	CHECK_STR_CONTAINS(buf, FIT_RED "FAIL" FIT_RESET);
	CHECK_STR_CONTAINS(buf, FIT_RED "1 failed" FIT_RESET);
	/* 40x12: serial and ETA go, the targets that do not fit are summed up, the counters stay */
	ui.colour = false;
	write_ui_render(&ui, 40, 12, buf, sizeof(buf));
	CHECK_STR_CONTAINS(buf, "A1     write        50.0%\x1b[K");
	CHECK_STR_CONTAINS(buf, "+3 more: 3 running, 0 passed, 0 failed");
	CHECK(!strstr(buf, "SER0"));
	write_ui_free(&ui);
}

TEST(units)
{
	char b[32];

	CHECK(!strcmp(dd_fmt_size(b, sizeof(b), 0), "0 B"));
	CHECK(!strcmp(dd_fmt_size(b, sizeof(b), 1023), "1023 B"));
	CHECK(!strcmp(dd_fmt_size(b, sizeof(b), 4096), "4.0 KiB"));
	CHECK(!strcmp(dd_fmt_size(b, sizeof(b), 64ull << 20), "64.0 MiB"));
	CHECK(!strcmp(dd_fmt_size(b, sizeof(b), 16000000000ull), "14.9 GiB"));
	CHECK(!strcmp(dd_fmt_size(b, sizeof(b), 2ull << 40), "2.0 TiB"));
	CHECK(!strcmp(dd_fmt_size(b, sizeof(b), 3ull << 50), "3072.0 TiB"));
	CHECK(!strcmp(dd_fmt_rate(b, sizeof(b), 31.5e6), "30.0 MiB/s"));
	CHECK(!strcmp(dd_fmt_rate(b, sizeof(b), -1), "0.0 MiB/s"));
}

static void mkdirs(const char *root, const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (char *p = path + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	mkdir(path, 0755);
}

/* A controller with root hub usb3, a hub on its port 1 with 4 ports: which port paths exist. */
TEST(ports_exist)
{
	char root[512];
	const char *r;

	snprintf(root, sizeof(root), "%s/sys", check_tmpdir());
	r = root;
	mkdirs(r, "bus/pci/devices/0000:00:14.0/usb3");
	mkdirs(r, "bus/usb/devices/usb3/3-0:1.0/usb3-port1");
	mkdirs(r, "bus/usb/devices/usb3/3-0:1.0/usb3-port2");
	mkdirs(r, "bus/usb/devices/3-1/3-1:1.0/3-1-port4");
	mkdirs(r, "bus/platform/devices/xhci-hcd.1.auto/usb1");
	mkdirs(r, "bus/usb/devices/usb1/1-0:1.0/usb1-port1");
	CHECK(host_port_exists(r, "pci-0000:00:14.0-usb-0:1"));
	CHECK(host_port_exists(r, "pci-0000:00:14.0-usb-0:2"));
	CHECK(host_port_exists(r, "pci-0000:00:14.0-usb-0:1.4"));
	CHECK(host_port_exists(r, "/dev/disk/by-path/pci-0000:00:14.0-usb-0:1.4:1.0-scsi-0:0:0:0"));
	CHECK(!host_port_exists(r, "pci-0000:00:14.0-usb-0:1.5"));
	CHECK(!host_port_exists(r, "pci-0000:00:14.0-usb-0:3"));
	CHECK(!host_port_exists(r, "pci-0000:00:14.0-usb-0:2.1"));   /* no hub on port 2 */
	CHECK(!host_port_exists(r, "pci-0000:00:15.0-usb-0:1"));     /* no such controller */
	CHECK(host_port_exists(r, "platform-fd500000.pcie-pci-0000:00:14.0-usb-0:1.4")); /* the last element counts */
	CHECK(host_port_exists(r, "platform-xhci-hcd.1.auto-usb-0:1"));
	CHECK(!host_port_exists(r, "platform-xhci-hcd.1.auto-usb-0:2"));
	CHECK(host_port_exists(r, "acpi-PNP0A03:00-usb-0:1"));        /* not followed: no false alarm */
	CHECK(host_port_exists(r, "virtio-pci-0000:00:04.0"));
}

int main(void)
{
	RUN(view_fits);
	RUN(view_content);
	RUN(units);
	RUN(ports_exist);
	return check_done();
}
