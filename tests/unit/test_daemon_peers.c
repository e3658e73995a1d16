/* The board daemon against a peer that does not read its replies (issue 17 item 2): over the sim
 * board's Unix-socket link, one peer floods requests and reads nothing; another peer, the button and
 * the job must still be served, and the slow peer must still get every reply, in order, once it reads.
 *
 * Everything runs in this one thread: the test steps the daemon's loop (dd_daemon_step) and moves the
 * peers' bytes between steps without ever blocking. A daemon that blocked on the slow peer's socket
 * would stall this thread (and, with a send timeout, drop the slow peer: its replies would be lost).
 * Bounds are counted in loop turns, each waiting at most STEP_MS for an event; nothing is timed. */
#include "check.h"
#include "fixtures.h"
#include "crypto/sign.h"
#include "firmware/board.h"
#include "firmware/daemon.h"
#include "format/dfi_writer.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#define STEP_MS 100
#define SLOW_REQUESTS 20000 /* INFO requests the slow peer sends: megabytes of replies */

/* A signed package of len random bytes, written as the board's stored image in store/ (its raw image
 * stays as check_path("image.dfi.raw")). */
static int stored_image(const char *store, size_t len)
{
	struct dfi_pack_opts o = { .block_size = 4096, .threads = 1, .created = 1, .name = "peers" };
	char out[600];

	o.key_path = check_key("depot", NULL);
	snprintf(out, sizeof(out), "%s/image.dfi", store);
	if (!o.key_path || mkdir(store, 0755) || check_pack_random(out, len, 17, &o, NULL, NULL))
		return -1;
	return 0;
}

/* --- a peer that never blocks: requests queued and pushed as the socket takes them --------------- */

struct peer {
	struct dd_link_transport *t;
	struct dd_link_rx rx;
	uint8_t *out;
	size_t out_len, out_off, out_cap;
	uint32_t next_tag;   /* tag of the next request */
	uint32_t replies;    /* replies taken, in order */
	uint8_t last_type;   /* of the last reply */
	struct dd_link_msg last; /* the last reply (its fixed fields) */
	bool bad;            /* a reply out of order, an error reply, or not a frame */
};

static int peer_open(struct peer *p, const char *sock)
{
	memset(p, 0, sizeof(*p));
	p->next_tag = 1;
	if (dd_link_unix_connect(sock, &p->t, NULL) || dd_link_rx_init(&p->rx, DD_LINK_MAX_PAYLOAD, NULL))
		return -1;
	return 0;
}

static void peer_close(struct peer *p)
{
	dd_link_transport_close(p->t);
	dd_link_rx_free(&p->rx);
	free(p->out);
}

/* Queue request m (its tag filled in). */
static int peer_send(struct peer *p, struct dd_link_msg *m)
{
	size_t len;

	m->flags = 0;
	m->tag = p->next_tag++;
	while (p->out_len + DD_LINK_TX_CAP > p->out_cap) {
		p->out_cap = p->out_cap ? 2 * p->out_cap : 2 * DD_LINK_TX_CAP;
		p->out = realloc(p->out, p->out_cap);
		if (!p->out)
			return -1;
	}
	if (dd_link_encode(m, p->out + p->out_len, p->out_cap - p->out_len, &len, NULL))
		return -1;
	p->out_len += len;
	return 0;
}

static int peer_request(struct peer *p, uint8_t type)
{
	struct dd_link_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	if (type == DD_MSG_HELLO)
		m.u.hello.min_version = m.u.hello.max_version = 1;
	return peer_send(p, &m);
}

/* Send what the socket takes now. */
static void peer_push(struct peer *p)
{
	size_t n;

	while (p->out_off < p->out_len && !p->t->ops->send_some(p->t, p->out + p->out_off, p->out_len - p->out_off,
								 &n, NULL) && n)
		p->out_off += n;
}

/* Take the replies that arrived. Returns -1 when the daemon closed the connection. */
static int peer_take(struct peer *p)
{
	struct dd_link_header h;
	struct dd_link_msg m;
	const uint8_t *payload;
	size_t got;
	int code, rc;

	do {
		while ((rc = dd_link_rx_next(&p->rx, &h, &payload, &code, NULL)) == 1) {
			if (dd_link_decode(&h, payload, &m, &code, NULL) || m.tag != p->replies + 1 ||
			    (m.flags & DD_LINK_F_ERROR))
				p->bad = true;
			p->replies++;
			p->last_type = m.type;
			p->last = m;
		}
		if (rc < 0)
			p->bad = true;
		if (dd_link_rx_fill(&p->rx, p->t, 0, &got, NULL))
			return -1;
	} while (got);
	return 0;
}

/* --- the board ------------------------------------------------------------------------------ */

struct bench {
	struct dd_board *board;
	struct dd_daemon *d;
	char sock[600], port[600];
	size_t max_out;      /* the most output the daemon held for any peer */
};

static int bench_open(struct bench *b)
{
	static char store[600], key[600], port[600], sock[600];
	static char *argv[] = { "sim", "--socket", sock, "--store", store, "--pubkey", key, "--port", port,
				"--serial", "PEERS", NULL };
	static unsigned benches;
	uint8_t *stick = malloc(4 << 20);
	struct dd_err err;

	benches++; /* each bench its own store, stick and socket */
	snprintf(store, sizeof(store), "%s%u", check_path("store"), benches);
	snprintf(key, sizeof(key), "%s", check_path("depot.pub"));
	snprintf(port, sizeof(port), "%s%u", check_path("stick"), benches);
	snprintf(sock, sizeof(sock), "%s%u", check_path("sock"), benches);
	snprintf(b->sock, sizeof(b->sock), "%s", sock);
	snprintf(b->port, sizeof(b->port), "%s", port);
	if (!stick || stored_image(store, 1 << 20))
		return -1;
	check_fill_random(stick, 4 << 20, 99); /* a used stick: old bytes everywhere */
	if (check_write_file(port, stick, 4 << 20))
		return -1;
	free(stick);
	if (dd_board_find("sim")->open(11, argv, &b->board, &err)) {
		fprintf(stderr, "sim board: %s\n", err.msg);
		return -1;
	}
	b->d = malloc(sizeof(*b->d));
	if (!b->d || dd_daemon_init(b->d, b->board, &err)) {
		fprintf(stderr, "daemon: %s\n", err.msg);
		return -1;
	}
	return b->d->store.image ? 0 : -1;
}

static void bench_close(struct bench *b)
{
	dd_daemon_fini(b->d);
	free(b->d);
	b->board->ops->close(b->board);
}

static size_t most_held(const struct dd_daemon *d)
{
	size_t most = 0;

	for (unsigned i = 0; i < DD_DAEMON_MAX_CONNS; i++)
		if (d->conn[i].t && d->conn[i].out_len - d->conn[i].out_off > most)
			most = d->conn[i].out_len - d->conn[i].out_off;
	return most;
}

static int step(struct bench *b)
{
	struct dd_err err;
	size_t held;

	if (dd_daemon_step(b->d, STEP_MS, &err))
		return -1;
	held = most_held(b->d);
	if (held > b->max_out)
		b->max_out = held;
	return 0;
}

static unsigned live_conns(const struct dd_daemon *d)
{
	unsigned n = 0;

	for (unsigned i = 0; i < DD_DAEMON_MAX_CONNS; i++)
		n += d->conn[i].t != NULL;
	return n;
}

static struct dd_conn *first_conn(struct dd_daemon *d)
{
	for (unsigned i = 0; i < DD_DAEMON_MAX_CONNS; i++)
		if (d->conn[i].t)
			return &d->conn[i];
	return NULL;
}

TEST(slow_peer_stalls_only_itself)
{
	struct bench b = { 0 };
	struct peer slow, fast;
	unsigned turns;

	CHECK_EQ_INT(bench_open(&b), 0);
	CHECK_EQ_INT(peer_open(&slow, b.sock), 0);
	for (turns = 0; turns < 100 && !live_conns(b.d); turns++)
		CHECK_EQ_INT(step(&b), 0);
	CHECK_EQ_INT(live_conns(b.d), 1);
	/* a small kernel buffer on the board's side, whatever the machine's default: the daemon's own
	 * buffering is what gets tested, at the same point everywhere */
	CHECK_EQ_INT(setsockopt(first_conn(b.d)->t->fd, SOL_SOCKET, SO_SNDBUF, &(int){ 8192 }, sizeof(int)), 0);
	for (unsigned i = 0; i < SLOW_REQUESTS; i++)
		CHECK_EQ_INT(peer_request(&slow, DD_MSG_INFO), 0);
	/* the slow peer sends all it can and reads nothing, until the daemon stops taking its requests */
	for (turns = 0; turns < 1000 && most_held(b.d) < DD_DAEMON_OUT_WATER; turns++) {
		peer_push(&slow);
		CHECK_EQ_INT(step(&b), 0);
	}
	CHECK(most_held(b.d) >= DD_DAEMON_OUT_WATER);
	CHECK(slow.out_off < slow.out_len); /* its requests wait: the daemon is not reading them */

	/* another peer asks, and the button is pressed: both served while the slow peer reads nothing */
	CHECK_EQ_INT(peer_open(&fast, b.sock), 0);
	CHECK_EQ_INT(peer_request(&fast, DD_MSG_HELLO), 0);
	CHECK_EQ_INT(peer_request(&fast, DD_MSG_INFO), 0);
	CHECK_EQ_INT(peer_request(&fast, DD_MSG_STATUS), 0);
	CHECK_EQ_INT(kill(getpid(), SIGUSR1), 0);
	for (turns = 0; turns < 100 && (fast.replies < 3 || b.d->job_state == DD_JOB_IDLE); turns++) {
		peer_push(&slow);
		peer_push(&fast);
		CHECK_EQ_INT(step(&b), 0);
		CHECK_EQ_INT(peer_take(&fast), 0);
	}
	CHECK_EQ_INT(fast.replies, 3);
	CHECK(!fast.bad);
	CHECK_EQ_INT(fast.last_type, DD_MSG_STATUS);
	CHECK(b.d->job_state != DD_JOB_IDLE); /* the button started the job */

	/* the job runs to its end, lights and all, while the slow peer still reads nothing */
	for (turns = 0; turns < 3000 && b.d->job_state != DD_JOB_DONE; turns++) {
		peer_push(&slow);
		CHECK_EQ_INT(step(&b), 0);
	}
	CHECK_EQ_INT(b.d->job_state, DD_JOB_DONE);
	CHECK_EQ_INT(b.d->port[0].shown_state, DD_PORT_PASS);
	CHECK_EQ_INT(live_conns(b.d), 2); /* nobody was dropped */

	/* the slow peer reads at last: every reply, in order, none lost */
	for (turns = 0; turns < 20000 && slow.replies < SLOW_REQUESTS; turns++) {
		peer_push(&slow);
		CHECK_EQ_INT(step(&b), 0);
		CHECK_EQ_INT(peer_take(&slow), 0);
	}
	CHECK_EQ_INT(slow.replies, SLOW_REQUESTS);
	CHECK(!slow.bad);
	CHECK_EQ_INT(slow.last_type, DD_MSG_INFO);
	CHECK(b.max_out <= DD_DAEMON_OUT_MAX); /* what the daemon held for it stayed bounded */
	peer_close(&slow);
	peer_close(&fast);
	bench_close(&b);
}

/* All slots taken: a new peer replaces the one that is not reading its replies, not the oldest. */
TEST(a_new_peer_replaces_the_stalled_one)
{
	struct bench b = { 0 };
	struct peer idle[DD_DAEMON_MAX_CONNS - 1], slow, late;
	unsigned turns, i;

	CHECK_EQ_INT(bench_open(&b), 0);
	for (i = 0; i < DD_DAEMON_MAX_CONNS - 1; i++) {
		CHECK_EQ_INT(peer_open(&idle[i], b.sock), 0);
		for (turns = 0; turns < 100 && live_conns(b.d) < i + 1; turns++)
			CHECK_EQ_INT(step(&b), 0);
	}
	CHECK_EQ_INT(peer_open(&slow, b.sock), 0); /* the newest, and stalled */
	for (turns = 0; turns < 100 && live_conns(b.d) < DD_DAEMON_MAX_CONNS; turns++)
		CHECK_EQ_INT(step(&b), 0);
	CHECK_EQ_INT(live_conns(b.d), DD_DAEMON_MAX_CONNS);
	for (i = 0; i < SLOW_REQUESTS; i++)
		CHECK_EQ_INT(peer_request(&slow, DD_MSG_INFO), 0);
	for (turns = 0; turns < 1000 && most_held(b.d) < DD_DAEMON_OUT_WATER; turns++) {
		peer_push(&slow);
		CHECK_EQ_INT(step(&b), 0);
	}
	CHECK(most_held(b.d) >= DD_DAEMON_OUT_WATER);
	CHECK_EQ_INT(peer_open(&late, b.sock), 0);
	CHECK_EQ_INT(peer_request(&late, DD_MSG_INFO), 0);
	CHECK_EQ_INT(peer_request(&idle[0], DD_MSG_INFO), 0); /* the oldest still works */
	for (turns = 0; turns < 100 && (late.replies < 1 || idle[0].replies < 1); turns++) {
		peer_push(&late);
		peer_push(&idle[0]);
		CHECK_EQ_INT(step(&b), 0);
		CHECK_EQ_INT(peer_take(&late), 0);
		CHECK_EQ_INT(peer_take(&idle[0]), 0);
	}
	CHECK_EQ_INT(late.replies, 1);
	CHECK_EQ_INT(idle[0].replies, 1);
	CHECK(!late.bad && !idle[0].bad);
	CHECK_EQ_INT(live_conns(b.d), DD_DAEMON_MAX_CONNS);
	CHECK(most_held(b.d) < DD_DAEMON_OUT_WATER); /* the stalled peer is the one that went */
	for (turns = 0; turns < 20000 && peer_take(&slow) == 0; turns++)
		; /* it reads what was sent before it was dropped, then finds the connection closed */
	CHECK(slow.replies < SLOW_REQUESTS);
	for (i = 0; i < DD_DAEMON_MAX_CONNS - 1; i++)
		peer_close(&idle[i]);
	peer_close(&slow);
	peer_close(&late);
	bench_close(&b);
}

/* Peer a sends the package pkg (len bytes) and its LOAD_END; returns once the board verifies it. */
static void upload(struct bench *b, struct peer *a, const uint8_t *pkg, size_t len)
{
	struct dd_link_msg m;
	unsigned turns;
	uint32_t xfer;

	memset(&m, 0, sizeof(m));
	m.type = DD_MSG_LOAD_BEGIN;
	m.u.load_begin.kind = DD_KIND_IMAGE;
	m.u.load_begin.size = len;
	dd_sha256(pkg, len, m.u.load_begin.sha256);
	/* the blocks read back at LOAD_END, so that it lasts many turns of the loop (proven as they came, they
	 * would leave only the signature to check: test_board_store.c covers that) */
	b->d->store.no_stream_check = true;
	CHECK_EQ_INT(peer_send(a, &m), 0);
	for (turns = 0; turns < 100 && a->replies < 1; turns++) {
		peer_push(a);
		CHECK_EQ_INT(step(b), 0);
		CHECK_EQ_INT(peer_take(a), 0);
	}
	CHECK_EQ_INT(a->replies, 1);
	CHECK(!a->bad);
	xfer = a->last.u.load_begin_r.xfer;
	for (size_t off = 0; off < len; off += DD_STORE_CHUNK) {
		memset(&m, 0, sizeof(m));
		m.type = DD_MSG_LOAD_DATA;
		m.u.load_data = (struct dd_link_load_data){ .xfer = xfer, .offset = off, .data = pkg + off,
							    .len = (uint32_t)(len - off < DD_STORE_CHUNK ? len - off
												  : DD_STORE_CHUNK) };
		CHECK_EQ_INT(peer_send(a, &m), 0);
	}
	memset(&m, 0, sizeof(m));
	m.type = DD_MSG_LOAD_END;
	m.u.xfer.xfer = xfer;
	CHECK_EQ_INT(peer_send(a, &m), 0);
	for (turns = 0; turns < 1000 && !b->d->pending[DD_KIND_IMAGE].active; turns++) {
		peer_push(a);
		CHECK_EQ_INT(step(b), 0);
		CHECK_EQ_INT(peer_take(a), 0);
	}
	CHECK(b->d->pending[DD_KIND_IMAGE].active); /* LOAD_END taken: the package is being verified */
	CHECK(!a->bad);
}

/* A signed package of 6 MiB of random bytes named "next"; *len its size. */
static uint8_t *next_package(size_t *len)
{
	struct dfi_pack_opts o = { .block_size = 4096, .threads = 1, .created = 2, .name = "next" };

	o.key_path = check_path("depot.key");
	if (check_pack_random(check_path("next.dfi"), 6 << 20, 23, &o, NULL, NULL))
		return NULL;
	return check_read_file(check_path("next.dfi"), len);
}

/* LOAD_END verifies the whole package; meanwhile the button, another peer and a job go on, and the new
 * image is installed only once the job that reads the old one has ended. */
TEST(button_and_peers_served_while_a_package_is_verified)
{
	struct bench b = { 0 };
	struct peer a, other;
	size_t len, old_len;
	uint8_t *pkg, *old;
	unsigned turns, before;

	CHECK_EQ_INT(bench_open(&b), 0); /* stored image "peers" */
	pkg = next_package(&len);
	old = check_read_file(check_path("image.dfi.raw"), &old_len);
	CHECK(pkg && old);
	b.d->verify_slice = 64 << 10; /* about 200 turns of the loop for this package */
	CHECK_EQ_INT(peer_open(&a, b.sock), 0);
	upload(&b, &a, pkg, len);
	CHECK(!a.bad);
	before = a.replies;

	/* the button and another peer, served while the verification goes on */
	CHECK_EQ_INT(peer_open(&other, b.sock), 0);
	CHECK_EQ_INT(peer_request(&other, DD_MSG_INFO), 0);
	CHECK_EQ_INT(kill(getpid(), SIGUSR1), 0);
	for (turns = 0; turns < 50 && (other.replies < 1 || b.d->job_state == DD_JOB_IDLE); turns++) {
		peer_push(&other);
		CHECK_EQ_INT(step(&b), 0);
		CHECK_EQ_INT(peer_take(&other), 0);
		CHECK_EQ_INT(peer_take(&a), 0);
	}
	CHECK_EQ_INT(other.replies, 1);
	CHECK(!strcmp(other.last.u.info_r.image_name, "peers")); /* the stored image, still */
	CHECK(b.d->job_state != DD_JOB_IDLE);
	CHECK(b.d->pending[DD_KIND_IMAGE].active);
	CHECK_EQ_INT(a.replies, before); /* its LOAD_END is not answered yet */

	/* the job writes the image it started with; the new one is stored after it, then a is answered */
	for (turns = 0; turns < 3000 && (b.d->job_state != DD_JOB_DONE || a.replies == before); turns++) {
		CHECK_EQ_INT(step(&b), 0);
		CHECK_EQ_INT(peer_take(&a), 0);
	}
	CHECK_EQ_INT(b.d->job_state, DD_JOB_DONE);
	CHECK_EQ_INT(b.d->port[0].shown_state, DD_PORT_PASS);
	CHECK_EQ_INT(a.replies, before + 1);
	CHECK(!a.bad);
	CHECK_EQ_INT(a.last_type, DD_MSG_LOAD_END);
	CHECK(!strcmp(a.last.u.load_end_r.name, "next"));
	CHECK(b.d->store.image && !strcmp(b.d->store.image->info.name, "next"));
	{
		size_t stick_len;
		uint8_t *stick = check_read_file(b.port, &stick_len);

		CHECK(stick && stick_len >= old_len && !memcmp(stick, old, old_len)); /* the old image, whole */
		free(stick);
	}
	peer_close(&a);
	peer_close(&other);
	bench_close(&b);
	free(pkg);
	free(old);
}

/* A peer that leaves while its LOAD_END is verified is dropped at once; the package is stored anyway. */
TEST(a_peer_gone_during_its_load_end)
{
	struct bench b = { 0 };
	struct peer a;
	size_t len;
	uint8_t *pkg;
	unsigned turns;

	CHECK_EQ_INT(bench_open(&b), 0);
	pkg = next_package(&len);
	CHECK(pkg);
	b.d->verify_slice = 64 << 10;
	CHECK_EQ_INT(peer_open(&a, b.sock), 0);
	upload(&b, &a, pkg, len);
	peer_close(&a);
	for (turns = 0; turns < 5 && live_conns(b.d); turns++)
		CHECK_EQ_INT(step(&b), 0);
	CHECK_EQ_INT(live_conns(b.d), 0);
	CHECK(b.d->pending[DD_KIND_IMAGE].active); /* dropped before the verification ended */
	for (turns = 0; turns < 3000 && b.d->pending[DD_KIND_IMAGE].active; turns++)
		CHECK_EQ_INT(step(&b), 0);
	CHECK(b.d->store.image && !strcmp(b.d->store.image->info.name, "next"));
	bench_close(&b);
	free(pkg);
}

/* --- time and records (issue 15: docs/AUDIT.md) ------------------------------------------------- */

/* Answer req with the daemon's real handler and decode the reply into *rep. */
static int handle(struct dd_daemon *d, struct dd_link_msg *req, struct dd_link_msg *rep)
{
	struct dd_link_header h;
	struct dd_err err;
	size_t len = 0;
	int code;

	req->flags = 0;
	req->tag = 1;
	if (dd_daemon_handle(d, req, &len, &err) || !len ||
	    dd_link_parse_header(d->tx, DD_LINK_MAX_PAYLOAD, &h, &code, &err) ||
	    dd_link_decode(&h, d->tx + DD_LINK_HDR_LEN, rep, &code, &err))
		return -1;
	return rep->flags & DD_LINK_F_ERROR ? rep->u.error.code : 0;
}

/* The newest record in the store, as text. */
static void last_record(struct dd_daemon *d, char *out, size_t cap)
{
	struct dd_link_log_reply r;
	uint32_t pos = 0;
	const char *text = "";
	uint16_t len = 0;

	out[0] = '\0';
	if (d->store.log_next < 2 ||
	    dd_store_log_read(&d->store, d->store.log_next - 1, 1, d->logbuf, DD_LINK_MAX_PAYLOAD, &r, NULL) ||
	    !dd_link_log_next(&r, &pos, &text, &len))
		return;
	snprintf(out, cap, "%.*s", (int)len, text);
}

/* A board nothing has set the clock of records "unset" and no time; a PC's implausible time is not
 * taken; a plausible one is, and the next job's records say "pc" and carry the PC's batch and operator. */
TEST(records_state_their_time_source)
{
	static struct dd_link_msg req, rep;
	struct bench b;
	char rec[4096];
	struct dd_err err;

	CHECK_EQ_INT(bench_open(&b), 0);
	memset(&req, 0, sizeof(req));
	req.type = DD_MSG_AUDIT;
	CHECK_EQ_INT(handle(b.d, &req, &rep), 0);
	CHECK_EQ_INT(rep.u.audit_r.source, DD_TIME_UNSET);
	CHECK_EQ_INT(rep.u.audit_r.log_state, DD_LOG_OK);
	CHECK_EQ_U64(rep.u.audit_r.next_seq, 1);
	CHECK_STR_CONTAINS(rep.u.audit_r.key_pem, "-----BEGIN PUBLIC KEY-----");
	/* the button, before any PC */
	CHECK_EQ_INT(dd_daemon_start_job(b.d, NULL, &err), 0);
	dd_daemon_job_update(b.d, true);
	last_record(b.d, rec, sizeof(rec));
	CHECK_STR_CONTAINS(rec, "\"time\":null,\"time_source\":\"unset\"");
	CHECK_STR_CONTAINS(rec, "\"batch\":null,\"operator\":null");
	/* a PC whose clock says 1970 */
	memset(&req, 0, sizeof(req));
	req.type = DD_MSG_TIME;
	req.u.time.time = 86400;
	CHECK_EQ_INT(handle(b.d, &req, &rep), 0);
	CHECK_EQ_INT(rep.u.time_r.applied, 0);
	CHECK_EQ_INT(rep.u.time_r.source, DD_TIME_UNSET);
	/* a PC with the time */
	req.u.time.time = 1796000000;
	CHECK_EQ_INT(handle(b.d, &req, &rep), 0);
	CHECK_EQ_INT(rep.u.time_r.applied, 1);
	CHECK_EQ_INT(rep.u.time_r.source, DD_TIME_PC);
	CHECK(rep.u.time_r.time >= 1796000000 && rep.u.time_r.time < 1796000000 + 60);
	memset(&req, 0, sizeof(req));
	req.type = DD_MSG_START;
	strcpy(req.u.start.batch, "WO-9");
	strcpy(req.u.start.operator_, "Bo");
	rep.u.start_r.n_ports = 0;
	CHECK_EQ_INT(handle(b.d, &req, &rep), 0);
	CHECK_EQ_INT(rep.u.start_r.n_ports, 1);
	dd_daemon_job_update(b.d, true);
	last_record(b.d, rec, sizeof(rec));
	CHECK_STR_CONTAINS(rec, "{\"seq\":2,");
	CHECK_STR_CONTAINS(rec, "\"time\":\"2026-11-30T");
	CHECK_STR_CONTAINS(rec, "\"time_source\":\"pc\"");
	CHECK_STR_CONTAINS(rec, "\"batch\":\"WO-9\",\"operator\":\"Bo\"");
	memset(&req, 0, sizeof(req));
	req.type = DD_MSG_AUDIT;
	CHECK_EQ_INT(handle(b.d, &req, &rep), 0);
	CHECK_EQ_INT(rep.u.audit_r.source, DD_TIME_PC);
	CHECK_EQ_U64(rep.u.audit_r.next_seq, 3);
	CHECK_EQ_U64(rep.u.audit_r.first_seq, 1);
	CHECK(memcmp(rep.u.audit_r.head, b.d->store.log_head, DD_SHA256_LEN) == 0);
	bench_close(&b);
}

int main(void)
{
	RUN(slow_peer_stalls_only_itself);
	RUN(a_new_peer_replaces_the_stalled_one);
	RUN(button_and_peers_served_while_a_package_is_verified);
	RUN(a_peer_gone_during_its_load_end);
	RUN(records_state_their_time_source);
	return check_done();
}
