/* link client (common/link/client.c) against a scripted board: a thread on the other end of a socketpair
 * reads the client's requests and answers from a script of frames (well-formed replies, errors, garbage,
 * half frames, a closed connection). HELLO's version choice and what it changes, ERROR replies, every
 * broken stream giving one error and no hang (the client's timeout made small), replies of the wrong tag
 * or type, the LOG fetcher's paging and its bounds, and the load window with a resume and a resync.
 *
 * No sleeps: the board waits for the client's requests and for its end of the socket to close; the client
 * waits for replies, or for its timeout where the board sends nothing more. */
#include "check.h"
#include "link/client.h"
#include "hash/sha256.h"
#include "util/escape.h"
#include "util/json.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SHORT_MS 200     /* the client's timeout where a test waits for it */
#define BOARD_MS 10000   /* the board's: only a broken client gets there (then the test fails) */

enum act {
	ACT_REPLY, /* the step's reply (its type 0: the request's), tag = the request's + tag_delta */
	ACT_RAW,   /* raw bytes */
	ACT_HALF,  /* the first `raw_len` bytes of the step's reply, then nothing more */
	ACT_CLOSE, /* the first `raw_len` bytes of the step's reply, then close the connection */
};

struct step {
	uint8_t expect;          /* request type the board waits for */
	enum act act;
	struct dd_link_msg reply;
	int tag_delta;
	const void *raw;
	size_t raw_len;
};

#define MAX_STEPS 8

struct board {
	struct dd_link_transport *t;
	struct dd_link_rx rx;
	uint8_t *tx;
	struct step steps[MAX_STEPS];
	unsigned n_steps;
	void (*run)(struct board *b);
	struct dd_link_msg got[MAX_STEPS]; /* requests seen (bulk pointers not kept) */
	unsigned n_got;
	char fail[256];          /* what went wrong on the board's side, "" if nothing */
	/* load: the board's copy of the package, and how it went */
	uint8_t *pkg;
	size_t pkg_size;
	uint32_t chunk;
	uint64_t resume, bad_at;
	unsigned window, max_inflight, data_frames;
	bool bad_sent;
	const char *refuse_first; /* load: the first LOAD_BEGIN answered bad-field with this, NULL never */
	unsigned load_begins;
	struct dd_link_msg begin, end; /* load: the LOAD_BEGIN taken and the LOAD_END */
	pthread_t thread;
	bool joined;
};

/* Boards live on the heap until the end: a test that fails leaves its board thread running (it ends when
 * its reads time out), and that thread must not write into the next test's stack. */
static struct board *boards[64];
static unsigned n_boards;

static struct board *board_new(void)
{
	struct board *b = calloc(1, sizeof(*b));

	if (!b || n_boards == sizeof(boards) / sizeof(boards[0]))
		abort();
	boards[n_boards++] = b;
	return b;
}

/* the boards of tests that passed (joined); the others are left to their threads */
static void boards_free(void)
{
	for (unsigned i = 0; i < n_boards; i++) {
		if (boards[i]->joined) {
			free(boards[i]->pkg);
			free(boards[i]);
		}
	}
}

static void board_fail(struct board *b, const char *what)
{
	if (!b->fail[0])
		snprintf(b->fail, sizeof(b->fail), "%s", what);
}

/* The client's next request: 1, or 0 when it is gone (or sent something else than frames). */
static int board_recv(struct board *b, struct dd_link_msg *m)
{
	struct dd_link_header h;
	const uint8_t *payload;
	int code, rc;
	size_t got;

	for (;;) {
		rc = dd_link_rx_next(&b->rx, &h, &payload, &code, NULL);
		if (rc < 0) {
			board_fail(b, "the client sent something that is not a frame");
			return 0;
		}
		if (rc == 1)
			break;
		if (dd_link_rx_fill(&b->rx, b->t, BOARD_MS, &got, NULL))
			return 0; /* the client closed its end */
		if (!got) {
			board_fail(b, "the client sent nothing for 10 s");
			return 0;
		}
	}
	if (dd_link_decode(&h, payload, m, &code, NULL)) {
		board_fail(b, "the client sent a frame that does not decode");
		return 0;
	}
	if (b->n_got < MAX_STEPS) {
		b->got[b->n_got] = *m;
		if (m->type == DD_MSG_LOAD_DATA) /* only there: the union's other members share its bytes */
			b->got[b->n_got].u.load_data.data = NULL;
		b->n_got++;
	}
	return 1;
}

static void board_send(struct board *b, const void *p, size_t len)
{
	if (b->t->ops->send(b->t, p, len, NULL))
		board_fail(b, "send failed");
}

static size_t encode(struct board *b, const struct dd_link_msg *m)
{
	size_t len = 0;

	if (dd_link_encode(m, b->tx, DD_LINK_TX_CAP, &len, NULL))
		board_fail(b, "the script's reply does not encode");
	return len;
}

/* Until the client closes its end; a request then is one the script did not expect. */
static void board_wait_close(struct board *b)
{
	struct dd_link_msg m;

	if (board_recv(b, &m))
		board_fail(b, "a request after the end of the script");
}

static void run_script(struct board *b)
{
	struct dd_link_msg req, rep;
	size_t len;

	for (unsigned i = 0; i < b->n_steps; i++) {
		const struct step *s = &b->steps[i];

		if (!board_recv(b, &req)) {
			board_fail(b, "the client went away before the end of the script");
			return;
		}
		if (req.type != s->expect) {
			board_fail(b, "a request of another type than the script's");
			return;
		}
		if (s->act == ACT_RAW) {
			board_send(b, s->raw, s->raw_len);
			continue;
		}
		rep = s->reply;
		rep.type = rep.type ? rep.type : req.type;
		rep.flags |= DD_LINK_F_REPLY;
		rep.tag = req.tag + (uint32_t)s->tag_delta;
		len = encode(b, &rep);
		if (s->act == ACT_REPLY) {
			board_send(b, b->tx, len);
		} else {
			board_send(b, b->tx, s->raw_len < len ? s->raw_len : len);
			if (s->act == ACT_CLOSE) {
				dd_link_transport_close(b->t);
				b->t = NULL;
				return;
			}
		}
	}
	board_wait_close(b);
}

static void *board_main(void *arg)
{
	struct board *b = arg;

	b->run(b);
	return NULL;
}

/* A board on one end of a socketpair; the client's transport in *ct. */
static struct board *board_start(struct board *b, struct dd_link_transport **ct)
{
	int sv[2];

	if (!b->run)
		b->run = run_script;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) ||
	    dd_link_unix_wrap(sv[0], "board", &b->t, NULL) || dd_link_unix_wrap(sv[1], "socket test", ct, NULL) ||
	    dd_link_rx_init(&b->rx, DD_LINK_MAX_PAYLOAD, NULL) || !(b->tx = malloc(DD_LINK_TX_CAP)) ||
	    pthread_create(&b->thread, NULL, board_main, b))
		abort();
	return b;
}

/* Join the board (the client's end is closed by then) and free it; its failure, "" if none. */
static const char *board_end(struct board *b)
{
	pthread_join(b->thread, NULL);
	b->joined = true;
	dd_link_transport_close(b->t);
	dd_link_rx_free(&b->rx);
	free(b->tx);
	return b->fail;
}

#define CHECK_BOARD(b)                                                                \
	do {                                                                          \
		const char *f_ = board_end(b);                                        \
		if (f_[0])                                                            \
			CHECK_FAIL_("%s:%d: board: %s", __FILE__, __LINE__, f_);      \
	} while (0)

static void add_step(struct board *b, uint8_t expect, enum act act)
{
	if (b->n_steps == MAX_STEPS)
		abort();
	memset(&b->steps[b->n_steps], 0, sizeof(b->steps[0]));
	b->steps[b->n_steps].expect = expect;
	b->steps[b->n_steps].act = act;
	b->n_steps++;
}

static struct step *last_step(struct board *b)
{
	return &b->steps[b->n_steps - 1];
}

/* after HELLO, the client asks INFO and the board answers these bytes instead of a reply */
static void add_raw_info(struct board *b, const uint8_t *raw, size_t len)
{
	add_step(b, DD_MSG_INFO, ACT_RAW);
	last_step(b)->raw = raw;
	last_step(b)->raw_len = len;
}

static void add_hello(struct board *b, uint16_t version, uint16_t window)
{
	struct dd_link_hello_reply *h;

	add_step(b, DD_MSG_HELLO, ACT_REPLY);
	h = &last_step(b)->reply.u.hello_r;
	h->version = version;
	h->max_payload = DD_LINK_MAX_PAYLOAD;
	h->window = window;
	strcpy(h->board, "script");
	strcpy(h->firmware, "0.0.1");
}

static void add_error(struct board *b, uint8_t expect, int code, uint64_t value, const char *msg)
{
	struct dd_link_msg *m;

	add_step(b, expect, ACT_REPLY);
	m = &last_step(b)->reply;
	m->flags = DD_LINK_F_ERROR;
	m->u.error.code = (uint16_t)code;
	m->u.error.value = value;
	snprintf(m->u.error.msg, sizeof(m->u.error.msg), "%s", msg);
}

static void add_info(struct board *b, enum act act, size_t cut)
{
	add_step(b, DD_MSG_INFO, act);
	strcpy(last_step(b)->reply.u.info_r.board, "script");
	strcpy(last_step(b)->reply.u.info_r.serial, "SCRIPT-1");
	last_step(b)->reply.u.info_r.n_ports = 4;
	last_step(b)->raw_len = cut;
}

static int call_info(struct dd_link_client *c, struct dd_err *err)
{
	struct dd_link_msg req;

	memset(&req, 0, sizeof(req));
	req.type = DD_MSG_INFO;
	return dd_link_call(c, &req, err);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- HELLO -------------------------------------------------------------------------------------- */

#define PATH_CAP 600

/* A package file of random bytes (the board sees only its bytes); its path in path (PATH_CAP bytes). */
static uint8_t *make_pkg(size_t size, uint64_t seed, char *path)
{
	uint8_t *p = malloc(size);

	if (!p)
		abort();
	check_fill_random(p, size, seed);
	snprintf(path, PATH_CAP, "%s/pkg-%llu.dfi", check_tmpdir(), (unsigned long long)seed);
	if (check_write_file(path, p, size))
		abort();
	return p;
}

/* A load of the file at path (LOAD_BEGIN's flags: flags) into a board of this version that answers LOAD_BEGIN
 * with an error (code, value, msg): the client's status is want_rc, its error names the file and holds msg,
 * and the board (joined, returned to look at what it was sent) saw HELLO and one LOAD_BEGIN. */
static struct board *load_refused(uint16_t version, uint8_t flags, const char *path, int code, uint64_t value,
				  const char *msg, int want_rc, struct dd_err *err)
{
	struct dd_link_load_opts lo = { .kind = DD_KIND_IMAGE, .flags = flags };
	struct dd_link_load_result res;
	struct board *b = board_new();
	struct dd_link_transport *t;
	struct dd_link_client c;

	add_hello(b, version, 8);
	add_error(b, DD_MSG_LOAD_BEGIN, code, value, msg);
	board_start(b, &t);
	CHECK_EQ_INT(dd_link_client_open(&c, t, "dartdup test", err), DD_OK);
	CHECK_EQ_INT(c.hello.version, version);
	CHECK_EQ_INT(c.hello.window, 8);
	CHECK_EQ_INT(dd_link_client_load(&c, path, &lo, &res, err), want_rc);
	CHECK_STR_CONTAINS(err->msg, msg);
	CHECK_STR_CONTAINS(err->msg, path); /* a refusal of this file names it */
	dd_link_client_close(&c);
	CHECK_BOARD(b);
	CHECK_EQ_INT(b->n_got, 2);
	CHECK_EQ_INT(b->got[1].type, DD_MSG_LOAD_BEGIN);
	return b;
}

/* The board's chosen version is what the client goes by: LOAD_BEGIN's flags only to version 3. */
static void hello_version_case(uint16_t version, uint8_t want_flags)
{
	struct dd_err err;
	char path[PATH_CAP];
	uint8_t *pkg = make_pkg(3000, version, path);
	struct board *b = load_refused(version, DD_LOAD_ALLOW_DOWNGRADE, path, DD_LERR_REFUSED, 0, "not today",
				       DD_EINPUT, &err);

	free(pkg);
	CHECK_EQ_INT(b->got[0].u.hello.min_version, DD_LINK_PROTO_MIN);
	CHECK_EQ_INT(b->got[0].u.hello.max_version, DD_LINK_PROTO_MAX);
	CHECK(!strcmp(b->got[0].u.hello.name, "dartdup test"));
	CHECK_EQ_INT(b->got[1].u.load_begin.flags, want_flags);
	CHECK_EQ_U64(b->got[1].u.load_begin.size, 3000);
}

TEST(hello_version_2_board_gets_no_load_flags) { hello_version_case(2, 0); }
TEST(hello_version_3_board_gets_load_flags) { hello_version_case(3, DD_LOAD_ALLOW_DOWNGRADE | DD_LOAD_HASH_AT_END); }

/* HASH_AT_END's resume key is part of the protocol (docs/PROTOCOL.md): pinned for a file of byte i = 7i + 1,
 * the expected keys computed apart from dartdup, as SHA-256("dartdup resume key" || size u64 LE || the file's
 * last min(size, 4096) bytes). */
static void resume_key_case(size_t size, const char *want_hex)
{
	struct board *b;
	struct dd_err err;
	char path[PATH_CAP], hex[2 * DD_SHA256_LEN + 1];
	uint8_t *pkg = malloc(size);

	if (!pkg)
		abort();
	for (size_t i = 0; i < size; i++)
		pkg[i] = (uint8_t)(i * 7 + 1);
	snprintf(path, PATH_CAP, "%s/key-%zu.dfi", check_tmpdir(), size);
	if (check_write_file(path, pkg, size))
		abort();
	free(pkg);
	b = load_refused(3, 0, path, DD_LERR_REFUSED, 0, "not today", DD_EINPUT, &err);
	CHECK_EQ_INT(b->got[1].u.load_begin.flags, DD_LOAD_HASH_AT_END);
	dd_hex(hex, b->got[1].u.load_begin.sha256, DD_SHA256_LEN);
	CHECK_STR_CONTAINS(hex, want_hex); /* the same length: equal */
}

TEST(resume_key_of_a_known_file)
{
	resume_key_case(5000, "fb1a2224de7e5b05052434ad62f51239bed3d23029fd48f4fc4f97f5d33a54cf");
}

TEST(resume_key_of_a_file_under_4_kib)
{
	resume_key_case(100, "2e96af296546fa2d41a6984b3ea6e18a0b4470fc96a67528d5938191ce4ff1cf");
}

TEST(hello_version_outside_the_range_is_refused)
{
	struct board *b = board_new();
	struct dd_link_transport *t;
	struct dd_link_client c;
	struct dd_err err;

	add_hello(b, DD_LINK_PROTO_MAX + 1, 8);
	board_start(b, &t);
	CHECK_EQ_INT(dd_link_client_open(&c, t, "dartdup test", &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "board chose protocol version 5");
	CHECK(!c.t); /* open closed the transport: the board sees the end */
	CHECK_BOARD(b);
}

TEST(hello_refused_by_the_board_says_why)
{
	struct board *b = board_new();
	struct dd_link_transport *t;
	struct dd_link_client c;
	struct dd_err err;

	add_error(b, DD_MSG_HELLO, DD_LERR_VERSION, 9, "speaks 9 only");
	board_start(b, &t);
	CHECK_EQ_INT(dd_link_client_open(&c, t, "dartdup test", &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "board: speaks 9 only (bad-version)");
	CHECK_BOARD(b);
}

/* --- ERROR replies ------------------------------------------------------------------------------ */

/* An ERROR reply: its code in last_error, its message and the code's name in err, the right return. */
static void error_case(int code, int want_rc, const char *msg, const char *want)
{
	struct board *b = board_new();
	struct dd_link_transport *t;
	struct dd_link_client c;
	struct dd_link_msg req;
	struct dd_err err;

	add_hello(b, 3, 8);
	add_error(b, DD_MSG_START, code, 0, msg);
	add_info(b, ACT_REPLY, 0);
	board_start(b, &t);
	CHECK_EQ_INT(dd_link_client_open(&c, t, "t", &err), DD_OK);
	memset(&req, 0, sizeof(req));
	req.type = DD_MSG_START;
	CHECK_EQ_INT(dd_link_call(&c, &req, &err), want_rc);
	CHECK_EQ_INT(c.last_error, code);
	CHECK_STR_CONTAINS(err.msg, want);
	/* the link goes on after an error reply, and a good reply clears last_error */
	CHECK_EQ_INT(call_info(&c, &err), DD_OK);
	CHECK_EQ_INT(c.last_error, 0);
	CHECK(!strcmp(c.reply.u.info_r.serial, "SCRIPT-1"));
	dd_link_client_close(&c);
	CHECK_BOARD(b);
}

TEST(error_reply_refusal_is_input_error) { error_case(DD_LERR_NO_STICKS, DD_EINPUT, "port 1: empty", "board: port 1: empty (no-sticks)"); }
TEST(error_reply_board_io_is_io_error) { error_case(DD_LERR_IO, DD_EIO, "store: disk gone", "board: store: disk gone (io-error)"); }
TEST(error_reply_unknown_code_named_as_number) { error_case(99, DD_EINPUT, "new", "board: new (unknown(99))"); }

TEST(error_reply_message_is_carried_and_escapes_inert)
{
	static const char evil[] = "\x1b[2J\nforged: PASS\xc2\x9b" "31m\xe2\x80\xae";
	char shown[DD_ESC_CAP];
	struct board *b = board_new();
	struct dd_link_transport *t;
	struct dd_link_client c;
	struct dd_err err;

	add_hello(b, 3, 8);
	add_error(b, DD_MSG_INFO, DD_LERR_STATE, 0, evil);
	board_start(b, &t);
	CHECK_EQ_INT(dd_link_client_open(&c, t, "t", &err), DD_OK);
	CHECK_EQ_INT(call_info(&c, &err), DD_EINPUT);
	CHECK_EQ_INT(c.last_error, DD_LERR_STATE);
	CHECK_STR_CONTAINS(err.msg, evil); /* the board's words, unchanged, for the front end to escape */
	dd_escape(shown, sizeof(shown), err.msg);
	CHECK(!strchr(shown, '\x1b') && !strchr(shown, '\n') && !strstr(shown, "\xc2\x9b"));
	CHECK_STR_CONTAINS(shown, "board: \\x1b[2J\\x0aforged: PASS\\xc2\\x9b31m\\xe2\\x80\\xae (wrong-state)");
	dd_link_client_close(&c);
	CHECK_BOARD(b);
}

/* --- broken streams: one clear error each, and no hang ------------------------------------------ */

static void stream_case(struct board *b, const char *want, double max_s)
{
	struct dd_link_transport *t;
	struct dd_link_client c;
	struct dd_err err;
	double t0;

	board_start(b, &t);
	CHECK_EQ_INT(dd_link_client_open(&c, t, "t", &err), DD_OK);
	c.timeout_ms = SHORT_MS;
	t0 = now_s();
	CHECK_EQ_INT(call_info(&c, &err), DD_EIO);
	CHECK(now_s() - t0 < max_s);
	CHECK_STR_CONTAINS(err.msg, want);
	dd_link_client_close(&c);
	CHECK_BOARD(b);
}

TEST(garbage_bytes_are_a_frame_error)
{
	static uint8_t junk[100];
	struct board *b = board_new();

	check_fill_random(junk, sizeof(junk), 7);
	junk[0] = 'X';
	add_hello(b, 3, 8);
	add_raw_info(b, junk, sizeof(junk));
	/* not a timeout: the frame error comes at once */
	stream_case(b, "socket test: link: bad frame magic 58", 5);
}

TEST(bad_magic_is_a_frame_error)
{
	static uint8_t frame[DD_LINK_HDR_LEN + 8];
	struct board *b = board_new();

	memcpy(frame, "DDLX\x01\x02\x01\x00\x02\x00\x00\x00\x08\x00\x00\x00", DD_LINK_HDR_LEN);
	add_hello(b, 3, 8);
	add_raw_info(b, frame, sizeof(frame));
	stream_case(b, "link: bad frame magic 44444c58", 5);
}

TEST(length_over_the_limit_is_a_frame_error)
{
	static uint8_t hdr[DD_LINK_HDR_LEN];
	struct board *b = board_new();

	/* a well-formed header of an INFO reply, tag 2, claiming 1 MiB + 1 bytes */
	memcpy(hdr, "DDLK\x01\x02\x01\x00\x02\x00\x00\x00\x01\x00\x10\x00", DD_LINK_HDR_LEN);
	add_hello(b, 3, 8);
	add_raw_info(b, hdr, sizeof(hdr));
	stream_case(b, "frame length 1048577 over the limit 1048576", 5);
}

TEST(truncated_frame_times_out)
{
	struct board *b = board_new();

	add_hello(b, 3, 8);
	add_info(b, ACT_HALF, 30); /* the header and a little, then silence with the link open */
	stream_case(b, "no reply from the board within 200 ms", 5);
}

TEST(silent_board_times_out)
{
	struct board *b = board_new();

	add_hello(b, 3, 8);
	add_info(b, ACT_HALF, 0);
	stream_case(b, "socket test: no reply from the board within 200 ms", 5);
}

TEST(peer_closing_mid_frame_is_an_io_error)
{
	struct board *b = board_new();

	add_hello(b, 3, 8);
	add_info(b, ACT_CLOSE, 30);
	/* the close is seen at once: well before the client's 60 s */
	stream_case(b, "socket test: connection closed by the peer", 5);
}

/* the default timeout: a half frame and a close must not wait for it */
TEST(peer_closing_mid_frame_does_not_wait_for_the_timeout)
{
	struct board *b = board_new();
	struct dd_link_transport *t;
	struct dd_link_client c;
	struct dd_err err;
	double t0;

	add_hello(b, 3, 8);
	add_info(b, ACT_CLOSE, 20);
	board_start(b, &t);
	CHECK_EQ_INT(dd_link_client_open(&c, t, "t", &err), DD_OK);
	CHECK_EQ_INT(c.timeout_ms, 60000);
	t0 = now_s();
	CHECK_EQ_INT(call_info(&c, &err), DD_EIO);
	CHECK(now_s() - t0 < 30);
	CHECK_STR_CONTAINS(err.msg, "connection closed by the peer");
	dd_link_client_close(&c);
	CHECK_BOARD(b);
}

/* --- replies that do not answer the request ----------------------------------------------------- */

TEST(reply_with_wrong_tag_is_refused)
{
	struct board *b = board_new();

	add_hello(b, 3, 8);
	add_info(b, ACT_REPLY, 0);
	last_step(b)->tag_delta = 1;
	stream_case(b, "reply out of order (tag 3, expected 2)", 5);
}

TEST(reply_of_another_type_is_refused)
{
	struct board *b = board_new();

	add_hello(b, 3, 8);
	add_step(b, DD_MSG_INFO, ACT_REPLY);
	last_step(b)->reply.type = DD_MSG_STATUS; /* a STATUS reply's fields would be read as INFO's */
	stream_case(b, "a STATUS reply to INFO", 5);
}

TEST(request_from_the_board_is_not_a_reply)
{
	static uint8_t frame[DD_LINK_HDR_LEN];
	struct board *b = board_new();

	/* an empty INFO request, tag 2: the right type and tag, but not a reply */
	memcpy(frame, "DDLK\x01\x02\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00", DD_LINK_HDR_LEN);
	add_hello(b, 3, 8);
	add_raw_info(b, frame, sizeof(frame));
	stream_case(b, "reply out of order", 5);
}

/* --- LOG: paging and bounds --------------------------------------------------------------------- */

/* records "{"seq":N}" for seq first..first+count-1 into buf */
static uint32_t make_records(uint8_t *buf, uint32_t cap, uint64_t first, unsigned count)
{
	uint32_t len = 0;
	char rec[64];

	for (unsigned i = 0; i < count; i++) {
		int n = snprintf(rec, sizeof(rec), "{\"seq\":%llu}", (unsigned long long)(first + i));

		if (!dd_link_log_append(buf, cap, &len, rec, (size_t)n))
			abort();
	}
	return len;
}

static uint8_t page_buf[MAX_STEPS][16000];

static void add_log_page(struct board *b, uint64_t first, uint64_t next, unsigned count)
{
	struct dd_link_log_reply *r;

	add_step(b, DD_MSG_LOG, ACT_REPLY);
	r = &last_step(b)->reply.u.log_r;
	r->first = first;
	r->next = next;
	r->count = (uint16_t)count;
	r->records = page_buf[b->n_steps - 1];
	r->records_len = make_records(page_buf[b->n_steps - 1], sizeof(page_buf[0]), first, count);
}

struct taken {
	char text[64][16];
	unsigned n;
	unsigned stop_at; /* return DD_EABORT at this record (1-based), 0 never */
};

static int take(void *ctx, const char *text, uint16_t len, struct dd_err *err)
{
	struct taken *k = ctx;

	if (k->stop_at && k->n + 1 == k->stop_at)
		return dd_fail(err, DD_EABORT, "enough");
	if (k->n < 64)
		snprintf(k->text[k->n], sizeof(k->text[0]), "%.*s", (int)len, text);
	k->n++;
	return DD_OK;
}

/* Fetch from since; rc, *n and the records taken. */
static int fetch(struct board *b, uint64_t since, struct taken *k, uint64_t *n, struct dd_err *err)
{
	struct dd_link_transport *t;
	struct dd_link_client c;
	int rc;

	board_start(b, &t);
	if (dd_link_client_open(&c, t, "t", err))
		return -1;
	c.timeout_ms = SHORT_MS;
	rc = dd_link_fetch_log(&c, since, take, k, n, err);
	dd_link_client_close(&c);
	return rc;
}

/* Fetch from since, the callback stopping at stop_at (0 never): want_rc, an error holding want, and
 * want_n records handed on (and taken) before it. */
static void fetch_fails(struct board *b, uint64_t since, unsigned stop_at, int want_rc, const char *want,
			uint64_t want_n)
{
	struct taken k = { .stop_at = stop_at };
	struct dd_err err;
	uint64_t n = 99;

	CHECK_EQ_INT(fetch(b, since, &k, &n, &err), want_rc);
	CHECK_BOARD(b);
	CHECK_STR_CONTAINS(err.msg, want);
	CHECK_EQ_U64(n, want_n);
	CHECK_EQ_INT(k.n, want_n);
}

TEST(log_fetch_pages_until_an_empty_page)
{
	struct board *b = board_new();
	struct taken k = { 0 };
	struct dd_err err;
	uint64_t n = 99;

	add_hello(b, 3, 8);
	add_log_page(b, 5, 8, 3);   /* asked from 3; 3 and 4 were dropped */
	add_log_page(b, 8, 10, 2);
	add_log_page(b, 10, 10, 0);
	CHECK_EQ_INT(fetch(b, 3, &k, &n, &err), DD_OK);
	CHECK_BOARD(b);
	CHECK_EQ_U64(n, 5);
	CHECK_EQ_INT(k.n, 5);
	CHECK(!strcmp(k.text[0], "{\"seq\":5}") && !strcmp(k.text[4], "{\"seq\":9}"));
	CHECK_EQ_INT(b->n_got, 4);
	CHECK_EQ_U64(b->got[1].u.log.since, 3);
	CHECK_EQ_U64(b->got[2].u.log.since, 8);
	CHECK_EQ_U64(b->got[3].u.log.since, 10);
	CHECK_EQ_INT(b->got[1].u.log.max, DD_LINK_LOG_PAGE);
}

TEST(log_fetch_of_an_empty_log)
{
	struct board *b = board_new();
	struct taken k = { 0 };
	struct dd_err err;
	uint64_t n = 99;

	add_hello(b, 3, 8);
	add_log_page(b, 1, 1, 0);
	CHECK_EQ_INT(fetch(b, 1, &k, &n, &err), DD_OK);
	CHECK_BOARD(b);
	CHECK_EQ_U64(n, 0);
	CHECK_EQ_INT(k.n, 0);
}

/* the same page again: a board that ignores `since` would be asked forever */
TEST(log_fetch_same_page_again_is_an_error)
{
	struct board *b = board_new();

	add_hello(b, 3, 8);
	add_log_page(b, 1, 3, 2);
	add_log_page(b, 1, 3, 2);
	/* the first page was handed on, the repeat not */
	fetch_fails(b, 1, 0, DD_EIO, "socket test: LOG went backwards (records from seq 1, asked from 3)", 2);
	CHECK_EQ_INT(b->n_got, 3);
}

/* A LOG reply frame as a broken board would send it (our encoder refuses it): tag, first, next, count
 * records "{}". */
static size_t raw_log_reply(uint8_t *out, uint32_t tag, uint64_t first, uint64_t next, uint16_t count)
{
	uint32_t len = 18 + 4u * count;
	uint8_t pad = (DD_LINK_HDR_LEN + len) % DD_LINK_PAD_UNIT ? 0 : 1;
	uint8_t *p = out;

	memcpy(p, "DDLK", 4);
	p[4] = DD_LINK_FRAME_VERSION, p[5] = DD_MSG_LOG, p[6] = DD_LINK_F_REPLY, p[7] = pad;
	for (int i = 0; i < 4; i++)
		p[8 + i] = (uint8_t)(tag >> 8 * i), p[12 + i] = (uint8_t)(len >> 8 * i);
	p += DD_LINK_HDR_LEN;
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(first >> 8 * i), p[8 + i] = (uint8_t)(next >> 8 * i);
	p[16] = (uint8_t)count, p[17] = (uint8_t)(count >> 8);
	p += 18;
	for (unsigned i = 0; i < count; i++, p += 4)
		memcpy(p, "\x02\x00{}", 4);
	memset(p, 0, pad);
	return DD_LINK_HDR_LEN + len + pad;
}

/* The LOG reply (the request's tag is 2, after HELLO) is refused as a whole: no record of it handed on. */
static void bad_page_case(uint64_t since, uint64_t first, uint64_t next, uint16_t count)
{
	static uint8_t frame[256];
	struct board *b = board_new();

	add_hello(b, 3, 8);
	add_step(b, DD_MSG_LOG, ACT_RAW);
	last_step(b)->raw = frame;
	last_step(b)->raw_len = raw_log_reply(frame, 2, first, next, count);
	fetch_fails(b, since, 0, DD_EIO, "socket test: bad reply: link: LOG reply: a field is out of range", 0);
}

/* records, but next stays where it was asked: the same page would be asked for again and again */
TEST(log_fetch_next_not_moving_is_an_error) { bad_page_case(4, 4, 4, 2); }
/* next below the page's first record */
TEST(log_fetch_next_going_backwards_is_an_error) { bad_page_case(10, 12, 5, 1); }
/* next past the page's first record but not past all of them: the next page would repeat some */
TEST(log_fetch_next_inside_the_page_is_an_error) { bad_page_case(1, 1, 2, 3); }

TEST(log_fetch_more_records_than_asked_is_an_error)
{
	struct board *b = board_new();

	add_hello(b, 3, 8);
	add_log_page(b, 1, DD_LINK_LOG_PAGE + 2, DD_LINK_LOG_PAGE + 1);
	fetch_fails(b, 1, 0, DD_EIO, "LOG sent 1001 records, 1000 asked", 0);
}

TEST(log_fetch_stops_where_the_callback_says)
{
	struct board *b = board_new();

	add_hello(b, 3, 8);
	add_log_page(b, 1, 3, 2);
	add_log_page(b, 3, 5, 2);
	fetch_fails(b, 1, 3, DD_EABORT, "enough", 2);
}

TEST(log_fetch_board_error_is_passed_on)
{
	struct board *b = board_new();

	add_hello(b, 3, 8);
	add_log_page(b, 1, 3, 2);
	add_error(b, DD_MSG_LOG, DD_LERR_IO, 0, "audit.log: read error");
	fetch_fails(b, 1, 0, DD_EIO, "board: audit.log: read error (io-error)", 2);
}

TEST(log_fetch_silent_board_times_out)
{
	struct board *b = board_new();

	add_hello(b, 3, 8);
	add_log_page(b, 1, 3, 2);
	add_log_page(b, 3, 5, 2);
	last_step(b)->act = ACT_HALF;
	last_step(b)->raw_len = 40; /* the header and some of the records, then silence */
	fetch_fails(b, 1, 0, DD_EIO, "no reply from the board within 200 ms", 2);
}

/* --- load: the window, a resume, a resync ------------------------------------------------------- */

struct queued {
	uint8_t frame[128];
	size_t len;
};

static void board_reply_load(struct board *b, const struct dd_link_msg *req, struct dd_link_msg *rep)
{
	rep->type = req->type;
	rep->flags |= DD_LINK_F_REPLY;
	rep->tag = req->tag;
	board_send(b, b->tx, encode(b, rep));
}

/* One LOAD_DATA: its reply (an ack, or bad-offset with the offset the board wants) into q. */
static void take_data(struct board *b, const struct dd_link_msg *req, uint64_t *expected, struct queued *q)
{
	const struct dd_link_load_data *d = &req->u.load_data;
	struct dd_link_msg rep;

	memset(&rep, 0, sizeof(rep));
	rep.type = req->type;
	rep.flags = DD_LINK_F_REPLY;
	rep.tag = req->tag;
	b->data_frames++;
	if (d->offset != *expected || (d->offset == b->bad_at && !b->bad_sent) ||
	    d->offset + d->len > b->pkg_size) {
		/* a chunk at bad_at is "lost" once: the board asks for it again */
		b->bad_sent |= d->offset == b->bad_at;
		rep.flags |= DD_LINK_F_ERROR;
		rep.u.error.code = DD_LERR_OFFSET;
		rep.u.error.value = *expected;
		strcpy(rep.u.error.msg, "offset");
	} else {
		memcpy(b->pkg + d->offset, d->data, d->len);
		*expected += d->len;
		rep.u.load_data_r.offset = *expected;
	}
	if (dd_link_encode(&rep, q->frame, sizeof(q->frame), &q->len, NULL))
		board_fail(b, "an ack does not encode");
}

/* A whole frame already here. With the window full and no reply sent, a client that keeps to the window
 * has sent nothing more: a frame here is one past the window (it may also arrive later: not seen then). */
static bool frame_waiting(struct board *b)
{
	struct dd_link_header h;
	const uint8_t *payload;
	size_t got;
	int code;

	if (dd_link_rx_next(&b->rx, &h, &payload, &code, NULL) == 1)
		return true;
	return !dd_link_rx_fill(&b->rx, b->t, 0, &got, NULL) && dd_link_rx_next(&b->rx, &h, &payload, &code, NULL) == 1;
}

/* LOAD_DATA until the package is whole: replies held back until the window is full (or the client has
 * sent up to the end, or a reply is an error), so a client that does not fill the window stalls. */
static void board_load_data(struct board *b)
{
	struct queued q[16];
	unsigned nq = 0;
	uint64_t expected = b->resume, last_end;
	struct dd_link_msg req;

	while (expected < b->pkg_size) {
		if (!board_recv(b, &req) || req.type != DD_MSG_LOAD_DATA) {
			board_fail(b, "no LOAD_DATA where one was due");
			return;
		}
		last_end = req.u.load_data.offset + req.u.load_data.len;
		take_data(b, &req, &expected, &q[nq++]);
		if (nq > b->window || nq == 16) {
			board_fail(b, "more LOAD_DATA in flight than the window");
			return;
		}
		if (nq > b->max_inflight)
			b->max_inflight = nq;
		if (nq == b->window && frame_waiting(b)) {
			board_fail(b, "more LOAD_DATA in flight than the window");
			return;
		}
		if (nq < b->window && last_end < b->pkg_size && !(q[nq - 1].frame[6] & DD_LINK_F_ERROR))
			continue;
		for (unsigned i = 0; i < nq; i++)
			board_send(b, q[i].frame, q[i].len);
		nq = 0;
	}
}

static void run_load(struct board *b)
{
	struct dd_link_msg req, rep;

	if (!board_recv(b, &req) || req.type != DD_MSG_HELLO)
		return board_fail(b, "no HELLO");
	memset(&rep, 0, sizeof(rep));
	rep.u.hello_r.version = 3;
	rep.u.hello_r.max_payload = DD_LINK_MAX_PAYLOAD;
	rep.u.hello_r.window = (uint16_t)b->window;
	board_reply_load(b, &req, &rep);
	for (;;) {
		if (!board_recv(b, &req) || req.type != DD_MSG_LOAD_BEGIN || req.u.load_begin.size != b->pkg_size)
			return board_fail(b, "no LOAD_BEGIN of the package's size");
		if (b->load_begins++ || !b->refuse_first)
			break;
		memset(&rep, 0, sizeof(rep));
		rep.flags = DD_LINK_F_ERROR;
		rep.u.error.code = DD_LERR_FIELD;
		snprintf(rep.u.error.msg, sizeof(rep.u.error.msg), "%s", b->refuse_first);
		board_reply_load(b, &req, &rep);
	}
	b->begin = req;
	memset(&rep, 0, sizeof(rep));
	rep.u.load_begin_r.xfer = 5;
	rep.u.load_begin_r.offset = b->resume;
	rep.u.load_begin_r.chunk = b->chunk;
	board_reply_load(b, &req, &rep);
	board_load_data(b);
	if (b->fail[0])
		return;
	if (!board_recv(b, &req) || req.type != DD_MSG_LOAD_END || req.u.xfer.xfer != 5)
		return board_fail(b, "no LOAD_END of transfer 5");
	b->end = req;
	memset(&rep, 0, sizeof(rep));
	rep.u.load_end_r.kind = DD_KIND_IMAGE;
	rep.u.load_end_r.size = b->pkg_size;
	strcpy(rep.u.load_end_r.name, "scripted");
	board_reply_load(b, &req, &rep);
	board_wait_close(b);
}

/* A board (run_load) for a package of size bytes, with this window and chunk, holding none of it yet. */
static struct board *load_board(size_t size, unsigned window, uint32_t chunk)
{
	struct board *b = board_new();

	b->run = run_load;
	b->window = window;
	b->chunk = chunk;
	b->bad_at = UINT64_MAX;
	b->pkg_size = size;
	if (!(b->pkg = calloc(1, size)))
		abort();
	return b;
}

/* Start b and load the file at path into it: the client's status. */
static int client_load(struct board *b, const char *path, struct dd_link_load_result *res, struct dd_err *err)
{
	struct dd_link_load_opts lo = { .kind = DD_KIND_IMAGE };
	struct dd_link_transport *t;
	struct dd_link_client c;
	int rc;

	board_start(b, &t);
	rc = dd_link_client_open(&c, t, "t", err);
	c.timeout_ms = 5000; /* a client that does not fill the window stalls the board: fail, not hang */
	if (!rc)
		rc = dd_link_client_load(&c, path, &lo, res, err);
	dd_link_client_close(&c);
	return rc;
}

/* Load a package of size bytes into a board with this window and chunk, resuming at resume, with the
 * chunk at bad_at lost once (UINT64_MAX: none); the client sends from min_frames to max_frames LOAD_DATA.
 * The board's copy must be the file, and the window full. */
static void load_case(size_t size, unsigned window, uint32_t chunk, uint64_t resume, uint64_t bad_at,
		      unsigned min_frames, unsigned max_frames)
{
	struct dd_link_load_result res;
	struct board *b = load_board(size, window, chunk);
	struct dd_err err;
	char path[PATH_CAP];
	uint8_t *pkg = make_pkg(size, 100 + window, path);
	int rc;

	b->resume = resume;
	b->bad_at = bad_at;
	memcpy(b->pkg, pkg, resume); /* what the board held already */
	rc = client_load(b, path, &res, &err);
	CHECK_BOARD(b);
	CHECK_EQ_INT(rc, DD_OK);
	CHECK_MEM_EQ(b->pkg, pkg, size);
	CHECK_EQ_INT(b->max_inflight, window);
	CHECK_EQ_U64(res.size, size);
	CHECK_EQ_U64(res.resumed_from, resume);
	CHECK_EQ_U64(res.sent, size - resume);
	CHECK_EQ_U64(res.end.size, size);
	CHECK(b->data_frames >= min_frames && b->data_frames <= max_frames);
	CHECK_EQ_INT(b->bad_sent, bad_at != UINT64_MAX);
	free(pkg);
}

/* 1000 bytes in 100-byte chunks: 10 LOAD_DATA, 3 in flight at a time */
TEST(load_fills_the_window) { load_case(1000, 3, 100, 0, UINT64_MAX, 10, 10); }
TEST(load_with_window_one_is_stop_and_wait) { load_case(1000, 1, 100, 0, UINT64_MAX, 10, 10); }
/* resumed at 300: 7 chunks; the chunk at 500 lost once: it is sent again, and the ones in flight behind it
 * (at most the window's) */
TEST(load_resumes_and_resyncs_after_bad_offset) { load_case(1000, 3, 100, 300, 500, 8, 7 + 3); }
/* a last chunk shorter than the others */
TEST(load_odd_size) { load_case(1050, 4, 100, 0, UINT64_MAX, 11, 11); }

/* --- load: a version 3 board from before HASH_AT_END -------------------------------------------- */

/* Its decoder refused the flag (bad-field, value 0, these words): the client sends LOAD_BEGIN again in the
 * first form, named by the package's SHA-256, and loads; LOAD_END then carries no SHA-256. */
TEST(load_falls_back_when_an_old_board_refuses_hash_at_end)
{
	struct dd_link_load_result res;
	struct board *b = load_board(1000, 3, 100);
	struct dd_sha256 h;
	struct dd_err err;
	char path[PATH_CAP];
	uint8_t *pkg = make_pkg(1000, 300, path), sha[DD_SHA256_LEN];
	int rc;

	b->refuse_first = "link: LOAD_BEGIN: a field is out of range";
	rc = client_load(b, path, &res, &err);
	CHECK_BOARD(b);
	CHECK_EQ_INT(rc, DD_OK);
	CHECK_EQ_INT(b->load_begins, 2);
	CHECK_EQ_INT(b->got[1].u.load_begin.flags, DD_LOAD_HASH_AT_END); /* the first asked for it */
	CHECK_EQ_INT(b->begin.u.load_begin.flags, 0);
	dd_sha256_init(&h);
	dd_sha256_update(&h, pkg, 1000);
	dd_sha256_final(&h, sha);
	CHECK_MEM_EQ(b->begin.u.load_begin.sha256, sha, DD_SHA256_LEN);
	CHECK(!b->end.u.xfer.has_sha);
	CHECK_MEM_EQ(b->pkg, pkg, 1000);
	CHECK_EQ_U64(res.end.size, 1000);
	free(pkg);
}

/* Any other bad-field to LOAD_BEGIN is the board's answer: reported once, LOAD_BEGIN not sent again (the
 * script ends after it: another request fails the board). */
static void other_bad_field_case(uint64_t value, const char *msg)
{
	struct dd_err err;
	char path[PATH_CAP];
	uint8_t *pkg = make_pkg(1000, 301, path);

	free(pkg);
	load_refused(3, 0, path, DD_LERR_FIELD, value, msg, DD_EINPUT, &err); /* HELLO, one LOAD_BEGIN */
	CHECK_STR_CONTAINS(err.msg, "(bad-field)");
}

TEST(load_other_bad_field_is_reported_not_retried)
{
	other_bad_field_case(0, "LOAD_BEGIN: size over the store's limit");
}
/* the old board's words with a value: not what an old board answers */
TEST(load_bad_field_with_a_value_is_not_retried)
{
	other_bad_field_case(7, "link: LOAD_BEGIN: a field is out of range");
}

int main(void)
{
	RUN(hello_version_2_board_gets_no_load_flags);
	RUN(hello_version_3_board_gets_load_flags);
	RUN(resume_key_of_a_known_file);
	RUN(resume_key_of_a_file_under_4_kib);
	RUN(hello_version_outside_the_range_is_refused);
	RUN(hello_refused_by_the_board_says_why);
	RUN(error_reply_refusal_is_input_error);
	RUN(error_reply_board_io_is_io_error);
	RUN(error_reply_unknown_code_named_as_number);
	RUN(error_reply_message_is_carried_and_escapes_inert);
	RUN(garbage_bytes_are_a_frame_error);
	RUN(bad_magic_is_a_frame_error);
	RUN(length_over_the_limit_is_a_frame_error);
	RUN(truncated_frame_times_out);
	RUN(silent_board_times_out);
	RUN(peer_closing_mid_frame_is_an_io_error);
	RUN(peer_closing_mid_frame_does_not_wait_for_the_timeout);
	RUN(reply_with_wrong_tag_is_refused);
	RUN(reply_of_another_type_is_refused);
	RUN(request_from_the_board_is_not_a_reply);
	RUN(log_fetch_pages_until_an_empty_page);
	RUN(log_fetch_of_an_empty_log);
	RUN(log_fetch_same_page_again_is_an_error);
	RUN(log_fetch_next_not_moving_is_an_error);
	RUN(log_fetch_next_going_backwards_is_an_error);
	RUN(log_fetch_next_inside_the_page_is_an_error);
	RUN(log_fetch_more_records_than_asked_is_an_error);
	RUN(log_fetch_stops_where_the_callback_says);
	RUN(log_fetch_board_error_is_passed_on);
	RUN(log_fetch_silent_board_times_out);
	RUN(load_fills_the_window);
	RUN(load_with_window_one_is_stop_and_wait);
	RUN(load_resumes_and_resyncs_after_bad_offset);
	RUN(load_odd_size);
	RUN(load_falls_back_when_an_old_board_refuses_hash_at_end);
	RUN(load_other_bad_field_is_reported_not_retried);
	RUN(load_bad_field_with_a_value_is_not_retried);
	boards_free();
	return check_done();
}
