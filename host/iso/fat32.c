/* FAT32 image writer (Microsoft "FAT: General Overview of On-Disk Format" 1.03 and the VFAT
 * long-name scheme). See fat32.h. */
#include "host/iso/fat32.h"
#include "host/iso/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECTOR 512u
#define RESERVED_MIN 32u
#define NFATS 2u
#define MIN_CLUSTERS 65525u      /* fewer clusters and every driver calls the volume FAT16 */
#define MAX_DIR_ENTRIES 65536u   /* 32-byte entries a FAT directory may hold */
#define FAT_EOC 0x0FFFFFFFu
#define ATTR_DIR 0x10
#define ATTR_ARCHIVE 0x20
#define ATTR_LABEL 0x08
#define ATTR_LFN 0x0F

/* ---------- names ---------- */

static bool short_char_ok(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c && strchr("!#$%&'()-@^_`{}~", c));
}

/* "BOOTMGR", "BCD", "BOOT.SDI": the name is its own short name (upper case 8.3). */
static bool is_plain_short(const char *name, uint8_t out[11])
{
	const char *dot = strrchr(name, '.');
	size_t base = dot ? (size_t)(dot - name) : strlen(name);
	size_t ext = dot ? strlen(dot + 1) : 0;

	if (!base || base > 8 || ext > 3 || (dot && !ext))
		return false;
	memset(out, ' ', 11);
	for (size_t i = 0; i < base; i++) {
		if (!short_char_ok((unsigned char)name[i]))
			return false;
		out[i] = (uint8_t)name[i];
	}
	for (size_t i = 0; i < ext; i++) {
		if (!short_char_ok((unsigned char)dot[1 + i]))
			return false;
		out[8 + i] = (uint8_t)dot[1 + i];
	}
	return true;
}

static uint8_t short_upper(unsigned char c)
{
	if (c >= 'a' && c <= 'z')
		return (uint8_t)(c - 32);
	return short_char_ok(c) ? c : '_';
}

/* Basis of a generated short name: upper case, spaces and extra dots dropped, others '_'. */
static void short_basis(const char *name, char base[9], char ext[4])
{
	const char *dot = strrchr(name, '.');
	size_t nb = 0, ne = 0;

	if (dot == name)
		dot = NULL;
	for (const char *p = name; *p && p != dot && nb < 8; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == ' ' || c == '.')
			continue;
		if (c >= 0x80) {
			/* one '_' per UTF-8 sequence */
			if ((c & 0xC0) == 0x80)
				continue;
			base[nb++] = '_';
			continue;
		}
		base[nb++] = (char)short_upper(c);
	}
	for (const char *p = dot ? dot + 1 : ""; *p && ne < 3; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == ' ' || (c >= 0x80 && (c & 0xC0) == 0x80))
			continue;
		ext[ne++] = c >= 0x80 ? '_' : (char)short_upper(c);
	}
	if (!nb)
		base[nb++] = '_';
	base[nb] = ext[ne] = '\0';
}

/* Short names taken in one directory: a small open-addressing set. With next, a map instead: for
 * each basis of generated names, the first "~n" not tried yet. */
struct name_set {
	uint8_t (*slot)[11];
	bool *used;
	unsigned *next;
	size_t cap;
};

static uint32_t name_hash(const uint8_t n[11])
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 11; i++)
		h = (h ^ n[i]) * 16777619u;
	return h;
}

static bool set_insert(struct name_set *s, const uint8_t n[11])
{
	size_t i = name_hash(n) & (s->cap - 1);

	while (s->used[i]) {
		if (!memcmp(s->slot[i], n, 11))
			return false;
		i = (i + 1) & (s->cap - 1);
	}
	s->used[i] = true;
	memcpy(s->slot[i], n, 11);
	return true;
}

/* The "~n" counter of a basis (base and extension padded as in a short name), 1 when new. Every
 * "~n" below it was tried already and is taken for good: starting there gives the names that
 * trying from ~1 each time gave, without the quadratic cost of many names on one basis. */
static unsigned *basis_next(struct name_set *m, const char *base, const char *ext)
{
	uint8_t key[11];
	size_t i;

	memset(key, ' ', sizeof(key));
	memcpy(key, base, strlen(base));
	memcpy(key + 8, ext, strlen(ext));
	for (i = name_hash(key) & (m->cap - 1); m->used[i]; i = (i + 1) & (m->cap - 1))
		if (!memcmp(m->slot[i], key, 11))
			return &m->next[i];
	m->used[i] = true;
	memcpy(m->slot[i], key, 11);
	m->next[i] = 1;
	return &m->next[i];
}

static int assign_short_names(struct iso_node *dir, struct dd_err *err)
{
	struct name_set set = { 0 }, memo = { 0 };
	bool *named = calloc(dir->n_kids + 1, sizeof(bool)); /* got its name upper-cased */
	int rc = DD_OK;

	for (set.cap = 16; set.cap < dir->n_kids * 2 + 2; set.cap *= 2)
		;
	memo.cap = set.cap;
	set.slot = calloc(set.cap, 11);
	set.used = calloc(set.cap, sizeof(bool));
	memo.slot = calloc(memo.cap, 11);
	memo.used = calloc(memo.cap, sizeof(bool));
	memo.next = calloc(memo.cap, sizeof(unsigned));
	if (!set.slot || !set.used || !memo.slot || !memo.used || !memo.next || !named) {
		rc = dd_fail(err, DD_ENOMEM, "out of memory");
		goto out;
	}
	/* exact 8.3 names first: they keep their name, generated ones step around them */
	for (size_t i = 0; i < dir->n_kids; i++) {
		struct iso_node *k = dir->kids[i];

		k->need_lfn = !is_plain_short(k->name, k->short_name);
		if (!k->need_lfn)
			set_insert(&set, k->short_name);
	}
	/* then names 8.3 but for case: "bootmgr" -> "BOOTMGR" when free; before any "~n" is made, so
	 * that "longna~1.txt" gets LONGNA~1.TXT and no other file's short name equals its long name */
	for (size_t i = 0; i < dir->n_kids; i++) {
		struct iso_node *k = dir->kids[i];
		uint8_t upper[11];
		char up[16];
		size_t len = strlen(k->name);

		if (!k->need_lfn || len >= sizeof(up))
			continue;
		for (size_t j = 0; j <= len; j++)
			up[j] = (char)(k->name[j] >= 'a' && k->name[j] <= 'z' ? k->name[j] - 32 : k->name[j]);
		if (is_plain_short(up, upper) && set_insert(&set, upper)) {
			memcpy(k->short_name, upper, 11);
			named[i] = true;
		}
	}
	for (size_t i = 0; i < dir->n_kids; i++) {
		struct iso_node *k = dir->kids[i];
		char base[9], ext[4], tail[10];
		unsigned *next;
		bool done = false;

		if (!k->need_lfn || named[i])
			continue;
		short_basis(k->name, base, ext);
		next = basis_next(&memo, base, ext);
		for (unsigned n = *next; !done && n < 1000000; n++) {
			size_t tl = (size_t)snprintf(tail, sizeof(tail), "~%u", n);
			size_t bl = strlen(base) < 8 - tl ? strlen(base) : 8 - tl;

			memset(k->short_name, ' ', 11);
			memcpy(k->short_name, base, bl);
			memcpy(k->short_name + bl, tail, tl);
			memcpy(k->short_name + 8, ext, strlen(ext));
			done = set_insert(&set, k->short_name);
			*next = n + 1;
		}
		if (!done) {
			rc = dd_fail(err, DD_EINPUT, "%s: too many similar names", k->name);
			goto out;
		}
		if (k->short_name[0] == 0xE5)
			k->short_name[0] = 0x05;
	}
out:
	free(set.slot);
	free(set.used);
	free(memo.slot);
	free(memo.used);
	free(memo.next);
	free(named);
	return rc;
}

/* UTF-8 -> UTF-16 units; returns the count (names were checked by iso_name_check). */
static size_t utf16_units(const char *s, uint16_t *out, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	while (*p && n < max) {
		uint32_t cp;

		if (p[0] < 0x80) {
			cp = *p++;
		} else if ((p[0] & 0xE0) == 0xC0) {
			cp = (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
			p += 2;
		} else if ((p[0] & 0xF0) == 0xE0) {
			cp = (uint32_t)(p[0] & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
			p += 3;
		} else {
			cp = (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 |
			     (uint32_t)(p[2] & 0x3F) << 6 | (p[3] & 0x3F);
			p += 4;
		}
		if (cp >= 0x10000 && n + 1 < max) {
			cp -= 0x10000;
			out[n++] = (uint16_t)(0xD800 | cp >> 10);
			out[n++] = (uint16_t)(0xDC00 | (cp & 0x3FF));
		} else {
			out[n++] = (uint16_t)cp;
		}
	}
	return n;
}

static size_t lfn_entries(const struct iso_node *k)
{
	uint16_t u[ISO_MAX_NAME + 1];

	return k->need_lfn ? (utf16_units(k->name, u, ISO_MAX_NAME + 1) + 12) / 13 : 0;
}

/* ---------- layout ---------- */

static uint64_t dir_entries(const struct iso_node *dir, bool root)
{
	uint64_t n = root ? 1 : 2; /* volume label, or "." and ".." */

	for (size_t i = 0; i < dir->n_kids; i++)
		n += 1 + lfn_entries(dir->kids[i]);
	return n;
}

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

/* Clusters the whole tree needs with clusters of csize bytes. */
static int tree_clusters(struct iso_node *dir, bool root, uint64_t csize, uint64_t *total, struct dd_err *err)
{
	uint64_t entries;
	int rc;

	if ((rc = assign_short_names(dir, err)))
		return rc;
	entries = dir_entries(dir, root);
	if (entries > MAX_DIR_ENTRIES) {
		char path[1024];

		iso_node_path(dir, path, sizeof(path));
		return dd_fail(err, DD_EINPUT, "/%s: too many entries for one FAT directory", path);
	}
	*total += div_up(entries * 32, csize);
	for (size_t i = 0; i < dir->n_kids; i++) {
		struct iso_node *k = dir->kids[i];

		if (k->is_dir && (rc = tree_clusters(k, false, csize, total, err)))
			return rc;
		if (!k->is_dir)
			*total += div_up(k->size, csize);
	}
	return DD_OK;
}

/* Sectors per cluster for a volume size, as Microsoft's format does for FAT32. */
static uint32_t pick_spc(uint64_t vol_bytes)
{
	if (vol_bytes <= (260ull << 20))
		return 1;
	if (vol_bytes <= (8ull << 30))
		return 8;
	if (vol_bytes <= (16ull << 30))
		return 16;
	if (vol_bytes <= (32ull << 30))
		return 32;
	return 64;
}

uint64_t fat32_auto_size(struct iso_node *root)
{
	uint64_t clusters = 0, bytes;
	struct dd_err err;

	if (tree_clusters(root, true, 4096, &clusters, &err))
		return FAT32_MIN_BYTES;
	bytes = clusters * 4096;
	/* headroom: 10% + 16 MiB, so logs and added drivers fit; FATs on top */
	bytes += bytes / 10 + (16ull << 20);
	bytes += div_up(bytes, 4096) * 4 * NFATS + (1ull << 20);
	if (bytes <= (260ull << 20)) {
		/* 512-byte clusters below 260 MiB: recount at that size */
		clusters = 0;
		if (!tree_clusters(root, true, 512, &clusters, &err)) {
			bytes = clusters * 512;
			bytes += bytes / 10 + (16ull << 20);
			bytes += div_up(bytes, 512) * 4 * NFATS + (1ull << 20);
		}
	}
	if (bytes < FAT32_MIN_BYTES)
		bytes = FAT32_MIN_BYTES;
	return div_up(bytes, 1 << 20) << 20;
}

static void place_dirs(struct iso_node *dir, bool root, uint64_t csize, uint32_t *next)
{
	uint64_t n = div_up(dir_entries(dir, root) * 32, csize);

	dir->first_cluster = *next;
	dir->n_clusters = (uint32_t)n;
	*next += (uint32_t)n;
	for (size_t i = 0; i < dir->n_kids; i++)
		if (dir->kids[i]->is_dir)
			place_dirs(dir->kids[i], false, csize, next);
}

static void place_files(struct iso_node *dir, uint64_t csize, uint32_t *next)
{
	for (size_t i = 0; i < dir->n_kids; i++) {
		struct iso_node *k = dir->kids[i];

		if (k->is_dir) {
			place_files(k, csize, next);
			continue;
		}
		k->n_clusters = (uint32_t)div_up(k->size, csize);
		k->first_cluster = k->n_clusters ? *next : 0;
		*next += k->n_clusters;
	}
}

int fat32_plan(struct iso_node *root, uint64_t vol_bytes, struct fat32_plan *plan, struct dd_err *err)
{
	uint64_t total = vol_bytes / SECTOR, need = 0, data;
	uint32_t spc = pick_spc(vol_bytes), fat = 0, reserved = RESERVED_MIN, next = 2;
	int rc;

	if (vol_bytes < FAT32_MIN_BYTES)
		return dd_fail(err, DD_EINPUT, "FAT32 volume of %llu bytes is too small (at least %llu)",
			       (unsigned long long)vol_bytes, FAT32_MIN_BYTES);
	if (total > 0xFFFFFFFFull)
		return dd_fail(err, DD_EINPUT, "FAT32 volume over 2 TiB");
	/* FAT size (Microsoft's formula), then grow the reserved area so data starts 4 KiB aligned;
	 * a few rounds settle it */
	for (int round = 0; round < 4; round++) {
		uint64_t t2 = (256ull * spc + NFATS) / 2;

		fat = (uint32_t)div_up(total - reserved, t2);
		reserved = RESERVED_MIN + (8 - (RESERVED_MIN + NFATS * fat) % 8) % 8;
	}
	data = (total - reserved - NFATS * (uint64_t)fat) / spc;
	if (data < MIN_CLUSTERS)
		return dd_fail(err, DD_EINPUT, "FAT32 volume too small for %u-byte clusters", spc * SECTOR);
	if (data + 2 > (uint64_t)fat * (SECTOR / 4))
		data = (uint64_t)fat * (SECTOR / 4) - 2;
	if ((rc = tree_clusters(root, true, (uint64_t)spc * SECTOR, &need, err)))
		return rc;
	if (need > data)
		return dd_fail(err, DD_EINPUT, "the files need %llu MiB, the FAT32 volume holds %llu MiB",
			       (unsigned long long)(need * spc * SECTOR >> 20),
			       (unsigned long long)(data * spc * SECTOR >> 20));
	place_dirs(root, true, (uint64_t)spc * SECTOR, &next);
	place_files(root, (uint64_t)spc * SECTOR, &next);
	root->first_cluster = 2;
	plan->vol_sectors = total;
	plan->spc = spc;
	plan->reserved = reserved;
	plan->fat_sectors = fat;
	plan->clusters = (uint32_t)data;
	plan->used = next - 2;
	return DD_OK;
}

/* ---------- encoding ---------- */

void fat32_label(const char *volume_id, char label[12])
{
	size_t n = 0;

	memset(label, ' ', 11);
	for (const char *p = volume_id; *p && n < 11; p++) {
		unsigned char c = (unsigned char)*p;

		label[n++] = c == ' ' ? ' ' : (char)short_upper(c);
	}
	if (!n)
		memcpy(label, "DARTDUP", 7);
	label[11] = '\0';
}

static void fat_datetime(int64_t t, uint16_t *date, uint16_t *time)
{
	int y, mo, d, h, mi, s;

	if (t < 315532800) /* 1980-01-01 */
		t = 315532800;
	if (t > 4354819198) /* 2107-12-31 23:59:58 */
		t = 4354819198;
	iso_unix_to_civil(t, &y, &mo, &d, &h, &mi, &s);
	*date = (uint16_t)((y - 1980) << 9 | mo << 5 | d);
	*time = (uint16_t)(h << 11 | mi << 5 | s / 2);
}

static void short_entry(uint8_t *e, const uint8_t name[11], uint8_t attr, uint32_t cluster, uint32_t size,
			int64_t mtime)
{
	uint16_t date, time;

	memset(e, 0, 32);
	memcpy(e, name, 11);
	e[11] = attr;
	fat_datetime(mtime, &date, &time);
	put_le16(e + 14, time);
	put_le16(e + 16, date);
	put_le16(e + 18, date);
	put_le16(e + 20, (uint16_t)(cluster >> 16));
	put_le16(e + 22, time);
	put_le16(e + 24, date);
	put_le16(e + 26, (uint16_t)cluster);
	put_le32(e + 28, size);
}

static uint8_t short_checksum(const uint8_t name[11])
{
	uint8_t sum = 0;

	for (int i = 0; i < 11; i++)
		sum = (uint8_t)(((sum & 1) << 7) + (sum >> 1) + name[i]);
	return sum;
}

/* Long-name entries (last part first) followed by the short entry. */
static uint8_t *put_entry(uint8_t *p, const struct iso_node *k)
{
	static const uint8_t pos[13] = { 1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30 };
	uint16_t u[ISO_MAX_NAME + 1];
	size_t n = k->need_lfn ? utf16_units(k->name, u, ISO_MAX_NAME) : 0;
	size_t parts = (n + 12) / 13;
	uint8_t sum = short_checksum(k->short_name);

	for (size_t part = parts; part > 0; part--, p += 32) {
		memset(p, 0, 32);
		p[0] = (uint8_t)(part | (part == parts ? 0x40 : 0));
		p[11] = ATTR_LFN;
		p[13] = sum;
		for (size_t j = 0; j < 13; j++) {
			size_t idx = (part - 1) * 13 + j;
			uint16_t c = idx < n ? u[idx] : idx == n ? 0x0000 : 0xFFFF;

			put_le16(p + pos[j], c);
		}
	}
	short_entry(p, k->short_name, k->is_dir ? ATTR_DIR : ATTR_ARCHIVE, k->first_cluster,
		    k->is_dir ? 0 : (uint32_t)k->size, k->mtime);
	return p + 32;
}

static int encode_dir(struct iso_node *dir, bool root, const char *label, uint64_t csize, struct dd_err *err)
{
	uint8_t *p;
	static const uint8_t dot[11] = ".          ", dotdot[11] = "..         ";

	dir->dir_len = dir->n_clusters * csize;
	dir->dir_bytes = calloc(1, dir->dir_len);
	if (!dir->dir_bytes)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	p = dir->dir_bytes;
	if (root) {
		short_entry(p, (const uint8_t *)label, ATTR_LABEL, 0, 0, dir->mtime);
		p += 32;
	} else {
		uint32_t up = dir->parent && dir->parent->parent ? dir->parent->first_cluster : 0;

		short_entry(p, dot, ATTR_DIR, dir->first_cluster, 0, dir->mtime);
		short_entry(p + 32, dotdot, ATTR_DIR, up, 0, dir->mtime);
		p += 64;
	}
	for (size_t i = 0; i < dir->n_kids; i++)
		p = put_entry(p, dir->kids[i]);
	return DD_OK;
}

static void boot_sector(uint8_t *b, const struct fat32_plan *plan)
{
	/* a few bytes of 16-bit code: the volume is booted through the MBR; alone it says so */
	static const uint8_t code[] = {
		0xFA, 0x31, 0xC0, 0x8E, 0xD8, 0x8E, 0xD0, 0xBC, 0x00, 0x7C, 0xFB, 0xBE, 0x79, 0x7C,
		0xAC, 0x84, 0xC0, 0x74, 0x09, 0xB4, 0x0E, 0xBB, 0x07, 0x00, 0xCD, 0x10, 0xEB, 0xF2,
		0xF4, 0xEB, 0xFD,
	};
	static const char msg[] = "This volume is not bootable by itself: boot the disk.\r\n";

	memset(b, 0, SECTOR);
	memcpy(b, "\xEB\x58\x90" "DARTDUP ", 11);
	put_le16(b + 11, SECTOR);
	b[13] = (uint8_t)plan->spc;
	put_le16(b + 14, (uint16_t)plan->reserved);
	b[16] = NFATS;
	b[21] = 0xF8;
	put_le16(b + 24, 63);
	put_le16(b + 26, 255);
	put_le32(b + 28, (uint32_t)plan->hidden);
	put_le32(b + 32, (uint32_t)plan->vol_sectors);
	put_le32(b + 36, plan->fat_sectors);
	put_le32(b + 44, 2);           /* root directory cluster */
	put_le16(b + 48, 1);           /* FSInfo sector */
	put_le16(b + 50, 6);           /* backup boot sector */
	b[64] = 0x80;
	b[66] = 0x29;
	put_le32(b + 67, plan->serial);
	memcpy(b + 71, plan->label, 11);
	memcpy(b + 82, "FAT32   ", 8);
	memcpy(b + 0x5A, code, sizeof(code));
	memcpy(b + 0x79, msg, sizeof(msg));
	b[510] = 0x55;
	b[511] = 0xAA;
}

static void fsinfo_sector(uint8_t *b, const struct fat32_plan *plan)
{
	memset(b, 0, SECTOR);
	put_le32(b, 0x41615252);
	put_le32(b + 484, 0x61417272);
	put_le32(b + 488, plan->clusters - plan->used);
	put_le32(b + 492, plan->used + 2 < plan->clusters + 2 ? plan->used + 2 : 0xFFFFFFFF);
	put_le32(b + 508, 0xAA550000);
}

static void chain(uint32_t *fat, uint32_t first, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		fat[first + i] = i + 1 < n ? first + i + 1 : FAT_EOC;
}

static void fill_fat(uint32_t *fat, const struct iso_node *dir)
{
	chain(fat, dir->first_cluster, dir->n_clusters);
	for (size_t i = 0; i < dir->n_kids; i++) {
		const struct iso_node *k = dir->kids[i];

		if (k->is_dir)
			fill_fat(fat, k);
		else if (k->n_clusters)
			chain(fat, k->first_cluster, k->n_clusters);
	}
}

struct writer {
	const struct iso_image *img;
	const struct fat32_plan *plan;
	int fd;
	uint64_t data_off;      /* byte offset of cluster 2 in fd */
	uint64_t csize;
	uint64_t done, total;
	fat32_progress_fn progress;
	void *ctx;
};

static uint64_t cluster_off(const struct writer *w, uint32_t c)
{
	return w->data_off + (uint64_t)(c - 2) * w->csize;
}

/* A file's data, in slices so a terminal sees progress through a large boot.wim. */
static int copy_file(struct writer *w, const struct iso_node *k, struct dd_err *err)
{
	const uint64_t slice = 32ull << 20;
	uint64_t base = cluster_off(w, k->first_cluster);
	int rc;

	for (uint64_t off = 0; off < k->size; off += slice) {
		uint64_t n = k->size - off < slice ? k->size - off : slice;

		if ((rc = iso_copy_range(w->img, k, off, n, w->fd, base + off, err)))
			return rc;
		w->done += n;
		if (w->progress)
			w->progress(w->ctx, w->done, w->total);
	}
	return DD_OK;
}

static int write_tree(struct writer *w, struct iso_node *dir, bool root, struct dd_err *err)
{
	int rc;

	if ((rc = encode_dir(dir, root, w->plan->label, w->csize, err)))
		return rc;
	if (iso_write_all(w->fd, dir->dir_bytes, dir->dir_len, cluster_off(w, dir->first_cluster)))
		return dd_fail_errno(err, DD_EIO, errno, "write");
	free(dir->dir_bytes);
	dir->dir_bytes = NULL;
	for (size_t i = 0; i < dir->n_kids; i++) {
		struct iso_node *k = dir->kids[i];

		if (k->is_dir)
			rc = write_tree(w, k, false, err);
		else
			rc = copy_file(w, k, err);
		if (rc)
			return rc;
	}
	return DD_OK;
}

int fat32_write(const struct iso_image *img, struct iso_node *root, const struct fat32_plan *plan,
		int fd, uint64_t off, fat32_progress_fn progress, void *ctx, struct dd_err *err)
{
	struct writer w = { .img = img, .plan = plan, .fd = fd, .progress = progress, .ctx = ctx };
	uint64_t fat_bytes = (uint64_t)(plan->used + 2) * 4, files = 0, dirs = 0;
	uint8_t sec[SECTOR];
	uint32_t *fat;
	int rc = DD_OK;

	w.csize = (uint64_t)plan->spc * SECTOR;
	w.data_off = off + (uint64_t)(plan->reserved + NFATS * plan->fat_sectors) * SECTOR;
	iso_tree_stats(root, &files, &dirs, &w.total);
	/* boot sector and FSInfo, and their backups at sectors 6 and 7 */
	boot_sector(sec, plan);
	if (iso_write_all(fd, sec, SECTOR, off) || iso_write_all(fd, sec, SECTOR, off + 6 * SECTOR))
		return dd_fail_errno(err, DD_EIO, errno, "write");
	fsinfo_sector(sec, plan);
	if (iso_write_all(fd, sec, SECTOR, off + SECTOR) || iso_write_all(fd, sec, SECTOR, off + 7 * SECTOR))
		return dd_fail_errno(err, DD_EIO, errno, "write");
	memset(sec, 0, SECTOR);
	sec[510] = 0x55;
	sec[511] = 0xAA;
	if (iso_write_all(fd, sec, SECTOR, off + 2 * SECTOR) || iso_write_all(fd, sec, SECTOR, off + 8 * SECTOR))
		return dd_fail_errno(err, DD_EIO, errno, "write");
	/* the FATs: only the used part, the rest of the fresh file is zero (= free) */
	fat = calloc(1, fat_bytes);
	if (!fat)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	fat[0] = 0x0FFFFFF8;
	fat[1] = FAT_EOC;
	fill_fat(fat, root);
	for (uint32_t i = 0; i < plan->used + 2; i++)
		put_le32((uint8_t *)&fat[i], fat[i]);
	for (uint32_t f = 0; f < NFATS && !rc; f++)
		if (iso_write_all(fd, fat, fat_bytes,
				  off + ((uint64_t)plan->reserved + (uint64_t)f * plan->fat_sectors) * SECTOR))
			rc = dd_fail_errno(err, DD_EIO, errno, "write");
	free(fat);
	if (rc)
		return rc;
	return write_tree(&w, root, true, err);
}
