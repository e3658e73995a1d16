/* common/safety on this machine: its own disk is refused whatever the options; what is not a block
 * device is bad input; the list names every disk with a reason. The door's decisions (door.h): paths
 * under /dev, symlinks into /dev, missing devices, same-file detection for targets and outputs.
 * (Loop devices, mounts and --unmount: tests/cli/write.sh and tests/cli/safety_paths.sh, as root.) */
#include "check.h"
#include "safety/door.h"
#include "safety/safety.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* ---- the door -------------------------------------------------------------------------------- */

static const char *tpath(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", check_tmpdir(), name);
	return buf;
}

static void touch(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static const char *missing_dev(void)
{
	return access("/dev/sdz", F_OK) ? "/dev/sdz" : "/dev/dartdup-no-such-disk";
}

TEST(door_resolves_missing_names_through_their_folder)
{
	char p[512], real[PATH_MAX], dir[PATH_MAX];
	struct dd_err err;
	bool exists;

	CHECK(realpath(check_tmpdir(), dir));
	snprintf(p, sizeof(p), "%s/./nothing/../new.img", check_tmpdir());
	CHECK_EQ_INT(dd_door_resolve(p, real, sizeof(real), &exists, &err), DD_EINPUT); /* no folder "nothing" */
	snprintf(p, sizeof(p), "%s/./new.img", check_tmpdir());
	CHECK_EQ_INT(dd_door_resolve(p, real, sizeof(real), &exists, &err), DD_OK);
	CHECK(!exists);
	CHECK(!strncmp(real, dir, strlen(dir)) && !strcmp(real + strlen(dir), "/new.img"));
	CHECK_EQ_INT(dd_door_resolve("/dev/../dev/null", real, sizeof(real), &exists, &err), DD_OK);
	CHECK(exists && !strcmp(real, "/dev/null"));
	CHECK(dd_door_under_dev("/dev") && dd_door_under_dev("/dev/sdb") && !dd_door_under_dev("/devices/x"));
	CHECK(!dd_door_under_dev("/tmp/dev/sdb"));
}

TEST(door_refuses_a_missing_device_and_creates_nothing)
{
	struct dd_door_opts o = { .safety = { .min_size = 4096 } };
	struct dd_door_target v;
	struct dd_target *t;
	struct dd_err err;
	const char *dev = missing_dev();

	CHECK_EQ_INT(dd_door_target(dev, &o, 4096, &v, &t, &err), DD_ESAFETY);
	CHECK(t == NULL);
	CHECK(!strcmp(v.reason, "no such device"));
	CHECK(strstr(err.msg, dev) && strstr(err.msg, "refused: no such device"));
	CHECK(access(dev, F_OK) != 0);
	CHECK(!strcmp(v.id.path, dev));
}

TEST(door_refuses_char_devices_and_links_into_dev)
{
	struct dd_door_opts o = { 0 };
	struct dd_door_target v;
	struct dd_err err;
	char link[512], dangling[512];

	CHECK_EQ_INT(dd_door_judge_target("/dev/null", &o, &v, &err), DD_ESAFETY);
	CHECK(strstr(v.reason, "character device"));
	o.read_only = true; /* reading is no excuse for a non-disk */
	CHECK_EQ_INT(dd_door_judge_target("/dev/zero", &o, &v, &err), DD_ESAFETY);
	o.read_only = false;
	tpath(link, sizeof(link), "to-null");
	unlink(link);
	CHECK(symlink("/dev/null", link) == 0);
	CHECK_EQ_INT(dd_door_judge_target(link, &o, &v, &err), DD_ESAFETY);
	CHECK(!strcmp(v.real, "/dev/null"));
	CHECK(strstr(err.msg, link));
	tpath(dangling, sizeof(dangling), "to-missing");
	unlink(dangling);
	CHECK(symlink(missing_dev(), dangling) == 0);
	CHECK_EQ_INT(dd_door_judge_target(dangling, &o, &v, &err), DD_ESAFETY);
	CHECK(strstr(v.reason, "symbolic link to a missing file"));
	CHECK(access(missing_dev(), F_OK) != 0);
	/* outputs: never under /dev, also through a link */
	CHECK_EQ_INT(dd_door_judge_output(link, NULL, 0, &err), DD_ESAFETY);
	CHECK(strstr(err.msg, "under /dev"));
	CHECK_EQ_INT(dd_door_judge_output(missing_dev(), NULL, 0, &err), DD_ESAFETY);
	CHECK_EQ_INT(dd_door_judge_output(dangling, NULL, 0, &err), DD_ESAFETY);
	unlink(link);
	unlink(dangling);
}

TEST(door_takes_regular_files_and_refuses_other_kinds)
{
	struct dd_door_opts o = { 0 };
	struct dd_door_target v;
	struct dd_target *t;
	struct dd_err err;
	char file[512], fifo[512], fresh[512];

	tpath(file, sizeof(file), "door-file");
	touch(file, "12345");
	CHECK_EQ_INT(dd_door_judge_target(file, &o, &v, &err), DD_OK);
	CHECK(v.exists && !v.is_dev && v.id.capacity == 5); /* a file's capacity is its size */
	CHECK_EQ_INT(dd_door_judge_target(check_tmpdir(), &o, &v, &err), DD_ESAFETY);
	CHECK(strstr(v.reason, "directory"));
	CHECK_EQ_INT(dd_door_judge_output(check_tmpdir(), NULL, 0, &err), DD_ESAFETY);
	tpath(fifo, sizeof(fifo), "door-fifo");
	unlink(fifo);
	CHECK(mkfifo(fifo, 0600) == 0);
	CHECK_EQ_INT(dd_door_judge_target(fifo, &o, &v, &err), DD_ESAFETY);
	CHECK(strstr(v.reason, "fifo"));
	CHECK_EQ_INT(dd_door_judge_output(fifo, NULL, 0, &err), DD_ESAFETY);
	/* a new file: created O_EXCL by the open, its room the file system's free space */
	tpath(fresh, sizeof(fresh), "door-fresh");
	unlink(fresh);
	CHECK_EQ_INT(dd_door_target(fresh, &o, 4096, &v, &t, &err), DD_OK);
	CHECK(!v.exists && t->id.capacity == 0 && dd_target_room(t) >= 4096);
	dd_target_close(t);
	/* reading needs an existing file */
	unlink(fresh);
	o.read_only = true;
	CHECK_EQ_INT(dd_door_judge_target(fresh, &o, &v, &err), DD_ESAFETY);
	CHECK(access(fresh, F_OK) != 0);
	unlink(fifo);
	unlink(file);
}

TEST(door_same_file_through_links)
{
	char in[512], sym[512], hard[512], dotted[512], other[512];
	const char *inputs[] = { NULL, in };
	struct dd_door_opts o = { .inputs = inputs, .n_inputs = 2 };
	struct dd_door_target v;
	struct dd_err err;
	int fd;

	tpath(in, sizeof(in), "door-in.img");
	tpath(sym, sizeof(sym), "door-sym.img");
	tpath(hard, sizeof(hard), "door-hard.img");
	tpath(other, sizeof(other), "door-other.img");
	snprintf(dotted, sizeof(dotted), "%s/./../%s/door-in.img", check_tmpdir(), strrchr(check_tmpdir(), '/') + 1);
	unlink(sym);
	unlink(hard);
	touch(in, "image");
	touch(other, "other");
	CHECK(symlink(in, sym) == 0 && link(in, hard) == 0);
	for (const char *p = in, *const *next = (const char *const[]){ sym, hard, dotted, NULL }; p; p = *next++) {
		CHECK_EQ_INT(dd_door_judge_target(p, &o, &v, &err), DD_ESAFETY);
		CHECK(strstr(v.reason, "the image itself"));
		CHECK_EQ_INT(dd_door_judge_output(p, inputs, 2, &err), DD_ESAFETY);
		CHECK(strstr(err.msg, "the same file as the input"));
		CHECK_EQ_INT(dd_door_open_output(p, inputs, 2, O_WRONLY, DD_DOOR_TRUNC, 0644, &fd, &err), DD_ESAFETY);
		CHECK(fd < 0);
	}
	CHECK_EQ_INT(dd_door_judge_output(other, inputs, 2, &err), DD_OK);
	CHECK_EQ_INT(dd_door_open_output(other, inputs, 2, O_WRONLY, DD_DOOR_TRUNC, 0644, &fd, &err), DD_OK);
	close(fd);
	CHECK_EQ_INT(dd_door_open_output(other, NULL, 0, O_WRONLY, DD_DOOR_EXCL, 0644, &fd, &err), DD_EUSAGE);
	{
		struct stat st;

		CHECK(stat(in, &st) == 0 && st.st_size == 5); /* the input untouched by every refusal */
		CHECK(stat(other, &st) == 0 && st.st_size == 0); /* emptied: it was judged a plain output */
	}
	unlink(sym);
	unlink(hard);
	unlink(in);
	unlink(other);
}

int main(void)
{
	RUN(own_disk_refused_even_with_every_override);
	RUN(not_a_block_device);
	RUN(list_gives_reasons);
	RUN(door_resolves_missing_names_through_their_folder);
	RUN(door_refuses_a_missing_device_and_creates_nothing);
	RUN(door_refuses_char_devices_and_links_into_dev);
	RUN(door_takes_regular_files_and_refuses_other_kinds);
	RUN(door_same_file_through_links);
	return check_done();
}
