/* common/safety on this machine: its own disk is refused whatever the options; what is not a block
 * device is bad input; the list names every disk with a reason. (Loop devices, mounts and --unmount:
 * tests/cli/write.sh, as root.) */
#include "check.h"
#include "safety/safety.h"

#include <stdlib.h>
#include <sys/stat.h>

static const char *root_disk(void)
{
	struct stat st;

	return stat("/dev/vda", &st) == 0 && S_ISBLK(st.st_mode) ? "/dev/vda" : NULL;
}

TEST(own_disk_refused_even_with_every_override)
{
	struct dd_safety_opts o = { .allow_non_usb = true, .unmount = true };
	struct dd_disk d;
	struct dd_err err;
	const char *disk = root_disk();

	if (!disk)
		return; /* not this machine */
	CHECK_EQ_INT(dd_safety_check(disk, &o, &d, &err), DD_ESAFETY);
	CHECK(!d.eligible);
	CHECK(!d.needs_unmount);
	CHECK(strstr(d.reason, "holds /"));
	CHECK(strstr(err.msg, disk));
}

TEST(not_a_block_device)
{
	struct dd_disk d;
	struct dd_err err;
	char p[512];

	CHECK_EQ_INT(dd_safety_check("/dev/null", NULL, &d, &err), DD_EINPUT);
	CHECK(strstr(err.msg, "not a block device"));
	snprintf(p, sizeof(p), "%s/missing", check_tmpdir());
	CHECK_EQ_INT(dd_safety_check(p, NULL, &d, &err), DD_EINPUT);
}

TEST(list_gives_reasons)
{
	struct dd_safety_opts o = { 0 };
	struct dd_disk *disks;
	unsigned n;
	struct dd_err err;
	bool seen = false;

	CHECK_EQ_INT(dd_safety_list(&o, &disks, &n, &err), DD_OK);
	for (unsigned i = 0; i < n; i++) {
		CHECK(disks[i].eligible == !disks[i].reason[0]);
		if (root_disk() && !strcmp(disks[i].devnode, root_disk())) {
			seen = true;
			CHECK(!disks[i].eligible);
		}
		/* nothing but a USB disk is ever eligible without --allow-non-usb */
		CHECK(!disks[i].eligible || disks[i].usb);
	}
	CHECK(seen || !root_disk());
	dd_safety_free(disks);
}

int main(void)
{
	RUN(own_disk_refused_even_with_every_override);
	RUN(not_a_block_device);
	RUN(list_gives_reasons);
	return check_done();
}
