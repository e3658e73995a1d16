/* linux-gadget board description file: a good file parses into the right values, and every kind of
 * bad line is refused with one line naming file:line. */
#include <stdio.h>
#include <string.h>

#include "boards/linux-gadget/conf.h"
#include "boards/linux-gadget/ffs.h"
#include "check.h"

static const char good[] =
	"# an 3-slot board\n"
	"store = /var/lib/dartdupd\n"
	"pubkey = /etc/dartdup/a.pub\n"
	"pubkey = /etc/dartdup/b.pub   # second depot\n"
	"\n"
	"slot.1 = pci-0000:00:05.0-usb-0:1 pci-0000:00:05.0-usb-0:5\n"
	"slot.2 = pci-0000:00:05.0-usb-0:8.1\n"
	"slot.3 = pci-0000:00:05.0-usb-0:8.2:1.0\n"
	"light.1 = led dd:green:1 dd:red:1\n"
	"light.2 = gpio /dev/gpiochip0 5 6 active-low\n"
	"button = input /dev/input/event0 KEY_ENTER\n"
	"usb.vid = 0x1209\n"
	"usb.pid = 0x0001\n"
	"usb.product =   dartdup duplicator 3 \n"
	"usb.serial = machine-id\n"
	"usb.udc = dummy_udc.0\n";

TEST(good_file)
{
	struct lg_conf c;
	struct dd_err err = { 0 };

	CHECK_EQ_INT(lg_conf_parse("b.conf", good, &c, &err), DD_OK);
	CHECK_EQ_INT(c.n_slots, 3);
	CHECK_EQ_INT(c.n_pubkeys, 2);
	CHECK(!strcmp(c.pubkey[1], "/etc/dartdup/b.pub"));
	CHECK(!strcmp(c.store, "/var/lib/dartdupd"));
	CHECK_EQ_INT(c.slot[0].n_paths, 2);
	CHECK(!strcmp(c.slot[0].path[1], "pci-0000:00:05.0-usb-0:5"));
	CHECK_EQ_INT(c.slot[0].light.kind, LG_IO_LED);
	CHECK(!strcmp(c.slot[0].light.red, "dd:red:1"));
	CHECK_EQ_INT(c.slot[1].light.kind, LG_IO_GPIO);
	CHECK_EQ_INT(c.slot[1].light.green_line, 5);
	CHECK_EQ_INT(c.slot[1].light.red_line, 6);
	CHECK(c.slot[1].light.active_low);
	CHECK_EQ_INT(c.slot[2].light.kind, LG_IO_NONE);
	CHECK_EQ_INT(c.button.kind, LG_IO_INPUT);
	CHECK_EQ_INT(c.button.code, 28);
	CHECK_EQ_INT(c.vid, 0x1209);
	CHECK(!strcmp(c.product, "dartdup duplicator 3"));
	CHECK(!strcmp(c.udc, "dummy_udc.0"));
	CHECK(!strcmp(c.manufacturer, "dartdup")); /* default */
	CHECK(!strcmp(c.gadget_dir, "/sys/kernel/config/usb_gadget/dartdup"));
}

TEST(slot_of_port_paths)
{
	struct lg_conf c;
	struct dd_err err = { 0 };

	CHECK_EQ_INT(lg_conf_parse("b.conf", good, &c, &err), DD_OK);
	CHECK_EQ_INT(lg_conf_slot_of(&c, "pci-0000:00:05.0-usb-0:1:1.0-scsi-0:0:0:0"), 0);
	CHECK_EQ_INT(lg_conf_slot_of(&c, "pci-0000:00:05.0-usb-0:5:1.0-scsi-0:0:0:0"), 0); /* USB3 twin */
	CHECK_EQ_INT(lg_conf_slot_of(&c, "pci-0000:00:05.0-usb-0:8.1:1.0-scsi-0:0:0:0"), 1);
	CHECK_EQ_INT(lg_conf_slot_of(&c, "pci-0000:00:05.0-usb-0:8.2:1.0-scsi-0:0:0:0"), 2);
	/* port 1.x is not port 1, port 8 (the hub itself) is no slot, other controllers neither */
	CHECK_EQ_INT(lg_conf_slot_of(&c, "pci-0000:00:05.0-usb-0:1.3:1.0-scsi-0:0:0:0"), -1);
	CHECK_EQ_INT(lg_conf_slot_of(&c, "pci-0000:00:05.0-usb-0:8:1.0-scsi-0:0:0:0"), -1);
	CHECK_EQ_INT(lg_conf_slot_of(&c, "pci-0000:00:06.0-usb-0:1:1.0-scsi-0:0:0:0"), -1);
	CHECK_EQ_INT(lg_conf_slot_of(&c, "pci-0000:00:05.0-usb-0:10:1.0-scsi-0:0:0:0"), -1);
}

/* The same line number on two chips, or on a chip and as an LED's number, is no conflict. */
TEST(same_line_on_two_chips_is_fine)
{
	static const char text[] = "store = /s\npubkey = /k.pub\n"
				   "slot.1 = pci-0000:00:05.0-usb-0:1\nslot.2 = pci-0000:00:05.0-usb-0:2\n"
				   "light.1 = gpio /dev/gpiochip0 5 6\nlight.2 = gpio /dev/gpiochip1 5 6\n"
				   "button = gpio /dev/gpiochip2 5\n";
	struct lg_conf c;
	struct dd_err err = { 0 };

	CHECK_EQ_INT(lg_conf_parse("b.conf", text, &c, &err), DD_OK);
	CHECK_EQ_INT(c.n_slots, 2);
}

/* base: a minimal valid file; each case appends or replaces one line and expects file:line + text. */
static const char base[] = "store = /s\npubkey = /k.pub\nslot.1 = pci-0000:00:05.0-usb-0:1\n";

/* HEAD then EXTRA is refused with one line holding WANT; a failure names the case (its newlines as '|'). */
static void refused(const char *head, const char *extra, const char *want)
{
	char text[1024], shown[256];
	struct lg_conf c;
	struct dd_err err = { 0 };
	int rc;

	snprintf(text, sizeof(text), "%s%s", head, extra);
	rc = lg_conf_parse("b.conf", text, &c, &err);
	if (rc == DD_EINPUT && strstr(err.msg, want) && !strchr(err.msg, '\n'))
		return;
	snprintf(shown, sizeof(shown), "%s", extra);
	for (char *n = strchr(shown, '\n'); n; n = strchr(n, '\n'))
		*n = '|';
	CHECK_FAIL_("'%s': rc %d, msg '%s', wanted '%s'", shown, rc, err.msg, want);
}

static const struct bad_case {
	const char *extra;   /* appended as line 4.. */
	const char *want;    /* substring of the error */
} bad_cases[] = {
	{ "just words\n", "b.conf:4: expected 'key = value'" },
	{ " = x\n", "b.conf:4: missing key" },
	{ "colour = red\n", "b.conf:4: unknown key 'colour'" },
	{ "store = /t\n", "b.conf:4: store: given twice (first on line 1)" },
	{ "usb.udc =\n", "b.conf:4: usb.udc: missing value" },
	{ "usb.udc = a b\n", "b.conf:4: usb.udc: expected one word" },
	{ "usb.vid = 0x10000\n", "b.conf:4: usb.vid: expected a 16-bit number" },
	{ "usb.pid = twelve\n", "b.conf:4: usb.pid: expected a 16-bit number" },
	{ "usb.pid = -1\n", "b.conf:4: usb.pid" },
	{ "usb.product = a\tb\n", "b.conf:4: usb.product: control character" },
	{ "slot.0 = pci-0000:00:05.0-usb-0:2\n", "b.conf:4: slot.0: slot number must be 1..32" },
	{ "slot.33 = pci-0000:00:05.0-usb-0:2\n", "b.conf:4: slot.33: slot number" },
	{ "slot.02 = pci-0000:00:05.0-usb-0:2\n", "b.conf:4: slot.02: slot number" },
	{ "slot.x = pci-0000:00:05.0-usb-0:2\n", "b.conf:4: slot.x: slot number" },
	{ "slot.2 = /dev/sda\n", "b.conf:4: slot.2: '/dev/sda' is not a USB port path" },
	{ "slot.2 = pci-0000:00:05.0-ata-1\n", "is not a USB port path" },
	{ "slot.2 = pci-0000:00:05.0-usb-0:1\n", "b.conf:4: slot.2: port path already used by slot.1" },
	{ "slot.2 = a-usb-1 a-usb-2 a-usb-3 a-usb-4 a-usb-5\n", "b.conf:4: slot.2: at most 4" },
	{ "slot.3 = pci-0000:00:05.0-usb-0:3\n", "b.conf: slot.2 missing" },
	{ "light.2 = none\nlight.2 = none\n", "b.conf:5: light.2: given twice" },
	{ "light.2 = led a b\n", "b.conf: light.2 given but there is no slot.2" },
	{ "light.1 = led green\n", "b.conf:4: light.1: expected 'led GREEN RED'" },
	{ "light.1 = led ../x y\n", "b.conf:4: light.1: LED names are names" },
	{ "light.1 = gpio /dev/gpiochip0 3 3\n", "b.conf:4: light.1: green and red are the same" },
	{ "light.1 = gpio /dev/gpiochip0 3 x\n", "b.conf:4: light.1: 'x' is not a GPIO line" },
	{ "light.1 = gpio /dev/gpiochip0 3 4 inverted\n", "b.conf:4: light.1: unexpected 'inverted'" },
	{ "light.1 = blink\n", "b.conf:4: light.1: expected" },
	{ "button = input /dev/input/event0 KEY_BOGUS\n", "b.conf:4: button: unknown key 'KEY_BOGUS'" },
	{ "button = input /dev/input/event0 9999\n", "b.conf:4: button: unknown key '9999'" },
	{ "button = gpio /dev/gpiochip0\n", "b.conf:4: button: expected 'input DEVICE KEY'" },
	{ "button = gpio /dev/gpiochip0 7 active-high\n", "b.conf:4: button: unexpected 'active-high'" },
	{ "pubkey = a b\n", "b.conf:4: pubkey: expected one file" },
	{ "pubkey=/2\npubkey=/3\npubkey=/4\npubkey=/5\npubkey=/6\npubkey=/7\npubkey=/8\npubkey=/9\n",
	  "b.conf:11: pubkey: at most 8" },
	{ "usb.gadget = a b c d e f g h i j\n", "b.conf:4: usb.gadget: too many words" },
	/* one GPIO line or LED, one purpose (the kernel would refuse it only when the daemon starts) */
	{ "slot.2 = pci-0000:00:05.0-usb-0:2\nlight.1 = gpio /dev/gpiochip0 5 6\nlight.2 = gpio /dev/gpiochip0 7 5\n",
	  "b.conf: light.2 red: /dev/gpiochip0 line 5 is already light.1 green" },
	{ "button = gpio /dev/gpiochip0 17\nlight.1 = gpio /dev/gpiochip0 17 18\n",
	  "b.conf: light.1 green: /dev/gpiochip0 line 17 is already button" },
	{ "slot.2 = pci-0000:00:05.0-usb-0:2\nlight.1 = led g1 r1\nlight.2 = led r1 g2\n",
	  "b.conf: light.2 green: LED r1 is already light.1 red" },
};

TEST(every_kind_of_bad_line)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		refused(base, bad_cases[i].extra, bad_cases[i].want);
}

TEST(missing_required_keys)
{
	refused("", "pubkey = /k\nslot.1 = x-usb-0:1\n", "b.conf: no 'store' line");
	refused("", "store = rel\npubkey = /k\nslot.1 = x-usb-0:1\n", "store must be an absolute path");
	refused("", "store = /s\nslot.1 = x-usb-0:1\n", "b.conf: no 'pubkey' line");
	refused("", "store = /s\npubkey = /k\n", "b.conf: no slot.1 line");
	refused("", "", "");
}

/* rtc is optional; when given, an absolute path (the board reads it at boot, firmware/clock.h). */
TEST(rtc_key)
{
	struct lg_conf c;
	struct dd_err err = { 0 };

	CHECK_EQ_INT(lg_conf_parse("b.conf", "store = /s\npubkey = /k\nslot.1 = x-usb-0:1\n", &c, &err), DD_OK);
	CHECK(!c.rtc[0]);
	CHECK_EQ_INT(lg_conf_parse("b.conf", "store = /s\npubkey = /k\nslot.1 = x-usb-0:1\nrtc = /dev/rtc0\n", &c, &err),
		     DD_OK);
	CHECK(!strcmp(c.rtc, "/dev/rtc0"));
	refused("store = /s\npubkey = /k\nslot.1 = x-usb-0:1\n", "rtc = rtc0\n", "rtc must be an absolute path");
}

TEST(master_key)
{
	static const char two[] = "store = /s\npubkey = /k\nslot.1 = x-usb-0:1\nslot.2 = x-usb-0:2\n";
	struct lg_conf c;
	struct dd_err err = { 0 };
	char text[256];

	CHECK_EQ_INT(lg_conf_parse("b.conf", two, &c, &err), DD_OK);
	CHECK_EQ_INT(c.master, 0);
	snprintf(text, sizeof(text), "%smaster = 2\n", two);
	CHECK_EQ_INT(lg_conf_parse("b.conf", text, &c, &err), DD_OK);
	CHECK_EQ_INT(c.master, 2);
	refused(two, "master = 3\n", "master = 3: there is no slot.3");
	refused(two, "master = two\n", "b.conf:5: master: slot number must be 1..32");
	refused(two, "master = 1 2\n", "expected a slot number");
	refused(two, "master = 1\nmaster = 2\n", "given twice");
}

/* Slots named by the port map's lines (util/portmap.h, the station's format): in board.conf or a ports =
 * FILE; never mixed with slot.N lines. */
TEST(port_names)
{
	static const char head[] = "store = /s\npubkey = /k\n";
	char text[1024], path[512];
	struct lg_conf c;
	struct dd_err err = { 0 };

	snprintf(text, sizeof(text), "%sport.left = x-usb-0:1 x-usb-0:5\nport.right = x-usb-0:2\nlight.2 = none\n", head);
	CHECK_EQ_INT(lg_conf_parse("b.conf", text, &c, &err), DD_OK);
	CHECK_EQ_INT(c.n_slots, 2);
	CHECK(!strcmp(c.slot[0].label, "left"));
	CHECK(!strcmp(c.slot[1].label, "right"));
	CHECK_EQ_INT(c.slot[0].n_paths, 2);
	CHECK_EQ_INT(lg_conf_slot_of(&c, "x-usb-0:5:1.0-scsi-0:0:0:0"), 0);
	CHECK_EQ_INT(lg_conf_slot_of(&c, "x-usb-0:2:1.0-scsi-0:0:0:0"), 1);
	refused(head, "port.left = x-usb-0:1\nslot.1 = x-usb-0:2\n", "b.conf: slot.1 and port.NAME lines");
	refused(head, "port.left = x-usb-0:1\nport.right = x-usb-0:1\n",
		"b.conf:4: port.right: path x-usb-0:1 already names port.left");
	refused(head, "port.bad name = x-usb-0:1\n", "b.conf:3: port name 'bad name'");
	/* ports = FILE: the station's port map, slots in its order */
	snprintf(path, sizeof(path), "%s/ports.conf", check_tmpdir());
	CHECK_EQ_INT(check_write_file(path, "port.A1 = x-usb-0:3\nport.A2 = x-usb-0:4\n", 40), 0);
	snprintf(text, sizeof(text), "%sports = %s\n", head, path);
	CHECK_EQ_INT(lg_conf_parse("b.conf", text, &c, &err), DD_OK);
	CHECK_EQ_INT(c.n_slots, 2);
	CHECK(!strcmp(c.slot[1].label, "A2"));
	CHECK(!strcmp(c.slot[1].path[0], "x-usb-0:4"));
	snprintf(text, sizeof(text), "%sports = %s\nport.B1 = x-usb-0:9\n", head, path);
	CHECK_EQ_INT(lg_conf_parse("b.conf", text, &c, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "give one or the other");
	CHECK_EQ_INT(check_write_file(path, "slot.1 = x-usb-0:3\n", 19), 0);
	snprintf(text, sizeof(text), "%sports = %s\n", head, path);
	CHECK_EQ_INT(lg_conf_parse("b.conf", text, &c, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "ports.conf:1: unknown key 'slot.1'");
}

/* What the board tells the PC its slots are called (PORTS): port.NAME's name; else, for a slot.N line, the
 * USB part of its first path, as the station labels a socket without a map; else nothing (a number). */
TEST(slot_names_for_the_link)
{
	static const char head[] = "store = /s\npubkey = /k\n";
	char text[1024], name[DD_LINK_PORT_NAME_MAX + 1];
	struct lg_conf c;
	struct dd_err err = { 0 };

	snprintf(text, sizeof(text), "%sport.A1 = x-usb-0:1 x-usb-0:5\nport.hub2_7 = x-usb-0:2\n", head);
	CHECK_EQ_INT(lg_conf_parse("b.conf", text, &c, &err), DD_OK);
	lg_conf_slot_name(&c, 0, name);
	CHECK(!strcmp(name, "A1"));
	lg_conf_slot_name(&c, 1, name);
	CHECK(!strcmp(name, "hub2_7"));
	lg_conf_slot_name(&c, 2, name); /* past the last slot */
	CHECK(!strcmp(name, ""));
	CHECK_EQ_INT(lg_conf_parse("b.conf", good, &c, &err), DD_OK); /* slot.N lines: their USB port */
	lg_conf_slot_name(&c, 0, name);
	CHECK(!strcmp(name, "usb-0:1"));
	lg_conf_slot_name(&c, 1, name);
	CHECK(!strcmp(name, "usb-0:8.1"));
	lg_conf_slot_name(&c, 2, name);
	CHECK(!strcmp(name, "usb-0:8.2"));
	/* a path whose USB part is longer than a name may be: no name, the PC shows the number */
	snprintf(text, sizeof(text), "%sslot.1 = x-usb-0:1.2.3.4.5.6.7.8.9.1.2.3.4.5\n", head);
	CHECK_EQ_INT(lg_conf_parse("b.conf", text, &c, &err), DD_OK);
	lg_conf_slot_name(&c, 0, name);
	CHECK(!strcmp(name, ""));
}

TEST(files_on_disk)
{
	char path[512];
	struct lg_conf c;
	struct dd_err err = { 0 };
	static const char nul[] = "store = /s\0pubkey = /k\n";

	snprintf(path, sizeof(path), "%s/board.conf", check_tmpdir());
	CHECK_EQ_INT(check_write_file(path, good, strlen(good)), 0);
	CHECK_EQ_INT(lg_conf_load(path, &c, &err), DD_OK);
	CHECK_EQ_INT(c.n_slots, 3);
	CHECK_EQ_INT(check_write_file(path, nul, sizeof(nul)), 0);
	CHECK_EQ_INT(lg_conf_load(path, &c, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "NUL bytes");
	snprintf(path, sizeof(path), "%s/none.conf", check_tmpdir());
	CHECK_EQ_INT(lg_conf_load(path, &c, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "none.conf: No such file");
}

/* probe/sanitize/full/retries: the policy's words (engine/policy.h dd_policy_set, shared with write and
 * station), strict like every other key. */
TEST(policy_keys)
{
	static const char minimal[] = "store = /s\npubkey = /k\nslot.1 = x-usb-0:1\n";
	char text[256];
	struct lg_conf c;
	struct dd_err err = { 0 };

	CHECK_EQ_INT(lg_conf_parse("b.conf", minimal, &c, &err), DD_OK);
	CHECK(!c.policy.probe && !c.policy.sanitize && !c.policy.full && !c.policy.retries);
	snprintf(text, sizeof(text), "%sprobe = yes\nsanitize = yes\nretries = 5\n", minimal);
	CHECK_EQ_INT(lg_conf_parse("b.conf", text, &c, &err), DD_OK);
	CHECK(c.policy.probe && c.policy.sanitize && !c.policy.full && c.policy.retries == 5);
	refused(minimal, "probe = no\nsanitize = maybe\n", "b.conf:5: sanitize maybe: expected yes or no");
	refused(minimal, "retries = abc\n", "retries abc: expected a number from 0 to 100");
	refused(minimal, "probe = yes\nprobe = no\n", "given twice");
	refused(minimal, "probe = yes please\n", "expected one word");
}

TEST(shipped_example_parses)
{
	struct lg_conf c;
	struct dd_err err = { 0 };

	CHECK_EQ_INT(lg_conf_load("boards/linux-gadget/board.conf", &c, &err), DD_OK);
	CHECK_EQ_INT(c.n_slots, 4);
	CHECK_EQ_INT(c.slot[3].n_paths, 2);
	CHECK_EQ_INT(c.button.kind, LG_IO_GPIO);
	CHECK(c.button.active_low);
	CHECK(!c.policy.probe && !c.policy.sanitize); /* the example shows the keys, as "no" */
}

/* The FunctionFS blobs: the kernel refuses a wrong length or count, Windows ignores a wrong compat id. */
TEST(ffs_descriptor_blobs)
{
	uint8_t b[512];
	size_t n = lg_ffs_descriptors(b, sizeof(b), true), k;

	CHECK(n < sizeof(b));
	CHECK_EQ_INT(b[0] | b[1] << 8, 3);                    /* FUNCTIONFS_DESCRIPTORS_MAGIC_V2 */
	CHECK_EQ_U64((uint64_t)(b[4] | b[5] << 8), n);          /* length */
	CHECK_EQ_INT(b[8], 1 | 2 | 4 | 8);                    /* fs, hs, ss, MS OS */
	CHECK_EQ_INT(b[12], 3);
	CHECK_EQ_INT(b[16], 3);
	CHECK_EQ_INT(b[20], 5);
	CHECK_EQ_INT(b[24], 1);
	/* walk the 11 USB descriptors: each bLength right, then 35 bytes of OS descriptor */
	k = 28;
	for (unsigned i = 0; i < 11; i++) {
		CHECK(k + 2 <= n);
		CHECK(b[k] == 9 || b[k] == 7 || b[k] == 6);
		if (b[k] == 9)
			CHECK(b[k + 5] == 0xff && b[k + 6] == 0xdd && b[k + 7] == 0x01);
		k += b[k];
	}
	CHECK_EQ_U64(n - k, 35);
	CHECK_EQ_INT(b[k + 1], 35);                          /* dwLength: what follows, no more */
	CHECK_EQ_INT(b[k + 5] | b[k + 6] << 8, 0x0001);       /* bcdVersion as f_fs up to 6.1 wants it */
	CHECK_EQ_INT(b[k + 7] | b[k + 8] << 8, 4);            /* wIndex: Extended Compat ID */
	CHECK(!memcmp(b + k + 13, "WINUSB\0\0", 8));
	CHECK_EQ_INT(b[k + 12], 0);                           /* Reserved1: 0 (see ffs.c) */
	n = lg_ffs_descriptors(b, sizeof(b), false);
	CHECK_EQ_U64((uint64_t)(b[4] | b[5] << 8), n);
	CHECK_EQ_U64(n, k - 4);                               /* no os_count, no OS descriptor */
	n = lg_ffs_strings(b, sizeof(b));
	CHECK_EQ_U64((uint64_t)(b[4] | b[5] << 8), n);
	CHECK(!strcmp((char *)b + 18, "dartdup link"));
}

int main(void)
{
	RUN(good_file);
	RUN(slot_of_port_paths);
	RUN(every_kind_of_bad_line);
	RUN(missing_required_keys);
	RUN(rtc_key);
	RUN(policy_keys);
	RUN(master_key);
	RUN(port_names);
	RUN(slot_names_for_the_link);
	RUN(files_on_disk);
	RUN(same_line_on_two_chips_is_fine);
	RUN(shipped_example_parses);
	RUN(ffs_descriptor_blobs);
	return check_done();
}
