/* The board's audit log (store.h, docs/AUDIT.md): sealed records in a hash chain signed with the
 * board's own key, bounded by the store's free space, never dropping a record no PC has read. */
#include "firmware/store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/audit.h"
#include "link/chain.h"
#include "util/json.h"

static void log_path(const struct dd_store *s, char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", s->dir, name);
}

/* The board's audit key: made at the first open (the private key is written 0600 and never read
 * anywhere but here), then only loaded. */
static int open_key(struct dd_store *s, struct dd_err *err)
{
	char base[700], key[720], pub[720];
	size_t n = 0;
	FILE *f;
	int rc;

	log_path(s, base, sizeof(base), "audit");
	snprintf(key, sizeof(key), "%s.key", base);
	snprintf(pub, sizeof(pub), "%s.pub", base);
	if (access(key, F_OK)) {
		unlink(pub); /* a first boot cut short between the two files: make both again */
		if ((rc = dd_keygen(base, err)))
			return rc;
		fprintf(stderr, "dartdupd: made the board's audit key (%s)\n", pub);
	}
	if ((rc = dd_signer_open(key, &s->signer, err)))
		return rc;
	f = fopen(pub, "re");
	if (f) {
		n = fread(s->key_pem, 1, sizeof(s->key_pem) - 1, f);
		fclose(f);
	}
	s->key_pem[n] = '\0';
	if (!n || n == sizeof(s->key_pem) - 1)
		return dd_fail(err, DD_EIO, "%s: missing or not a P-256 public key (remove %s to make a new key)", pub,
			       key);
	return DD_OK;
}

/* A power cut in the middle of an append can leave a last record without its newline: cut it off, so
 * that the log holds whole records only and the next record starts on a line of its own. */
static void cut_torn_record(const char *path, off_t whole)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return;
	if (!ftruncate(fd, whole) && !fsync(fd))
		fprintf(stderr, "dartdupd: %s: a torn last record (power cut in an append) was cut off at byte %jd\n",
			path, (intmax_t)whole);
	close(fd);
}

/* Where the log stands: first and next seq, lines, bytes, and the newest record's hash. */
static void scan_log(struct dd_store *s)
{
	char path[700], *line = NULL, *text;
	size_t cap = 0;
	ssize_t n;
	uint64_t seq;
	off_t whole = 0, size;
	FILE *f;

	s->log_next = 1;
	s->log_first = 1;
	s->log_lines = 0;
	s->log_bytes = 0;
	memset(s->log_head, 0, sizeof(s->log_head));
	log_path(s, path, sizeof(path), "audit.log");
	f = fopen(path, "re");
	if (!f)
		return;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n')
			break; /* torn: not a record */
		whole += n;
		seq = strtoull(line, &text, 10);
		if (*text != ' ')
			continue;
		text++;
		if (!s->log_lines)
			s->log_first = seq;
		s->log_lines++;
		if (seq >= s->log_next)
			s->log_next = seq + 1;
		dd_sha256(text, (size_t)(line + n - 1 - text), s->log_head);
	}
	free(line);
	fseeko(f, 0, SEEK_END);
	size = ftello(f);
	fclose(f);
	s->log_bytes = (uint64_t)whole;
	if (size > whole)
		cut_torn_record(path, whole);
}

static void read_exported(struct dd_store *s)
{
	char path[700], buf[32] = "";
	FILE *f;

	log_path(s, path, sizeof(path), "audit.exported");
	s->log_exported = 0;
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, sizeof(buf), f))
		s->log_exported = strtoull(buf, NULL, 10);
	fclose(f);
	if (s->log_exported >= s->log_next)
		s->log_exported = s->log_next - 1;
}

/* The store's small file NAME holds exactly len bytes of data, atomically: a temporary file written and
 * synced, renamed over it, the folder synced (a power cut leaves the old content or the new). */
int dd_store_write_small_file(struct dd_store *s, const char *name, const void *data, size_t len,
			      struct dd_err *err)
{
	char path[700], tmp[720];
	FILE *f;
	int rc = DD_OK;

	log_path(s, path, sizeof(path), name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return dd_fail_errno(err, DD_EIO, errno, "%s", tmp);
	if (fwrite(data, 1, len, f) != len || fflush(f) || fsync(fileno(f)))
		rc = dd_fail_errno(err, DD_EIO, errno, "%s", tmp);
	if (fclose(f) && !rc)
		rc = dd_fail_errno(err, DD_EIO, errno, "%s", tmp);
	if (!rc && rename(tmp, path))
		rc = dd_fail_errno(err, DD_EIO, errno, "%s", path);
	if (!rc)
		rc = dd_store_fsync_dir(s->dir, err);
	if (rc)
		unlink(tmp);
	return rc;
}

/* audit.exported = seq, atomically (a power cut leaves the old mark: records are kept, never lost). */
static int write_exported(struct dd_store *s, uint64_t seq, struct dd_err *err)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "%" PRIu64 "\n", seq);
	int rc = dd_store_write_small_file(s, "audit.exported", line, (size_t)n, err);

	if (!rc)
		s->log_exported = seq;
	return rc;
}

int dd_store_log_open(struct dd_store *s, struct dd_err *err)
{
	int rc = open_key(s, err);

	if (rc)
		return rc;
	scan_log(s);
	read_exported(s);
	return DD_OK;
}

void dd_store_log_close(struct dd_store *s)
{
	if (s->signer)
		dd_signer_close(s->signer);
	s->signer = NULL;
}

int dd_store_log_state(struct dd_store *s, uint64_t *room)
{
	struct statvfs v;
	uint64_t free_bytes = 0;

	if (!s->statvfs(s->dir, &v))
		free_bytes = (uint64_t)v.f_bavail * v.f_frsize;
	if (room)
		*room = free_bytes > DD_LOG_FULL_FREE ? free_bytes - DD_LOG_FULL_FREE : 0;
	if (free_bytes < DD_LOG_FULL_FREE)
		return s->log_exported >= s->log_first && s->log_lines > 1 ? DD_LOG_WARNING : DD_LOG_FULL;
	return free_bytes < DD_LOG_WARN_FREE ? DD_LOG_WARNING : DD_LOG_OK;
}

/* Drop the records a PC has read (seq <= log_exported), oldest first, keeping the newest record (it holds
 * the chain's head and the numbering): rewrite to a temporary file, rename over. */
static int drop_exported(struct dd_store *s, struct dd_err *err)
{
	char path[700], tmp[720], *line = NULL;
	size_t cap = 0;
	unsigned n = 0;
	ssize_t len;
	FILE *in, *out;
	int rc = DD_OK;

	log_path(s, path, sizeof(path), "audit.log");
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	in = fopen(path, "re");
	if (!in)
		return dd_fail_errno(err, DD_EIO, errno, "%s", path);
	out = fopen(tmp, "we");
	if (!out) {
		fclose(in);
		return dd_fail_errno(err, DD_EIO, errno, "%s", tmp);
	}
	while ((len = getline(&line, &cap, in)) > 0)
		if (++n == s->log_lines || strtoull(line, NULL, 10) > s->log_exported)
			fwrite(line, 1, (size_t)len, out);
	free(line);
	fclose(in);
	if (fflush(out) || fsync(fileno(out)))
		rc = dd_fail_errno(err, DD_EIO, errno, "%s", tmp);
	if (fclose(out) && !rc)
		rc = dd_fail_errno(err, DD_EIO, errno, "%s", tmp);
	if (!rc && rename(tmp, path))
		rc = dd_fail_errno(err, DD_EIO, errno, "%s", path);
	if (!rc)
		rc = dd_store_fsync_dir(s->dir, err);
	if (rc) {
		unlink(tmp);
		return rc;
	}
	fprintf(stderr, "dartdupd: audit log: the store is nearly full: dropped records up to %" PRIu64
		" (read by a PC before)\n", s->log_exported);
	scan_log(s);
	return DD_OK;
}

/* Room for one more record: drop what a PC has read if need be; full when nothing can go. */
static int make_log_room(struct dd_store *s, struct dd_err *err)
{
	struct statvfs v;

	if (s->statvfs(s->dir, &v) || (uint64_t)v.f_bavail * v.f_frsize >= DD_LOG_FULL_FREE)
		return DD_OK;
	/* what was dropped (records read before) is room for this one */
	if (s->log_exported >= s->log_first && s->log_lines > 1)
		return drop_exported(s, err);
	return dd_fail_errno(err, DD_EIO, ENOSPC, "audit log full: read it (dartdup board log) so that the board "
			     "may drop what was read");
}

/* The record's body without its closing brace: {"seq":N,"board":"SERIAL",<json's fields> */
static char *body_of(const struct dd_store *s, const char *board_serial, const char *json, size_t jlen)
{
	struct dd_json j;
	size_t plen;
	char *body;

	dd_json_init(&j);
	dd_json_begin_obj(&j, NULL);
	dd_json_u64(&j, "seq", s->log_next);
	dd_json_str(&j, "board", board_serial);
	dd_json_end_obj(&j);
	plen = strlen(dd_json_text(&j));
	body = plen ? malloc(plen + jlen + 2) : NULL;
	if (body)
		sprintf(body, "%.*s%s%.*s", (int)(plen - 1), dd_json_text(&j), jlen > 2 ? "," : "", (int)(jlen - 2),
			json + 1);
	dd_json_free(&j);
	return body;
}

int dd_store_log_append(struct dd_store *s, const char *board_serial, const char *json, struct dd_err *err)
{
	uint8_t hash[DD_SHA256_LEN];
	size_t jlen = strlen(json);
	char path[700], *body, *rec = NULL, *line;
	int rc;

	if (jlen < 2 || json[0] != '{' || json[jlen - 1] != '}')
		return dd_fail(err, DD_EINTERNAL, "audit record is not a JSON object");
	if (!s->signer)
		return dd_fail(err, DD_EINTERNAL, "audit log: no key");
	if ((rc = make_log_room(s, err)))
		return rc;
	body = body_of(s, board_serial, json, jlen);
	if (!body)
		return dd_fail(err, DD_ENOMEM, "audit: out of memory");
	rc = dd_chain_seal(body, s->log_head, s->signer, &rec, hash, err);
	free(body);
	if (rc)
		return rc;
	line = malloc(strlen(rec) + 32);
	if (!line) {
		free(rec);
		return dd_fail(err, DD_ENOMEM, "audit: out of memory");
	}
	sprintf(line, "%" PRIu64 " %s", s->log_next, rec);
	free(rec);
	log_path(s, path, sizeof(path), "audit.log");
	rc = dd_audit_append(path, line, err);
	if (!rc) {
		if (!s->log_lines)
			s->log_first = s->log_next;
		s->log_next++;
		s->log_lines++;
		s->log_bytes += strlen(line) + 1;
		memcpy(s->log_head, hash, DD_SHA256_LEN);
	}
	free(line);
	return rc;
}

int dd_store_log_read(struct dd_store *s, uint64_t since, unsigned max, uint8_t *buf, uint32_t cap,
		      struct dd_link_log_reply *rep, struct dd_err *err)
{
	char path[700], *line = NULL, *text;
	size_t lcap = 0;
	ssize_t n;
	uint64_t seq;
	FILE *f;

	memset(rep, 0, sizeof(*rep));
	rep->records = buf;
	rep->first = rep->next = since > s->log_first ? since : s->log_first;
	log_path(s, path, sizeof(path), "audit.log");
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? DD_OK : dd_fail_errno(err, DD_EIO, errno, "%s", path);
	while (rep->count < max && (n = getline(&line, &lcap, f)) > 0) {
		seq = strtoull(line, &text, 10);
		if (seq < since || *text != ' ')
			continue;
		text++;
		n -= text - line;
		if (n > 0 && text[n - 1] == '\n')
			n--;
		if (!dd_link_log_append(buf, cap, &rep->records_len, text, (size_t)n))
			break;
		if (!rep->count)
			rep->first = seq;
		rep->count++;
		rep->next = seq + 1;
	}
	free(line);
	fclose(f);
	/* what a PC has read may go when room runs out; not being able to say so only keeps records longer */
	if (rep->count && rep->next - 1 > s->log_exported && write_exported(s, rep->next - 1, err))
		fprintf(stderr, "dartdupd: audit log: %s\n", err ? err->msg : "cannot mark records as read");
	return DD_OK;
}

int dd_store_log_foreach(struct dd_store *s, uint64_t since, int (*fn)(void *ctx, uint64_t seq, const char *rec,
								       size_t len),
			 void *ctx, uint64_t *newest, struct dd_err *err)
{
	char path[700], *line = NULL, *text;
	size_t cap = 0;
	ssize_t n;
	uint64_t seq;
	int rc = DD_OK;
	FILE *f;

	if (newest)
		*newest = 0;
	log_path(s, path, sizeof(path), "audit.log");
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? DD_OK : dd_fail_errno(err, DD_EIO, errno, "%s", path);
	while (!rc && (n = getline(&line, &cap, f)) > 0) {
		seq = strtoull(line, &text, 10);
		if (seq < since || *text != ' ' || line[n - 1] != '\n')
			continue;
		text++;
		rc = fn(ctx, seq, text, (size_t)(line + n - 1 - text));
		if (!rc && newest)
			*newest = seq;
	}
	free(line);
	fclose(f);
	return rc;
}

int dd_store_log_mark_exported(struct dd_store *s, uint64_t seq, struct dd_err *err)
{
	if (seq <= s->log_exported)
		return DD_OK;
	return write_exported(s, seq, err);
}

/* --- the batch and operator of the jobs (kept over a restart: the button's jobs after a power cut still
 * name them) ------------------------------------------------------------------------------------ */

int dd_store_batch_save(struct dd_store *s, const char *batch, const char *operator_, struct dd_err *err)
{
	/* NUL-separated: neither may hold a NUL (the link refuses one), anything else is kept as it is */
	size_t bl = strlen(batch) + 1, ol = strlen(operator_) + 1;
	char *buf = malloc(bl + ol);
	int rc;

	if (!buf)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	memcpy(buf, batch, bl);
	memcpy(buf + bl, operator_, ol);
	rc = dd_store_write_small_file(s, "batch", buf, bl + ol, err);
	free(buf);
	return rc;
}

void dd_store_batch_load(struct dd_store *s, char *batch, size_t blen, char *operator_, size_t olen)
{
	char path[700], buf[2 * (DD_LINK_STR_MAX + 1)];
	size_t n = 0, first;
	FILE *f;

	batch[0] = operator_[0] = '\0';
	log_path(s, path, sizeof(path), "batch");
	f = fopen(path, "re");
	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	first = strnlen(buf, n);
	if (first >= n || !memchr(buf + first + 1, '\0', n - first - 1))
		return; /* not what we wrote: no batch rather than a wrong one */
	snprintf(batch, blen, "%s", buf);
	snprintf(operator_, olen, "%s", buf + first + 1);
}
