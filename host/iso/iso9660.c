/* The ISO 9660 / Joliet / Rock Ridge tree (used when there is no UDF), read here by directory
 * extent (ECMA-119 9.1 directory records; Joliet: UCS-2/UTF-16 names in a supplementary volume
 * descriptor; Rock Ridge: the NM entries of the System Use Sharing Protocol, with continuation
 * areas, and deep directory relocation, CL / RE). libiso9660 is not used: it reads a directory by
 * path, walking from the root again for each one, which made 20 000 directories take 94 s; and it
 * reports a Joliet or Rock Ridge entry named "." or ".." like the directory's own special records,
 * so it was skipped with everything under it. Here the special records are the first two of a
 * directory, told by their recorded identifier bytes (0x00, 0x01), and any other entry gets its
 * decoded name checked. */
#include "host/iso/iso.h"
#include "host/iso/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DESCRIPTORS 64        /* volume descriptors read before giving up on a terminator */
#define MAX_DIR_BYTES (64u << 20) /* as UDF: far above any real directory */
#define MAX_CONTINUATIONS 32      /* Rock Ridge continuation areas of one record */
#define NAME_BYTES 1024           /* a decoded name: 255 UTF-16 units, 4 UTF-8 bytes at most each */

struct walk {
	struct iso_image *img;
	bool joliet;
	int rr_skip;              /* Rock Ridge: SUSP bytes to skip in each record, -1 when absent */
	struct iso_seen seen;     /* directory extents read: a loop reads one twice */
	size_t nodes;
	uint32_t *moved;          /* Rock Ridge: directories relocated away (RE), each must be linked (CL) */
	size_t n_moved, cap_moved;
};

/* One directory record, as far as the tree needs it. */
struct record {
	uint32_t lba;             /* first sector of the data (after any extended attribute record) */
	uint32_t size;
	uint8_t flags;
	int64_t mtime;
	bool special;             /* identifier 0x00 or 0x01: the directory itself or its parent */
	bool moved;               /* Rock Ridge RE: a directory that lives at the CL entry pointing here */
	char name[NAME_BYTES];
};

#define FLAG_DIR 0x02
#define FLAG_MULTI 0x80

/* ---------- names ---------- */

static size_t put_utf8(char *out, size_t o, uint32_t cp)
{
	if (cp < 0x80) {
		out[o++] = (char)cp;
	} else if (cp < 0x800) {
		out[o++] = (char)(0xC0 | cp >> 6);
		out[o++] = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		out[o++] = (char)(0xE0 | cp >> 12);
		out[o++] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[o++] = (char)(0x80 | (cp & 0x3F));
	} else {
		out[o++] = (char)(0xF0 | cp >> 18);
		out[o++] = (char)(0x80 | (cp >> 12 & 0x3F));
		out[o++] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[o++] = (char)(0x80 | (cp & 0x3F));
	}
	return o;
}

/* Joliet: UTF-16 big-endian (UCS-2 in the standard; surrogate pairs kept together) -> UTF-8. */
static int joliet_name(const uint8_t *p, size_t len, char *out)
{
	size_t o = 0;

	if (len % 2)
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		uint32_t cp = (uint32_t)p[i] << 8 | p[i + 1];

		if (cp >= 0xD800 && cp <= 0xDBFF && i + 3 < len) {
			uint32_t lo = (uint32_t)p[i + 2] << 8 | p[i + 3];

			if (lo >= 0xDC00 && lo <= 0xDFFF) {
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				i += 2;
			}
		}
		if (!cp || (cp >= 0xD800 && cp <= 0xDFFF))
			return -1; /* NUL, or half a pair: not a name */
		o = put_utf8(out, o, cp);
	}
	out[o] = '\0';
	return 0;
}

/* Recorded name -> the name users see: "SETUP.EXE;1" -> "SETUP.EXE", "README.;1" -> "README". */
static void drop_version(char *name)
{
	size_t n = strlen(name);

	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return; /* refused as they are, not turned into another name */
	for (size_t i = n; i > 0; i--) {
		if (name[i - 1] == ';') {
			name[i - 1] = '\0';
			break;
		}
		if (name[i - 1] < '0' || name[i - 1] > '9')
			break;
	}
	n = strlen(name);
	if (n > 1 && name[n - 1] == '.')
		name[n - 1] = '\0';
}

/* ---------- Rock Ridge ---------- */

struct rr {
	char name[NAME_BYTES];
	size_t len;
	bool has_name;            /* an NM entry was seen */
	uint8_t dot;              /* NM flags 2 "current", 4 "parent": the entry calls itself "." or ".." */
	bool moved;               /* RE: this directory entry is the relocated copy, read through its CL */
	bool linked;              /* CL: this file entry stands for the directory at cl */
	uint32_t cl;
};

/* One System Use area (the record's or a continuation's): NM pieces, and where to continue. */
static int rr_area(const uint8_t *p, size_t len, struct rr *rr, uint32_t ce[3])
{
	size_t off = 0;

	while (off + 4 <= len) {
		const uint8_t *e = p + off;
		size_t elen = e[2];

		if (elen < 4 || elen > len - off)
			break; /* padding or the end */
		if (!memcmp(e, "ST", 2))
			break;
		if (!memcmp(e, "NM", 2) && elen >= 5) {
			size_t n = elen - 5;

			rr->dot |= e[4] & 0x06;
			if (rr->len + n >= sizeof(rr->name))
				return -1;
			memcpy(rr->name + rr->len, e + 5, n);
			rr->len += n;
			rr->has_name = true;
		} else if (!memcmp(e, "CE", 2) && elen >= 28) {
			ce[0] = get_le32(e + 4);
			ce[1] = get_le32(e + 12);
			ce[2] = get_le32(e + 20);
		} else if (!memcmp(e, "RE", 2)) {
			rr->moved = true;
		} else if (!memcmp(e, "CL", 2) && elen >= 12) {
			rr->linked = true;
			rr->cl = get_le32(e + 4);
		}
		off += elen;
	}
	return 0;
}

/* The Rock Ridge name of the record at r (rec_len bytes), following continuation areas. */
static int rr_name(struct walk *w, const uint8_t *r, size_t rec_len, struct rr *rr, const char *where,
		   struct dd_err *err)
{
	size_t su = 33 + r[32] + (r[32] % 2 == 0);
	uint32_t ce[3] = { 0 };
	uint8_t area[ISO_SECTOR];
	int rc;

	memset(rr, 0, sizeof(*rr));
	su += (size_t)w->rr_skip;
	if (su < rec_len && rr_area(r + su, rec_len - su, rr, ce))
		return dd_fail(err, DD_EINPUT, "%s: Rock Ridge name too long", where);
	for (int hop = 0; ce[2]; hop++) {
		uint32_t len = ce[2];

		if (hop == MAX_CONTINUATIONS || ce[1] >= ISO_SECTOR || len > ISO_SECTOR - ce[1])
			return dd_fail(err, DD_EINPUT, "%s: damaged Rock Ridge continuation", where);
		if ((rc = iso_pread(w->img, area, len, (uint64_t)ce[0] * ISO_SECTOR + ce[1], err)))
			return rc;
		ce[2] = 0;
		if (rr_area(area, len, rr, ce))
			return dd_fail(err, DD_EINPUT, "%s: Rock Ridge name too long", where);
	}
	rr->name[rr->len] = '\0';
	if (rr->has_name && memchr(rr->name, '\0', rr->len))
		return dd_fail(err, DD_EINPUT, "%s: unsafe file name (NUL in a Rock Ridge name)", where);
	return DD_OK;
}

/* The SUSP "SP" entry in the root's first record says Rock Ridge (or another SUSP extension) is
 * there and how many bytes each System Use area starts with. */
static int rr_detect(const uint8_t *dot, size_t rec_len)
{
	size_t su = 33 + dot[32] + (dot[32] % 2 == 0);

	if (su + 7 > rec_len || memcmp(dot + su, "SP", 2) || dot[su + 2] < 7 || dot[su + 4] != 0xBE ||
	    dot[su + 5] != 0xEF)
		return -1;
	return dot[su + 6];
}

/* ---------- directory records ---------- */

/* Rock Ridge deep directory relocation (mkisofs -R puts folders deeper than 8 levels under rr_moved):
 * a CL entry is a file record standing for the directory at its block (the size comes from that
 * directory's own first record); the RE entry under rr_moved is the same directory, not read there. */
static int relocation(struct walk *w, const struct rr *rr, struct record *rec, const char *where,
		      struct dd_err *err)
{
	uint8_t dot[34];
	int rc;

	rec->moved = rr->moved;
	if (!rr->linked)
		return DD_OK;
	if ((rc = iso_pread(w->img, dot, sizeof(dot), (uint64_t)rr->cl * ISO_SECTOR, err)))
		return rc;
	if (dot[0] < 34 || dot[32] != 1 || dot[33] != 0 || get_le32(dot + 2) != rr->cl)
		return dd_fail(err, DD_EINPUT, "%s: Rock Ridge link to no directory", where);
	rec->flags = (uint8_t)((rec->flags | FLAG_DIR) & ~FLAG_MULTI);
	rec->lba = rr->cl;
	rec->size = get_le32(dot + 10);
	return DD_OK;
}

/* Remember a relocated directory: the walk must reach it through its link. */
static int moved_add(struct walk *w, uint32_t lba, struct dd_err *err)
{
	if (w->n_moved == w->cap_moved) {
		size_t cap = w->cap_moved ? w->cap_moved * 2 : 16;
		uint32_t *m = realloc(w->moved, cap * sizeof(*m));

		if (!m)
			return dd_fail(err, DD_ENOMEM, "out of memory");
		w->moved = m;
		w->cap_moved = cap;
	}
	w->moved[w->n_moved++] = lba;
	return DD_OK;
}

/* Parse the record at r (rec_len bytes, already bounded by its sector) into rec. */
static int parse_record(struct walk *w, const uint8_t *r, size_t rec_len, const char *path, struct record *rec,
			struct dd_err *err)
{
	uint8_t len_fi = r[32];
	const uint8_t *fi = r + 33;
	uint64_t lba = (uint64_t)get_le32(r + 2) + r[1];
	struct rr rr;
	char where[1536];
	int rc;

	if (rec_len < 34 || 33u + len_fi > rec_len || !len_fi)
		return dd_fail(err, DD_EINPUT, "%s: damaged directory record", path);
	rec->size = get_le32(r + 10);
	rec->flags = r[25];
	rec->mtime = iso_dir_datetime(r + 18);
	rec->special = len_fi == 1 && fi[0] <= 1;
	rec->moved = false;
	rec->name[0] = '\0';
	if (lba > UINT32_MAX)
		return dd_fail(err, DD_EINPUT, "%s: data outside the image", path);
	rec->lba = (uint32_t)lba;
	if (rec->special)
		return DD_OK;
	if (w->joliet) {
		if (joliet_name(fi, len_fi, rec->name))
			return dd_fail(err, DD_EINPUT, "%s: Joliet name not valid UTF-16", path);
		drop_version(rec->name);
	} else {
		memcpy(rec->name, fi, len_fi);
		rec->name[len_fi] = '\0';
		if (strlen(rec->name) != len_fi)
			return dd_fail(err, DD_EINPUT, "%s: unsafe file name (NUL in an ISO 9660 name)", path);
		drop_version(rec->name);
		snprintf(where, sizeof(where), "%s%s", path, rec->name);
		if (w->rr_skip >= 0 && (rc = rr_name(w, r, rec_len, &rr, where, err)))
			return rc;
		if (w->rr_skip >= 0 && (rc = relocation(w, &rr, rec, where, err)))
			return rc;
		if (w->rr_skip >= 0 && rr.dot)
			snprintf(rr.name, sizeof(rr.name), "%s", rr.dot & 0x04 ? ".." : ".");
		if (w->rr_skip >= 0 && (rr.has_name || rr.dot))
			memcpy(rec->name, rr.name, sizeof(rr.name));
	}
	snprintf(where, sizeof(where), "%s%s", path, rec->name);
	if ((rc = iso_name_check(rec->name, where, err)))
		return rc;
	if (r[26] || r[27])
		return dd_fail(err, DD_EINPUT, "%s: interleaved file (not supported)", where);
	if (rec->size && ((uint64_t)rec->lba * ISO_SECTOR > w->img->size ||
			  rec->size > w->img->size - (uint64_t)rec->lba * ISO_SECTOR))
		return dd_fail(err, DD_EINPUT, "%s: data outside the image", where);
	if ((rec->flags & FLAG_DIR) && (rec->flags & FLAG_MULTI))
		return dd_fail(err, DD_EINPUT, "%s: directory recorded in several extents", where);
	if ((rec->flags & FLAG_DIR) && rec->size > MAX_DIR_BYTES)
		return dd_fail(err, DD_EINPUT, "%s: directory of absurd size", where);
	return DD_OK;
}

/* State of one directory being listed. */
struct listing {
	struct iso_node *dir;
	const char *path;         /* "/" or "/a/b/", for messages */
	size_t index;             /* records seen */
	struct iso_node *multi;   /* a file whose last record said "more extents follow" */
};

/* One record of the directory: a new child, or the next extent of a multi-extent file. */
static int add_record(struct walk *w, struct listing *l, const struct record *rec, struct dd_err *err)
{
	bool is_dir = rec->flags & FLAG_DIR;
	struct iso_node *n = l->multi;
	int rc;

	if (rec->special) {
		/* the directory itself and its parent come first, and only there */
		if (l->index > 2)
			return dd_fail(err, DD_EINPUT, "%s: special directory record out of place", l->path);
		return l->multi ? dd_fail(err, DD_EINPUT, "%s: multi-extent file cut short", l->path) : DD_OK;
	}
	if (rec->moved && !n)
		return moved_add(w, rec->lba, err);
	if (n && (is_dir || strcmp(n->name, rec->name)))
		return dd_fail(err, DD_EINPUT, "%s%s: multi-extent file cut short", l->path, n->name);
	if (!n) {
		if (++w->nodes > ISO_MAX_NODES)
			return dd_fail(err, DD_EINPUT, "too many files (over %d)", ISO_MAX_NODES);
		if (!(n = iso_node_new(rec->name, is_dir)))
			return dd_fail(err, DD_ENOMEM, "out of memory");
		n->mtime = rec->mtime;
		if ((rc = iso_node_add(l->dir, n, err))) {
			iso_node_free(n);
			return rc;
		}
	}
	l->multi = rec->flags & FLAG_MULTI ? n : NULL;
	n->size += rec->size;
	/* a directory keeps its extent here until it is read (walk_dir) */
	return iso_node_add_extent(n, (uint64_t)rec->lba * ISO_SECTOR, rec->size, false, err);
}

/* The records of one directory extent, sector by sector (a record never crosses a sector). */
static int list_dir(struct walk *w, struct listing *l, uint64_t off, uint64_t size, struct dd_err *err)
{
	uint8_t sec[ISO_SECTOR];
	struct record *rec = malloc(sizeof(*rec));
	int rc = DD_OK;

	if (!rec)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	for (uint64_t done = 0; done < size && !rc; done += ISO_SECTOR) {
		size_t len = size - done < ISO_SECTOR ? (size_t)(size - done) : ISO_SECTOR;

		if ((rc = iso_pread(w->img, sec, len, off + done, err)))
			break;
		for (size_t p = 0; p < len && sec[p] && !rc; p += sec[p]) {
			if (sec[p] > len - p) {
				rc = dd_fail(err, DD_EINPUT, "%s: damaged directory record", l->path);
				break;
			}
			l->index++;
			if (!(rc = parse_record(w, sec + p, sec[p], l->path, rec, err)))
				rc = add_record(w, l, rec, err);
		}
	}
	if (!rc && l->multi)
		rc = dd_fail(err, DD_EINPUT, "%s%s: multi-extent file cut short", l->path, l->multi->name);
	free(rec);
	return rc;
}

/* Read directory dir (its extent on the node) and, depth first, every directory below it. */
static int walk_dir(struct walk *w, struct iso_node *dir, const char *path, int depth, struct dd_err *err)
{
	struct listing l = { .dir = dir, .path = path };
	uint64_t off, size = dir->size;
	int rc;

	if (depth > ISO_MAX_DEPTH)
		return dd_fail(err, DD_EINPUT, "%s: directories nested deeper than %d", path, ISO_MAX_DEPTH);
	if (dir->n_ext != 1)
		return dd_fail(err, DD_EINPUT, "%s: damaged directory record", path);
	off = dir->ext[0].off;
	if ((rc = iso_seen_add(&w->seen, off / ISO_SECTOR, err)) > 0)
		return dd_fail(err, DD_EINPUT, "%s: directory loop", path);
	/* the data was only needed here: a directory carries no extents on FAT */
	free(dir->ext);
	dir->ext = NULL;
	dir->n_ext = 0;
	dir->size = 0;
	if (rc || (rc = list_dir(w, &l, off, size, err)))
		return rc;
	for (size_t i = 0; i < dir->n_kids; i++) {
		struct iso_node *k = dir->kids[i];
		char sub[4096];

		if (!k->is_dir)
			continue;
		snprintf(sub, sizeof(sub), "%s%s/", path, k->name);
		if ((rc = walk_dir(w, k, sub, depth + 1, err)))
			return rc;
	}
	return DD_OK;
}

/* ---------- volume descriptors ---------- */

/* The root record of the primary volume descriptor, or of a Joliet one when there is one. */
static int find_root(struct walk *w, uint8_t root[34], struct dd_err *err)
{
	uint8_t vd[ISO_SECTOR];
	bool primary = false;
	int rc;

	for (unsigned i = 0; i < MAX_DESCRIPTORS; i++) {
		if ((rc = iso_pread(w->img, vd, sizeof(vd), (16ull + i) * ISO_SECTOR, err)))
			return rc;
		if (memcmp(vd + 1, "CD001", 5) || vd[0] == 255)
			break;
		if (vd[0] == 1 && !primary) {
			if (get_le16(vd + 128) != ISO_SECTOR)
				return dd_fail(err, DD_EINPUT, "%s: logical block size %u (only 2048 is supported)",
					       w->img->path, get_le16(vd + 128));
			primary = true;
			if (!w->joliet)
				memcpy(root, vd + 156, 34);
		}
		/* Joliet: a supplementary descriptor with escape sequence %/@, %/C or %/E (UCS-2 levels 1-3) */
		if (vd[0] == 2 && !w->joliet && vd[88] == '%' && vd[89] == '/' &&
		    (vd[90] == '@' || vd[90] == 'C' || vd[90] == 'E')) {
			w->joliet = true;
			memcpy(root, vd + 156, 34);
		}
	}
	if (!primary)
		return dd_fail(err, DD_EINPUT, "%s: not a readable ISO 9660 image (no primary volume descriptor)",
			       w->img->path);
	return DD_OK;
}

/* Rock Ridge is looked for (without Joliet) in the SP entry of the root directory's "." record. */
static int root_rock_ridge(struct walk *w, const struct iso_node *root, struct dd_err *err)
{
	uint8_t sec[ISO_SECTOR];
	int rc;

	w->rr_skip = -1;
	if (w->joliet || root->n_ext != 1)
		return DD_OK;
	if ((rc = iso_pread(w->img, sec, sizeof(sec), root->ext[0].off, err)))
		return rc;
	if (sec[0] >= 34 && sec[32] == 1 && sec[33] == 0)
		w->rr_skip = rr_detect(sec, sec[0]);
	return DD_OK;
}

int iso9660_read(struct iso_image *img, struct dd_err *err)
{
	struct walk w = { .img = img };
	uint8_t root[34];
	uint64_t lba, size;
	int rc;

	if ((rc = find_root(&w, root, err)))
		return rc;
	snprintf(img->fs, sizeof(img->fs), "%s", w.joliet ? "Joliet" : "ISO 9660");
	lba = (uint64_t)get_le32(root + 2) + root[1];
	size = get_le32(root + 10);
	/* the root's extent comes from the volume descriptor: check it before reading (fuzzing once
	 * found a 2 GB allocation from a 36 KB image in the library used then) */
	if (lba * ISO_SECTOR > img->size || size > img->size - lba * ISO_SECTOR || size > MAX_DIR_BYTES)
		return dd_fail(err, DD_EINPUT, "%s: /: root directory outside the image", img->path);
	img->root = iso_node_new("", true);
	if (!img->root)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	img->root->mtime = img->created;
	img->root->size = size;
	rc = iso_node_add_extent(img->root, lba * ISO_SECTOR, size, false, err);
	if (!rc)
		rc = root_rock_ridge(&w, img->root, err);
	if (!rc)
		rc = walk_dir(&w, img->root, "/", 0, err);
	/* a relocated directory no link reached would be missing from the stick */
	for (size_t i = 0; i < w.n_moved && !rc; i++) {
		int seen = iso_seen_add(&w.seen, w.moved[i], err);

		if (seen < 0)
			rc = seen;
		else if (!seen)
			rc = dd_fail(err, DD_EINPUT, "Rock Ridge relocated directory at sector %u linked from nowhere",
				     (unsigned)w.moved[i]);
	}
	if (rc)
		dd_err_prefix(err, "%s", img->path);
	iso_seen_free(&w.seen);
	free(w.moved);
	return rc;
}
