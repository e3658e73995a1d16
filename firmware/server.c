/* dartdupd's answers to the link requests (docs/PROTOCOL.md). Each handler fills a reply or returns a
 * dd_status with a one-line reason; dd_daemon_handle encodes either, the status turned into the link's
 * error code by dd_daemon_link_error alone. */
#include "firmware/daemon.h"
#include "firmware/version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link/wire.h"

/* The one translation from what the firmware says (dd_status, from the handlers below, the store and the
 * job runner) to the link's error codes (docs/PROTOCOL.md "ERROR"). Most statuses mean one code; two need
 * the request's context:
 *   DD_EINPUT   HELLO: versions not spoken; LOAD_DATA: a field out of range (data past the end); the loads,
 *               START and REVOKE: refused (a package or list that does not pass, a revoked image); a type
 *               no handler knows: unknown type
 *   DD_EABSENT  START: no image when the board holds none (has_image false), else no stick to write;
 *               elsewhere: wrong state (no such transfer, nothing being verified, no self-test)
 *   DD_EUSAGE   a request well framed but malformed for the state it meets (LOAD_END without the SHA-256
 *               its HASH_AT_END transfer needs): a bad field
 * A status nothing here expects (a bug) is internal. */
uint16_t dd_daemon_link_error(int status, int type, bool has_image)
{
	switch (status) {
	case DD_EBUSY:
		return DD_LERR_STATE;
	case DD_EOFFSET:
		return DD_LERR_OFFSET;
	case DD_ENOSPACE:
		return DD_LERR_NO_SPACE;
	case DD_EIO:
		return DD_LERR_IO;
	case DD_EUSAGE:
		return DD_LERR_FIELD;
	case DD_EABSENT:
		if (type != DD_MSG_START)
			return DD_LERR_STATE;
		return has_image ? DD_LERR_NO_STICKS : DD_LERR_NO_IMAGE;
	case DD_EINPUT:
		switch (type) {
		case DD_MSG_HELLO:
			return DD_LERR_VERSION;
		case DD_MSG_LOAD_DATA:
			return DD_LERR_FIELD;
		case DD_MSG_LOAD_BEGIN:
		case DD_MSG_LOAD_END:
		case DD_MSG_LOAD_CANCEL:
		case DD_MSG_START:
		case DD_MSG_REVOKE:
			return DD_LERR_REFUSED;
		default:
			return DD_LERR_TYPE;
		}
	default:
		return DD_LERR_INTERNAL;
	}
}

static int on_hello(struct dd_daemon *d, const struct dd_link_msg *req, struct dd_link_msg *rep,
		    uint64_t *value, struct dd_err *err)
{
	const struct dd_link_hello *h = &req->u.hello;

	if (h->min_version > DD_LINK_PROTO_MAX || h->max_version < DD_LINK_PROTO_MIN) {
		*value = DD_LINK_PROTO_MAX;
		return dd_fail(err, DD_EINPUT, "protocol versions %u..%u not spoken (this board: %u..%u)",
			       h->min_version, h->max_version, DD_LINK_PROTO_MIN, DD_LINK_PROTO_MAX);
	}
	rep->u.hello_r.version = h->max_version < DD_LINK_PROTO_MAX ? h->max_version : DD_LINK_PROTO_MAX;
	d->serving_version = rep->u.hello_r.version; /* the layouts this peer reads */
	rep->u.hello_r.max_payload = DD_LINK_MAX_PAYLOAD;
	rep->u.hello_r.window = DD_DAEMON_WINDOW;
	snprintf(rep->u.hello_r.board, sizeof(rep->u.hello_r.board), "%s", d->board->type);
	snprintf(rep->u.hello_r.firmware, sizeof(rep->u.hello_r.firmware), "%s", dd_firmware_version);
	return DD_OK;
}

static int on_info(struct dd_daemon *d, struct dd_link_msg *rep)
{
	struct dd_link_info_reply *in = &rep->u.info_r;
	const struct dd_source *img = d->store.image;

	snprintf(in->board, sizeof(in->board), "%s", d->board->type);
	snprintf(in->firmware, sizeof(in->firmware), "%s", dd_firmware_version);
	snprintf(in->serial, sizeof(in->serial), "%s", d->board->serial);
	in->n_ports = (uint8_t)d->board->n_ports;
	in->has_image = img != NULL;
	if (img) {
		memcpy(in->image_id, img->info.image_id, DD_SHA256_LEN);
		in->image_size = img->info.image_size;
		snprintf(in->image_name, sizeof(in->image_name), "%s", img->info.name);
	}
	/* version 4: the image's version after pending_firmware ("" none); an older peer (whose decoder refuses
	 * bytes after pending_firmware) gets none */
	in->has_image_version = d->serving_version >= 4;
	if (img && in->has_image_version && dd_version_ok(img->info.version, strlen(img->info.version)))
		snprintf(in->image_version, sizeof(in->image_version), "%s", img->info.version);
	in->n_keys = (uint8_t)d->board->n_pubkeys;
	memcpy(in->key_id, d->key_id, sizeof(in->key_id));
	snprintf(in->pending_firmware, sizeof(in->pending_firmware), "%s", d->store.pending_firmware);
	return 0;
}

/* PORTS (version 3): the sockets' names. A peer that chose an older version gets what a version 2 board
 * answers (unknown-type); a name a board could not send (bad characters, too long) goes as "" (a number
 * on the PC) rather than failing the reply. */
static int on_ports(struct dd_daemon *d, struct dd_link_msg *rep, struct dd_err *err)
{
	struct dd_link_ports_reply *p = &rep->u.ports_r;

	if (d->serving_version < 3) /* DD_EINPUT on PORTS: unknown-type (dd_daemon_link_error) */
		return dd_fail(err, DD_EINPUT, "unknown message type 0x%02x", DD_MSG_PORTS);
	p->n_ports = (uint8_t)d->board->n_ports;
	for (unsigned i = 0; i < d->board->n_ports && i < DD_LINK_MAX_PORTS; i++)
		if (dd_link_port_name_ok(d->board->port_name[i]))
			memcpy(p->name[i], d->board->port_name[i], sizeof(p->name[i]));
	return 0;
}

static int on_status(struct dd_daemon *d, struct dd_link_msg *rep)
{
	struct dd_link_status_reply *s = &rep->u.status_r;

	dd_daemon_refresh_ports(d); /* what the ports hold right now */
	s->job_state = (uint8_t)d->job_state;
	s->job = d->job_no;
	s->n_ports = (uint8_t)d->board->n_ports;
	for (unsigned i = 0; i < d->board->n_ports; i++) {
		const struct dd_port_slot *p = &d->port[i];
		struct dd_link_port_status *o = &s->port[i];
		bool job_data = p->job_index >= 0 || p->has_result;
		unsigned pct;

		o->state = (uint8_t)dd_port_state(d, i, &pct);
		o->capacity = p->now.present ? p->now.id.capacity : p->id.capacity;
		snprintf(o->serial, sizeof(o->serial), "%s", p->now.present ? p->now.id.serial : p->id.serial);
		if (!job_data)
			continue;
		o->phase = dd_link_phase_of(p->st.phase);
		o->result = dd_link_result_of(p->st.result);
		/* a version 1-2 peer reads this byte as reserved (0) */
		o->fail = d->serving_version >= 3 ? dd_link_fail_of(dd_status_kind(&p->st)) : DD_LFAIL_NONE;
		o->total = dd_status_total(&p->st);
		o->done = dd_status_done(&p->st);
		if (o->done > o->total)
			o->done = o->total;
		o->rate = p->st.rate > 0 && p->st.rate < 4e9 ? (uint32_t)p->st.rate : 0;
		if (p->st.result != DD_RESULT_NONE && p->st.write_seconds + p->st.verify_seconds > 0)
			o->rate = (uint32_t)((double)o->done / (p->st.write_seconds + p->st.verify_seconds));
		snprintf(o->error, sizeof(o->error), "%s", p->st.error);
	}
	return 0;
}

static int on_load(struct dd_daemon *d, const struct dd_link_msg *req, struct dd_link_msg *rep,
		   uint64_t *value, struct dd_err *err)
{
	int rc;

	if (d->not_ready[0] && req->type == DD_MSG_LOAD_BEGIN)
		return dd_fail(err, DD_EBUSY, "the board is not ready: %s", d->not_ready);
	if (d->job_state == DD_JOB_RUNNING && req->type != DD_MSG_LOAD_CANCEL)
		return dd_fail(err, DD_EBUSY, "a job is running; load when it is done");
	switch (req->type) {
	case DD_MSG_LOAD_BEGIN:
		return dd_store_load_begin(&d->store, &req->u.load_begin, &rep->u.load_begin_r, value, err);
	case DD_MSG_LOAD_DATA:
		return dd_store_load_data(&d->store, &req->u.load_data, &rep->u.load_data_r.offset, value, err);
	case DD_MSG_LOAD_END:
		if ((rc = dd_store_load_end_start_sha(&d->store, req->u.xfer.xfer,
						      req->u.xfer.has_sha ? req->u.xfer.sha256 : NULL, err)))
			return rc;
		/* verified a slice per turn of the loop; the reply goes out when it is done (daemon.c) */
		d->pending[req->u.xfer.xfer & 3] = (struct dd_pending_end){ true, d->serving, req->tag };
		return DD_DAEMON_DEFER;
	default:
		return dd_store_load_cancel(&d->store, req->u.xfer.xfer, err);
	}
}

static int on_log(struct dd_daemon *d, const struct dd_link_msg *req, struct dd_link_msg *rep, struct dd_err *err)
{
	unsigned max = req->u.log.max < DD_STORE_LOG_BATCH ? req->u.log.max : DD_STORE_LOG_BATCH;
	uint32_t cap = DD_LINK_MAX_PAYLOAD - 18; /* first, next, count */

	return dd_store_log_read(&d->store, req->u.log.since, max, d->logbuf, cap, &rep->u.log_r, err);
}

/* The record of a not-ready board's config check: what is wrong with its set-up. */
static bool not_ready_record(struct dd_daemon *d, struct dd_link_log_reply *r, uint32_t cap)
{
	char detail[300], *rec;
	bool ok;

	snprintf(detail, sizeof(detail), "not ready: %s", d->not_ready);
	rec = dd_selftest_record("config", "fail", detail);
	ok = rec && dd_link_log_append(d->logbuf, cap, &r->records_len, rec, strlen(rec));
	free(rec);
	r->count += ok;
	return ok;
}

/* SELFTEST: the board's checks (board.h), one record per line, in LOG's reply shape. A board that is not
 * ready reports why as its config check, then its hardware checks (the config it fell back on is not the
 * depot's, so its own config record is left out). */
static int on_selftest(struct dd_daemon *d, struct dd_link_msg *rep, struct dd_err *err)
{
	struct dd_link_log_reply *r = &rep->u.log_r;
	uint32_t cap = DD_LINK_MAX_PAYLOAD - 18; /* first, next, count */
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *out;
	int rc;

	memset(r, 0, sizeof(*r));
	r->records = d->logbuf;
	if (d->not_ready[0])
		not_ready_record(d, r, cap);
	if (!d->board->ops->selftest) {
		r->next = r->count;
		if (r->count)
			return DD_OK;
		return dd_fail(err, DD_EABSENT, "the %s board has no self-test", d->board->type);
	}
	out = open_memstream(&text, &len);
	if (!out)
		return dd_fail(err, DD_ENOMEM, "self-test: out of memory");
	rc = d->board->ops->selftest(d->board, &d->store, out, err);
	fclose(out);
	for (line = rc ? NULL : strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (d->not_ready[0] && strstr(line, "\"check\":\"config\""))
			continue;
		if (!dd_link_log_append(d->logbuf, cap, &r->records_len, line, strlen(line)))
			break;
		r->count++;
	}
	r->next = r->count; /* LOG's shape: the records are numbered from 0 */
	free(text);
	return rc ? DD_EINTERNAL : DD_OK; /* the board's check could not run at all: a bug or a broken board */
}

/* TIME: a PC's clock becomes the board's, if it is a time at all (docs/PROTOCOL.md "TIME"). A PC whose
 * clock is wrong (1970, 2107) is not an error: the reply says the board kept its own. */
static int on_time(struct dd_daemon *d, const struct dd_link_msg *req, struct dd_link_msg *rep)
{
	struct dd_link_time_reply *t = &rep->u.time_r;
	int src;

	t->applied = req->u.time.time <= INT64_MAX && dd_clock_set(&d->clock, (int64_t)req->u.time.time, DD_TIME_PC);
	t->time = (uint64_t)dd_clock_now(&d->clock, &src);
	t->source = (uint8_t)src;
	return 0;
}

static int on_audit(struct dd_daemon *d, struct dd_link_msg *rep)
{
	struct dd_link_audit_reply *a = &rep->u.audit_r;
	int src;

	a->time = (uint64_t)dd_clock_now(&d->clock, &src);
	a->source = (uint8_t)src;
	a->log_state = (uint8_t)dd_store_log_state(&d->store, &a->log_room);
	a->next_seq = d->store.log_next;
	a->first_seq = d->store.log_lines ? d->store.log_first : d->store.log_next;
	a->exported = d->store.log_exported;
	a->log_bytes = d->store.log_bytes;
	memcpy(a->head, d->store.log_head, DD_SHA256_LEN);
	snprintf(a->key_pem, sizeof(a->key_pem), "%s", d->store.key_pem);
	return 0;
}

/* REVOKE: a signed revocation list taken (trust.c), or with no bytes only the stored list's state. */
static int on_revoke(struct dd_daemon *d, const struct dd_link_msg *req, struct dd_link_msg *rep,
		     struct dd_err *err)
{
	struct dd_link_revoke_reply *r = &rep->u.revoke_r;
	const struct dd_revocation *rl;
	int rc;

	if (req->u.revoke.len) {
		if (d->not_ready[0])
			return dd_fail(err, DD_EBUSY, "the board is not ready: %s", d->not_ready);
		if ((rc = dd_store_revocation_load(&d->store, req->u.revoke.data, req->u.revoke.len, err)))
			return rc;
		fprintf(stderr, "dartdupd: revocation list serial %llu taken\n",
			(unsigned long long)d->store.revoked->serial);
	}
	rl = d->store.revoked;
	if (rl) {
		r->serial = rl->serial;
		r->n_keys = (uint16_t)rl->n_keys;
		r->n_images = (uint16_t)rl->n_images;
		memcpy(r->id, rl->id, DD_SHA256_LEN);
	}
	return 0;
}

static int on_start(struct dd_daemon *d, const struct dd_link_msg *req, struct dd_link_msg *rep,
		    struct dd_err *err)
{
	int rc = dd_daemon_start_job(d, &req->u.start, err);

	if (rc)
		return rc;
	rep->u.start_r.job = d->job_no;
	rep->u.start_r.n_ports = (uint8_t)d->run.n;
	return 0;
}

static int dispatch(struct dd_daemon *d, const struct dd_link_msg *req, struct dd_link_msg *rep,
		    uint64_t *value, struct dd_err *err)
{
	switch (req->type) {
	case DD_MSG_HELLO:
		return on_hello(d, req, rep, value, err);
	case DD_MSG_INFO:
		return on_info(d, rep);
	case DD_MSG_LOAD_BEGIN:
	case DD_MSG_LOAD_DATA:
	case DD_MSG_LOAD_END:
	case DD_MSG_LOAD_CANCEL:
		return on_load(d, req, rep, value, err);
	case DD_MSG_START:
		return on_start(d, req, rep, err);
	case DD_MSG_ABORT:
		dd_daemon_abort_job(d);
		return 0;
	case DD_MSG_STATUS:
		return on_status(d, rep);
	case DD_MSG_LOG:
		return on_log(d, req, rep, err);
	case DD_MSG_SELFTEST:
		return on_selftest(d, rep, err);
	case DD_MSG_TIME:
		return on_time(d, req, rep);
	case DD_MSG_AUDIT:
		return on_audit(d, rep);
	case DD_MSG_REVOKE:
		return on_revoke(d, req, rep, err);
	case DD_MSG_PORTS:
		return on_ports(d, rep, err);
	default:
		return dd_fail(err, DD_EINPUT, "unknown message type 0x%02x", req->type);
	}
}

int dd_daemon_handle(struct dd_daemon *d, const struct dd_link_msg *req, size_t *len, struct dd_err *err)
{
	struct dd_link_msg *rep = calloc(1, sizeof(*rep)); /* big (STATUS): not on the stack */
	uint64_t value = 0;
	int status, rc;

	if (!rep)
		return dd_link_encode_error(d->tx, req->type, req->tag, dd_daemon_link_error(DD_ENOMEM, req->type, true),
					    0, "out of memory", len, err);
	dd_err_clear(err);
	status = dispatch(d, req, rep, &value, err);
	if (status == DD_DAEMON_DEFER) {
		*len = 0;
		rc = DD_OK;
	} else if (status) {
		rc = dd_link_encode_error(d->tx, req->type, req->tag,
					  dd_daemon_link_error(status, req->type, d->store.image != NULL), value, err->msg,
					  len, err);
	} else {
		rep->type = req->type;
		rep->flags = DD_LINK_F_REPLY;
		rep->tag = req->tag;
		rc = dd_link_encode(rep, d->tx, DD_LINK_TX_CAP, len, err);
	}
	free(rep);
	return rc;
}
