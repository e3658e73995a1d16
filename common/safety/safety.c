/* safety: may this block device be written? (see safety.h)
 *
 * Facts come from sysfs through libudev (device tree, drivers, attributes) plus /proc/self/mountinfo
 * and /proc/swaps. The udev database (ID_* properties) is used only for names when present: it is
 * empty where udevd does not run, and ID_BUS is wrong on USB-SATA bridges, so no decision rests on
 * it. What a mount or swap sits on is traced down through dm/md slaves to the base disks. */
#include "safety/safety.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <libudev.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Something on a disk: a mount, swap, the image file. */
struct use {
	char disk[32];          /* base disk, e.g. sda */
	char dev[32];           /* the device used, e.g. sda1 or dm-0 */
	char mountpoint[256];   /* "" for swap and the image */
	bool system;            /* /, /boot, swap, the image: never overridable */
	char what[64];          /* "/", "swap", "the image file" */
};

struct uses {
	struct use *v;
	unsigned n, cap;
};

/* Copies what fits (names from sysfs are short; a cut one only shows cut in a message). */
static void copy(char *dst, size_t cap, const char *src)
{
	size_t n = 0;

	while (src && src[n] && n + 1 < cap) {
		dst[n] = src[n];
		n++;
	}
	dst[n] = '\0';
}

/* Is block device `name` (a disk's child `part` when given) a partition? */
static bool is_partition(const char *name, const char *part)
{
	char p[PATH_MAX];

	if (part)
		snprintf(p, sizeof(p), "/sys/class/block/%s/%s/partition", name, part);
	else
		snprintf(p, sizeof(p), "/sys/class/block/%s/partition", name);
	return access(p, F_OK) == 0;
}

static void push_use(struct uses *u, const char *disk, const char *dev, const char *mp, bool sys,
		     const char *what)
{
	struct use *x;

	if (u->n == u->cap) {
		unsigned cap = u->cap ? u->cap * 2 : 16;
		struct use *v = realloc(u->v, cap * sizeof(*v));

		if (!v)
			return; /* checked by the caller through u->v == NULL */
		u->v = v;
		u->cap = cap;
	}
	x = &u->v[u->n++];
	copy(x->disk, sizeof(x->disk), disk);
	copy(x->dev, sizeof(x->dev), dev);
	copy(x->mountpoint, sizeof(x->mountpoint), mp);
	x->system = sys;
	copy(x->what, sizeof(x->what), what);
}

/* Records a use of block device `name` against every base disk below it (through dm/md slaves). */
static void add_base_disks(struct uses *u, const char *name, const char *dev, const char *mp, bool sys,
			   const char *what, int depth)
{
	char p[PATH_MAX], real[PATH_MAX];
	struct dirent *de;
	bool any = false;
	DIR *d;

	if (depth > 8)
		return;
	snprintf(p, sizeof(p), "/sys/class/block/%s/slaves", name);
	if ((d = opendir(p))) {
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			any = true;
			add_base_disks(u, de->d_name, dev, mp, sys, what, depth + 1);
		}
		closedir(d);
	}
	if (any)
		return;
	snprintf(p, sizeof(p), "/sys/class/block/%s", name);
	if (is_partition(name, NULL) && realpath(p, real)) {
		char *slash = strrchr(real, '/');

		if (slash) {
			*slash = '\0';
			slash = strrchr(real, '/');
			push_use(u, slash ? slash + 1 : real, dev, mp, sys, what);
			return;
		}
	}
	push_use(u, name, dev, mp, sys, what);
}

static bool devnum_name(dev_t dn, char *name, size_t cap)
{
	char p[64], real[PATH_MAX];
	const char *base;

	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u", major(dn), minor(dn));
	if (!realpath(p, real))
		return false;
	base = strrchr(real, '/');
	copy(name, cap, base ? base + 1 : real);
	return true;
}

static void add_devnum(struct uses *u, dev_t dn, const char *mp, bool sys, const char *what)
{
	char name[64];

	if (major(dn) && devnum_name(dn, name, sizeof(name)))
		add_base_disks(u, name, name, mp, sys, what, 0);
}

/* mountinfo escapes blanks as \040 etc. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && isdigit((unsigned char)s[1]) && isdigit((unsigned char)s[2]) &&
		    isdigit((unsigned char)s[3])) {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

static bool system_mount(const char *mp)
{
	return !strcmp(mp, "/") || !strcmp(mp, "/boot") || !strncmp(mp, "/boot/", 6) ||
	       !strcmp(mp, "/usr") || !strcmp(mp, "/var");
}

static void collect_mounts(struct uses *u)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned maj, mnr;
		char mp[1024];

		if (sscanf(line, "%*u %*u %u:%u %*s %1023s", &maj, &mnr, mp) != 3 || !maj)
			continue;
		unescape(mp);
		add_devnum(u, makedev(maj, mnr), mp, system_mount(mp), system_mount(mp) ? mp : "mounted");
	}
	fclose(f);
}

static void collect_swaps(struct uses *u)
{
	FILE *f = fopen("/proc/swaps", "re");
	char line[1024], path[1024];
	struct stat st;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%1023s", path) != 1 || path[0] != '/')
			continue;
		unescape(path);
		if (stat(path, &st))
			continue;
		add_devnum(u, S_ISBLK(st.st_mode) ? st.st_rdev : st.st_dev, "", true, "swap");
	}
	fclose(f);
}

static void collect_uses(const struct dd_safety_opts *o, struct uses *u)
{
	struct stat st;

	collect_mounts(u);
	collect_swaps(u);
	if (o && o->image_path && !stat(o->image_path, &st)) {
		add_devnum(u, st.st_dev, "", true, "the image file");
		if (S_ISBLK(st.st_mode))
			add_devnum(u, st.st_rdev, "", true, "the image");
	}
}

/* ---- identity ------------------------------------------------------------------------------ */

static void trimmed(char *dst, size_t cap, const char *src)
{
	size_t n;

	while (src && isspace((unsigned char)*src))
		src++;
	copy(dst, cap, src);
	n = strlen(dst);
	while (n && isspace((unsigned char)dst[n - 1]))
		dst[--n] = '\0';
}

static const char *first_of(struct udev_device *dev, const char *a, const char *b)
{
	const char *v = udev_device_get_property_value(dev, a);

	return v && *v ? v : (b ? udev_device_get_property_value(dev, b) : NULL);
}

static uint64_t attr_u64(struct udev_device *dev, const char *name)
{
	const char *v = udev_device_get_sysattr_value(dev, name);

	return v ? strtoull(v, NULL, 10) : 0;
}

static const char *kind_by_name(const char *s)
{
	static const struct { const char *prefix, *kind; } k[] = {
		{ "loop", "loop" }, { "dm-", "dm" }, { "md", "md" }, { "nvme", "nvme" },
		{ "vd", "virtio" }, { "xvd", "xen" }, { "mmcblk", "mmc" }, { "sr", "optical" },
		{ "zram", "ram" }, { "ram", "ram" }, { "nbd", "nbd" }, { "ubi", "flash" },
		{ "mtdblock", "flash" },
	};

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		if (!strncmp(s, k[i].prefix, strlen(k[i].prefix)))
			return k[i].kind;
	return "disk";
}

/* Walks the ancestors: a usb-storage/uas interface makes it a USB disk; the USB device above it
 * gives names when the udev database has none. */
static void identify(struct udev_device *dev, struct dd_disk *d)
{
	struct udev_device *usbdev = NULL;
	const char *v;

	copy(d->sysname, sizeof(d->sysname), udev_device_get_sysname(dev));
	v = udev_device_get_devnode(dev);
	if (v)
		copy(d->devnode, sizeof(d->devnode), v);
	else
		snprintf(d->devnode, sizeof(d->devnode), "/dev/%s", d->sysname);
	copy(d->id.path, sizeof(d->id.path), d->devnode);
	d->id.capacity = attr_u64(dev, "size") * 512;
	d->removable = attr_u64(dev, "removable") != 0;
	copy(d->kind, sizeof(d->kind), kind_by_name(d->sysname));

	for (struct udev_device *p = udev_device_get_parent(dev); p; p = udev_device_get_parent(p)) {
		const char *drv = udev_device_get_driver(p);
		const char *type = udev_device_get_devtype(p);

		if (drv && (!strcmp(drv, "usb-storage") || !strcmp(drv, "uas")))
			d->usb = true;
		if (d->usb && !usbdev && type && !strcmp(type, "usb_device"))
			usbdev = p;
	}
	if (d->usb)
		copy(d->kind, sizeof(d->kind), "usb");

	trimmed(d->id.vendor, sizeof(d->id.vendor), first_of(dev, "ID_USB_VENDOR", "ID_VENDOR"));
	trimmed(d->id.model, sizeof(d->id.model), first_of(dev, "ID_USB_MODEL", "ID_MODEL"));
	trimmed(d->id.serial, sizeof(d->id.serial), first_of(dev, "ID_USB_SERIAL_SHORT", "ID_SERIAL_SHORT"));
	copy(d->id.port, sizeof(d->id.port), udev_device_get_property_value(dev, "ID_PATH"));
	if (usbdev) {
		if (!d->id.vendor[0])
			trimmed(d->id.vendor, sizeof(d->id.vendor), udev_device_get_sysattr_value(usbdev, "manufacturer"));
		if (!d->id.model[0])
			trimmed(d->id.model, sizeof(d->id.model), udev_device_get_sysattr_value(usbdev, "product"));
		if (!d->id.serial[0])
			trimmed(d->id.serial, sizeof(d->id.serial), udev_device_get_sysattr_value(usbdev, "serial"));
		if (!d->id.port[0])
			snprintf(d->id.port, sizeof(d->id.port), "usb-%s", udev_device_get_sysname(usbdev));
		copy(d->id.usb, sizeof(d->id.usb), udev_device_get_sysname(usbdev));
	}
	if (!d->id.vendor[0])
		trimmed(d->id.vendor, sizeof(d->id.vendor), udev_device_get_sysattr_value(dev, "device/vendor"));
	if (!d->id.model[0])
		trimmed(d->id.model, sizeof(d->id.model), udev_device_get_sysattr_value(dev, "device/model"));
	if (!d->id.serial[0])
		trimmed(d->id.serial, sizeof(d->id.serial), udev_device_get_sysattr_value(dev, "device/serial"));
}

/* ---- the judgement ------------------------------------------------------------------------- */

/* First holder (dm, md...) of the disk or of one of its partitions. */
static bool held(const char *disk, char *by, size_t cap)
{
	char p[PATH_MAX];
	struct dirent *de, *he;
	DIR *d, *h;
	bool found = false;

	snprintf(p, sizeof(p), "/sys/class/block/%s", disk);
	if (!(d = opendir(p)))
		return false;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.' || (strcmp(de->d_name, "holders") &&
		    (strncmp(de->d_name, disk, strlen(disk)) || !is_partition(disk, de->d_name))))
			continue;
		if (!strcmp(de->d_name, "holders"))
			snprintf(p, sizeof(p), "/sys/class/block/%s/holders", disk);
		else
			snprintf(p, sizeof(p), "/sys/class/block/%s/%s/holders", disk, de->d_name);
		if (!(h = opendir(p)))
			continue;
		while ((he = readdir(h)))
			if (he->d_name[0] != '.') {
				copy(by, cap, he->d_name);
				found = true;
				break;
			}
		closedir(h);
	}
	closedir(d);
	return found;
}

static void refuse(struct dd_disk *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void refuse(struct dd_disk *d, const char *fmt, ...)
{
	va_list ap;

	if (d->reason[0])
		return; /* the first reason is the one that counts */
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
}

static void note_mounts(struct dd_disk *d, const struct uses *u, const char **system_what)
{
	size_t len = 0;

	*system_what = NULL;
	for (unsigned i = 0; i < u->n; i++) {
		const struct use *x = &u->v[i];

		if (strcmp(x->disk, d->sysname))
			continue;
		if (x->system && !*system_what)
			*system_what = x->what;
		if (x->mountpoint[0] && len < sizeof(d->mounts)) {
			int n = snprintf(d->mounts + len, sizeof(d->mounts) - len, "%s%s on %s",
					 len ? ", " : "", x->dev, x->mountpoint);
			len += n > 0 ? (size_t)n : 0;
		}
	}
}

/* A loop device whose backing file is the image file itself: writing it would overwrite the package
 * while reading it (the image file's own disk is refused through collect_uses(); this is the other way
 * round). Compared by device and inode, as the kernel holds them, so a renamed file is still found. */
static bool backed_by_image(const struct dd_disk *d, const struct dd_safety_opts *o)
{
	struct loop_info64 li;
	struct stat st;
	bool same;
	int fd;

	if (!o || !o->image_path || strcmp(d->kind, "loop") || stat(o->image_path, &st))
		return false;
	fd = open(d->devnode, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return false;
	same = !ioctl(fd, LOOP_GET_STATUS64, &li) && li.lo_device == (uint64_t)st.st_dev &&
	       li.lo_inode == (uint64_t)st.st_ino;
	close(fd);
	return same;
}

static void judge(struct udev_device *dev, const struct dd_safety_opts *o, const struct uses *u,
		  struct dd_disk *d)
{
	const char *type = udev_device_get_devtype(dev);
	const char *system_what;
	char by[64];

	memset(d, 0, sizeof(*d));
	identify(dev, d);
	note_mounts(d, u, &system_what);
	if (!type || strcmp(type, "disk"))
		refuse(d, "%s is a partition, not a whole disk", d->devnode);
	if (system_what)
		refuse(d, "holds %s: this machine's own disk", system_what);
	if (backed_by_image(d, o))
		refuse(d, "a loop device over the image file itself");
	if (!strcmp(d->kind, "ram") || !strcmp(d->kind, "optical"))
		refuse(d, "a %s device", d->kind);
	if (!d->usb && !(o && o->allow_non_usb))
		refuse(d, "not a USB stick (%s device): --allow-non-usb writes it anyway", d->kind);
	if (attr_u64(dev, "ro"))
		refuse(d, "read-only");
	if (!d->id.capacity)
		refuse(d, "no medium");
	if (held(d->sysname, by, sizeof(by)))
		refuse(d, "in use by %s", by);
	if (d->mounts[0] && !(o && o->unmount))
		refuse(d, "mounted (%s): --unmount unmounts it", d->mounts);
	if (o && o->min_size && d->id.capacity < o->min_size) {
		d->too_small = !d->reason[0];
		refuse(d, "too small: %" PRIu64 " bytes, the image needs %" PRIu64, d->id.capacity, o->min_size);
	}
	d->eligible = !d->reason[0];
	d->needs_unmount = d->eligible && d->mounts[0];
}

int dd_safety_check(const char *path, const struct dd_safety_opts *o, struct dd_disk *d, struct dd_err *err)
{
	struct udev *udev = NULL;
	struct udev_device *dev = NULL;
	struct uses u = { 0 };
	char real[PATH_MAX];
	struct stat st;
	int rc;

	memset(d, 0, sizeof(*d));
	if (!realpath(path, real) || stat(real, &st))
		return dd_fail_errno(err, DD_EINPUT, errno, "%s", path);
	if (!S_ISBLK(st.st_mode))
		return dd_fail(err, DD_EINPUT, "%s: not a block device", path);
	udev = udev_new();
	if (udev)
		dev = udev_device_new_from_devnum(udev, 'b', st.st_rdev);
	if (!dev) {
		rc = dd_fail(err, DD_EINPUT, "%s: unknown to udev/sysfs", path);
		goto out;
	}
	collect_uses(o, &u);
	if (u.n && !u.v) {
		rc = dd_fail(err, DD_ENOMEM, "out of memory");
		goto out;
	}
	judge(dev, o, &u, d);
	rc = d->eligible ? DD_OK : dd_fail(err, DD_ESAFETY, "%s: refused: %s", path, d->reason);
out:
	free(u.v);
	udev_device_unref(dev);
	udev_unref(udev);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct dd_disk *)a)->sysname, ((const struct dd_disk *)b)->sysname);
}

int dd_safety_list(const struct dd_safety_opts *o, struct dd_disk **disks, unsigned *n, struct dd_err *err)
{
	struct udev *udev = udev_new();
	struct udev_enumerate *en = udev ? udev_enumerate_new(udev) : NULL;
	struct udev_list_entry *e;
	struct uses u = { 0 };
	struct dd_disk *v = NULL;
	unsigned cnt = 0, cap = 0;
	int rc = DD_OK;

	*disks = NULL;
	*n = 0;
	if (!en) {
		rc = dd_fail(err, DD_EINTERNAL, "libudev: cannot enumerate block devices");
		goto out;
	}
	udev_enumerate_add_match_subsystem(en, "block");
	udev_enumerate_add_match_property(en, "DEVTYPE", "disk");
	udev_enumerate_scan_devices(en);
	collect_uses(o, &u);
	udev_list_entry_foreach(e, udev_enumerate_get_list_entry(en)) {
		struct udev_device *dev = udev_device_new_from_syspath(udev, udev_list_entry_get_name(e));
		const char *type = dev ? udev_device_get_devtype(dev) : NULL;

		if (!type || strcmp(type, "disk") ||
		    (!strncmp(udev_device_get_sysname(dev), "loop", 4) && !attr_u64(dev, "size"))) {
			udev_device_unref(dev);
			continue;
		}
		if (cnt == cap) {
			struct dd_disk *nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));

			if (!nv) {
				udev_device_unref(dev);
				rc = dd_fail(err, DD_ENOMEM, "out of memory");
				goto out;
			}
			v = nv;
		}
		judge(dev, o, &u, &v[cnt++]);
		udev_device_unref(dev);
	}
	qsort(v, cnt, sizeof(*v), by_name);
	*disks = v;
	*n = cnt;
	v = NULL;
out:
	free(v);
	free(u.v);
	udev_enumerate_unref(en);
	udev_unref(udev);
	return rc;
}

void dd_safety_free(struct dd_disk *disks)
{
	free(disks);
}

static int longer_first(const void *a, const void *b)
{
	return (int)strlen(((const struct use *)b)->mountpoint) - (int)strlen(((const struct use *)a)->mountpoint);
}

int dd_safety_unmount(struct dd_disk *d, const struct dd_safety_opts *o, struct dd_err *err)
{
	struct dd_safety_opts again = o ? *o : (struct dd_safety_opts){ 0 };
	struct uses u = { 0 };
	char devnode[sizeof(d->devnode)];
	int rc = DD_OK;

	if (!d->eligible)
		return dd_fail(err, DD_ESAFETY, "%s: refused: %s", d->devnode, d->reason);
	if (!d->needs_unmount)
		return DD_OK;
	collect_uses(o, &u);
	if (u.n)
		qsort(u.v, u.n, sizeof(*u.v), longer_first); /* nested mounts first */
	for (unsigned i = 0; i < u.n && !rc; i++) {
		const struct use *x = &u.v[i];

		if (strcmp(x->disk, d->sysname) || !x->mountpoint[0])
			continue;
		if (x->system)
			rc = dd_fail(err, DD_ESAFETY, "%s: holds %s", d->devnode, x->what);
		else if (umount2(x->mountpoint, 0))
			rc = dd_fail_errno(err, DD_ESAFETY, errno, "%s: cannot unmount %s", d->devnode, x->mountpoint);
	}
	free(u.v);
	if (rc)
		return rc;
	again.unmount = false;
	memcpy(devnode, d->devnode, sizeof(devnode)); /* d is rewritten by the check */
	return dd_safety_check(devnode, &again, d, err);
}
