/* The UDF reader on volumes synthesized here: a multi-block directory whose entries cross block
 * boundaries, a directory and a file embedded in their ICB, hard links; and hostile volumes (loops,
 * traversal names, extents outside the partition, damaged tags, truncation, random damage) that must
 * be refused with one line and never crash (this test also runs under ASan+UBSan). */
#include "check.h"
#include "host/iso/iso.h"
#include "host/iso/util.h"

#include <stdlib.h>

#define SEC 2048
#define N_SECTORS 480
#define PART_START 260
#define PART_LEN 200
#define N_FILES 40

/* partition blocks */
#define LB_FSD 0
#define LB_ROOT 1
#define LB_FILE 2     /* one file entry shared by N_FILES names (hard links) */
#define LB_SMALL 3    /* directory embedded in its ICB */
#define LB_INNER 4    /* file embedded in its ICB */
#define LB_BOOTMGR 5
#define LB_ROOTDATA 10 /* two blocks of root directory entries */
#define LB_FILEDATA 20
#define LB_BMDATA 21

struct vol {
	uint8_t *d;
	/* knobs for hostile variants */
	uint32_t small_icb;       /* where the "Small" entry points (LB_SMALL, or LB_ROOT for a loop) */
	const char *odd_name;     /* replaces "bootmgr" */
	uint32_t file_lbn;        /* data block of the shared file */
};

static void tag(uint8_t *t, uint16_t id, uint32_t loc)
{
	uint8_t sum = 0;

	put_le16(t, id);
	put_le16(t + 2, 2);
	put_le32(t + 12, loc);
	for (int i = 0; i < 16; i++)
		if (i != 4)
			sum = (uint8_t)(sum + t[i]);
	t[4] = sum;
}

static uint8_t *sector(struct vol *v, uint32_t s)
{
	return v->d + (size_t)s * SEC;
}

static uint8_t *block(struct vol *v, uint32_t lbn)
{
	return sector(v, PART_START + lbn);
}

static void udf_stamp(uint8_t *p)
{
	put_le16(p, 1 << 12);   /* local time, offset 0 */
	put_le16(p + 2, 2010);
	p[4] = 1;
	p[5] = 2;
	p[6] = 3;
	p[7] = 4;
	p[8] = 5;
}

/* A file entry at lbn: file type, allocation type, size, allocation descriptors or embedded bytes. */
static void file_entry(struct vol *v, uint32_t lbn, uint8_t ftype, uint8_t ad_type, uint64_t size,
		       const void *ads, uint32_t ads_len)
{
	uint8_t *b = block(v, lbn);

	memset(b, 0, SEC);
	put_le16(b + 20, 4);            /* strategy 4 */
	b[27] = ftype;
	put_le16(b + 34, ad_type);
	put_le64(b + 56, size);
	udf_stamp(b + 84);
	put_le32(b + 168, 0);
	put_le32(b + 172, ads_len);
	memcpy(b + 176, ads, ads_len);
	tag(b, 261, lbn);
}

static void short_ad(uint8_t *p, uint32_t len, uint32_t lbn)
{
	put_le32(p, len);
	put_le32(p + 4, lbn);
}

/* One file identifier descriptor at p; returns its padded length. */
static size_t fid(uint8_t *p, uint8_t flags, const char *name, uint32_t icb)
{
	size_t l_fi = name ? strlen(name) + 1 : 0, len = (38 + l_fi + 3) & ~(size_t)3;

	memset(p, 0, len);
	put_le16(p + 16, 1);
	p[18] = flags;
	p[19] = (uint8_t)l_fi;
	put_le32(p + 20, SEC);
	put_le32(p + 24, icb);
	if (name) {
		p[38] = 8;
		memcpy(p + 39, name, l_fi - 1);
	}
	tag(p, 257, 0);
	return len;
}

static struct vol make_vol(uint32_t small_icb, const char *odd_name, uint32_t file_lbn)
{
	struct vol v = { .small_icb = small_icb, .odd_name = odd_name, .file_lbn = file_lbn };
	uint8_t dir[3 * SEC], ads[16], small[512];
	size_t n = 0, sn = 0;
	uint8_t *s;

	v.d = calloc(N_SECTORS, SEC);
	/* volume recognition */
	memcpy(sector(&v, 16) + 1, "BEA01", 5);
	memcpy(sector(&v, 17) + 1, "NSR02", 5);
	memcpy(sector(&v, 18) + 1, "TEA01", 5);
	/* anchor -> main volume descriptor sequence at 32 */
	s = sector(&v, 256);
	put_le32(s + 16, 4 * SEC);
	put_le32(s + 20, 32);
	tag(s, 2, 256);
	s = sector(&v, 32);        /* partition descriptor */
	put_le16(s + 22, 0);
	put_le32(s + 188, PART_START);
	put_le32(s + 192, PART_LEN);
	tag(s, 5, 32);
	s = sector(&v, 33);        /* logical volume descriptor */
	s[84] = 8;
	memcpy(s + 85, "SYNTH", 5);
	s[84 + 127] = 6;
	put_le32(s + 212, SEC);
	put_le16(s + 240, 0x0102);
	put_le32(s + 248, SEC);
	put_le32(s + 252, LB_FSD);
	put_le32(s + 264, 6);
	put_le32(s + 268, 1);
	s[440] = 1;
	s[441] = 6;
	put_le16(s + 442, 1);
	put_le16(s + 444, 0);
	tag(s, 6, 33);
	tag(sector(&v, 34), 8, 34);
	/* file set descriptor -> root */
	s = block(&v, LB_FSD);
	put_le32(s + 400, SEC);
	put_le32(s + 404, LB_ROOT);
	tag(s, 256, LB_FSD);
	/* root directory: parent, bootmgr, Small, N_FILES long names: crosses into a second block */
	n += fid(dir + n, 0x0A, NULL, LB_ROOT);
	n += fid(dir + n, 0, odd_name ? odd_name : "bootmgr", LB_BOOTMGR);
	n += fid(dir + n, 0x02, "Small", small_icb);
	for (int i = 0; i < N_FILES; i++) {
		char name[64];

		snprintf(name, sizeof(name), "File number %02d with a Long Name.txt", i);
		n += fid(dir + n, 0, name, LB_FILE);
	}
	memcpy(block(&v, LB_ROOTDATA), dir, n);
	short_ad(ads, (uint32_t)n, LB_ROOTDATA);
	file_entry(&v, LB_ROOT, 4, 0, n, ads, 8);
	/* the shared file: 3000 bytes in one extent */
	short_ad(ads, 3000, file_lbn);
	memset(block(&v, LB_FILEDATA), 'F', 2 * SEC);
	file_entry(&v, LB_FILE, 5, 0, 3000, ads, 8);
	short_ad(ads, 4, LB_BMDATA);
	memcpy(block(&v, LB_BMDATA), "BMGR", 4);
	file_entry(&v, LB_BOOTMGR, 5, 0, 4, ads, 8);
	/* Small: entries embedded in the file entry; inner.txt: data embedded */
	sn += fid(small + sn, 0x0A, NULL, LB_ROOT);
	sn += fid(small + sn, 0, "inner.txt", LB_INNER);
	file_entry(&v, LB_SMALL, 4, 3, sn, small, (uint32_t)sn);
	file_entry(&v, LB_INNER, 5, 3, 5, "hello", 5);
	return v;
}

static int open_vol(struct vol *v, size_t sectors, struct iso_image *img, struct dd_err *err)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/udf.img", check_tmpdir());
	if (check_write_file(path, v->d, sectors * SEC))
		return -100;
	return iso_open(path, img, err);
}

TEST(udf_reads_multiblock_and_embedded)
{
	struct vol v = make_vol(LB_SMALL, NULL, LB_FILEDATA);
	struct iso_image img;
	struct dd_err err = { 0 };
	struct iso_node *n;
	char buf[8] = { 0 };

	CHECK_EQ_INT(open_vol(&v, N_SECTORS, &img, &err), 0);
	free(v.d);
	CHECK_STR_CONTAINS(img.fs, "UDF 1.02");
	CHECK_STR_CONTAINS(img.volume_id, "SYNTH");
	CHECK_EQ_U64(img.root->n_kids, 2 + N_FILES);
	n = iso_lookup(img.root, "File number 39 with a Long Name.txt");
	CHECK(n && !n->is_dir && n->size == 3000);
	CHECK(!strcmp(n->name, "File number 39 with a Long Name.txt"));  /* case kept */
	n = iso_lookup(img.root, "small/inner.txt");
	CHECK(n && n->size == 5);
	CHECK_EQ_INT(iso_read(&img, n, 0, buf, 5, &err), 0);
	CHECK(!strcmp(buf, "hello"));
	n = iso_lookup(img.root, "bootmgr");
	CHECK(n && n->size == 4);
	CHECK_EQ_INT(iso_read(&img, n, 0, buf, 4, &err), 0);
	CHECK(!memcmp(buf, "BMGR", 4));
	CHECK_EQ_INT(n->mtime, iso_civil_to_unix(2010, 1, 2, 3, 4, 5));
	iso_close(&img);
}

static void expect_refused(struct vol *v, size_t sectors, const char *why)
{
	struct iso_image img;
	struct dd_err err = { 0 };
	int rc = open_vol(v, sectors, &img, &err);

	free(v->d);
	if (!rc)
		iso_close(&img);
	CHECK_EQ_INT(rc, DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, why);
	CHECK(!strchr(err.msg, '\n'));
}

TEST(udf_refuses_directory_loop)
{
	struct vol v = make_vol(LB_ROOT, NULL, LB_FILEDATA);

	expect_refused(&v, N_SECTORS, "directory loop");
}

TEST(udf_refuses_dotdot_name)
{
	struct vol v = make_vol(LB_SMALL, "..", LB_FILEDATA);

	expect_refused(&v, N_SECTORS, "unsafe file name");
}

TEST(udf_refuses_slash_name)
{
	struct vol v = make_vol(LB_SMALL, "..\\..\\boot.ini", LB_FILEDATA);

	expect_refused(&v, N_SECTORS, "unsafe file name");
}

/* "Small" marked as a parent entry: once skipped with everything under it */
TEST(udf_refuses_parent_entry_out_of_place)
{
	struct vol v = make_vol(LB_SMALL, NULL, LB_FILEDATA);

	block(&v, LB_ROOTDATA)[40 + 48 + 18] = 0x0A;  /* third FID (after the parent and "bootmgr") */
	expect_refused(&v, N_SECTORS, "UDF parent entry out of place");
}

TEST(udf_refuses_extent_outside_partition)
{
	struct vol v = make_vol(LB_SMALL, NULL, 100000);

	expect_refused(&v, N_SECTORS, "outside the partition");
}

TEST(udf_refuses_truncated)
{
	struct vol v = make_vol(LB_SMALL, NULL, LB_FILEDATA);

	expect_refused(&v, PART_START + 8, "truncated");
}

TEST(udf_refuses_damaged_file_entry)
{
	struct vol v = make_vol(LB_SMALL, NULL, LB_FILEDATA);

	block(&v, LB_INNER)[4] ^= 0x55;  /* tag checksum */
	expect_refused(&v, N_SECTORS, "file entry expected");
}

TEST(udf_refuses_type2_partition_map)
{
	struct vol v = make_vol(LB_SMALL, NULL, LB_FILEDATA);
	uint8_t *lvd = sector(&v, 33);

	lvd[440] = 2;
	tag(lvd, 6, 33);
	expect_refused(&v, N_SECTORS, "partition map type 2");
}

/* Random damage anywhere in the descriptors and directories: any answer but a crash, a hang or a leak. */
TEST(udf_survives_random_damage)
{
	uint64_t seed = 12345;

	for (int round = 0; round < 300; round++) {
		struct vol v = make_vol(LB_SMALL, NULL, LB_FILEDATA);
		struct iso_image img;
		struct dd_err err = { 0 };
		uint8_t r[16];

		for (int k = 0; k < 6; k++) {
			uint32_t s, off;

			check_fill_random(r, sizeof(r), seed++);
			/* damage the descriptors and metadata blocks, not the empty space */
			s = (r[0] % 4 == 0) ? 32 + r[1] % 3 : (r[0] % 4 == 1) ? 256 : PART_START + r[1] % 12;
			off = (uint32_t)(r[2] | r[3] << 8) % SEC;
			sector(&v, s)[off] = r[4];
		}
		if (open_vol(&v, N_SECTORS, &img, &err) == 0)
			iso_close(&img);
		free(v.d);
	}
}

int main(void)
{
	RUN(udf_reads_multiblock_and_embedded);
	RUN(udf_refuses_directory_loop);
	RUN(udf_refuses_dotdot_name);
	RUN(udf_refuses_slash_name);
	RUN(udf_refuses_parent_entry_out_of_place);
	RUN(udf_refuses_extent_outside_partition);
	RUN(udf_refuses_truncated);
	RUN(udf_refuses_damaged_file_entry);
	RUN(udf_refuses_type2_partition_map);
	RUN(udf_survives_random_damage);
	return check_done();
}
