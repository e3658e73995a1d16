/* dartdup list: every disk, eligible or not, with its names, size, USB port and, when excluded,
 * the reason (the same judgement `write` applies: common/safety). */
#include "host/access.h"
#include "host/cli.h"
#include "safety/safety.h"
#include "util/escape.h"
#include "util/json.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "util/schema.h"

static void list_usage(FILE *out)
{
	fprintf(out,
		"usage: dartdup list [--json] [--allow-non-usb]\n"
		"\n"
		"Lists every disk with vendor, model, serial, size and USB port path, whether this user may\n"
		"open it (ACCESS: ok, root, or group NAME: join that group), and whether `dartdup write`\n"
		"may write it (and why not).\n"
		"\n"
		"  --json           one JSON object: {\"disks\": [...]}\n"
		"  --allow-non-usb  judge as `write --allow-non-usb` would\n"
		"\n"
		"exit status: 0 ok, 2 bad usage or the disks cannot be listed\n");
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static void print_json(const struct dd_disk *d, unsigned n)
{
	char access[80];
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

static void print_text(const struct dd_disk *d, unsigned n)
{
	char access[80];

	printf("%-14s %-7s %9s  %-12s %-18s %-16s %-28s %-13s %s\n", "DEVICE", "KIND", "SIZE", "VENDOR", "MODEL",
	       "SERIAL", "PORT", "ACCESS", "WRITABLE");
	for (unsigned i = 0; i < n; i++)
		/* vendor, model and serial are the stick's own strings (sysfs, udev): escaped; ACCESS: may this
		 * user open it (host/access.h), a question apart from whether dartdup may write it */
		printf("%-14s %-7s %7.1fGB  %-12.12s %-18.18s %-16.16s %-28.28s %-13s %s%s\n", DD_ESC(d[i].devnode),
		       d[i].kind, (double)d[i].id.capacity / 1e9, DD_ESC(or_dash(d[i].id.vendor)),
		       DD_ESC(or_dash(d[i].id.model)), DD_ESC(or_dash(d[i].id.serial)), DD_ESC(or_dash(d[i].id.port)),
		       DD_ESC(host_access_text(d[i].devnode, access, sizeof(access))),
		       d[i].eligible ? "yes" : "no: ", d[i].eligible ? "" : DD_ESC(d[i].reason));
	if (!n)
		printf("(no disks)\n");
}

int cmd_list(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "allow-non-usb", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct dd_safety_opts so = { 0 };
	struct dd_disk *disks;
	struct dd_err err;
	bool json = false;
	unsigned n;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'a': so.allow_non_usb = true; break;
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
	if (dd_safety_list(&so, &disks, &n, &err)) {
		cli_error("%s", err.msg);
		return 2;
	}
	if (json)
		print_json(disks, n);
	else
		print_text(disks, n);
	dd_safety_free(disks);
	return 0;
}
