/* Fuzz target: the PC side of the link protocol (common/link/): what `dartdup board` receives from
 * a board it does not trust (a hostile or broken board, a damaged USB transfer). The input is the
 * byte stream from the board; it is cut into frames by the receive buffer and every frame decoded.
 * Replies are walked the way the PC uses them (log records iterated, port tables read). */
#include "fuzz_link.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void use_reply(const struct dd_link_msg *m)
{
	volatile size_t sink = 0;
	struct dd_link_name n;

	if (m->flags & DD_LINK_F_ERROR) {
		sink += strlen(m->u.error.msg) + strlen(dd_link_errcode_name(m->u.error.code, &n));
		return;
	}
	switch (m->type) {
	case DD_MSG_LOG: {
		const char *text;
		uint32_t pos = 0;
		uint16_t len;
		unsigned count = 0;

		while (dd_link_log_next(&m->u.log_r, &pos, &text, &len)) {
			for (uint16_t i = 0; i < len; i++)
				sink += (uint8_t)text[i];
			count++;
		}
		FUZZ_ASSERT(count == m->u.log_r.count);
		break;
	}
	case DD_MSG_STATUS:
		FUZZ_ASSERT(m->u.status_r.n_ports <= DD_LINK_MAX_PORTS);
		sink += strlen(dd_job_state_name(m->u.status_r.job_state, &n));
		for (unsigned i = 0; i < m->u.status_r.n_ports; i++) {
			const struct dd_link_port_status *p = &m->u.status_r.port[i];

			FUZZ_ASSERT(p->done <= p->total);
			/* every number a board sends has a name, known or unknown(N) */
			sink += strlen(p->serial) + strlen(p->error) + strlen(dd_port_state_name(p->state, &n)) +
				strlen(dd_link_phase_name(p->phase, &n)) + strlen(dd_link_result_name(p->result, &n));
		}
		break;
	case DD_MSG_PORTS:
		/* what reaches a technician's terminal: bounded, and only a port name's characters */
		FUZZ_ASSERT(m->u.ports_r.n_ports <= DD_LINK_MAX_PORTS);
		for (unsigned i = 0; i < m->u.ports_r.n_ports; i++) {
			FUZZ_ASSERT(strlen(m->u.ports_r.name[i]) <= DD_LINK_PORT_NAME_MAX);
			FUZZ_ASSERT(dd_link_port_name_ok(m->u.ports_r.name[i]));
			sink += strlen(m->u.ports_r.name[i]);
		}
		break;
	case DD_MSG_INFO:
		FUZZ_ASSERT(m->u.info_r.n_keys <= DD_LINK_MAX_KEYS);
		/* the image's version (version 4) reaches a terminal and is compared: "" or a version */
		FUZZ_ASSERT(strlen(m->u.info_r.image_version) <= DD_VERSION_MAX);
		FUZZ_ASSERT(!m->u.info_r.image_version[0] ||
			    dd_version_ok(m->u.info_r.image_version, strlen(m->u.info_r.image_version)));
		FUZZ_ASSERT(m->u.info_r.has_image_version || !m->u.info_r.image_version[0]);
		sink += strlen(m->u.info_r.image_name) + strlen(m->u.info_r.pending_firmware) +
			strlen(m->u.info_r.image_version);
		break;
	default:
		sink += strlen(dd_link_type_name(m->type));
		break;
	}
	(void)sink;
}

#include "link/client.h"

static int count_record(void *ctx, const char *text, uint16_t len, struct dd_err *err)
{
	volatile size_t sink = len ? (uint8_t)text[len - 1] : 0;

	(void)sink;
	return DD_OK;
}

/* The PC's link client (common/link/client.c, `dartdup board`): the same stream
 * answers a real session: HELLO, INFO, a resumable pipelined load of a 40 KiB package (hostile
 * resume offsets, chunk sizes, windows, acknowledgements), START, STATUS, LOG and PORTS. */
static void client_session(const uint8_t *data, size_t size)
{
	static uint8_t pkg[40000];
	struct dd_link_load_opts lo = { .kind = DD_KIND_IMAGE };
	struct dd_link_load_result res;
	struct dd_link_transport t;
	struct dd_link_client c;
	struct fuzz_pipe fp;
	struct dd_link_msg req;
	struct dd_err err;
	char path[64];
	uint64_t n;
	int fd, rc;

	fuzz_pipe_init(&fp, &t, data, size);
	if (dd_link_client_open(&c, &t, "fuzz", &err))
		return;  /* closed by open on failure */
	fd = fuzz_memfd("pkg", 0, pkg, sizeof(pkg), path);
	memset(&req, 0, sizeof(req));
	req.type = DD_MSG_INFO;
	rc = dd_link_call(&c, &req, &err);
	if (rc == DD_OK)
		use_reply(&c.reply); /* the image's version `board info` and `board status` show */
	if (rc != DD_EIO) {
		if (dd_link_client_load(&c, path, &lo, &res, &err) == DD_OK)
			FUZZ_ASSERT(res.size == sizeof(pkg) && res.resumed_from <= res.size);
		for (int type = DD_MSG_START; type <= DD_MSG_LOG; type++) {
			memset(&req, 0, sizeof(req));
			req.type = (uint8_t)type;
			req.u.log.max = 10;
			if (dd_link_call(&c, &req, &err) == DD_OK && c.reply.type == DD_MSG_LOG)
				use_reply(&c.reply);
		}
		memset(&req, 0, sizeof(req));
		req.type = DD_MSG_PORTS; /* the port names `dartdup board status` shows */
		if (dd_link_call(&c, &req, &err) == DD_OK)
			use_reply(&c.reply);
		/* the LOG fetcher: pages until an empty one, or refuses one that does not move on */
		if (dd_link_fetch_log(&c, 1, count_record, NULL, &n, &err) == DD_OK)
			FUZZ_ASSERT(n <= size);
	}
	close(fd);
	dd_link_client_close(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dd_link_transport t;
	struct fuzz_pipe fp;
	struct dd_link_rx rx;
	struct dd_err err;

	fuzz_pipe_init(&fp, &t, data, size);
	fuzz_rx_init(&rx);
	for (;;) {
		struct dd_link_header h;
		struct dd_link_msg m;
		const uint8_t *payload;
		size_t got;
		int code, rc = dd_link_rx_next(&rx, &h, &payload, &code, &err);

		if (rc < 0)
			break;  /* not frames: the PC drops the link */
		if (rc == 0) {
			if (dd_link_rx_fill(&rx, &t, 0, &got, &err))
				break;
			continue;
		}
		FUZZ_ASSERT(payload >= rx.buf && payload + h.length <= rx.buf + rx.cap);
		if (dd_link_decode(&h, payload, &m, &code, &err) != DD_OK) {
			FUZZ_ASSERT(code > 0 && code <= DD_LERR_INTERNAL);
			continue;
		}
		if (!dd_link_is_reply(&m))
			continue;  /* a board never sends requests; the PC ignores them */
		use_reply(&m);
		fuzz_reencode(&m);
	}
	client_session(data, size);
	return 0;
}
