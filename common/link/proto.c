/* link protocol: frame and message encoding and checking (docs/PROTOCOL.md). */
#include "link/proto.h"
#include "util/escape.h"

#include <stdio.h>
#include <string.h>

/* --- little-endian writer and reader with sticky overflow flags -------------------------- */

struct wr {
	uint8_t *p;
	size_t len, cap;
	bool over;
};

static void put(struct wr *w, const void *src, size_t n)
{
	if (w->over || n > w->cap - w->len) {
		w->over = true;
		return;
	}
	if (src != w->p + w->len) /* data already in place (a LOAD_DATA read into its frame): no copy */
		memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void put_le(struct wr *w, uint64_t v, unsigned n)
{
	uint8_t b[8];

	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	put(w, b, n);
}

static void put_u8(struct wr *w, uint8_t v) { put_le(w, v, 1); }
static void put_u16(struct wr *w, uint16_t v) { put_le(w, v, 2); }
static void put_u32(struct wr *w, uint32_t v) { put_le(w, v, 4); }
static void put_u64(struct wr *w, uint64_t v) { put_le(w, v, 8); }

/* Strings: u8 length + bytes, no NUL inside. Longer strings are cut (never refused on send). */
/* A string field: at most DD_LINK_STR_MAX bytes, and never the first bytes of a UTF-8 character without its
 * end (the protocol's strings are UTF-8; a string cut by the field's size, or earlier by an snprintf into a
 * fixed buffer, would reach the PC with a stray lead byte): the cut character is left out whole. */
static void put_str(struct wr *w, const char *s)
{
	size_t n = s ? strnlen(s, DD_LINK_STR_MAX) : 0, last = n;

	while (last && ((unsigned char)s[last - 1] & 0xC0) == 0x80) /* back to the last character's first byte */
		last--;
	if (last && ((unsigned char)s[last - 1] & 0xC0) == 0xC0 && !dd_utf8_seq(s + last - 1, n - last + 1, NULL))
		n = last - 1;

	put_u8(w, (uint8_t)n);
	put(w, s, n);
}

struct rd {
	const uint8_t *p;
	size_t len, pos;
	bool short_;  /* read past the end */
	bool bad;     /* a field out of range */
};

static const uint8_t *take(struct rd *r, size_t n)
{
	const uint8_t *q;

	if (r->short_ || n > r->len - r->pos) {
		r->short_ = true;
		return NULL;
	}
	q = r->p + r->pos;
	r->pos += n;
	return q;
}

static uint64_t get_le(struct rd *r, unsigned n)
{
	const uint8_t *b = take(r, n);
	uint64_t v = 0;

	if (!b)
		return 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static uint8_t get_u8(struct rd *r) { return (uint8_t)get_le(r, 1); }
static uint16_t get_u16(struct rd *r) { return (uint16_t)get_le(r, 2); }
static uint32_t get_u32(struct rd *r) { return (uint32_t)get_le(r, 4); }
static uint64_t get_u64(struct rd *r) { return get_le(r, 8); }

static void get_bytes(struct rd *r, void *dst, size_t n)
{
	const uint8_t *b = take(r, n);

	if (b)
		memcpy(dst, b, n);
	else
		memset(dst, 0, n);
}

static void get_str(struct rd *r, char out[DD_LINK_STR_MAX + 1])
{
	uint8_t n = get_u8(r);
	const uint8_t *b = take(r, n);

	out[0] = '\0';
	if (!b)
		return;
	if (memchr(b, 0, n)) {
		r->bad = true;
		return;
	}
	memcpy(out, b, n);
	out[n] = '\0';
}

static void get_zero(struct rd *r, size_t n)
{
	const uint8_t *b = take(r, n);

	for (size_t i = 0; b && i < n; i++)
		if (b[i])
			r->bad = true;
}

/* --- frames ------------------------------------------------------------------------------- */

static unsigned pad_for(size_t payload)
{
	return (DD_LINK_HDR_LEN + payload) % DD_LINK_PAD_UNIT == 0 ? 1 : 0;
}

size_t dd_link_frame_size(size_t payload)
{
	return DD_LINK_HDR_LEN + payload + pad_for(payload);
}

int dd_link_parse_header(const uint8_t hdr[DD_LINK_HDR_LEN], uint32_t max_payload,
			 struct dd_link_header *h, int *code, struct dd_err *err)
{
	struct rd r = { .p = hdr, .len = DD_LINK_HDR_LEN };

	*code = DD_LERR_FRAME;
	if (memcmp(hdr, DD_LINK_MAGIC, 4))
		return dd_fail(err, DD_EINPUT, "link: bad frame magic %02x%02x%02x%02x", hdr[0], hdr[1], hdr[2],
			       hdr[3]);
	take(&r, 4);
	h->version = get_u8(&r);
	h->type = get_u8(&r);
	h->flags = get_u8(&r);
	h->pad = get_u8(&r);
	h->tag = get_u32(&r);
	h->length = get_u32(&r);
	if (h->length > max_payload)
		return dd_fail(err, DD_EINPUT, "link: frame length %u over the limit %u", h->length, max_payload);
	if (h->pad >= DD_LINK_PAD_UNIT)
		return dd_fail(err, DD_EINPUT, "link: frame padding %u over the limit", h->pad);
	*code = 0;
	return DD_OK;
}

/* --- message bodies ----------------------------------------------------------------------- */

static void enc_port(struct wr *w, const struct dd_link_port_status *p)
{
	put_u8(w, p->state);
	put_u8(w, p->phase);
	put_u8(w, p->result);
	put_u8(w, p->fail);
	put_u64(w, p->done);
	put_u64(w, p->total);
	put_u64(w, p->capacity);
	put_u32(w, p->rate);
	put_str(w, p->serial);
	put_str(w, p->error);
}

static void enc_audit(struct wr *w, const struct dd_link_audit_reply *a)
{
	put_u8(w, a->source);
	put_u8(w, a->log_state);
	put_u64(w, a->time);
	put_u64(w, a->next_seq);
	put_u64(w, a->first_seq);
	put_u64(w, a->exported);
	put_u64(w, a->log_bytes);
	put_u64(w, a->log_room);
	put(w, a->head, DD_SHA256_LEN);
	put_str(w, a->key_pem);
}

static void enc_request(struct wr *w, const struct dd_link_msg *m)
{
	switch (m->type) {
	case DD_MSG_HELLO:
		put_u16(w, m->u.hello.min_version);
		put_u16(w, m->u.hello.max_version);
		put_str(w, m->u.hello.name);
		break;
	case DD_MSG_LOAD_BEGIN:
		put_u8(w, m->u.load_begin.kind);
		put_u8(w, m->u.load_begin.flags);
		put_le(w, 0, 2);
		put_u64(w, m->u.load_begin.size);
		put(w, m->u.load_begin.sha256, DD_SHA256_LEN);
		break;
	case DD_MSG_LOAD_DATA:
		put_u32(w, m->u.load_data.xfer);
		put_u32(w, 0);
		put_u64(w, m->u.load_data.offset);
		put(w, m->u.load_data.data, m->u.load_data.len);
		break;
	case DD_MSG_LOAD_END:
	case DD_MSG_LOAD_CANCEL:
		put_u32(w, m->u.xfer.xfer);
		if (m->type == DD_MSG_LOAD_END && m->u.xfer.has_sha)
			put(w, m->u.xfer.sha256, DD_SHA256_LEN);
		break;
	case DD_MSG_LOG:
		put_u64(w, m->u.log.since);
		put_u16(w, m->u.log.max);
		break;
	case DD_MSG_START: /* version 1: empty; version 2: batch and operator, when either is set;
			    * version 3: then the flags, when any is set (a version 2 board never sees them) */
		if (m->u.start.batch[0] || m->u.start.operator_[0] || m->u.start.flags) {
			put_str(w, m->u.start.batch);
			put_str(w, m->u.start.operator_);
		}
		if (m->u.start.flags)
			put_u8(w, m->u.start.flags);
		break;
	case DD_MSG_TIME:
		put_u64(w, m->u.time.time);
		break;
	case DD_MSG_REVOKE:
		if (m->u.revoke.len)
			put(w, m->u.revoke.data, m->u.revoke.len);
		break;
	default: /* INFO, ABORT, STATUS, AUDIT, PORTS: empty */
		break;
	}
}

static void enc_reply(struct wr *w, const struct dd_link_msg *m)
{
	const struct dd_link_info_reply *in = &m->u.info_r;

	switch (m->type) {
	case DD_MSG_HELLO:
		put_u16(w, m->u.hello_r.version);
		put_u32(w, m->u.hello_r.max_payload);
		put_u16(w, m->u.hello_r.window);
		put_str(w, m->u.hello_r.board);
		put_str(w, m->u.hello_r.firmware);
		break;
	case DD_MSG_INFO:
		put_str(w, in->board);
		put_str(w, in->firmware);
		put_str(w, in->serial);
		put_u8(w, in->n_ports);
		put_u8(w, in->has_image);
		put(w, in->image_id, DD_SHA256_LEN);
		put_u64(w, in->image_size);
		put_str(w, in->image_name);
		put_u8(w, in->n_keys);
		for (unsigned i = 0; i < in->n_keys && i < DD_LINK_MAX_KEYS; i++)
			put(w, in->key_id[i], DD_SHA256_LEN);
		put_str(w, in->pending_firmware);
		if (in->has_image_version) /* version 4: the board sets it for a version 4 peer only */
			put_str(w, in->image_version);
		break;
	case DD_MSG_LOAD_BEGIN:
		put_u32(w, m->u.load_begin_r.xfer);
		put_u64(w, m->u.load_begin_r.offset);
		put_u32(w, m->u.load_begin_r.chunk);
		break;
	case DD_MSG_LOAD_DATA:
		put_u64(w, m->u.load_data_r.offset);
		break;
	case DD_MSG_LOAD_END:
		put_u8(w, m->u.load_end_r.kind);
		put(w, m->u.load_end_r.id, DD_SHA256_LEN);
		put_u64(w, m->u.load_end_r.size);
		put_str(w, m->u.load_end_r.name);
		break;
	case DD_MSG_START:
		put_u32(w, m->u.start_r.job);
		put_u8(w, m->u.start_r.n_ports);
		break;
	case DD_MSG_STATUS:
		put_u8(w, m->u.status_r.job_state);
		put_u32(w, m->u.status_r.job);
		put_u8(w, m->u.status_r.n_ports);
		for (unsigned i = 0; i < m->u.status_r.n_ports && i < DD_LINK_MAX_PORTS; i++)
			enc_port(w, &m->u.status_r.port[i]);
		break;
	case DD_MSG_LOG:
	case DD_MSG_SELFTEST:
		put_u64(w, m->u.log_r.first);
		put_u64(w, m->u.log_r.next);
		put_u16(w, m->u.log_r.count);
		put(w, m->u.log_r.records, m->u.log_r.records_len);
		break;
	case DD_MSG_TIME:
		put_u8(w, m->u.time_r.applied);
		put_u8(w, m->u.time_r.source);
		put_u64(w, m->u.time_r.time);
		break;
	case DD_MSG_AUDIT:
		enc_audit(w, &m->u.audit_r);
		break;
	case DD_MSG_REVOKE:
		put_u64(w, m->u.revoke_r.serial);
		put_u16(w, m->u.revoke_r.n_keys);
		put_u16(w, m->u.revoke_r.n_images);
		put(w, m->u.revoke_r.id, DD_SHA256_LEN);
		break;
	case DD_MSG_PORTS:
		put_u8(w, m->u.ports_r.n_ports);
		for (unsigned i = 0; i < m->u.ports_r.n_ports && i < DD_LINK_MAX_PORTS; i++)
			put_str(w, m->u.ports_r.name[i]);
		break;
	default: /* LOAD_CANCEL, ABORT: empty */
		break;
	}
}

static bool known_type(int type)
{
	switch (type) {
	case DD_MSG_HELLO: case DD_MSG_INFO: case DD_MSG_LOAD_BEGIN: case DD_MSG_LOAD_DATA:
	case DD_MSG_LOAD_END: case DD_MSG_LOAD_CANCEL: case DD_MSG_START: case DD_MSG_ABORT:
	case DD_MSG_STATUS: case DD_MSG_LOG: case DD_MSG_SELFTEST: case DD_MSG_TIME: case DD_MSG_AUDIT:
	case DD_MSG_REVOKE: case DD_MSG_PORTS:
		return true;
	default:
		return false;
	}
}

int dd_link_encode(const struct dd_link_msg *m, uint8_t *buf, size_t cap, size_t *len, struct dd_err *err)
{
	struct wr w = { .p = buf, .cap = cap };
	size_t payload;
	unsigned pad;
	int code;
	struct dd_link_header h;
	struct dd_link_msg check;

	if (cap < DD_LINK_HDR_LEN)
		return dd_fail(err, DD_EINTERNAL, "link: frame buffer too small");
	w.len = DD_LINK_HDR_LEN;
	if (m->flags & DD_LINK_F_ERROR) {
		put_u16(&w, m->u.error.code);
		put_u16(&w, 0);
		put_u64(&w, m->u.error.value);
		put_str(&w, m->u.error.msg);
	} else if (m->flags & DD_LINK_F_REPLY) {
		enc_reply(&w, m);
	} else {
		enc_request(&w, m);
	}
	payload = w.len - DD_LINK_HDR_LEN;
	pad = pad_for(payload);
	if (w.over || payload > DD_LINK_MAX_PAYLOAD || pad > w.cap - w.len)
		return dd_fail(err, DD_EINTERNAL, "link: %s message does not fit in a frame", dd_link_type_name(m->type));
	memset(buf + w.len, 0, pad);
	w.len = 0;
	put(&w, DD_LINK_MAGIC, 4);
	put_u8(&w, DD_LINK_FRAME_VERSION);
	put_u8(&w, m->type);
	put_u8(&w, m->flags);
	put_u8(&w, (uint8_t)pad);
	put_u32(&w, m->tag);
	put_u32(&w, (uint32_t)payload);
	*len = DD_LINK_HDR_LEN + payload + pad;
	/* Check what we send the way the peer will: a bug here must not become a peer's error. */
	if (dd_link_parse_header(buf, DD_LINK_MAX_PAYLOAD, &h, &code, err) ||
	    dd_link_decode(&h, buf + DD_LINK_HDR_LEN, &check, &code, err)) {
		dd_err_prefix(err, "link: encoding %s", dd_link_type_name(m->type));
		return DD_EINTERNAL;
	}
	return DD_OK;
}

static void dec_port(struct rd *r, struct dd_link_port_status *p)
{
	p->state = get_u8(r);
	p->phase = get_u8(r);
	p->result = get_u8(r);
	p->fail = get_u8(r); /* 0 from a version 1-2 board */
	p->done = get_u64(r);
	p->total = get_u64(r);
	p->capacity = get_u64(r);
	p->rate = get_u32(r);
	get_str(r, p->serial);
	get_str(r, p->error);
	/* state, phase and result may hold numbers a newer board added: kept, shown as unknown(N) and
	 * never counted as a pass (docs/PROTOCOL.md "Values") */
	if (p->done > p->total)
		r->bad = true;
}

static void dec_request(struct rd *r, struct dd_link_msg *m)
{
	switch (m->type) {
	case DD_MSG_HELLO:
		m->u.hello.min_version = get_u16(r);
		m->u.hello.max_version = get_u16(r);
		get_str(r, m->u.hello.name);
		if (m->u.hello.min_version > m->u.hello.max_version || !m->u.hello.min_version)
			r->bad = true;
		break;
	case DD_MSG_LOAD_BEGIN:
		m->u.load_begin.kind = get_u8(r);
		m->u.load_begin.flags = get_u8(r);
		get_zero(r, 2);
		if (m->u.load_begin.flags & ~DD_LOAD_FLAGS)
			r->bad = true;
		m->u.load_begin.size = get_u64(r);
		get_bytes(r, m->u.load_begin.sha256, DD_SHA256_LEN);
		if ((m->u.load_begin.kind != DD_KIND_IMAGE && m->u.load_begin.kind != DD_KIND_FIRMWARE) ||
		    !m->u.load_begin.size)
			r->bad = true;
		break;
	case DD_MSG_LOAD_DATA:
		m->u.load_data.xfer = get_u32(r);
		get_zero(r, 4);
		m->u.load_data.offset = get_u64(r);
		m->u.load_data.len = (uint32_t)(r->len - (r->pos < r->len ? r->pos : r->len));
		m->u.load_data.data = take(r, m->u.load_data.len);
		if (!r->short_ && !m->u.load_data.len)
			r->short_ = true; /* a chunk carries at least one byte */
		break;
	case DD_MSG_LOAD_END:
	case DD_MSG_LOAD_CANCEL:
		m->u.xfer.xfer = get_u32(r);
		/* LOAD_END may carry the package's SHA-256 (a load begun with HASH_AT_END) */
		m->u.xfer.has_sha = m->type == DD_MSG_LOAD_END && r->len == 4 + DD_SHA256_LEN;
		if (m->u.xfer.has_sha)
			get_bytes(r, m->u.xfer.sha256, DD_SHA256_LEN);
		break;
	case DD_MSG_LOG:
		m->u.log.since = get_u64(r);
		m->u.log.max = get_u16(r);
		if (!m->u.log.max)
			r->bad = true;
		break;
	case DD_MSG_START:
		if (r->len == 0)
			break; /* version 1: no batch, no operator */
		get_str(r, m->u.start.batch);
		get_str(r, m->u.start.operator_);
		if (r->pos >= r->len)
			break; /* version 2: no flags */
		m->u.start.flags = get_u8(r);
		if (!m->u.start.flags || (m->u.start.flags & ~DD_START_FLAGS_KNOWN))
			r->bad = true; /* flags sent are never 0; a bit this board does not know is not ignored */
		break;
	case DD_MSG_TIME:
		m->u.time.time = get_u64(r);
		break;
	case DD_MSG_REVOKE:
		m->u.revoke.len = (uint32_t)(r->len - (r->pos < r->len ? r->pos : r->len));
		m->u.revoke.data = take(r, m->u.revoke.len);
		if (m->u.revoke.len > DD_LINK_REVOKE_MAX)
			r->bad = true;
		break;
	default:
		break;
	}
}

static void dec_audit(struct rd *r, struct dd_link_audit_reply *a)
{
	a->source = get_u8(r);
	a->log_state = get_u8(r);
	a->time = get_u64(r);
	a->next_seq = get_u64(r);
	a->first_seq = get_u64(r);
	a->exported = get_u64(r);
	a->log_bytes = get_u64(r);
	a->log_room = get_u64(r);
	get_bytes(r, a->head, DD_SHA256_LEN);
	get_str(r, a->key_pem);
	/* source and log_state may hold a newer board's numbers: shown as unknown(N) */
	if (a->first_seq > a->next_seq || a->exported >= a->next_seq)
		r->bad = true;
}

static void dec_log_reply(struct rd *r, struct dd_link_log_reply *l)
{
	uint32_t pos = 0;

	l->first = get_u64(r);
	l->next = get_u64(r);
	l->count = get_u16(r);
	if (r->short_)
		return;
	l->records = r->p + r->pos;
	l->records_len = (uint32_t)(r->len - r->pos);
	/* every record fully inside, exactly count of them, nothing after */
	for (unsigned i = 0; i < l->count; i++) {
		uint16_t n;

		if (l->records_len - pos < 2) {
			r->short_ = true;
			return;
		}
		n = (uint16_t)(l->records[pos] | l->records[pos + 1] << 8);
		if (l->records_len - pos - 2 < n) {
			r->short_ = true;
			return;
		}
		pos += 2u + n;
	}
	take(r, pos);
	if (l->next < l->first || l->next - l->first < l->count)
		r->bad = true;
}

bool dd_link_port_name_ok(const char *name)
{
	size_t n = strnlen(name, DD_LINK_PORT_NAME_MAX + 1);

	return n <= DD_LINK_PORT_NAME_MAX &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") == n;
}

/* A board's port names reach a technician's terminal: short, and only the characters of a port map's name
 * or a USB port path (no control bytes, no escapes, no spaces to fake a column). */
static void dec_ports(struct rd *r, struct dd_link_ports_reply *p)
{
	p->n_ports = get_u8(r);
	if (p->n_ports > DD_LINK_MAX_PORTS) {
		r->bad = true;
		return;
	}
	for (unsigned i = 0; i < p->n_ports && !r->short_ && !r->bad; i++) {
		char s[DD_LINK_STR_MAX + 1];

		get_str(r, s);
		if (!dd_link_port_name_ok(s)) {
			r->bad = true;
			return;
		}
		memcpy(p->name[i], s, strlen(s) + 1);
	}
}

/* INFO's image version (version 4): absent from an older board's reply (nothing after pending_firmware).
 * It reaches a terminal and is compared with a package's: "" or a version (util/version.h), nothing else. */
static void dec_image_version(struct rd *r, struct dd_link_info_reply *in)
{
	char s[DD_LINK_STR_MAX + 1];

	if (r->short_ || r->bad || r->pos >= r->len)
		return;
	in->has_image_version = true;
	get_str(r, s);
	if (r->short_ || r->bad)
		return;
	if (strlen(s) >= sizeof(in->image_version) || (s[0] && !dd_version_ok(s, strlen(s)))) {
		r->bad = true;
		return;
	}
	memcpy(in->image_version, s, strlen(s) + 1);
}

static void dec_reply(struct rd *r, struct dd_link_msg *m)
{
	struct dd_link_info_reply *in = &m->u.info_r;
	uint8_t flag;

	switch (m->type) {
	case DD_MSG_HELLO:
		m->u.hello_r.version = get_u16(r);
		m->u.hello_r.max_payload = get_u32(r);
		m->u.hello_r.window = get_u16(r);
		get_str(r, m->u.hello_r.board);
		get_str(r, m->u.hello_r.firmware);
		if (!m->u.hello_r.version || m->u.hello_r.max_payload < 4096 || !m->u.hello_r.window)
			r->bad = true;
		break;
	case DD_MSG_INFO:
		get_str(r, in->board);
		get_str(r, in->firmware);
		get_str(r, in->serial);
		in->n_ports = get_u8(r);
		flag = get_u8(r);
		in->has_image = flag == 1;
		get_bytes(r, in->image_id, DD_SHA256_LEN);
		in->image_size = get_u64(r);
		get_str(r, in->image_name);
		in->n_keys = get_u8(r);
		if (in->n_keys > DD_LINK_MAX_KEYS || in->n_ports > DD_LINK_MAX_PORTS || flag > 1) {
			r->bad = true;
			return;
		}
		for (unsigned i = 0; i < in->n_keys; i++)
			get_bytes(r, in->key_id[i], DD_SHA256_LEN);
		get_str(r, in->pending_firmware);
		dec_image_version(r, in);
		break;
	case DD_MSG_LOAD_BEGIN:
		m->u.load_begin_r.xfer = get_u32(r);
		m->u.load_begin_r.offset = get_u64(r);
		m->u.load_begin_r.chunk = get_u32(r);
		if (!m->u.load_begin_r.chunk || m->u.load_begin_r.chunk > DD_LINK_MAX_CHUNK)
			r->bad = true;
		break;
	case DD_MSG_LOAD_DATA:
		m->u.load_data_r.offset = get_u64(r);
		break;
	case DD_MSG_LOAD_END:
		m->u.load_end_r.kind = get_u8(r);
		get_bytes(r, m->u.load_end_r.id, DD_SHA256_LEN);
		m->u.load_end_r.size = get_u64(r);
		get_str(r, m->u.load_end_r.name);
		if (m->u.load_end_r.kind != DD_KIND_IMAGE && m->u.load_end_r.kind != DD_KIND_FIRMWARE)
			r->bad = true;
		break;
	case DD_MSG_START:
		m->u.start_r.job = get_u32(r);
		m->u.start_r.n_ports = get_u8(r);
		if (m->u.start_r.n_ports > DD_LINK_MAX_PORTS)
			r->bad = true;
		break;
	case DD_MSG_STATUS:
		m->u.status_r.job_state = get_u8(r);
		m->u.status_r.job = get_u32(r);
		m->u.status_r.n_ports = get_u8(r);
		if (m->u.status_r.n_ports > DD_LINK_MAX_PORTS) {
			r->bad = true;
			return;
		}
		for (unsigned i = 0; i < m->u.status_r.n_ports; i++)
			dec_port(r, &m->u.status_r.port[i]);
		break;
	case DD_MSG_LOG:
	case DD_MSG_SELFTEST:
		dec_log_reply(r, &m->u.log_r);
		break;
	case DD_MSG_TIME:
		m->u.time_r.applied = get_u8(r);
		m->u.time_r.source = get_u8(r);
		m->u.time_r.time = get_u64(r);
		if (m->u.time_r.applied > 1)
			r->bad = true;
		break;
	case DD_MSG_AUDIT:
		dec_audit(r, &m->u.audit_r);
		break;
	case DD_MSG_REVOKE:
		m->u.revoke_r.serial = get_u64(r);
		m->u.revoke_r.n_keys = get_u16(r);
		m->u.revoke_r.n_images = get_u16(r);
		get_bytes(r, m->u.revoke_r.id, DD_SHA256_LEN);
		break;
	case DD_MSG_PORTS:
		dec_ports(r, &m->u.ports_r);
		break;
	default:
		break;
	}
}

int dd_link_decode(const struct dd_link_header *h, const uint8_t *payload, struct dd_link_msg *m,
		   int *code, struct dd_err *err)
{
	struct rd r = { .p = payload, .len = h->length };
	const char *name = dd_link_type_name(h->type);

	memset(m, 0, sizeof(*m));
	m->type = h->type;
	m->flags = h->flags;
	m->tag = h->tag;
	*code = DD_LERR_VERSION;
	if (h->version != DD_LINK_FRAME_VERSION)
		return dd_fail(err, DD_EINPUT, "link: frame version %u not spoken (only %u)", h->version,
			       DD_LINK_FRAME_VERSION);
	*code = DD_LERR_FIELD;
	if ((h->flags & ~(DD_LINK_F_REPLY | DD_LINK_F_ERROR)) ||
	    (h->flags & DD_LINK_F_ERROR && !(h->flags & DD_LINK_F_REPLY)))
		return dd_fail(err, DD_EINPUT, "link: %s: bad flags 0x%02x", name, h->flags);
	if (h->flags & DD_LINK_F_ERROR) {
		m->u.error.code = get_u16(&r);
		get_zero(&r, 2);
		m->u.error.value = get_u64(&r);
		get_str(&r, m->u.error.msg);
		/* a code this side does not know is still an error: shown as unknown(N) */
		if (!r.short_ && !m->u.error.code)
			r.bad = true;
	} else {
		*code = DD_LERR_TYPE;
		if (!known_type(h->type))
			return dd_fail(err, DD_EINPUT, "link: unknown message type 0x%02x", h->type);
		if (h->flags & DD_LINK_F_REPLY)
			dec_reply(&r, m);
		else
			dec_request(&r, m);
	}
	*code = DD_LERR_LENGTH;
	if (r.short_)
		return dd_fail(err, DD_EINPUT, "link: %s%s: payload of %u bytes too short", name,
			       dd_link_is_reply(m) ? " reply" : "", h->length);
	*code = DD_LERR_FIELD;
	if (r.bad) /* checked before the leftovers: a bad count stops decoding early */
		return dd_fail(err, DD_EINPUT, "link: %s%s: a field is out of range", name,
			       dd_link_is_reply(m) ? " reply" : "");
	*code = DD_LERR_LENGTH;
	if (r.pos != r.len)
		return dd_fail(err, DD_EINPUT, "link: %s%s: %zu bytes left over after the message", name,
			       dd_link_is_reply(m) ? " reply" : "", r.len - r.pos);
	*code = 0;
	return DD_OK;
}

int dd_link_log_next(const struct dd_link_log_reply *r, uint32_t *pos, const char **text, uint16_t *len)
{
	uint16_t n;

	if (*pos + 2 > r->records_len)
		return 0;
	n = (uint16_t)(r->records[*pos] | r->records[*pos + 1] << 8);
	if (n > r->records_len - *pos - 2)
		return 0;
	*text = (const char *)r->records + *pos + 2;
	*len = n;
	*pos += 2u + n;
	return 1;
}

bool dd_link_log_append(uint8_t *buf, uint32_t cap, uint32_t *len, const char *text, size_t text_len)
{
	if (text_len > UINT16_MAX || cap < *len || cap - *len < 2 + text_len)
		return false;
	buf[*len] = (uint8_t)text_len;
	buf[*len + 1] = (uint8_t)(text_len >> 8);
	memcpy(buf + *len + 2, text, text_len);
	*len += 2 + (uint32_t)text_len;
	return true;
}

const char *dd_link_type_name(int type)
{
	switch (type) {
	case DD_MSG_HELLO: return "HELLO";
	case DD_MSG_INFO: return "INFO";
	case DD_MSG_LOAD_BEGIN: return "LOAD_BEGIN";
	case DD_MSG_LOAD_DATA: return "LOAD_DATA";
	case DD_MSG_LOAD_END: return "LOAD_END";
	case DD_MSG_LOAD_CANCEL: return "LOAD_CANCEL";
	case DD_MSG_START: return "START";
	case DD_MSG_ABORT: return "ABORT";
	case DD_MSG_STATUS: return "STATUS";
	case DD_MSG_LOG: return "LOG";
	case DD_MSG_SELFTEST: return "SELFTEST";
	case DD_MSG_TIME: return "TIME";
	case DD_MSG_AUDIT: return "AUDIT";
	case DD_MSG_REVOKE: return "REVOKE";
	case DD_MSG_PORTS: return "PORTS";
	default: return "unknown";
	}
}

/* names[v], or "unknown(v)" in *buf when v is past the table or has no name there */
static const char *name_of(const char *const *names, size_t n, unsigned v, struct dd_link_name *buf)
{
	if (v < n && names[v])
		return names[v];
	snprintf(buf->s, sizeof(buf->s), "unknown(%u)", v);
	return buf->s;
}

#define NAME_OF(names, v, buf) name_of(names, sizeof(names) / sizeof(names[0]), v, buf)

static const char *const errcode_names[] = {
	[DD_LERR_FRAME] = "bad-frame", [DD_LERR_VERSION] = "bad-version", [DD_LERR_TYPE] = "unknown-type",
	[DD_LERR_LENGTH] = "bad-length", [DD_LERR_FIELD] = "bad-field", [DD_LERR_STATE] = "wrong-state",
	[DD_LERR_OFFSET] = "bad-offset", [DD_LERR_REFUSED] = "refused", [DD_LERR_NO_IMAGE] = "no-image",
	[DD_LERR_NO_STICKS] = "no-sticks", [DD_LERR_IO] = "io-error", [DD_LERR_INTERNAL] = "internal",
	[DD_LERR_NO_SPACE] = "no-space",
};
static const char *const port_state_names[] = {
	[DD_PORT_EMPTY] = "empty", [DD_PORT_READY] = "ready", [DD_PORT_BUSY] = "busy",
	[DD_PORT_VERIFYING] = "verifying", [DD_PORT_PASS] = "pass", [DD_PORT_FAIL] = "fail",
	[DD_PORT_ATTENTION] = "attention",
};
static const char *const job_state_names[] = {
	[DD_JOB_IDLE] = "idle", [DD_JOB_RUNNING] = "running", [DD_JOB_DONE] = "done",
};
/* the same words as the engine's dd_phase_name()/dd_result_name() (checked by test_link_proto) */
static const char *const phase_names[] = {
	[DD_LPHASE_QUEUED] = "queued", [DD_LPHASE_PROBE] = "probe", [DD_LPHASE_WRITE] = "write",
	[DD_LPHASE_VERIFY] = "verify", [DD_LPHASE_BOOT] = "boot", [DD_LPHASE_DONE] = "done",
	[DD_LPHASE_SANITIZE] = "sanitize",
};
static const char *const result_names[] = {
	[DD_LRESULT_NONE] = "running", [DD_LRESULT_PASS] = "pass", [DD_LRESULT_FAIL] = "fail",
	[DD_LRESULT_INCOMPLETE] = "incomplete", [DD_LRESULT_WRITTEN] = "written",
	[DD_LRESULT_REFUSED] = "refused", [DD_LRESULT_SKIPPED] = "skipped",
};
static const char *const time_source_names[] = {
	[DD_TIME_UNSET] = "unset", [DD_TIME_PC] = "pc", [DD_TIME_RTC] = "rtc", [DD_TIME_MASTER] = "master",
};
static const char *const log_state_names[] = {
	[DD_LOG_OK] = "ok", [DD_LOG_WARNING] = "warning", [DD_LOG_FULL] = "full",
};
/* every value of the protocol has a name: a value added to an enum without one fails here */
_Static_assert(sizeof(time_source_names) / sizeof(time_source_names[0]) == DD_TIME_SOURCE_MAX + 1, "time sources");
_Static_assert(sizeof(log_state_names) / sizeof(log_state_names[0]) == DD_LOG_STATE_MAX + 1, "log states");
_Static_assert(sizeof(errcode_names) / sizeof(errcode_names[0]) == DD_LERR_MAX + 1, "error code names");
_Static_assert(sizeof(port_state_names) / sizeof(port_state_names[0]) == DD_PORT_STATE_MAX + 1, "port state names");
_Static_assert(sizeof(job_state_names) / sizeof(job_state_names[0]) == DD_JOB_DONE + 1, "job state names");
_Static_assert(sizeof(phase_names) / sizeof(phase_names[0]) == DD_LPHASE_COUNT, "phase names");
_Static_assert(sizeof(result_names) / sizeof(result_names[0]) == DD_LRESULT_COUNT, "result names");

const char *dd_link_errcode_name(unsigned code, struct dd_link_name *buf)
{
	return NAME_OF(errcode_names, code, buf);
}

const char *dd_port_state_name(unsigned state, struct dd_link_name *buf)
{
	return NAME_OF(port_state_names, state, buf);
}

const char *dd_job_state_name(unsigned state, struct dd_link_name *buf)
{
	return NAME_OF(job_state_names, state, buf);
}

const char *dd_link_phase_name(unsigned phase, struct dd_link_name *buf)
{
	return NAME_OF(phase_names, phase, buf);
}

const char *dd_link_result_name(unsigned result, struct dd_link_name *buf)
{
	return NAME_OF(result_names, result, buf);
}

static const char *const fail_names[] = {
	[DD_LFAIL_NONE] = "none", [DD_LFAIL_IO] = "io", [DD_LFAIL_MISMATCH] = "mismatch",
	[DD_LFAIL_COUNTERFEIT] = "counterfeit", [DD_LFAIL_TOO_SMALL] = "too_small", [DD_LFAIL_REFUSED] = "refused",
	[DD_LFAIL_PULLED] = "pulled", [DD_LFAIL_INTERRUPTED] = "interrupted", [DD_LFAIL_IMAGE] = "image",
	[DD_LFAIL_OTHER] = "other",
};
_Static_assert(sizeof(fail_names) / sizeof(fail_names[0]) == DD_LFAIL_COUNT, "a name for every failure kind");

const char *dd_link_fail_name(unsigned fail, struct dd_link_name *buf)
{
	return fail == DD_LFAIL_NONE ? NULL : NAME_OF(fail_names, fail, buf);
}

const char *dd_time_source_name(unsigned source, struct dd_link_name *buf)
{
	return NAME_OF(time_source_names, source, buf);
}

const char *dd_log_state_name(unsigned state, struct dd_link_name *buf)
{
	return NAME_OF(log_state_names, state, buf);
}
