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

		for (size_t i = 0; i < dir->n_kids && !found; i++)
			if (strlen(dir->kids[i]->name) == len && !strncasecmp(dir->kids[i]->name, path, len))
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
	char tmp[1024];

	if (!len)
		return;
	buf[0] = '\0';
	for (; n && n->parent; n = n->parent) {
		snprintf(tmp, sizeof(tmp), "%s%s%s", n->name, buf[0] ? "/" : "", buf);
		snprintf(buf, len, "%s", tmp);
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
		units += cp >= 0x10000 ? 2 : 1;
		s += n;
	}
	if (units > ISO_MAX_NAME)
		return dd_fail(err, DD_EINPUT, "%s: file name longer than 255 characters", where);
	/* names ending in a dot or a space cannot exist on FAT (Windows strips them) */
	if (s[-1] == '.' || s[-1] == ' ')
		return dd_fail(err, DD_EINPUT, "%s: file name \"%s\" ends in a dot or space", where, name);
	return DD_OK;
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
	for (size_t i = 0; i < dir->n_kids; i++) {
		struct iso_node *k = dir->kids[i];

		/* FAT compares names without case: two names equal but for case cannot both exist */
		for (size_t j = i + 1; j < dir->n_kids; j++) {
			if (strcasecmp(k->name, dir->kids[j]->name))
				continue;
			iso_node_path(k, path, sizeof(path));
			return dd_fail(err, DD_EINPUT, "%s: two entries named \"%s\" and \"%s\" (FAT ignores case)",
				       path, k->name, dir->kids[j]->name);
		}
		if (!k->is_dir && k->size > ISO_MAX_FILE) {
			iso_node_path(k, path, sizeof(path));
			return dd_fail(err, DD_EINPUT, "%s: file over 4 GiB cannot be stored on FAT32", path);
		}
		if (k->is_dir && (rc = iso_tree_finish(k, err)))
			return rc;
	}
	return DD_OK;
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
