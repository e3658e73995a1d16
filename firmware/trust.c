/* Versions and revocation on the board (store.h, "trust.c"): what a verified package must also pass
 * before it is stored, and the signed revocation list that the board keeps (revocation.list). */
#include "firmware/store.h"
#include "firmware/version.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/json.h"
#include "util/version.h"

#define LIST_FILE "revocation.list"

_Static_assert(DD_LINK_REVOKE_MAX == DD_REVOKE_TEXT_MAX, "REVOKE carries a whole list");

static void short_id(char *out, const uint8_t id[DD_SHA256_LEN])
{
	char hex[2 * DD_SHA256_LEN + 1];

	dd_hex(hex, id, DD_SHA256_LEN);
	snprintf(out, 17, "%.16s", hex);
}

/* The store's list file into buf (at most DD_REVOKE_TEXT_MAX bytes): its length, 0 when there is none,
 * -1 when it cannot be read or is too big. */
static ssize_t read_list(const struct dd_store *s, uint8_t *buf)
{
	char path[700];
	struct stat st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", s->dir, LIST_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > DD_REVOKE_TEXT_MAX) {
		close(fd);
		return -1;
	}
	n = pread(fd, buf, (size_t)st.st_size, 0);
	close(fd);
	return n == st.st_size ? n : -1;
}

void dd_store_revocation_open(struct dd_store *s, char *warning, size_t wlen)
{
	uint8_t *buf = malloc(DD_REVOKE_TEXT_MAX);
	struct dd_revocation *rl = malloc(sizeof(*rl));
	struct dd_err e = { 0 };
	ssize_t n = buf ? read_list(s, buf) : -1;

	if (n > 0 && rl && !dd_revocation_parse(buf, (size_t)n, s->pubkeys, s->n_pubkeys, "stored revocation list",
						 rl, &e)) {
		s->revoked = rl;
		rl = NULL;
	} else if (n && !warning[0]) {
		/* the keys changed, or the file is damaged: said at start, and nothing is revoked until a
		 * list that verifies is loaded again */
		snprintf(warning, wlen, "%s", n < 0 ? "stored revocation list unreadable: not used" : e.msg);
	}
	free(rl);
	free(buf);
}

void dd_store_revocation_close(struct dd_store *s)
{
	free(s->revoked);
	s->revoked = NULL;
}

/* The new list must be newer than the stored one, and not signed by a key the stored one revokes (else
 * a stolen key could sign a list that frees itself). The same list again is accepted and changes nothing,
 * so a master stick can keep its list. 1: the same list; DD_OK: take it; DD_EINPUT: refused. */
static int compare_lists(const struct dd_store *s, const struct dd_revocation *nl, struct dd_err *err)
{
	const struct dd_revocation *old = s->revoked;
	char kid[17];

	if (!old)
		return DD_OK;
	if (nl->serial == old->serial && !memcmp(nl->id, old->id, DD_SHA256_LEN))
		return 1;
	if (dd_revocation_has_key(old, nl->key_id)) {
		short_id(kid, nl->key_id);
		return dd_fail(err, DD_EINPUT, "revocation list: signed by key %s, which the board's list revokes",
			       kid);
	}
	if (nl->serial <= old->serial)
		return dd_fail(err, DD_EINPUT, "revocation list: serial %llu is not newer than the board's (serial %llu)",
			       (unsigned long long)nl->serial, (unsigned long long)old->serial);
	return DD_OK;
}

int dd_store_revocation_load(struct dd_store *s, const void *buf, size_t len, struct dd_err *err)
{
	struct dd_revocation *nl = malloc(sizeof(*nl));
	int rc;

	if (!nl)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	rc = dd_revocation_parse(buf, len, s->pubkeys, s->n_pubkeys, "revocation list", nl, err);
	if (!rc)
		rc = compare_lists(s, nl, err);
	if (!rc)
		rc = dd_store_write_small_file(s, LIST_FILE, buf, len, err);
	if (rc) {
		free(nl);
		return rc == 1 ? DD_OK : rc; /* 1: the same list again, nothing to do */
	}
	free(s->revoked);
	s->revoked = nl;
	return DD_OK;
}

bool dd_store_revoked(const struct dd_store *s, const struct dd_image_info *info, char *why, size_t len)
{
	char id[17];

	if (dd_revocation_has_image(s->revoked, info->image_id)) {
		short_id(id, info->image_id);
		snprintf(why, len, "image %s (\"%s\") is revoked (revocation list serial %llu)", id, info->name,
			 (unsigned long long)s->revoked->serial);
		return true;
	}
	if (info->sig != DD_SIG_NONE && dd_revocation_has_key(s->revoked, info->key_id)) {
		short_id(id, info->key_id);
		snprintf(why, len, "\"%s\" is signed by key %s, which is revoked (revocation list serial %llu)",
			 info->name, id, (unsigned long long)s->revoked->serial);
		return true;
	}
	return false;
}

/* Not older than what it replaces: an image, the stored image of the same name (other names are other
 * images: no order between them); a bundle, the firmware that runs. An equal version is taken. */
static int judge_version(const struct dd_store *s, int kind, const struct dd_image_info *info, struct dd_err *err)
{
	const char *have, *what;
	const char *v = kind == DD_KIND_FIRMWARE ? dd_version_of_bundle(info->name) : info->version;

	if (kind == DD_KIND_FIRMWARE) {
		have = dd_firmware_version;
		what = "the running firmware";
	} else {
		if (!s->image || strcmp(s->image->info.name, info->name))
			return DD_OK;
		have = s->image->info.version;
		what = "the stored image of that name";
	}
	if (dd_version_cmp(v, have) >= 0)
		return DD_OK;
	return dd_fail(err, DD_EINPUT, "\"%s\": version %s is older than %s (%s); a downgrade must be forced "
		       "(--allow-downgrade)", info->name, dd_version_show(dd_version_ok(v, strlen(v)) ? v : ""), what,
		       dd_version_show(have));
}

int dd_store_judge(struct dd_store *s, int kind, const struct dd_image_info *info, bool allow_downgrade,
		   struct dd_err *err)
{
	char why[300];

	if (dd_store_revoked(s, info, why, sizeof(why)))
		return dd_fail(err, DD_EINPUT, "%s", why);
	if (!allow_downgrade)
		return judge_version(s, kind, info, err);
	return DD_OK;
}
