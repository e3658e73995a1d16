/* Binding the linux-gadget board's configfs gadget to a USB device controller (udc.h). */
#include "boards/linux-gadget/udc.h"
#include "boards/linux-gadget/ffs_priv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The controller to bind: the one named, or with "auto" the one controller in /sys/class/udc. */
static int pick_udc(const char *want, char *name, size_t cap, struct dd_err *err)
{
	struct dirent *e;
	unsigned n = 0;
	DIR *d;

	if (strcmp(want, "auto")) {
		snprintf(name, cap, "%s", want);
		return DD_OK;
	}
	d = opendir("/sys/class/udc");
	if (!d)
		return dd_fail(err, DD_EINPUT, "/sys/class/udc: no device controllers; name one with usb.udc");
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && !n++ && snprintf(name, cap, "%s", e->d_name) >= (int)cap)
			n = 0; /* a name no controller has: not one we can bind */
	closedir(d);
	if (n != 1)
		return dd_fail(err, DD_EINPUT, "/sys/class/udc: %u device controllers; name one with usb.udc", n);
	return DD_OK;
}

int lg_udc_bind(const char *gadget_dir, const char *udc, struct dd_err *err)
{
	char path[300], name[128];
	int fd, rc;

	if ((rc = pick_udc(udc, name, sizeof(name), err)))
		return rc;
	snprintf(path, sizeof(path), "%s/UDC", gadget_dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return dd_fail_errno(err, DD_EIO, errno, "%s (run gadget-setup first)", path);
	rc = lg_write_all(fd, (const uint8_t *)name, strlen(name), path, err);
	close(fd);
	if (rc)
		dd_err_prefix(err, "binding UDC %s", name);
	return rc;
}

void lg_udc_unbind(const char *gadget_dir)
{
	char path[300];
	int fd;

	snprintf(path, sizeof(path), "%s/UDC", gadget_dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "\n", 1) < 0) { /* not bound: nothing to undo */ }
	close(fd);
}
