/* Permission to open a disk: see access.h. */
#include "host/access.h"

#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool host_access_ok(const char *path, bool read_only)
{
	/* the effective ids, as open() will judge */
	return !faccessat(AT_FDCWD, path, read_only ? R_OK : R_OK | W_OK, AT_EACCESS);
}

/* The name of the node's group (its number when it has no name). */
static void group_of(const struct stat *st, char *buf, size_t size)
{
	struct group *g = getgrgid(st->st_gid);

	if (g)
		snprintf(buf, size, "%s", g->gr_name);
	else
		snprintf(buf, size, "%u", (unsigned)st->st_gid);
}

const char *host_access_text(const char *devnode, char *buf, size_t size)
{
	char group[64];
	struct stat st;

	if (stat(devnode, &st)) {
		snprintf(buf, size, "-");
		return buf;
	}
	if (host_access_ok(devnode, false)) {
		snprintf(buf, size, "ok");
		return buf;
	}
	/* group members may write it only when the group may read and write (an O_RDWR open) */
	if ((st.st_mode & (S_IRGRP | S_IWGRP)) != (S_IRGRP | S_IWGRP) || !st.st_gid) {
		snprintf(buf, size, "root");
		return buf;
	}
	group_of(&st, group, sizeof(group));
	snprintf(buf, size, "group %s", group);
	return buf;
}

const char *host_access_hint(const char *devnode, char *buf, size_t size)
{
	char group[64] = "";
	struct stat st;

	if (!stat(devnode, &st))
		group_of(&st, group, sizeof(group));
	if (!strcmp(group, HOST_ACCESS_GROUP))
		snprintf(buf, size, "run as root, or join group %s (adduser USER %s, then log in again)",
			 HOST_ACCESS_GROUP, HOST_ACCESS_GROUP);
	else
		snprintf(buf, size, "run as root, or install the udev rule 70-dartdup.rules (it gives USB disks to "
			 "group %s) and join group %s", HOST_ACCESS_GROUP, HOST_ACCESS_GROUP);
	return buf;
}
