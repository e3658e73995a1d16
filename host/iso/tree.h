/* The file tree of an ISO, whatever file system it came from (UDF, Joliet, ISO 9660).
 * Readers fill it; the FAT32 writer lays it out. A file's data is a list of extents of the ISO
 * file (or bytes held in memory, or a file on the host for files the builder adds). */
#ifndef DARTDUP_ISO_TREE_H
#define DARTDUP_ISO_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Limits that make hostile images fail early instead of exhausting memory or recursing forever. */
#define ISO_MAX_DEPTH 64
#define ISO_MAX_NODES 200000
#define ISO_MAX_NAME 255          /* UTF-16 units, FAT long names */
#define ISO_MAX_FILE 0xFFFFFFFFull /* FAT32: 4 GiB - 1 */

struct iso_extent {
	uint64_t off;  /* byte offset in the ISO file */
	uint64_t len;  /* bytes */
	bool zero;     /* allocated but not recorded: reads as zeros */
};

struct iso_node {
	char *name;               /* UTF-8, as recorded (case kept); "" for the root */
	bool is_dir;
	uint64_t size;
	int64_t mtime;            /* Unix seconds, UTC */
	struct iso_extent *ext;
	size_t n_ext;
	uint8_t *inline_data;     /* UDF data embedded in the file entry (size bytes) */
	char *host_path;          /* a file the builder added from the host (e.g. extracted bootmgfw.efi) */
	struct iso_node **kids;
	size_t n_kids, cap_kids;
	struct iso_node *parent;
	/* filled by the FAT32 layout */
	uint32_t first_cluster;
	uint32_t n_clusters;
	uint8_t short_name[11];
	uint8_t nt_case;          /* FAT "NT" case bits when the short name alone keeps the case */
	bool need_lfn;
	uint8_t *dir_bytes;       /* directories: encoded entries */
	size_t dir_len;
};

struct iso_node *iso_node_new(const char *name, bool is_dir);
int iso_node_add(struct iso_node *dir, struct iso_node *kid, struct dd_err *err);
int iso_node_add_extent(struct iso_node *n, uint64_t off, uint64_t len, bool zero, struct dd_err *err);
void iso_node_free(struct iso_node *n);
/* Case-insensitive lookup of a '/'-separated path below dir; NULL if absent. */
struct iso_node *iso_lookup(struct iso_node *dir, const char *path);
/* Full path of n for messages ("sources/boot.wim"). */
void iso_node_path(const struct iso_node *n, char *buf, size_t len);
/* Check a recorded name is safe as one FAT long name: refuses "", ".", "..", '/', '\\', control
 * and FAT-reserved characters, U+FFFE/U+FFFF, invalid UTF-8, names over 255 UTF-16 units, names
 * ending in a dot or space and Windows device names (CON, NUL.txt, COM1...). */
int iso_name_check(const char *name, const char *where, struct dd_err *err);
/* Sort children by name (byte order) in every directory and refuse two names FAT takes for one
 * (iso_fat_key), in n log n per directory. */
int iso_tree_finish(struct iso_node *root, struct dd_err *err);
/* FAT's and Windows' view of a name: its UTF-16 units, each upcased through a table made at build
 * time from towupper() in C.UTF-8 (mk/iso.mk; one unit to one unit, nothing outside the BMP, as
 * Windows' upcase table). Two names are one on FAT when their keys are equal. Writes at most max
 * units to key and returns how many. */
size_t iso_fat_key(const char *name, uint16_t *key, size_t max);
/* 0 when FAT takes a and b for one name (names of at most ISO_MAX_NAME units). */
int iso_fat_cmp(const char *a, const char *b);

/* Directory extents or ICBs already read (a hash set: loops are found in linear time). */
struct iso_seen {
	uint64_t *slot;
	size_t n, cap;
};
/* 1 when key was there already, 0 when added, DD_ENOMEM. */
int iso_seen_add(struct iso_seen *s, uint64_t key, struct dd_err *err);
void iso_seen_free(struct iso_seen *s);

/* Count files and directories, total file bytes. */
void iso_tree_stats(const struct iso_node *n, uint64_t *files, uint64_t *dirs, uint64_t *bytes);

#endif
