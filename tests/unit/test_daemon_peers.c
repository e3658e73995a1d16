/* The board daemon against a peer that does not read its replies (issue 17 item 2): over the sim
 * board's Unix-socket link, one peer floods requests and reads nothing; another peer, the button and
 * the job must still be served, and the slow peer must still get every reply, in order, once it reads.
 *
 * Everything runs in this one thread: the test steps the daemon's loop (dd_daemon_step) and moves the
 * peers' bytes between steps without ever blocking. A daemon that blocked on the slow peer's socket
 * would stall this thread (and, with a send timeout, drop the slow peer: its replies would be lost).
 * Bounds are counted in loop turns, each waiting at most STEP_MS for an event; nothing is timed. */
#include "check.h"
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

static char *tmp(const char *name)
{
	static char paths[16][512];
	static int n;
	char *p = paths[n++ % 16];

	snprintf(p, 512, "%s/%s", check_tmpdir(), name);
	return p;
}

/* A signed package of len random bytes, written as the board's stored image in store/. */
static int stored_image(const char *store, size_t len)
{
	struct dfi_pack_opts o = { .block_size = 4096, .threads = 1, .created = 1, .name = "peers" };
	char out[600];
	uint8_t *img = malloc(len);
	int rc;

	static bool have_key;

	if (!img || (!have_key && dd_keygen(tmp("depot"), NULL))) {
		free(img);
		return -1;
	}
	have_key = true;
	o.key_path = tmp("depot.key");
	check_fill_random(img, len, 17);
	snprintf(out, sizeof(out), "%s/image.dfi", store);
	rc = check_write_file(tmp("raw.img"), img, len) || mkdir(store, 0755) || dfi_pack(tmp("raw.img"), out, &o, NULL);
	free(img);
	return rc ? -1 : 0;
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

static int peer_request(struct peer *p, uint8_t type)
{
	struct dd_link_msg m;
	size_t len;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.tag = p->next_tag++;
	if (type == DD_MSG_HELLO)
		m.u.hello.min_version = m.u.hello.max_version = 1;
	if (p->out_len + 256 > p->out_cap) {
		p->out_cap = p->out_cap ? 2 * p->out_cap : 65536;
		p->out = realloc(p->out, p->out_cap);
		if (!p->out)
			return -1;
	}
	if (dd_link_encode(&m, p->out + p->out_len, p->out_cap - p->out_len, &len, NULL))
		return -1;
	p->out_len += len;
	return 0;
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
	char sock[600];
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
	snprintf(store, sizeof(store), "%s%u", tmp("store"), benches);
	snprintf(key, sizeof(key), "%s", tmp("depot.pub"));
	snprintf(port, sizeof(port), "%s%u", tmp("stick"), benches);
	snprintf(sock, sizeof(sock), "%s%u", tmp("sock"), benches);
	snprintf(b->sock, sizeof(b->sock), "%s", sock);
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

int main(void)
{
	RUN(slow_peer_stalls_only_itself);
	RUN(a_new_peer_replaces_the_stalled_one);
	return check_done();
}
