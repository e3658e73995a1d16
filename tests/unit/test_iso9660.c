/* The ISO 9660 / Joliet / Rock Ridge reader (host/iso/iso9660.c) on images synthesized here, and the
 * FAT view of names (tree.c): multi-extent files, a directory over two sectors, a Rock Ridge name
 * continued in a continuation area; and hostile images (an entry named "." or "..", special records
 * out of place, loops, cut multi-extent files, bad UTF-16) that must be refused with one line (this
 * test also runs under ASan+UBSan). */
#include "check.h"
#include "host/iso/iso.h"
#include "host/iso/util.h"

#include <stdlib.h>

#define SEC 2048
#define N_SECTORS 48
#define S_ROOT 20     /* two sectors */
#define S_SUB 22
#define S_CE 24
#define S_DATA 30

struct img {
	uint8_t *d;
	size_t root_len;  /* bytes used in the root's first sector */
};

static uint8_t *sector(struct img *m, uint32_t s)
{
	return m->d + (size_t)s * SEC;
}

static void both32(uint8_t *p, uint32_t v)
{
	put_le32(p, v);
	p[4] = (uint8_t)(v >> 24);
	p[5] = (uint8_t)(v >> 16);
	p[6] = (uint8_t)(v >> 8);
	p[7] = (uint8_t)v;
}

/* A directory record at p; returns its length. */
static size_t rec(uint8_t *p, uint32_t lba, uint32_t size, uint8_t flags, const void *id, size_t id_len,
		  const void *su, size_t su_len)
{
	size_t len = 33 + id_len + (id_len % 2 == 0) + su_len;

	len += len % 2;
	memset(p, 0, len);
	p[0] = (uint8_t)len;
	both32(p + 2, lba);
	both32(p + 10, size);
	p[18] = 110; /* 2010 */
	p[19] = 1;
	p[20] = 2;
	p[25] = flags;
	p[28] = 1;
	p[32] = (uint8_t)id_len;
	memcpy(p + 33, id, id_len);
	if (su_len)
		memcpy(p + 33 + id_len + (id_len % 2 == 0), su, su_len);
	return len;
}

static void add_root(struct img *m, uint32_t lba, uint32_t size, uint8_t flags, const char *id, size_t id_len,
		     const void *su, size_t su_len)
{
	m->root_len += rec(sector(m, S_ROOT) + m->root_len, lba, size, flags, id, id_len, su, su_len);
}

/* PVD (+ Joliet SVD when joliet) and a root with ".", "..", a sub directory "SUB" holding "IN.TXT". */
static struct img make(bool joliet, bool rock_ridge)
{
	static const uint8_t sp[7] = { 'S', 'P', 7, 1, 0xBE, 0xEF, 0 };
	struct img m = { .d = calloc(N_SECTORS, SEC) };
	uint8_t *pvd = sector(&m, 16), *sub = sector(&m, S_SUB);
	size_t n;

	pvd[0] = 1;
	memcpy(pvd + 1, "CD001", 5);
	pvd[6] = 1;
	memcpy(pvd + 40, "SYNTH", 5);
	put_le16(pvd + 128, SEC);
	rec(pvd + 156, S_ROOT, 2 * SEC, 2, "\0", 1, NULL, 0);
	if (joliet) {
		memcpy(sector(&m, 17), pvd, SEC);
		sector(&m, 17)[0] = 2;
		memcpy(sector(&m, 17) + 88, "%/E", 3);
	}
	sector(&m, 18)[0] = 255;
	memcpy(sector(&m, 18) + 1, "CD001", 5);
	add_root(&m, S_ROOT, 2 * SEC, 2, "\0", 1, rock_ridge ? sp : NULL, rock_ridge ? sizeof(sp) : 0);
	add_root(&m, S_ROOT, 2 * SEC, 2, "\1", 1, NULL, 0);
	add_root(&m, S_SUB, SEC, 2, joliet ? "\0S\0U\0B" : "SUB", joliet ? 6 : 3, NULL, 0);
	n = rec(sub, S_SUB, SEC, 2, "\0", 1, NULL, 0);
	n += rec(sub + n, S_ROOT, 2 * SEC, 2, "\1", 1, NULL, 0);
	rec(sub + n, S_DATA, 5, 0, joliet ? "\0I\0N\0.\0T\0X\0T\0;\0001" : "IN.TXT;1", joliet ? 16 : 8, NULL, 0);
	memcpy(sector(&m, S_DATA), "hello", 5);
	/* bootmgr is not needed: the reader does not look for it */
	return m;
}

static int open_img(struct img *m, struct iso_image *iso, struct dd_err *err)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/iso9660.img", check_tmpdir());
	if (check_write_file(path, m->d, N_SECTORS * SEC))
		return -100;
	free(m->d);
	m->d = NULL;
	return iso_open(path, iso, err);
}

static void expect_refused(struct img *m, const char *why)
{
	struct iso_image iso;
	struct dd_err err = { 0 };
	int rc = open_img(m, &iso, &err);

	if (!rc)
		iso_close(&iso);
	CHECK_EQ_INT(rc, DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, why);
	CHECK(!strchr(err.msg, '\n'));
}

TEST(iso9660_multiextent_and_two_sector_directory)
{
	struct img m = make(false, false);
	struct iso_image iso;
	struct dd_err err = { 0 };
	struct iso_node *n;
	char buf[16] = { 0 };

	memcpy(sector(&m, S_DATA + 1), "abcd", 4);
	memcpy(sector(&m, S_DATA + 3), "wxyz", 4);
	/* one file in two extents: 2048 bytes at S_DATA + 1, 4 at S_DATA + 3 */
	add_root(&m, S_DATA + 1, SEC, 0x80, "BIG.BIN;1", 9, NULL, 0);
	add_root(&m, S_DATA + 3, 4, 0, "BIG.BIN;1", 9, NULL, 0);
	/* fill the first sector, so the last entry sits in the second one */
	for (int i = 0; m.root_len < SEC - 60; i++) {
		char id[16];

		snprintf(id, sizeof(id), "F%04d.TXT;1", i);
		add_root(&m, S_DATA, 5, 0, id, strlen(id), NULL, 0);
	}
	rec(sector(&m, S_ROOT + 1), S_DATA, 5, 0, "LATE.TXT;1", 10, NULL, 0);
	CHECK_EQ_INT(open_img(&m, &iso, &err), 0);
	CHECK_STR_CONTAINS(iso.fs, "ISO 9660");
	n = iso_lookup(iso.root, "BIG.BIN");
	CHECK(n && n->size == SEC + 4);
	CHECK_EQ_INT(iso_read(&iso, n, SEC - 2, buf, 6, &err), 0);
	CHECK(!memcmp(buf, "\0\0wxyz", 6) || !memcmp(buf + 2, "wxyz", 4));
	CHECK_EQ_INT(iso_read(&iso, n, 0, buf, 4, &err), 0);
	CHECK(!memcmp(buf, "abcd", 4));
	n = iso_lookup(iso.root, "LATE.TXT");
	CHECK(n && n->size == 5);
	n = iso_lookup(iso.root, "sub/in.txt");
	CHECK(n && n->size == 5);
	CHECK_EQ_INT(n->mtime, iso_civil_to_unix(2010, 1, 2, 0, 0, 0));
	iso_close(&iso);
}

TEST(iso9660_joliet_names)
{
	struct img m = make(true, false);
	struct iso_image iso;
	struct dd_err err = { 0 };
	struct iso_node *n;

	/* "Äpfel 𝄞.txt": a non-ASCII letter and a surrogate pair */
	add_root(&m, S_DATA, 5, 0, "\0\xC4\0p\0f\0e\0l\0 \xD8\x34\xDD\x1E\0.\0t\0x\0t", 24, NULL, 0);
	CHECK_EQ_INT(open_img(&m, &iso, &err), 0);
	CHECK_STR_CONTAINS(iso.fs, "Joliet");
	n = iso_lookup(iso.root, "SUB/IN.TXT");    /* ";1" dropped, found in any case */
	CHECK(n && !strcmp(n->name, "IN.TXT"));
	n = iso_lookup(iso.root, "äpfel \xF0\x9D\x84\x9E.TXT");
	CHECK(n && !strcmp(n->name, "Äpfel \xF0\x9D\x84\x9E.txt"));
	iso_close(&iso);
}

TEST(iso9660_rock_ridge_name_continued)
{
	struct img m = make(false, true);
	struct iso_image iso;
	struct dd_err err = { 0 };
	uint8_t su[40] = { 'N', 'M', 9, 1, 1, 'L', 'o', 'n', 'g' };
	static const uint8_t ce_nm[] = { 'N', 'M', 13, 1, 0, 'N', 'a', 'm', 'e', '.', 't', 'x', 't' };

	/* CE: block S_CE, offset 100, length 13 */
	memcpy(su + 9, "CE", 2);
	su[11] = 28;
	su[12] = 1;
	both32(su + 13, S_CE);
	both32(su + 21, 100);
	both32(su + 29, sizeof(ce_nm));
	memcpy(sector(&m, S_CE) + 100, ce_nm, sizeof(ce_nm));
	add_root(&m, S_DATA, 5, 0, "LONGNAME.TXT;1", 14, su, 37);
	CHECK_EQ_INT(open_img(&m, &iso, &err), 0);
	CHECK(iso_lookup(iso.root, "LongName.txt") && !strcmp(iso_lookup(iso.root, "LongName.txt")->name, "LongName.txt"));
	CHECK(iso_lookup(iso.root, "SUB/IN.TXT"));  /* no NM: the ISO 9660 name */
	iso_close(&iso);
}

/* Deep directory relocation: "LINK" (a file record with CL) stands for the directory at sector 26,
 * "MOVED" (RE) is that directory's relocated copy and is not read there. */
static struct img relocated(bool with_link)
{
	static const uint8_t re[] = { 'R', 'E', 4, 1 };
	uint8_t cl[12] = { 'C', 'L', 12, 1 };
	struct img m = make(false, true);
	uint8_t *d = sector(&m, 26);
	size_t n;

	both32(cl + 4, 26);
	n = rec(d, 26, SEC, 2, "\0", 1, NULL, 0);
	n += rec(d + n, S_ROOT, 2 * SEC, 2, "\1", 1, NULL, 0);
	rec(d + n, S_DATA, 5, 0, "IN2.TXT;1", 9, NULL, 0);
	if (with_link)
		add_root(&m, 0, 0, 0, "LINK", 4, cl, sizeof(cl));
	add_root(&m, 26, SEC, 2, "MOVED", 5, re, sizeof(re));
	return m;
}

TEST(iso9660_rock_ridge_relocation)
{
	struct img m = relocated(true);
	struct iso_image iso;
	struct dd_err err = { 0 };
	struct iso_node *n;

	CHECK_EQ_INT(open_img(&m, &iso, &err), 0);
	n = iso_lookup(iso.root, "LINK");
	CHECK(n && n->is_dir);
	CHECK(iso_lookup(iso.root, "LINK/IN2.TXT"));
	CHECK(!iso_lookup(iso.root, "MOVED"));
	iso_close(&iso);
	m = relocated(false);
	expect_refused(&m, "linked from nowhere");
}

TEST(iso9660_refuses_joliet_dotdot)
{
	struct img m = make(true, false);

	/* a directory named ".." in Joliet, holding files: once skipped like the parent record */
	add_root(&m, S_SUB, SEC, 2, "\0.\0.", 4, NULL, 0);
	expect_refused(&m, "unsafe file name \"..\"");
}

TEST(iso9660_refuses_joliet_dot)
{
	struct img m = make(true, false);

	add_root(&m, S_DATA, 5, 0, "\0.", 2, NULL, 0);
	expect_refused(&m, "unsafe file name \".\"");
}

TEST(iso9660_refuses_rock_ridge_dot)
{
	static const uint8_t nm_dot[] = { 'N', 'M', 6, 1, 0, '.' };
	static const uint8_t nm_current[] = { 'N', 'M', 5, 1, 2 };
	struct img m = make(false, true);

	add_root(&m, S_SUB, SEC, 2, "X", 1, nm_dot, sizeof(nm_dot));
	expect_refused(&m, "/.: unsafe file name \".\"");
	m = make(false, true);
	add_root(&m, S_SUB, SEC, 2, "X", 1, nm_current, sizeof(nm_current));
	expect_refused(&m, "unsafe file name \".\"");
}

TEST(iso9660_refuses_special_record_out_of_place)
{
	struct img m = make(false, false);

	add_root(&m, S_SUB, SEC, 2, "\1", 1, NULL, 0);
	expect_refused(&m, "special directory record out of place");
}

TEST(iso9660_refuses_loop)
{
	struct img m = make(false, false);

	add_root(&m, S_ROOT, 2 * SEC, 2, "AGAIN", 5, NULL, 0);
	expect_refused(&m, "/AGAIN/: directory loop");
}

TEST(iso9660_refuses_cut_multiextent)
{
	struct img m = make(false, false);

	add_root(&m, S_DATA, SEC, 0x80, "BIG.BIN;1", 9, NULL, 0);
	expect_refused(&m, "multi-extent file cut short");
	m = make(false, false);
	add_root(&m, S_DATA, SEC, 0x80, "BIG.BIN;1", 9, NULL, 0);
	add_root(&m, S_DATA, SEC, 0, "OTHER.BIN;1", 11, NULL, 0);
	expect_refused(&m, "multi-extent file cut short");
}

TEST(iso9660_refuses_bad_utf16)
{
	struct img m = make(true, false);

	add_root(&m, S_DATA, 5, 0, "\0a\xD8\x34", 4, NULL, 0);  /* half a surrogate pair */
	expect_refused(&m, "not valid UTF-16");
	m = make(true, false);
	add_root(&m, S_DATA, 5, 0, "\0a\xFF\xFF", 4, NULL, 0);  /* U+FFFF: FAT's long-name padding */
	expect_refused(&m, "U+FFFF");
}

TEST(iso9660_refuses_data_outside)
{
	struct img m = make(false, false);

	add_root(&m, 100000, 5, 0, "FAR.TXT;1", 9, NULL, 0);
	expect_refused(&m, "/FAR.TXT: data outside the image");
}

/* Random damage in the descriptors and directories: any answer but a crash, a hang or a leak. */
TEST(iso9660_survives_random_damage)
{
	uint64_t seed = 777;

	for (int round = 0; round < 300; round++) {
		struct img m = make(round % 2, round % 3 == 0);
		struct iso_image iso;
		struct dd_err err = { 0 };
		uint8_t r[16];

		for (int k = 0; k < 4; k++) {
			uint32_t s;

			check_fill_random(r, sizeof(r), seed++);
			s = (r[0] % 3 == 0) ? 16 + r[1] % 3 : (r[0] % 3 == 1) ? S_ROOT : S_SUB;
			sector(&m, s)[(r[2] | r[3] << 8) % 200] = r[4];
		}
		if (open_img(&m, &iso, &err) == 0)
			iso_close(&iso);
	}
}

/* ---------- names as FAT and Windows see them ---------- */

TEST(fat_names_compare_like_windows)
{
	CHECK_EQ_INT(iso_fat_cmp("Äpfel.txt", "äpfel.TXT"), 0);
	CHECK_EQ_INT(iso_fat_cmp("Σigma", "σigma"), 0);
	CHECK_EQ_INT(iso_fat_cmp("Σigma", "ςigma"), 0);           /* final sigma upcases to Σ too */
	CHECK_EQ_INT(iso_fat_cmp("ПРИВЕТ", "привет"), 0);
	CHECK_EQ_INT(iso_fat_cmp("\xEF\xBD\x81", "\xEF\xBC\xA1"), 0); /* fullwidth a, A */
	CHECK(iso_fat_cmp("Straße", "STRASSE") != 0);              /* no full case folding */
	CHECK(iso_fat_cmp("résumé", "resume") != 0);               /* accents are not case */
	/* outside the BMP Windows upcases nothing: Deseret small and capital long I stay apart */
	CHECK(iso_fat_cmp("\xF0\x90\x90\xA8", "\xF0\x90\x90\x80") != 0);
	CHECK(iso_fat_cmp("a", "ab") < 0);
}

TEST(fat_collision_names_both_and_the_folder)
{
	struct iso_node *root = iso_node_new("", true), *d = iso_node_new("Obst", true);
	struct dd_err err = { 0 };

	CHECK_EQ_INT(iso_node_add(root, d, &err), 0);
	CHECK_EQ_INT(iso_node_add(d, iso_node_new("äpfel.txt", false), &err), 0);
	CHECK_EQ_INT(iso_node_add(d, iso_node_new("Birne.txt", false), &err), 0);
	CHECK_EQ_INT(iso_tree_finish(root, &err), 0);
	CHECK_EQ_INT(iso_node_add(d, iso_node_new("Äpfel.txt", false), &err), 0);
	CHECK_EQ_INT(iso_tree_finish(root, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "/Obst: two entries named \"Äpfel.txt\" and \"äpfel.txt\"");
	iso_node_free(root);
}

TEST(names_windows_cannot_hold)
{
	static const char *const bad[] = { "nul", "NUL.txt", "con", "Aux.tar.gz", "prn ", "com1", "LPT9.log",
					   "COM\xC2\xB9", "conin$", "a\xEF\xBF\xBF", "x.", "x ", ".", "..", "a:b" };
	static const char *const good[] = { "nullify.txt", "console", "com10", "lpt", "auxiliary", "a.nul" };
	struct dd_err err = { 0 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (iso_name_check(bad[i], "w", &err) != DD_EINPUT)
			CHECK_FAIL_("\"%s\" accepted", bad[i]);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (iso_name_check(good[i], "w", &err) != DD_OK)
			CHECK_FAIL_("\"%s\" refused: %s", good[i], err.msg);
}

int main(void)
{
	RUN(iso9660_multiextent_and_two_sector_directory);
	RUN(iso9660_joliet_names);
	RUN(iso9660_rock_ridge_name_continued);
	RUN(iso9660_rock_ridge_relocation);
	RUN(iso9660_refuses_joliet_dotdot);
	RUN(iso9660_refuses_joliet_dot);
	RUN(iso9660_refuses_rock_ridge_dot);
	RUN(iso9660_refuses_special_record_out_of_place);
	RUN(iso9660_refuses_loop);
	RUN(iso9660_refuses_cut_multiextent);
	RUN(iso9660_refuses_bad_utf16);
	RUN(iso9660_refuses_data_outside);
	RUN(iso9660_survives_random_damage);
	RUN(fat_names_compare_like_windows);
	RUN(fat_collision_names_both_and_the_folder);
	RUN(names_windows_cannot_hold);
	return check_done();
}
