/* The board's persistent store (see store.h). Crash safety: a transfer is written to
 * incoming/, verified completely, fsynced, renamed over the stored file, and the directories
 * fsynced; a power cut at any moment leaves the old image or the new one. */
#include "firmware/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/audit.h"
#include "util/crashpoint.h"
#include "util/json.h"

static const char *kind_name(int kind)
{
	return kind == DD_KIND_FIRMWARE ? "firmware" : "image";
}

/* What a transfer is called in messages to the PC: never the store's own incoming/ path. */
static const char *kind_label(int kind)
{
	return kind == DD_KIND_FIRMWARE ? "firmware bundle" : "image package";
}

/* Say label where a message names the internal path (messages from the readers below us). */
static void relabel(struct dd_err *err, const char *path, const char *label)
{
	char out[sizeof(err->msg)], *at;
	size_t plen = strlen(path), len = 0;
	const char *p;

	if (!err || !plen)
		return;
	for (p = err->msg; (at = strstr(p, path)) && len < sizeof(out); p = at + plen)
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%.*s%s", (int)(at - p), p, label);
	if (p == err->msg)
		return;
	if (len < sizeof(out))
		snprintf(out + len, sizeof(out) - len, "%s", p);
	memcpy(err->msg, out, sizeof(out));
}

static void human_size(char *buf, size_t len, uint64_t n)
{
	if (n < (10u << 20))
		snprintf(buf, len, "%" PRIu64 " bytes", n);
	else if (n < (10ull << 40))
		snprintf(buf, len, "%" PRIu64 " MiB", n >> 20);
	else
		snprintf(buf, len, "%" PRIu64 " TiB", n >> 40);
}

static void store_path(const struct dd_store *s, char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", s->dir, name);
}

int dd_store_fsync_dir(const char *dir, struct dd_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = DD_OK;

	if (fd < 0)
		return dd_fail_errno(err, DD_EIO, errno, "%s", dir);
	if (fsync(fd))
		rc = dd_fail_errno(err, DD_EIO, errno, "%s: fsync", dir);
	close(fd);
	return rc;
}

static int mkdir_p(const char *dir, struct dd_err *err)
{
	char tmp[1024];

	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return dd_fail_errno(err, DD_EIO, errno, "%s", tmp);
		*p = '/';
	}
	if (mkdir(tmp, 0755) && errno != EEXIST)
		return dd_fail_errno(err, DD_EIO, errno, "%s", tmp);
	return DD_OK;
}

/* --- verification ------------------------------------------------------------------------- */

/* Block i of src read and checked against its hash in the signed manifest. */
static int check_block(struct dd_source *src, uint64_t i, uint8_t *buf, const char *path, struct dd_err *err)
{
	uint8_t h[DD_SHA256_LEN];

	if (dd_source_read_block(src, i, buf, err)) {
		dd_err_prefix(err, "%s: block %" PRIu64, path, i);
		return DD_EINPUT;
	}
	dd_sha256(buf, dd_block_len(&src->info, i), h);
	if (memcmp(h, src->info.block_hash[i], DD_SHA256_LEN))
		return dd_fail(err, DD_EINPUT, "%s: block %" PRIu64 " does not match its hash", path, i);
	return DD_OK;
}

/* Well formed, a .dfi, signed by one of the keys; its blocks are checked apart (check_block). */
static int open_package(const char *path, const char *const *pubkeys, size_t n_pubkeys, struct dd_source **out,
			struct dd_err *err)
{
	struct dd_source_opts opts = { .pubkeys = pubkeys, .n_pubkeys = n_pubkeys };
	struct dd_source *src = NULL;
	int rc;

	if (!n_pubkeys)
		return dd_fail(err, DD_EINPUT, "%s: no depot public key is provisioned on this board", path);
	rc = dd_source_open(path, &opts, &src, err);
	if (rc)
		return rc == DD_ENOMEM ? rc : DD_EINPUT;
	if (strcmp(src->info.format, "dfi"))
		rc = dd_fail(err, DD_EINPUT, "%s: not a .dfi package (%s)", path, src->info.format);
	else if (src->info.sig != DD_SIG_VERIFIED)
		rc = dd_fail(err, DD_EINPUT, "%s: not signed by a depot key of this board", path);
	if (rc) {
		dd_source_close(src);
		return rc;
	}
	*out = src;
	return DD_OK;
}

int dd_store_verify_package(const char *path, const char *const *pubkeys, size_t n_pubkeys,
			    struct dd_source **out, struct dd_err *err)
{
	struct dd_source *src = NULL;
	uint8_t *buf;
	int rc = open_package(path, pubkeys, n_pubkeys, &src, err);

	if (rc)
		return rc;
	buf = malloc(src->info.block_size);
	if (!buf)
		rc = dd_fail(err, DD_ENOMEM, "%s: out of memory", path);
	for (uint64_t i = 0; !rc && i < src->info.block_count; i++)
		rc = check_block(src, i, buf, path, err);
	free(buf);
	if (rc) {
		dd_source_close(src);
		return rc;
	}
	*out = src;
	return DD_OK;
}

/* A bundle's name is "dartdupd-firmware BOARD VERSION"; an image's name must not look like one. */
int dd_store_check_kind(const char *board_type, int kind, const char *name, struct dd_err *err)
{
	size_t pl = strlen(DD_FIRMWARE_PREFIX), bl = strlen(board_type);
	bool is_fw = !strncmp(name, DD_FIRMWARE_PREFIX, pl);

	if (kind == DD_KIND_IMAGE && is_fw)
		return dd_fail(err, DD_EINPUT, "\"%s\" is a firmware bundle, not an image (use update)", name);
	if (kind == DD_KIND_FIRMWARE && !is_fw)
		return dd_fail(err, DD_EINPUT, "\"%s\" is not a firmware bundle (name must start with \"%s\")", name,
			       DD_FIRMWARE_PREFIX);
	if (kind == DD_KIND_FIRMWARE && (strncmp(name + pl, board_type, bl) || name[pl + bl] != ' '))
		return dd_fail(err, DD_EINPUT, "\"%s\" is firmware for another board (this is %s)", name,
			       board_type);
	return DD_OK;
}

/* --- open --------------------------------------------------------------------------------- */

static void open_stored(struct dd_store *s, char *warning, size_t wlen)
{
	struct dd_source_opts opts = { .pubkeys = s->pubkeys, .n_pubkeys = s->n_pubkeys };
	struct dd_source *src;
	struct dd_err e;
	char path[700];

	/* at start the signature is checked again (keys may have changed); the blocks were
	 * verified when loaded, and the engine checks each block's hash as it writes */
	store_path(s, path, sizeof(path), "image.dfi");
	if (!access(path, F_OK)) {
		if (!s->n_pubkeys)
			snprintf(warning, wlen, "%s: not used: no depot public key provisioned", path);
		else if (dd_source_open(path, &opts, &src, &e))
			snprintf(warning, wlen, "stored image not used: %s", e.msg);
		else if (src->info.sig != DD_SIG_VERIFIED) {
			snprintf(warning, wlen, "%s: not used: not signed by a depot key", path);
			dd_source_close(src);
		} else
			s->image = src;
	}
	store_path(s, path, sizeof(path), "firmware.dfi");
	if (!access(path, F_OK) && !dd_source_open(path, &opts, &src, &e)) {
		snprintf(s->pending_firmware, sizeof(s->pending_firmware), "%s", src->info.name);
		dd_source_close(src);
	}
}

int dd_store_open(struct dd_store *s, const char *dir, const char *const *pubkeys, size_t n_pubkeys,
		  const char *board_type, char *warning, size_t warning_len, struct dd_err *err)
{
	char path[700];
	int rc;

	memset(s, 0, sizeof(*s));
	for (unsigned k = 0; k < 3; k++)
		s->xfer[k].fd = -1;
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	s->pubkeys = pubkeys;
	s->n_pubkeys = n_pubkeys;
	s->board_type = board_type;
	s->next_handle = 1;
	s->statvfs = statvfs;
	warning[0] = '\0';
	store_path(s, path, sizeof(path), "incoming");
	if ((rc = mkdir_p(path, err)))
		return rc;
	dd_store_revocation_open(s, warning, warning_len);
	open_stored(s, warning, warning_len);
	return dd_store_log_open(s, err);
}

static void xfer_close(struct dd_store_xfer *x, bool remove)
{
	if (x->vsrc)
		dd_source_close(x->vsrc);
	dfi_stream_free(x->stream);
	free(x->vbuf);
	if (x->fd >= 0)
		close(x->fd);
	if (remove && x->path[0])
		unlink(x->path);
	memset(x, 0, sizeof(*x));
	x->fd = -1;
}

void dd_store_close(struct dd_store *s)
{
	for (unsigned k = 0; k < 3; k++)
		xfer_close(&s->xfer[k], false);
	if (s->image)
		dd_source_close(s->image);
	s->image = NULL;
	dd_store_revocation_close(s);
	dd_store_log_close(s);
}

/* --- transfers ---------------------------------------------------------------------------- */

/* Partial transfers of this kind in incoming/ other than keep: their bytes on disk, and removed
 * when drop is set. */
static uint64_t other_parts(struct dd_store *s, int kind, const char *keep, bool drop)
{
	char dir[700], path[1024], prefix[16];
	struct dirent *de;
	struct stat st;
	uint64_t bytes = 0;
	DIR *d;

	store_path(s, dir, sizeof(dir), "incoming");
	snprintf(prefix, sizeof(prefix), "%s-", kind_name(kind));
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!strcmp(path, keep))
			continue;
		if (!lstat(path, &st))
			bytes += (uint64_t)st.st_blocks * 512;
		if (drop)
			unlink(path);
	}
	closedir(d);
	return bytes;
}

static uint64_t minus(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* Room for a transfer of req->size bytes of which `have` are already at path: in the free space (less the
 * reserve and what the other kind's open transfer still needs), else in the space the other kind's partial
 * holds (dropped then: the newer LOAD_BEGIN wins), else refused with the room there is. Partials of the
 * same kind are dropped by an accepted LOAD_BEGIN anyway, so their space counts as free. */
static int make_room(struct dd_store *s, const struct dd_link_load_begin *req, const char *path, uint64_t have,
		     uint64_t *room, struct dd_err *err)
{
	int kind = req->kind, other = kind == DD_KIND_IMAGE ? DD_KIND_FIRMWARE : DD_KIND_IMAGE;
	struct dd_store_xfer *ox = &s->xfer[other];
	char want[32], can[32];
	struct statvfs v;
	uint64_t need = req->size - have, avail, other_left, keep_room;

	*room = 0;
	if (kind == DD_KIND_FIRMWARE && req->size > DD_STORE_FIRMWARE_MAX) {
		*room = DD_STORE_FIRMWARE_MAX;
		human_size(want, sizeof(want), req->size);
		return dd_fail(err, DD_ENOSPACE, "a firmware bundle of %s is over this board's limit of %llu MiB",
			       want, DD_STORE_FIRMWARE_MAX >> 20);
	}
	if (s->statvfs(s->dir, &v))
		return dd_fail_errno(err, DD_EIO, errno, "the board's store: statvfs");
	avail = (uint64_t)v.f_bavail * v.f_frsize + other_parts(s, kind, path, false);
	other_left = ox->open ? ox->size - ox->have : 0;
	keep_room = minus(avail, DD_STORE_RESERVE + other_left);
	if (need <= keep_room)
		return DD_OK;
	/* a package being verified is complete and about to be stored: its room is not taken */
	*room = minus(avail + (ox->verify ? 0 : other_parts(s, other, "", false)), DD_STORE_RESERVE);
	if (need <= *room && !ox->verify) {
		xfer_close(ox, true);
		other_parts(s, other, "", true);
		return DD_OK;
	}
	human_size(want, sizeof(want), need);
	human_size(can, sizeof(can), *room);
	*room += have;
	return dd_fail(err, DD_ENOSPACE, "the board's store cannot hold this %s: %s to receive, room for %s",
		       kind_label(kind), want, can);
}

int dd_store_load_begin(struct dd_store *s, const struct dd_link_load_begin *req,
			struct dd_link_load_begin_reply *rep, uint64_t *room, struct dd_err *err)
{
	struct dd_store_xfer *x = &s->xfer[req->kind];
	char hex[2 * DD_SHA256_LEN + 1], path[sizeof(x->path)];
	struct stat st;
	uint64_t have = 0;
	int rc;

	if (x->verify)
		return dd_fail(err, DD_EBUSY, "a %s is being verified; load when it is done", kind_label(req->kind));
	if (!(x->open && x->size == req->size && !memcmp(x->sha, req->sha256, DD_SHA256_LEN))) {
		dd_hex(hex, req->sha256, DD_SHA256_LEN);
		snprintf(path, sizeof(path), "%s/incoming/%s-%s-%" PRIu64 ".part", s->dir, kind_name(req->kind), hex,
			 req->size);
		/* what a previous connection (or boot) left: resume there */
		if (!lstat(path, &st) && S_ISREG(st.st_mode) && (uint64_t)st.st_size <= req->size)
			have = (uint64_t)st.st_size;
		if ((rc = make_room(s, req, path, have, room, err)))
			return rc;
		xfer_close(x, false);
		memcpy(x->path, path, sizeof(path));
		other_parts(s, req->kind, x->path, true);
		x->fd = open(x->path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (x->fd < 0 || fstat(x->fd, &st)) {
			rc = dd_fail_errno(err, DD_EIO, errno, "%s: cannot store the transfer", kind_label(req->kind));
			xfer_close(x, false);
			return rc;
		}
		x->have = (uint64_t)st.st_size;
		if (x->have > req->size && ftruncate(x->fd, 0) == 0)
			x->have = 0;
		x->synced = x->have; /* what survived a restart or a power cut is on the disk */
		dd_sha256_init(&x->vsha); /* a partial held is hashed as LOAD_DATA goes on (hash_behind) */
		x->hashed = 0;
		/* and its blocks checked along (no memory: LOAD_END checks them the slow way) */
		x->stream = s->no_stream_check ? NULL : dfi_stream_new();
		x->open = true;
		x->size = req->size;
		memcpy(x->sha, req->sha256, DD_SHA256_LEN);
		x->handle = s->next_handle++ << 2 | req->kind;
	}
	x->flags = req->flags; /* a resumed transfer takes the newest LOAD_BEGIN's: the PC's current wish */
	rep->xfer = x->handle;
	rep->offset = x->have;
	rep->chunk = DD_STORE_CHUNK;
	return DD_OK;
}

/* The open transfer handle names, else NULL and err says so (DD_EABSENT). */
static struct dd_store_xfer *find_xfer(struct dd_store *s, uint32_t handle, struct dd_err *err)
{
	unsigned kind = handle & 3; /* the handle carries its kind in the low bits */
	struct dd_store_xfer *x = kind == DD_KIND_IMAGE || kind == DD_KIND_FIRMWARE ? &s->xfer[kind] : NULL;

	if (!x || !x->open || x->handle != handle) {
		dd_fail(err, DD_EABSENT, "no transfer %u open (it ended, was cancelled or gave its room to a newer "
			"one; send LOAD_BEGIN)", handle);
		return NULL;
	}
	return x;
}

/* LOAD_DATA's bytes are hashed as they arrive, so that LOAD_END need not read the file again, and their
 * data frames decoded and hashed (x->stream), so that LOAD_END need not read the blocks back. A resumed
 * transfer's partial (held before this LOAD_BEGIN) is read back first, at most HASH_BEHIND bytes per
 * LOAD_DATA (each reply stays prompt): the hash catches up as the transfer goes on, and LOAD_END reads
 * whatever is still behind. A read that fails leaves the rest to LOAD_END, which reports it. */
#define HASH_BEHIND (4u << 20)
#define VERIFY_PIECE (1u << 20)

/* Bytes [x->hashed, x->hashed + n) of the transfer, in order: into the SHA-256 and the block check. */
static void hash_take(struct dd_store_xfer *x, const uint8_t *p, size_t n)
{
	dd_sha256_update(&x->vsha, p, n);
	if (x->stream)
		dfi_stream_feed(x->stream, p, n);
	x->hashed += n;
}

static void hash_behind(struct dd_store_xfer *x, uint64_t upto)
{
	uint64_t budget = HASH_BEHIND;

	if (x->hashed < upto && !x->vbuf && !(x->vbuf = malloc(VERIFY_PIECE)))
		return;
	while (budget && x->hashed < upto) {
		uint64_t want = upto - x->hashed < VERIFY_PIECE ? upto - x->hashed : VERIFY_PIECE;
		ssize_t n = pread(x->fd, x->vbuf, (size_t)want, (off_t)x->hashed);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		hash_take(x, x->vbuf, (size_t)n);
		budget = minus(budget, (uint64_t)n);
	}
}

/* Bytes [off, off + len) were just stored: hash them, from memory when the hash has reached off. */
static void hash_arrived(struct dd_store_xfer *x, const uint8_t *p, uint64_t off, size_t len)
{
	hash_behind(x, off);
	if (x->hashed != off)
		return;
	hash_take(x, p, len);
}

int dd_store_load_data(struct dd_store *s, const struct dd_link_load_data *req, uint64_t *held,
		       uint64_t *expected, struct dd_err *err)
{
	struct dd_store_xfer *x = find_xfer(s, req->xfer, err);
	const uint8_t *p = req->data;
	uint64_t off = req->offset;
	size_t left = req->len;

	if (!x)
		return DD_EABSENT;
	if (x->verify)
		return dd_fail(err, DD_EBUSY, "transfer %u is complete and being verified", req->xfer);
	*expected = x->have;
	if (req->offset != x->have)
		return dd_fail(err, DD_EOFFSET, "data at offset %" PRIu64 ", expected %" PRIu64, req->offset, x->have);
	if (req->len > x->size - x->have)
		return dd_fail(err, DD_EINPUT, "data past the end of the %" PRIu64 "-byte package", x->size);
	while (left) {
		ssize_t n = pwrite(x->fd, p, left, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : ENOSPC;

			dd_fail_errno(err, e == ENOSPC || e == EDQUOT ? DD_ENOSPACE : DD_EIO, e,
				      "%s: the board cannot store the data", kind_label((int)(req->xfer & 3)));
			/* keep what is known good: the transfer resumes from the old length */
			if (ftruncate(x->fd, (off_t)x->have))
				xfer_close(x, true);
			return e == ENOSPC || e == EDQUOT ? DD_ENOSPACE : DD_EIO;
		}
		p += n;
		off += (uint64_t)n;
		left -= (size_t)n;
	}
	hash_arrived(x, req->data, req->offset, req->len);
	x->have += req->len;
	*held = x->have;
	if (x->have - x->synced >= DD_STORE_SYNC_EVERY && !fdatasync(x->fd))
		x->synced = x->have;
	return DD_OK;
}

/* Move the verified transfer into place: fsync, rename, fsync both directories. */
static int install(struct dd_store *s, struct dd_store_xfer *x, const char *name, struct dd_err *err)
{
	char dst[700], inc[700];
	int rc;

	store_path(s, dst, sizeof(dst), name);
	store_path(s, inc, sizeof(inc), "incoming");
	if (fsync(x->fd))
		return dd_fail_errno(err, DD_EIO, errno, "%s: fsync", x->path);
	dd_crashpoint("store-install-before-rename");
	if (rename(x->path, dst))
		return dd_fail_errno(err, DD_EIO, errno, "%s: rename to %s", x->path, dst);
	x->path[0] = '\0';
	dd_crashpoint("store-install-after-rename");
	if ((rc = dd_store_fsync_dir(s->dir, err)) || (rc = dd_store_fsync_dir(inc, err)))
		return rc;
	return DD_OK;
}

/* LOAD_END's verification, a piece at a time (store.h): the SHA-256 of the bytes (what LOAD_DATA did not
 * hash yet), then the package opened and its signature checked, then every block against the signed
 * manifest, then installed. */

int dd_store_load_end_start(struct dd_store *s, uint32_t handle, struct dd_err *err)
{
	return dd_store_load_end_start_sha(s, handle, NULL, err);
}

int dd_store_load_end_start_sha(struct dd_store *s, uint32_t handle, const uint8_t *sha, struct dd_err *err)
{
	struct dd_store_xfer *x = find_xfer(s, handle, err);

	if (!x)
		return DD_EABSENT;
	if (x->verify)
		return dd_fail(err, DD_EBUSY, "transfer %u is being verified already", handle);
	if (x->have != x->size)
		return dd_fail(err, DD_EBUSY, "transfer incomplete: %" PRIu64 " of %" PRIu64 " bytes", x->have,
			       x->size);
	/* a malformed request (bad-field), not a bad package: DD_EUSAGE */
	if (!sha && (x->flags & DD_LOAD_HASH_AT_END))
		return dd_fail(err, DD_EUSAGE,
			       "LOAD_END without the package's SHA-256 (the load began with HASH_AT_END)");
	if (sha && !(x->flags & DD_LOAD_HASH_AT_END) && memcmp(sha, x->sha, DD_SHA256_LEN))
		return dd_fail(err, DD_EUSAGE, "LOAD_END names another SHA-256 than LOAD_BEGIN");
	memcpy(x->want, sha ? sha : x->sha, DD_SHA256_LEN);
	if (!x->vbuf && !(x->vbuf = malloc(VERIFY_PIECE)))
		return dd_fail(err, DD_ENOMEM, "out of memory");
	x->vpos = x->hashed; /* the SHA-256 of what came before is taken already */
	x->verify = DD_VERIFY_HASH;
	return DD_OK;
}

/* Every block was decoded and hashed as the bytes came, and the signed manifest lists exactly those frames
 * and hashes (dfi_stream_proves): what verify_blocks would prove. Otherwise verify_blocks reads them back,
 * and names the fault if there is one. */
static bool streamed_proof(struct dd_store_xfer *x)
{
	const struct dfi_reader *r = dd_source_dfi_reader(x->vsrc);
	bool ok = x->stream && r && dfi_stream_fed(x->stream) == x->size && dfi_stream_proves(x->stream, r);

	dfi_stream_free(x->stream);
	x->stream = NULL;
	return ok;
}

/* Hash up to *budget bytes; at the end compare with LOAD_BEGIN's SHA-256 and open the package. */
static int verify_hash(struct dd_store *s, struct dd_store_xfer *x, int kind, uint64_t *budget, struct dd_err *err)
{
	uint8_t sha[DD_SHA256_LEN];
	int rc;

	while (*budget && x->vpos < x->size) {
		uint64_t want = x->size - x->vpos < VERIFY_PIECE ? x->size - x->vpos : VERIFY_PIECE;
		ssize_t n = pread(x->fd, x->vbuf, (size_t)(want < *budget ? want : *budget), (off_t)x->vpos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return dd_fail_errno(err, DD_EIO, n < 0 ? errno : EIO, "%s: read", kind_label(kind));
		hash_take(x, x->vbuf, (size_t)n);
		x->vpos += (uint64_t)n;
		*budget = minus(*budget, (uint64_t)n);
	}
	if (x->vpos < x->size)
		return DD_STORE_MORE;
	dd_sha256_final(&x->vsha, sha);
	if (memcmp(sha, x->want, DD_SHA256_LEN))
		return dd_fail(err, DD_EINPUT, "received package does not match the SHA-256 announced in %s",
			       x->flags & DD_LOAD_HASH_AT_END ? "LOAD_END" : "LOAD_BEGIN");
	rc = open_package(x->path, s->pubkeys, s->n_pubkeys, &x->vsrc, err);
	if (!rc)
		rc = dd_store_check_kind(s->board_type, kind, x->vsrc->info.name, err);
	if (!rc) /* judged before its blocks are read: a revoked or older package costs no more */
		rc = dd_store_judge(s, kind, &x->vsrc->info, x->flags & DD_LOAD_ALLOW_DOWNGRADE, err);
	if (rc)
		return rc;
	if (streamed_proof(x)) {
		s->loads_streamed++;
		x->verify = DD_VERIFY_DONE;
		return DD_STORE_MORE;
	}
	free(x->vbuf);
	x->vbuf = malloc(x->vsrc->info.block_size);
	if (!x->vbuf)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	x->vpos = 0;
	x->verify = DD_VERIFY_BLOCKS;
	return DD_STORE_MORE;
}

/* Check blocks for up to *budget bytes (at least one block). */
static int verify_blocks(struct dd_store *s, struct dd_store_xfer *x, uint64_t *budget, struct dd_err *err)
{
	const struct dd_image_info *in = &x->vsrc->info;

	int rc;

	while (*budget && x->vpos < in->block_count) {
		if ((rc = check_block(x->vsrc, x->vpos, x->vbuf, x->path, err)))
			return rc;
		x->vpos++;
		s->blocks_read_back++;
		*budget = minus(*budget, in->block_size);
	}
	if (x->vpos < in->block_count)
		return DD_STORE_MORE;
	x->verify = DD_VERIFY_DONE;
	return DD_STORE_MORE;
}

/* Verified: install it and answer. */
static int store_verified(struct dd_store *s, struct dd_store_xfer *x, int kind, struct dd_link_load_end_reply *rep,
			  struct dd_err *err)
{
	struct dd_source *src = x->vsrc;
	int rc = install(s, x, kind == DD_KIND_IMAGE ? "image.dfi" : "firmware.dfi", err);

	if (rc)
		return rc;
	x->vsrc = NULL;
	xfer_close(x, false);
	memset(rep, 0, sizeof(*rep));
	rep->kind = (uint8_t)kind;
	memcpy(rep->id, src->info.image_id, DD_SHA256_LEN);
	rep->size = src->info.image_size;
	snprintf(rep->name, sizeof(rep->name), "%s", src->info.name);
	if (kind == DD_KIND_IMAGE) {
		if (s->image)
			dd_source_close(s->image);
		s->image = src;
	} else {
		snprintf(s->pending_firmware, sizeof(s->pending_firmware), "%s", src->info.name);
		s->firmware_arrived = true;
		dd_source_close(src);
	}
	return DD_OK;
}

int dd_store_verify_step(struct dd_store *s, int kind, uint64_t budget, bool may_install,
			 struct dd_link_load_end_reply *rep, struct dd_err *err)
{
	struct dd_store_xfer *x = &s->xfer[kind == DD_KIND_FIRMWARE ? DD_KIND_FIRMWARE : DD_KIND_IMAGE];
	char path[sizeof(x->path)];
	int code = DD_STORE_MORE;

	memcpy(path, x->path, sizeof(path));
	if (x->verify == DD_VERIFY_HASH)
		code = verify_hash(s, x, kind, &budget, err);
	if (code == DD_STORE_MORE && x->verify == DD_VERIFY_BLOCKS && budget)
		code = verify_blocks(s, x, &budget, err);
	if (code == DD_STORE_MORE && x->verify == DD_VERIFY_DONE && may_install)
		code = store_verified(s, x, kind, rep, err);
	if (!x->verify && code == DD_STORE_MORE)
		return dd_fail(err, DD_EABSENT, "no %s is being verified", kind_label(kind));
	if (code < 0) { /* refused or failed: the partial goes; the PC knows its file, not our incoming/ path */
		xfer_close(x, true);
		relabel(err, path, kind_label(kind));
	}
	return code;
}

int dd_store_load_end(struct dd_store *s, uint32_t handle, struct dd_link_load_end_reply *rep, struct dd_err *err)
{
	int code = dd_store_load_end_start(s, handle, err);

	while (code == 0 && (code = dd_store_verify_step(s, (int)(handle & 3), UINT64_MAX, true, rep, err)) == DD_STORE_MORE)
		;
	return code;
}

void dd_store_xfer_drop(struct dd_store *s, int kind)
{
	if (kind == DD_KIND_IMAGE || kind == DD_KIND_FIRMWARE)
		xfer_close(&s->xfer[kind], true);
}

int dd_store_load_cancel(struct dd_store *s, uint32_t handle, struct dd_err *err)
{
	struct dd_store_xfer *x = find_xfer(s, handle, err);

	if (!x)
		return DD_EABSENT;
	if (x->verify)
		return dd_fail(err, DD_EBUSY, "transfer %u is being verified: too late to cancel", handle);
	xfer_close(x, true);
	return DD_OK;
}
