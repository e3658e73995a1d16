/* The signed release manifest (release.h). */
#include "release/release.h"
#include "crypto/sign.h"
#include "format/dfi_reader.h"
#include "hash/sha256_fd.h"
#include "safety/door.h"
#include "util/json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef DARTDUP_VERSION
#define DARTDUP_VERSION "0.0.0"
#endif

#define HEADER "dartdup-release 1\n"
#define MANIFEST_MAX (16u << 10)   /* 32 files of 64-byte names fit many times over */
#define HEX64 (2 * DD_SHA256_LEN)

int dd_release_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > DD_RELEASE_NAME_MAX || name[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* SHA-256 and size of dir/name: a regular file, not followed through a symbolic link. 1 = missing,
 * 2 = not a regular file, 0 = hashed; DD_EIO (negative) on a read error. */
static int hash_file(const char *dir, const char *name, struct dd_release_file *f, struct dd_err *err)
{
	char path[4096];
	struct stat st;
	int fd, rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? 1 : errno == ELOOP ? 2 : dd_fail_errno(err, DD_EIO, errno, "%s", path);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return 2;
	}
	rc = dd_sha256_fd(fd, path, f->sha256, &f->size, err);
	close(fd);
	return rc;
}

static bool is_dfi_name(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && !strcmp(name + n - 4, ".dfi");
}

/* A .dfi's image id, read through the package reader (which validates header, trailer, manifest). */
static int dfi_image_id(const char *dir, struct dd_release_file *f, struct dd_err *err)
{
	struct dfi_open_opts o = { 0 };
	struct dfi_reader *r;
	char path[4096];
	int rc;

	if (!is_dfi_name(f->name))
		return DD_OK;
	snprintf(path, sizeof(path), "%s/%s", dir, f->name);
	if ((rc = dfi_open(path, &o, &r, err)))
		return rc;
	memcpy(f->image_id, r->image_id, DD_SHA256_LEN);
	f->has_image_id = true;
	dfi_close(r);
	return DD_OK;
}

int dd_release_sign_line(const char *key_path, const uint8_t id[DD_SHA256_LEN], char *line, size_t len,
			 struct dd_err *err)
{
	char kid[HEX64 + 1], sig_hex[2 * DD_SIG_MAX + 1];
	uint8_t sig[DD_SIG_MAX];
	struct dd_signer *s;
	size_t sig_len;
	int rc;

	if ((rc = dd_signer_open(key_path, &s, err)))
		return rc;
	rc = dd_signer_sign(s, id, sig, &sig_len, err);
	if (!rc) {
		dd_hex(kid, dd_signer_key_id(s), DD_SHA256_LEN);
		dd_hex(sig_hex, sig, sig_len);
		snprintf(line, len, "signature %s %s\n", kid, sig_hex);
	}
	dd_signer_close(s);
	return rc;
}

static int write_manifest(const char *dir, const char *text, size_t len, const char *const *inputs,
			  unsigned n_inputs, struct dd_err *err)
{
	char path[4096];
	ssize_t w;
	int fd, rc;

	snprintf(path, sizeof(path), "%s/%s", dir, DD_RELEASE_FILE);
	if ((rc = dd_door_open_output(path, inputs, n_inputs, O_WRONLY, DD_DOOR_TRUNC, 0644, &fd, err)))
		return rc;
	w = write(fd, text, len);
	rc = w == (ssize_t)len ? DD_OK : dd_fail_errno(err, DD_EIO, w < 0 ? errno : EIO, "%s", path);
	if (close(fd) && !rc)
		rc = dd_fail_errno(err, DD_EIO, errno, "%s", path);
	return rc;
}

int dd_release_write(const char *dir, const char *const *names, size_t n,
		     const uint8_t source_sha256[DD_SHA256_LEN], const char *key_path,
		     const char *const *inputs, unsigned n_inputs, struct dd_release *rel, struct dd_err *err)
{
	char text[MANIFEST_MAX], hex[HEX64 + 1], sig_line[512] = "";
	size_t len;
	int rc;

	memset(rel, 0, sizeof(*rel));
	if (n > DD_RELEASE_MAX_FILES)
		return dd_fail(err, DD_EINTERNAL, "release: %zu files, at most %d", n, DD_RELEASE_MAX_FILES);
	memcpy(rel->source_sha256, source_sha256, DD_SHA256_LEN);
	snprintf(rel->tool, sizeof(rel->tool), "dartdup %s", DARTDUP_VERSION);
	dd_hex(hex, source_sha256, DD_SHA256_LEN);
	len = (size_t)snprintf(text, sizeof(text), HEADER "source-sha256 %s\ntool %s\n", hex, rel->tool);
	for (size_t i = 0; i < n; i++) {
		struct dd_release_file *f = &rel->files[i];

		if (!dd_release_name_ok(names[i]))
			return dd_fail(err, DD_EINTERNAL, "release: %s: not a name a release lists", names[i]);
		snprintf(f->name, sizeof(f->name), "%s", names[i]);
		if ((rc = hash_file(dir, names[i], f, err)))
			return rc < 0 ? rc : dd_fail(err, DD_EIO, "%s/%s: gone before the release was made", dir,
						     names[i]);
		dd_hex(hex, f->sha256, DD_SHA256_LEN);
		len += (size_t)snprintf(text + len, sizeof(text) - len, "file %s %llu %s\n", hex,
					(unsigned long long)f->size, f->name);
		if ((rc = dfi_image_id(dir, f, err)))
			return rc;
		if (f->has_image_id) {
			dd_hex(hex, f->image_id, DD_SHA256_LEN);
			len += (size_t)snprintf(text + len, sizeof(text) - len, "dfi-image-id %s %s\n", hex, f->name);
		}
	}
	rel->n_files = n;
	dd_sha256(text, len, rel->id);
	if (key_path && (rc = dd_release_sign_line(key_path, rel->id, sig_line, sizeof(sig_line), err)))
		return rc;
	len += (size_t)snprintf(text + len, sizeof(text) - len, "%s", sig_line);
	return write_manifest(dir, text, len, inputs, n_inputs, err);
}

/* --- reading ---------------------------------------------------------------------------------- */

/* "HEX64" exactly, then the rest of the line after one space (or the line's end). */
static const char *take_hex64(const char *p, uint8_t out[DD_SHA256_LEN])
{
	if (strlen(p) < HEX64 || dd_unhex(p, DD_SHA256_LEN, out))
		return NULL;
	return p + HEX64;
}

static int read_manifest(const char *dir, char *text, size_t cap, size_t *len, struct dd_err *err)
{
	char path[4096];
	struct stat st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, DD_RELEASE_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return dd_fail_errno(err, DD_EINPUT, errno, "%s", path);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size >= cap) {
		close(fd);
		return dd_fail(err, DD_EINPUT, "%s: not a release manifest (size)", path);
	}
	n = pread(fd, text, cap - 1, 0);
	close(fd);
	if (n != st.st_size)
		return dd_fail(err, DD_EINPUT, "%s: short read", path);
	text[n] = '\0';
	*len = (size_t)n;
	if (memchr(text, '\0', (size_t)n) || text[n - 1] != '\n' || strncmp(text, HEADER, strlen(HEADER)))
		return dd_fail(err, DD_EINPUT, "%s: not a dartdup release manifest", path);
	return DD_OK;
}

enum dd_sign_line dd_release_read_sign_line(char *text, size_t len, uint8_t id[DD_SHA256_LEN],
					    uint8_t key_id[DD_SHA256_LEN], uint8_t *sig, size_t *sig_len)
{
	char *last, *p;
	size_t n;

	text[len - 1] = '\0';
	last = strrchr(text, '\n');
	if (!last || strncmp(last + 1, "signature ", 10))
		return DD_SIGN_LINE_NONE;
	dd_sha256(text, (size_t)(last + 1 - text), id);
	*last = '\0';
	p = last + 1 + 10;
	if (!(p = (char *)take_hex64(p, key_id)) || *p != ' ')
		return DD_SIGN_LINE_DAMAGED;
	p++;
	n = strlen(p);
	if (n % 2 || n / 2 < 8 || n / 2 > DD_SIG_MAX || dd_unhex(p, n / 2, sig))
		return DD_SIGN_LINE_DAMAGED;
	*sig_len = n / 2;
	return DD_SIGN_LINE_OK;
}

/* The last line must be the signature: checked before any other line is believed. */
static int check_signature(const char *dir, char *text, size_t len, const char *const *pubs, size_t n_pubs,
			   struct dd_release *rel, struct dd_err *err)
{
	uint8_t sig[DD_SIG_MAX];
	size_t sig_len;
	int rc;

	switch (dd_release_read_sign_line(text, len, rel->id, rel->key_id, sig, &sig_len)) {
	case DD_SIGN_LINE_NONE:
		return dd_fail(err, DD_EINPUT, "%s/%s: not signed (build it with --key)", dir, DD_RELEASE_FILE);
	case DD_SIGN_LINE_DAMAGED:
		return dd_fail(err, DD_EINPUT, "%s/%s: signature line damaged", dir, DD_RELEASE_FILE);
	case DD_SIGN_LINE_OK:
		break;
	}
	rc = dd_verify_any(pubs, n_pubs, rel->key_id, rel->id, sig, sig_len, NULL, err);
	if (rc)
		dd_err_prefix(err, "%s/%s", dir, DD_RELEASE_FILE);
	return rc;
}

static int parse_file_line(const char *p, struct dd_release_file *f)
{
	char *end;
	unsigned long long size;

	if (!(p = take_hex64(p, f->sha256)) || *p != ' ' || p[1] < '0' || p[1] > '9')
		return -1;
	errno = 0;
	size = strtoull(p + 1, &end, 10);
	if (errno || *end != ' ' || (end - (p + 1) > 1 && p[1] == '0') || !dd_release_name_ok(end + 1))
		return -1;
	f->size = size;
	snprintf(f->name, sizeof(f->name), "%s", end + 1);
	return 0;
}

/* The body, in its fixed order: header, source-sha256, tool, then file lines only. */
static int parse_body(const char *dir, char *text, struct dd_release *rel, struct dd_err *err)
{
	char *save = NULL, *line = strtok_r(text + strlen(HEADER), "\n", &save);
	int idx = 0;

	for (; line; line = strtok_r(NULL, "\n", &save), idx++) {
		const char *p;

		if (idx == 0 && !strncmp(line, "source-sha256 ", 14) && (p = take_hex64(line + 14, rel->source_sha256)) &&
		    !*p)
			continue;
		if (idx == 1 && !strncmp(line, "tool ", 5) && strlen(line + 5) < sizeof(rel->tool)) {
			snprintf(rel->tool, sizeof(rel->tool), "%s", line + 5);
			continue;
		}
		if (idx >= 3 && !strncmp(line, "dfi-image-id ", 13) && rel->n_files &&
		    (p = take_hex64(line + 13, rel->files[rel->n_files - 1].image_id)) && *p == ' ' &&
		    !strcmp(p + 1, rel->files[rel->n_files - 1].name) && is_dfi_name(p + 1) &&
		    !rel->files[rel->n_files - 1].has_image_id) {
			rel->files[rel->n_files - 1].has_image_id = true;
			continue;
		}
		if (idx >= 2 && !strncmp(line, "file ", 5) && rel->n_files < DD_RELEASE_MAX_FILES &&
		    !parse_file_line(line + 5, &rel->files[rel->n_files])) {
			for (size_t i = 0; i < rel->n_files; i++)
				if (!strcmp(rel->files[i].name, rel->files[rel->n_files].name))
					return dd_fail(err, DD_EINPUT, "%s/%s: %s listed twice", dir, DD_RELEASE_FILE,
						       rel->files[i].name);
			rel->n_files++;
			continue;
		}
		return dd_fail(err, DD_EINPUT, "%s/%s: line %d damaged", dir, DD_RELEASE_FILE, idx + 2);
	}
	if (idx < 3 || !rel->n_files)
		return dd_fail(err, DD_EINPUT, "%s/%s: lists no file", dir, DD_RELEASE_FILE);
	return DD_OK;
}

int dd_release_verify(const char *dir, const char *const *pubs, size_t n_pubs, struct dd_release *rel,
		      struct dd_err *err)
{
	char *text = malloc(MANIFEST_MAX);
	size_t len;
	int rc;

	memset(rel, 0, sizeof(*rel));
	if (!text)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	if ((rc = read_manifest(dir, text, MANIFEST_MAX, &len, err)) ||
	    (rc = check_signature(dir, text, len, pubs, n_pubs, rel, err)) || (rc = parse_body(dir, text, rel, err)))
		goto out;
	for (size_t i = 0; i < rel->n_files; i++) {
		struct dd_release_file now = { 0 }, *f = &rel->files[i];
		int h = hash_file(dir, f->name, &now, err);

		if (h < 0) {
			rc = h;
			goto out;
		}
		if (h == 1)
			f->problem = "missing";
		else if (h == 2)
			f->problem = "not a regular file";
		else if (now.size != f->size || memcmp(now.sha256, f->sha256, DD_SHA256_LEN))
			f->problem = "changed (its size or SHA-256 differs from the release)";
		if (f->problem && !rel->n_bad++)
			rc = dd_fail(err, DD_ECHECK, "%s/%s: %s", dir, f->name, f->problem);
	}
out:
	free(text);
	return rc;
}
