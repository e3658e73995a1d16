/* dartdup board: drive a duplicator board over USB (--serial) or a simulated one (--sim).
 * A thin front end: the protocol is common/link/, the USB transport host/board_usb.c. */
#include "host/board_all.h"
#include "host/board_link.h"
#include "host/cli.h"
#include "crypto/sign.h"
#include "link/client.h"
#include "link/wire.h"
#include "util/escape.h"
#include "util/number.h"
#include "util/json.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "util/schema.h"

#define POLL_MS 250 /* status polling while waiting or watching */

struct board_opts {
	const char *serial, *sim;
	bool json, wait, watch, allow_downgrade;
	unsigned timeout;
	uint64_t since, max_bytes;
	uint32_t job;
	const char *batch, *operator_;
	struct dd_policy ask;      /* start --probe/--sanitize: checks this job runs (all zero: none) */
	const char *cmd, *arg;
	/* --all (host/board_all.c), --metrics, --log-to (docs/FLEET.md) */
	bool all;
	const char *since_file, *output, *metrics;
	enum fleet_log_to log_to;
};

static void board_usage(FILE *out)
{
	fprintf(out,
		"usage: dartdup board [--serial SERIAL | --sim SOCKET] COMMAND [OPTIONS]\n"
		"\n"
		"commands:\n"
		"  list                 boards plugged in over USB (serial, USB port)\n"
		"  info                 board, firmware, ports, stored image and its version, trusted key ids,\n"
		"                       clock, audit log state and the board's audit public key (PEM)\n"
		"  load IMAGE.dfi [--allow-downgrade]  send a signed image; the board verifies it all before\n"
		"                       using it; an interrupted load resumes where it stopped when run again;\n"
		"                       an older version of the stored image's name is refused unless forced\n"
		"  start [--wait] [--batch ID] [--operator NAME] [--probe] [--sanitize]  press the button:\n"
		"                       write and verify every port holding a stick; --wait: until done, exit\n"
		"                       0 only if every port passed; --batch/--operator: put into every audit\n"
		"                       record of this job and of the button's jobs after it (docs/AUDIT.md);\n"
		"                       --probe/--sanitize: this job also probes / sanitizes each stick, on\n"
		"                       top of the board's description file (docs/BOARD.md)\n"
		"  abort                stop the running job\n"
		"  status [--watch [--job N]]  the image's version; per port: state, progress, speed, serial;\n"
		"                       --watch: until the job ends (--job N: until job N, e.g. one the\n"
		"                       button starts, has ended)\n"
		"  log [--since N]      the board's audit records (same fields as dartdup write --log)\n"
		"  selftest             the board checks its gadget port, power, USB ports, sticks' speeds and\n"
		"                       store (docs/ACCEPTANCE.md); exit 1 when a check failed\n"
		"  update BUNDLE.dfi [--wait [--timeout S]]  send a signed firmware bundle (docs/PROTOCOL.md);\n"
		"                       --wait: until the board serves again, exit 0 only if it runs the\n"
		"                       bundle's version (1: refused or rolled back, or not back within S\n"
		"                       seconds, default 120); a version older than the running firmware is\n"
		"                       refused unless --allow-downgrade\n"
		"  revoke LIST          send a signed revocation list (dartdup revoke); the board refuses the\n"
		"                       keys and images it names from then on; without LIST: show the board's\n"
		"                       list (its serial and what it revokes)\n"
		"\n"
		"  --allow-downgrade    load/update: take an older version than the board's (docs/SECURITY.md)\n"
		"  --serial SERIAL      the USB board with this serial (default: the only one plugged in)\n"
		"  --sim SOCKET         the simulated board listening on SOCKET (dartdupd --board sim)\n"
		"  --json               JSON output for scripts (one object per line)\n"
		"  --all                load, start, status, log: every board at once (USB, and the sockets in\n"
		"                       $DARTDUP_BOARD_SOCKETS, colon-separated), one line per board\n"
		"  log --all -o FILE [--since-file STATE]  append every board's new records to FILE, none\n"
		"                       twice (board serial + seq; STATE keeps the last seq per board)\n"
		"  --metrics FILE       with --all: keep a node_exporter textfile up to date (docs/FLEET.md)\n"
		"  --log-to syslog|journal  with log --all: the new records to the system log as well\n"
		"\n"
		"Every command first sets the board's clock from this PC's (docs/PROTOCOL.md \"TIME\").\n"
		"\n"
		"exit status: 0 ok, 1 a port failed / link failed / interrupted, 2 bad usage or refused\n");
}

/* The value of option c (a number up to max) in *out; a bad one is named on stderr: -1. */
static int number(const struct option *opts, int c, uint64_t max, uint64_t *out)
{
	const char *name = "?";

	for (; opts->name; opts++)
		if (opts->val == c)
			name = opts->name;
	if (!dd_parse_u64(optarg, max, out))
		return 0;
	cli_error("board: --%s: '%s' is not a number from 0 to %" PRIu64, name, optarg, max);
	return -1;
}

static int parse(int argc, char **argv, struct board_opts *o)
{
	static const struct option opts[] = {
		{ "serial", required_argument, NULL, 's' }, { "sim", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },         { "wait", no_argument, NULL, 'w' },
		{ "watch", no_argument, NULL, 'W' },        { "since", required_argument, NULL, 'n' },
		{ "job", required_argument, NULL, 'J' },   { "timeout", required_argument, NULL, 't' },
		{ "max-bytes", required_argument, NULL, 'm' }, /* testing aid: a cable pulled mid-load */
		{ "batch", required_argument, NULL, 'b' },  { "operator", required_argument, NULL, 'R' },
		{ "probe", no_argument, NULL, 'P' },        { "sanitize", no_argument, NULL, 'Z' },
		{ "allow-downgrade", no_argument, NULL, 'D' },
		{ "all", no_argument, NULL, 'A' },          { "since-file", required_argument, NULL, 'F' },
		{ "output", required_argument, NULL, 'O' }, { "metrics", required_argument, NULL, 'M' },
		{ "log-to", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
	};
	struct dd_err perr;
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	o->timeout = 120;
	optind = 1;
	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (c) {
		case 's': o->serial = optarg; break;
		case 'S': o->sim = optarg; break;
		case 'j': o->json = true; break;
		case 'w': o->wait = true; break;
		case 'W': o->watch = true; break;
		case 'n': if (number(opts, c, UINT64_MAX, &o->since)) return -1; break;
		case 'J': if (number(opts, c, UINT32_MAX, &v)) return -1; o->job = (uint32_t)v; break;
		case 't': if (number(opts, c, 86400, &v)) return -1; o->timeout = (unsigned)v; break;
		case 'm': if (number(opts, c, UINT64_MAX, &o->max_bytes)) return -1; break;
		case 'b': o->batch = optarg; break;
		case 'R': o->operator_ = optarg; break;
		case 'P': /* the policy's own words (engine/policy.h), as write and station take them */
		case 'Z':
			if (dd_policy_set(&o->ask, c == 'P' ? "probe" : "sanitize", NULL, &perr)) {
				cli_error("board: --%s", perr.msg);
				return -1;
			}
			break;
		case 'D': o->allow_downgrade = true; break;
		case 'h': board_usage(stdout); exit(0);
		case 'A': o->all = true; break;
		case 'F': o->since_file = optarg; break;
		case 'O': case 'o': o->output = optarg; break;
		case 'M': o->metrics = optarg; break;
		case 'L': if (fleet_parse_log_to(optarg, &o->log_to)) return -1; break;
		default: return -1;
		}
	}
	if (optind >= argc)
		return -1;
	o->cmd = argv[optind++];
	if (optind < argc)
		o->arg = argv[optind++];
	if (optind < argc || (o->serial && o->sim))
		return -1;
	if ((o->batch && strlen(o->batch) > DD_LINK_STR_MAX) || (o->operator_ && strlen(o->operator_) > DD_LINK_STR_MAX)) {
		cli_error("board: --batch and --operator: at most %d bytes each", DD_LINK_STR_MAX);
		return -1;
	}
	return 0;
}

/* The board's clock from this PC's, at every connection (docs/PROTOCOL.md "TIME"): a board has no clock
 * of its own that survives a power cut. A board older than TIME (version 1) is left alone. */
static int set_board_clock(struct dd_link_client *c, struct dd_err *err)
{
	struct dd_link_msg req;

	if (c->hello.version < 2)
		return DD_OK;
	memset(&req, 0, sizeof(req));
	req.type = DD_MSG_TIME;
	req.u.time.time = (uint64_t)time(NULL);
	if (dd_link_call(c, &req, err))
		return err->code;
	if (!c->reply.u.time_r.applied)
		fprintf(stderr, "dartdup: warning: the board did not take this PC's clock (%" PRIu64 "): it is not a "
			"plausible time; check this PC's clock\n", req.u.time.time);
	return DD_OK;
}

/* The highest protocol version this PC offers: DD_LINK_PROTO_MAX, or lower from LINK_MAX_VERSION_ENV (how
 * tests talk as an older PC would; docs/PROTOCOL.md "Versions"). */
static int max_version(uint16_t *out, struct dd_err *err)
{
	const char *env = getenv(LINK_MAX_VERSION_ENV);
	uint64_t v;

	*out = DD_LINK_PROTO_MAX;
	if (!env || !env[0])
		return DD_OK;
	if (dd_parse_u64(env, DD_LINK_PROTO_MAX, &v) || v < DD_LINK_PROTO_MIN)
		return dd_fail(err, DD_EUSAGE, "%s: '%s' is not a link protocol version (%d..%d)", LINK_MAX_VERSION_ENV,
			       DD_ESC(env), DD_LINK_PROTO_MIN, DD_LINK_PROTO_MAX);
	*out = (uint16_t)v;
	return DD_OK;
}

static int connect_board(const struct board_opts *o, struct dd_link_client *c, struct dd_err *err)
{
	struct dd_link_transport *t;
	uint16_t maxv;
	int rc = max_version(&maxv, err);

	if (rc)
		return rc;
	rc = o->sim ? dd_link_unix_connect(o->sim, &t, err) : dd_board_usb_open(o->serial, &t, err);
	if (rc)
		return rc;
	if ((rc = dd_link_client_open_max(c, t, "dartdup " DARTDUP_VERSION, maxv, err)))
		return rc;
	if ((rc = set_board_clock(c, err)))
		dd_link_client_close(c);
	return rc;
}

int board_open(const char *serial, const char *sim, struct dd_link_client *c, struct dd_err *err)
{
	struct board_opts o = { .serial = serial, .sim = sim };

	return connect_board(&o, c, err);
}

static struct dd_link_msg *request(struct dd_link_client *c, int type, struct dd_err *err)
{
	struct dd_link_msg req;

	memset(&req, 0, sizeof(req));
	req.type = (uint8_t)type;
	return dd_link_call(c, &req, err) ? NULL : &c->reply;
}

void board_port_names(struct dd_link_client *c, struct dd_link_ports_reply *out)
{
	struct dd_err e = { 0 };
	struct dd_link_msg *m;

	memset(out, 0, sizeof(*out));
	if (c->hello.version < 3)
		return; /* a version 1-2 board has no PORTS: never asked */
	c->last_error = 0;
	m = request(c, DD_MSG_PORTS, &e);
	if (m) {
		*out = m->u.ports_r;
		return;
	}
	if (c->last_error != DD_LERR_TYPE) /* unknown-type: a version 3 board older than PORTS */
		fprintf(stderr, "dartdup: warning: %s; the ports are shown by number\n", e.msg);
}

void board_image(struct dd_link_client *c, struct board_image *out)
{
	struct dd_err e = { 0 };
	struct dd_link_msg *m;

	memset(out, 0, sizeof(*out));
	c->last_error = 0;
	m = request(c, DD_MSG_INFO, &e);
	if (!m) {
		if (c->last_error != DD_LERR_TYPE)
			fprintf(stderr, "dartdup: warning: %s; the image's version is not shown\n", e.msg);
		return;
	}
	out->known = m->u.info_r.has_image_version;
	out->has_image = m->u.info_r.has_image;
	snprintf(out->version, sizeof(out->version), "%s", m->u.info_r.image_version);
}

const char *board_image_text(const struct board_image *b, char *buf, size_t len)
{
	if (!b->known)
		snprintf(buf, len, "%s", "");
	else if (!b->has_image)
		snprintf(buf, len, "no image");
	else if (!b->version[0])
		snprintf(buf, len, "image without a version");
	else
		snprintf(buf, len, "image %s", b->version);
	return buf;
}

const char *board_port_label(const struct dd_link_ports_reply *names, unsigned i)
{
	return names && i < names->n_ports ? names->name[i] : "";
}

/* Widest label, for the column (0: the board named no port, the table is as before names). */
static int label_width(const struct dd_link_ports_reply *names)
{
	int w = 0;

	for (unsigned i = 0; names && i < names->n_ports; i++)
		if ((int)strlen(names->name[i]) > w)
			w = (int)strlen(names->name[i]);
	return w ? (w > 5 ? w : 5) : 0; /* at least "label" */
}

static void hex16(char out[17], const uint8_t *id)
{
	dd_hex(out, id, 8);
}

/* --- info --------------------------------------------------------------------------------- */

static void json_field(const char *obj, size_t len, const char *key, char *out, size_t out_len);

/* A board that trusts no key is not ready: its self-test's config check says why ("" when it does not). */
static void not_ready_reason(struct dd_link_client *c, char *why, size_t len)
{
	struct dd_link_msg *m;
	struct dd_err e = { 0 };
	char check[32], result[16];
	uint32_t pos = 0;
	const char *text;
	uint16_t tl;

	snprintf(why, len, "not ready: it trusts no depot key");
	m = request(c, DD_MSG_SELFTEST, &e);
	while (m && dd_link_log_next(&m->u.log_r, &pos, &text, &tl)) {
		json_field(text, tl, "check", check, sizeof(check));
		json_field(text, tl, "result", result, sizeof(result));
		if (!strcmp(check, "config") && !strcmp(result, "fail")) {
			json_field(text, tl, "detail", why, len);
			return;
		}
	}
}

/* The board's audit key id (the SHA-256 of its DER encoding, as for depot keys), from its PEM. */
static bool pem_key_id(const char *pem, uint8_t id[DD_SHA256_LEN])
{
	return !dd_pubkey_id_pem(pem, id, NULL);
}

/* A PEM block is base64, '=', '-', ' ' and newlines: anything else is not shown raw. */
static bool pem_printable(const char *pem)
{
	return pem[0] && strspn(pem, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=- \n") ==
				 strlen(pem);
}

static void audit_json(struct dd_json *j, const struct dd_link_audit_reply *a)
{
	struct dd_link_name n1, n2;
	uint8_t id[DD_SHA256_LEN];
	char when[32];
	time_t t = (time_t)a->time;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	dd_json_str(j, "clock", a->source == DD_TIME_UNSET ? NULL : when);
	dd_json_str(j, "time_source", dd_time_source_name(a->source, &n1));
	dd_json_begin_obj(j, "audit");
	dd_json_str(j, "state", dd_log_state_name(a->log_state, &n2));
	dd_json_u64(j, "records", a->next_seq - a->first_seq);
	dd_json_u64(j, "first_seq", a->first_seq);
	dd_json_u64(j, "next_seq", a->next_seq);
	dd_json_u64(j, "read_up_to", a->exported);
	dd_json_u64(j, "bytes", a->log_bytes);
	dd_json_u64(j, "room", a->log_room);
	dd_json_hex(j, "head", a->head, DD_SHA256_LEN);
	if (pem_key_id(a->key_pem, id))
		dd_json_hex(j, "key_id", id, DD_SHA256_LEN);
	else
		dd_json_null(j, "key_id");
	dd_json_str(j, "key_pem", a->key_pem);
	dd_json_end_obj(j);
}

static void audit_text(const struct dd_link_audit_reply *a)
{
	struct dd_link_name n1, n2;
	uint8_t id[DD_SHA256_LEN];
	char when[32], h[17];
	time_t t = (time_t)a->time;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (a->source == DD_TIME_UNSET)
		printf("clock     unset (no PC, RTC or master stick has set it: records carry no time)\n");
	else
		printf("clock     %s (set by %s)\n", when, dd_time_source_name(a->source, &n1));
	printf("audit     %s: %" PRIu64 " record(s) (seq %" PRIu64 "..%" PRIu64 "), %" PRIu64 " MiB free for more, "
	       "read by a PC up to %" PRIu64 "\n", dd_log_state_name(a->log_state, &n2), a->next_seq - a->first_seq,
	       a->first_seq, a->next_seq - 1, a->log_room >> 20, a->exported);
	if (a->log_state == DD_LOG_WARNING)
		printf("warning   the board's store is nearly full: read the log (dartdup board log --json)\n");
	else if (a->log_state == DD_LOG_FULL)
		printf("warning   the audit log is full: jobs are refused until it is read (dartdup board log --json)\n");
	if (!pem_key_id(a->key_pem, id) || !pem_printable(a->key_pem)) {
		printf("board key unreadable\n");
		return;
	}
	hex16(h, id);
	printf("board key %s (audit records are signed with it; save the PEM below as the board's .pub):\n%s", h,
	       a->key_pem);
	if (a->key_pem[strlen(a->key_pem) - 1] != '\n')
		putchar('\n');
}

/* The AUDIT reply of a board that has one (version 2): *have says whether it does. */
static int audit_state(struct dd_link_client *c, struct dd_link_audit_reply *out, bool *have, struct dd_err *err)
{
	struct dd_link_msg *m;

	*have = false;
	if (c->hello.version < 2)
		return DD_OK;
	m = request(c, DD_MSG_AUDIT, err);
	if (!m)
		return err->code;
	*out = m->u.audit_r;
	*have = true;
	return DD_OK;
}

/* --- revoke ------------------------------------------------------------------------------ */

/* The board's revocation list state (REVOKE, version 3), after sending list[len] when len > 0.
 * *have is false for an older board (it has no revocation). */
static int revoke_call(struct dd_link_client *c, const uint8_t *list, uint32_t len, struct dd_link_revoke_reply *out,
		       bool *have, struct dd_err *err)
{
	struct dd_link_msg req;

	*have = false;
	if (c->hello.version < 3) {
		if (!len)
			return DD_OK;
		return dd_fail(err, DD_EINPUT, "board: its firmware (link protocol %u) takes no revocation list; "
			       "update it first", c->hello.version);
	}
	memset(&req, 0, sizeof(req));
	req.type = DD_MSG_REVOKE;
	req.u.revoke.data = list;
	req.u.revoke.len = len;
	if (dd_link_call(c, &req, err))
		return err->code;
	*out = c->reply.u.revoke_r;
	*have = true;
	return DD_OK;
}

static void revoke_json(struct dd_json *j, const char *key, const struct dd_link_revoke_reply *r)
{
	if (!r->serial) {
		dd_json_null(j, key);
		return;
	}
	dd_json_begin_obj(j, key);
	dd_json_u64(j, "serial", r->serial);
	dd_json_u64(j, "keys", r->n_keys);
	dd_json_u64(j, "images", r->n_images);
	dd_json_hex(j, "id", r->id, DD_SHA256_LEN);
	dd_json_end_obj(j);
}

static void revoke_text(const struct dd_link_revoke_reply *r)
{
	char h[17];

	if (!r->serial) {
		printf("revoked   nothing (no revocation list)\n");
		return;
	}
	hex16(h, r->id);
	printf("revoked   list serial %" PRIu64 " (id %s): %u key(s), %u image(s)\n", r->serial, h, r->n_keys,
	       r->n_images);
}

/* A list file: a regular file of at most DD_LINK_REVOKE_MAX bytes, read whole (the board judges it). */
static int read_list(const char *path, uint8_t *buf, uint32_t *len, struct dd_err *err)
{
	FILE *f = fopen(path, "rbe");
	size_t n;

	if (!f)
		return dd_fail_errno(err, DD_EINPUT, errno, "%s", path);
	n = fread(buf, 1, DD_LINK_REVOKE_MAX + 1, f);
	fclose(f);
	if (!n || n > DD_LINK_REVOKE_MAX)
		return dd_fail(err, DD_EINPUT, "%s: not a revocation list (%s)", path, n ? "too big" : "empty");
	*len = (uint32_t)n;
	return DD_OK;
}

static int do_revoke(struct dd_link_client *c, const struct board_opts *o, struct dd_err *err)
{
	uint8_t *buf = malloc(DD_LINK_REVOKE_MAX + 1);
	struct dd_link_revoke_reply r;
	uint32_t len = 0;
	bool have;
	int rc;

	if (!buf)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	rc = o->arg ? read_list(o->arg, buf, &len, err) : DD_OK;
	if (!rc)
		rc = revoke_call(c, buf, len, &r, &have, err);
	free(buf);
	if (rc && o->arg)
		dd_err_prefix(err, "%s", o->arg);
	if (rc)
		return rc;
	if (!have)
		return dd_fail(err, DD_EINPUT, "board: its firmware (link protocol %u) has no revocation list",
			       c->hello.version);
	if (o->json) {
		struct dd_json j;

		dd_json_init(&j);
		dd_json_begin_obj(&j, NULL);
		dd_json_schema(&j);
		dd_json_str(&j, "event", o->arg ? "revocation-loaded" : "revocation");
		revoke_json(&j, "revocation", &r);
		dd_json_end_obj(&j);
		puts(dd_json_text(&j));
		dd_json_free(&j);
		return DD_OK;
	}
	if (o->arg)
		printf("revocation list taken: the board refuses what it names from now on\n");
	revoke_text(&r);
	return DD_OK;
}

/* "labels": each port's name (null: none), or null when the board names none (PORTS) */
static void labels_json(struct dd_json *j, const struct dd_link_ports_reply *names)
{
	if (!label_width(names)) {
		dd_json_null(j, "labels");
		return;
	}
	dd_json_begin_arr(j, "labels");
	for (unsigned i = 0; i < names->n_ports; i++)
		dd_json_str(j, NULL, names->name[i][0] ? names->name[i] : NULL);
	dd_json_end_arr(j);
}

static void labels_text(const struct dd_link_ports_reply *names)
{
	if (!label_width(names))
		return;
	printf("labels   ");
	for (unsigned i = 0; i < names->n_ports; i++)
		printf(" %u %s%s", i + 1, DD_ESC(names->name[i][0] ? names->name[i] : "-"), i + 1 < names->n_ports ? "," : "");
	putchar('\n');
}

static int do_info(struct dd_link_client *c, const struct board_opts *o, struct dd_err *err)
{
	struct dd_link_msg *m = request(c, DD_MSG_INFO, err);
	struct dd_link_info_reply info;
	const struct dd_link_info_reply *in = &info;
	struct dd_link_audit_reply audit;
	struct dd_link_revoke_reply revoked;
	struct dd_link_ports_reply names;
	bool have_audit, have_revoked;
	char h[17], why[300] = "";

	if (!m)
		return err->code;
	info = m->u.info_r; /* the next request reuses the reply */
	board_port_names(c, &names);
	if (!in->n_keys)
		not_ready_reason(c, why, sizeof(why));
	if (audit_state(c, &audit, &have_audit, err) || revoke_call(c, NULL, 0, &revoked, &have_revoked, err))
		return err->code;
	if (o->json) {
		struct dd_json j;

		dd_json_init(&j);
		dd_json_begin_obj(&j, NULL);
		dd_json_schema(&j);
		dd_json_str(&j, "board", in->board);
		dd_json_str(&j, "serial", in->serial);
		dd_json_str(&j, "firmware", in->firmware);
		dd_json_u64(&j, "ports", in->n_ports);
		labels_json(&j, &names);
		if (in->has_image) {
			dd_json_begin_obj(&j, "image");
			dd_json_str(&j, "name", in->image_name);
			dd_json_hex(&j, "id", in->image_id, DD_SHA256_LEN);
			dd_json_u64(&j, "size", in->image_size);
			dd_json_end_obj(&j);
		} else {
			dd_json_null(&j, "image");
		}
		dd_json_begin_arr(&j, "keys");
		for (unsigned i = 0; i < in->n_keys; i++)
			dd_json_hex(&j, NULL, in->key_id[i], DD_SHA256_LEN);
		dd_json_end_arr(&j);
		/* version 4: "" when no image or an image without a version; absent when the board does not say
		 * (an older board, or DARTDUP_LINK_MAX_VERSION=2) */
		if (in->has_image_version)
			dd_json_str(&j, "image_version", in->image_version);
		dd_json_str(&j, "pending_firmware", in->pending_firmware[0] ? in->pending_firmware : NULL);
		dd_json_bool(&j, "ready", !why[0]);
		dd_json_str(&j, "not_ready", why[0] ? why : NULL);
		if (have_audit)
			audit_json(&j, &audit);
		if (have_revoked)
			revoke_json(&j, "revocation", &revoked);
		dd_json_end_obj(&j);
		puts(dd_json_text(&j));
		dd_json_free(&j);
		return DD_OK;
	}
	/* every string here is the board's: escaped (util/escape.h) */
	printf("board     %s %s, firmware %s, %u port(s)\n", DD_ESC(in->board), DD_ESC(in->serial),
	       DD_ESC(in->firmware), in->n_ports);
	labels_text(&names);
	if (why[0])
		printf("state     %s\n", DD_ESC(why));
	if (in->has_image) {
		hex16(h, in->image_id);
		printf("image     %s%s%s (%" PRIu64 " MiB, id %s)\n", DD_ESC(in->image_name),
		       in->has_image_version ? ", version " : "",
		       in->has_image_version ? DD_ESC(dd_version_show(in->image_version)) : "", in->image_size >> 20, h);
	} else {
		printf("image     none\n");
	}
	for (unsigned i = 0; i < in->n_keys; i++) {
		hex16(h, in->key_id[i]);
		printf("key       %s\n", h);
	}
	if (in->pending_firmware[0])
		printf("firmware  %s stored, not applied\n", DD_ESC(in->pending_firmware));
	if (have_revoked)
		revoke_text(&revoked);
	if (have_audit)
		audit_text(&audit);
	return DD_OK;
}

/* --- load / update ------------------------------------------------------------------------ */

struct load_view {
	bool tty;
	int last_pct;
	struct timespec t0;
	uint64_t first;
};

static double since_s(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void load_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct load_view *v = ctx;
	int pct = total ? (int)(done * 100 / total) : 100;
	double s = since_s(&v->t0);

	if (!v->first)
		v->first = done ? done : 1;
	if (!v->tty || pct == v->last_pct)
		return;
	v->last_pct = pct;
	fprintf(stderr, "\rload: %3d%% (%" PRIu64 " of %" PRIu64 " MiB, %.1f MiB/s)", pct, done >> 20, total >> 20,
		s > 0 ? (double)done / s / (1 << 20) : 0.0);
	fflush(stderr);
}

static int do_load(struct dd_link_client *c, const struct board_opts *o, int kind, char *name, size_t name_len,
		   struct dd_err *err)
{
	struct load_view v = { .tty = isatty(STDERR_FILENO) && !o->json, .last_pct = -1 };
	struct dd_link_load_opts lo = { .kind = kind, .max_bytes = o->max_bytes,
					.flags = o->allow_downgrade ? DD_LOAD_ALLOW_DOWNGRADE : 0,
					.progress = load_progress, .progress_ctx = &v };
	struct dd_link_load_result r;
	char id[2 * DD_SHA256_LEN + 1];
	int rc;

	if (!o->arg)
		return dd_fail(err, DD_EUSAGE, "%s: which file? (dartdup board %s FILE)", o->cmd, o->cmd);
	clock_gettime(CLOCK_MONOTONIC, &v.t0);
	rc = dd_link_client_load(c, o->arg, &lo, &r, err);
	if (!rc && name)
		snprintf(name, name_len, "%s", r.end.name);
	if (v.tty && v.last_pct >= 0)
		fputc('\n', stderr);
	if (o->json) {
		struct dd_json j;

		dd_json_init(&j);
		dd_json_begin_obj(&j, NULL);
		dd_json_schema(&j);
		dd_json_str(&j, "event", rc ? "load-failed" : "loaded");
		dd_json_str(&j, "kind", kind == DD_KIND_IMAGE ? "image" : "firmware");
		dd_json_u64(&j, "size", r.size);
		dd_json_u64(&j, "resumed_from", r.resumed_from);
		dd_json_u64(&j, "sent", r.sent);
		if (rc) {
			dd_json_str(&j, "error", err->msg);
		} else {
			dd_json_str(&j, "name", r.end.name);
			dd_json_hex(&j, "id", r.end.id, DD_SHA256_LEN);
			dd_json_u64(&j, "image_size", r.end.size);
			dd_json_double(&j, "hash_s", r.hash_s, 3);
			dd_json_double(&j, "data_s", r.data_s, 3);
			dd_json_double(&j, "end_s", r.end_s, 3);
		}
		dd_json_end_obj(&j);
		puts(dd_json_text(&j));
		dd_json_free(&j);
		return rc;
	}
	if (rc)
		return rc;
	dd_hex(id, r.end.id, 8);
	if (r.resumed_from)
		printf("resumed at %" PRIu64 " of %" PRIu64 " bytes\n", r.resumed_from, r.size);
	if (kind == DD_KIND_IMAGE)
		printf("loaded %s (id %s): signature and every block verified; stored\n", DD_ESC(r.end.name), id);
	else
		printf("firmware bundle %s (id %s) verified and stored; the board applies it when it restarts\n",
		       DD_ESC(r.end.name), id);
	return DD_OK;
}

/* --- status ------------------------------------------------------------------------------- */

static void status_json(const struct dd_link_status_reply *s, const struct dd_link_ports_reply *names,
			const struct board_image *image)
{
	struct dd_link_name n;
	struct dd_json j;

	dd_json_init(&j);
	dd_json_begin_obj(&j, NULL);
	dd_json_schema(&j);
	dd_json_u64(&j, "job", s->job);
	dd_json_str(&j, "state", dd_job_state_name(s->job_state, &n));
	dd_json_begin_arr(&j, "ports");
	for (unsigned i = 0; i < s->n_ports; i++) {
		const struct dd_link_port_status *p = &s->port[i];

		dd_json_begin_obj(&j, NULL);
		dd_json_u64(&j, "port", i + 1);
		/* the protocol's numbers (docs/PROTOCOL.md "Values"), not the engine's */
		dd_json_str(&j, "state", dd_port_state_name(p->state, &n));
		dd_json_str(&j, "phase", dd_link_phase_name(p->phase, &n));
		dd_json_str(&j, "result", dd_link_result_name(p->result, &n));
		dd_json_str(&j, "kind", dd_link_fail_name(p->fail, &n)); /* null: nothing failed (or an older board) */
		dd_json_u64(&j, "done", p->done);
		dd_json_u64(&j, "total", p->total);
		dd_json_u64(&j, "rate", p->rate);
		dd_json_u64(&j, "capacity", p->capacity);
		dd_json_str(&j, "serial", p->serial[0] ? p->serial : NULL);
		dd_json_str(&j, "error", p->error[0] ? p->error : NULL);
		/* the socket's name (PORTS); null: the board gave none, the number names it. Last: the fields
		 * before it keep their order for the scripts that match them */
		dd_json_str(&j, "label", board_port_label(names, i)[0] ? board_port_label(names, i) : NULL);
		dd_json_end_obj(&j);
	}
	dd_json_end_arr(&j);
	/* INFO's (version 4): "" no image or none; absent when the board does not say */
	if (image->known)
		dd_json_str(&j, "image_version", image->version);
	dd_json_end_obj(&j);
	puts(dd_json_text(&j));
	fflush(stdout);
	dd_json_free(&j);
}

/* The table; returns the number of lines printed (to redraw in place). The label column only when the board
 * names its ports (PORTS), as wide as the widest name: a column per port, aligned. */
static int status_table(const struct dd_link_status_reply *s, const struct dd_link_ports_reply *names,
			const struct board_image *image)
{
	struct dd_link_name n, kn;
	int lw = label_width(names);
	char it[64];

	/* "job 3: done; image 1.2.3": short (a version is at most 31 bytes), and escaped as every board string */
	printf("job %u: %s%s%s\n", s->job, dd_job_state_name(s->job_state, &n), image->known ? "; " : "",
	       DD_ESC(board_image_text(image, it, sizeof(it))));
	printf("%-5s ", "port");
	if (lw)
		printf("%-*s ", lw, "label");
	printf("%-10s %5s %8s  %-20s %s\n", "state", "done", "MiB/s", "serial", "error");
	for (unsigned i = 0; i < s->n_ports; i++) {
		const struct dd_link_port_status *p = &s->port[i];
		char pct[8] = "";
		const char *kind = dd_link_fail_name(p->fail, &kn);

		if (p->total)
			snprintf(pct, sizeof(pct), "%3u%%", (unsigned)(p->done * 100 / p->total));
		/* escaped, so a name cannot add a line and break the redraw (or drive the terminal); a label is
		 * already only [A-Za-z0-9._:-] (the decoder), escaped all the same */
		printf("%-5u ", i + 1);
		if (lw)
			printf("%-*s ", lw, DD_ESC(board_port_label(names, i)[0] ? board_port_label(names, i) : "-"));
		printf("%-10s %5s %8.1f  %-20s %s%s%s\n", dd_port_state_name(p->state, &n), pct,
		       (double)p->rate / (1 << 20), DD_ESC(p->serial), kind ? kind : "", kind ? ": " : "", DD_ESC(p->error));
	}
	fflush(stdout);
	return (int)s->n_ports + 2;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Poll STATUS until job `job` (0: whatever runs now) is no longer running. Shows each poll. */
static int watch(struct dd_link_client *c, const struct board_opts *o, uint32_t job, bool until_done,
		 struct dd_link_status_reply *last, struct dd_err *err)
{
	bool tty = isatty(STDOUT_FILENO) && !o->json;
	struct dd_link_ports_reply names;
	struct board_image image;
	int lines = 0;

	board_image(c, &image); /* once, as the names: no load while a job runs */
	board_port_names(c, &names); /* once: a board's sockets keep their names */
	for (;;) {
		struct dd_link_msg *m = request(c, DD_MSG_STATUS, err);
		bool running;

		if (!m)
			return err->code;
		*last = m->u.status_r;
		running = last->job_state == DD_JOB_RUNNING || (job && last->job < job);
		if (o->json) {
			if (!until_done || !o->wait || !running)
				status_json(last, &names, &image);
		} else if (tty || !running || !until_done) {
			if (tty && lines)
				printf("\033[%dA\033[J", lines);
			lines = status_table(last, &names, &image);
		}
		if (!until_done || !running)
			return DD_OK;
		sleep_ms(POLL_MS); /* polling a remote board over its protocol, not synchronising a test */
	}
}

static int summary(const struct dd_link_status_reply *s, unsigned in_job, struct dd_err *err)
{
	unsigned pass = 0, fail = 0;

	for (unsigned i = 0; i < s->n_ports; i++) {
		pass += s->port[i].state == DD_PORT_PASS;
		fail += s->port[i].state == DD_PORT_FAIL || s->port[i].state == DD_PORT_ATTENTION;
	}
	if (fail || pass < in_job)
		return dd_fail(err, DD_ECHECK, "job %u: %u port(s) passed, %u failed", s->job, pass, fail ? fail : in_job - pass);
	return DD_OK;
}

static int do_start(struct dd_link_client *c, const struct board_opts *o, struct dd_err *err)
{
	struct dd_link_status_reply *last;
	struct dd_link_msg req, *m = &c->reply;
	uint32_t job;
	unsigned n;
	int rc;

	if ((o->batch || o->operator_) && c->hello.version < 2)
		return dd_fail(err, DD_EINPUT, "board: its firmware is too old for --batch and --operator (update it)");
	memset(&req, 0, sizeof(req));
	req.u.start.flags = dd_link_start_flags(&o->ask);
	if (req.u.start.flags && c->hello.version < 3) /* a version 2 board would refuse the payload */
		return dd_fail(err, DD_EINPUT, "board: its firmware is too old for --probe and --sanitize (update it)");
	req.type = DD_MSG_START;
	snprintf(req.u.start.batch, sizeof(req.u.start.batch), "%s", o->batch ? o->batch : "");
	snprintf(req.u.start.operator_, sizeof(req.u.start.operator_), "%s", o->operator_ ? o->operator_ : "");
	if (dd_link_call(c, &req, err))
		return err->code;
	job = m->u.start_r.job;
	n = m->u.start_r.n_ports;
	if (!o->json)
		printf("job %u started on %u port(s)\n", job, n);
	if (!o->wait) {
		if (o->json)
			printf("{\"schema\":%d,\"event\":\"started\",\"job\":%u,\"ports\":%u}\n", DD_SCHEMA_VERSION, job, n);
		return DD_OK;
	}
	last = malloc(sizeof(*last));
	if (!last)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	rc = watch(c, o, job, true, last, err);
	if (!rc) {
		rc = summary(last, n, err);
		if (!rc && !o->json)
			printf("job %u: all %u port(s) passed\n", job, n);
	}
	free(last);
	return rc;
}

static int do_status(struct dd_link_client *c, const struct board_opts *o, struct dd_err *err)
{
	struct dd_link_status_reply *last = malloc(sizeof(*last));
	int rc;

	if (!last)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	rc = watch(c, o, o->job, o->watch, last, err);
	free(last);
	return rc;
}

/* --- log ---------------------------------------------------------------------------------- */

/* The string value of "key" in a flat JSON object we wrote ourselves; "" if absent or not a string. */
static void json_field(const char *obj, size_t len, const char *key, char *out, size_t out_len)
{
	char pat[64];
	const char *p, *end = obj + len;
	size_t n = 0;

	out[0] = '\0';
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = memmem(obj, len, pat, strlen(pat));
	if (!p)
		return;
	p += strlen(pat);
	if (p < end && *p != '"') { /* a number or null */
		while (p < end && *p != ',' && *p != '}' && n + 1 < out_len)
			out[n++] = *p++;
		out[n] = '\0';
		return;
	}
	for (p++; p < end && *p != '"' && n + 1 < out_len; p++) {
		if (*p == '\\' && p + 1 < end)
			p++;
		out[n++] = *p;
	}
	out[n] = '\0';
}

/* The board's audit record as it sent it (it is JSON already), with every character a terminal would act
 * on, and every byte that is not UTF-8, written as a JSON \u escape: our firmware's records hold none
 * (util/json.c escapes them), inside a string the escape means the same (a raw C0 control or a byte that
 * is not UTF-8 made the record invalid JSON: now it is valid), and outside a string there is none in JSON. */
static void print_board_json(const char *text, size_t len)
{
	for (size_t i = 0; i < len;) {
		uint32_t c = 0;
		size_t k = dd_utf8_seq(text + i, len - i, &c);

		if (!k)
			printf("\\u%04x", (unsigned char)text[i]);
		else if (dd_char_unsafe(c))
			printf("\\u%04x", (unsigned)c);
		else
			fwrite(text + i, 1, k, stdout);
		i += k ? k : 1;
	}
	putchar('\n');
}

static void log_line(const char *text, uint16_t len, bool json)
{
	char seq[24], when[32], port[64], serial[128], result[24], error[256];

	if (json) {
		print_board_json(text, len);
		return;
	}
	json_field(text, len, "seq", seq, sizeof(seq));
	json_field(text, len, "time", when, sizeof(when));
	json_field(text, len, "port", port, sizeof(port));
	json_field(text, len, "serial", serial, sizeof(serial));
	json_field(text, len, "result", result, sizeof(result));
	json_field(text, len, "error", error, sizeof(error));
	if (!strcmp(when, "null")) /* written before anything set the board's clock (docs/AUDIT.md) */
		snprintf(when, sizeof(when), "(clock unset)");
	printf("%-6s %-20s %-8s %-20s %-10s %s\n", DD_ESC(seq), DD_ESC(when), DD_ESC(port), DD_ESC(serial),
	       DD_ESC(result), strcmp(error, "null") ? DD_ESC(error) : "");
}

static int log_record(void *ctx, const char *text, uint16_t len, struct dd_err *err)
{
	const struct board_opts *o = ctx;

	log_line(text, len, o->json);
	return DD_OK;
}

static int do_log(struct dd_link_client *c, const struct board_opts *o, struct dd_err *err)
{
	uint64_t total;

	if (!o->json)
		printf("%-6s %-20s %-8s %-20s %-10s %s\n", "seq", "time", "port", "serial", "result", "error");
	if (dd_link_fetch_log(c, o->since ? o->since : 1, log_record, (void *)o, &total, err))
		return err->code;
	if (!o->json)
		printf("%" PRIu64 " record(s)\n", total);
	return DD_OK;
}

/* --- selftest ----------------------------------------------------------------------------- */

/* The board's own checks (docs/ACCEPTANCE.md): a line each, PASS/WARN/FAIL. 1 when one failed. */
static int do_selftest(struct dd_link_client *c, const struct board_opts *o, struct dd_err *err)
{
	struct dd_link_msg *m = request(c, DD_MSG_SELFTEST, err);
	char check[32], result[16], detail[600];
	unsigned failed = 0, n = 0;
	uint32_t pos = 0;
	const char *text;
	uint16_t len;

	if (!m)
		return err->code;
	while (dd_link_log_next(&m->u.log_r, &pos, &text, &len)) {
		json_field(text, len, "check", check, sizeof(check));
		json_field(text, len, "result", result, sizeof(result));
		json_field(text, len, "detail", detail, sizeof(detail));
		failed += !strcmp(result, "fail");
		n++;
		if (o->json)
			print_board_json(text, len);
		else /* the board's words: escaped (util/escape.h) */
			printf("%-4s  %-8s %s\n", !strcmp(result, "pass") ? "PASS" : !strcmp(result, "warn") ? "WARN" : "FAIL",
			       DD_ESC(check), DD_ESC(detail));
	}
	if (!n)
		return dd_fail(err, DD_EINPUT, "board: an empty self-test report");
	if (failed)
		return dd_fail(err, DD_ECHECK, "board self-test: %u check(s) failed", failed);
	return DD_OK;
}

/* --- update ------------------------------------------------------------------------------- */

/* What the board runs once it serves again: its INFO, "" pending. 1 when it does not (yet) answer. */
static int board_firmware(const struct board_opts *o, char *fw, size_t fw_len, bool *pending)
{
	struct dd_link_client c;
	struct dd_link_msg *m;
	struct dd_err e;

	if (connect_board(o, &c, &e))
		return 1;
	m = request(&c, DD_MSG_INFO, &e);
	if (m) {
		snprintf(fw, fw_len, "%s", m->u.info_r.firmware);
		*pending = m->u.info_r.pending_firmware[0] != '\0';
	}
	dd_link_client_close(&c);
	return m ? 0 : 1;
}

/* A board that applies firmware restarts to do it (docs/BOARD.md "Firmware updates"): wait until it
 * serves again with nothing pending, then compare what it runs with the bundle's version (the last
 * word of its name). Polling with a deadline: the board is gone from the bus for a while. */
static int wait_firmware(const struct board_opts *o, const char *serial, const char *bundle, struct dd_err *err)
{
	struct board_opts ro = *o;
	const char *want = strrchr(bundle, ' ') ? strrchr(bundle, ' ') + 1 : bundle;
	char fw[sizeof(((struct dd_link_info_reply *)0)->firmware)] = "";
	bool pending = true;
	struct timespec t0;

	if (!o->sim)
		ro.serial = serial;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (board_firmware(&ro, fw, sizeof(fw), &pending) || pending) {
		if (since_s(&t0) > o->timeout)
			return dd_fail(err, DD_EIO, "board %s did not serve again with firmware %s within %u s%s", serial,
				       want, o->timeout, pending ? " (the bundle is still pending)" : "");
		usleep(POLL_MS * 1000);
	}
	if (strcmp(fw, want))
		return dd_fail(err, DD_ECHECK, "board %s runs firmware %s, not %s: the bundle was refused or rolled "
			       "back (see the board's journal)", serial, fw, want);
	if (o->json) {
		struct dd_json j;

		dd_json_init(&j);
		dd_json_begin_obj(&j, NULL);
		dd_json_schema(&j);
		dd_json_str(&j, "event", "serving");
		dd_json_str(&j, "board", serial);
		dd_json_str(&j, "firmware", fw);
		dd_json_end_obj(&j);
		puts(dd_json_text(&j));
		dd_json_free(&j);
	} else
		printf("board %s serves again, running firmware %s\n", DD_ESC(serial), DD_ESC(fw));
	return DD_OK;
}

static int do_update(struct dd_link_client *c, const struct board_opts *o, struct dd_err *err)
{
	char name[sizeof(c->reply.u.load_end_r.name) + 1], serial[sizeof(c->reply.u.info_r.serial) + 1];
	struct dd_link_msg *m;
	int rc;

	if (!o->wait)
		return do_load(c, o, DD_KIND_FIRMWARE, NULL, 0, err);
	m = request(c, DD_MSG_INFO, err);
	if (!m)
		return err->code;
	snprintf(serial, sizeof(serial), "%s", m->u.info_r.serial);
	if ((rc = do_load(c, o, DD_KIND_FIRMWARE, name, sizeof(name), err)))
		return rc;
	dd_link_client_close(c); /* the board restarts; closing again (cmd_board) is harmless */
	return wait_firmware(o, serial, name, err);
}

/* --- main --------------------------------------------------------------------------------- */

static int run(struct dd_link_client *c, const struct board_opts *o, struct dd_err *err)
{
	if (!strcmp(o->cmd, "info"))
		return do_info(c, o, err);
	if (!strcmp(o->cmd, "load"))
		return do_load(c, o, DD_KIND_IMAGE, NULL, 0, err);
	if (!strcmp(o->cmd, "update"))
		return do_update(c, o, err);
	if (!strcmp(o->cmd, "start"))
		return do_start(c, o, err);
	if (!strcmp(o->cmd, "abort"))
		return request(c, DD_MSG_ABORT, err) ? DD_OK : err->code;
	if (!strcmp(o->cmd, "status"))
		return do_status(c, o, err);
	if (!strcmp(o->cmd, "log"))
		return do_log(c, o, err);
	if (!strcmp(o->cmd, "selftest"))
		return do_selftest(c, o, err);
	if (!strcmp(o->cmd, "revoke"))
		return do_revoke(c, o, err);
	if (!strcmp(o->cmd, "list"))
		return do_info(c, o, err); /* --sim: the one board there */
	return dd_fail(err, DD_EUSAGE, "board %s: unknown command (dartdup board --help)", o->cmd);
}

/* --all and the options that go with it only (host/board_all.c). */
static int board_all(const struct board_opts *o)
{
	struct fleet_out fleet = { .metrics_path = o->metrics, .log_to = o->log_to };
	const char *inputs[] = { o->output, o->since_file, o->arg };
	struct board_all_opts ao = {
		.cmd = o->cmd, .arg = o->arg, .json = o->json, .batch = o->batch, .operator_ = o->operator_,
		.since_file = o->since_file, .output = o->output, .fleet = &fleet,
	};
	struct dd_err err;
	int rc;

	if (!o->all || o->serial || o->sim || o->wait || o->watch) {
		cli_error("board: --since-file, -o, --metrics and --log-to go with --all, and --all with none of "
			  "--serial, --sim, --wait, --watch");
		return 2;
	}
	fleet.inputs = inputs;
	fleet.n_inputs = 3;
	if (fleet_out_open(&fleet, &err)) {
		cli_error("%s", err.msg);
		return 2;
	}
	rc = board_all_main(&ao);
	fleet_out_close(&fleet);
	return rc;
}

/* The commands run() knows. A typo is answered here, before any USB device or socket is touched
 * (else "statuss" would look for a board first and report that none is plugged in). */
static const char *const board_commands[] = {
	"list", "info", "load", "start", "abort", "status", "log", "selftest", "update", "revoke", NULL,
};

static bool known_command(const char *cmd)
{
	for (const char *const *k = board_commands; *k; k++)
		if (!strcmp(cmd, *k))
			return true;
	return false;
}

static void unknown_command(const char *cmd)
{
	char list[128] = "";

	for (const char *const *k = board_commands; *k; k++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", *list ? ", " : "", *k);
	/* the user's word is untrusted text: escaped */
	fprintf(stderr, "dartdup board: unknown command '%s' (commands: %s)\n", DD_ESC(cmd), list);
}

int cmd_board(int argc, char **argv)
{
	struct board_opts o;
	struct dd_link_client c;
	struct dd_err err = { 0 };
	int rc;

	if (parse(argc, argv, &o)) {
		board_usage(stderr);
		return 2;
	}
	if (!known_command(o.cmd)) {
		unknown_command(o.cmd);
		return 2;
	}
	if (o.all || o.since_file || o.output || o.metrics || o.log_to)
		return board_all(&o);
	if (!strcmp(o.cmd, "list") && !o.sim) {
		rc = dd_board_usb_list(stdout, o.json, &err);
		if (rc < 0) {
			cli_error("%s", err.msg);
			return dd_exit_status(rc);
		}
		if (!rc && !o.json)
			printf("no dartdup board on USB\n");
		return 0;
	}
	rc = connect_board(&o, &c, &err);
	if (!rc) {
		rc = run(&c, &o, &err);
		dd_link_client_close(&c);
	}
	if (rc)
		cli_error("%s", err.msg);
	return dd_exit_status(rc);
}
