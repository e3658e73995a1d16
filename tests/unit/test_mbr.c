/* The MBRs of host/iso/disk.c (one partition table, two callers): build's with GRUB's boot code patched to
 * load core.img, the master stick's plain one; the partition entry, disk signature and 55 AA the same, the
 * active flag only where the BIOS boots; over 2 TiB refused with nothing written. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "host/iso/disk.h"

#define MAX_SECTORS (0xFFFFFFFFull - DISK_PART_LBA)

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The table both MBRs share: signature, one FAT32 (LBA) entry at 2048 of sectors, CHS as the BIOS reads
 * it (start 0/32/33; an end past cylinder 1023 held at 1023/254/63), the boot mark. */
static void check_table(const uint8_t *mbr, uint32_t sig, uint64_t sectors, uint8_t active)
{
	const uint8_t *pe = mbr + 0x1BE;
	static const uint8_t empty[48];

	CHECK_EQ_U64(le32(mbr + 0x1B8), sig);
	CHECK_EQ_INT(pe[0], active);
	CHECK(pe[1] == 32 && pe[2] == 33 && pe[3] == 0);
	CHECK_EQ_INT(pe[4], 0x0C);
	if (sectors == MAX_SECTORS)
		CHECK(pe[5] == 254 && pe[6] == 0xFF && pe[7] == 0xFF);
	CHECK_EQ_U64(le32(pe + 8), DISK_PART_LBA);
	CHECK_EQ_U64(le32(pe + 12), sectors);
	CHECK_MEM_EQ(pe + 16, empty, sizeof(empty)); /* the other three entries */
	CHECK(mbr[510] == 0x55 && mbr[511] == 0xAA);
}

static int open_out(const char *name)
{
	return open(check_path(name), O_RDWR | O_CREAT | O_TRUNC, 0600);
}

TEST(plain_mbr_has_no_boot_code_and_no_active_partition)
{
	static const uint8_t zero[0x1B8];
	struct dd_err err = { 0 };
	uint8_t *mbr;
	size_t len;
	int fd = open_out("plain.img");

	CHECK(fd >= 0);
	CHECK_EQ_INT(disk_write_plain_mbr(fd, 0xA1B2C3D4, MAX_SECTORS, &err), DD_OK);
	close(fd);
	mbr = check_read_file(check_path("plain.img"), &len);
	CHECK(mbr);
	CHECK_EQ_U64(len, 512);
	CHECK_MEM_EQ(mbr, zero, sizeof(zero));
	check_table(mbr, 0xA1B2C3D4, MAX_SECTORS, 0x00);
	free(mbr);
}

TEST(grub_mbr_patched_boot_code_active_partition_and_core)
{
	static struct grub_images g;
	uint8_t core[3000], *disk;
	struct dd_err err = { 0 };
	size_t len;
	int fd = open_out("grub.img");

	CHECK(fd >= 0);
	check_fill_random(g.boot, sizeof(g.boot), 1);
	check_fill_random(core, sizeof(core), 2);
	g.core = core;
	g.core_len = sizeof(core);
	CHECK_EQ_INT(disk_write_mbr(fd, &g, 0x01020304, 4000000, &err), DD_OK);
	close(fd);
	disk = check_read_file(check_path("grub.img"), &len);
	CHECK(disk);
	CHECK_EQ_U64(len, 512 + sizeof(core));
	CHECK_MEM_EQ(disk, g.boot, 0x5C);
	CHECK(disk[0x5C] == 1 && !memcmp(disk + 0x5D, "\0\0\0\0\0\0\0", 7)); /* core.img at LBA 1 */
	CHECK(disk[0x64] == 0xFF && disk[0x65] == g.boot[0x65] && disk[0x66] == 0x90 && disk[0x67] == 0x90);
	CHECK_MEM_EQ(disk + 0x68, g.boot + 0x68, 0x1B8 - 0x68);
	check_table(disk, 0x01020304, 4000000, 0x80);
	CHECK_MEM_EQ(disk + 512, core, sizeof(core));
	free(disk);
}

TEST(over_2tib_refused_nothing_written)
{
	static struct grub_images g;
	struct dd_err err = { 0 };
	struct stat st;
	int fd = open_out("big.img");

	CHECK(fd >= 0);
	CHECK_EQ_INT(disk_write_plain_mbr(fd, 1, MAX_SECTORS + 1, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "over 2 TiB");
	CHECK_EQ_INT(disk_write_mbr(fd, &g, 1, MAX_SECTORS + 1, &err), DD_EINPUT);
	CHECK(fstat(fd, &st) == 0);
	close(fd);
	CHECK_EQ_U64(st.st_size, 0);
}

int main(void)
{
	RUN(plain_mbr_has_no_boot_code_and_no_active_partition);
	RUN(grub_mbr_patched_boot_code_active_partition_and_core);
	RUN(over_2tib_refused_nothing_written);
	return check_done();
}
