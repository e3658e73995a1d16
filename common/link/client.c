/* PC side of the link protocol (docs/PROTOCOL.md). */
#include "link/client.h"
#include "hash/sha256_fd.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOAD_END_TIMEOUT_MS (15 * 60 * 1000) /* the board hashes the whole package first */

void dd_link_client_close(struct dd_link_client *c)
{
	dd_link_transport_close(c->t);
	c->t = NULL;
	dd_link_rx_free(&c->rx);
	free(c->tx);
	c->tx = NULL;
}

/* Wait for the reply with this tag (replies come in request order). */
static int recv_reply(struct dd_link_client *c, uint32_t tag, int timeout_ms, struct dd_err *err)
{
	struct dd_link_header h;
	struct dd_link_name name;
	const uint8_t *payload;
	size_t got;
	int rc, code;

	for (;;) {
		rc = dd_link_rx_next(&c->rx, &h, &payload, &code, err);
		if (rc < 0) {
			dd_err_prefix(err, "%s", c->t->name);
			return DD_EIO;
		}
		if (rc == 1)
			break;
		rc = dd_link_rx_fill(&c->rx, c->t, timeout_ms, &got, err);
		if (rc)
			return rc;
		if (!got)
			return dd_fail(err, DD_EIO, "%s: no reply from the board within %d %s", c->t->name,
				       timeout_ms < 1000 ? timeout_ms : timeout_ms / 1000, timeout_ms < 1000 ? "ms" : "s");
	}
	if (dd_link_decode(&h, payload, &c->reply, &code, err)) {
		dd_err_prefix(err, "%s: bad reply", c->t->name);
		return DD_EIO;
	}
	if (!dd_link_is_reply(&c->reply) || c->reply.tag != tag)
		return dd_fail(err, DD_EIO, "%s: reply out of order (tag %u, expected %u)", c->t->name,
			       c->reply.tag, tag);
	if (c->reply.type != c->sent_type) /* its fields would be read as another message's */
		return dd_fail(err, DD_EIO, "%s: a %s reply to %s", c->t->name, dd_link_type_name(c->reply.type),
			       dd_link_type_name(c->sent_type));
	c->last_error = 0;
	if (!(c->reply.flags & DD_LINK_F_ERROR))
		return DD_OK;
	c->last_error = c->reply.u.error.code;
	return dd_fail(err, c->last_error == DD_LERR_IO || c->last_error == DD_LERR_INTERNAL ? DD_EIO : DD_EINPUT,
		       "board: %s (%s)", c->reply.u.error.msg, dd_link_errcode_name(c->last_error, &name));
}

static int send_req(struct dd_link_client *c, struct dd_link_msg *req, struct dd_err *err)
{
	req->flags = 0;
	req->tag = c->next_tag++;
	c->sent_type = req->type;
	return dd_link_send(c->t, c->tx, req, err);
}

static int call_timeout(struct dd_link_client *c, struct dd_link_msg *req, int timeout_ms, struct dd_err *err)
{
	int rc = send_req(c, req, err);

	if (rc)
		return rc;
	if (c->t->ops->flush && (rc = c->t->ops->flush(c->t, err)))
		return rc;
	return recv_reply(c, req->tag, timeout_ms, err);
}

int dd_link_call(struct dd_link_client *c, struct dd_link_msg *req, struct dd_err *err)
{
	return call_timeout(c, req, c->timeout_ms, err);
}

int dd_link_client_open(struct dd_link_client *c, struct dd_link_transport *t, const char *client_name,
			struct dd_err *err)
{
	return dd_link_client_open_max(c, t, client_name, DD_LINK_PROTO_MAX, err);
}

int dd_link_client_open_max(struct dd_link_client *c, struct dd_link_transport *t, const char *client_name,
			    uint16_t max_version, struct dd_err *err)
{
	struct dd_link_msg req;
	int rc;

	memset(c, 0, sizeof(*c));
	c->t = t;
	c->next_tag = 1;
	c->timeout_ms = 60 * 1000;
	c->tx = malloc(DD_LINK_TX_CAP);
	rc = c->tx ? dd_link_rx_init(&c->rx, DD_LINK_MAX_PAYLOAD, err)
		   : dd_fail(err, DD_ENOMEM, "link: out of memory");
	if (rc)
		goto fail;
	memset(&req, 0, sizeof(req));
	req.type = DD_MSG_HELLO;
	req.u.hello.min_version = DD_LINK_PROTO_MIN;
	if (max_version < DD_LINK_PROTO_MIN || max_version > DD_LINK_PROTO_MAX) {
		rc = dd_fail(err, DD_EUSAGE, "link: protocol version %u not spoken (%u..%u)", max_version,
			     DD_LINK_PROTO_MIN, DD_LINK_PROTO_MAX);
		goto fail;
	}
	req.u.hello.max_version = max_version;
	snprintf(req.u.hello.name, sizeof(req.u.hello.name), "%s", client_name);
	rc = dd_link_call(c, &req, err);
	if (rc)
		goto fail;
	c->hello = c->reply.u.hello_r;
	if (c->hello.version < DD_LINK_PROTO_MIN || c->hello.version > max_version) {
		rc = dd_fail(err, DD_EINPUT, "%s: board chose protocol version %u", t->name, c->hello.version);
		goto fail;
	}
	return DD_OK;
fail:
	dd_link_client_close(c);
	return rc;
}

/* --- log ------------------------------------------------------------------------------------ */

/* A LOG reply to `since` that moves forward: no more records than asked, none before `since`. The decoder
 * saw to the rest (`next` past every record returned), so `next` > `since`: the next page starts later,
 * and no record comes twice. */
static int check_log_page(const struct dd_link_client *c, uint64_t since, const struct dd_link_log_reply *r,
			  struct dd_err *err)
{
	if (r->count > DD_LINK_LOG_PAGE)
		return dd_fail(err, DD_EIO, "%s: LOG sent %u records, %u asked", c->t->name, r->count,
			       DD_LINK_LOG_PAGE);
	if (r->first < since)
		return dd_fail(err, DD_EIO, "%s: LOG went backwards (records from seq %llu, asked from %llu)",
			       c->t->name, (unsigned long long)r->first, (unsigned long long)since);
	if (r->next < r->first || r->next - r->first < r->count) /* dd_link_decode refuses it already */
		return dd_fail(err, DD_EIO, "%s: LOG's next %llu is not past its records", c->t->name,
			       (unsigned long long)r->next);
	return DD_OK;
}

int dd_link_fetch_log(struct dd_link_client *c, uint64_t since, dd_link_record_fn fn, void *ctx, uint64_t *n,
		      struct dd_err *err)
{
	const struct dd_link_log_reply *r = &c->reply.u.log_r;
	struct dd_link_msg req;
	int rc;

	*n = 0;
	for (;;) {
		uint32_t pos = 0;
		const char *text;
		uint16_t len;

		memset(&req, 0, sizeof(req));
		req.type = DD_MSG_LOG;
		req.u.log.since = since;
		req.u.log.max = DD_LINK_LOG_PAGE;
		if ((rc = dd_link_call(c, &req, err)))
			return rc;
		if (!r->count)
			return DD_OK;
		if ((rc = check_log_page(c, since, r, err)))
			return rc;
		while (dd_link_log_next(r, &pos, &text, &len)) {
			if ((rc = fn(ctx, text, len, err)))
				return rc;
			++*n;
		}
		since = r->next;
	}
}

/* --- load ----------------------------------------------------------------------------------- */

struct pipe_state {
	int fd;
	const char *path;
	uint32_t xfer, chunk, window;
	uint64_t size, acked, sent_off, limit;
	uint32_t first_tag;   /* tag of the oldest request in flight */
	unsigned inflight;
	bool resync;          /* a bad-offset came back: drain, then go on from acked */
	bool hash_at_end;     /* HASH_AT_END: the file is hashed as it is sent, LOAD_END names the SHA-256 */
	uint64_t hashed;      /* bytes [0, hashed) of the file are in sha */
	struct dd_sha256 sha;
};

/* HASH_AT_END: hash the file up to off (what the board held before this run, or a gap after a
 * bad-offset), reading it into buf (len bytes, the frame about to be filled). */
static int hash_upto(struct pipe_state *p, uint64_t off, uint8_t *buf, size_t len, struct dd_err *err)
{
	while (p->hashed < off) {
		size_t n = off - p->hashed < len ? (size_t)(off - p->hashed) : len;
		ssize_t got = pread(p->fd, buf, n, (off_t)p->hashed);

		if (got != (ssize_t)n)
			return dd_fail(err, DD_EIO, "%s: read at %llu failed or file changed", p->path,
				       (unsigned long long)p->hashed);
		dd_sha256_update(&p->sha, buf, n);
		p->hashed += n;
	}
	return DD_OK;
}

static int send_chunk(struct dd_link_client *c, struct pipe_state *p, struct dd_err *err)
{
	uint64_t left = (p->limit < p->size ? p->limit : p->size) - p->sent_off;
	uint32_t n = left < p->chunk ? (uint32_t)left : p->chunk;
	struct dd_link_msg req;
	uint8_t *data = c->tx + DD_LINK_LOAD_DATA_AT; /* read straight into the frame: the encoder copies none */
	ssize_t got;

	if (p->hash_at_end && hash_upto(p, p->sent_off, data, p->chunk, err))
		return DD_EIO;
	got = pread(p->fd, data, n, (off_t)p->sent_off);
	if (got != (ssize_t)n)
		return dd_fail(err, DD_EIO, "%s: read at %llu failed or file changed", p->path,
			       (unsigned long long)p->sent_off);
	if (p->hash_at_end && p->hashed == p->sent_off) { /* in order: hashed as it goes (a resend is not) */
		dd_sha256_update(&p->sha, data, n);
		p->hashed += n;
	}
	memset(&req, 0, sizeof(req));
	req.type = DD_MSG_LOAD_DATA;
	req.u.load_data.xfer = p->xfer;
	req.u.load_data.offset = p->sent_off;
	req.u.load_data.data = data;
	req.u.load_data.len = n;
	if (!p->inflight)
		p->first_tag = c->next_tag;
	if (send_req(c, &req, err))
		return err ? err->code : DD_EIO;
	p->inflight++;
	p->sent_off += n;
	return DD_OK;
}

static int take_ack(struct dd_link_client *c, struct pipe_state *p, struct dd_err *err)
{
	int rc = recv_reply(c, p->first_tag, c->timeout_ms, err);

	p->first_tag++;
	p->inflight--;
	if (rc == DD_EINPUT && c->last_error == DD_LERR_OFFSET) {
		/* the board expects another offset (e.g. a chunk lost with a reconnect): drain what is
		 * in flight, then continue from where the board stands */
		p->resync = true;
		p->acked = c->reply.u.error.value;
		return DD_OK;
	}
	if (rc)
		return rc;
	p->acked = c->reply.u.load_data_r.offset;
	return DD_OK;
}

static int pump(struct dd_link_client *c, struct pipe_state *p, const struct dd_link_load_opts *o,
		struct dd_err *err)
{
	uint64_t end = p->limit < p->size ? p->limit : p->size;
	int rc;

	while (p->acked < end || p->inflight) {
		/* no flush here: the transport's queued writes go on while we wait for an acknowledgement
		 * (waiting for them after each chunk kept one chunk on the bus and the next one unread) */
		while (!p->resync && p->inflight < p->window && p->sent_off < end)
			if ((rc = send_chunk(c, p, err)))
				return rc;
		if (!p->inflight && p->resync) {
			if (p->acked > p->size)
				return dd_fail(err, DD_EIO, "board: asks for offset %llu past the end",
					       (unsigned long long)p->acked);
			p->sent_off = p->acked;
			p->resync = false;
			continue;
		}
		if (!p->inflight)
			break;
		if ((rc = take_ack(c, p, err)))
			return rc;
		if (o->progress)
			o->progress(o->progress_ctx, p->acked, p->size);
	}
	if (c->t->ops->flush && (rc = c->t->ops->flush(c->t, err)))
		return rc;
	return DD_OK;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The resume key's first bytes (docs/PROTOCOL.md): part of the protocol, a board keys its partials by it. */
static const char resume_key_tag[] = "dartdup resume key";

/* HASH_AT_END's resume key: the SHA-256 of the size and the file's last 4 KiB (for a package: its trailer,
 * with the image id, and its signature), so that a board resumes the same package's partial and no other.
 * The board proves the bytes by the SHA-256 in LOAD_END, never by the key. */
static int resume_key(struct pipe_state *p, uint8_t key[DD_SHA256_LEN], struct dd_err *err)
{
	uint8_t tail[4096], le[8];
	size_t n = p->size < sizeof(tail) ? (size_t)p->size : sizeof(tail);
	struct dd_sha256 h;

	if (pread(p->fd, tail, n, (off_t)(p->size - n)) != (ssize_t)n)
		return dd_fail_errno(err, DD_EIO, errno, "%s: read", p->path);
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(p->size >> (8 * i));
	dd_sha256_init(&h);
	dd_sha256_update(&h, resume_key_tag, sizeof(resume_key_tag) - 1); /* without its NUL */
	dd_sha256_update(&h, le, sizeof(le));
	dd_sha256_update(&h, tail, n);
	dd_sha256_final(&h, key);
	return DD_OK;
}

/* The name LOAD_BEGIN gives the package: with HASH_AT_END (a version 3 board) a resume key, the file
 * hashed as it is sent; else its SHA-256, the whole file read first. */
static int package_name(struct dd_link_client *c, struct pipe_state *p, uint8_t sha[DD_SHA256_LEN],
			bool hash_at_end, struct dd_err *err)
{
	struct stat st;

	p->hash_at_end = hash_at_end && c->hello.version >= 3;
	if (!p->hash_at_end)
		return dd_sha256_fd(p->fd, p->path, sha, &p->size, err);
	if (fstat(p->fd, &st))
		return dd_fail_errno(err, DD_EINPUT, errno, "%s", p->path);
	p->size = (uint64_t)st.st_size;
	dd_sha256_init(&p->sha);
	return p->size ? resume_key(p, sha, err) : DD_OK;
}

static int load_begin(struct dd_link_client *c, struct pipe_state *p, int kind, uint8_t flags,
		      const uint8_t sha[DD_SHA256_LEN], struct dd_err *err)
{
	struct dd_link_msg req;
	int rc;

	memset(&req, 0, sizeof(req));
	req.type = DD_MSG_LOAD_BEGIN;
	req.u.load_begin.kind = (uint8_t)kind;
	req.u.load_begin.flags = c->hello.version >= 3 ? flags : 0;
	if (p->hash_at_end)
		req.u.load_begin.flags |= DD_LOAD_HASH_AT_END;
	req.u.load_begin.size = p->size;
	memcpy(req.u.load_begin.sha256, sha, DD_SHA256_LEN);
	if ((rc = dd_link_call(c, &req, err)))
		return rc;
	p->xfer = c->reply.u.load_begin_r.xfer;
	p->acked = p->sent_off = c->reply.u.load_begin_r.offset;
	p->chunk = c->reply.u.load_begin_r.chunk;
	if (p->chunk > c->hello.max_payload - 16)
		p->chunk = c->hello.max_payload - 16;
	if (p->chunk > DD_LINK_MAX_CHUNK) /* a LOAD_DATA is read into our own frame buffer */
		p->chunk = DD_LINK_MAX_CHUNK;
	p->window = c->hello.window ? c->hello.window : 1;
	if (p->acked > p->size)
		return dd_fail(err, DD_EIO, "board: resume offset %llu past the end", (unsigned long long)p->acked);
	return DD_OK;
}

/* What a version 3 board from before HASH_AT_END answers the flag: its decoder refuses LOAD_BEGIN whole
 * (common/link/proto.c then took no flag but ALLOW_DOWNGRADE), a bad-field of value 0 with this message. A
 * board that knows the flag says nothing of the kind (its store's refusals have their own words), so any
 * other bad-field is the answer and no reason to send LOAD_BEGIN again. The decoder's words also cover a
 * kind or size it refuses: the client sends neither (a bad kind would be refused again, then reported). */
static const char old_board_flag_refusal[] = "link: LOAD_BEGIN: a field is out of range";

static bool old_board_refused_flag(const struct dd_link_client *c)
{
	const struct dd_link_error *e = &c->reply.u.error;

	return c->last_error == DD_LERR_FIELD && !e->value && !strcmp(e->msg, old_board_flag_refusal);
}

int dd_link_client_load(struct dd_link_client *c, const char *path, const struct dd_link_load_opts *opts,
			struct dd_link_load_result *res, struct dd_err *err)
{
	struct pipe_state p = { .path = path, .fd = -1 };
	uint8_t sha[DD_SHA256_LEN];
	struct dd_link_msg req;
	double t;
	int rc;

	memset(res, 0, sizeof(*res));
	c->last_error = 0;
	p.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (p.fd < 0)
		return dd_fail_errno(err, DD_EINPUT, errno, "%s", path);
	t = mono_s();
	rc = package_name(c, &p, sha, true, err);
	res->hash_s = mono_s() - t;
	t = mono_s();
	if (!rc && !p.size)
		rc = dd_fail(err, DD_EINPUT, "%s: empty file", path);
	if (!rc)
		rc = load_begin(c, &p, opts->kind, opts->flags, sha, err);
	if (rc && p.hash_at_end && old_board_refused_flag(c)) {
		/* a version 3 board from before HASH_AT_END: the SHA-256 first, then */
		c->last_error = 0;
		rc = package_name(c, &p, sha, false, err);
		if (!rc)
			rc = load_begin(c, &p, opts->kind, opts->flags, sha, err);
	}
	if (rc)
		goto out;
	res->size = p.size;
	res->resumed_from = p.acked;
	p.limit = opts->max_bytes ? p.acked + opts->max_bytes : UINT64_MAX;
	rc = pump(c, &p, opts, err);
	res->data_s = mono_s() - t;
	res->sent = p.acked - res->resumed_from;
	if (rc)
		goto out;
	if (p.acked < p.size) {
		rc = dd_fail(err, DD_EABORT, "%s: stopped after %llu bytes (--max-bytes); load again to resume",
			     path, (unsigned long long)res->sent);
		goto out;
	}
	memset(&req, 0, sizeof(req));
	req.type = DD_MSG_LOAD_END;
	req.u.xfer.xfer = p.xfer;
	if (p.hash_at_end) { /* the SHA-256 of the bytes, taken as they went (the rest read now) */
		if ((rc = hash_upto(&p, p.size, c->tx, DD_LINK_MAX_CHUNK, err)))
			goto out;
		dd_sha256_final(&p.sha, req.u.xfer.sha256);
		req.u.xfer.has_sha = true;
	}
	t = mono_s();
	rc = call_timeout(c, &req, LOAD_END_TIMEOUT_MS, err);
	res->end_s = mono_s() - t;
	if (!rc)
		res->end = c->reply.u.load_end_r;
out:
	if (rc && c->last_error) /* the board's refusal is about this file: say which */
		dd_err_prefix(err, "%s", path);
	close(p.fd);
	return rc;
}
