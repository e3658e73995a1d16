/* Whether this user may open a disk for writing, and what it would take (list's ACCESS column, write's
 * and station's one-line refusal). Only the node's permissions are read; nothing is opened. */
#ifndef DARTDUP_HOST_ACCESS_H
#define DARTDUP_HOST_ACCESS_H

#include <stdbool.h>
#include <stddef.h>

/* The udev rule host/70-dartdup.rules gives USB disks to this group. */
#define HOST_ACCESS_GROUP "dartdup"

/* "ok" (this user may read and write it), "group NAME" (members of the node's group may: join it) or
 * "root" (only root may), in buf; returns buf. A node that cannot be looked at is "-". */
const char *host_access_text(const char *devnode, char *buf, size_t size);

/* true when this user may read (and, unless read_only, write) path. */
bool host_access_ok(const char *path, bool read_only);

/* What to do about a device this user may not open, one clause, in buf: "run as root, or join group
 * dartdup (...)" when the rule already gave it to the group, else "run as root, or install the udev
 * rule 70-dartdup.rules and join group dartdup". */
const char *host_access_hint(const char *devnode, char *buf, size_t size);

#endif
