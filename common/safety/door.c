/* door: judge, then open, every path dartdup writes (see door.h). */
#include "safety/door.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static void copy(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%.*s", (int)(cap - 1), src ? src : "");
}

int dd_door_resolve(const char *path, char *real, size_t cap, bool *exists, struct dd_err *err)
{
	char dir[PATH_MAX], base[PATH_MAX], rdir[PATH_MAX];
	struct stat lst;

	*exists = false;
	if (!path || !*path)
		return dd_fail(err, DD_EINPUT, "empty path");
	if (strlen(path) >= sizeof(dir))
		return dd_fail(err, DD_EINPUT, "%.64s...: path too long", path);
	if (realpath(path, rdir)) {
		if (strlen(rdir) >= cap)
			return dd_fail(err, DD_EINPUT, "%s: path too long", path);
		copy(real, cap, rdir);
		*exists = true;
		return DD_OK;
	}
	if (errno != ENOENT)
		return dd_fail_errno(err, DD_EINPUT, errno, "%s", path);
	/* the name is missing; a symbolic link that points nowhere would be followed by O_CREAT */
	if (!lstat(path, &lst))
		return dd_fail(err, DD_EINPUT, "%s: a symbolic link to a missing file", path);
	copy(dir, sizeof(dir), path);
	copy(base, sizeof(base), path);
	if (!realpath(dirname(dir), rdir))
		return dd_fail_errno(err, DD_EINPUT, errno, "%s: its directory", path);
	copy(dir, sizeof(dir), basename(base));
	if (!strcmp(dir, ".") || !strcmp(dir, "..") || !strcmp(dir, "/"))
		return dd_fail(err, DD_EINPUT, "%s: not a file name", path);
	if ((size_t)snprintf(real, cap, "%s/%s", strcmp(rdir, "/") ? rdir : "", dir) >= cap)
		return dd_fail(err, DD_EINPUT, "%s: path too long", path);
	return DD_OK;
}

bool dd_door_under_dev(const char *real)
{
	return !strcmp(real, "/dev") || !strncmp(real, "/dev/", 5);
}

/* A message "PATH: why" without its "PATH: " (the reason alone, for the verdict). */
static const char *without_path(const char *msg, const char *path)
{
	size_t n = strlen(path);

	if (strncmp(msg, path, n) || msg[n] != ':')
		return msg;
	return msg + n + (msg[n + 1] == ' ' ? 2 : 1);
}

static const char *kind_of(mode_t m)
{
	return S_ISREG(m) ? "a regular file" : S_ISDIR(m) ? "a directory" : S_ISBLK(m) ? "a block device" :
	       S_ISCHR(m) ? "a character device" : S_ISFIFO(m) ? "a fifo" : S_ISSOCK(m) ? "a socket" :
	       "not a regular file";
}

/* Which input, if any, is the same file as st. */
static const char *same_as_input(const struct stat *st, const char *const *inputs, unsigned n)
{
	struct stat in;

	for (unsigned i = 0; i < n; i++)
		if (inputs[i] && !stat(inputs[i], &in) && in.st_dev == st->st_dev && in.st_ino == st->st_ino)
			return inputs[i];
	return NULL;
}

static uint64_t free_bytes(const char *real)
{
	char dir[PATH_MAX];
	struct statvfs v;

	copy(dir, sizeof(dir), real);
	if (statvfs(dirname(dir), &v))
		return 0;
	return (uint64_t)v.f_bavail * v.f_frsize;
}

static int refuse(struct dd_door_target *v, struct dd_err *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(struct dd_door_target *v, struct dd_err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
	if (v->kind == DD_FAIL_NONE)
		v->kind = DD_FAIL_REFUSED;
	return dd_fail(err, DD_ESAFETY, "%s: refused: %s", v->path, v->reason);
}

/* /dev: an existing whole-disk block device the safety rules accept (for reading: any block device). */
static int judge_device(const struct dd_door_opts *o, struct dd_door_target *v, struct dd_err *err)
{
	struct dd_safety_opts so = o->safety;
	struct dd_err e;
	int rc;

	if (!v->exists)
		return refuse(v, err, "no such device");
	if (!S_ISBLK(v->st.st_mode))
		return refuse(v, err, "%s in /dev, not a disk", kind_of(v->st.st_mode));
	v->is_dev = true;
	if (o->read_only) {
		/* reading is harmless: no eligibility rules, only the names */
		so = (struct dd_safety_opts){ .allow_non_usb = true, .unmount = true };
	}
	rc = dd_safety_check(v->real, &so, &v->disk, &e);
	if (v->disk.devnode[0]) {
		v->id = v->disk.id;
		copy(v->id.path, sizeof(v->id.path), v->path);
	}
	if (o->read_only || rc == DD_OK)
		return DD_OK;
	if (rc == DD_ENOMEM)
		return dd_fail(err, rc, "%s", e.msg);
	if (v->disk.too_small)
		v->kind = DD_FAIL_TOO_SMALL;
	return refuse(v, err, "%s", v->disk.reason[0] ? v->disk.reason : e.msg);
}

/* Elsewhere: a regular file (or a new one), never an input. */
static int judge_file(const struct dd_door_opts *o, struct dd_door_target *v, struct dd_err *err)
{
	uint64_t size = v->exists ? (uint64_t)v->st.st_size : 0, room;
	const char *in;

	if (!v->exists && o->read_only)
		return refuse(v, err, "no such file");
	if (v->exists && !S_ISREG(v->st.st_mode))
		return refuse(v, err, "%s, not a regular file or a disk in /dev", kind_of(v->st.st_mode));
	if (v->exists && (in = same_as_input(&v->st, o->inputs, o->n_inputs)))
		return refuse(v, err, "this is the image itself (%s)", in);
	v->id.capacity = size;
	if (o->read_only || !o->safety.min_size)
		return DD_OK;
	room = size + free_bytes(v->real);
	if (room < o->safety.min_size) {
		v->kind = DD_FAIL_TOO_SMALL;
		return refuse(v, err, "too small: %" PRIu64 " bytes with its file system's free space, the image needs %" PRIu64,
			      room, o->safety.min_size);
	}
	return DD_OK;
}

int dd_door_judge_target(const char *path, const struct dd_door_opts *o, struct dd_door_target *v,
			 struct dd_err *err)
{
	char given[PATH_MAX];
	struct dd_err e;

	copy(given, sizeof(given), path); /* path may be v->path */
	path = given;
	memset(v, 0, sizeof(*v));
	copy(v->path, sizeof(v->path), path);
	copy(v->id.path, sizeof(v->id.path), path);
	if (dd_door_resolve(path, v->real, sizeof(v->real), &v->exists, &e)) {
		return refuse(v, err, "%s", without_path(e.msg, path));
	}
	if (v->exists && stat(v->real, &v->st))
		return refuse(v, err, "%s", strerror(errno));
	if (dd_door_under_dev(v->real))
		return judge_device(o, v, err);
	if (v->exists && S_ISBLK(v->st.st_mode))
		return refuse(v, err, "a block device outside /dev: give its /dev name");
	return judge_file(o, v, err);
}

static int open_device(const struct dd_door_target *v, const struct dd_door_opts *o, struct dd_target **out,
		       struct dd_err *err)
{
	int flags = (o->read_only ? O_RDONLY : O_RDWR) | O_DIRECT | O_EXCL | O_CLOEXEC;
	struct dd_disk disk;
	struct stat st;
	int fd, rc;

	/* --unmount (write and station alike): judged eligible only because unmounting is allowed; done
	 * here, after every check passed, so a refused run unmounts nothing it would not write */
	if (!o->read_only && v->disk.needs_unmount) {
		disk = v->disk;
		rc = dd_safety_unmount(&disk, &o->safety, err);
		if (rc)
			return rc;
	}
	fd = open(v->real, flags);
	if (fd < 0)
		return dd_fail_errno(err, errno == EBUSY ? DD_ESAFETY : DD_EINPUT, errno, "%s", v->path);
	if (fstat(fd, &st) || !S_ISBLK(st.st_mode) || st.st_rdev != v->st.st_rdev) {
		close(fd);
		return dd_fail(err, DD_ESAFETY, "%s: refused: changed since it was checked", v->path);
	}
	return dd_target_blockdev_adopt(fd, v->path, out, err);
}

static int open_file(const struct dd_door_target *v, const struct dd_door_opts *o, uint64_t need_size,
		     struct dd_target **out, struct dd_err *err)
{
	/* the resolved path, its last component not followed: a link put there since is refused */
	int flags = (o->read_only ? O_RDONLY : O_RDWR) | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC;
	struct stat st;
	int fd;

	if (!v->exists)
		flags |= O_CREAT | O_EXCL;
	fd = open(v->real, flags | O_NONBLOCK, 0644);
	if (fd < 0)
		return dd_fail_errno(err, errno == EEXIST || errno == ELOOP ? DD_ESAFETY : DD_EINPUT, errno, "%s",
				     v->path);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    (v->exists && (st.st_dev != v->st.st_dev || st.st_ino != v->st.st_ino))) {
		close(fd);
		return dd_fail(err, DD_ESAFETY, "%s: refused: changed since it was checked", v->path);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return dd_target_file_adopt(fd, v->path, o->read_only ? DD_TARGET_READONLY : DD_TARGET_WRITE, need_size,
				    out, err);
}

int dd_door_open_target(const struct dd_door_target *v, const struct dd_door_opts *o, uint64_t need_size,
			struct dd_target **out, struct dd_err *err)
{
	int rc;

	*out = NULL;
	if (v->reason[0])
		return dd_fail(err, DD_ESAFETY, "%s: refused: %s", v->path, v->reason);
	rc = v->is_dev ? open_device(v, o, out, err) : open_file(v, o, need_size, out, err);
	if (rc)
		return rc;
	/* the names sysfs gave; size and path from the open */
	copy((*out)->id.port, sizeof((*out)->id.port), v->id.port);
	copy((*out)->id.usb, sizeof((*out)->id.usb), v->id.usb);
	copy((*out)->id.vendor, sizeof((*out)->id.vendor), v->id.vendor);
	copy((*out)->id.model, sizeof((*out)->id.model), v->id.model);
	copy((*out)->id.serial, sizeof((*out)->id.serial), v->id.serial);
	return DD_OK;
}

int dd_door_target(const char *path, const struct dd_door_opts *o, uint64_t need_size,
		   struct dd_door_target *v, struct dd_target **out, struct dd_err *err)
{
	int rc = dd_door_judge_target(path, o, v, err);

	if (rc) {
		*out = NULL;
		return rc;
	}
	return dd_door_open_target(v, o, need_size, out, err);
}

/* ---- outputs ------------------------------------------------------------------------------------- */

static int judge_output(const char *path, const char *const *inputs, unsigned n, struct stat *st,
			bool *exists, char *real, size_t cap, struct dd_err *err)
{
	const char *in;
	struct dd_err e;

	if (dd_door_resolve(path, real, cap, exists, &e))
		return dd_fail(err, DD_ESAFETY, "%s: refused: %s", path, without_path(e.msg, path));
	if (dd_door_under_dev(real))
		return dd_fail(err, DD_ESAFETY, "%s: refused: %s%s%sunder /dev: a device is never an output", path,
			       strcmp(real, path) ? "it is " : "", strcmp(real, path) ? real : "",
			       strcmp(real, path) ? ", " : "");
	if (!*exists)
		return DD_OK;
	if (stat(real, st))
		return dd_fail_errno(err, DD_ESAFETY, errno, "%s: refused", path);
	if (!S_ISREG(st->st_mode))
		return dd_fail(err, DD_ESAFETY, "%s: refused: %s is never an output", path, kind_of(st->st_mode));
	if ((in = same_as_input(st, inputs, n)))
		return dd_fail(err, DD_ESAFETY, "%s: refused: the same file as the input %s", path, in);
	return DD_OK;
}

int dd_door_judge_output(const char *path, const char *const *inputs, unsigned n_inputs, struct dd_err *err)
{
	char real[PATH_MAX];
	struct stat st;
	bool exists;

	return judge_output(path, inputs, n_inputs, &st, &exists, real, sizeof(real), err);
}

int dd_door_open_output(const char *path, const char *const *inputs, unsigned n_inputs, int access,
			unsigned how, mode_t mode, int *fd, struct dd_err *err)
{
	char real[PATH_MAX];
	struct stat st, now;
	bool exists;
	int rc, flags;

	*fd = -1;
	if ((rc = judge_output(path, inputs, n_inputs, &st, &exists, real, sizeof(real), err)))
		return rc;
	if (exists && (how & DD_DOOR_EXCL))
		return dd_fail(err, DD_EUSAGE, "%s: already exists (not overwriting it)", path);
	/* no O_TRUNC here: what is opened is checked first; O_NONBLOCK: a fifo put there cannot block us */
	flags = access | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | (exists ? 0 : O_CREAT | O_EXCL);
	*fd = open(real, flags, mode);
	if (*fd < 0)
		return dd_fail_errno(err, errno == EEXIST || errno == ELOOP ? DD_ESAFETY : DD_EIO, errno, "%s", path);
	if (fstat(*fd, &now) || !S_ISREG(now.st_mode) || (exists && (now.st_dev != st.st_dev || now.st_ino != st.st_ino)) ||
	    same_as_input(&now, inputs, n_inputs)) {
		close(*fd);
		*fd = -1;
		return dd_fail(err, DD_ESAFETY, "%s: refused: changed since it was checked", path);
	}
	fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) & ~O_NONBLOCK);
	if ((how & DD_DOOR_TRUNC) && ftruncate(*fd, 0)) {
		rc = dd_fail_errno(err, DD_EIO, errno, "%s", path);
		close(*fd);
		*fd = -1;
		return rc;
	}
	return DD_OK;
}

/* The character devices a log may go to: /dev/null and terminals (consoles, ttys, ptys). Not /dev/mem,
 * /dev/port, a tape or anything else a JSON line would harm. */
static bool log_char_device(dev_t rdev)
{
	unsigned maj = major(rdev);

	return (maj == 1 && minor(rdev) == 3) || maj == 4 || maj == 5 || (maj >= 136 && maj <= 143);
}

int dd_door_judge_log(const char *path, const char *const *inputs, unsigned n_inputs, struct dd_err *err)
{
	char real[PATH_MAX];
	const char *in;
	struct dd_err e;
	struct stat st;
	bool exists;

	/* a stream handed over (/dev/stdout is a link to a pipe that realpath() cannot name) */
	if (!stat(path, &st) && (S_ISFIFO(st.st_mode) || (S_ISCHR(st.st_mode) && log_char_device(st.st_rdev))))
		return DD_OK;
	if (dd_door_resolve(path, real, sizeof(real), &exists, &e))
		return dd_fail(err, DD_ESAFETY, "%s: refused: %s", path, without_path(e.msg, path));
	if (!exists)
		return dd_door_under_dev(real) ? dd_fail(err, DD_ESAFETY, "%s: refused: no such device", path) : DD_OK;
	if (stat(real, &st))
		return dd_fail_errno(err, DD_ESAFETY, errno, "%s: refused", path);
	if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) && !(S_ISCHR(st.st_mode) && log_char_device(st.st_rdev)))
		return dd_fail(err, DD_ESAFETY, "%s: refused: %s is never a log", path, kind_of(st.st_mode));
	if (S_ISREG(st.st_mode) && (in = same_as_input(&st, inputs, n_inputs)))
		return dd_fail(err, DD_ESAFETY, "%s: refused: the same file as the input %s", path, in);
	return DD_OK;
}
