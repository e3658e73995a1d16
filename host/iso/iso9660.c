/* The ISO 9660 / Joliet / Rock Ridge tree through libcdio's libiso9660 (used when there is no UDF). */
#include "host/iso/iso.h"

#include <cdio/iso9660.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct walk {
	struct iso_image *img;
	iso9660_t *iso;
	lsn_t *seen;          /* directory extents already visited: a loop visits one twice */
	size_t n_seen, cap_seen;
	size_t nodes;
};

static int seen_dir(struct walk *w, lsn_t lsn, struct dd_err *err)
{
	for (size_t i = 0; i < w->n_seen; i++)
		if (w->seen[i] == lsn)
			return 1;
	if (w->n_seen == w->cap_seen) {
		size_t cap = w->cap_seen ? w->cap_seen * 2 : 64;
		lsn_t *s = realloc(w->seen, cap * sizeof(*s));

		if (!s)
			return dd_fail(err, DD_ENOMEM, "out of memory");
		w->seen = s;
		w->cap_seen = cap;
	}
	w->seen[w->n_seen++] = lsn;
	return 0;
}

/* Recorded name -> the name users see: "SETUP.EXE;1" -> "SETUP.EXE", "README.;1" -> "README". */
static void clean_name(const char *raw, bool rock_ridge, char *out, size_t len)
{
	size_t n;

	snprintf(out, len, "%s", raw);
	if (rock_ridge)
		return;
	n = strlen(out);
	for (size_t i = n; i > 0; i--) {
		if (out[i - 1] == ';') {
			out[i - 1] = '\0';
			break;
		}
		if (out[i - 1] < '0' || out[i - 1] > '9')
			break;
	}
	n = strlen(out);
	if (n > 1 && out[n - 1] == '.')
		out[n - 1] = '\0';
}

/* libcdio gives local or UTC broken-down time with tm_gmtoff set: back to UTC seconds. */
static int64_t stat_time(const iso9660_stat_t *st)
{
	struct tm tm = st->tm;
	long gmtoff = tm.tm_gmtoff;

	return (int64_t)timegm(&tm) - gmtoff;
}

static int walk_dir(struct walk *w, struct iso_node *dir, const char *path, int depth, struct dd_err *err);

static int add_entry(struct walk *w, struct iso_node *dir, const char *path, iso9660_stat_t *st,
		     int depth, struct dd_err *err)
{
	struct iso_image *img = w->img;
	char name[1024], sub[4096];
	bool is_dir = st->type == _STAT_DIR;
	struct iso_node *n, *prev = dir->n_kids ? dir->kids[dir->n_kids - 1] : NULL;
	int rc;

	clean_name(st->filename, st->rr.b3_rock == yep, name, sizeof(name));
	snprintf(sub, sizeof(sub), "%s%s", path, name);
	if ((rc = iso_name_check(name, sub, err)))
		return rc;
	if ((uint64_t)st->lsn * ISO_SECTOR > img->size || st->size > img->size - (uint64_t)st->lsn * ISO_SECTOR)
		return dd_fail(err, DD_EINPUT, "%s: data outside the image", sub);
	/* a file over 4 GiB is recorded as several entries of one name (multi-extent) */
	if (!is_dir && prev && !prev->is_dir && !strcmp(prev->name, name))
		n = prev;
	else {
		if (++w->nodes > ISO_MAX_NODES)
			return dd_fail(err, DD_EINPUT, "too many files (over %d)", ISO_MAX_NODES);
		if (!(n = iso_node_new(name, is_dir)))
			return dd_fail(err, DD_ENOMEM, "out of memory");
		n->mtime = stat_time(st);
		if ((rc = iso_node_add(dir, n, err))) {
			iso_node_free(n);
			return rc;
		}
	}
	if (!is_dir) {
		n->size += st->size;
		return iso_node_add_extent(n, (uint64_t)st->lsn * ISO_SECTOR, st->size, false, err);
	}
	if ((rc = seen_dir(w, st->lsn, err)) > 0)
		return dd_fail(err, DD_EINPUT, "%s: directory loop", sub);
	if (rc)
		return rc;
	/* libcdio looks directories up by their recorded names */
	snprintf(sub, sizeof(sub), "%s%s/", path, st->filename);
	return walk_dir(w, n, sub, depth + 1, err);
}

static int walk_dir(struct walk *w, struct iso_node *dir, const char *path, int depth, struct dd_err *err)
{
	CdioList_t *list;
	CdioListNode_t *it;
	int rc = DD_OK;

	if (depth > ISO_MAX_DEPTH)
		return dd_fail(err, DD_EINPUT, "%s: directories nested deeper than %d", path, ISO_MAX_DEPTH);
	list = iso9660_ifs_readdir(w->iso, path);
	if (!list)
		return dd_fail(err, DD_EINPUT, "%s: cannot read directory", path);
	_CDIO_LIST_FOREACH(it, list) {
		iso9660_stat_t *st = _cdio_list_node_data(it);

		if (!strcmp(st->filename, ".") && depth == 0 && (rc = seen_dir(w, st->lsn, err)) < 0)
			break;
		if (!strcmp(st->filename, ".") || !strcmp(st->filename, ".."))
			continue;
		if ((rc = add_entry(w, dir, path, st, depth, err)))
			break;
	}
	iso9660_filelist_free(list);
	return rc;
}

/* The root directory's extent comes from the volume descriptor, not from a directory we already
 * checked: libiso9660 allocates a directory's recorded size before reading it, so an absurd size
 * must be refused here (fuzzing found a 2 GB allocation from a 36 KB image). */
static int check_root(struct walk *w, struct dd_err *err)
{
	iso9660_stat_t *st = iso9660_ifs_stat(w->iso, "/");
	uint64_t size = w->img->size;
	int rc = DD_OK;

	if (!st)
		return dd_fail(err, DD_EINPUT, "/: cannot read the root directory");
	if ((uint64_t)st->lsn * ISO_SECTOR > size || st->size > size - (uint64_t)st->lsn * ISO_SECTOR)
		rc = dd_fail(err, DD_EINPUT, "/: root directory outside the image");
	iso9660_stat_free(st);
	return rc;
}

int iso9660_read(struct iso_image *img, struct dd_err *err)
{
	struct walk w = { .img = img };
	uint8_t joliet;
	int rc;

	w.iso = iso9660_open_ext(img->path, ISO_EXTENSION_ALL);
	if (!w.iso)
		return dd_fail(err, DD_EINPUT, "%s: not a readable ISO 9660 image", img->path);
	joliet = iso9660_ifs_get_joliet_level(w.iso);
	snprintf(img->fs, sizeof(img->fs), "%s", joliet ? "Joliet" : "ISO 9660");
	img->root = iso_node_new("", true);
	if (!img->root) {
		rc = dd_fail(err, DD_ENOMEM, "out of memory");
		goto out;
	}
	img->root->mtime = img->created;
	rc = check_root(&w, err);
	if (!rc)
		rc = walk_dir(&w, img->root, "/", 0, err);
	if (rc)
		dd_err_prefix(err, "%s", img->path);
out:
	free(w.seen);
	iso9660_close(w.iso);
	return rc;
}
