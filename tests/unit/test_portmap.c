/* Port maps (common/util/portmap): the one parser of the station's --port-map file and board.conf's
 * port.NAME lines; labels and their order. */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "util/portmap.h"

#define H "pci-0000:00:14.0-usb-0:"

static int parse(struct dd_portmap *m, const char *text, struct dd_err *err)
{
	dd_err_clear(err);
	return dd_portmap_parse(m, "ports.conf", text, err);
}

TEST(good_map)
{
	struct dd_portmap m;
	struct dd_err err;

	CHECK_EQ_INT(parse(&m, "# depot bench\n\nport.A1 = " H "1.1 " H "2.1\n  port.A2=" H "1.2   # right\n"
			       "port.A10 = /dev/disk/by-path/" H "1.3\n", &err), DD_OK);
	CHECK_EQ_INT(m.n, 3);
	CHECK(!strcmp(m.e[0].name, "A1"));
	CHECK_EQ_INT(m.e[0].n_paths, 2);
	CHECK(!strcmp(m.e[0].path[1], H "2.1"));
	CHECK_EQ_INT(m.e[1].line, 4);
	CHECK(!strcmp(m.e[2].path[0], H "1.3")); /* the by-path prefix dropped */
	CHECK_EQ_INT(dd_portmap_find(&m, H "1.2:1.0-scsi-0:0:0:0"), 1);
	CHECK_EQ_INT(dd_portmap_find(&m, H "2.1:1.0-scsi-0:0:0:0"), 0);
	CHECK_EQ_INT(dd_portmap_find(&m, H "1.20:1.0-scsi-0:0:0:0"), -1); /* 1.2 is not 1.20 */
	CHECK_EQ_INT(dd_portmap_find(&m, H "1.3.4:1.0-scsi-0:0:0:0"), 2);  /* a hub on socket A10 */
	CHECK_EQ_INT(dd_portmap_find(&m, "pci-0000:00:15.0-usb-0:1.2:1.0"), -1);
	CHECK_EQ_INT(dd_portmap_find(&m, ""), -1);
	CHECK_EQ_INT(dd_portmap_find(NULL, H "1.2"), -1);
}

TEST(longest_path_wins)
{
	struct dd_portmap m;
	struct dd_err err;

	CHECK_EQ_INT(parse(&m, "port.hub = " H "3\nport.hub-2 = " H "3.2\n", &err), DD_OK);
	CHECK_EQ_INT(dd_portmap_find(&m, H "3.2:1.0-scsi-0:0:0:0"), 1);
	CHECK_EQ_INT(dd_portmap_find(&m, H "3.1:1.0-scsi-0:0:0:0"), 0);
}

/* Each bad line: refused with file:line and what is wrong, never a guess. */
TEST(bad_lines)
{
	static const struct { const char *text, *msg; } bad[] = {
		{ "port.A1 = " H "1\nport.A1 = " H "2\n", "ports.conf:2: port.A1 given twice (first on line 1)" },
		{ "port.A1 = " H "1\nport.A2 = " H "1\n", "ports.conf:2: port.A2: path " H "1 already names port.A1" },
		{ "port.A1 = " H "1 " H "1\n", "ports.conf:1: port.A1: path " H "1 given twice" },
		{ "slot.1 = " H "1\n", "ports.conf:1: unknown key 'slot.1'" },
		{ "\n\nhello\n", "ports.conf:3: expected 'port.NAME = PATH', got 'hello'" },
		{ "port. = " H "1\n", "ports.conf:1: port name ''" },
		{ "port.A 1 = " H "1\n", "ports.conf:1: port name 'A 1'" },
		{ "port.A\x1b[2J = " H "1\n", "ports.conf:1: port name" },
		{ "port.ABCDEFGHIJKLMNOP = " H "1\n", "ports.conf:1: port name 'ABCDEFGHIJKLMNOP'" },
		{ "port.A1 =\n", "ports.conf:1: port.A1: no port path" },
		{ "port.A1 = /dev/sdb\n", "ports.conf:1: port.A1: '/dev/sdb' is not a USB port path" },
		{ "port.A1 = pci-0000:00:14.0-ata-1\n", "is not a USB port path" },
		{ "port.A1 = " H "1;rm\n", "is not a USB port path" },
		{ "port.A1 = " H "1 " H "2 " H "3 " H "4 " H "5\n", "port.A1: at most 4 paths per port" },
	};
	struct dd_portmap m;
	struct dd_err err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ_INT(parse(&m, bad[i].text, &err), DD_EINPUT);
		CHECK_STR_CONTAINS(err.msg, bad[i].msg);
	}
}

TEST(too_many_ports)
{
	static char text[DD_PORTMAP_MAX * 64 + 64];
	struct dd_portmap m;
	struct dd_err err;
	size_t len = 0;

	for (unsigned i = 0; i <= DD_PORTMAP_MAX; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "port.P%u = " H "%u\n", i, i + 1);
	CHECK_EQ_INT(parse(&m, text, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "ports.conf:65: port.P64: at most 64 ports in a map");
}

/* One line at a time, as board.conf hands its port.NAME lines over. */
TEST(line_by_line)
{
	struct dd_portmap m;
	struct dd_err err;

	dd_portmap_init(&m, "board.conf");
	CHECK(dd_portmap_key("port.A1"));
	CHECK(!dd_portmap_key("slot.1"));
	CHECK_EQ_INT(dd_portmap_line(&m, 7, "port.left", H "1", &err), DD_OK);
	CHECK_EQ_INT(dd_portmap_line(&m, 9, "port.left", H "2", &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "board.conf:9: port.left given twice (first on line 7)");
	CHECK_EQ_INT(m.n, 1);
}

TEST(load_files)
{
	char path[] = "/tmp/dd-portmap-XXXXXX";
	struct dd_portmap m;
	struct dd_err err;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	CHECK(write(fd, "port.A1 = " H "1\n", strlen("port.A1 = " H "1\n")) > 0);
	CHECK_EQ_INT(dd_portmap_load(&m, path, &err), DD_OK);
	CHECK_EQ_INT(m.n, 1);
	CHECK(write(fd, "\0", 1) == 1);
	CHECK_EQ_INT(dd_portmap_load(&m, path, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "contains NUL bytes");
	close(fd);
	unlink(path);
	CHECK_EQ_INT(dd_portmap_load(&m, path, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "No such file");
}

TEST(labels)
{
	struct dd_portmap m;
	struct dd_err err;
	char out[DD_PORT_LABEL_MAX];

	CHECK_EQ_INT(parse(&m, "port.A1 = " H "1.1\n", &err), DD_OK);
	dd_port_label(&m, H "1.1:1.0-scsi-0:0:0:0", "3-1.1", out, sizeof(out));
	CHECK(!strcmp(out, "A1"));
	dd_port_label(&m, H "1.2:1.0-scsi-0:0:0:0", "3-1.2", out, sizeof(out));
	CHECK(!strcmp(out, "3-1.2"));
	dd_port_label(NULL, H "1.2:1.0-scsi-0:0:0:0", "", out, sizeof(out));
	CHECK(!strcmp(out, "usb-0:1.2"));
	dd_port_label(NULL, "virtio-pci-0000:00:04.0", NULL, out, sizeof(out));
	CHECK(!strcmp(out, "virtio-pci-0000:00:04.0"));
	dd_port_label(NULL, "platform-fe9c0000.xhci-pci-0000:01:00.0", NULL, out, sizeof(out));
	CHECK(!strcmp(out, "platform-fe9c0000.xhci-")); /* cut to the label's size */
	dd_port_label(NULL, "", NULL, out, sizeof(out));
	CHECK(!strcmp(out, "-"));
	dd_port_path_of(H "1.2:1.0-scsi-0:0:0:0", out, sizeof(out));
	CHECK(!strcmp(out, "pci-0000:00:14.0-usb-0:"));  /* cut to out's size */
	{
		char p[DD_PORT_PATH_MAX];

		dd_port_path_of(H "1.2:1.0-scsi-0:0:0:0", p, sizeof(p));
		CHECK(!strcmp(p, H "1.2"));
		dd_port_path_of("platform-xhci-hcd.1.auto-usb-0:1.4.3:1.0-scsi-0:0:0:0", p, sizeof(p));
		CHECK(!strcmp(p, "platform-xhci-hcd.1.auto-usb-0:1.4.3"));
		dd_port_path_of("pci-0000:00:1f.2-ata-1", p, sizeof(p));
		CHECK(!strcmp(p, "pci-0000:00:1f.2-ata-1"));
	}
}

TEST(label_order)
{
	CHECK(dd_port_label_cmp("A2", "A10") < 0);
	CHECK(dd_port_label_cmp("A10", "A2") > 0);
	CHECK(dd_port_label_cmp("1-1.9", "1-1.10") < 0);
	CHECK(dd_port_label_cmp("1-1.10", "2-1") < 0);
	CHECK(dd_port_label_cmp("A1", "B1") < 0);
	CHECK(dd_port_label_cmp("A01", "A1") == 0);
	CHECK(dd_port_label_cmp("A1", "A1x") < 0);
	CHECK(dd_port_label_cmp("", "") == 0);
}

TEST(format_round_trip)
{
	struct dd_portmap m, back;
	struct dd_err err;
	char buf[1024];
	size_t n;

	CHECK_EQ_INT(parse(&m, "port.A1 = " H "1.1 " H "2.1\nport.A2 = " H "1.2\n", &err), DD_OK);
	n = dd_portmap_format(&m, buf, sizeof(buf));
	CHECK(n < sizeof(buf) && n == strlen(buf));
	CHECK_STR_CONTAINS(buf, "port.A1 = " H "1.1 " H "2.1\nport.A2 = " H "1.2\n");
	CHECK_EQ_INT(parse(&back, buf, &err), DD_OK);
	CHECK_EQ_INT(back.n, 2);
	CHECK_EQ_INT(back.e[0].n_paths, 2);
	CHECK_EQ_U64(dd_portmap_format(&m, buf, 10), n); /* a short buffer: the length it needs */
	CHECK_EQ_INT(strlen(buf), 9);
}

int main(void)
{
	RUN(good_map);
	RUN(longest_path_wins);
	RUN(bad_lines);
	RUN(too_many_ports);
	RUN(line_by_line);
	RUN(load_files);
	RUN(labels);
	RUN(label_order);
	RUN(format_round_trip);
	return check_done();
}
