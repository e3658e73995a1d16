/* The linux-gadget board: an embedded Linux computer with a USB device port towards the PC
 * (FunctionFS gadget, ffs.c), USB host ports for the sticks (udev, mapped to slots by port path),
 * a button and a light per slot (io.c), all described by one file (conf.c, docs/BOARD.md).
 *
 *   dartdupd --board linux-gadget [--config FILE]      (default /etc/dartdup/board.conf)
 *
 * Ports: the disks common/safety lists (the same rules as `dartdup write`: USB mass storage, whole
 * disk, nothing mounted or held) whose udev ID_PATH falls under a slot's port path. The table is
 * rebuilt when udev reports a block device event; a stick's generation is the kernel's diskseq,
 * which is new for every disk that appears. */
#include "firmware/board.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libudev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boards/linux-gadget/conf.h"
#include "crypto/sign.h"
#include "firmware/apply.h"
#include "boards/linux-gadget/ffs.h"
#include "boards/linux-gadget/udc.h"
#include "boards/linux-gadget/io.h"
#include "boards/linux-gadget/selftest.h"
#include "safety/door.h"
#include "safety/safety.h"
#include "util/file.h"
#include "util/json.h"
#include "util/number.h"

#define DEFAULT_CONFIG "/etc/dartdup/board.conf"

/* " (A3)" after a slot's number when it has a name (board.conf's port.NAME lines) */
#define LABEL_OF(g, i) SLOT_LABEL(g, i)[0] ? " (" : "", SLOT_LABEL(g, i), SLOT_LABEL(g, i)[0] ? ")" : ""
#define SLOT_LABEL(g, i) ((i) < (g)->conf.n_slots ? (g)->conf.slot[i].label : "")

struct lg_port {
	bool present;
	struct dd_disk disk;
	uint64_t generation;
	unsigned speed_mbps; /* read at the scan: a stick's speed changes only with a new device (a rescan) */
};

struct lg {
	struct dd_board b;
	struct lg_conf conf;
	struct lg_ffs *ffs;
	bool bound;
	struct udev *udev;
	struct udev_monitor *mon;
	struct lg_button_dev button;
	struct lg_light_dev light[LG_MAX_SLOTS];
	struct lg_port port[LG_MAX_SLOTS];
	bool master_mounted;
};

enum { FD_EP0, FD_UDEV, FD_BUTTON };

static uint64_t diskseq(const char *sysname)
{
	char path[128], buf[32];
	uint64_t seq;

	snprintf(path, sizeof(path), "/sys/block/%s/diskseq", sysname);
	dd_read_line(path, buf, sizeof(buf));
	return dd_parse_u64(buf, UINT64_MAX, &seq) ? 0 : seq; /* 0: none (a kernel before 5.15) */
}

/* Rebuild the slot table from the disks the safety module sees. */
static int scan_ports(struct lg *g, struct dd_err *err)
{
	struct dd_safety_opts o = { 0 };
	struct dd_disk *disks;
	unsigned n;
	int rc = dd_safety_list(&o, &disks, &n, err);

	if (rc)
		return rc;
	for (unsigned i = 0; i < g->conf.n_slots; i++)
		g->port[i].present = false;
	for (unsigned k = 0; k < n; k++) {
		int s;

		if (!disks[k].usb || (s = lg_conf_slot_of(&g->conf, disks[k].id.port)) < 0)
			continue;
		if (g->port[s].present) /* two disks under one slot (a multi-LUN reader): keep the first */
			continue;
		g->port[s].present = true;
		g->port[s].disk = disks[k];
		g->port[s].generation = diskseq(disks[k].sysname);
		g->port[s].speed_mbps = lg_usb_speed(disks[k].sysname);
		if (!g->port[s].generation) /* kernels before 5.15: the device number and serial */
			g->port[s].generation = (uint64_t)k << 48 ^ (uint64_t)strlen(disks[k].id.serial) << 40 ^
						disks[k].id.capacity;
	}
	dd_safety_free(disks);
	return DD_OK;
}

static unsigned lg_fds(struct dd_board *b, struct pollfd *fds, unsigned max)
{
	struct lg *g = b->priv;
	unsigned n = 0;

	if (max < 3)
		return 0;
	fds[n++] = (struct pollfd){ .fd = lg_ffs_ep0_fd(g->ffs), .events = POLLIN };
	fds[n++] = (struct pollfd){ .fd = udev_monitor_get_fd(g->mon), .events = POLLIN };
	fds[n++] = (struct pollfd){ .fd = g->button.fd, .events = POLLIN }; /* -1 is ignored by poll */
	return n;
}

static bool drain_monitor(struct lg *g)
{
	struct udev_device *dev;
	bool any = false;

	while ((dev = udev_monitor_receive_device(g->mon))) {
		any = true;
		udev_device_unref(dev);
	}
	return any;
}

static int lg_dispatch(struct dd_board *b, const struct pollfd *fds, unsigned n, struct dd_board_wake *w,
		       struct dd_err *err)
{
	struct lg *g = b->priv;
	struct dd_err e;

	if (n > FD_BUTTON && (fds[FD_BUTTON].revents & POLLIN) && lg_button_pressed(&g->button))
		w->button = true;
	if (n > FD_UDEV && (fds[FD_UDEV].revents & POLLIN) && drain_monitor(g)) {
		if (scan_ports(g, &e))
			fprintf(stderr, "dartdupd: ports: %s\n", e.msg);
		w->ports_changed = true;
	}
	/* ep0 events, and a fresh link whenever the PC has us enabled but no link is live */
	return lg_ffs_events(g->ffs, &w->link, err);
}

static int lg_port_probe(struct dd_board *b, unsigned i, struct dd_board_port *port, struct dd_err *err)
{
	struct lg *g = b->priv;

	memset(port, 0, sizeof(*port));
	if (i >= g->conf.n_slots || !g->port[i].present)
		return DD_OK;
	port->present = true;
	port->generation = g->port[i].generation;
	port->id = g->port[i].disk.id;
	/* the daemon probes every port at each of its steps (every 64 KiB of a load): no sysfs walk here */
	port->speed_mbps = g->port[i].speed_mbps;
	return DD_OK;
}

static int lg_port_open(struct dd_board *b, unsigned i, uint64_t need_size, struct dd_target **out,
			struct dd_err *err)
{
	struct lg *g = b->priv;
	struct dd_door_opts o = { .safety = { .min_size = need_size } };
	struct dd_door_target v;
	int rc;

	if (i >= g->conf.n_slots || !g->port[i].present)
		return dd_fail(err, DD_EINPUT, "slot %u%s%s%s: no stick", i + 1, LABEL_OF(g, i));
	/* judged again now, through the door: the stick may have been mounted or swapped since the scan */
	if ((rc = dd_door_judge_target(g->port[i].disk.devnode, &o, &v, err)))
		return rc;
	if (lg_conf_slot_of(&g->conf, v.id.port) != (int)i)
		return dd_fail(err, DD_EINPUT, "slot %u%s%s%s: %s is no longer in this slot", i + 1, LABEL_OF(g, i), v.path);
	return dd_door_open_target(&v, &o, need_size, out, err);
}

static void lg_set_light(struct dd_board *b, unsigned i, int state, unsigned percent)
{
	struct lg *g = b->priv;

	if (i < g->conf.n_slots)
		lg_light_set(&g->light[i], state);
}

/* --- the master stick (firmware/master.h) ---------------------------------------------------- */

#define MASTER_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME)
#define MASTER_OPTS "uid=0,gid=0,fmask=0077,dmask=0077,flush"

/* The stick's first partition (sdX1, or mmcblk0p1-like when the name ends in a digit), if it has one. */
static bool first_partition(const struct dd_disk *disk, char *dev, size_t len)
{
	const char *sys = disk->sysname;
	size_t n = strlen(sys);
	bool digit = n && sys[n - 1] >= '0' && sys[n - 1] <= '9';
	char path[160];

	snprintf(path, sizeof(path), "/sys/block/%s/%s%s1", sys, sys, digit ? "p" : "");
	if (access(path, F_OK))
		return false;
	snprintf(dev, len, "/dev/%s%s1", sys, digit ? "p" : "");
	return true;
}

static void master_dir(const struct lg *g, char *dir, size_t len)
{
	snprintf(dir, len, "%s/master", g->conf.store);
}

/* The master slot's stick, judged by common/safety like every disk the board touches (a USB disk,
 * nothing else holds it), mounted vfat in the store's private master/ folder: first its first
 * partition, else the whole disk (a stick formatted without a partition table). */
static int lg_master_mount(struct dd_board *b, unsigned i, bool writable, char *dir, size_t len,
			   struct dd_err *err)
{
	struct lg *g = b->priv;
	unsigned long flags = MASTER_FLAGS | (writable ? 0 : MS_RDONLY);
	struct dd_safety_opts o = { 0 };
	struct dd_disk disk;
	char dev[96];
	int rc;

	master_dir(g, dir, len);
	if (i + 1 != b->master || i >= g->conf.n_slots || !g->port[i].present)
		return dd_fail(err, DD_EINPUT, "slot %u: no master stick", i + 1);
	if (g->master_mounted) { /* read, now the export: the same file system made writable */
		if (mount(NULL, dir, NULL, MS_REMOUNT | flags, MASTER_OPTS))
			return dd_fail_errno(err, DD_EIO, errno, "master stick: cannot make it writable");
		return DD_OK;
	}
	if ((rc = dd_safety_check(g->port[i].disk.devnode, &o, &disk, err)))
		return rc;
	if (lg_conf_slot_of(&g->conf, disk.id.port) != (int)i)
		return dd_fail(err, DD_EINPUT, "slot %u: %s is no longer in this slot", i + 1, disk.devnode);
	if (mkdir(dir, 0700) && errno != EEXIST)
		return dd_fail_errno(err, DD_EIO, errno, "%s", dir);
	umount2(dir, MNT_DETACH); /* a mount a crashed daemon left: never stacked */
	if (!first_partition(&disk, dev, sizeof(dev)) || mount(dev, dir, "vfat", flags, MASTER_OPTS)) {
		snprintf(dev, sizeof(dev), "%s", disk.devnode);
		if (mount(dev, dir, "vfat", flags, MASTER_OPTS))
			return dd_fail_errno(err, DD_EINPUT, errno, "master stick %s: no FAT file system", dev);
	}
	g->master_mounted = true;
	return DD_OK;
}

static void lg_master_umount(struct dd_board *b, unsigned i)
{
	struct lg *g = b->priv;
	char dir[300];

	(void)i;
	if (!g->master_mounted)
		return;
	master_dir(g, dir, sizeof(dir));
	if (umount2(dir, 0) && umount2(dir, MNT_DETACH))
		fprintf(stderr, "dartdupd: %s: cannot unmount the master stick\n", dir);
	g->master_mounted = false;
}

static void lg_close(struct dd_board *b)
{
	struct lg *g = b->priv;

	if (g->bound)
		lg_udc_unbind(g->conf.gadget_dir); /* off the bus first: the PC sees a clean unplug */
	lg_ffs_close(g->ffs);
	for (unsigned i = 0; i < LG_MAX_SLOTS; i++) {
		lg_light_set(&g->light[i], DD_PORT_EMPTY);
		lg_light_close(&g->light[i]);
	}
	lg_button_close(&g->button);
	udev_monitor_unref(g->mon);
	udev_unref(g->udev);
	free(g);
}

/* SELFTEST over the link: the checks of --selftest against the running daemon's store. A check that
 * fails is part of the report, not an error of the request. */
static int lg_selftest_op(struct dd_board *b, const struct dd_store *store, FILE *out, struct dd_err *err)
{
	struct lg *g = b->priv;
	int rc = lg_selftest(&g->conf, store, out, true, err);

	return rc == DD_ECHECK ? DD_OK : rc;
}

static const struct dd_board_ops lg_ops = {
	.fds = lg_fds,
	.dispatch = lg_dispatch,
	.port_probe = lg_port_probe,
	.port_open = lg_port_open,
	.set_light = lg_set_light,
	.master_mount = lg_master_mount,
	.master_umount = lg_master_umount,
	.selftest = lg_selftest_op,
	.close = lg_close,
};

/* The serial the PC sees is the one gadget-setup wrote to configfs (from the machine id). */
static int read_serial(struct lg *g, struct dd_err *err)
{
	char path[300];
	int rc;

	snprintf(path, sizeof(path), "%s/strings/0x409/serialnumber", g->conf.gadget_dir);
	if ((rc = dd_read_line(path, g->b.serial, sizeof(g->b.serial))))
		return dd_fail_errno(err, DD_EIO, -rc, "%s (run gadget-setup first)", path);
	if (!g->b.serial[0])
		return dd_fail(err, DD_EINPUT, "%s: empty serial number", path);
	return DD_OK;
}

static int open_udev(struct lg *g, struct dd_err *err)
{
	g->udev = udev_new();
	if (g->udev)
		g->mon = udev_monitor_new_from_netlink(g->udev, "udev");
	if (!g->mon || udev_monitor_filter_add_match_subsystem_devtype(g->mon, "block", "disk") ||
	    udev_monitor_enable_receiving(g->mon))
		return dd_fail(err, DD_EIO, "udev monitor: cannot listen for block devices");
	/* the monitor fd is polled; receiving must never block the daemon */
	fcntl(udev_monitor_get_fd(g->mon), F_SETFL, fcntl(udev_monitor_get_fd(g->mon), F_GETFL) | O_NONBLOCK);
	return scan_ports(g, err);
}

static int open_io(struct lg *g, struct dd_err *err)
{
	int rc = lg_button_open(&g->conf.button, &g->button, err);

	for (unsigned i = 0; !rc && i < g->conf.n_slots; i++)
		if ((rc = lg_light_open(&g->conf.slot[i].light, &g->light[i], err)))
			dd_err_prefix(err, "light.%u", i + 1);
	for (unsigned i = 0; !rc && i < g->conf.n_slots; i++)
		lg_light_set(&g->light[i], DD_PORT_EMPTY);
	return rc;
}

static int parse(int argc, char **argv, const char **config, struct dd_err *err)
{
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' }, { NULL, 0, NULL, 0 } };
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'c')
			return dd_fail(err, DD_EUSAGE, "linux-gadget board: bad option (see dartdupd --help)");
		*config = optarg;
	}
	if (optind < argc)
		return dd_fail(err, DD_EUSAGE, "linux-gadget board: unexpected argument '%s'", argv[optind]);
	return DD_OK;
}

static int lg_open(int argc, char **argv, struct dd_board **out, struct dd_err *err)
{
	struct lg *g = calloc(1, sizeof(*g));
	const char *config = DEFAULT_CONFIG;
	int rc;

	if (!g)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	g->button.fd = -1;
	for (unsigned i = 0; i < LG_MAX_SLOTS; i++)
		g->light[i].fd = -1, g->light[i].state = -1;
	g->b.ops = &lg_ops;
	g->b.type = "linux-gadget";
	g->b.restart_for_firmware = true;
	g->b.priv = g;
	rc = parse(argc, argv, &config, err);
	if (!rc)
		rc = lg_conf_load(config, &g->conf, err);
	if (!rc) {
		snprintf(g->b.store_dir, sizeof(g->b.store_dir), "%s", g->conf.store);
		for (unsigned i = 0; i < g->conf.n_pubkeys; i++)
			g->b.pubkeys[i] = g->conf.pubkey[i];
		g->b.n_pubkeys = g->conf.n_pubkeys;
		g->b.n_ports = g->conf.n_slots;
		for (unsigned i = 0; i < g->conf.n_slots; i++) /* what PORTS tells the PC */
			lg_conf_slot_name(&g->conf, i, g->b.port_name[i]);
		snprintf(g->b.rtc, sizeof(g->b.rtc), "%s", g->conf.rtc);
		g->b.policy = g->conf.policy;
		g->b.master = g->conf.master;
		g->b.system_clock = true; /* the board owns its machine: a PC's time sets it (root) */
		rc = read_serial(g, err);
	}
	if (!rc)
		rc = open_io(g, err);
	if (!rc)
		rc = open_udev(g, err);
	/* descriptors first, then the UDC: the PC must never see a function without them */
	if (!rc)
		rc = lg_ffs_open(g->conf.ffs_dir, &g->ffs, err);
	if (!rc && !(rc = lg_udc_bind(g->conf.gadget_dir, g->conf.udc, err)))
		g->bound = true;
	if (rc) {
		lg_close(&g->b);
		return rc;
	}
	*out = &g->b;
	return DD_OK;
}

static const char *io_kind(enum lg_io_kind k)
{
	return k == LG_IO_GPIO ? "gpio" : k == LG_IO_LED ? "led" : k == LG_IO_INPUT ? "input" : "none";
}

/* The description file named by the options (--config), loaded and validated; *out freed by the caller. */
static int conf_from_args(int argc, char **argv, const char **config, struct lg_conf **out, struct dd_err *err)
{
	struct lg_conf *c = calloc(1, sizeof(*c));
	int rc;

	*config = DEFAULT_CONFIG;
	*out = NULL;
	if (!c)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	rc = parse(argc, argv, config, err);
	if (!rc)
		rc = lg_conf_load(*config, c, err);
	if (rc) {
		free(c);
		return rc;
	}
	*out = c;
	return DD_OK;
}

/* Every key the description file names reads as a public key (the first that does not names config). */
static int check_keys(const struct lg_conf *c, const char *config, struct dd_err *err)
{
	uint8_t id[DD_SHA256_LEN];
	int rc = DD_OK;

	for (unsigned i = 0; !rc && i < c->n_pubkeys; i++)
		if ((rc = dd_pubkey_id(c->pubkey[i], id, err)))
			dd_err_prefix(err, "%s: pubkey", config);
	return rc;
}

/* dartdupd --board linux-gadget --check: the description file and the keys it names, nothing else
 * (no configfs, no GPIO, no udev): what an administrator runs after editing the file. */
static int lg_check(int argc, char **argv, FILE *out, struct dd_err *err)
{
	const char *config;
	uint8_t id[DD_SHA256_LEN];
	char hex[2 * DD_SHA256_LEN + 1];
	struct lg_conf *c;
	unsigned lights = 0;
	int rc = conf_from_args(argc, argv, &config, &c, err);

	if (rc)
		return rc;
	if ((rc = check_keys(c, config, err))) {
		free(c);
		return rc;
	}
	for (unsigned i = 0; i < c->n_slots; i++)
		lights += c->slot[i].light.kind != LG_IO_NONE;
	fprintf(out, "%s: good\n", config);
	fprintf(out, "  slots   %u, %u with a light (%s)\n", c->n_slots, lights,
		c->n_slots ? io_kind(c->slot[0].light.kind) : "none");
	for (unsigned i = 0; i < c->n_slots; i++) /* which socket is which: the names technicians read */
		fprintf(out, "  slot %-2u %-15s %s%s\n", i + 1, c->slot[i].label[0] ? c->slot[i].label : "-",
			c->slot[i].path[0], c->slot[i].n_paths > 1 ? " (+ more paths)" : "");
	fprintf(out, "  button  %s %s\n", io_kind(c->button.kind), c->button.dev);
	fprintf(out, "  store   %s\n", c->store);
	fprintf(out, "  rtc     %s\n", c->rtc[0] ? c->rtc : "none (the clock is unset until a PC connects)");
	if (c->master)
		fprintf(out, "  master  slot %u (a master stick there is read, never written by a job)\n", c->master);
	for (unsigned i = 0; i < c->n_pubkeys; i++) {
		dd_pubkey_id(c->pubkey[i], id, NULL);
		dd_hex(hex, id, 8);
		fprintf(out, "  key     %s (id %s)\n", c->pubkey[i], hex);
	}
	fprintf(out, "  usb     %04x:%04x \"%s\", serial %s, udc %s\n", c->vid, c->pid, c->product, c->serial,
		c->udc);
	free(c);
	return DD_OK;
}

/* dartdupd --board linux-gadget --apply-firmware: the unit's ExecStartPre (dartdupd.service). */
static int lg_apply_firmware(int argc, char **argv, const char *exe, char *applied, char *rolled_back,
			     size_t len, struct dd_err *err)
{
	const char *config, *keys[LG_MAX_KEYS];
	struct lg_conf *c;
	int rc = conf_from_args(argc, argv, &config, &c, err);

	if (rc)
		return rc;
	for (unsigned i = 0; i < c->n_pubkeys; i++)
		keys[i] = c->pubkey[i];
	rc = dd_firmware_apply(c->store, keys, c->n_pubkeys, "linux-gadget", exe, applied, len, rolled_back, len,
			       err);
	free(c);
	return rc;
}

static int lg_selftest_args(int argc, char **argv, FILE *out, bool json, struct dd_err *err)
{
	const char *config;
	struct lg_conf *c;
	int rc = conf_from_args(argc, argv, &config, &c, err);

	if (!rc)
		rc = check_keys(c, config, err);
	if (!rc)
		rc = lg_selftest(c, NULL, out, json, err);
	free(c);
	return rc;
}

const struct dd_board_driver dd_board_linux_gadget = {
	.name = "linux-gadget",
	.usage = "[--config FILE]   (board description, default " DEFAULT_CONFIG "; docs/BOARD.md)",
	.open = lg_open,
	.check = lg_check,
	.apply_firmware = lg_apply_firmware,
	.selftest = lg_selftest_args,
};
