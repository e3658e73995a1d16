/* The Windows RE partition image (ntfs.h): mkntfs on the file, then libntfs-3g for the content. */
#include "host/iso/ntfs.h"
#include "host/iso/util.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* libntfs-3g's headers expect these from its own config.h */
#define HAVE_STDINT_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_STDIO_H 1
#define HAVE_STDLIB_H 1
#define HAVE_STRING_H 1
#define HAVE_ERRNO_H 1
#include <ntfs-3g/types.h>
#include <ntfs-3g/attrib.h>
#include <ntfs-3g/dir.h>
#include <ntfs-3g/inode.h>
#include <ntfs-3g/logging.h>
#include <ntfs-3g/unistr.h>
#include <ntfs-3g/volume.h>

extern char **environ;

#define NTFS_SERIAL_OFF 0x48
#define NTFS_SECTORS_OFF 0x28
#define COPY_CHUNK (1u << 20)

/* mkntfs lives in /usr/sbin, which a user's PATH may lack; DARTDUP_MKNTFS names another (tests). */
static const char *mkntfs_path(void)
{
	static const char *const dirs[] = { "/usr/sbin/mkntfs", "/sbin/mkntfs", "/usr/bin/mkntfs" };
	const char *env = getenv("DARTDUP_MKNTFS");

	if (env && *env)
		return env;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (!access(dirs[i], X_OK))
			return dirs[i];
	return "mkntfs";
}

/* mkntfs --zero-time: every time it writes is 1970-01-01 and its random numbers are seeded from that
 * time, so the same size and label give the same bytes (checked by tests/cli/deploy.sh). Its stderr
 * is kept for the one line of a failure. */
static int run_mkntfs(const struct ntfs_winre *w, struct dd_err *err)
{
	char sectors[32], dev[48], msg[256] = "";
	char *argv[] = { (char *)mkntfs_path(), "-F", "-f", "-q", "-T", "-s", "512", "-c", "4096", "-p", "0",
			 "-H", "255", "-S", "63", "-L", (char *)w->label, dev, sectors, NULL };
	posix_spawn_file_actions_t fa;
	int pfd[2], st, rc, child_fd;
	ssize_t n;
	pid_t pid;

	snprintf(sectors, sizeof(sectors), "%llu", (unsigned long long)(w->size / 512));
	if (pipe2(pfd, O_CLOEXEC))
		return dd_fail_errno(err, DD_EIO, errno, "pipe");
	/* a copy without close-on-exec, so mkntfs inherits the very file the door judged */
	child_fd = fcntl(w->fd, F_DUPFD, 3);
	if (child_fd < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return dd_fail_errno(err, DD_EIO, errno, "%s", w->image);
	}
	snprintf(dev, sizeof(dev), "/proc/self/fd/%d", child_fd);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(child_fd);
	close(pfd[1]);
	if (rc) {
		close(pfd[0]);
		return dd_fail_errno(err, DD_EINPUT, rc, "%s: cannot run it (install Debian's ntfs-3g: "
				     "scripts/install-deps)", argv[0]);
	}
	n = read(pfd[0], msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = '\0';
	while (read(pfd[0], (char[256]){ 0 }, 256) > 0)
		;
	close(pfd[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return dd_fail_errno(err, DD_EIO, errno, "waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		msg[strcspn(msg, "\n")] = '\0';
		return dd_fail(err, DD_EIO, "%s failed on %s: %s", argv[0], w->image, msg[0] ? msg : "no message");
	}
	return DD_OK;
}

/* The serial number in the boot sector and in its backup, the volume's last sector. */
static int patch_serial(const struct ntfs_winre *w, struct dd_err *err)
{
	uint8_t bs[512];
	uint64_t backup;

	if (pread(w->fd, bs, sizeof(bs), 0) != (ssize_t)sizeof(bs) || memcmp(bs + 3, "NTFS    ", 8))
		return dd_fail(err, DD_EIO, "%s: mkntfs wrote no NTFS boot sector", w->image);
	backup = get_le64(bs + NTFS_SECTORS_OFF) * 512;
	if (backup + 512 > w->size)
		return dd_fail(err, DD_EIO, "%s: NTFS volume larger than the image", w->image);
	if (iso_write_all(w->fd, w->serial, 8, NTFS_SERIAL_OFF) ||
	    iso_write_all(w->fd, w->serial, 8, backup + NTFS_SERIAL_OFF))
		return dd_fail_errno(err, DD_EIO, errno, "%s", w->image);
	return DD_OK;
}

/* Create parent/name (a folder or a file); the new inode is returned open. */
static ntfs_inode *create(ntfs_volume *vol, const char *parent, const char *name, mode_t type)
{
	ntfs_inode *dir = ntfs_pathname_to_inode(vol, NULL, parent), *ni = NULL;
	ntfschar *u = NULL;
	int len;

	if (!dir)
		return NULL;
	len = ntfs_mbstoucs(name, &u);
	if (len > 0)
		ni = ntfs_create(dir, const_cpu_to_le32(0), u, (u8)len, type);
	free(u);
	if (ntfs_inode_close(dir) && ni) {
		ntfs_inode_close(ni);
		ni = NULL;
	}
	return ni;
}

static int copy_in(ntfs_inode *ni, const char *wim, struct dd_err *err)
{
	ntfs_attr *na = ntfs_attr_open(ni, AT_DATA, AT_UNNAMED, 0);
	uint8_t *buf = malloc(COPY_CHUNK);
	/* the file deploy.c just wrote, not a link swapped in since */
	int fd = open(wim, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int rc = DD_OK;
	s64 off = 0;
	ssize_t n;

	if (!na || !buf || fd < 0) {
		rc = dd_fail_errno(err, DD_EIO, errno, "winre.wim on the NTFS volume");
		goto out;
	}
	while ((n = read(fd, buf, COPY_CHUNK)) > 0) {
		if (ntfs_attr_pwrite(na, off, n, buf) != n) {
			rc = dd_fail_errno(err, DD_EIO, errno, "writing winre.wim on the NTFS volume");
			goto out;
		}
		off += n;
	}
	if (n < 0)
		rc = dd_fail_errno(err, DD_EIO, errno, "%s", wim);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	if (na)
		ntfs_attr_close(na);
	return rc;
}

/* Every time of the entry at path from the ISO, in its own record and in its folder's index entry
 * (closing syncs both). Done after every entry exists and is closed: libntfs-3g stamps the clock on
 * what it creates and on a folder an entry is added to, and two open copies of one inode would
 * overwrite each other's index. */
static int stamp(ntfs_volume *vol, const char *path, ntfs_time t)
{
	ntfs_inode *ni = ntfs_pathname_to_inode(vol, NULL, path);
	ntfs_attr_search_ctx *ctx;

	if (!ni)
		return -1;
	/* the record's own $FILE_NAME copies keep the creation clock otherwise (the index is synced below) */
	ctx = ntfs_attr_get_search_ctx(ni, NULL);
	while (ctx && !ntfs_attr_lookup(AT_FILE_NAME, AT_UNNAMED, 0, CASE_SENSITIVE, 0, NULL, 0, ctx)) {
		FILE_NAME_ATTR *fn = (FILE_NAME_ATTR *)((u8 *)ctx->attr + le16_to_cpu(ctx->attr->value_offset));

		fn->creation_time = fn->last_data_change_time = t;
		fn->last_mft_change_time = fn->last_access_time = t;
		ntfs_inode_mark_dirty(ctx->ntfs_ino);
	}
	if (ctx)
		ntfs_attr_put_search_ctx(ctx);
	ni->creation_time = ni->last_data_change_time = t;
	ni->last_mft_change_time = ni->last_access_time = t;
	NInoSetDirty(ni);
	NInoFileNameSetDirty(ni);
	return ntfs_inode_close(ni);
}

static int fill(ntfs_volume *vol, const struct ntfs_winre *w, struct dd_err *err)
{
	static const char *const stamped[] = { NTFS_WINRE_DIR "/winre.wim", NTFS_WINRE_DIR, "Recovery", "/" };
	struct timespec ts = { .tv_sec = w->mtime };
	ntfs_inode *ni;
	int rc;

	if (!(ni = create(vol, "/", "Recovery", S_IFDIR)) || ntfs_inode_close(ni) ||
	    !(ni = create(vol, "Recovery", "WindowsRE", S_IFDIR)) || ntfs_inode_close(ni) ||
	    !(ni = create(vol, NTFS_WINRE_DIR, "winre.wim", S_IFREG)))
		return dd_fail_errno(err, DD_EIO, errno, "%s: making " NTFS_WINRE_DIR "/winre.wim", w->image);
	rc = copy_in(ni, w->wim, err);
	if (ntfs_inode_close(ni) && !rc)
		rc = dd_fail_errno(err, DD_EIO, errno, "%s: closing winre.wim", w->image);
	for (size_t i = 0; i < sizeof(stamped) / sizeof(stamped[0]) && !rc; i++)
		if (stamp(vol, stamped[i], timespec2ntfs(ts)))
			rc = dd_fail_errno(err, DD_EIO, errno, "%s: setting the times of %s", w->image, stamped[i]);
	return rc;
}

int ntfs_make_winre(const struct ntfs_winre *w, struct dd_err *err)
{
	char dev[48];
	ntfs_volume *vol;
	int rc;

	if ((rc = run_mkntfs(w, err)) || (rc = patch_serial(w, err)))
		return rc;
	/* the library's own messages would break the one-line rule: errors come back through errno */
	ntfs_log_set_handler(ntfs_log_handler_null);
	snprintf(dev, sizeof(dev), "/proc/self/fd/%d", w->fd);
	vol = ntfs_mount(dev, NTFS_MNT_NONE);
	if (!vol)
		return dd_fail_errno(err, DD_EIO, errno, "%s: libntfs-3g cannot open the new volume", w->image);
	rc = fill(vol, w, err);
	if (ntfs_umount(vol, FALSE) && !rc)
		rc = dd_fail_errno(err, DD_EIO, errno, "%s: closing the NTFS volume", w->image);
	return rc;
}
