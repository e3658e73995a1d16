/* dartdup list: every disk, eligible or not, with its names, size, USB port and, when excluded,
 * the reason (the same judgement `write` applies: common/safety). */
#include "host/access.h"
#include "host/cli.h"
#include "host/ports.h"
#include "util/units.h"
#include "safety/safety.h"
#include "util/escape.h"
#include "util/json.h"

#include <getopt.h>
#include <stdlib.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "util/schema.h"

static void list_usage(FILE *out)
{
	fprintf(out,
		"usage: dartdup list [--json] [--allow-non-usb] [--port-map FILE]\n"
		"\n"
		"Lists every disk with vendor, model, serial, size and USB port path, whether this user may\n"
		"open it (ACCESS: ok, root, or group NAME: join that group), and whether `dartdup write`\n"
		"may write it (and why not).\n"
		"\n"
		"  --json           one JSON object: {\"disks\": [...]}\n"
		"  --allow-non-usb  judge as `write --allow-non-usb` would\n"
		"  --port-map FILE  name the sockets (docs/PORTS.md; default " HOST_PORTMAP_DEFAULT " if present)\n"
		"\n"
		"exit status: 0 ok, 2 bad usage or the disks cannot be listed\n");
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

/* The socket's label (util/portmap.h): the map's name, else the kernel's port name; "" for no USB port. */
static void label_of(const struct dd_portmap *m, const struct dd_disk *d, char *out, size_t size)
{
	out[0] = '\0';
	if (d->id.port[0] && d->usb)
		dd_port_label(m, d->id.port, d->id.usb, out, size);
}

static void print_json(const struct dd_disk *d, unsigned n, const struct dd_portmap *m)
{
	char label[DD_PORT_LABEL_MAX], access[80];
	struct dd_json j;

	dd_json_init(&j);
	dd_json_begin_obj(&j, NULL);
	dd_json_schema(&j);
	dd_json_begin_arr(&j, "disks");
	for (unsigned i = 0; i < n; i++) {
		dd_json_begin_obj(&j, NULL);
		dd_json_str(&j, "device", d[i].devnode);
		dd_json_str(&j, "kind", d[i].kind);
		dd_json_bool(&j, "usb", d[i].usb);
		dd_json_bool(&j, "removable", d[i].removable);
		dd_json_str(&j, "vendor", d[i].id.vendor[0] ? d[i].id.vendor : NULL);
		dd_json_str(&j, "model", d[i].id.model[0] ? d[i].id.model : NULL);
		dd_json_str(&j, "serial", d[i].id.serial[0] ? d[i].id.serial : NULL);
		dd_json_u64(&j, "size", d[i].id.capacity);
		dd_json_str(&j, "port", d[i].id.port[0] ? d[i].id.port : NULL);
		label_of(m, &d[i], label, sizeof(label));
		dd_json_str(&j, "label", label[0] ? label : NULL);
		dd_json_bool(&j, "eligible", d[i].eligible);
		dd_json_str(&j, "reason", d[i].reason[0] ? d[i].reason : NULL);
		dd_json_str(&j, "mounts", d[i].mounts[0] ? d[i].mounts : NULL);
		dd_json_str(&j, "access", host_access_text(d[i].devnode, access, sizeof(access)));
		dd_json_end_obj(&j);
	}
	dd_json_end_arr(&j);
	dd_json_end_obj(&j);
	puts(dd_json_text(&j));
	dd_json_free(&j);
}

static void print_text(const struct dd_disk *d, unsigned n, const struct dd_portmap *m)
{
	char label[DD_PORT_LABEL_MAX], size[24], access[80];

	printf("%-14s %-7s %10s  %-12s %-18s %-16s %-10s %-13s %s\n", "DEVICE", "KIND", "SIZE", "VENDOR", "MODEL",
	       "SERIAL", "PORT", "ACCESS", "WRITABLE");
	for (unsigned i = 0; i < n; i++) {
		label_of(m, &d[i], label, sizeof(label));
		/* vendor, model and serial are the stick's own strings (sysfs, udev): escaped; the full port
		 * path is in --json ("port"), the label names the socket; ACCESS: may this user open it
		 * (host/access.h), a question apart from whether dartdup may write it */
		printf("%-14s %-7s %10s  %-12.12s %-18.18s %-16.16s %-10.10s %-13s %s%s\n", DD_ESC(d[i].devnode),
		       d[i].kind, dd_fmt_size(size, sizeof(size), d[i].id.capacity), DD_ESC(or_dash(d[i].id.vendor)),
		       DD_ESC(or_dash(d[i].id.model)), DD_ESC(or_dash(d[i].id.serial)), DD_ESC(or_dash(label)),
		       DD_ESC(host_access_text(d[i].devnode, access, sizeof(access))),
		       d[i].eligible ? "yes" : "no: ", d[i].eligible ? "" : DD_ESC(d[i].reason));
	}
	if (!n)
		printf("(no disks)\n");
}

int cmd_list(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "allow-non-usb", no_argument, NULL, 'a' },
		{ "port-map", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct dd_safety_opts so = { 0 };
	struct dd_disk *disks;
	struct dd_err err;
	const char *map_file = NULL;
	struct dd_portmap *map;
	char used[256];
	bool json = false;
	unsigned n;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'a': so.allow_non_usb = true; break;
		case 'm': map_file = optarg; break;
		case 'h': list_usage(stdout); return 0;
		default:
			cli_error("list: unknown option %s (see --help)", argv[optind - 1]);
			return 2;
		}
	}
	if (optind != argc) {
		list_usage(stderr);
		return 2;
	}
	map = malloc(sizeof(*map));
	if (!map || host_portmap_load(map_file, map, used, sizeof(used), &err)) {
		if (map)
			cli_error("%s", err.msg);
		free(map);
		return 2;
	}
	if (dd_safety_list(&so, &disks, &n, &err)) {
		cli_error("%s", err.msg);
		free(map);
		return 2;
	}
	if (json)
		print_json(disks, n, map);
	else
		print_text(disks, n, map);
	dd_safety_free(disks);
	free(map);
	return 0;
}
