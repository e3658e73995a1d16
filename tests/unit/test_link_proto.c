/* link protocol: every message round-trips; malformed variants of each (short, long, wrong version,
 * wrong lengths, bad flags, unknown type, garbage) are refused with the right error code; frames
 * are reassembled from a byte stream cut anywhere; every number a board sends (phase, result, port and
 * job state, error code) round-trips with its name, and numbers the PC does not know decode safely. */
#include "check.h"
#include "engine/events.h"
#include "link/link.h"
#include "link/wire.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static uint8_t chunk_data[300];
static uint8_t log_records[512];
static uint32_t log_records_len;

/* One sample of every request and every reply. */
/* how many sample messages samples() makes at most: one of each type and direction, and an error */
#define DD_SAMPLES 40

static size_t samples(struct dd_link_msg *out, size_t cap)
{
	size_t n = 0;
	struct dd_link_msg *m;

#define ADD(t, f) (m = &out[n++], memset(m, 0, sizeof(*m)), m->type = (t), m->flags = (f), m->tag = 1000 + (uint32_t)n)
	if (cap < DD_SAMPLES)
		abort();
	check_fill_random(chunk_data, sizeof(chunk_data), 3);
	log_records_len = 0;
	dd_link_log_append(log_records, sizeof(log_records), &log_records_len, "{\"result\":\"pass\"}", 17);
	dd_link_log_append(log_records, sizeof(log_records), &log_records_len, "{\"result\":\"fail\"}", 17);

	ADD(DD_MSG_HELLO, 0);
	m->u.hello.min_version = 1, m->u.hello.max_version = 3;
	strcpy(m->u.hello.name, "dartdup test");
	ADD(DD_MSG_HELLO, DD_LINK_F_REPLY);
	m->u.hello_r.version = 1, m->u.hello_r.max_payload = DD_LINK_MAX_PAYLOAD, m->u.hello_r.window = 4;
	strcpy(m->u.hello_r.board, "sim");
	strcpy(m->u.hello_r.firmware, "0.1.0");
	ADD(DD_MSG_INFO, 0);
	ADD(DD_MSG_INFO, DD_LINK_F_REPLY);
	strcpy(m->u.info_r.board, "sim");
	strcpy(m->u.info_r.firmware, "0.1.0");
	strcpy(m->u.info_r.serial, "SIM-1");
	m->u.info_r.n_ports = 4;
	m->u.info_r.has_image = true;
	memset(m->u.info_r.image_id, 0xab, DD_SHA256_LEN);
	m->u.info_r.image_size = 123456789;
	strcpy(m->u.info_r.image_name, "DaRT 10 x64");
	m->u.info_r.n_keys = 2;
	memset(m->u.info_r.key_id[0], 1, DD_SHA256_LEN);
	memset(m->u.info_r.key_id[1], 2, DD_SHA256_LEN);
	strcpy(m->u.info_r.pending_firmware, "dartdupd 0.2.0");
	ADD(DD_MSG_LOAD_BEGIN, 0);
	m->u.load_begin.kind = DD_KIND_IMAGE, m->u.load_begin.size = 5000000;
	memset(m->u.load_begin.sha256, 0x5a, DD_SHA256_LEN);
	ADD(DD_MSG_LOAD_BEGIN, DD_LINK_F_REPLY);
	m->u.load_begin_r.xfer = 7, m->u.load_begin_r.offset = 262144, m->u.load_begin_r.chunk = 262144;
	ADD(DD_MSG_LOAD_DATA, 0);
	m->u.load_data.xfer = 7, m->u.load_data.offset = 262144;
	m->u.load_data.data = chunk_data, m->u.load_data.len = sizeof(chunk_data);
	ADD(DD_MSG_LOAD_DATA, DD_LINK_F_REPLY);
	m->u.load_data_r.offset = 262444;
	ADD(DD_MSG_LOAD_END, 0);
	m->u.xfer.xfer = 7;
	ADD(DD_MSG_LOAD_END, DD_LINK_F_REPLY);
	m->u.load_end_r.kind = DD_KIND_IMAGE, m->u.load_end_r.size = 1 << 30;
	memset(m->u.load_end_r.id, 0x33, DD_SHA256_LEN);
	strcpy(m->u.load_end_r.name, "image");
	ADD(DD_MSG_LOAD_CANCEL, 0);
	m->u.xfer.xfer = 7;
	ADD(DD_MSG_LOAD_CANCEL, DD_LINK_F_REPLY);
	ADD(DD_MSG_START, 0);
	ADD(DD_MSG_START, DD_LINK_F_REPLY);
	m->u.start_r.job = 3, m->u.start_r.n_ports = 4;
	ADD(DD_MSG_ABORT, 0);
	ADD(DD_MSG_ABORT, DD_LINK_F_REPLY);
	ADD(DD_MSG_STATUS, 0);
	ADD(DD_MSG_STATUS, DD_LINK_F_REPLY);
	m->u.status_r.job_state = DD_JOB_RUNNING, m->u.status_r.job = 3, m->u.status_r.n_ports = 3;
	for (int i = 0; i < 3; i++) {
		struct dd_link_port_status *p = &m->u.status_r.port[i];

		p->state = (uint8_t)(DD_PORT_BUSY + i), p->phase = DD_LPHASE_WRITE, p->result = DD_LRESULT_NONE;
		p->done = 100u * (unsigned)i, p->total = 1000, p->capacity = 8000000000ull, p->rate = 30000000;
		snprintf(p->serial, sizeof(p->serial), "SER%d", i);
		if (i == 2) {
			strcpy(p->error, "write at 4096: No space left on device");
			p->fail = DD_LFAIL_IO;
		}
	}
	ADD(DD_MSG_LOG, 0);
	m->u.log.since = 5, m->u.log.max = 100;
	ADD(DD_MSG_LOG, DD_LINK_F_REPLY);
	m->u.log_r.first = 5, m->u.log_r.next = 7, m->u.log_r.count = 2;
	m->u.log_r.records = log_records, m->u.log_r.records_len = log_records_len;
	ADD(DD_MSG_SELFTEST, 0);
	ADD(DD_MSG_SELFTEST, DD_LINK_F_REPLY);
	m->u.log_r.first = 0, m->u.log_r.next = 2, m->u.log_r.count = 2; /* records numbered from 0 */
	m->u.log_r.records = log_records, m->u.log_r.records_len = log_records_len;
	ADD(DD_MSG_START, 0); /* version 2: with batch and operator */
	strcpy(m->u.start.batch, "WO-2026-117"), strcpy(m->u.start.operator_, "A. Tester");
	ADD(DD_MSG_START, 0); /* version 3: flags (no batch, no operator) */
	m->u.start.flags = DD_START_PROBE | DD_START_SANITIZE;
	ADD(DD_MSG_TIME, 0);
	m->u.time.time = 1796000000;
	ADD(DD_MSG_TIME, DD_LINK_F_REPLY);
	m->u.time_r.applied = 1, m->u.time_r.source = DD_TIME_PC, m->u.time_r.time = 1796000000;
	ADD(DD_MSG_AUDIT, 0);
	ADD(DD_MSG_AUDIT, DD_LINK_F_REPLY);
	m->u.audit_r.source = DD_TIME_RTC, m->u.audit_r.log_state = DD_LOG_WARNING, m->u.audit_r.time = 1796000000;
	m->u.audit_r.first_seq = 10, m->u.audit_r.next_seq = 42, m->u.audit_r.exported = 20;
	m->u.audit_r.log_bytes = 12345, m->u.audit_r.log_room = 1 << 20;
	memset(m->u.audit_r.head, 0x5a, DD_SHA256_LEN);
	strcpy(m->u.audit_r.key_pem, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
	ADD(DD_MSG_REVOKE, 0); /* version 3: a list, or empty (the board's list) */
	m->u.revoke.data = chunk_data, m->u.revoke.len = 200;
	ADD(DD_MSG_REVOKE, 0);
	ADD(DD_MSG_REVOKE, DD_LINK_F_REPLY);
	m->u.revoke_r.serial = 7, m->u.revoke_r.n_keys = 1, m->u.revoke_r.n_images = 3;
	memset(m->u.revoke_r.id, 0x77, DD_SHA256_LEN);
	ADD(DD_MSG_LOAD_BEGIN, 0); /* version 3: with a flag */
	m->u.load_begin.kind = DD_KIND_FIRMWARE, m->u.load_begin.flags = DD_LOAD_ALLOW_DOWNGRADE;
	m->u.load_begin.size = 5000;
	ADD(DD_MSG_PORTS, 0); /* version 3: the ports' names */
	ADD(DD_MSG_PORTS, DD_LINK_F_REPLY);
	m->u.ports_r.n_ports = 4;
	strcpy(m->u.ports_r.name[0], "A1"), strcpy(m->u.ports_r.name[1], "usb-0:1.4.2");
	strcpy(m->u.ports_r.name[3], "hub2_7"); /* port 3: no name */
	ADD(DD_MSG_INFO, DD_LINK_F_REPLY); /* version 4: with the image's version */
	strcpy(m->u.info_r.board, "sim");
	m->u.info_r.has_image = true;
	m->u.info_r.image_size = 4096;
	m->u.info_r.has_image_version = true;
	strcpy(m->u.info_r.image_version, "1.2.3");
	ADD(DD_MSG_INFO, DD_LINK_F_REPLY); /* version 4: no image, so no version */
	m->u.info_r.has_image_version = true;
	ADD(DD_MSG_START, DD_LINK_F_REPLY | DD_LINK_F_ERROR);
	m->u.error.code = DD_LERR_NO_IMAGE, m->u.error.value = 9;
	strcpy(m->u.error.msg, "no image stored");
#undef ADD
	return n;
}

static uint8_t frame[DD_LINK_TX_CAP];

/* Decode a whole frame; returns the DD_LERR_* code (0 when accepted). */
static int decode_frame(const uint8_t *f, size_t len, struct dd_link_msg *m)
{
	struct dd_link_header h;
	struct dd_err err;
	int code;

	if (len < DD_LINK_HDR_LEN)
		return -1;
	if (dd_link_parse_header(f, DD_LINK_MAX_PAYLOAD, &h, &code, &err))
		return code;
	if ((size_t)DD_LINK_HDR_LEN + h.length + h.pad != len)
		return -2;
	if (dd_link_decode(&h, f + DD_LINK_HDR_LEN, m, &code, &err))
		return code;
	return 0;
}

static void set_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static size_t encode(const struct dd_link_msg *m)
{
	struct dd_err err;
	size_t len = 0;

	if (dd_link_encode(m, frame, sizeof(frame), &len, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return 0;
	}
	return len;
}

TEST(every_message_round_trips)
{
	static struct dd_link_msg s[DD_SAMPLES], d;
	size_t n = samples(s, DD_SAMPLES);
	static uint8_t again[DD_LINK_TX_CAP];

	for (size_t i = 0; i < n; i++) {
		size_t len = encode(&s[i]), len2;

		CHECK(len > 0);
		CHECK((len % DD_LINK_PAD_UNIT) != 0);
		CHECK_EQ_INT(decode_frame(frame, len, &d), 0);
		CHECK_EQ_INT(d.type, s[i].type);
		CHECK_EQ_INT(d.flags, s[i].flags);
		CHECK_EQ_U64(d.tag, s[i].tag);
		/* the decoded message encodes to the same bytes: nothing lost */
		CHECK(!dd_link_encode(&d, again, sizeof(again), &len2, NULL));
		CHECK_EQ_U64(len2, len);
		CHECK_MEM_EQ(again, frame, len);
	}
}

/* A LOAD_DATA whose bytes were read straight into the frame (the PC's load) encodes to the same frame as
 * one whose bytes lie elsewhere: the encoder only writes around them. */
TEST(load_data_encoded_in_place)
{
	static uint8_t inplace[DD_LINK_TX_CAP], apart[DD_LINK_TX_CAP], data[5000];
	struct dd_link_msg m = { .type = DD_MSG_LOAD_DATA, .tag = 9 };
	size_t l1, l2;

	check_fill_random(data, sizeof(data), 21);
	memset(inplace, 0xa5, sizeof(inplace)); /* not zeros: the header and pad must be written */
	memcpy(inplace + DD_LINK_LOAD_DATA_AT, data, sizeof(data));
	m.u.load_data = (struct dd_link_load_data){ .xfer = 5, .offset = 1u << 20, .data = data, .len = sizeof(data) };
	CHECK(!dd_link_encode(&m, apart, sizeof(apart), &l1, NULL));
	m.u.load_data.data = inplace + DD_LINK_LOAD_DATA_AT;
	CHECK(!dd_link_encode(&m, inplace, sizeof(inplace), &l2, NULL));
	CHECK_EQ_U64(l2, l1);
	CHECK_MEM_EQ(inplace, apart, l1);
}

/* LOAD_END: u32 xfer (version 1-2, and a load begun without HASH_AT_END), or u32 xfer + the package's
 * SHA-256; any other length is bad-length. LOAD_CANCEL never carries one. */
TEST(load_end_with_and_without_sha)
{
	struct dd_link_msg m = { .type = DD_MSG_LOAD_END, .tag = 3 }, d;
	size_t len;

	m.u.xfer.xfer = 0x10005;
	len = encode(&m);
	CHECK_EQ_U64(len, DD_LINK_HDR_LEN + 4); /* the old form, byte for byte */
	CHECK_EQ_INT(decode_frame(frame, len, &d), 0);
	CHECK(!d.u.xfer.has_sha);
	CHECK_EQ_U64(d.u.xfer.xfer, 0x10005);
	m.u.xfer.has_sha = true;
	check_fill_random(m.u.xfer.sha256, DD_SHA256_LEN, 5);
	len = encode(&m);
	CHECK_EQ_U64(len, DD_LINK_HDR_LEN + 4 + DD_SHA256_LEN);
	CHECK_EQ_INT(decode_frame(frame, len, &d), 0);
	CHECK(d.u.xfer.has_sha);
	CHECK_EQ_U64(d.u.xfer.xfer, 0x10005);
	CHECK_MEM_EQ(d.u.xfer.sha256, m.u.xfer.sha256, DD_SHA256_LEN);
	set_le32(frame + 12, 20); /* a cut SHA-256 */
	CHECK_EQ_INT(decode_frame(frame, DD_LINK_HDR_LEN + 20, &d), DD_LERR_LENGTH);
	set_le32(frame + 12, 37); /* one byte more */
	CHECK_EQ_INT(decode_frame(frame, DD_LINK_HDR_LEN + 37, &d), DD_LERR_LENGTH);
	m.type = DD_MSG_LOAD_CANCEL; /* LOAD_CANCEL: xfer only */
	len = encode(&m);
	CHECK_EQ_U64(len, DD_LINK_HDR_LEN + 4);
	set_le32(frame + 12, 36);
	CHECK_EQ_INT(decode_frame(frame, DD_LINK_HDR_LEN + 36, &d), DD_LERR_LENGTH);
}

TEST(fields_survive)
{
	static struct dd_link_msg s[DD_SAMPLES], d;
	size_t n = samples(s, DD_SAMPLES);
	uint32_t pos = 0;
	const char *text;
	uint16_t tl;

	CHECK_EQ_INT(decode_frame(frame, encode(&s[3]), &d), 0); /* INFO reply */
	CHECK(!strcmp(d.u.info_r.image_name, "DaRT 10 x64"));
	CHECK_EQ_U64(d.u.info_r.image_size, 123456789);
	CHECK_EQ_INT(d.u.info_r.n_keys, 2);
	CHECK_EQ_INT(d.u.info_r.key_id[1][31], 2);
	CHECK(d.u.info_r.has_image);
	CHECK_EQ_INT(decode_frame(frame, encode(&s[6]), &d), 0); /* LOAD_DATA */
	CHECK_EQ_U64(d.u.load_data.len, sizeof(chunk_data));
	CHECK_EQ_U64(d.u.load_data.offset, 262144);
	CHECK_MEM_EQ(d.u.load_data.data, chunk_data, sizeof(chunk_data));
	for (size_t i = 0; i < n; i++)
		if (s[i].type == DD_MSG_LOG && dd_link_is_reply(&s[i]))
			CHECK_EQ_INT(decode_frame(frame, encode(&s[i]), &d), 0);
	CHECK_EQ_INT(d.u.log_r.count, 2);
	CHECK(dd_link_log_next(&d.u.log_r, &pos, &text, &tl));
	CHECK(tl == 17 && !memcmp(text, "{\"result\":\"pass\"}", 17));
	CHECK(dd_link_log_next(&d.u.log_r, &pos, &text, &tl));
	CHECK(tl == 17 && !memcmp(text, "{\"result\":\"fail\"}", 17));
	CHECK(!dd_link_log_next(&d.u.log_r, &pos, &text, &tl));
	/* a SELFTEST reply is LOG's shape: its records come back the same */
	for (size_t i = 0; i < n; i++)
		if (s[i].type == DD_MSG_SELFTEST && dd_link_is_reply(&s[i]))
			CHECK_EQ_INT(decode_frame(frame, encode(&s[i]), &d), 0);
	CHECK_EQ_INT(d.type, DD_MSG_SELFTEST);
	CHECK_EQ_INT(d.u.log_r.count, 2);
	pos = 0;
	CHECK(dd_link_log_next(&d.u.log_r, &pos, &text, &tl));
	CHECK(tl == 17 && !memcmp(text, "{\"result\":\"pass\"}", 17));
	for (size_t i = 0; i < n; i++)
		if (s[i].type == DD_MSG_REVOKE && !dd_link_is_reply(&s[i]) && s[i].u.revoke.len) {
			CHECK_EQ_INT(decode_frame(frame, encode(&s[i]), &d), 0);
			CHECK_EQ_U64(d.u.revoke.len, 200);
			CHECK_MEM_EQ(d.u.revoke.data, chunk_data, 200);
		} else if (s[i].type == DD_MSG_REVOKE && dd_link_is_reply(&s[i])) {
			CHECK_EQ_INT(decode_frame(frame, encode(&s[i]), &d), 0);
			CHECK_EQ_U64(d.u.revoke_r.serial, 7);
			CHECK_EQ_INT(d.u.revoke_r.n_images, 3);
			CHECK_EQ_INT(d.u.revoke_r.id[31], 0x77);
		}
	CHECK_EQ_INT(decode_frame(frame, encode(&s[n - 1]), &d), 0); /* error reply */
	CHECK_EQ_INT(d.u.error.code, DD_LERR_NO_IMAGE);
	CHECK(!strcmp(d.u.error.msg, "no image stored"));
}

/* Rewrite the header length (and pad) to payload bytes; buf holds the frame. */
static size_t reframe(uint8_t *f, uint32_t payload)
{
	uint8_t pad = (DD_LINK_HDR_LEN + payload) % DD_LINK_PAD_UNIT ? 0 : 1;

	set_le32(f + 12, payload);
	f[7] = pad;
	memset(f + DD_LINK_HDR_LEN + payload, 0, pad);
	return DD_LINK_HDR_LEN + payload + pad;
}

/* A string field never carries the first bytes of a character without its end: a name cut by an snprintf
 * into a fixed buffer loses the cut character whole; whole characters are kept. */
TEST(strings_cut_between_characters)
{
	static struct dd_link_msg m, d;
	char want[DD_LINK_STR_MAX + 1];

	memset(&m, 0, sizeof(m));
	m.type = DD_MSG_INFO, m.flags = DD_LINK_F_REPLY;
	memset(m.u.info_r.image_name, 'a', 252);
	memcpy(m.u.info_r.image_name + 252, "\xe2\x82", 3); /* the first two bytes of a three-byte euro sign */
	CHECK_EQ_INT(decode_frame(frame, encode(&m), &d), 0);
	memset(want, 'a', 252);
	want[252] = '\0';
	CHECK(!strcmp(d.u.info_r.image_name, want));
	memcpy(m.u.info_r.image_name + 252, "\xe2\x82\xac", 4); /* the whole euro sign: kept */
	CHECK_EQ_INT(decode_frame(frame, encode(&m), &d), 0);
	CHECK_EQ_U64(strlen(d.u.info_r.image_name), 255);
	CHECK(!memcmp(d.u.info_r.image_name + 252, "\xe2\x82\xac", 3));
	strcpy(m.u.info_r.image_name, "caf\xc3"); /* a lone lead byte at the end */
	CHECK_EQ_INT(decode_frame(frame, encode(&m), &d), 0);
	CHECK(!strcmp(d.u.info_r.image_name, "caf"));
}

TEST(short_payloads_refused)
{
	static struct dd_link_msg s[DD_SAMPLES], d;
	size_t n = samples(s, DD_SAMPLES);

	for (size_t i = 0; i < n; i++) {
		size_t len = encode(&s[i]);
		uint32_t payload = (uint32_t)(len - DD_LINK_HDR_LEN - frame[7]);

		if (!payload)
			continue;
		/* every shorter payload is refused, as too short or (a string cut) out of range */
		for (uint32_t cut = 1; cut <= payload && cut < 64; cut++) {
			int code = decode_frame(frame, reframe(frame, payload - cut), &d);

			if (s[i].type == DD_MSG_LOAD_DATA && !dd_link_is_reply(&s[i]) && payload - cut >= 17)
				continue; /* a shorter chunk is still a chunk */
			if (s[i].type == DD_MSG_REVOKE && !dd_link_is_reply(&s[i]))
				continue; /* a shorter list is still bytes for the board to judge (it checks the signature) */
			if (s[i].type == DD_MSG_START && !dd_link_is_reply(&s[i]) && payload == cut)
				continue; /* an empty START is version 1's: no batch, no operator */
			if (s[i].type == DD_MSG_START && !dd_link_is_reply(&s[i]) && s[i].u.start.flags && cut == 1)
				continue; /* without its flags: version 2's START */
			if (s[i].type == DD_MSG_INFO && dd_link_is_reply(&s[i]) && s[i].u.info_r.has_image_version &&
			    cut == 1 + strlen(s[i].u.info_r.image_version))
				continue; /* without the image's version: a version 1-2 board's INFO */
			if (code != DD_LERR_LENGTH && code != DD_LERR_FIELD)
				CHECK_FAIL_("%s%s cut by %u: code %d", dd_link_type_name(s[i].type),
					    dd_link_is_reply(&s[i]) ? " reply" : "", cut, code);
		}
	}
}

TEST(long_payloads_refused)
{
	static struct dd_link_msg s[DD_SAMPLES], d;
	size_t n = samples(s, DD_SAMPLES);
	int code;

	for (size_t i = 0; i < n; i++) {
		size_t len = encode(&s[i]);
		uint32_t payload = (uint32_t)(len - DD_LINK_HDR_LEN - frame[7]);

		if ((s[i].type == DD_MSG_LOAD_DATA || s[i].type == DD_MSG_REVOKE) && !dd_link_is_reply(&s[i]))
			continue; /* its payload ends with the data: longer is just more data */
		frame[DD_LINK_HDR_LEN + payload] = 0x41;
		code = decode_frame(frame, reframe(frame, payload + 1), &d);
		/* version 2's START one byte longer is a version 3 START whose flags hold unknown bits */
		if (s[i].type == DD_MSG_START && !dd_link_is_reply(&s[i]) && !s[i].u.start.flags &&
		    code == DD_LERR_FIELD)
			continue;
		if (code != DD_LERR_LENGTH)
			CHECK_FAIL_("%s%s one byte long: accepted", dd_link_type_name(s[i].type),
				    dd_link_is_reply(&s[i]) ? " reply" : "");
	}
}

TEST(wrong_version_type_flags_magic)
{
	static struct dd_link_msg s[DD_SAMPLES], d;
	size_t n = samples(s, DD_SAMPLES);
	struct dd_link_header h;
	int code;

	for (size_t i = 0; i < n; i++) {
		size_t len = encode(&s[i]);

		frame[4] = 2;
		CHECK_EQ_INT(decode_frame(frame, len, &d), DD_LERR_VERSION);
		frame[4] = DD_LINK_FRAME_VERSION;
		frame[6] ^= 0x80; /* undefined flag */
		CHECK_EQ_INT(decode_frame(frame, len, &d), DD_LERR_FIELD);
		frame[6] ^= 0x80;
		CHECK_EQ_INT(decode_frame(frame, len, &d), 0);
	}
	{
		size_t len = encode(&s[0]);

		frame[5] = 0x55;
		CHECK_EQ_INT(decode_frame(frame, len, &d), DD_LERR_TYPE);
		frame[5] = DD_MSG_HELLO;
		frame[6] = DD_LINK_F_ERROR; /* an error that is not a reply */
		CHECK_EQ_INT(decode_frame(frame, len, &d), DD_LERR_FIELD);
		frame[6] = 0;
		frame[0] = 'X';
		CHECK_EQ_INT(decode_frame(frame, len, &d), DD_LERR_FRAME);
		frame[0] = 'D';
		set_le32(frame + 12, DD_LINK_MAX_PAYLOAD + 1);
		CHECK(dd_link_parse_header(frame, DD_LINK_MAX_PAYLOAD, &h, &code, NULL) == DD_EINPUT);
		CHECK_EQ_INT(code, DD_LERR_FRAME);
		set_le32(frame + 12, 100);
		CHECK(dd_link_parse_header(frame, 99, &h, &code, NULL) == DD_EINPUT);
		frame[7] = DD_LINK_PAD_UNIT;
		CHECK(dd_link_parse_header(frame, DD_LINK_MAX_PAYLOAD, &h, &code, NULL) == DD_EINPUT);
	}
}

/* A PORTS reply built by hand (the encoder refuses what the decoder refuses): n_ports, then each name as a
 * str; returns the frame's length. */
static size_t ports_frame(unsigned n_ports, const char *const *names, unsigned n_names)
{
	struct dd_link_msg m = { .type = DD_MSG_PORTS, .flags = DD_LINK_F_REPLY };
	uint32_t at = DD_LINK_HDR_LEN;

	CHECK(encode(&m)); /* the header; the payload is written below */
	frame[at++] = (uint8_t)n_ports;
	for (unsigned i = 0; i < n_names; i++) {
		size_t len = strlen(names[i]);

		frame[at++] = (uint8_t)len;
		memcpy(frame + at, names[i], len);
		at += (uint32_t)len;
	}
	return reframe(frame, at - DD_LINK_HDR_LEN);
}

/* An INFO reply of a version 2 board (nothing after pending_firmware) followed by the bytes of extra (len
 * bytes: the image version's str as a board might send it); returns the frame's length. */
static size_t info_frame(const char *extra, size_t len)
{
	struct dd_link_msg m = { .type = DD_MSG_INFO, .flags = DD_LINK_F_REPLY };
	size_t at = encode(&m) - frame[7];

	CHECK(at > DD_LINK_HDR_LEN);
	memcpy(frame + at, extra, len);
	return reframe(frame, (uint32_t)(at + len - DD_LINK_HDR_LEN));
}

#define INFO_FRAME(lit) info_frame(lit, sizeof(lit) - 1)

/* INFO's image version (version 4): sent only when the board sets has_image_version (a version 4 peer), so
 * a version 2 peer's INFO is byte for byte the old one; a reply without it decodes (an older board); what
 * is there is "" or a version (util/version.h), nothing else. */
TEST(info_image_version)
{
	static struct dd_link_msg m, d;
	size_t v2, v2_end, len;

	memset(&m, 0, sizeof(m));
	m.type = DD_MSG_INFO, m.flags = DD_LINK_F_REPLY;
	m.u.info_r.has_image = true;
	strcpy(m.u.info_r.image_name, "DaRT");
	strcpy(m.u.info_r.image_version, "1.2.3"); /* not sent: has_image_version is false */
	v2 = encode(&m);
	v2_end = v2 - frame[7]; /* without the pad */
	/* 3 empty strs, n_ports, has_image, id, size, "DaRT", n_keys, "": the old layout */
	CHECK_EQ_U64(v2_end, DD_LINK_HDR_LEN + 3 + 1 + 1 + DD_SHA256_LEN + 8 + 5 + 1 + 1);
	CHECK_EQ_INT(decode_frame(frame, v2, &d), 0);
	CHECK(!d.u.info_r.has_image_version);
	CHECK(!strcmp(d.u.info_r.image_version, ""));
	CHECK(!strcmp(d.u.info_r.image_name, "DaRT"));

	m.u.info_r.has_image_version = true;
	len = encode(&m);
	CHECK_EQ_U64(len - frame[7], v2_end + 1 + 5); /* the old reply, then str "1.2.3" */
	CHECK_EQ_INT(decode_frame(frame, len, &d), 0);
	CHECK(d.u.info_r.has_image_version);
	CHECK(!strcmp(d.u.info_r.image_version, "1.2.3"));
	m.u.info_r.image_version[0] = '\0'; /* a board without an image, or an image without a version */
	CHECK_EQ_INT(decode_frame(frame, encode(&m), &d), 0);
	CHECK(d.u.info_r.has_image_version);
	CHECK(!strcmp(d.u.info_r.image_version, ""));

	/* by hand: what a version 4 board may send, and what it may not */
	CHECK_EQ_INT(decode_frame(frame, INFO_FRAME("\x05" "1.2.3"), &d), 0);
	CHECK(!strcmp(d.u.info_r.image_version, "1.2.3"));
	CHECK_EQ_INT(decode_frame(frame, INFO_FRAME("\x1f" "123456789.123456789.123456789.1"), &d), 0); /* 31 bytes */
	CHECK_EQ_U64(strlen(d.u.info_r.image_version), DD_VERSION_MAX);
	CHECK_EQ_INT(decode_frame(frame, INFO_FRAME("\x20" "123456789.123456789.123456789.12"), &d), DD_LERR_FIELD);
	CHECK_EQ_INT(decode_frame(frame, INFO_FRAME("\x06" "1.2.3\x1b"), &d), DD_LERR_FIELD); /* an escape */
	CHECK_EQ_INT(decode_frame(frame, INFO_FRAME("\x0a" "1.2\x1b[31m.3"), &d), DD_LERR_FIELD);
	CHECK_EQ_INT(decode_frame(frame, INFO_FRAME("\x04" "beta"), &d), DD_LERR_FIELD);
	CHECK_EQ_INT(decode_frame(frame, INFO_FRAME("\x04" "1..2"), &d), DD_LERR_FIELD);
	CHECK_EQ_INT(decode_frame(frame, INFO_FRAME("\x04" "01.2"), &d), DD_LERR_FIELD);
	CHECK_EQ_INT(decode_frame(frame, INFO_FRAME("\x06" "1.2.3\n"), &d), DD_LERR_FIELD);
	CHECK_EQ_INT(decode_frame(frame, INFO_FRAME("\x03" "1\0" "2"), &d), DD_LERR_FIELD); /* a NUL inside */
	CHECK_EQ_INT(decode_frame(frame, INFO_FRAME("\x09" "1.2.3"), &d), DD_LERR_LENGTH); /* cut */
	CHECK_EQ_INT(decode_frame(frame, INFO_FRAME("\x05" "1.2.3" "x"), &d), DD_LERR_LENGTH); /* a byte left over */

	/* the board's encoder refuses to send what the PC refuses */
	m.u.info_r.has_image_version = true;
	strcpy(m.u.info_r.image_version, "1.2.3\x1b");
	CHECK(dd_link_encode(&m, frame, sizeof(frame), &len, NULL) != DD_OK);
	strcpy(m.u.info_r.image_version, "v1");
	CHECK(dd_link_encode(&m, frame, sizeof(frame), &len, NULL) != DD_OK);
}

/* PORTS: the names round-trip; what a board must never put on a technician's terminal is refused by the
 * decoder (a name too long, control bytes, an escape, a space, a NUL, more names than a board has ports),
 * and the encoder refuses to send it. */
TEST(port_names)
{
	static struct dd_link_msg m, d;
	static const char *const good[] = { "A1", "", "pci-0000:00:14.0-usb-0", "usb-0:1.4.2_x" };
	static const char *const too_long[] = { "A1", "abcdefghijklmnopqrstuvwx" }; /* 24 bytes */
	static const char *const ctrl[] = { "A1\x1b[31m" };
	static const char *const bell[] = { "A\a1" };
	static const char *const space[] = { "A 1" };
	static const char *const utf8[] = { "A\xc3\xa9" "1" };
	static const char *const nul[] = { "A" }; /* then a NUL byte, below */
	const char *many[DD_LINK_MAX_PORTS + 1];
	size_t len;

	memset(&m, 0, sizeof(m));
	m.type = DD_MSG_PORTS, m.flags = DD_LINK_F_REPLY, m.u.ports_r.n_ports = 4;
	for (unsigned i = 0; i < 4; i++)
		strcpy(m.u.ports_r.name[i], good[i]);
	CHECK_EQ_INT(decode_frame(frame, encode(&m), &d), 0);
	CHECK_EQ_INT(d.u.ports_r.n_ports, 4);
	for (unsigned i = 0; i < 4; i++)
		CHECK(!strcmp(d.u.ports_r.name[i], good[i]));
	/* the longest name is 23 bytes, and 32 ports the most */
	memset(m.u.ports_r.name[2], 'Z', DD_LINK_PORT_NAME_MAX);
	m.u.ports_r.n_ports = DD_LINK_MAX_PORTS;
	CHECK_EQ_INT(decode_frame(frame, encode(&m), &d), 0);
	CHECK_EQ_U64(strlen(d.u.ports_r.name[2]), DD_LINK_PORT_NAME_MAX);
	CHECK_EQ_INT(d.u.ports_r.n_ports, DD_LINK_MAX_PORTS);
	/* the same frame by hand decodes the same (ports_frame is right) */
	CHECK_EQ_INT(decode_frame(frame, ports_frame(4, good, 4), &d), 0);
	CHECK(!strcmp(d.u.ports_r.name[3], good[3]));

	CHECK_EQ_INT(decode_frame(frame, ports_frame(2, too_long, 2), &d), DD_LERR_FIELD);
	CHECK_EQ_INT(decode_frame(frame, ports_frame(1, ctrl, 1), &d), DD_LERR_FIELD);
	CHECK_EQ_INT(decode_frame(frame, ports_frame(1, bell, 1), &d), DD_LERR_FIELD);
	CHECK_EQ_INT(decode_frame(frame, ports_frame(1, space, 1), &d), DD_LERR_FIELD);
	CHECK_EQ_INT(decode_frame(frame, ports_frame(1, utf8, 1), &d), DD_LERR_FIELD);
	ports_frame(1, nul, 1);
	frame[DD_LINK_HDR_LEN + 1] = 2; /* "A\0": the NUL inside the string */
	frame[DD_LINK_HDR_LEN + 3] = 0;
	CHECK_EQ_INT(decode_frame(frame, reframe(frame, 4), &d), DD_LERR_FIELD);
	for (unsigned i = 0; i <= DD_LINK_MAX_PORTS; i++)
		many[i] = "P";
	CHECK_EQ_INT(decode_frame(frame, ports_frame(DD_LINK_MAX_PORTS + 1, many, DD_LINK_MAX_PORTS + 1), &d),
		     DD_LERR_FIELD);
	CHECK_EQ_INT(decode_frame(frame, ports_frame(DD_LINK_MAX_PORTS, many, DD_LINK_MAX_PORTS), &d), 0);
	CHECK_EQ_INT(decode_frame(frame, ports_frame(3, many, 2), &d), DD_LERR_LENGTH); /* a name missing */
	CHECK_EQ_INT(decode_frame(frame, ports_frame(1, many, 2), &d), DD_LERR_LENGTH); /* a name too many */

	/* a board never sends them: its encoder checks as the PC's decoder will */
	memset(&m, 0, sizeof(m));
	m.type = DD_MSG_PORTS, m.flags = DD_LINK_F_REPLY, m.u.ports_r.n_ports = 1;
	strcpy(m.u.ports_r.name[0], "A\x1b");
	CHECK(dd_link_encode(&m, frame, sizeof(frame), &len, NULL) != DD_OK);
	m.u.ports_r.n_ports = DD_LINK_MAX_PORTS + 1;
	m.u.ports_r.name[0][0] = '\0';
	CHECK(dd_link_encode(&m, frame, sizeof(frame), &len, NULL) != DD_OK);

	CHECK(dd_link_port_name_ok("") && dd_link_port_name_ok("A1") && dd_link_port_name_ok("1-1.4:2_b"));
	CHECK(!dd_link_port_name_ok("A/1") && !dd_link_port_name_ok("A\n") && !dd_link_port_name_ok("abcdefghijklmnopqrstuvwx"));
	/* the PORTS request is empty: a byte more is refused */
	memset(&m, 0, sizeof(m));
	m.type = DD_MSG_PORTS;
	len = encode(&m);
	CHECK_EQ_INT(decode_frame(frame, len, &d), 0);
	CHECK_EQ_INT(decode_frame(frame, reframe(frame, 1), &d), DD_LERR_LENGTH);
	CHECK(!strcmp(dd_link_type_name(DD_MSG_PORTS), "PORTS"));
}

TEST(fields_out_of_range_refused)
{
	struct dd_link_msg m, d;
	size_t len;

	memset(&m, 0, sizeof(m));
	m.type = DD_MSG_LOAD_BEGIN;
	m.u.load_begin.kind = DD_KIND_IMAGE;
	m.u.load_begin.size = 10;
	len = encode(&m);
	CHECK(len);
	frame[DD_LINK_HDR_LEN] = 9; /* unknown kind */
	CHECK_EQ_INT(decode_frame(frame, len, &d), DD_LERR_FIELD);
	frame[DD_LINK_HDR_LEN] = DD_KIND_IMAGE;
	frame[DD_LINK_HDR_LEN + 1] = 4; /* a flag not defined (version 3: bits 0 and 1 only) */
	CHECK_EQ_INT(decode_frame(frame, len, &d), DD_LERR_FIELD);
	frame[DD_LINK_HDR_LEN + 1] = DD_LOAD_ALLOW_DOWNGRADE;
	CHECK_EQ_INT(decode_frame(frame, len, &d), 0);
	CHECK_EQ_INT(d.u.load_begin.flags, DD_LOAD_ALLOW_DOWNGRADE);
	frame[DD_LINK_HDR_LEN + 1] = DD_LOAD_ALLOW_DOWNGRADE | DD_LOAD_HASH_AT_END;
	CHECK_EQ_INT(decode_frame(frame, len, &d), 0);
	CHECK_EQ_INT(d.u.load_begin.flags, DD_LOAD_ALLOW_DOWNGRADE | DD_LOAD_HASH_AT_END);
	frame[DD_LINK_HDR_LEN + 1] = 0;
	frame[DD_LINK_HDR_LEN + 2] = 1; /* reserved byte set */
	CHECK_EQ_INT(decode_frame(frame, len, &d), DD_LERR_FIELD);
	frame[DD_LINK_HDR_LEN + 2] = 0;
	{
		/* a revocation list longer than any list may be: refused before the board reads it */
		struct dd_link_msg r = { .type = DD_MSG_REVOKE };
		static const uint8_t one = 'x';

		r.u.revoke.data = &one, r.u.revoke.len = 1;
		CHECK(encode(&r));
		memset(frame + DD_LINK_HDR_LEN, 'x', DD_LINK_REVOKE_MAX + 1);
		CHECK_EQ_INT(decode_frame(frame, reframe(frame, DD_LINK_REVOKE_MAX + 1), &d), DD_LERR_FIELD);
		CHECK_EQ_INT(decode_frame(frame, reframe(frame, DD_LINK_REVOKE_MAX), &d), 0);
		len = encode(&m);
	}
	memset(frame + DD_LINK_HDR_LEN + 4, 0, 8); /* size 0 */
	CHECK_EQ_INT(decode_frame(frame, len, &d), DD_LERR_FIELD);

	memset(&m, 0, sizeof(m));
	m.type = DD_MSG_HELLO;
	m.u.hello.min_version = 1, m.u.hello.max_version = 1;
	strcpy(m.u.hello.name, "abc");
	len = encode(&m);
	frame[DD_LINK_HDR_LEN] = 5; /* min > max */
	CHECK_EQ_INT(decode_frame(frame, len, &d), DD_LERR_FIELD);
	frame[DD_LINK_HDR_LEN] = 1;
	frame[len - 2] = 0; /* NUL inside a string */
	CHECK_EQ_INT(decode_frame(frame, len, &d), DD_LERR_FIELD);
	frame[len - 2] = 'b';
	frame[DD_LINK_HDR_LEN + 4] = 200; /* string length past the end */
	CHECK_EQ_INT(decode_frame(frame, len, &d), DD_LERR_LENGTH);

	memset(&m, 0, sizeof(m));
	m.type = DD_MSG_STATUS;
	m.flags = DD_LINK_F_REPLY;
	m.u.status_r.n_ports = 1;
	m.u.status_r.port[0].total = 10;
	len = encode(&m);
	frame[DD_LINK_HDR_LEN + 5] = DD_LINK_MAX_PORTS + 1; /* too many ports */
	CHECK_EQ_INT(decode_frame(frame, len, &d), DD_LERR_FIELD);
	frame[DD_LINK_HDR_LEN + 5] = 1;
	set_le32(frame + DD_LINK_HDR_LEN + 10, 11); /* done (low half) 11 > total 10 */
	CHECK_EQ_INT(decode_frame(frame, len, &d), DD_LERR_FIELD);

	/* the encoder refuses what the decoder would refuse */
	m.u.status_r.port[0].done = 11;
	CHECK(dd_link_encode(&m, frame, sizeof(frame), &len, NULL) == DD_EINTERNAL);
	m.u.status_r.port[0].done = 0;
	CHECK(dd_link_encode(&m, frame, 20, &len, NULL) == DD_EINTERNAL); /* buffer too small */
}

/* START's flags (version 3): they come back as sent, turn into the policy's checks and back, and a
 * bit the board does not know (or flags sent as 0) is refused, never ignored: a PC asking for a check
 * the board cannot run must not get a job without it. */
TEST(start_flags)
{
	struct dd_link_msg m, d;
	struct dd_policy p;
	size_t len;

	memset(&m, 0, sizeof(m));
	m.type = DD_MSG_START;
	m.u.start.flags = DD_START_SANITIZE;
	strcpy(m.u.start.batch, "B-1");
	len = encode(&m);
	CHECK(len);
	CHECK_EQ_INT(decode_frame(frame, len, &d), 0);
	CHECK_EQ_INT(d.u.start.flags, DD_START_SANITIZE);
	CHECK(!strcmp(d.u.start.batch, "B-1"));
	memset(&p, 0, sizeof(p));
	dd_link_start_policy(d.u.start.flags, &p);
	CHECK(p.sanitize && !p.probe);
	p.probe = true;
	CHECK_EQ_INT(dd_link_start_flags(&p), DD_START_PROBE | DD_START_SANITIZE);
	frame[len - 1 - (frame[7] ? 1 : 0)] = 0x80; /* a bit no board knows */
	CHECK_EQ_INT(decode_frame(frame, len, &d), DD_LERR_FIELD);
	frame[len - 1 - (frame[7] ? 1 : 0)] = 0;    /* flags sent are never 0 */
	CHECK_EQ_INT(decode_frame(frame, len, &d), DD_LERR_FIELD);
	m.u.start.flags = 0x80;
	CHECK(dd_link_encode(&m, frame, sizeof(frame), &len, NULL) == DD_EINTERNAL);
	/* version 2's START (no flags) still decodes, flags 0 */
	m.u.start.flags = 0;
	len = encode(&m);
	CHECK_EQ_INT(decode_frame(frame, len, &d), 0);
	CHECK_EQ_INT(d.u.start.flags, 0);
}

/* A STATUS reply with one port carrying these numbers, through the encoder and the decoder. */
static int status_round_trip(unsigned job_state, unsigned state, unsigned phase, unsigned result,
			     struct dd_link_msg *d)
{
	struct dd_link_msg m;
	size_t len;

	memset(&m, 0, sizeof(m));
	m.type = DD_MSG_STATUS;
	m.flags = DD_LINK_F_REPLY;
	m.u.status_r.job_state = (uint8_t)job_state, m.u.status_r.n_ports = 1;
	m.u.status_r.port[0].state = (uint8_t)state;
	m.u.status_r.port[0].phase = (uint8_t)phase, m.u.status_r.port[0].result = (uint8_t)result;
	len = encode(&m);
	if (!len || decode_frame(frame, len, d))
		return -1;
	return d->u.status_r.job_state == job_state && d->u.status_r.port[0].state == state &&
	       d->u.status_r.port[0].phase == phase && d->u.status_r.port[0].result == result ? 0 : -1;
}

TEST(engine_values_map_onto_wire_values)
{
	static const enum dd_phase phases[] = { DD_PHASE_QUEUED, DD_PHASE_PROBE, DD_PHASE_SANITIZE, DD_PHASE_WRITE,
						DD_PHASE_VERIFY, DD_PHASE_BOOT, DD_PHASE_DONE };
	static const enum dd_result results[] = { DD_RESULT_NONE, DD_RESULT_PASS, DD_RESULT_FAIL,
						  DD_RESULT_INCOMPLETE, DD_RESULT_WRITTEN, DD_RESULT_REFUSED,
						  DD_RESULT_SKIPPED };
	bool seen[256] = { false };
	struct dd_link_name n;
	struct dd_link_msg d;

	/* each engine value has its own wire value, and the PC names it as the engine does */
	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
		uint8_t w = dd_link_phase_of(phases[i]);

		CHECK(w < DD_LPHASE_COUNT && !seen[w]);
		seen[w] = true;
		CHECK_EQ_INT(strcmp(dd_link_phase_name(w, &n), dd_phase_name(phases[i])), 0);
		CHECK_EQ_INT(status_round_trip(DD_JOB_RUNNING, DD_PORT_BUSY, w, DD_LRESULT_NONE, &d), 0);
	}
	memset(seen, 0, sizeof(seen));
	for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
		uint8_t w = dd_link_result_of(results[i]);

		CHECK(w < DD_LRESULT_COUNT && !seen[w]);
		seen[w] = true;
		CHECK_EQ_INT(strcmp(dd_link_result_name(w, &n), dd_result_name(results[i])), 0);
		CHECK_EQ_INT(status_round_trip(DD_JOB_DONE, DD_PORT_PASS, DD_LPHASE_DONE, w, &d), 0);
	}
	/* the numbers themselves are the protocol's (docs/PROTOCOL.md "Values") */
	CHECK_EQ_INT(dd_link_phase_of(DD_PHASE_VERIFY), 3);
	CHECK_EQ_INT(dd_link_result_of(DD_RESULT_PASS), 1);
	CHECK_EQ_INT(dd_link_result_of(DD_RESULT_WRITTEN), 4);
	/* a corrupt engine value never becomes a known wire value */
	CHECK_EQ_INT(dd_link_phase_of((enum dd_phase)99), 255);
	CHECK_EQ_INT(dd_link_result_of((enum dd_result)99), 255);
}

/* the failure kind (version 3): each engine kind has its own wire number, named as the audit record names
 * it; nothing failed is null; a newer board's number is unknown(N), kept */
TEST(failure_kinds_map_onto_wire_values)
{
	static const enum dd_fail_kind kinds[] = { DD_FAIL_IO, DD_FAIL_MISMATCH, DD_FAIL_COUNTERFEIT,
						   DD_FAIL_TOO_SMALL, DD_FAIL_REFUSED, DD_FAIL_PULLED,
						   DD_FAIL_INTERRUPTED, DD_FAIL_IMAGE, DD_FAIL_OTHER };
	bool seen[256] = { false };
	struct dd_link_name n;
	struct dd_link_msg m, d;
	size_t len;

	CHECK_EQ_INT(dd_link_fail_of(DD_FAIL_NONE), DD_LFAIL_NONE);
	CHECK(dd_link_fail_name(DD_LFAIL_NONE, &n) == NULL);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		uint8_t w = dd_link_fail_of(kinds[i]);

		CHECK(w > DD_LFAIL_NONE && w < DD_LFAIL_COUNT && !seen[w]);
		seen[w] = true;
		CHECK_EQ_INT(strcmp(dd_link_fail_name(w, &n), dd_fail_kind_name(kinds[i])), 0);
	}
	CHECK_EQ_INT(dd_link_fail_of(DD_FAIL_COUNTERFEIT), 3);
	CHECK_EQ_INT(dd_link_fail_of((enum dd_fail_kind)99), DD_LFAIL_OTHER);
	for (unsigned v = 0; v < 256; v += 51) {
		memset(&m, 0, sizeof(m));
		m.type = DD_MSG_STATUS, m.flags = DD_LINK_F_REPLY;
		m.u.status_r.n_ports = 1, m.u.status_r.port[0].fail = (uint8_t)v;
		len = encode(&m);
		CHECK_EQ_INT(decode_frame(frame, len, &d), 0);
		CHECK_EQ_INT(d.u.status_r.port[0].fail, v);
	}
	CHECK_EQ_INT(strcmp(dd_link_fail_name(DD_LFAIL_COUNT, &n), "unknown(10)"), 0);
}

TEST(every_board_value_round_trips_with_a_name)
{
	struct dd_link_name n;
	struct dd_link_msg m, d;
	size_t len;

	for (unsigned v = 0; v < DD_LPHASE_COUNT; v++) {
		CHECK_EQ_INT(status_round_trip(DD_JOB_RUNNING, DD_PORT_BUSY, v, 0, &d), 0);
		CHECK(strncmp(dd_link_phase_name(d.u.status_r.port[0].phase, &n), "unknown(", 8) != 0);
	}
	for (unsigned v = 0; v < DD_LRESULT_COUNT; v++) {
		CHECK_EQ_INT(status_round_trip(DD_JOB_DONE, DD_PORT_FAIL, 0, v, &d), 0);
		CHECK(strncmp(dd_link_result_name(d.u.status_r.port[0].result, &n), "unknown(", 8) != 0);
	}
	for (unsigned v = 0; v <= DD_PORT_STATE_MAX; v++) {
		CHECK_EQ_INT(status_round_trip(DD_JOB_IDLE, v, 0, 0, &d), 0);
		CHECK(strncmp(dd_port_state_name(d.u.status_r.port[0].state, &n), "unknown(", 8) != 0);
	}
	for (unsigned v = 0; v <= DD_JOB_DONE; v++) {
		CHECK_EQ_INT(status_round_trip(v, DD_PORT_EMPTY, 0, 0, &d), 0);
		CHECK(strncmp(dd_job_state_name(d.u.status_r.job_state, &n), "unknown(", 8) != 0);
	}
	CHECK_EQ_INT(strcmp(dd_port_state_name(DD_PORT_ATTENTION, &n), "attention"), 0);
	CHECK_EQ_INT(strcmp(dd_job_state_name(DD_JOB_DONE, &n), "done"), 0);
	for (unsigned code = 1; code <= DD_LERR_MAX; code++) {
		memset(&m, 0, sizeof(m));
		m.type = DD_MSG_START, m.flags = DD_LINK_F_REPLY | DD_LINK_F_ERROR;
		m.u.error.code = (uint16_t)code;
		len = encode(&m);
		CHECK_EQ_INT(decode_frame(frame, len, &d), 0);
		CHECK_EQ_INT(d.u.error.code, code);
		CHECK(strncmp(dd_link_errcode_name(d.u.error.code, &n), "unknown(", 8) != 0);
	}
	CHECK_EQ_INT(strcmp(dd_link_errcode_name(DD_LERR_NO_STICKS, &n), "no-sticks"), 0);
	CHECK_EQ_INT(strcmp(dd_link_errcode_name(DD_LERR_NO_SPACE, &n), "no-space"), 0);
}

TEST(unknown_board_values_decode_safely)
{
	static const unsigned unknown[] = { DD_LPHASE_COUNT, DD_LRESULT_COUNT, DD_PORT_STATE_MAX + 1, 77, 255 };
	struct dd_link_name n;
	struct dd_link_msg m, d;
	char want[32];
	size_t len;

	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		unsigned v = unknown[i];

		/* a newer board's number: the STATUS is kept, the number shown as unknown(N) */
		snprintf(want, sizeof(want), "unknown(%u)", v);
		if (v >= DD_LPHASE_COUNT) {
			CHECK_EQ_INT(status_round_trip(DD_JOB_RUNNING, DD_PORT_BUSY, v, 0, &d), 0);
			CHECK_EQ_INT(strcmp(dd_link_phase_name(d.u.status_r.port[0].phase, &n), want), 0);
		}
		if (v >= DD_LRESULT_COUNT) {
			CHECK_EQ_INT(status_round_trip(DD_JOB_DONE, DD_PORT_PASS, 0, v, &d), 0);
			CHECK_EQ_INT(strcmp(dd_link_result_name(d.u.status_r.port[0].result, &n), want), 0);
		}
		if (v > DD_PORT_STATE_MAX) {
			CHECK_EQ_INT(status_round_trip(v, v, 0, 0, &d), 0);
			CHECK_EQ_INT(strcmp(dd_port_state_name(d.u.status_r.port[0].state, &n), want), 0);
			CHECK_EQ_INT(strcmp(dd_job_state_name(d.u.status_r.job_state, &n), want), 0);
		}
	}
	/* an error code the PC does not know is still an error with its message; 0 is no error */
	memset(&m, 0, sizeof(m));
	m.type = DD_MSG_LOAD_END, m.flags = DD_LINK_F_REPLY | DD_LINK_F_ERROR;
	m.u.error.code = 65535;
	strcpy(m.u.error.msg, "from the future");
	len = encode(&m);
	CHECK_EQ_INT(decode_frame(frame, len, &d), 0);
	CHECK_EQ_INT(strcmp(dd_link_errcode_name(d.u.error.code, &n), "unknown(65535)"), 0);
	CHECK_EQ_INT(strcmp(d.u.error.msg, "from the future"), 0);
	frame[DD_LINK_HDR_LEN] = 0, frame[DD_LINK_HDR_LEN + 1] = 0;
	CHECK_EQ_INT(decode_frame(frame, len, &d), DD_LERR_FIELD);
	/* the largest number any name function can get still fits its buffer */
	CHECK_EQ_INT(strcmp(dd_link_phase_name(4294967295u, &n), "unknown(4294967295)"), 0);
	CHECK_EQ_INT(strcmp(dd_link_errcode_name(0, &n), "unknown(0)"), 0);
}

TEST(log_reply_count_must_match_records)
{
	struct dd_link_msg m, d;
	uint8_t rec[64];
	uint32_t rl = 0;
	size_t len;

	CHECK(dd_link_log_append(rec, sizeof(rec), &rl, "{}", 2));
	CHECK(!dd_link_log_append(rec, sizeof(rec), &rl, (const char *)frame, 100)); /* does not fit */
	memset(&m, 0, sizeof(m));
	m.type = DD_MSG_LOG;
	m.flags = DD_LINK_F_REPLY;
	m.u.log_r.first = 1, m.u.log_r.next = 2, m.u.log_r.count = 1;
	m.u.log_r.records = rec, m.u.log_r.records_len = rl;
	len = encode(&m);
	CHECK(len);
	frame[DD_LINK_HDR_LEN + 16] = 2; /* count 2, one record */
	CHECK_EQ_INT(decode_frame(frame, len, &d), DD_LERR_LENGTH);
	frame[DD_LINK_HDR_LEN + 16] = 0; /* count 0, one record left over */
	CHECK_EQ_INT(decode_frame(frame, len, &d), DD_LERR_LENGTH);
	frame[DD_LINK_HDR_LEN + 16] = 1;
	frame[DD_LINK_HDR_LEN + 18] = 3; /* record length past the end */
	CHECK_EQ_INT(decode_frame(frame, len, &d), DD_LERR_LENGTH);
}

TEST(garbage_never_crashes)
{
	static uint8_t buf[4096];
	struct dd_link_msg d;
	struct dd_link_header h;
	int code, accepted = 0;

	for (uint64_t seed = 1; seed < 20000; seed++) {
		size_t len = DD_LINK_HDR_LEN + seed % 200;

		check_fill_random(buf, len, seed);
		if (seed % 2) { /* a valid-looking header over garbage */
			memcpy(buf, DD_LINK_MAGIC, 4);
			buf[4] = 1;
			buf[5] = (uint8_t)(seed % 0x30);
			buf[6] = (uint8_t)(seed % 4);
			buf[7] = 0;
			set_le32(buf + 12, (uint32_t)(len - DD_LINK_HDR_LEN));
		}
		if (dd_link_parse_header(buf, DD_LINK_MAX_PAYLOAD, &h, &code, NULL))
			continue;
		if (h.length + h.pad > len - DD_LINK_HDR_LEN)
			continue;
		if (!dd_link_decode(&h, buf + DD_LINK_HDR_LEN, &d, &code, NULL))
			accepted++;
		else
			CHECK(code >= DD_LERR_FRAME && code <= DD_LERR_INTERNAL);
	}
	/* some garbage happens to be a well-formed empty request; most is refused */
	CHECK(accepted < 5000);
}

TEST(stream_reassembly)
{
	static struct dd_link_msg s[DD_SAMPLES];
	struct dd_link_msg d;
	size_t n = samples(s, DD_SAMPLES), total = 0, got;
	static uint8_t stream[64 * 1024];
	struct dd_link_transport *rt, *wt;
	struct dd_link_rx rx;
	struct dd_link_header h;
	const uint8_t *payload;
	int sv[2], code, frames = 0, rc;
	struct dd_err err;

	for (size_t i = 0; i < n; i++) {
		size_t len = encode(&s[i]);

		memcpy(stream + total, frame, len);
		total += len;
	}
	CHECK(!socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	CHECK(!dd_link_unix_wrap(sv[0], "test-r", &rt, &err));
	CHECK(!dd_link_unix_wrap(sv[1], "test-w", &wt, &err));
	CHECK(!dd_link_rx_init(&rx, DD_LINK_MAX_PAYLOAD, &err));
	/* send in pieces of odd sizes; read back frame by frame */
	for (size_t off = 0, step = 1; off < total; off += step, step = step * 7 % 97 + 1) {
		size_t k = off + step > total ? total - off : step;

		CHECK(!wt->ops->send(wt, stream + off, k, &err));
		CHECK(!dd_link_rx_fill(&rx, rt, 1000, &got, &err));
		while ((rc = dd_link_rx_next(&rx, &h, &payload, &code, &err)) == 1) {
			CHECK(!dd_link_decode(&h, payload, &d, &code, &err));
			CHECK_EQ_INT(d.type, s[frames].type);
			CHECK_EQ_U64(d.tag, s[frames].tag);
			frames++;
		}
		CHECK_EQ_INT(rc, 0);
	}
	CHECK_EQ_U64(frames, n);
	/* bad magic in the stream: a frame error, not a hang */
	CHECK(!wt->ops->send(wt, "XXXXXXXXXXXXXXXXXXXX", 20, &err));
	CHECK(!dd_link_rx_fill(&rx, rt, 1000, &got, &err));
	CHECK_EQ_INT(dd_link_rx_next(&rx, &h, &payload, &code, &err), DD_EINPUT);
	CHECK_EQ_INT(code, DD_LERR_FRAME);
	/* the peer gone: an I/O error, not a hang */
	dd_link_transport_close(wt);
	rc = dd_link_rx_fill(&rx, rt, 1000, &got, &err);
	CHECK_EQ_INT(rc, DD_EIO);
	dd_link_rx_free(&rx);
	dd_link_transport_close(rt);
}

int main(void)
{
	RUN(every_message_round_trips);
	RUN(load_data_encoded_in_place);
	RUN(load_end_with_and_without_sha);
	RUN(fields_survive);
	RUN(strings_cut_between_characters);
	RUN(short_payloads_refused);
	RUN(long_payloads_refused);
	RUN(wrong_version_type_flags_magic);
	RUN(fields_out_of_range_refused);
	RUN(info_image_version);
	RUN(port_names);
	RUN(engine_values_map_onto_wire_values);
	RUN(failure_kinds_map_onto_wire_values);
	RUN(start_flags);
	RUN(every_board_value_round_trips_with_a_name);
	RUN(unknown_board_values_decode_safely);
	RUN(log_reply_count_must_match_records);
	RUN(garbage_never_crashes);
	RUN(stream_reassembly);
	return check_done();
}
