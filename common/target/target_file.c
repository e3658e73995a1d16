/* Target backend: a regular file (how the fast tests and the demo run, and how a stick image is
 * produced without a stick). Buffered I/O; flush = fsync + drop the file's cached pages, so the
 * verification reads what the file system stored rather than our own writes from memory. */
#include "target/target.h"
#include "target/fd_io.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

struct file_target {
	struct dd_target t;
	int fd;
	uint64_t need_size;
	atomic_bool extended;
};

/* The file is made as long as the image (sparse: costs no space). Idempotent. */
static int extend(struct file_target *f, struct dd_err *err)
{
	struct stat st;

	if (fstat(f->fd, &st) == 0 && (uint64_t)st.st_size < f->need_size &&
	    ftruncate(f->fd, (off_t)f->need_size))
		return dd_fail_errno(err, DD_EIO, errno, "%s: cannot extend to %" PRIu64 " bytes",
				     f->t.id.path, f->need_size);
	return DD_OK;
}

/* From its first write on, a file is as long as the image: an all-zero image block the engine reads
 * before deciding to write it then holds zeros, not the file's end. Not at open: a target refused after
 * opening is left as it was. Concurrent first writers may both extend (harmless). */
static int file_write_at(struct dd_target *t, const void *buf, size_t len, uint64_t off, struct dd_err *err)
{
	struct file_target *f = t->priv;
	int rc;

	if (!atomic_load(&f->extended)) {
		if ((rc = extend(f, err)))
			return rc;
		atomic_store(&f->extended, true);
	}
	return dd_fd_write_full(f->fd, buf, len, off, t->id.path, err);
}

static int file_read_at(struct dd_target *t, void *buf, size_t len, uint64_t off, struct dd_err *err)
{
	struct file_target *f = t->priv;

	return dd_fd_read_full(f->fd, buf, len, off, t->id.path, err);
}

static int file_flush(struct dd_target *t, struct dd_err *err)
{
	struct file_target *f = t->priv;
	struct stat st;
	int rc;

	if ((rc = extend(f, err))) /* still as long as the image, whatever happened since */
		return rc;
	if (fsync(f->fd))
		return dd_fail_errno(err, DD_EIO, errno, "%s: fsync", t->id.path);
	/* a file's capacity is its size: what it is now that the image is in it */
	if (fstat(f->fd, &st) == 0 && (uint64_t)st.st_size > t->id.capacity)
		t->id.capacity = (uint64_t)st.st_size;
	posix_fadvise(f->fd, 0, 0, POSIX_FADV_DONTNEED);
	return DD_OK;
}

static void file_close(struct dd_target *t)
{
	struct file_target *f = t->priv;

	close(f->fd);
	free(f);
}

static const struct dd_target_ops file_ops = {
	.write_at = file_write_at,
	.read_at = file_read_at,
	.flush = file_flush,
	.close = file_close,
};

int dd_target_file_open(const char *path, enum dd_target_mode mode, uint64_t need_size,
			struct dd_target **out, struct dd_err *err)
{
	int flags = (mode == DD_TARGET_WRITE ? O_RDWR | O_CREAT : O_RDONLY) | O_CLOEXEC;
	int fd = open(path, flags, 0644);

	if (fd < 0)
		return dd_fail_errno(err, DD_EINPUT, errno, "%s", path);
	return dd_target_file_adopt(fd, path, mode, need_size, out, err);
}

int dd_target_file_adopt(int fd, const char *name, enum dd_target_mode mode, uint64_t need_size,
			 struct dd_target **out, struct dd_err *err)
{
	struct file_target *f;
	struct statvfs vfs;
	struct stat st;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return dd_fail(err, DD_EINPUT, "%s: not a regular file", name);
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		close(fd);
		return dd_fail(err, DD_ENOMEM, "%s: out of memory", name);
	}
	f->fd = fd;
	f->need_size = need_size;
	atomic_init(&f->extended, false);
	f->t.ops = &file_ops;
	f->t.priv = f;
	f->t.align = 1;
	f->t.queue_depth = 1;
	snprintf(f->t.id.path, sizeof(f->t.id.path), "%s", name);
	/* the record says what the file is; how far it may grow is room (the engine's size check) */
	f->t.id.capacity = (uint64_t)st.st_size;
	if (mode == DD_TARGET_WRITE && fstatvfs(fd, &vfs) == 0)
		f->t.room = (uint64_t)st.st_size + (uint64_t)vfs.f_bavail * vfs.f_frsize;
	*out = &f->t;
	return DD_OK;
}
