/* The board's ERROR replies on the wire: the store and the job runner speak dd_status, and server.c turns
 * each into the link's code (docs/PROTOCOL.md "ERROR"). Every failure a PC can provoke is asked of a
 * daemon over the sim board (dd_daemon_handle, no loop, no socket) and its reply decoded: the code and
 * the value the protocol promises (the expected offset, the room, the versions spoken). These are the
 * replies the board sent before the store and the job spoke dd_status: they must not change. */
#include "check.h"
#include "crypto/sign.h"
#include "firmware/board.h"
#include "firmware/daemon.h"
#include "format/dfi_writer.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define STICK_LEN (4u << 20)

static char *tmp(const char *name)
{
	static char paths[16][512];
	static int n;
	char *p = paths[n++ % 16];

	snprintf(p, 512, "%s/%s", check_tmpdir(), name);
	return p;
}

static int make_key(void)
{
	static bool have_key;

	if (!have_key && dd_keygen(tmp("depot"), NULL))
		return -1;
	have_key = true;
	return 0;
}

/* A signed package of len random bytes (version: its version, NULL none), written as the board's stored
 * image in store/. */
static int stored_image(const char *store, size_t len, const char *version)
{
	struct dfi_pack_opts o = { .block_size = 4096, .threads = 1, .created = 1, .name = "errors",
				   .version = version };
	char out[600];
	uint8_t *img = malloc(len);
	int rc;

	if (!img)
		return -1;
	o.key_path = tmp("depot.key");
	check_fill_random(img, len, 23);
	snprintf(out, sizeof(out), "%s/image.dfi", store);
	rc = check_write_file(tmp("raw.img"), img, len) || mkdir(store, 0755) || dfi_pack(tmp("raw.img"), out, &o, NULL);
	free(img);
	return rc ? -1 : 0;
}

struct bench {
	struct dd_board *board;
	struct dd_daemon *d;
	char port[600];
};

/* A sim board with one port (no stick in it yet); with_image: a stored image, of that version (NULL none). */
static int bench_open_version(struct bench *b, bool with_image, const char *version)
{
	static char store[600], key[600], port[600], sock[600];
	static char *argv[] = { "sim", "--socket", sock, "--store", store, "--pubkey", key, "--port", port,
				"--serial", "ERRORS", NULL };
	static unsigned benches;
	struct dd_err err;

	benches++;
	snprintf(store, sizeof(store), "%s%u", tmp("store"), benches);
	snprintf(key, sizeof(key), "%s", tmp("depot.pub"));
	snprintf(port, sizeof(port), "%s%u", tmp("stick"), benches);
	snprintf(sock, sizeof(sock), "%s%u", tmp("sock"), benches);
	snprintf(b->port, sizeof(b->port), "%s", port);
	if (make_key() || (with_image ? stored_image(store, 1 << 20, version) : mkdir(store, 0755)))
		return -1;
	if (dd_board_find("sim")->open(11, argv, &b->board, &err))
		return -1;
	b->d = malloc(sizeof(*b->d));
	if (!b->d || dd_daemon_init(b->d, b->board, &err))
		return -1;
	return !b->d->store.image == !with_image ? 0 : -1;
}

static int bench_open(struct bench *b, bool with_image)
{
	return bench_open_version(b, with_image, NULL);
}

static void bench_close(struct bench *b)
{
	dd_daemon_fini(b->d);
	free(b->d);
	b->board->ops->close(b->board);
}

/* The reply the daemon encoded into d->tx, decoded. */
static int decode_tx(struct dd_daemon *d, size_t len, struct dd_link_msg *out)
{
	struct dd_link_header h;
	int code;

	if (len < DD_LINK_HDR_LEN || dd_link_parse_header(d->tx, DD_LINK_MAX_PAYLOAD, &h, &code, NULL))
		return -1;
	return dd_link_decode(&h, d->tx + DD_LINK_HDR_LEN, out, &code, NULL) ? -1 : 0;
}

/* Ask req; *out the decoded reply. Returns its error code, 0 for a reply, -1 deferred or undecodable. */
static int ask(struct dd_daemon *d, struct dd_link_msg *req, struct dd_link_msg *out)
{
	struct dd_err err;
	size_t len = 0;

	req->tag = 7;
	req->flags = 0;
	memset(out, 0, sizeof(*out));
	if (dd_daemon_handle(d, req, &len, &err) || !len || decode_tx(d, len, out))
		return -1;
	if (out->tag != 7 || out->type != req->type)
		return -1;
	return out->flags & DD_LINK_F_ERROR ? out->u.error.code : 0;
}

static struct dd_link_msg msg(uint8_t type)
{
	struct dd_link_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	return m;
}

TEST(errors_of_loads_and_hello)
{
	static uint8_t data[2000];
	struct dd_link_msg m, r;
	struct bench b;
	uint32_t xfer;
	size_t len = 0;
	struct dd_err err;

	check_fill_random(data, sizeof(data), 5);
	CHECK_EQ_INT(bench_open(&b, false), 0);

	m = msg(DD_MSG_HELLO);
	m.u.hello.min_version = m.u.hello.max_version = 9;
	CHECK_EQ_INT(ask(b.d, &m, &r), DD_LERR_VERSION);
	CHECK_EQ_U64(r.u.error.value, DD_LINK_PROTO_MAX);

	m = msg(DD_MSG_LOAD_BEGIN); /* a firmware bundle over the limit */
	m.u.load_begin.kind = DD_KIND_FIRMWARE;
	m.u.load_begin.size = DD_STORE_FIRMWARE_MAX + 1;
	CHECK_EQ_INT(ask(b.d, &m, &r), DD_LERR_NO_SPACE);
	CHECK_EQ_U64(r.u.error.value, DD_STORE_FIRMWARE_MAX);
	CHECK_STR_CONTAINS(r.u.error.msg, "over this board's limit");

	m = msg(DD_MSG_LOAD_BEGIN); /* 2000 bytes whose SHA-256 is not the one announced */
	m.u.load_begin.kind = DD_KIND_IMAGE;
	m.u.load_begin.size = sizeof(data);
	CHECK_EQ_INT(ask(b.d, &m, &r), 0);
	xfer = r.u.load_begin_r.xfer;

	m = msg(DD_MSG_LOAD_DATA);
	m.u.load_data = (struct dd_link_load_data){ .xfer = xfer, .offset = 0, .data = data, .len = 100 };
	CHECK_EQ_INT(ask(b.d, &m, &r), 0);
	m.u.load_data.offset = 10; /* not where the board is: it says where */
	CHECK_EQ_INT(ask(b.d, &m, &r), DD_LERR_OFFSET);
	CHECK_EQ_U64(r.u.error.value, 100);
	m.u.load_data = (struct dd_link_load_data){ .xfer = xfer, .offset = 100, .data = data, .len = 1901 };
	CHECK_EQ_INT(ask(b.d, &m, &r), DD_LERR_FIELD); /* past the end */
	m.u.load_data = (struct dd_link_load_data){ .xfer = xfer + 4, .offset = 100, .data = data, .len = 1 };
	CHECK_EQ_INT(ask(b.d, &m, &r), DD_LERR_STATE); /* no such transfer */

	m = msg(DD_MSG_LOAD_END);
	m.u.xfer.xfer = xfer;
	CHECK_EQ_INT(ask(b.d, &m, &r), DD_LERR_STATE); /* incomplete */
	CHECK_STR_CONTAINS(r.u.error.msg, "incomplete");

	m = msg(DD_MSG_LOAD_DATA);
	m.u.load_data = (struct dd_link_load_data){ .xfer = xfer, .offset = 100, .data = data + 100, .len = 1900 };
	CHECK_EQ_INT(ask(b.d, &m, &r), 0);
	m = msg(DD_MSG_LOAD_END); /* verified later (daemon.c): refused then */
	m.u.xfer.xfer = xfer;
	m.tag = 7;
	CHECK_EQ_INT(dd_daemon_handle(b.d, &m, &len, &err), DD_OK);
	CHECK_EQ_U64(len, 0);
	CHECK_EQ_INT(dd_daemon_load_end_now(b.d, &len, &err), DD_OK);
	CHECK_EQ_INT(decode_tx(b.d, len, &r), 0);
	CHECK(r.flags & DD_LINK_F_ERROR);
	CHECK_EQ_INT(r.u.error.code, DD_LERR_REFUSED);
	CHECK_STR_CONTAINS(r.u.error.msg, "does not match the SHA-256");

	m = msg(DD_MSG_LOAD_CANCEL); /* gone with its refusal */
	m.u.xfer.xfer = xfer;
	CHECK_EQ_INT(ask(b.d, &m, &r), DD_LERR_STATE);

	m = msg(DD_MSG_REVOKE);
	m.u.revoke = (struct dd_link_revoke){ .data = data, .len = 300 };
	CHECK_EQ_INT(ask(b.d, &m, &r), DD_LERR_REFUSED);

	m = msg(DD_MSG_SELFTEST); /* the sim board has none */
	CHECK_EQ_INT(ask(b.d, &m, &r), DD_LERR_STATE);

	m = msg(DD_MSG_START);
	CHECK_EQ_INT(ask(b.d, &m, &r), DD_LERR_NO_IMAGE);
	bench_close(&b);
}

TEST(errors_of_start)
{
	static uint8_t stick[STICK_LEN];
	struct dd_link_msg m, r;
	struct bench b;

	CHECK_EQ_INT(bench_open(&b, true), 0);
	m = msg(DD_MSG_START);
	CHECK_EQ_INT(ask(b.d, &m, &r), DD_LERR_NO_STICKS);
	CHECK_STR_CONTAINS(r.u.error.msg, "no stick in any port");

	check_fill_random(stick, sizeof(stick), 8);
	CHECK_EQ_INT(check_write_file(b.port, stick, sizeof(stick)), 0);
	CHECK_EQ_INT(ask(b.d, &m, &r), 0);
	CHECK_EQ_INT(r.u.start_r.n_ports, 1);
	CHECK_EQ_INT(ask(b.d, &m, &r), DD_LERR_STATE); /* a job runs */
	CHECK_STR_CONTAINS(r.u.error.msg, "already running");
	m = msg(DD_MSG_LOAD_BEGIN);
	m.u.load_begin.kind = DD_KIND_IMAGE;
	m.u.load_begin.size = 1000;
	CHECK_EQ_INT(ask(b.d, &m, &r), DD_LERR_STATE); /* no load while a job reads the image */
	dd_daemon_job_update(b.d, true);
	CHECK_EQ_INT(b.d->job_state, DD_JOB_DONE);
	CHECK_EQ_INT(b.d->port[0].st.result, DD_RESULT_PASS);

	dd_daemon_not_ready(b.d, "no description file");
	m = msg(DD_MSG_START);
	CHECK_EQ_INT(ask(b.d, &m, &r), DD_LERR_STATE);
	CHECK_STR_CONTAINS(r.u.error.msg, "not ready");
	bench_close(&b);
}

/* INFO (d, after a HELLO offering up to max_version; 0: no HELLO, version 1) decoded into *r. */
static int info_at(struct dd_daemon *d, unsigned max_version, struct dd_link_msg *r)
{
	struct dd_link_msg m;

	if (max_version) {
		m = msg(DD_MSG_HELLO);
		m.u.hello.min_version = 1, m.u.hello.max_version = (uint16_t)max_version;
		if (ask(d, &m, r) || r->u.hello_r.version != max_version)
			return -1;
	}
	m = msg(DD_MSG_INFO);
	return ask(d, &m, r);
}

/* Not an error, but the same rule as PORTS and STATUS's fail: INFO's image version (version 4) goes only
 * to a peer whose HELLO chose version 4; an older peer (a version 3 PC's decoder too) gets the old reply ("" is sent: no image or none). */
TEST(info_image_version_by_peer_version)
{
	struct dd_link_msg r;
	struct bench b;

	CHECK_EQ_INT(bench_open_version(&b, true, "1.2.3"), 0);
	CHECK_EQ_INT(info_at(b.d, 0, &r), 0); /* no HELLO: version 1 */
	CHECK(r.u.info_r.has_image && !r.u.info_r.has_image_version);
	CHECK_EQ_INT(info_at(b.d, 2, &r), 0);
	CHECK(r.u.info_r.has_image && !r.u.info_r.has_image_version);
	CHECK(!strcmp(r.u.info_r.image_version, ""));
	CHECK_EQ_INT(info_at(b.d, 3, &r), 0); /* a version 3 PC refuses bytes after pending_firmware */
	CHECK(r.u.info_r.has_image && !r.u.info_r.has_image_version);
	CHECK_EQ_INT(info_at(b.d, 4, &r), 0);
	CHECK(r.u.info_r.has_image_version);
	CHECK(!strcmp(r.u.info_r.image_version, "1.2.3"));
	CHECK_EQ_INT(info_at(b.d, 2, &r), 0); /* a later HELLO chooses again */
	CHECK(!r.u.info_r.has_image_version);
	bench_close(&b);

	CHECK_EQ_INT(bench_open_version(&b, true, NULL), 0); /* an image without a version */
	CHECK_EQ_INT(info_at(b.d, 4, &r), 0);
	CHECK(r.u.info_r.has_image && r.u.info_r.has_image_version);
	CHECK(!strcmp(r.u.info_r.image_version, ""));
	bench_close(&b);

	CHECK_EQ_INT(bench_open(&b, false), 0); /* no image */
	CHECK_EQ_INT(info_at(b.d, 4, &r), 0);
	CHECK(!r.u.info_r.has_image && r.u.info_r.has_image_version);
	CHECK(!strcmp(r.u.info_r.image_version, ""));
	bench_close(&b);
}

int main(void)
{
	RUN(errors_of_loads_and_hello);
	RUN(errors_of_start);
	RUN(info_image_version_by_peer_version);
	return check_done();
}
