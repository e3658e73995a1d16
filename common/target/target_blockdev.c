/* Target backend: a block device (a USB stick), opened O_DIRECT | O_EXCL.
 *
 * O_DIRECT: writes go to the device, not the page cache, so memory stays flat and verification
 * reads the medium. O_EXCL: the kernel refuses the open while the disk is mounted or held (a second
 * lock behind common/safety).
 *
 * Several requests in flight: the engine runs queue_depth threads per target, each issuing plain
 * blocking pwrite/pread of one block (1 MiB). We chose threads over Linux AIO or io_uring because
 * the backend then stays a handful of thread-safe positional calls that the file and board
 * backends share, it needs no extra library or raw syscalls, and with 1 MiB requests two in flight
 * already keep a USB stick's queue busy (the cost of a thread switch per MiB is noise). */
#include "target/target.h"
#include "target/fd_io.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCKDEV_QUEUE_DEPTH 2

struct blockdev_target {
	struct dd_target t;
	int fd;
};

static size_t round_up(const struct dd_target *t, size_t len)
{
	return (len + t->align - 1) / t->align * t->align;
}

static int bd_write_at(struct dd_target *t, const void *buf, size_t len, uint64_t off, struct dd_err *err)
{
	struct blockdev_target *b = t->priv;

	/* the image's tail: the engine zero-filled the slack up to the alignment */
	return dd_fd_write_full(b->fd, buf, round_up(t, len), off, t->id.path, err);
}

static int bd_read_at(struct dd_target *t, void *buf, size_t len, uint64_t off, struct dd_err *err)
{
	struct blockdev_target *b = t->priv;

	return dd_fd_read_full(b->fd, buf, round_up(t, len), off, t->id.path, err);
}

static int bd_flush(struct dd_target *t, struct dd_err *err)
{
	struct blockdev_target *b = t->priv;

	/* fsync sends a cache flush to the device; BLKFLSBUF and DONTNEED drop any cached copy
	 * (ours bypasses the cache, but another opener's may not), so verification reads the medium */
	if (fsync(b->fd))
		return dd_fail_errno(err, DD_EIO, errno, "%s: flush", t->id.path);
	ioctl(b->fd, BLKFLSBUF, 0);
	posix_fadvise(b->fd, 0, 0, POSIX_FADV_DONTNEED);
	return DD_OK;
}

static void bd_close(struct dd_target *t)
{
	struct blockdev_target *b = t->priv;

	close(b->fd);
	free(b);
}

static const struct dd_target_ops blockdev_ops = {
	.write_at = bd_write_at,
	.read_at = bd_read_at,
	.flush = bd_flush,
	.close = bd_close,
};

int dd_target_blockdev_open(const char *path, enum dd_target_mode mode, struct dd_target **out,
			    struct dd_err *err)
{
	int flags = (mode == DD_TARGET_WRITE ? O_RDWR : O_RDONLY) | O_DIRECT | O_EXCL | O_CLOEXEC;
	int fd = open(path, flags);

	if (fd < 0)
		return dd_fail_errno(err, errno == EBUSY ? DD_ESAFETY : DD_EINPUT, errno, "%s", path);
	return dd_target_blockdev_adopt(fd, path, out, err);
}

int dd_target_blockdev_adopt(int fd, const char *path, struct dd_target **out, struct dd_err *err)
{
	struct blockdev_target *b;
	uint64_t size = 0;
	struct stat st;
	int sector = 0;

	if (fstat(fd, &st) || !S_ISBLK(st.st_mode)) {
		close(fd);
		return dd_fail(err, DD_EINPUT, "%s: not a block device", path);
	}
	if (ioctl(fd, BLKGETSIZE64, &size) || ioctl(fd, BLKSSZGET, &sector) || sector <= 0 ||
	    (sector & (sector - 1)) || sector > 4096) {
		close(fd);
		return dd_fail(err, DD_EINPUT, "%s: cannot read its size and sector size", path);
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		close(fd);
		return dd_fail(err, DD_ENOMEM, "%s: out of memory", path);
	}
	b->fd = fd;
	b->t.ops = &blockdev_ops;
	b->t.priv = b;
	b->t.align = (size_t)sector;
	b->t.queue_depth = BLOCKDEV_QUEUE_DEPTH;
	b->t.whole_disk = true;
	snprintf(b->t.id.path, sizeof(b->t.id.path), "%s", path);
	b->t.id.capacity = size;
	*out = &b->t;
	return DD_OK;
}
