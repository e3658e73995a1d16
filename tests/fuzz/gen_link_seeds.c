/* Seed corpora for the link fuzz targets, made with the protocol's own encoder so they follow
 * docs/PROTOCOL.md exactly: every request (board side) and every reply and error (PC side), alone
 * and as one stream of frames. Each seed starts with the chunk-size byte of tests/fuzz/fuzz_link.h.
 * usage: gen_link_seeds BOARD_DIR PC_DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/events.h"
#include "link/proto.h"

static uint8_t frame[DD_LINK_HDR_LEN + DD_LINK_MAX_PAYLOAD + DD_LINK_PAD_UNIT];

struct stream {
	FILE *all;
	const char *dir;
	unsigned n;
};

static int emit(struct stream *s, const struct dd_link_msg *m, uint8_t chunk)
{
	char path[4096];
	struct dd_err err;
	size_t len;
	FILE *f;

	if (dd_link_encode(m, frame, sizeof(frame), &len, &err)) {
		fprintf(stderr, "gen_link_seeds: %s\n", err.msg);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%02u-%s%s", s->dir, s->n++, dd_link_type_name(m->type),
		 m->flags & DD_LINK_F_ERROR ? "-error" : "");
	f = fopen(path, "wb");
	if (!f || fputc(chunk, f) == EOF || fwrite(frame, 1, len, f) != len || fclose(f)) {
		perror(path);
		return -1;
	}
	return fwrite(frame, 1, len, s->all) == len ? 0 : -1;
}

static int requests(struct stream *s)
{
	static const uint8_t data[300] = { 0x5D, 0x2A, 0x4D, 0x18 };
	struct dd_link_msg m;
	int rc = 0;

	memset(&m, 0, sizeof(m));
	m.tag = 1;
	m.type = DD_MSG_HELLO;
	m.u.hello.min_version = 1;
	m.u.hello.max_version = 1;
	strcpy(m.u.hello.name, "dartdup 0.1.0");
	rc |= emit(s, &m, 255);
	memset(&m.u, 0, sizeof(m.u));
	m.type = DD_MSG_INFO;
	m.tag++;
	rc |= emit(s, &m, 7);
	m.type = DD_MSG_LOAD_BEGIN;
	m.tag++;
	m.u.load_begin.kind = DD_KIND_IMAGE;
	m.u.load_begin.size = 4096;
	memset(m.u.load_begin.sha256, 0xAB, sizeof(m.u.load_begin.sha256));
	rc |= emit(s, &m, 255);
	memset(&m.u, 0, sizeof(m.u));
	m.type = DD_MSG_LOAD_DATA;
	m.tag++;
	m.u.load_data.xfer = 1;
	m.u.load_data.offset = 0;
	m.u.load_data.data = data;
	m.u.load_data.len = sizeof(data);
	rc |= emit(s, &m, 3);
	memset(&m.u, 0, sizeof(m.u));
	m.type = DD_MSG_LOAD_END;
	m.tag++;
	m.u.xfer.xfer = 1;
	rc |= emit(s, &m, 255);
	m.tag++; /* version 3, a load begun with HASH_AT_END: LOAD_END names the SHA-256 */
	m.u.xfer.has_sha = true;
	memset(m.u.xfer.sha256, 0xCD, sizeof(m.u.xfer.sha256));
	rc |= emit(s, &m, 255);
	m.u.xfer.has_sha = false;
	m.type = DD_MSG_LOAD_CANCEL;
	m.tag++;
	rc |= emit(s, &m, 255);
	memset(&m.u, 0, sizeof(m.u));
	for (int t = DD_MSG_START; t <= DD_MSG_STATUS; t++) {
		m.type = (uint8_t)t;
		m.tag++;
		rc |= emit(s, &m, 255);
	}
	m.type = DD_MSG_LOG;
	m.tag++;
	m.u.log.since = 0;
	m.u.log.max = 100;
	rc |= emit(s, &m, 255);
	memset(&m.u, 0, sizeof(m.u));
	m.type = DD_MSG_PORTS;
	m.tag++;
	rc |= emit(s, &m, 255);
	return rc;
}

static int replies(struct stream *s)
{
	static uint8_t recs[512];
	struct dd_link_msg m;
	uint32_t rlen = 0;
	int rc = 0;

	memset(&m, 0, sizeof(m));
	m.flags = DD_LINK_F_REPLY;
	m.tag = 1;
	m.type = DD_MSG_HELLO;
	m.u.hello_r.version = 1;
	m.u.hello_r.max_payload = DD_LINK_MAX_PAYLOAD;
	m.u.hello_r.window = 8;
	strcpy(m.u.hello_r.board, "sim");
	strcpy(m.u.hello_r.firmware, "0.1.0");
	rc |= emit(s, &m, 255);
	memset(&m.u, 0, sizeof(m.u));
	m.type = DD_MSG_INFO;
	m.tag++;
	strcpy(m.u.info_r.board, "sim");
	strcpy(m.u.info_r.firmware, "0.1.0");
	strcpy(m.u.info_r.serial, "SIM0001");
	m.u.info_r.n_ports = 4;
	m.u.info_r.has_image = true;
	memset(m.u.info_r.image_id, 0x11, DD_SHA256_LEN);
	m.u.info_r.image_size = 1 << 20;
	strcpy(m.u.info_r.image_name, "DaRT 7 x64");
	m.u.info_r.n_keys = 2;
	memset(m.u.info_r.key_id, 0x22, sizeof(m.u.info_r.key_id));
	rc |= emit(s, &m, 2);
	m.tag++; /* version 4: the same with the image's version after pending_firmware */
	m.u.info_r.has_image_version = true;
	strcpy(m.u.info_r.image_version, "1.2.3");
	rc |= emit(s, &m, 3);
	memset(&m.u, 0, sizeof(m.u));
	m.type = DD_MSG_LOAD_BEGIN;
	m.tag++;
	m.u.load_begin_r.xfer = 1;
	m.u.load_begin_r.offset = 512;
	m.u.load_begin_r.chunk = 65536;
	rc |= emit(s, &m, 255);
	memset(&m.u, 0, sizeof(m.u));
	m.type = DD_MSG_LOAD_DATA;
	m.tag++;
	m.u.load_data_r.offset = 4096;
	rc |= emit(s, &m, 255);
	memset(&m.u, 0, sizeof(m.u));
	m.type = DD_MSG_LOAD_END;
	m.tag++;
	m.u.load_end_r.kind = DD_KIND_IMAGE;
	m.u.load_end_r.size = 1 << 20;
	strcpy(m.u.load_end_r.name, "DaRT 7 x64");
	rc |= emit(s, &m, 255);
	memset(&m.u, 0, sizeof(m.u));
	m.type = DD_MSG_START;
	m.tag++;
	m.u.start_r.job = 3;
	m.u.start_r.n_ports = 4;
	rc |= emit(s, &m, 255);
	memset(&m.u, 0, sizeof(m.u));
	m.type = DD_MSG_STATUS;
	m.tag++;
	m.u.status_r.job_state = DD_JOB_RUNNING;
	m.u.status_r.job = 3;
	m.u.status_r.n_ports = 3;
	for (int i = 0; i < 3; i++) {
		struct dd_link_port_status *p = &m.u.status_r.port[i];

		p->state = (uint8_t)(DD_PORT_BUSY + i);
		p->phase = DD_PHASE_WRITE;
		p->result = i == 2 ? DD_RESULT_PASS : DD_RESULT_NONE;
		p->done = 100 * (uint64_t)i;
		p->total = 1000;
		p->capacity = 8ull << 30;
		p->rate = 20000000;
		snprintf(p->serial, sizeof(p->serial), "SER%d", i);
		if (i == 1)
			strcpy(p->error, "write failed at byte 4096");
	}
	rc |= emit(s, &m, 255);
	memset(&m.u, 0, sizeof(m.u));
	m.type = DD_MSG_LOG;
	m.tag++;
	dd_link_log_append(recs, sizeof(recs), &rlen, "{\"result\":\"pass\"}", 17);
	dd_link_log_append(recs, sizeof(recs), &rlen, "{\"result\":\"fail\",\"first_bad\":4096}", 35);
	m.u.log_r.first = 5;
	m.u.log_r.next = 7;
	m.u.log_r.count = 2;
	m.u.log_r.records = recs;
	m.u.log_r.records_len = rlen;
	rc |= emit(s, &m, 255);
	memset(&m.u, 0, sizeof(m.u));
	m.type = DD_MSG_PORTS; /* version 3: a port map's names, a USB port path, a port without a name */
	m.tag++;
	m.u.ports_r.n_ports = 4;
	strcpy(m.u.ports_r.name[0], "A1");
	strcpy(m.u.ports_r.name[1], "A2");
	strcpy(m.u.ports_r.name[2], "usb-0:1.4.2");
	rc |= emit(s, &m, 5);
	memset(&m.u, 0, sizeof(m.u));
	m.type = DD_MSG_LOAD_DATA;
	m.flags = DD_LINK_F_REPLY | DD_LINK_F_ERROR;
	m.tag++;
	m.u.error.code = DD_LERR_OFFSET;
	m.u.error.value = 4096;
	strcpy(m.u.error.msg, "load data at 0, expected 4096");
	rc |= emit(s, &m, 255);
	return rc;
}

static int run(const char *dir, int (*fill)(struct stream *))
{
	char path[4096];
	struct stream s = { .dir = dir };
	int rc;

	snprintf(path, sizeof(path), "%s/99-stream", dir);
	s.all = fopen(path, "wb");
	if (!s.all || fputc(40, s.all) == EOF) {
		perror(path);
		return -1;
	}
	rc = fill(&s);
	return fclose(s.all) || rc ? -1 : 0;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: gen_link_seeds BOARD_DIR PC_DIR\n");
		return 2;
	}
	return run(argv[1], requests) || run(argv[2], replies) ? 1 : 0;
}
