#include "host/iso/disk.h"
#include "host/iso/util.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* The configuration built into core.img: no file on the stick is needed to reach bootmgr. */
static const char grub_cfg[] =
	"set root=(hd0,msdos1)\n"
	"ntldr /bootmgr\n"
	"boot\n";

static int read_file(const char *path, uint8_t **buf, size_t *len, size_t max, struct dd_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return dd_fail_errno(err, DD_EINPUT, errno, "%s", path);
	if (fstat(fd, &st) || st.st_size <= 0 || (size_t)st.st_size > max) {
		close(fd);
		return dd_fail(err, DD_EINPUT, "%s: unexpected size", path);
	}
	*buf = malloc((size_t)st.st_size);
	if (!*buf) {
		close(fd);
		return dd_fail(err, DD_ENOMEM, "out of memory");
	}
	n = read(fd, *buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(*buf);
		*buf = NULL;
		return dd_fail(err, DD_EIO, "%s: short read", path);
	}
	*len = (size_t)n;
	return DD_OK;
}

static int run(char *const argv[], struct dd_err *err)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		return dd_fail_errno(err, DD_EINPUT, rc, "%s (install Debian's grub-pc-bin)", argv[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return dd_fail_errno(err, DD_EIO, errno, "waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return dd_fail(err, DD_EIO, "%s failed (status %d)", argv[0], st);
	return DD_OK;
}

int disk_grub_make(const char *grub_dir, const char *tmpdir, struct grub_images *g, struct dd_err *err)
{
	char cfg[4096], core[4096], boot[4096];
	uint8_t *bootbuf = NULL;
	size_t bootlen = 0;
	FILE *f;
	int rc;

	memset(g, 0, sizeof(*g));
	if (!grub_dir)
		grub_dir = DISK_GRUB_DIR;
	snprintf(cfg, sizeof(cfg), "%s/embedded.cfg", tmpdir);
	snprintf(core, sizeof(core), "%s/core.img", tmpdir);
	snprintf(boot, sizeof(boot), "%s/boot.img", grub_dir);
	f = fopen(cfg, "we");
	if (!f)
		return dd_fail_errno(err, DD_EIO, errno, "%s", cfg);
	fputs(grub_cfg, f);
	if (fclose(f))
		return dd_fail_errno(err, DD_EIO, errno, "%s", cfg);
	{
		char *argv[] = { "grub-mkimage", "-O", "i386-pc", "-d", (char *)grub_dir, "-c", cfg,
				 "-p", "(hd0,msdos1)/boot/grub", "-o", core,
				 "biosdisk", "part_msdos", "fat", "ntldr", NULL };

		rc = run(argv, err);
	}
	unlink(cfg);
	if (!rc)
		rc = read_file(core, &g->core, &g->core_len, (DISK_PART_LBA - 1) * 512, err);
	unlink(core);
	if (!rc)
		rc = read_file(boot, &bootbuf, &bootlen, 512, err);
	if (!rc && bootlen != 512)
		rc = dd_fail(err, DD_EINPUT, "%s: not 512 bytes", boot);
	if (!rc)
		memcpy(g->boot, bootbuf, 512);
	free(bootbuf);
	if (rc)
		disk_grub_free(g);
	return rc;
}

void disk_grub_free(struct grub_images *g)
{
	free(g->core);
	g->core = NULL;
}

/* CHS of an LBA for the partition table (255 heads, 63 sectors; past 1023 cylinders: the maximum). */
static void chs(uint8_t *p, uint64_t lba)
{
	uint64_t c = lba / (255 * 63), h = lba / 63 % 255, s = lba % 63 + 1;

	if (c > 1023) {
		c = 1023;
		h = 254;
		s = 63;
	}
	p[0] = (uint8_t)h;
	p[1] = (uint8_t)(s | (c >> 8) << 6);
	p[2] = (uint8_t)c;
}

/* The disk signature, one FAT32 (LBA) partition at DISK_PART_LBA of part_sectors (active: the one the BIOS
 * boots) and the 55 AA mark, into mbr; the boot code before 0x1B8 is the caller's. */
static int mbr_table(uint8_t mbr[512], uint32_t disk_sig, uint64_t part_sectors, bool active, struct dd_err *err)
{
	uint8_t *pe = mbr + 0x1BE;

	if (part_sectors > 0xFFFFFFFFull - DISK_PART_LBA)
		return dd_fail(err, DD_EINPUT, "disk over 2 TiB cannot use an MBR");
	put_le32(mbr + 0x1B8, disk_sig);
	pe[0] = active ? 0x80 : 0x00;
	chs(pe + 1, DISK_PART_LBA);
	pe[4] = 0x0C; /* FAT32 with LBA */
	chs(pe + 5, DISK_PART_LBA + part_sectors - 1);
	put_le32(pe + 8, DISK_PART_LBA);
	put_le32(pe + 12, (uint32_t)part_sectors);
	mbr[510] = 0x55;
	mbr[511] = 0xAA;
	return DD_OK;
}

int disk_write_mbr(int fd, const struct grub_images *g, uint32_t disk_sig, uint64_t part_sectors,
		   struct dd_err *err)
{
	uint8_t mbr[512] = { 0 };
	int rc;

	/* GRUB's boot code up to the disk signature; then point it at core.img (see FACTS 2) */
	memcpy(mbr, g->boot, 0x1B8);
	put_le64(mbr + 0x5C, 1);   /* kernel sector: core.img starts at LBA 1 */
	mbr[0x64] = 0xFF;          /* boot drive: the one the BIOS booted from */
	mbr[0x66] = 0x90;          /* no "jump over the drive check": NOPs */
	mbr[0x67] = 0x90;
	if ((rc = mbr_table(mbr, disk_sig, part_sectors, true, err)))
		return rc;
	if (iso_write_all(fd, mbr, sizeof(mbr), 0) || iso_write_all(fd, g->core, g->core_len, 512))
		return dd_fail_errno(err, DD_EIO, errno, "write");
	return DD_OK;
}

int disk_write_plain_mbr(int fd, uint32_t disk_sig, uint64_t part_sectors, struct dd_err *err)
{
	uint8_t mbr[512] = { 0 };
	int rc;

	if ((rc = mbr_table(mbr, disk_sig, part_sectors, false, err)))
		return rc;
	if (iso_write_all(fd, mbr, sizeof(mbr), 0))
		return dd_fail_errno(err, DD_EIO, errno, "write");
	return DD_OK;
}
