/* Port labels on the PC (ports.h): the port map a command reads, and whether a port exists in sysfs. No
 * printing: `dartdup ports` is host/cmd_ports.c. */
#include "host/ports.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int host_portmap_load(const char *file, struct dd_portmap *m, char *used, size_t used_size, struct dd_err *err)
{
	used[0] = '\0';
	dd_portmap_init(m, file);
	if (!file) {
		if (access(HOST_PORTMAP_DEFAULT, F_OK))
			return DD_OK; /* no map: kernel port names */
		file = HOST_PORTMAP_DEFAULT;
	}
	snprintf(used, used_size, "%s", file);
	return dd_portmap_load(m, file, err);
}

static bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

/* The controller's sysfs folder out of the ID_PATH part before "-usb-": its last pci-/platform- element. */
static bool controller_dir(const char *sysroot, const char *path, size_t usb_at, char *out, size_t size)
{
	const char *pci = NULL, *plat = NULL;
	char name[128];
	size_t n;

	for (const char *p = path; p < path + usb_at; p++) {
		if (!strncmp(p, "pci-", 4) && (p == path || p[-1] == '-'))
			pci = p;
		if (!strncmp(p, "platform-", 9) && (p == path || p[-1] == '-'))
			plat = p;
	}
	if (pci && (!plat || pci > plat)) {
		n = (size_t)(path + usb_at - pci - 4);
		snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : sizeof(name) - 1), pci + 4);
		snprintf(out, size, "%s/bus/pci/devices/%s", sysroot, name);
		return true;
	}
	if (plat) {
		n = (size_t)(path + usb_at - plat - 9);
		snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : sizeof(name) - 1), plat + 9);
		snprintf(out, size, "%s/bus/platform/devices/%s", sysroot, name);
		return true;
	}
	return false;
}

/* Every port of chain ("1.4.2") exists below root hub usbN. */
static bool chain_exists(const char *sysroot, unsigned bus, const char *chain)
{
	char dev[96], port[640];
	const char *p = chain;

	snprintf(dev, sizeof(dev), "usb%u", bus);
	while (*p) {
		char num[16];
		size_t n = strspn(p, "0123456789");

		if (!n || n >= sizeof(num))
			return false;
		memcpy(num, p, n);
		num[n] = '\0';
		/* the hub's interface holds its ports: usb1/1-0:1.0/usb1-port4, 1-1/1-1:1.0/1-1-port4 */
		if (!strncmp(dev, "usb", 3))
			snprintf(port, sizeof(port), "%s/bus/usb/devices/%s/%u-0:1.0/%s-port%s", sysroot, dev, bus, dev, num);
		else
			snprintf(port, sizeof(port), "%s/bus/usb/devices/%s/%s:1.0/%s-port%s", sysroot, dev, dev, dev, num);
		if (!is_dir(port))
			return false;
		if (!strncmp(dev, "usb", 3))
			snprintf(dev, sizeof(dev), "%u-%s", bus, num);
		else
			snprintf(dev + strlen(dev), sizeof(dev) - strlen(dev), ".%s", num);
		p += n;
		if (*p == '.')
			p++;
		else if (*p)
			return false;
	}
	return true;
}

bool host_port_exists(const char *sysroot, const char *path)
{
	const char *usb;
	char ctl[512], chain[64];
	struct dirent *de;
	bool found = false;
	size_t n;
	DIR *d;

	if (!strncmp(path, "/dev/disk/by-path/", 18))
		path += 18;
	usb = strstr(path, "usb-0:");
	if (!usb || usb == path || usb[-1] != '-' || !controller_dir(sysroot, path, (size_t)(usb - 1 - path), ctl, sizeof(ctl)))
		return true; /* not a path this code can follow: no alarm */
	n = strspn(usb + 6, "0123456789.");
	snprintf(chain, sizeof(chain), "%.*s", (int)(n < sizeof(chain) ? n : sizeof(chain) - 1), usb + 6);
	while (n && chain[strlen(chain) - 1] == '.')
		chain[strlen(chain) - 1] = '\0';
	if (!(d = opendir(ctl)))
		return false;
	while (!found && (de = readdir(d))) {
		unsigned long bus;
		char *end;

		if (strncmp(de->d_name, "usb", 3) || !isdigit((unsigned char)de->d_name[3]))
			continue;
		bus = strtoul(de->d_name + 3, &end, 10);
		if (*end || bus > 1000)
			continue;
		found = chain_exists(sysroot, (unsigned)bus, chain);
	}
	closedir(d);
	return found;
}
