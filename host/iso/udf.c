/* A UDF reader (ECMA-167 3rd edition as profiled by OSTA UDF 1.02-2.01), written here because
 * libudf 2.1.0 drops entries of directories longer than one block and directories embedded in
 * their file entry (FACTS 1): a stick silently missing files is the worst outcome.
 *
 * Read path: volume recognition (NSR02/NSR03) -> anchor (sector 256, else the last sectors) ->
 * volume descriptor sequence (partition and logical volume descriptors) -> file set descriptor ->
 * root file entry -> directories read whole (extents concatenated, or embedded) and parsed as a
 * stream of file identifier descriptors, which may cross block boundaries.
 * Refused with a clear message: block sizes other than 2048, type 2 partition maps (VAT, sparing,
 * metadata partitions of UDF 2.50+), ICB strategy 4096, file types other than file and directory. */
#include "host/iso/iso.h"
#include "host/iso/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAG_PD 5
#define TAG_LVD 6
#define TAG_TD 8
#define TAG_AVDP 2
#define TAG_FSD 256
#define TAG_FID 257
#define TAG_AED 258
#define TAG_FE 261
#define TAG_EFE 266
#define MAX_PARTS 4
#define MAX_DIR_BYTES (64u << 20)
#define MAX_EXTENTS 65536

struct udf {
	struct iso_image *img;
	uint32_t part_start[MAX_PARTS];  /* by partition reference (map index): first sector */
	uint32_t part_len[MAX_PARTS];
	unsigned n_parts;
	size_t nodes;
	struct iso_seen seen;            /* directory ICBs visited (partref << 32 | lbn) */
};

struct lb_addr {
	uint32_t lbn;
	uint16_t part;
};

/* A parsed file entry. */
struct fentry {
	bool is_dir;
	uint64_t size;
	int64_t mtime;
	uint8_t ad_type;          /* 0 short, 1 long, 2 extended, 3 embedded */
	const uint8_t *ads;       /* into the block buffer */
	uint32_t ads_len;
	uint16_t part;            /* partition of the ICB (short ADs are relative to it) */
};

static bool tag_ok(const uint8_t *t, uint16_t id)
{
	uint8_t sum = 0;

	for (int i = 0; i < 16; i++)
		if (i != 4)
			sum = (uint8_t)(sum + t[i]);
	return sum == t[4] && get_le16(t) == id;
}

static int read_sector(struct udf *u, uint64_t sector, uint8_t *buf, struct dd_err *err)
{
	return iso_pread(u->img, buf, ISO_SECTOR, sector * ISO_SECTOR, err);
}

static int block_sector(struct udf *u, struct lb_addr a, uint64_t *sector, struct dd_err *err)
{
	if (a.part >= u->n_parts || a.lbn >= u->part_len[a.part])
		return dd_fail(err, DD_EINPUT, "%s: UDF block %u of partition %u is outside the partition",
			       u->img->path, a.lbn, a.part);
	*sector = (uint64_t)u->part_start[a.part] + a.lbn;
	return DD_OK;
}

/* UDF timestamp (ECMA-167 1/7.3) -> Unix seconds UTC. */
static int64_t udf_time(const uint8_t *p)
{
	uint16_t tz_type = get_le16(p);
	int tz = tz_type & 0x0FFF;
	int64_t t;

	if (tz & 0x800)
		tz -= 0x1000;
	if (tz < -1440 || tz > 1440)
		tz = 0; /* -2047: not specified */
	t = iso_civil_to_unix((int16_t)get_le16(p + 2), p[4], p[5], p[6], p[7], p[8]);
	return t ? t - (int64_t)tz * 60 : 0;
}

/* OSTA compressed unicode (d-characters) -> UTF-8. */
static int udf_name(const uint8_t *p, size_t len, char *out, size_t out_len)
{
	size_t o = 0;
	uint8_t comp;

	if (!len)
		return -1;
	comp = p[0];
	if (comp != 8 && comp != 16)
		return -1;
	for (size_t i = 1; i < len;) {
		uint32_t c;

		if (comp == 8) {
			c = p[i++];
		} else {
			if (i + 1 >= len)
				return -1;
			c = (uint32_t)p[i] << 8 | p[i + 1];
			i += 2;
		}
		if (o + 4 >= out_len)
			return -1;
		if (c < 0x80) {
			out[o++] = (char)c;
		} else if (c < 0x800) {
			out[o++] = (char)(0xC0 | c >> 6);
			out[o++] = (char)(0x80 | (c & 0x3F));
		} else {
			out[o++] = (char)(0xE0 | c >> 12);
			out[o++] = (char)(0x80 | (c >> 6 & 0x3F));
			out[o++] = (char)(0x80 | (c & 0x3F));
		}
	}
	out[o] = '\0';
	return 0;
}

/* Parse the file entry in blk (one block at lb_addr a). */
static int parse_fe(struct udf *u, const uint8_t *blk, struct lb_addr a, struct fentry *fe, struct dd_err *err)
{
	const char *path = u->img->path;
	bool ext = tag_ok(blk, TAG_EFE);
	uint32_t l_ea, l_ad, base;
	uint8_t ftype;

	if (!ext && !tag_ok(blk, TAG_FE))
		return dd_fail(err, DD_EINPUT, "%s: UDF file entry expected at block %u (damaged image)", path, a.lbn);
	if (get_le32(blk + 12) != a.lbn)
		return dd_fail(err, DD_EINPUT, "%s: UDF file entry at block %u claims block %u", path, a.lbn,
			       get_le32(blk + 12));
	if (get_le16(blk + 20) != 4)
		return dd_fail(err, DD_EINPUT, "%s: UDF ICB strategy %u is not supported", path, get_le16(blk + 20));
	ftype = blk[27];
	if (ftype != 4 && ftype != 5)
		return dd_fail(err, DD_EINPUT, "%s: UDF file type %u (not a file or directory) is not supported",
			       path, ftype);
	memset(fe, 0, sizeof(*fe));
	fe->is_dir = ftype == 4;
	fe->ad_type = get_le16(blk + 34) & 7;
	fe->size = get_le64(blk + 56);
	fe->mtime = udf_time(blk + (ext ? 92 : 84));
	l_ea = get_le32(blk + (ext ? 208 : 168));
	l_ad = get_le32(blk + (ext ? 212 : 172));
	base = ext ? 216 : 176;
	if (l_ea > ISO_SECTOR || l_ad > ISO_SECTOR || base + l_ea + l_ad > ISO_SECTOR)
		return dd_fail(err, DD_EINPUT, "%s: UDF file entry at block %u is malformed", path, a.lbn);
	if (fe->ad_type > 3)
		return dd_fail(err, DD_EINPUT, "%s: UDF allocation type %u unknown", path, fe->ad_type);
	if (fe->ad_type == 3 && fe->size > l_ad)
		return dd_fail(err, DD_EINPUT, "%s: UDF embedded data larger than its entry", path);
	fe->ads = blk + base + l_ea;
	fe->ads_len = l_ad;
	fe->part = a.part;
	return DD_OK;
}

/* Walk the allocation descriptors of fe and add extents (or the embedded data) to n. */
static int load_extents(struct udf *u, const struct fentry *fe, struct iso_node *n, struct dd_err *err)
{
	const char *path = u->img->path;
	uint8_t aed[ISO_SECTOR];
	const uint8_t *ads = fe->ads;
	uint32_t len = fe->ads_len, step = fe->ad_type == 0 ? 8 : fe->ad_type == 1 ? 16 : 20;
	uint64_t have = 0;
	unsigned count = 0;
	int rc;

	if (fe->ad_type == 3) {
		n->inline_data = malloc(fe->size ? fe->size : 1);
		if (!n->inline_data)
			return dd_fail(err, DD_ENOMEM, "out of memory");
		memcpy(n->inline_data, ads, fe->size);
		return DD_OK;
	}
	for (uint32_t off = 0; off + step <= len && have < fe->size;) {
		const uint8_t *ad = ads + off;
		uint32_t raw = get_le32(ad), elen = raw & 0x3FFFFFFF, type = raw >> 30;
		struct lb_addr a;
		uint64_t sector = 0, take;

		if (!elen)
			break;
		if (++count > MAX_EXTENTS)
			return dd_fail(err, DD_EINPUT, "%s: UDF file with too many extents", path);
		if (fe->ad_type == 0)
			a = (struct lb_addr){ get_le32(ad + 4), fe->part };
		else if (fe->ad_type == 1)
			a = (struct lb_addr){ get_le32(ad + 4), get_le16(ad + 8) };
		else
			a = (struct lb_addr){ get_le32(ad + 12), get_le16(ad + 16) };
		if (type == 3) {
			/* the descriptors continue in an allocation extent descriptor */
			if ((rc = block_sector(u, a, &sector, err)) || (rc = read_sector(u, sector, aed, err)))
				return rc;
			if (!tag_ok(aed, TAG_AED) || get_le32(aed + 20) > ISO_SECTOR - 24)
				return dd_fail(err, DD_EINPUT, "%s: UDF allocation extent at block %u is damaged", path,
					       a.lbn);
			len = get_le32(aed + 20);
			ads = aed + 24;
			off = 0;
			continue;
		}
		take = elen < fe->size - have ? elen : fe->size - have;
		if (type == 0) {
			if ((rc = block_sector(u, a, &sector, err)))
				return rc;
			if (sector * ISO_SECTOR + take > u->img->size)
				return dd_fail(err, DD_EINPUT, "%s: truncated (UDF data past the end)", path);
			rc = iso_node_add_extent(n, sector * ISO_SECTOR, take, false, err);
		} else {
			rc = iso_node_add_extent(n, 0, take, true, err);
		}
		if (rc)
			return rc;
		have += take;
		off += step;
	}
	if (have < fe->size)
		return dd_fail(err, DD_EINPUT, "%s: UDF file data shorter than its size", path);
	return DD_OK;
}

static int seen_dir(struct udf *u, struct lb_addr a, struct dd_err *err)
{
	return iso_seen_add(&u->seen, (uint64_t)a.part << 32 | a.lbn, err);
}

static int read_dir(struct udf *u, struct iso_node *dir, int depth, struct dd_err *err);

/* Read the file entry at icb into node n (data extents; a directory's entries, recursively). */
static int load_node(struct udf *u, struct iso_node *n, struct lb_addr icb, int depth, const char *where,
		     struct dd_err *err)
{
	uint8_t blk[ISO_SECTOR];
	struct fentry fe;
	uint64_t sector = 0;
	int rc;

	if ((rc = block_sector(u, icb, &sector, err)) || (rc = read_sector(u, sector, blk, err)) ||
	    (rc = parse_fe(u, blk, icb, &fe, err)))
		return rc;
	if (fe.is_dir != n->is_dir)
		return dd_fail(err, DD_EINPUT, "%s: UDF entry and its file entry disagree on being a directory",
			       where);
	n->mtime = fe.mtime;
	n->size = fe.size;
	if (!fe.is_dir) {
		if (fe.size > ISO_MAX_FILE)
			return dd_fail(err, DD_EINPUT, "%s: file over 4 GiB cannot be stored on FAT32", where);
		return load_extents(u, &fe, n, err);
	}
	if ((rc = seen_dir(u, icb, err)) > 0)
		return dd_fail(err, DD_EINPUT, "%s: directory loop", where);
	if (rc)
		return rc;
	if (fe.size > MAX_DIR_BYTES)
		return dd_fail(err, DD_EINPUT, "%s: UDF directory of absurd size", where);
	if ((rc = load_extents(u, &fe, n, err)))
		return rc;
	return read_dir(u, n, depth + 1, err);
}

/* A directory entry: a new node named name under dir. */
static int add_child(struct udf *u, struct iso_node *dir, const char *name, bool is_dir, struct lb_addr icb,
		     int depth, struct dd_err *err)
{
	struct iso_node *n;
	char where[1024];
	int rc;

	iso_node_path(dir, where, sizeof(where));
	if (strlen(where) + strlen(name) + 2 < sizeof(where))
		snprintf(where + strlen(where), sizeof(where) - strlen(where), "%s%s", where[0] ? "/" : "", name);
	if ((rc = iso_name_check(name, where, err)))
		return rc;
	if (++u->nodes > ISO_MAX_NODES)
		return dd_fail(err, DD_EINPUT, "too many files (over %d)", ISO_MAX_NODES);
	if (!(n = iso_node_new(name, is_dir)))
		return dd_fail(err, DD_ENOMEM, "out of memory");
	if ((rc = iso_node_add(dir, n, err))) {
		iso_node_free(n);
		return rc;
	}
	return load_node(u, n, icb, depth, where, err);
}

/* The directory's data (extents or embedded bytes already on the node) as one buffer of FIDs. */
static int read_dir(struct udf *u, struct iso_node *dir, int depth, struct dd_err *err)
{
	const char *path = u->img->path;
	uint64_t len = dir->size;
	uint8_t *d;
	int rc = DD_OK;

	if (depth > ISO_MAX_DEPTH)
		return dd_fail(err, DD_EINPUT, "%s: directories nested deeper than %d", path, ISO_MAX_DEPTH);
	d = malloc(len ? len : 1);
	if (!d)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	if ((rc = iso_read(u->img, dir, 0, d, len, err)))
		goto out;
	/* the data was only needed here: a directory carries no extents on FAT */
	free(dir->ext);
	dir->ext = NULL;
	dir->n_ext = 0;
	free(dir->inline_data);
	dir->inline_data = NULL;
	dir->size = 0;
	for (uint64_t off = 0; off < len;) {
		const uint8_t *f = d + off;
		uint16_t l_iu;
		uint8_t l_fi, flags;
		uint64_t reclen;
		char name[1024];
		struct lb_addr icb;

		if (len - off < 38 || !tag_ok(f, TAG_FID)) {
			rc = dd_fail(err, DD_EINPUT, "%s: damaged UDF directory entry", path);
			break;
		}
		flags = f[18];
		l_fi = f[19];
		l_iu = get_le16(f + 36);
		reclen = (38u + l_iu + l_fi + 3) & ~3u;
		if (reclen > len - off && 38u + l_iu + l_fi > len - off) {
			rc = dd_fail(err, DD_EINPUT, "%s: damaged UDF directory entry", path);
			break;
		}
		off += reclen;
		/* the parent entry comes first and once: one elsewhere would hide a directory and all
		 * under it, as a Joliet entry named ".." once did */
		if ((flags & 0x08) && off != reclen) {
			rc = dd_fail(err, DD_EINPUT, "%s: UDF parent entry out of place", path);
			break;
		}
		if (flags & 0x0C) /* parent entry (8) or deleted (4) */
			continue;
		icb = (struct lb_addr){ get_le32(f + 24), get_le16(f + 28) };
		if (udf_name(f + 38 + l_iu, l_fi, name, sizeof(name))) {
			rc = dd_fail(err, DD_EINPUT, "%s: UDF file name in an unknown encoding", path);
			break;
		}
		if ((rc = add_child(u, dir, name, flags & 0x02, icb, depth, err)))
			break;
	}
out:
	free(d);
	return rc;
}

static int find_anchor(struct udf *u, uint8_t *avdp, struct dd_err *err)
{
	uint64_t last = u->img->size / ISO_SECTOR - 1;
	uint64_t where[3] = { 256, last, last >= 256 ? last - 256 : 256 };

	for (int i = 0; i < 3; i++) {
		if (where[i] * ISO_SECTOR + ISO_SECTOR > u->img->size)
			continue;
		if (read_sector(u, where[i], avdp, err))
			return DD_EINPUT;
		if (tag_ok(avdp, TAG_AVDP) && get_le32(avdp + 12) == where[i])
			return DD_OK;
	}
	return dd_fail(err, DD_EINPUT, "%s: UDF volume without an anchor (truncated?)", u->img->path);
}

/* Partition maps of the logical volume: only type 1 (plain) maps are read. */
static int read_maps(struct udf *u, const uint8_t *lvd, const uint16_t *pd_num, const uint32_t *pd_start,
		     const uint32_t *pd_len, unsigned n_pd, struct dd_err *err)
{
	uint32_t mt_len = get_le32(lvd + 264), n_maps = get_le32(lvd + 268);
	const uint8_t *m = lvd + 440;

	if (mt_len > ISO_SECTOR - 440 || !n_maps || n_maps > MAX_PARTS)
		return dd_fail(err, DD_EINPUT, "%s: UDF partition maps malformed", u->img->path);
	for (uint32_t i = 0; i < n_maps; i++) {
		bool found = false;

		if (m + 6 > lvd + 440 + mt_len || m[1] < 6)
			return dd_fail(err, DD_EINPUT, "%s: UDF partition maps malformed", u->img->path);
		if (m[0] != 1)
			return dd_fail(err, DD_EINPUT, "%s: UDF partition map type %u (virtual, sparable or metadata "
				       "partition of UDF 2.50+) is not supported", u->img->path, m[0]);
		for (unsigned j = 0; j < n_pd && !found; j++) {
			if (pd_num[j] != get_le16(m + 4))
				continue;
			u->part_start[i] = pd_start[j];
			u->part_len[i] = pd_len[j];
			found = true;
		}
		if (!found)
			return dd_fail(err, DD_EINPUT, "%s: UDF partition %u has no descriptor", u->img->path,
				       get_le16(m + 4));
		u->n_parts++;
		m += m[1];
	}
	return DD_OK;
}

static bool has_nsr(struct udf *u, struct dd_err *err)
{
	uint8_t vd[ISO_SECTOR];

	for (uint32_t s = 16; s < 16 + 64; s++) {
		if (read_sector(u, s, vd, err))
			return false;
		if (!memcmp(vd + 1, "NSR02", 5) || !memcmp(vd + 1, "NSR03", 5))
			return true;
		if (memcmp(vd + 1, "CD001", 5) && memcmp(vd + 1, "BEA01", 5) && memcmp(vd + 1, "BOOT2", 5))
			return false;
	}
	return false;
}

static int read_vds(struct udf *u, const uint8_t *avdp, uint8_t *lvd, uint16_t *rev, struct dd_err *err)
{
	uint32_t len = get_le32(avdp + 16), loc = get_le32(avdp + 20);
	uint16_t pd_num[MAX_PARTS];
	uint32_t pd_start[MAX_PARTS], pd_len[MAX_PARTS];
	unsigned n_pd = 0;
	bool have_lvd = false;
	uint8_t d[ISO_SECTOR];
	int rc;

	for (uint32_t i = 0; i < len / ISO_SECTOR && i < 256; i++) {
		if ((rc = read_sector(u, (uint64_t)loc + i, d, err)))
			return rc;
		if (tag_ok(d, TAG_TD))
			break;
		if (tag_ok(d, TAG_PD) && n_pd < MAX_PARTS) {
			pd_num[n_pd] = get_le16(d + 22);
			pd_start[n_pd] = get_le32(d + 188);
			pd_len[n_pd] = get_le32(d + 192);
			n_pd++;
		} else if (tag_ok(d, TAG_LVD) && !have_lvd) {
			memcpy(lvd, d, ISO_SECTOR);
			have_lvd = true;
		}
	}
	if (!have_lvd || !n_pd)
		return dd_fail(err, DD_EINPUT, "%s: UDF volume descriptors incomplete", u->img->path);
	if (get_le32(lvd + 212) != ISO_SECTOR)
		return dd_fail(err, DD_EINPUT, "%s: UDF block size %u is not supported", u->img->path,
			       get_le32(lvd + 212));
	*rev = get_le16(lvd + 216 + 24);
	for (unsigned i = 0; i < n_pd; i++)
		if ((uint64_t)pd_start[i] + pd_len[i] > u->img->size / ISO_SECTOR + 1)
			return dd_fail(err, DD_EINPUT, "%s: truncated (UDF partition past the end)", u->img->path);
	return read_maps(u, lvd, pd_num, pd_start, pd_len, n_pd, err);
}

int udf_read(struct iso_image *img, struct dd_err *err)
{
	struct udf u = { .img = img };
	uint8_t avdp[ISO_SECTOR], lvd[ISO_SECTOR], fsd[ISO_SECTOR];
	struct lb_addr fsd_at, root_at;
	uint64_t sector = 0;
	uint16_t rev = 0;
	char lvid[256];
	int rc;

	if (!has_nsr(&u, err))
		return 1;
	if ((rc = find_anchor(&u, avdp, err)) || (rc = read_vds(&u, avdp, lvd, &rev, err)))
		return rc;
	fsd_at = (struct lb_addr){ get_le32(lvd + 252), get_le16(lvd + 256) };
	if ((rc = block_sector(&u, fsd_at, &sector, err)) || (rc = read_sector(&u, sector, fsd, err)))
		return rc;
	if (!tag_ok(fsd, TAG_FSD))
		return dd_fail(err, DD_EINPUT, "%s: UDF file set descriptor missing", img->path);
	root_at = (struct lb_addr){ get_le32(fsd + 404), get_le16(fsd + 408) };
	if (!img->volume_id[0] && lvd[84 + 127] && lvd[84 + 127] < 127 &&
	    !udf_name(lvd + 84, lvd[84 + 127], lvid, sizeof(lvid)))
		snprintf(img->volume_id, sizeof(img->volume_id), "%.63s", lvid);
	snprintf(img->fs, sizeof(img->fs), "UDF %x.%02x", rev >> 8, rev & 0xFF);
	img->root = iso_node_new("", true);
	if (!img->root)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	rc = load_node(&u, img->root, root_at, 0, "/", err);
	if (rc)
		dd_err_prefix(err, "%s", img->path);
	iso_seen_free(&u.seen);
	if (!rc && !img->root->mtime)
		img->root->mtime = img->created;
	return rc;
}
