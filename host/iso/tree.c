#include "host/iso/tree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct iso_node *iso_node_new(const char *name, bool is_dir)
{
	struct iso_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strdup(name);
	if (!n->name) {
		free(n);
		return NULL;
	}
	n->is_dir = is_dir;
	return n;
}

int iso_node_add(struct iso_node *dir, struct iso_node *kid, struct dd_err *err)
{
	if (dir->n_kids == dir->cap_kids) {
		size_t cap = dir->cap_kids ? dir->cap_kids * 2 : 8;
		struct iso_node **k = realloc(dir->kids, cap * sizeof(*k));

		if (!k)
			return dd_fail(err, DD_ENOMEM, "out of memory");
		dir->kids = k;
		dir->cap_kids = cap;
	}
	dir->kids[dir->n_kids++] = kid;
	kid->parent = dir;
	return DD_OK;
}

int iso_node_add_extent(struct iso_node *n, uint64_t off, uint64_t len, bool zero, struct dd_err *err)
{
	struct iso_extent *e;

	if (!len)
		return DD_OK;
	/* merge with the previous extent when contiguous (ISO 9660 multi-extent, UDF split extents) */
	if (n->n_ext) {
		e = &n->ext[n->n_ext - 1];
		if (e->zero == zero && (zero || e->off + e->len == off)) {
			e->len += len;
			return DD_OK;
		}
	}
	e = realloc(n->ext, (n->n_ext + 1) * sizeof(*e));
	if (!e)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	n->ext = e;
	n->ext[n->n_ext++] = (struct iso_extent){ .off = off, .len = len, .zero = zero };
	return DD_OK;
}

void iso_node_free(struct iso_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n_kids; i++)
		iso_node_free(n->kids[i]);
	free(n->kids);
	free(n->name);
	free(n->ext);
	free(n->inline_data);
	free(n->host_path);
	free(n->dir_bytes);
	free(n);
}

struct iso_node *iso_lookup(struct iso_node *dir, const char *path)
{
	while (dir && *path) {
		const char *slash = strchr(path, '/');
		size_t len = slash ? (size_t)(slash - path) : strlen(path);
		struct iso_node *found = NULL;
		char part[ISO_MAX_NAME * 4 + 1];

		if (len >= sizeof(part))
			return NULL;
		memcpy(part, path, len);
		part[len] = '\0';
		for (size_t i = 0; i < dir->n_kids && !found; i++)
			if (!iso_fat_cmp(dir->kids[i]->name, part))
				found = dir->kids[i];
		dir = found;
		path += len;
		while (*path == '/')
			path++;
	}
	return dir;
}

void iso_node_path(const struct iso_node *n, char *buf, size_t len)
{
	const struct iso_node *up[ISO_MAX_DEPTH + 8];
	size_t depth = 0, used = 0;

	if (!len)
		return;
	buf[0] = '\0';
	/* root first, each name once: linear in the path's length (this runs for messages and per entry) */
	for (; n && n->parent && depth < sizeof(up) / sizeof(up[0]); n = n->parent)
		up[depth++] = n;
	while (depth-- && used < len) {
		int w = snprintf(buf + used, len - used, "%s%s", used ? "/" : "", up[depth]->name);

		if (w < 0)
			break;
		used += (size_t)w;
	}
}

/* Length of the UTF-8 sequence at s and its code point; 0 if invalid. */
static int utf8_decode(const unsigned char *s, uint32_t *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xE0) == 0xC0 && (s[1] & 0xC0) == 0x80) {
		*cp = (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
		return *cp >= 0x80 ? 2 : 0;
	}
	if ((s[0] & 0xF0) == 0xE0 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
		*cp = (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
		return *cp >= 0x800 && (*cp < 0xD800 || *cp > 0xDFFF) ? 3 : 0;
	}
	if ((s[0] & 0xF8) == 0xF0 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80 &&
	    (s[3] & 0xC0) == 0x80) {
		*cp = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
		      (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
		return *cp >= 0x10000 && *cp <= 0x10FFFF ? 4 : 0;
	}
	return 0;
}

/* Windows' reserved device names: a file named "nul.txt" or "COM1" exists on FAT but no Windows
 * program can open it. The name before the first dot, trailing spaces ignored, in any case. */
static bool windows_device_name(const char *name)
{
	static const char *const fixed[] = { "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$" };
	const char *dot = strchr(name, '.');
	size_t len = dot ? (size_t)(dot - name) : strlen(name);

	while (len && name[len - 1] == ' ')
		len--;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strlen(fixed[i]) == len && !strncasecmp(name, fixed[i], len))
			return true;
	if (strncasecmp(name, "COM", 3) && strncasecmp(name, "LPT", 3))
		return false;
	/* COM0-9, LPT0-9 and the superscripts 1, 2, 3 (U+00B9, U+00B2, U+00B3) */
	if (len == 4 && name[3] >= '0' && name[3] <= '9')
		return true;
	return len == 5 && (unsigned char)name[3] == 0xC2 &&
	       ((unsigned char)name[4] == 0xB9 || (unsigned char)name[4] == 0xB2 || (unsigned char)name[4] == 0xB3);
}

int iso_name_check(const char *name, const char *where, struct dd_err *err)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t units = 0;

	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return dd_fail(err, DD_EINPUT, "%s: unsafe file name \"%s\"", where, name);
	while (*s) {
		uint32_t cp;
		int n = utf8_decode(s, &cp);

		if (!n)
			return dd_fail(err, DD_EINPUT, "%s: file name is not valid UTF-8", where);
		if (cp < 0x20 || cp == 0x7F || (cp < 0x80 && strchr("/\\:*?\"<>|", (int)cp)))
			return dd_fail(err, DD_EINPUT, "%s: unsafe file name \"%s\" (character 0x%02x)",
				       where, name, (unsigned)cp);
		/* U+FFFF pads the last FAT long-name entry: a name holding it reads back cut short */
		if (cp == 0xFFFF || cp == 0xFFFE)
			return dd_fail(err, DD_EINPUT, "%s: file name holds U+%04X, which FAT cannot store",
				       where, (unsigned)cp);
		units += cp >= 0x10000 ? 2 : 1;
		s += n;
	}
	if (units > ISO_MAX_NAME)
		return dd_fail(err, DD_EINPUT, "%s: file name longer than 255 characters", where);
	/* names ending in a dot or a space cannot exist on FAT (Windows strips them) */
	if (s[-1] == '.' || s[-1] == ' ')
		return dd_fail(err, DD_EINPUT, "%s: file name \"%s\" ends in a dot or space", where, name);
	if (windows_device_name(name))
		return dd_fail(err, DD_EINPUT, "%s: file name \"%s\" is a device name on Windows", where, name);
	return DD_OK;
}

/* ---------- names as FAT and Windows compare them ---------- */

/* { from, to }: every UTF-16 unit that upcases to another, ascending (mk/iso.mk) */
static const uint16_t upcase_pairs[][2] = {
#include "iso_upcase.inc"
};

static uint16_t fat_upcase(uint16_t u)
{
	size_t lo = 0, hi = sizeof(upcase_pairs) / sizeof(upcase_pairs[0]);

	if (u < 0x80)
		return u >= 'a' && u <= 'z' ? (uint16_t)(u - 32) : u;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (upcase_pairs[mid][0] == u)
			return upcase_pairs[mid][1];
		if (upcase_pairs[mid][0] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return u;
}

size_t iso_fat_key(const char *name, uint16_t *key, size_t max)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t n = 0;

	while (*s && n < max) {
		uint32_t cp;
		int len = utf8_decode(s, &cp);

		if (!len) {
			/* not UTF-8 (readers refuse such names): compare the byte itself */
			cp = *s;
			len = 1;
		}
		s += len;
		if (cp >= 0x10000) {
			/* a surrogate pair: Windows upcases neither half */
			key[n++] = (uint16_t)(0xD800 | (cp - 0x10000) >> 10);
			if (n < max)
				key[n++] = (uint16_t)(0xDC00 | (cp & 0x3FF));
			continue;
		}
		key[n++] = fat_upcase((uint16_t)cp);
	}
	return n;
}

static int key_cmp(const uint16_t *a, size_t na, const uint16_t *b, size_t nb)
{
	for (size_t i = 0; i < na && i < nb; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return na == nb ? 0 : na < nb ? -1 : 1;
}

int iso_fat_cmp(const char *a, const char *b)
{
	uint16_t ka[ISO_MAX_NAME * 4 + 1], kb[ISO_MAX_NAME * 4 + 1];
	size_t na = iso_fat_key(a, ka, sizeof(ka) / sizeof(ka[0]));
	size_t nb = iso_fat_key(b, kb, sizeof(kb) / sizeof(kb[0]));

	return key_cmp(ka, na, kb, nb);
}

/* One child's FAT key, for sorting a directory's names by it. */
struct fat_name {
	const uint16_t *key;
	size_t len;
	const struct iso_node *node;
};

static int cmp_fat_names(const void *pa, const void *pb)
{
	const struct fat_name *a = pa, *b = pb;
	int c = key_cmp(a->key, a->len, b->key, b->len);

	/* equal keys: by bytes, so the names a message shows do not depend on qsort */
	return c ? c : strcmp(a->node->name, b->node->name);
}

/* Two children FAT takes for one name: sort their keys, compare neighbours (n log n; the pairwise
 * comparison this replaced took half a minute for 100 000 names). */
static int check_fat_names(const struct iso_node *dir, struct dd_err *err)
{
	struct fat_name *names = NULL;
	uint16_t *keys = NULL, *k;
	size_t units = 0;
	int rc = DD_OK;

	if (dir->n_kids < 2)
		return DD_OK;
	for (size_t i = 0; i < dir->n_kids; i++)
		units += strlen(dir->kids[i]->name); /* a UTF-8 byte per UTF-16 unit at least */
	names = calloc(dir->n_kids, sizeof(*names));
	keys = calloc(units + 1, sizeof(*keys));
	if (!names || !keys) {
		rc = dd_fail(err, DD_ENOMEM, "out of memory");
		goto out;
	}
	k = keys;
	for (size_t i = 0; i < dir->n_kids; i++) {
		const char *name = dir->kids[i]->name;

		names[i] = (struct fat_name){ .key = k, .len = iso_fat_key(name, k, strlen(name)),
					      .node = dir->kids[i] };
		k += names[i].len;
	}
	qsort(names, dir->n_kids, sizeof(*names), cmp_fat_names);
	for (size_t i = 1; i < dir->n_kids; i++) {
		char path[1024];

		if (key_cmp(names[i - 1].key, names[i - 1].len, names[i].key, names[i].len))
			continue;
		path[0] = '/';
		iso_node_path(dir, path + 1, sizeof(path) - 1);
		rc = dd_fail(err, DD_EINPUT, "%s: two entries named \"%s\" and \"%s\" (FAT ignores case)", path,
			     names[i - 1].node->name, names[i].node->name);
		break;
	}
out:
	free(names);
	free(keys);
	return rc;
}

static int cmp_nodes(const void *a, const void *b)
{
	return strcmp((*(struct iso_node *const *)a)->name, (*(struct iso_node *const *)b)->name);
}

int iso_tree_finish(struct iso_node *dir, struct dd_err *err)
{
	char path[1024];
	int rc;

	if (dir->n_kids > 1)
		qsort(dir->kids, dir->n_kids, sizeof(dir->kids[0]), cmp_nodes);
	if ((rc = check_fat_names(dir, err)))
		return rc;
	for (size_t i = 0; i < dir->n_kids; i++) {
		struct iso_node *k = dir->kids[i];

		if (!k->is_dir && k->size > ISO_MAX_FILE) {
			iso_node_path(k, path, sizeof(path));
			return dd_fail(err, DD_EINPUT, "%s: file over 4 GiB cannot be stored on FAT32", path);
		}
		if (k->is_dir && (rc = iso_tree_finish(k, err)))
			return rc;
	}
	return DD_OK;
}

/* ---------- directories already visited ---------- */

static size_t seen_slot(uint64_t key, size_t cap)
{
	return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

int iso_seen_add(struct iso_seen *s, uint64_t key, struct dd_err *err)
{
	size_t i;

	key++; /* 0 marks a free slot */
	if ((s->n + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		uint64_t *slot = calloc(cap, sizeof(*slot));

		if (!slot)
			return dd_fail(err, DD_ENOMEM, "out of memory");
		for (size_t j = 0; j < s->cap; j++) {
			if (!s->slot[j])
				continue;
			for (i = seen_slot(s->slot[j], cap); slot[i]; i = (i + 1) & (cap - 1))
				;
			slot[i] = s->slot[j];
		}
		free(s->slot);
		s->slot = slot;
		s->cap = cap;
	}
	for (i = seen_slot(key, s->cap); s->slot[i]; i = (i + 1) & (s->cap - 1))
		if (s->slot[i] == key)
			return 1;
	s->slot[i] = key;
	s->n++;
	return 0;
}

void iso_seen_free(struct iso_seen *s)
{
	free(s->slot);
	*s = (struct iso_seen){ 0 };
}

void iso_tree_stats(const struct iso_node *n, uint64_t *files, uint64_t *dirs, uint64_t *bytes)
{
	for (size_t i = 0; i < n->n_kids; i++) {
		const struct iso_node *k = n->kids[i];

		if (k->is_dir) {
			(*dirs)++;
			iso_tree_stats(k, files, dirs, bytes);
		} else {
			(*files)++;
			*bytes += k->size;
		}
	}
}
