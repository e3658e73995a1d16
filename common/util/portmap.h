/* Port maps: a depot's own names for the physical USB sockets (docs/PORTS.md).
 *
 * One "port.NAME = PATH [PATH...]" per line; '#' starts a comment; blank lines are ignored. NAME is what a
 * technician reads on the socket (A1, hub2-7: letters, digits, '-', '_', at most 15 characters); each PATH is
 * udev's ID_PATH of a stick's disk cut after the USB port (pci-0000:00:14.0-usb-0:1.4; a USB 3 socket shows
 * a USB 2 and a USB 3 path: give both, up to 4). A "/dev/disk/by-path/" prefix is dropped. The same lines
 * serve the station (`--port-map FILE`, /etc/dartdup/ports.conf) and a board's board.conf (where each
 * port.NAME line is a slot named NAME): this one parser reads both (dd_portmap_line for a file that holds
 * other keys as well).
 *
 * Strict, never a guess (a wrong map names the wrong socket for a bad stick): a name given twice, a path
 * given twice (in one entry or two), a bad name or path and any other key are errors naming file:line.
 * Pure: no printing, no udev. */
#ifndef DARTDUP_PORTMAP_H
#define DARTDUP_PORTMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define DD_PORTMAP_MAX 64        /* sockets in one map */
#define DD_PORTMAP_PATHS 4       /* paths of one socket (USB 2 and USB 3 twins, a hub's own ports) */
#define DD_PORT_NAME_MAX 16      /* a name's bytes with the NUL */
#define DD_PORT_PATH_MAX 128     /* a path's bytes with the NUL (struct dd_target_identity's port) */
#define DD_PORT_LABEL_MAX 24     /* a label as views show it: a name, "1-1.4.2.3" or a cut ID_PATH */

struct dd_portmap_entry {
	char name[DD_PORT_NAME_MAX];
	char path[DD_PORTMAP_PATHS][DD_PORT_PATH_MAX];
	unsigned n_paths;
	unsigned line;           /* where it was given, for messages */
};

struct dd_portmap {
	char file[256];          /* for messages */
	struct dd_portmap_entry e[DD_PORTMAP_MAX];
	unsigned n;
};

void dd_portmap_init(struct dd_portmap *m, const char *file);

/* Is key a port-map key ("port.NAME")? */
bool dd_portmap_key(const char *key);

/* One "port.NAME = value" line (key and value trimmed, line: its number for messages). DD_EINPUT with
 * "file:line: ..." on a bad one. */
int dd_portmap_line(struct dd_portmap *m, unsigned line, const char *key, const char *value, struct dd_err *err);

/* A whole port-map file in memory: only port.NAME lines, comments and blank lines. */
int dd_portmap_parse(struct dd_portmap *m, const char *name, const char *text, struct dd_err *err);

/* The same from a file (at most 64 KiB, no NUL bytes). */
int dd_portmap_load(struct dd_portmap *m, const char *path, struct dd_err *err);

/* Does a stick with udev ID_PATH id_path sit under pattern? The path itself, or a prefix of it that ends at
 * a separator ('-', ':' or '.': "...usb-0:1" covers a hub on that socket). */
bool dd_port_path_matches(const char *pattern, const char *id_path);

/* The entry (index) whose path covers id_path, the longest path winning (a hub's port named apart from the
 * hub's socket); -1 if none. */
int dd_portmap_find(const struct dd_portmap *m, const char *id_path);

/* The USB port part of an ID_PATH, what a map entry holds: "pci-0000:00:14.0-usb-0:1.4" out of
 * "pci-0000:00:14.0-usb-0:1.4:1.0-scsi-0:0:0:0" (the interface and what follows cut). Copied whole when it
 * names no USB port. */
void dd_port_path_of(const char *id_path, char *out, size_t size);

/* The label a view shows for a socket: its name in the map (m may be NULL); else the kernel's name of the
 * USB device (usb_name, "1-1.4" as /sys/bus/usb/devices names it; may be NULL or ""); else the ID_PATH's
 * USB part ("usb-0:1.4"); else "-". */
void dd_port_label(const struct dd_portmap *m, const char *id_path, const char *usb_name, char *out, size_t size);

/* Orders labels as a technician counts: digit runs by value ("A2" < "A10", "1-1.9" < "1-1.10"). */
int dd_port_label_cmp(const char *a, const char *b);

/* The map as a file (the lines dd_portmap_parse reads, with a header comment) into buf; returns the length
 * it needs (like snprintf). */
size_t dd_portmap_format(const struct dd_portmap *m, char *buf, size_t size);

#endif
