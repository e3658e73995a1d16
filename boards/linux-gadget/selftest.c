/* dartdupd --board linux-gadget --selftest [--json]: what a person checks on a real board before it goes
 * into service (docs/ACCEPTANCE.md), read from the running system without touching a stick:
 *   config   the description file and its keys (as --check)
 *   gadget   the device controller (UDC) it names exists, its device tree says peripheral (dwc2 may also
 *            be "otg"; "host" cannot serve), and whether a PC is attached (the UDC's state)
 *   power    the Raspberry Pi firmware's undervoltage flag (hwmon "rpi_volt", in0_lcrit_alarm): set once
 *            the supply dipped under 4.63 V since boot, the cause of sticks that fail at random
 *   usb      every USB port's over-current count (a short or a stick drawing too much)
 *   slot.N   the stick in each slot: serial, negotiated speed (a USB 3 stick at 480 Mbit/s sits behind a
 *            USB 2 hub or cable), its port's over-current count
 *   store    the store directory takes a durable write (create, fsync, remove), free space, the stored
 *            image and the audit log
 * Each check is PASS, WARN (works, but look) or FAIL. Exit: 0 no FAIL, 1 a FAIL, 2 the description file
 * itself is bad (nothing else checked). DARTDUP_SYSFS moves /sys (tests/cli/selftest.sh). */
#include "boards/linux-gadget/selftest.h"
#include "firmware/board.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "firmware/store.h"
#include "source/source.h"
#include "safety/safety.h"
#include "util/file.h"

enum verdict { PASS, WARN, FAIL };

struct report {
	FILE *out;
	bool json;
	unsigned n[3];
};

static const char *const verdict_name[] = { "pass", "warn", "fail" };

static void say(struct report *r, enum verdict v, const char *check, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void say(struct report *r, enum verdict v, const char *check, const char *fmt, ...)
{
	char detail[600], *rec;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	r->n[v]++;
	if (!r->json) {
		fprintf(r->out, "%-4s  %-8s %s\n", v == PASS ? "PASS" : v == WARN ? "WARN" : "FAIL", check, detail);
		return;
	}
	rec = dd_selftest_record(check, verdict_name[v], detail);
	if (rec)
		fprintf(r->out, "%s\n", rec);
	free(rec);
}

static const char *sysfs(void)
{
	const char *s = getenv("DARTDUP_SYSFS");

	return s && *s ? s : "/sys";
}

/* The first line of a small sysfs file, without its newline; "" when it cannot be read. */
static char *read_line(const char *path, char *buf, size_t len)
{
	dd_read_line(path, buf, len);
	return buf;
}

/* --- gadget ---------------------------------------------------------------------------------------- */

/* The one UDC in /sys/class/udc (usb.udc = auto), or an error in why. */
static int only_udc(char *name, size_t len, char *why, size_t wlen)
{
	char dir[PATH_MAX];
	struct dirent *e;
	unsigned n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/class/udc", sysfs());
	d = opendir(dir);
	if (!d) {
		snprintf(why, wlen, "no %.200s: no USB device controller driver (dwc2) is loaded", dir);
		return -1;
	}
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && n++ == 0)
			snprintf(name, len, "%.*s", (int)len - 1, e->d_name);
	closedir(d);
	if (n == 1)
		return 0;
	if (n)
		snprintf(why, wlen, "%u device controllers in %.200s: name one with usb.udc", n, dir);
	else
		snprintf(why, wlen, "no device controller in %.200s: the USB-C port is not in peripheral mode "
				    "(config.txt: dtoverlay=dartdup-dwc2)", dir);
	return -1;
}

static void check_gadget(struct report *r, const struct lg_conf *c)
{
	char udc[128], why[400], path[PATH_MAX], mode[32], state[64];

	if (strcmp(c->udc, "auto")) {
		snprintf(udc, sizeof(udc), "%s", c->udc);
		snprintf(path, sizeof(path), "%s/class/udc/%s", sysfs(), udc);
		if (access(path, F_OK)) {
			say(r, FAIL, "gadget", "usb.udc = %s: no such device controller (%s)", udc, path);
			return;
		}
	} else if (only_udc(udc, sizeof(udc), why, sizeof(why))) {
		say(r, FAIL, "gadget", "%s", why);
		return;
	}
	snprintf(path, sizeof(path), "%s/class/udc/%s/device/of_node/dr_mode", sysfs(), udc);
	read_line(path, mode, sizeof(mode));
	snprintf(path, sizeof(path), "%s/class/udc/%s/state", sysfs(), udc);
	read_line(path, state, sizeof(state));
	if (!strcmp(mode, "host")) {
		say(r, FAIL, "gadget", "%s: dr_mode is \"host\" in the device tree: it cannot be a gadget", udc);
		return;
	}
	say(r, mode[0] && strcmp(mode, "peripheral") ? WARN : PASS, "gadget", "%s: dr_mode %s, state %s", udc,
	    mode[0] ? mode : "(not in the device tree)", state[0] ? state : "(unknown)");
}

/* --- power ----------------------------------------------------------------------------------------- */

static void check_power(struct report *r)
{
	char pattern[PATH_MAX], name[64], path[PATH_MAX], alarm[16];
	glob_t g;

	snprintf(pattern, sizeof(pattern), "%s/class/hwmon/hwmon*/name", sysfs());
	if (glob(pattern, 0, NULL, &g)) {
		say(r, WARN, "power", "no hwmon devices: the supply cannot be checked on this board");
		return;
	}
	for (size_t i = 0; i < g.gl_pathc; i++) {
		if (strcmp(read_line(g.gl_pathv[i], name, sizeof(name)), "rpi_volt"))
			continue;
		snprintf(path, sizeof(path), "%.*s/in0_lcrit_alarm", (int)(strrchr(g.gl_pathv[i], '/') - g.gl_pathv[i]),
			 g.gl_pathv[i]);
		read_line(path, alarm, sizeof(alarm));
		if (!strcmp(alarm, "0"))
			say(r, PASS, "power", "no undervoltage since boot (rpi_volt)");
		else if (!strcmp(alarm, "1"))
			say(r, FAIL, "power", "undervoltage since boot (rpi_volt in0_lcrit_alarm): a stronger supply, "
					     "and hubs that power the sticks (docs/BOARD.md \"Power\")");
		else
			say(r, WARN, "power", "%s: unreadable", path);
		globfree(&g);
		return;
	}
	globfree(&g);
	say(r, WARN, "power", "no rpi_volt hwmon: not a Raspberry Pi, or its firmware driver is not loaded");
}

/* --- USB ports ------------------------------------------------------------------------------------- */

static void check_overcurrent(struct report *r)
{
	char pattern[PATH_MAX], count[32];
	unsigned ports = 0, bad = 0;
	glob_t g;

	snprintf(pattern, sizeof(pattern), "%s/bus/usb/devices/*/*:1.0/*-port*/over_current_count", sysfs());
	if (glob(pattern, 0, NULL, &g)) {
		say(r, WARN, "usb", "no USB ports with an over-current count in %s/bus/usb", sysfs());
		return;
	}
	for (size_t i = 0; i < g.gl_pathc; i++) {
		ports++;
		if (strtoul(read_line(g.gl_pathv[i], count, sizeof(count)), NULL, 10)) {
			bad++;
			say(r, FAIL, "usb", "%s: over-current %s time(s) since boot", g.gl_pathv[i], count);
		}
	}
	globfree(&g);
	if (!bad)
		say(r, PASS, "usb", "%u USB ports, no over-current since boot", ports);
}

/* The USB device directory above a disk (the first ancestor with a "speed" file), in dir. */
static int usb_device_of(const char *sysname, char *dir, size_t len)
{
	char link[PATH_MAX], real[PATH_MAX], probe[PATH_MAX + 8];
	char *slash;

	snprintf(link, sizeof(link), "%s/block/%s/device", sysfs(), sysname);
	if (!realpath(link, real))
		return -1;
	while ((slash = strrchr(real, '/')) && slash != real) {
		*slash = '\0';
		snprintf(probe, sizeof(probe), "%s/speed", real);
		if (!access(probe, R_OK)) {
			snprintf(dir, len, "%s", real);
			return 0;
		}
	}
	return -1;
}

unsigned lg_usb_speed(const char *sysname)
{
	char usb[PATH_MAX], path[PATH_MAX + 32], speed[32];

	if (usb_device_of(sysname, usb, sizeof(usb)))
		return 0;
	snprintf(path, sizeof(path), "%s/speed", usb);
	read_line(path, speed, sizeof(speed));
	return (unsigned)strtoul(speed, NULL, 10); /* "480", "5000"; "1.5" reads as 1 */
}

static void check_slots(struct report *r, const struct lg_conf *c)
{
	struct dd_safety_opts o = { 0 };
	struct dd_err err = { 0 };
	struct dd_disk *disks = NULL;
	bool seen[LG_MAX_SLOTS] = { false };
	char usb[PATH_MAX], path[PATH_MAX + 32], speed[32], oc[32], check[16];
	unsigned n = 0;

	if (dd_safety_list(&o, &disks, &n, &err)) {
		say(r, FAIL, "slots", "cannot list the disks: %s", err.msg);
		return;
	}
	for (unsigned k = 0; k < n; k++) {
		int s = disks[k].usb ? lg_conf_slot_of(c, disks[k].id.port) : -1;

		if (s < 0 || seen[s])
			continue;
		seen[s] = true;
		snprintf(check, sizeof(check), "slot.%d", s + 1);
		if (usb_device_of(disks[k].sysname, usb, sizeof(usb))) {
			say(r, WARN, check, "%s (serial %s): no USB device above it in sysfs", disks[k].devnode,
			    disks[k].id.serial[0] ? disks[k].id.serial : "none");
			continue;
		}
		snprintf(path, sizeof(path), "%s/speed", usb);
		read_line(path, speed, sizeof(speed));
		snprintf(path, sizeof(path), "%s/port/over_current_count", usb);
		read_line(path, oc, sizeof(oc));
		say(r, atoi(speed) < 480 ? WARN : PASS, check, "%s serial %s, %s Mbit/s%s, over-current %s",
		    disks[k].devnode, disks[k].id.serial[0] ? disks[k].id.serial : "none", speed[0] ? speed : "?",
		    atoi(speed) < 480 ? " (slower than USB 2 high speed: a bad cable or hub?)" : "", oc[0] ? oc : "?");
	}
	dd_safety_free(disks);
	for (unsigned s = 0; s < c->n_slots; s++) {
		if (seen[s])
			continue;
		snprintf(check, sizeof(check), "slot.%u", s + 1);
		say(r, WARN, check, "empty (%s): put a stick in to see its speed", c->slot[s].path[0]);
	}
}

/* --- store ----------------------------------------------------------------------------------------- */

/* The store takes a durable write: a file created, written, fsynced and removed. */
static int durable_write(const char *dir)
{
	char tmp[PATH_MAX];
	int fd, rc = 0;

	snprintf(tmp, sizeof(tmp), "%s/.selftest.tmp", dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, "dartdup", 7) != 7 || fsync(fd))
		rc = -(errno ? errno : EIO);
	close(fd);
	unlink(tmp);
	return rc;
}

/* The stored image read again completely (signature, every block's hash): a card that lost bits since
 * the load shows here, not in the middle of a job. */
static void check_image(struct report *r, const char *store, const char *const *keys, unsigned n_keys)
{
	char path[PATH_MAX];
	struct dd_err err = { 0 };
	struct dd_source *src;

	snprintf(path, sizeof(path), "%s/image.dfi", store);
	if (dd_store_verify_package(path, keys, n_keys, &src, &err)) {
		say(r, FAIL, "image", "%s", err.msg);
		return;
	}
	say(r, PASS, "image", "\"%s\", %" PRIu64 " bytes, signed by a trusted key, every block verified",
	    src->info.name, src->info.image_size);
	dd_source_close(src);
}

/* The store: a durable write, free space, the image, the log. The daemon's own store when it runs (its
 * image was verified completely at load); otherwise opened here, and the image read again. */
static void check_store(struct report *r, const struct lg_conf *c, const struct dd_store *running)
{
	const char *keys[LG_MAX_KEYS];
	char warning[600] = "";
	struct dd_err err = { 0 };
	const struct dd_store *s = running;
	struct dd_store st;
	struct statvfs vfs;
	uint64_t free_b;
	int rc;

	for (unsigned i = 0; i < c->n_pubkeys; i++)
		keys[i] = c->pubkey[i];
	/* what the daemon does at start: create the folder, open the stored image and the log */
	if (!s) {
		if (dd_store_open(&st, c->store, keys, c->n_pubkeys, "linux-gadget", warning, sizeof(warning), &err)) {
			say(r, FAIL, "store", "%s", err.msg);
			return;
		}
		s = &st;
	}
	if ((rc = durable_write(c->store))) {
		say(r, FAIL, "store", "%s: cannot make a durable write: %s", c->store, strerror(-rc));
	} else if (!statvfs(c->store, &vfs)) {
		free_b = (uint64_t)vfs.f_bavail * vfs.f_frsize;
		say(r, free_b < (1ull << 30) ? WARN : PASS, "store", "%s: writable, %" PRIu64 " MiB free%s", c->store,
		    free_b >> 20, free_b < (1ull << 30) ? " (under 1 GiB: a DaRT image may not fit)" : "");
	}
	if (warning[0])
		say(r, WARN, "image", "%s", warning);
	else if (!s->image)
		say(r, WARN, "image", "no image stored yet (dartdup board load, or a master stick)");
	else if (running)
		say(r, PASS, "image", "\"%s\", %" PRIu64 " bytes, signed by a trusted key, verified when loaded",
		    s->image->info.name, s->image->info.image_size);
	else
		check_image(r, c->store, keys, c->n_pubkeys);
	say(r, PASS, "audit", "%u record(s), next %" PRIu64, s->log_lines, s->log_next);
	if (!running)
		dd_store_close(&st);
}

int lg_selftest(const struct lg_conf *c, const struct dd_store *store, FILE *out, bool json, struct dd_err *err)
{
	struct report r = { .out = out, .json = json };

	say(&r, PASS, "config", "%s: good, %u slot(s), %u key(s)", c->file, c->n_slots, c->n_pubkeys);
	check_gadget(&r, c);
	check_power(&r);
	check_overcurrent(&r);
	check_slots(&r, c);
	check_store(&r, c, store);
	if (!json)
		fprintf(out, "%u passed, %u warnings, %u failed\n", r.n[PASS], r.n[WARN], r.n[FAIL]);
	if (r.n[FAIL])
		return dd_fail(err, DD_ECHECK, "selftest: %u check(s) failed", r.n[FAIL]);
	return DD_OK;
}
