/* dartdup board --all (see board_all.h): every board plugged in over USB and every socket named in
 * DARTDUP_BOARD_SOCKETS, each driven by its own thread over its own link, then one line per board, serial
 * first, in serial order. `log --all -o FILE` appends the records no earlier run took (key: the board's
 * serial and the record's seq): the last seq per board comes from --since-file STATE and from FILE itself,
 * so neither a lost STATE nor a crash between appending and updating STATE duplicates a record. */
#include "host/board_all.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "engine/audit.h"
#include "hash/sha256.h"
#include "host/board_link.h"
#include "host/cli.h"
#include "safety/door.h"
#include "util/escape.h"
#include "util/json.h"
#include "util/schema.h"

struct board_ref {
	char serial[DD_LINK_STR_MAX + 1];    /* the USB serial; for a socket, the board's INFO serial */
	char sim[PATH_MAX];                  /* "" for a USB board */
};

struct since {                            /* the last seq taken, per board */
	char board[DD_LINK_STR_MAX + 1];
	uint64_t seq;
};

struct since_table {
	struct since e[BOARD_ALL_MAX * 4];   /* boards seen in STATE or FILE, not only the ones here now */
	unsigned n;
};

struct worker {
	const struct board_all_opts *o;
	const struct since_table *since;
	struct board_ref ref;
	pthread_t th;
	int rc;
	bool up;
	char line[600];                      /* what happened, after the serial */
	char states[DD_LINK_MAX_PORTS][24];  /* status: the ports' states, for the metrics */
	struct dd_link_ports_reply names;    /* status: the ports' names (PORTS; n_ports 0: none) */
	struct board_image image;            /* status: which image it holds (INFO) */
	unsigned n_ports;
	char *records;                       /* log: the new records, one per line */
	size_t records_len;
	unsigned n_records;
	uint64_t last_seq;
};

/* ---- the boards -------------------------------------------------------------------------------- */

static int add_usb_boards(struct board_ref *refs, unsigned *n, struct dd_err *err)
{
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int found;

	if (!f)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	found = dd_board_usb_list(f, true, err);
	fclose(f);
	for (line = strtok_r(buf, "\n", &save); found > 0 && line; line = strtok_r(NULL, "\n", &save)) {
		json_object *o = json_tokener_parse(line), *s;

		if (o && json_object_object_get_ex(o, "serial", &s) && *n < BOARD_ALL_MAX) {
			snprintf(refs[*n].serial, sizeof(refs[*n].serial), "%s", json_object_get_string(s));
			refs[(*n)++].sim[0] = '\0';
		}
		json_object_put(o);
	}
	free(buf);
	return found < 0 ? found : DD_OK;
}

static int find_boards(struct board_ref *refs, unsigned *n, struct dd_err *err)
{
	const char *env = getenv(BOARD_SOCKETS_ENV);
	char *list, *p, *save = NULL;
	int rc;

	*n = 0;
	if ((rc = add_usb_boards(refs, n, err)))
		return rc;
	if (env && env[0]) {
		list = strdup(env);
		if (!list)
			return dd_fail(err, DD_ENOMEM, "out of memory");
		for (p = strtok_r(list, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
			if (*n == BOARD_ALL_MAX) {
				free(list);
				return dd_fail(err, DD_EUSAGE, "board --all: at most %d boards", BOARD_ALL_MAX);
			}
			if ((size_t)snprintf(refs[*n].sim, sizeof(refs[*n].sim), "%s", p) >= sizeof(refs[*n].sim)) {
				free(list);
				return dd_fail(err, DD_EUSAGE, "%s: a socket path too long", BOARD_SOCKETS_ENV);
			}
			snprintf(refs[*n].serial, sizeof(refs[*n].serial), "%s", p); /* until INFO names it */
			(*n)++;
		}
		free(list);
	}
	if (!*n)
		return dd_fail(err, DD_EUSAGE, "board --all: no board found (none on USB, none in %s)",
			       BOARD_SOCKETS_ENV);
	return DD_OK;
}

/* ---- the last seq per board -------------------------------------------------------------------- */

static uint64_t since_get(const struct since_table *t, const char *board)
{
	for (unsigned i = 0; i < t->n; i++)
		if (!strcmp(t->e[i].board, board))
			return t->e[i].seq;
	return 0;
}

static void since_put(struct since_table *t, const char *board, uint64_t seq)
{
	for (unsigned i = 0; i < t->n; i++)
		if (!strcmp(t->e[i].board, board)) {
			if (seq > t->e[i].seq)
				t->e[i].seq = seq;
			return;
		}
	if (t->n == sizeof(t->e) / sizeof(t->e[0]) || strlen(board) > DD_LINK_STR_MAX)
		return; /* a file naming that many boards is not one --all wrote: its records are still dedup'd by STATE */
	snprintf(t->e[t->n].board, sizeof(t->e[t->n].board), "%s", board);
	t->e[t->n++].seq = seq;
}

/* One line of STATE or FILE: {"board":"...","seq":N,...}. false when it is not such an object. */
static bool board_seq(json_object *o, const char **board, uint64_t *seq)
{
	json_object *b, *s;

	if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "board", &b) ||
	    !json_object_is_type(b, json_type_string) || !json_object_object_get_ex(o, "seq", &s) ||
	    !json_object_is_type(s, json_type_int))
		return false;
	*board = json_object_get_string(b);
	*seq = json_object_get_uint64(s);
	return true;
}

/* Reads STATE or FILE (missing: nothing yet) into t; with count, FILE's records also go to the metrics
 * (its counters then cover every record collected, and only grow). A line that is no record is skipped. */
static int read_seqs(const char *path, struct since_table *t, struct fleet_out *count, struct dd_err *err)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	if (!f)
		return errno == ENOENT ? DD_OK : dd_fail_errno(err, DD_EINPUT, errno, "%s", path);
	while ((len = getline(&line, &cap, f)) > 0) {
		json_object *o = json_tokener_parse(line);
		const char *board;
		uint64_t seq;

		if (board_seq(o, &board, &seq)) {
			since_put(t, board, seq);
			if (count)
				fleet_out_board_record(count, line, (size_t)len, true, false);
		}
		json_object_put(o);
	}
	free(line);
	fclose(f);
	return DD_OK;
}

static int render_state(FILE *f, const void *ctx)
{
	const struct since_table *t = ctx;
	struct dd_json j;

	dd_json_init(&j);
	for (unsigned i = 0; i < t->n; i++) {
		dd_json_reset(&j);
		dd_json_begin_obj(&j, NULL);
		dd_json_str(&j, "board", t->e[i].board);
		dd_json_u64(&j, "seq", t->e[i].seq);
		dd_json_end_obj(&j);
		fprintf(f, "%s\n", dd_json_text(&j));
	}
	dd_json_free(&j);
	return ferror(f) ? -1 : 0;
}

/* STATE: one {"board":"...","seq":N} per line, written atomically (host/fleet/out.h). */
static int write_state(const char *path, const struct since_table *t, const char *const *inputs, unsigned n_in,
		       struct dd_err *err)
{
	return fleet_write_atomic(path, inputs, n_in, render_state, t, err);
}

/* ---- one board ---------------------------------------------------------------------------------- */

/* A board's record as it sent it, with what a terminal would act on and bytes that are not UTF-8 written
 * as JSON \u escapes (as `board log --json` does): the collected FILE is valid JSON lines. */
static void put_record(FILE *f, const char *text, size_t len)
{
	for (size_t i = 0; i < len;) {
		uint32_t c = 0;
		size_t k = dd_utf8_seq(text + i, len - i, &c);

		if (!k)
			fprintf(f, "\\u%04x", (unsigned char)text[i]);
		else if (dd_char_unsafe(c))
			fprintf(f, "\\u%04x", (unsigned)c);
		else
			fwrite(text + i, 1, k, f);
		i += k ? k : 1;
	}
	fputc('\n', f);
}

/* A record of len bytes (not NUL-terminated) as one JSON value; NULL when it is not one, whole. */
static json_object *parse_len(const char *text, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *o = NULL;

	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (o && (json_tokener_get_error(tok) != json_tokener_success ||
		  (size_t)json_tokener_get_parse_end(tok) != len)) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

struct log_take {
	struct worker *w;
	FILE *f;
};

/* Only records numbered past what was taken: a board restarting its count is no reason to take a record
 * twice. */
static int take_record(void *ctx, const char *text, uint16_t len, struct dd_err *err)
{
	struct log_take *t = ctx;
	json_object *o = parse_len(text, len);
	const char *board;
	uint64_t seq;

	if (board_seq(o, &board, &seq) && seq > t->w->last_seq) {
		put_record(t->f, text, len);
		t->w->last_seq = seq;
		t->w->n_records++;
	}
	json_object_put(o);
	return DD_OK;
}

static int do_log(struct worker *w, struct dd_link_client *c, struct dd_err *err)
{
	struct log_take t = { .w = w, .f = open_memstream(&w->records, &w->records_len) };
	uint64_t since = since_get(w->since, w->ref.serial) + 1, n;
	int rc;

	if (!t.f)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	w->last_seq = since - 1;
	rc = dd_link_fetch_log(c, since, take_record, &t, &n, err);
	fclose(t.f);
	if (!rc)
		snprintf(w->line, sizeof(w->line), "%u new record(s)%s", w->n_records, w->n_records ? "" : ", none to take");
	return rc;
}

static int do_status(struct worker *w, struct dd_link_client *c, struct dd_err *err)
{
	struct dd_link_msg req;
	const struct dd_link_status_reply *s;
	struct dd_link_name n;
	char buf[64];
	size_t at;

	board_image(c, &w->image);
	board_port_names(c, &w->names); /* before STATUS: the call reuses the reply */
	memset(&req, 0, sizeof(req));
	req.type = DD_MSG_STATUS;
	if (dd_link_call(c, &req, err))
		return err->code;
	s = &c->reply.u.status_r;
	/* "image 1.2.3; " first (the version an admin checks after a rollout, never cut off by many ports) */
	at = w->image.known ? (size_t)snprintf(w->line, sizeof(w->line), "%s; ",
					       board_image_text(&w->image, buf, sizeof(buf))) : 0;
	at += (size_t)snprintf(w->line + at, sizeof(w->line) - at, "job %u %s:", s->job,
			       dd_job_state_name(s->job_state, &n));
	w->n_ports = s->n_ports < DD_LINK_MAX_PORTS ? s->n_ports : DD_LINK_MAX_PORTS;
	for (unsigned i = 0; i < w->n_ports && at < sizeof(w->line); i++) {
		const struct dd_link_port_status *p = &s->port[i];

		snprintf(w->states[i], sizeof(w->states[i]), "%s", dd_port_state_name(p->state, &n));
		/* a named port by its name (A1 pass), else by its number (1 pass) */
		if (board_port_label(&w->names, i)[0])
			at += (size_t)snprintf(w->line + at, sizeof(w->line) - at, " %s %s", board_port_label(&w->names, i),
					       w->states[i]);
		else
			at += (size_t)snprintf(w->line + at, sizeof(w->line) - at, " %u %s", i + 1, w->states[i]);
		if (p->total && p->done < p->total && at < sizeof(w->line)) /* running: how far */
			at += (size_t)snprintf(w->line + at, sizeof(w->line) - at, " %u%%",
					       (unsigned)(p->done * 100 / p->total));
		if (i + 1 < w->n_ports && at < sizeof(w->line))
			at += (size_t)snprintf(w->line + at, sizeof(w->line) - at, ",");
	}
	return DD_OK;
}

static int do_start(struct worker *w, struct dd_link_client *c, struct dd_err *err)
{
	struct dd_link_msg req;

	if ((w->o->batch || w->o->operator_) && c->hello.version < 2)
		return dd_fail(err, DD_EINPUT, "its firmware is too old for --batch and --operator (update it)");
	memset(&req, 0, sizeof(req));
	req.type = DD_MSG_START;
	snprintf(req.u.start.batch, sizeof(req.u.start.batch), "%s", w->o->batch ? w->o->batch : "");
	snprintf(req.u.start.operator_, sizeof(req.u.start.operator_), "%s", w->o->operator_ ? w->o->operator_ : "");
	if (dd_link_call(c, &req, err))
		return err->code;
	snprintf(w->line, sizeof(w->line), "job %u started on %u port(s)", c->reply.u.start_r.job,
		 c->reply.u.start_r.n_ports);
	return DD_OK;
}

static int do_load(struct worker *w, struct dd_link_client *c, struct dd_err *err)
{
	struct dd_link_load_opts lo = { .kind = DD_KIND_IMAGE };
	struct dd_link_load_result r;
	char id[17];
	int rc = dd_link_client_load(c, w->o->arg, &lo, &r, err);

	if (rc)
		return rc;
	dd_hex(id, r.end.id, 8);
	snprintf(w->line, sizeof(w->line), "loaded %s (id %s)%s", r.end.name, id,
		 r.resumed_from ? ", resumed" : "");
	return DD_OK;
}

/* The board's serial from INFO: a socket's board is known by it, not by its path. */
static int name_board(struct worker *w, struct dd_link_client *c, struct dd_err *err)
{
	struct dd_link_msg req;

	memset(&req, 0, sizeof(req));
	req.type = DD_MSG_INFO;
	if (dd_link_call(c, &req, err))
		return err->code;
	if (c->reply.u.info_r.serial[0])
		snprintf(w->ref.serial, sizeof(w->ref.serial), "%s", c->reply.u.info_r.serial);
	return DD_OK;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct dd_link_client *c = calloc(1, sizeof(*c));
	struct dd_err err = { 0 };
	const char *cmd = w->o->cmd;

	if (!c) {
		w->rc = dd_fail(&err, DD_ENOMEM, "out of memory");
		goto out;
	}
	w->rc = board_open(w->ref.sim[0] ? NULL : w->ref.serial, w->ref.sim[0] ? w->ref.sim : NULL, c, &err);
	if (w->rc)
		goto out;
	w->up = true;
	if (w->ref.sim[0])
		w->rc = name_board(w, c, &err);
	if (!w->rc)
		w->rc = !strcmp(cmd, "log") ? do_log(w, c, &err) : !strcmp(cmd, "status") ? do_status(w, c, &err)
			: !strcmp(cmd, "start") ? do_start(w, c, &err) : do_load(w, c, &err);
	dd_link_client_close(c);
out:
	free(c);
	if (w->rc)
		snprintf(w->line, sizeof(w->line), "%s: %s", w->up ? "failed" : "unreachable", err.msg);
	return NULL;
}

/* ---- all of them -------------------------------------------------------------------------------- */

static int by_serial(const void *a, const void *b)
{
	return strcmp(((const struct worker *)a)->ref.serial, ((const struct worker *)b)->ref.serial);
}

static void print_line(const struct worker *w, bool json)
{
	struct dd_json j;

	if (!json) { /* the board's strings: escaped (util/escape.h) */
		printf("%-20s %s %s\n", DD_ESC(w->ref.serial), w->rc ? "FAIL" : "ok  ", DD_ESC(w->line));
		return;
	}
	dd_json_init(&j);
	dd_json_begin_obj(&j, NULL);
	dd_json_schema(&j);
	dd_json_str(&j, "board", w->ref.serial);
	dd_json_str(&j, "socket", w->ref.sim[0] ? w->ref.sim : NULL);
	dd_json_bool(&j, "ok", !w->rc);
	dd_json_bool(&j, "up", w->up);
	dd_json_str(&j, "detail", w->line);
	if (!strcmp(w->o->cmd, "log") && !w->rc)
		dd_json_u64(&j, "records", w->n_records);
	if (!strcmp(w->o->cmd, "status") && !w->rc) {
		dd_json_begin_arr(&j, "ports");
		for (unsigned i = 0; i < w->n_ports; i++) {
			dd_json_begin_obj(&j, NULL);
			dd_json_u64(&j, "port", i + 1);
			dd_json_str(&j, "label", board_port_label(&w->names, i)[0] ? board_port_label(&w->names, i) : NULL);
			dd_json_str(&j, "state", w->states[i]);
			dd_json_end_obj(&j);
		}
		dd_json_end_arr(&j);
		/* INFO's (version 4): "" no image or none; absent when the board does not say */
		if (w->image.known)
			dd_json_str(&j, "image_version", w->image.version);
	}
	dd_json_end_obj(&j);
	puts(dd_json_text(&j));
	dd_json_free(&j);
}

/* log: the new records of every board appended to FILE in one write (records of two runs never
 * interleave), then STATE moved on. */
static int collect(const struct board_all_opts *o, struct worker *w, unsigned n, struct since_table *since)
{
	const char *inputs[] = { o->output, o->since_file };
	char *all = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&all, &len);
	struct dd_err err;
	int rc = DD_OK;

	if (!f)
		return DD_ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		if (w[i].rc)
			continue;
		if (w[i].records_len)
			fwrite(w[i].records, 1, w[i].records_len, f);
		since_put(since, w[i].ref.serial, w[i].last_seq);
	}
	fclose(f);
	if (len) {
		all[len - 1] = '\0'; /* dd_audit_append adds the last newline */
		rc = dd_audit_append(o->output, all, &err);
	}
	if (!rc && o->since_file)
		rc = write_state(o->since_file, since, inputs, 1, &err);
	if (rc)
		cli_error("%s", err.msg);
	for (unsigned i = 0; !rc && i < n; i++) { /* the new records to the metrics and the system log */
		char *save = NULL, *line;

		for (line = w[i].records ? strtok_r(w[i].records, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save))
			fleet_out_board_record(o->fleet, line, strlen(line), true, true);
	}
	free(all);
	return rc;
}

static int check_log_opts(const struct board_all_opts *o, struct since_table *since, struct dd_err *err)
{
	const char *inputs[] = { o->since_file };
	int rc;

	if (!o->output)
		return dd_fail(err, DD_EUSAGE, "board log --all: which file? (-o FILE: the records are appended to it)");
	if ((rc = dd_door_judge_log(o->output, inputs, o->since_file ? 1 : 0, err)))
		return rc;
	if (o->since_file && (rc = dd_door_judge_output(o->since_file, &o->output, 1, err)))
		return rc;
	if (o->since_file && (rc = read_seqs(o->since_file, since, NULL, err)))
		return rc;
	return read_seqs(o->output, since, o->fleet, err);
}

static int run_all(const struct board_all_opts *o, struct worker *w, unsigned n, struct since_table *since)
{
	unsigned failed = 0;
	int rc = DD_OK;

	for (unsigned i = 0; i < n; i++)
		if (pthread_create(&w[i].th, NULL, worker_main, &w[i])) {
			w[i].rc = DD_ENOMEM;
			snprintf(w[i].line, sizeof(w[i].line), "failed: no thread");
			w[i].th = 0;
		}
	for (unsigned i = 0; i < n; i++)
		if (w[i].th)
			pthread_join(w[i].th, NULL);
	qsort(w, n, sizeof(*w), by_serial);
	for (unsigned i = 0; i < n; i++) {
		const char *states[DD_LINK_MAX_PORTS];

		print_line(&w[i], o->json);
		failed += w[i].rc != 0;
		for (unsigned k = 0; k < w[i].n_ports; k++)
			states[k] = w[i].states[k];
		fleet_out_board(o->fleet, w[i].ref.serial, w[i].up, states, w[i].n_ports);
	}
	if (!strcmp(o->cmd, "log"))
		rc = collect(o, w, n, since);
	fleet_out_flush(o->fleet);
	if (rc)
		return dd_exit_status(rc);
	return failed || o->fleet->failures ? 1 : 0;
}

int board_all_main(const struct board_all_opts *o)
{
	static const char *const cmds[] = { "load", "start", "status", "log" };
	struct board_ref *refs = calloc(BOARD_ALL_MAX, sizeof(*refs));
	struct since_table *since = calloc(1, sizeof(*since));
	struct worker *w = NULL;
	struct dd_err err = { 0 };
	unsigned n = 0;
	bool known = false;
	int rc = 2;

	for (unsigned i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		known |= !strcmp(o->cmd, cmds[i]);
	if (!refs || !since) {
		cli_error("out of memory");
		goto out;
	}
	if (!known) {
		cli_error("board %s --all: --all goes with load, start, status and log", o->cmd);
		goto out;
	}
	if (!strcmp(o->cmd, "load") && !o->arg) {
		cli_error("board load --all: which file? (dartdup board --all load IMAGE.dfi)");
		goto out;
	}
	if ((!strcmp(o->cmd, "log") && check_log_opts(o, since, &err)) || find_boards(refs, &n, &err)) {
		cli_error("%s", err.msg);
		goto out;
	}
	w = calloc(n, sizeof(*w));
	if (!w)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		w[i].o = o;
		w[i].since = since;
		w[i].ref = refs[i];
	}
	rc = run_all(o, w, n, since);
out:
	for (unsigned i = 0; w && i < n; i++)
		free(w[i].records);
	free(w);
	free(since);
	free(refs);
	return rc;
}
