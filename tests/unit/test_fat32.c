/* The FAT32 writer: boot sector and FSInfo fields, FAT chains, short names and long-name entries
 * (checksums, ~N tails, case), file data where the FAT says, determinism, and refusals. When
 * fsck.fat is installed the volume is also checked by it. */
#include "check.h"
#include "host/iso/fat32.h"
#include "host/iso/util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static struct iso_node *add(struct iso_node *dir, const char *name, bool is_dir, const char *data)
{
	struct iso_node *n = iso_node_new(name, is_dir);

	if (data) {
		n->size = strlen(data);
		n->inline_data = (uint8_t *)strdup(data);
	}
	n->mtime = iso_civil_to_unix(2010, 1, 1, 12, 0, 0);
	iso_node_add(dir, n, NULL);
	return n;
}

static struct iso_node *sample_tree(void)
{
	struct iso_node *root = iso_node_new("", true), *boot, *deep;

	root->mtime = iso_civil_to_unix(2010, 1, 1, 12, 0, 0);
	add(root, "bootmgr", false, "BOOTMGR-CODE");
	boot = add(root, "boot", true, NULL);
	add(boot, "BCD", false, "bcd");
	add(boot, "boot.sdi", false, "sdi");
	deep = add(root, "Program Files", true, NULL);
	add(deep, "Long File Name 1.txt", false, "one");
	add(deep, "Long File Name 2.txt", false, "two");
	add(deep, "empty", false, "");
	return root;
}

struct vol {
	uint8_t *d;
	size_t len;
	struct fat32_plan plan;
};

static int build(struct iso_node *root, uint64_t bytes, struct vol *v, struct dd_err *err)
{
	struct iso_image img = { .fd = -1, .path = "none" };
	char path[512];
	int fd, rc;

	memset(v, 0, sizeof(*v));
	if ((rc = iso_tree_finish(root, err)) || (rc = fat32_plan(root, bytes, &v->plan, err)))
		return rc;
	v->plan.serial = 0x12345678;
	fat32_label("DaRT 7.0", v->plan.label);   /* "." is not allowed in a FAT label */
	snprintf(path, sizeof(path), "%s/fat.img", check_tmpdir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)(v->plan.vol_sectors * 512)))
		return -100;
	rc = fat32_write(&img, root, &v->plan, fd, 0, NULL, NULL, err);
	close(fd);
	v->d = check_read_file(path, &v->len);
	return rc;
}

static const uint8_t *cluster(const struct vol *v, uint32_t c)
{
	const uint8_t *b = v->d;
	uint64_t data = (uint64_t)get_le16(b + 14) + 2ull * get_le32(b + 36);

	return b + (data + (uint64_t)(c - 2) * b[13]) * 512;
}

static uint32_t fat_entry(const struct vol *v, uint32_t c)
{
	return get_le32(v->d + get_le16(v->d + 14) * 512 + c * 4) & 0x0FFFFFFF;
}

/* The short entry for long name `name` in directory data d (LFN entries before it); NULL if none. */
static const uint8_t *find_entry(const uint8_t *d, size_t len, const char *name, bool *lfn_ok)
{
	char got[256];
	size_t n = 0;
	uint8_t sum = 0;

	for (size_t off = 0; off + 32 <= len && d[off]; off += 32) {
		const uint8_t *e = d + off;

		if (e[11] == 0x0F) {
			static const uint8_t pos[13] = { 1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30 };
			size_t part = (e[0] & 0x1F) - 1;

			if (e[0] & 0x40)
				memset(got, 0, sizeof(got)), n = 0;
			for (int j = 0; j < 13; j++) {
				uint16_t c = get_le16(e + pos[j]);

				if (c && c != 0xFFFF && part * 13 + j < sizeof(got) - 1)
					got[part * 13 + j] = (char)c, n++;
			}
			sum = e[13];
			continue;
		}
		if (n) {
			uint8_t s = 0;

			for (int i = 0; i < 11; i++)
				s = (uint8_t)(((s & 1) << 7) + (s >> 1) + e[i]);
			*lfn_ok = s == sum;
			if (!strcmp(got, name))
				return e;
		} else {
			char sn[13];
			int k = 0;

			for (int i = 0; i < 8 && e[i] != ' '; i++)
				sn[k++] = (char)e[i];
			if (e[8] != ' ')
				sn[k++] = '.';
			for (int i = 8; i < 11 && e[i] != ' '; i++)
				sn[k++] = (char)e[i];
			sn[k] = '\0';
			*lfn_ok = true;
			if (!strcmp(sn, name))
				return e;
		}
		n = 0;
	}
	return NULL;
}

TEST(fat32_boot_sector_and_fsinfo)
{
	struct iso_node *root = sample_tree();
	struct dd_err err = { 0 };
	struct vol v;

	CHECK_EQ_INT(build(root, 40 << 20, &v, &err), 0);
	iso_node_free(root);
	CHECK(v.d[510] == 0x55 && v.d[511] == 0xAA);
	CHECK_EQ_INT(get_le16(v.d + 11), 512);
	CHECK_EQ_INT(v.d[13], 1);                         /* 512-byte clusters below 260 MiB */
	CHECK_EQ_U64(get_le32(v.d + 32), (40 << 20) / 512);
	CHECK_EQ_INT(get_le32(v.d + 44), 2);
	CHECK_EQ_INT(get_le32(v.d + 67), 0x12345678);
	CHECK(!memcmp(v.d + 71, "DART 7_0   ", 11));
	CHECK(!memcmp(v.d + 82, "FAT32   ", 8));
	CHECK(!memcmp(v.d, v.d + 6 * 512, 512));           /* backup boot sector */
	CHECK_EQ_INT(get_le32(v.d + 512), 0x41615252);
	CHECK_EQ_U64(get_le32(v.d + 512 + 488), v.plan.clusters - v.plan.used);
	CHECK(v.plan.clusters >= 65525);
	/* data area 4 KiB aligned */
	CHECK_EQ_INT((get_le16(v.d + 14) + 2 * get_le32(v.d + 36)) % 8, 0);
	free(v.d);
}

TEST(fat32_names_and_data)
{
	struct iso_node *root = sample_tree();
	struct dd_err err = { 0 };
	const uint8_t *rootdir, *e, *pf;
	bool lfn_ok = false;
	struct vol v;

	CHECK_EQ_INT(build(root, 40 << 20, &v, &err), 0);
	iso_node_free(root);
	rootdir = cluster(&v, 2);
	CHECK(rootdir[11] == 0x08 && !memcmp(rootdir, "DART 7_0   ", 11)); /* label first */
	e = find_entry(rootdir, 512, "bootmgr", &lfn_ok);                  /* lower case: long name kept */
	CHECK(e && lfn_ok && !memcmp(e, "BOOTMGR    ", 11));
	CHECK_EQ_INT(get_le32(e + 28), 12);
	CHECK(!memcmp(cluster(&v, get_le16(e + 26) | get_le16(e + 20) << 16), "BOOTMGR-CODE", 12));
	CHECK_EQ_INT(fat_entry(&v, get_le16(e + 26)), 0x0FFFFFFF);
	e = find_entry(rootdir, 512, "Program Files", &lfn_ok);
	CHECK(e && lfn_ok && e[11] == 0x10 && !memcmp(e, "PROGRA~1   ", 11));
	pf = cluster(&v, get_le16(e + 26));
	CHECK(!memcmp(pf, ".          ", 11) && !memcmp(pf + 32, "..         ", 11));
	CHECK_EQ_INT(get_le16(pf + 32 + 26), 0);          /* ".." of a top folder points at 0 */
	e = find_entry(pf, 512, "Long File Name 2.txt", &lfn_ok);
	CHECK(e && lfn_ok && !memcmp(e, "LONGFI~2TXT", 11));
	CHECK(!memcmp(cluster(&v, get_le16(e + 26)), "two", 3));
	e = find_entry(pf, 512, "empty", &lfn_ok);
	CHECK(e && get_le32(e + 28) == 0 && get_le16(e + 26) == 0);
	e = find_entry(cluster(&v, get_le16(find_entry(rootdir, 512, "boot", &lfn_ok) + 26)), 512, "BCD", &lfn_ok);
	CHECK(e && !memcmp(e, "BCD        ", 11));       /* an exact 8.3 name needs no long name */
	CHECK(e[-32 + 11] != 0x0F);
	/* 2010-01-01 12:00:00 */
	CHECK_EQ_INT(get_le16(e + 24), (30 << 9) | (1 << 5) | 1);
	CHECK_EQ_INT(get_le16(e + 22), 12 << 11);
	free(v.d);
}

TEST(fat32_deterministic)
{
	struct iso_node *a = sample_tree(), *b = sample_tree();
	struct dd_err err = { 0 };
	struct vol v1, v2;

	CHECK_EQ_INT(build(a, 40 << 20, &v1, &err), 0);
	CHECK_EQ_INT(build(b, 40 << 20, &v2, &err), 0);
	iso_node_free(a);
	iso_node_free(b);
	CHECK(v1.len == v2.len && !memcmp(v1.d, v2.d, v1.len));
	free(v1.d);
	free(v2.d);
}

TEST(fat32_fsck_clean)
{
	struct iso_node *root = sample_tree();
	struct dd_err err = { 0 };
	char cmd[1024];
	struct vol v;

	CHECK_EQ_INT(build(root, 300 << 20, &v, &err), 0);  /* 4 KiB clusters */
	iso_node_free(root);
	CHECK_EQ_INT(v.d[13], 8);
	free(v.d);
	if (system("command -v fsck.fat >/dev/null 2>&1"))
		return;
	snprintf(cmd, sizeof(cmd), "fsck.fat -n %s/fat.img >/dev/null 2>&1", check_tmpdir());
	CHECK_EQ_INT(system(cmd), 0);
}

TEST(fat32_refusals)
{
	struct iso_node *root = sample_tree(), *big;
	struct dd_err err = { 0 };
	struct fat32_plan plan;

	CHECK_EQ_INT(fat32_plan(root, 20 << 20, &plan, &err), DD_EINPUT);     /* under FAT32's minimum */
	CHECK_STR_CONTAINS(err.msg, "too small");
	big = add(root, "big.bin", false, NULL);
	big->size = 50ull << 20;
	CHECK_EQ_INT(fat32_plan(root, 40 << 20, &plan, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "the files need");
	big->size = 5ull << 30;
	CHECK_EQ_INT(iso_tree_finish(root, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "over 4 GiB");
	big->size = 0;
	add(root, "BOOTMGR", false, "x");                             /* equal to "bootmgr" but for case */
	CHECK_EQ_INT(iso_tree_finish(root, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "FAT ignores case");
	iso_node_free(root);
}

/* A long name that is another name's "~n" short name but for case takes that short name itself,
 * before any "~n" is made: otherwise Windows could find the other file under this name. */
TEST(fat32_case_only_names_before_generated)
{
	struct iso_node *root = iso_node_new("", true), *a, *b;
	struct dd_err err = { 0 };
	struct fat32_plan plan;

	root->mtime = iso_civil_to_unix(2010, 1, 1, 12, 0, 0);
	a = add(root, "Long Name A.txt", false, "a");   /* sorts first: would have taken LONGNA~1 */
	b = add(root, "longna~1.txt", false, "b");
	CHECK_EQ_INT(iso_tree_finish(root, &err), 0);
	CHECK_EQ_INT(fat32_plan(root, 64 << 20, &plan, &err), 0);
	CHECK(!memcmp(b->short_name, "LONGNA~1TXT", 11));
	CHECK(!memcmp(a->short_name, "LONGNA~2TXT", 11));
	iso_node_free(root);
}

TEST(fat32_auto_size_fits)
{
	struct iso_node *root = sample_tree(), *big;
	struct dd_err err = { 0 };
	struct fat32_plan plan;
	uint64_t size;

	big = add(root, "big.bin", false, NULL);
	big->size = 300ull << 20;
	CHECK_EQ_INT(iso_tree_finish(root, &err), 0);
	size = fat32_auto_size(root);
	CHECK(size % (1 << 20) == 0);
	CHECK(size > (330ull << 20) && size < (400ull << 20));   /* content + 10% + 16 MiB */
	CHECK_EQ_INT(fat32_plan(root, size, &plan, &err), 0);
	iso_node_free(root);
}

int main(void)
{
	RUN(fat32_boot_sector_and_fsinfo);
	RUN(fat32_names_and_data);
	RUN(fat32_deterministic);
	RUN(fat32_fsck_clean);
	RUN(fat32_refusals);
	RUN(fat32_case_only_names_before_generated);
	RUN(fat32_auto_size_fits);
	return check_done();
}
