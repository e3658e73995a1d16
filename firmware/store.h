/* The board's persistent store: one directory holding
 *   image.dfi            the stored image (replaced atomically, only after full verification)
 *   firmware.dfi         a verified firmware bundle waiting to be applied
 *   incoming/K-SHA-SIZE.part   transfers in progress (resumable after a disconnect or a restart),
 *                        at most one per kind; never named to the PC (messages say "image package")
 *   audit.log            the audit log: "SEQ RECORD" lines, RECORD a sealed record (link/chain.h),
 *                        bounded by the store's free space (docs/AUDIT.md)
 *   audit.key, audit.pub the board's audit key (ECDSA P-256), made at first open; the private key
 *                        never leaves the board (no message carries it)
 *   audit.exported       the seq of the newest record a PC has read (LOG): only those may be dropped
 *   batch                the batch and operator of the jobs (a PC's START), NUL-separated
 *   revocation.list      the newest signed revocation list taken (trust.c; docs/SECURITY.md "Revocation")
 * Functions that answer a request return DD_OK or a dd_status with the reason in err: DD_EBUSY not now
 * (being verified, incomplete), DD_EABSENT no such transfer, DD_EOFFSET data at the wrong offset,
 * DD_ENOSPACE no room, DD_EINPUT refused (or a field out of range), DD_EIO, DD_ENOMEM. The server alone
 * turns them into the link's error codes (server.c dd_daemon_link_error). */
#ifndef DARTDUP_FIRMWARE_STORE_H
#define DARTDUP_FIRMWARE_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/statvfs.h>

#include "crypto/sign.h"
#include "format/dfi_stream.h"
#include "hash/sha256.h"
#include "release/revoke.h"
#include "link/proto.h"
#include "source/source.h"
#include "util/err.h"

/* Copy a string into a fixed field, cut to fit (messages into protocol fields). */
static inline void dd_copy_str(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

#define DD_STORE_LOG_BATCH 1000     /* audit records in one LOG reply, at most */
/* The audit log grows into the store's free space: below DD_LOG_WARN_FREE free it warns (AUDIT,
 * `dartdup board info`); below DD_LOG_FULL_FREE it first drops records a PC has read, oldest first, and
 * when none are left to drop it is full: jobs are refused until a PC reads the log. */
#define DD_LOG_WARN_FREE (64ull << 20)
#define DD_LOG_FULL_FREE (1ull << 20)
/* preferred LOAD_DATA size: the largest a frame carries. Each LOAD_DATA costs a round of frame handling on
 * both sides (a reply, daemon steps, a transfer ending in a short packet); with 256 KiB chunks a load over the
 * gadget link reached under half the raw bulk rate in the VM rig (docs/PERFORMANCE.md). */
#define DD_STORE_CHUNK DD_LINK_MAX_CHUNK
/* A partial transfer is made durable (fdatasync) every this many bytes: after a power cut a load resumes
 * from the last such point, not from the start (what the page cache held is gone). */
#define DD_STORE_SYNC_EVERY (8u << 20)
#define DD_FIRMWARE_PREFIX "dartdupd-firmware "
/* Room rules for transfers (docs/PROTOCOL.md "Room in the store"): a firmware bundle is at most
 * DD_STORE_FIRMWARE_MAX bytes; every transfer must fit in the store's free space (statvfs) with
 * DD_STORE_RESERVE left over for the audit ring, beside what the open transfer of the other kind still
 * needs, or else in the room a partial transfer of the other kind holds (which is then dropped). */
#define DD_STORE_FIRMWARE_MAX (256ull << 20)
#define DD_STORE_RESERVE (8ull << 20)

/* Where LOAD_END's verification of a transfer stands. */
enum dd_store_verify {
	DD_VERIFY_NONE = 0,
	DD_VERIFY_HASH,     /* hashing the received bytes (vpos = bytes hashed) */
	DD_VERIFY_BLOCKS,   /* checking blocks against the signed manifest (vpos = next block) */
	DD_VERIFY_DONE,     /* verified: installed as soon as no job reads the stored image */
};

struct dd_store_xfer {
	bool open;
	uint32_t handle;
	uint8_t sha[DD_SHA256_LEN];       /* LOAD_BEGIN's: the SHA-256, or with HASH_AT_END a resume key */
	uint8_t want[DD_SHA256_LEN];      /* the SHA-256 LOAD_END checks the bytes against */
	uint64_t size, have;
	uint64_t synced;                  /* bytes made durable (DD_STORE_SYNC_EVERY) */
	int fd;
	uint8_t flags;                    /* DD_LOAD_* of the newest LOAD_BEGIN (allow a downgrade) */
	char path[768];
	int verify;                       /* enum dd_store_verify: no LOAD_BEGIN/DATA/CANCEL meanwhile */
	uint64_t vpos;
	/* the SHA-256 of bytes [0, hashed) of the transfer, taken as LOAD_DATA brings them (and, after a
	 * resume, of the partial read back a few chunks' worth per LOAD_DATA): LOAD_END reads only the rest */
	uint64_t hashed;
	struct dd_sha256 vsha;
	struct dd_source *vsrc;           /* the package, opened and its signature checked */
	uint8_t *vbuf;
	/* the package's data frames decoded and hashed along with vsha (format/dfi_stream.h): when it proves
	 * every block against the signed manifest, LOAD_END reads no block back. NULL: not streamed */
	struct dfi_stream *stream;
};

struct dd_store {
	char dir[512];
	const char *const *pubkeys;
	size_t n_pubkeys;
	const char *board_type;
	struct dd_source *image;          /* the verified stored image, NULL if none */
	struct dd_revocation *revoked;    /* the stored revocation list (trust.c), NULL if none */
	char pending_firmware[128];       /* name of a stored bundle, "" if none */
	bool firmware_arrived;            /* a bundle was stored since the store was opened */
	struct dd_store_xfer xfer[3];     /* indexed by enum dd_link_kind */
	uint32_t next_handle;
	uint64_t log_next;                /* seq of the next audit record */
	uint64_t log_first;               /* seq of the oldest record kept */
	uint64_t log_exported;            /* newest seq a PC has read (audit.exported), 0 none */
	uint64_t log_bytes;
	unsigned log_lines;
	uint8_t log_head[DD_SHA256_LEN];  /* SHA-256 of the newest record: the next one's prev */
	struct dd_signer *signer;         /* the board's audit key */
	char key_pem[256];                /* its public key, PEM */
	int (*statvfs)(const char *path, struct statvfs *buf); /* the store's free space (tests replace it) */
	bool no_stream_check;             /* tests: LOAD_END always reads the blocks back */
	/* how LOAD_END verified the blocks of the packages it stored or refused since open */
	uint64_t loads_streamed;          /* proven while the bytes arrived (no block read back) */
	uint64_t blocks_read_back;        /* blocks read back from the file and checked */
};

/* Open (create) the store and its stored image. A stored image that no longer verifies (keys
 * changed, file damaged) is not used: the board reports no image, and says why in *warning. */
int dd_store_open(struct dd_store *s, const char *dir, const char *const *pubkeys, size_t n_pubkeys,
		  const char *board_type, char *warning, size_t warning_len, struct dd_err *err);
void dd_store_close(struct dd_store *s);

/* On DD_ENOSPACE, *room is the largest package of this kind the store can take now. */
int dd_store_load_begin(struct dd_store *s, const struct dd_link_load_begin *req,
			struct dd_link_load_begin_reply *rep, uint64_t *room, struct dd_err *err);
/* *expected is the offset the board wants (set once the transfer is found: on DD_EOFFSET, and on the
 * failures after it). */
int dd_store_load_data(struct dd_store *s, const struct dd_link_load_data *req, uint64_t *held,
		       uint64_t *expected, struct dd_err *err);
/* LOAD_END in pieces, so that the daemon's loop goes on meanwhile: _start checks the transfer is complete
 * and begins verifying it; each _step does about `budget` bytes of work and returns DD_STORE_MORE while
 * there is more, then DD_OK with *rep filled (verified and stored) or a dd_status (refused or failed:
 * the partial transfer is deleted, err says why, naming the package, never the incoming/ file). A verified
 * package waits (DD_STORE_MORE) until may_install: a job reads the stored image. */
#define DD_STORE_MORE 1 /* positive: never a dd_status */
int dd_store_load_end_start(struct dd_store *s, uint32_t xfer, struct dd_err *err);
/* The same with LOAD_END's SHA-256 of the package (NULL: none), which a transfer begun with
 * DD_LOAD_HASH_AT_END needs (its LOAD_BEGIN named it by a resume key) and any other must match too. */
int dd_store_load_end_start_sha(struct dd_store *s, uint32_t xfer, const uint8_t *sha, struct dd_err *err);
int dd_store_verify_step(struct dd_store *s, int kind, uint64_t budget, bool may_install,
			 struct dd_link_load_end_reply *rep, struct dd_err *err);
/* All of it at once (start, then steps until done). */
int dd_store_load_end(struct dd_store *s, uint32_t xfer, struct dd_link_load_end_reply *rep, struct dd_err *err);
int dd_store_load_cancel(struct dd_store *s, uint32_t xfer, struct dd_err *err);

/* Verify a package completely: well formed, signed by one of the keys, every block's hash.
 * Returns DD_OK or DD_EINPUT (refused) / DD_EIO. */
int dd_store_verify_package(const char *path, const char *const *pubkeys, size_t n_pubkeys,
			    struct dd_source **out, struct dd_err *err);

/* fsync a directory (a rename in it is durable after this). */
int dd_store_fsync_dir(const char *dir, struct dd_err *err);

/* A name for its kind: a bundle's is "dartdupd-firmware BOARD_TYPE VERSION" (this board's type), an
 * image's must not look like one. DD_EINPUT with the reason otherwise. */
int dd_store_check_kind(const char *board_type, int kind, const char *name, struct dd_err *err);

/* Append an audit record (a JSON object): it gets "seq" and "board" fields in front and is sealed into
 * the chain (link/chain.h). DD_EIO (ENOSPC) when the log is full (dd_store_log_state). */
int dd_store_log_append(struct dd_store *s, const char *board_serial, const char *json, struct dd_err *err);
/* Records with seq >= since, at most max, packed into buf (cap bytes, see dd_link_log_append). The newest
 * seq returned is remembered as exported (audit.exported): such records may be dropped when room runs out. */
int dd_store_log_read(struct dd_store *s, uint64_t since, unsigned max, uint8_t *buf, uint32_t cap,
		      struct dd_link_log_reply *rep, struct dd_err *err);
/* The batch (work order) and operator a PC's START named: kept in the store ("batch") for the jobs after
 * it, also after a restart. Load gives "" for what was never set. */
int dd_store_batch_save(struct dd_store *s, const char *batch, const char *operator_, struct dd_err *err);
void dd_store_batch_load(struct dd_store *s, char *batch, size_t blen, char *operator_, size_t olen);
/* Write name in the store atomically (a temporary file, fsync, rename, fsync the directory). */
int dd_store_write_small_file(struct dd_store *s, const char *name, const void *data, size_t len,
			      struct dd_err *err);

/* --- trust.c: versions and revocation (docs/SECURITY.md "Downgrades" and "Revocation") ----------- */

/* Take a signed revocation list (the bytes of a file `dartdup revoke` made), from the link (REVOKE) or a
 * master stick: its signature must verify with one of the board's depot keys whose key the stored list does
 * not revoke, and its serial must be higher than the stored list's (the same list again: 0, nothing done).
 * Then it is stored atomically (revocation.list) and honoured from then on: loads of a revoked image, bundle
 * or signing key are refused, and a stored image it revokes is not written (dd_store_revoked).
 * Returns DD_OK, or DD_EINPUT (err: why: forged, unknown key, older serial ...) or DD_EIO. */
int dd_store_revocation_load(struct dd_store *s, const void *buf, size_t len, struct dd_err *err);
/* At open: the stored list, checked again with the board's keys (a list that no longer verifies is not
 * used, and *warning says so). */
void dd_store_revocation_open(struct dd_store *s, char *warning, size_t wlen);
void dd_store_revocation_close(struct dd_store *s);
/* True when the list revokes info's image id or its signing key; why gets a line saying which. */
bool dd_store_revoked(const struct dd_store *s, const struct dd_image_info *info, char *why, size_t len);
/* A verified package of this kind judged before it is stored: not revoked, and not older than what it
 * replaces (an image: the stored image of the same name; a bundle: the running firmware) unless
 * allow_downgrade. DD_EINPUT with the reason when refused. The master stick's loads call it too. */
int dd_store_judge(struct dd_store *s, int kind, const struct dd_image_info *info, bool allow_downgrade,
		   struct dd_err *err);

/* auditlog.c, for dd_store_open/close: the audit key (made at the first open) and the log's state. */
int dd_store_log_open(struct dd_store *s, struct dd_err *err);
void dd_store_log_close(struct dd_store *s);
/* The master stick's export (firmware/master.h): fn is called for every record with seq >= since, in
 * order, with its sealed text (no newline); a non-zero return stops and is returned. *newest (may be
 * NULL) gets the newest seq seen. Nothing is marked as exported: dd_store_log_mark_exported does that,
 * once what was exported is durable (the mark never goes back). */
int dd_store_log_foreach(struct dd_store *s, uint64_t since, int (*fn)(void *ctx, uint64_t seq, const char *rec,
								       size_t len),
			 void *ctx, uint64_t *newest, struct dd_err *err);
int dd_store_log_mark_exported(struct dd_store *s, uint64_t seq, struct dd_err *err);
/* Drop the transfer of kind, also one verified and waiting to be installed (a master stick whose other
 * package was refused: nothing of it is stored). */
void dd_store_xfer_drop(struct dd_store *s, int kind);
/* enum dd_log_state now; *room (may be NULL) the bytes the log can still grow by. */
int dd_store_log_state(struct dd_store *s, uint64_t *room);

#endif
