/* dartdupd's main loop: poll the board, the host links and the job; keep the lights true. */
#include "firmware/daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "crypto/sign.h"
#include "firmware/apply.h"

#define TICK_MS 500 /* ports are probed this often when the board has no hotplug events */
#define RESTART_GRACE_S 1.0 /* from a stored firmware bundle to the restart that applies it */
/* A busy loop (a load: a step per 64 KiB read) probes the ports and refreshes the lights at most this
 * often; whatever changes them (a job, a hotplug event, STATUS) refreshes them at once anyway. */
#define REFRESH_MS 50

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int dd_daemon_init(struct dd_daemon *d, struct dd_board *b, struct dd_err *err)
{
	char warning[600];
	int rc;

	memset(d, 0, sizeof(*d));
	d->board = b;
	d->stop_fd = -1;
	d->run.wake_fd = -1;
	d->notify.fd = -1;
	d->verify_slice = DD_DAEMON_VERIFY_SLICE;
	if (b->n_ports > DD_LINK_MAX_PORTS)
		return dd_fail(err, DD_EUSAGE, "%u ports: at most %d", b->n_ports, DD_LINK_MAX_PORTS);
	for (unsigned i = 0; i < b->n_pubkeys; i++)
		if ((rc = dd_pubkey_id(b->pubkeys[i], d->key_id[i], err)))
			return rc;
	d->tx = malloc(DD_LINK_TX_CAP);
	d->logbuf = malloc(DD_LINK_MAX_PAYLOAD);
	if (!d->tx || !d->logbuf)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	if ((rc = dd_daemon_runner_init(d, err)))
		return rc;
	rc = dd_store_open(&d->store, b->store_dir, b->pubkeys, b->n_pubkeys, b->type, warning, sizeof(warning), err);
	if (rc)
		return rc;
	if (warning[0])
		fprintf(stderr, "dartdupd: %s\n", warning);
	dd_clock_init(&d->clock, b->system_clock);
	dd_daemon_read_rtc(d);
	dd_store_batch_load(&d->store, d->batch, sizeof(d->batch), d->operator_, sizeof(d->operator_));
	for (unsigned i = 0; i < b->n_ports; i++) {
		d->port[i].job_index = -1;
		d->port[i].shown_state = -1;
	}
	dd_daemon_refresh_ports(d);
	return DD_OK;
}

/* The RTC the board names, if any: the clock's first source. Without one (or with a flat battery) the
 * clock stays unset until a PC connects, and records say so. */
void dd_daemon_read_rtc(struct dd_daemon *d)
{
	struct dd_err e = { 0 };
	char when[32];

	if (!d->board->rtc[0])
		return;
	if (dd_clock_from_rtc(&d->clock, d->board->rtc, &e)) {
		fprintf(stderr, "dartdupd: %s: the clock is unset until a PC sets it\n", e.msg);
		return;
	}
	dd_clock_format(dd_clock_now(&d->clock, NULL), when, sizeof(when));
	fprintf(stderr, "dartdupd: clock set from rtc %s: %s\n", d->board->rtc, when);
}

void dd_daemon_not_ready(struct dd_daemon *d, const char *why)
{
	snprintf(d->not_ready, sizeof(d->not_ready), "%s", why && *why ? why : "not ready");
	dd_daemon_refresh_ports(d);
}

static void conn_close(struct dd_conn *c)
{
	dd_link_transport_close(c->t);
	dd_link_rx_free(&c->rx);
	free(c->out);
	memset(c, 0, sizeof(*c));
}

static size_t conn_pending(const struct dd_conn *c)
{
	return c->out_len - c->out_off;
}

/* The peer has not taken enough of its replies: its requests wait until it does. */
static bool conn_backlogged(const struct dd_conn *c)
{
	return conn_pending(c) >= DD_DAEMON_OUT_WATER;
}

/* Its requests wait: it has too many replies unread, or the reply to its LOAD_END is not ready. */
static bool conn_paused(const struct dd_conn *c)
{
	return c->waiting || conn_backlogged(c);
}

/* Send what the peer takes now. Returns false when the connection must go. */
static bool conn_flush(struct dd_conn *c)
{
	struct dd_err err;
	size_t n;

	if (!c->t->ops->send_some)
		return true; /* nothing is ever queued */
	while (conn_pending(c)) {
		if (c->t->ops->send_some(c->t, c->out + c->out_off, conn_pending(c), &n, &err))
			return false;
		if (!n)
			return true;
		c->out_off += n;
	}
	c->out_off = c->out_len = 0;
	if (c->out_cap > DD_DAEMON_OUT_WATER) { /* a big reply went out: give the memory back */
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	return true;
}

/* Queue one reply frame for the peer and send what it takes now. Returns false when the connection
 * must go (the transport failed, or the peer would hold more than DD_DAEMON_OUT_MAX bytes). */
static bool conn_queue(struct dd_conn *c, const uint8_t *frame, size_t len)
{
	struct dd_err err;
	size_t need;

	if (!c->t->ops->send_some) /* a transport without it sends on its own terms (bounded waits) */
		return !c->t->ops->send(c->t, frame, len, &err);
	if (c->out_off) {
		memmove(c->out, c->out + c->out_off, conn_pending(c));
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	need = c->out_len + len;
	if (need > DD_DAEMON_OUT_MAX)
		return false;
	if (need > c->out_cap) {
		size_t cap = need < 2 * c->out_cap ? 2 * c->out_cap : need;
		uint8_t *p = realloc(c->out, cap < DD_DAEMON_OUT_MAX ? cap : DD_DAEMON_OUT_MAX);

		if (!p)
			return false;
		c->out = p;
		c->out_cap = cap < DD_DAEMON_OUT_MAX ? cap : DD_DAEMON_OUT_MAX;
	}
	memcpy(c->out + c->out_len, frame, len);
	c->out_len += len;
	return conn_flush(c);
}

void dd_daemon_fini(struct dd_daemon *d)
{
	if (d->run.thread_live)
		dd_daemon_job_update(d, true);
	for (unsigned i = 0; i < DD_DAEMON_MAX_CONNS; i++)
		if (d->conn[i].t)
			conn_close(&d->conn[i]);
	dd_store_close(&d->store);
	dd_runner_fini(&d->run);
	dd_notify_close(&d->notify);
	free(d->tx);
	free(d->logbuf);
}

/* A free slot, else a peer that is not taking its replies, else the oldest connection: stalled peers
 * cannot lock the others out. */
static struct dd_conn *slot_for_new(struct dd_daemon *d)
{
	struct dd_conn *best = &d->conn[0];

	for (unsigned i = 0; i < DD_DAEMON_MAX_CONNS; i++) {
		struct dd_conn *c = &d->conn[i];

		if (!c->t)
			return c;
		if (conn_backlogged(c) != conn_backlogged(best)) {
			if (conn_backlogged(c))
				best = c;
		} else if (c->since < best->since) {
			best = c;
		}
	}
	return best;
}

void dd_daemon_add_link(struct dd_daemon *d, struct dd_link_transport *t)
{
	struct dd_conn *slot = slot_for_new(d);

	if (slot->t)
		conn_close(slot);
	if (dd_link_rx_init(&slot->rx, DD_LINK_MAX_PAYLOAD, NULL)) {
		dd_link_transport_close(t);
		return;
	}
	slot->t = t;
	slot->since = ++d->conn_seq;
	slot->version = 1;
}

/* --- ports and lights --------------------------------------------------------------------- */

static unsigned percent_of(const struct dd_target_status *st)
{
	uint64_t total = dd_status_total(st), done = dd_status_done(st);

	if (!total)
		return 0;
	return done >= total ? 100 : (unsigned)(done * 100 / total);
}

int dd_port_state(const struct dd_daemon *d, unsigned i, unsigned *percent)
{
	const struct dd_port_slot *p = &d->port[i];

	*percent = 0;
	if (d->not_ready[0]) /* every light: the "not ready" pattern */
		return DD_PORT_ATTENTION;
	if (p->job_index >= 0 && p->st.result == DD_RESULT_NONE) {
		*percent = percent_of(&p->st);
		return p->st.phase == DD_PHASE_VERIFY ? DD_PORT_VERIFYING : DD_PORT_BUSY;
	}
	if (p->master_light && p->now.present) /* the master port: its verdict as the link names it */
		return p->master_light == DD_LIGHT_MASTER_OK	? DD_PORT_PASS
		       : p->master_light == DD_LIGHT_MASTER_BAD ? DD_PORT_FAIL
								: DD_PORT_ATTENTION;
	if (p->has_result)
		return p->result_state;
	return p->now.present ? DD_PORT_READY : DD_PORT_EMPTY;
}

void dd_daemon_refresh_ports(struct dd_daemon *d)
{
	struct dd_err err;

	d->refreshed_ms = mono_ms();
	d->refresh_owed = false;

	for (unsigned i = 0; i < d->board->n_ports; i++) {
		struct dd_port_slot *p = &d->port[i];
		unsigned pct;
		int state;

		if (d->board->ops->port_probe(d->board, i, &p->now, &err))
			p->now.present = false;
		/* a result stays lit until a different stick appears in the port */
		if (p->has_result && p->job_index < 0 && p->now.present && p->now.generation != p->result_gen)
			p->has_result = false;
		if (d->board->master == i + 1)
			dd_daemon_master(d, i); /* a new master stick: read it now (firmware/master.h) */
		state = dd_port_state(d, i, &pct);
		if (p->master_light && p->now.present && !d->not_ready[0])
			state = p->master_light;
		if (state != p->shown_state || pct / 5 != p->shown_pct / 5) {
			d->board->ops->set_light(d->board, i, state, pct);
			p->shown_state = state;
			p->shown_pct = pct;
		}
	}
}

/* --- host links --------------------------------------------------------------------------- */

/* Answer every complete frame of a connection, until its peer has too many replies unread.
 * Returns false when the connection must go. */
static bool serve_frames(struct dd_daemon *d, struct dd_conn *c)
{
	struct dd_link_header h;
	const uint8_t *payload;
	struct dd_link_msg *m = malloc(sizeof(*m));
	struct dd_err err;
	size_t len = 0;
	int rc, code;
	bool keep = true;

	if (!m)
		return false;
	d->serving = c->since; /* a LOAD_END remembers whom to answer */
	d->serving_version = c->version;
	while (keep && !conn_paused(c) && (rc = dd_link_rx_next(&c->rx, &h, &payload, &code, &err)) != 0) {
		if (rc < 0) {
			/* not frames: say so once, then reset the link (nothing after can be trusted) */
			if (!dd_link_encode_error(d->tx, 0, 0, code, 0, err.msg, &len, NULL))
				conn_queue(c, d->tx, len); /* what the peer takes now: it is dropped next */
			keep = false;
			break;
		}
		if (dd_link_decode(&h, payload, m, &code, &err))
			rc = dd_link_encode_error(d->tx, h.type, h.tag, code,
						  code == DD_LERR_VERSION ? DD_LINK_FRAME_VERSION : 0, err.msg, &len, &err);
		else if (dd_link_is_reply(m))
			rc = dd_link_encode_error(d->tx, h.type, h.tag, DD_LERR_FIELD, 0,
						  "a board takes requests, not replies", &len, &err);
		else
			rc = dd_daemon_handle(d, m, &len, &err);
		c->version = d->serving_version; /* a HELLO chose one */
		if (!rc && !len)
			c->waiting = true; /* a LOAD_END being verified: answered from verify_turn() */
		else
			keep = !rc && conn_queue(c, d->tx, len);
	}
	free(m);
	return keep;
}

/* The connection can be read, written, or went away: send what waits, answer the requests already
 * received, then read more as long as the peer takes its replies. */
static void serve_conn(struct dd_daemon *d, struct dd_conn *c, short revents)
{
	size_t got;
	struct dd_err err;

	if (!conn_flush(c) || !serve_frames(d, c))
		goto drop;
	if (conn_paused(c) && (revents & (POLLHUP | POLLERR)))
		goto drop; /* gone while its requests wait: poll would report it again at every turn */
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	while (!conn_paused(c)) {
		if (dd_link_rx_fill(&c->rx, c->t, 0, &got, &err) || !serve_frames(d, c))
			goto drop;
		if (!got)
			return;
	}
	return;
drop:
	conn_close(c);
}

/* --- LOAD_END, verified a slice per turn ------------------------------------------------------ */

static struct dd_conn *conn_by_seq(struct dd_daemon *d, uint64_t since)
{
	for (unsigned i = 0; i < DD_DAEMON_MAX_CONNS; i++)
		if (d->conn[i].t && d->conn[i].since == since)
			return &d->conn[i];
	return NULL;
}

/* A verification has work to do now (not only waiting for a job to end before it installs). */
static bool verify_busy(const struct dd_daemon *d)
{
	for (int k = DD_KIND_IMAGE; k <= DD_KIND_FIRMWARE; k++)
		if (d->pending[k].active &&
		    !(d->store.xfer[k].verify == DD_VERIFY_DONE && d->job_state == DD_JOB_RUNNING))
			return true;
	return false;
}

/* One slice of kind's verification; when it is done, its reply is encoded into d->tx (*len bytes).
 * Returns false while it goes on. A verified package is installed only while no job reads the stored one. */
static bool verify_slice(struct dd_daemon *d, int kind, uint64_t budget, size_t *len)
{
	struct dd_pending_end *p = &d->pending[kind];
	struct dd_link_msg *rep = calloc(1, sizeof(*rep));
	struct dd_err err;
	int rc;

	*len = 0;
	rc = rep ? dd_store_verify_step(&d->store, kind, budget, d->job_state != DD_JOB_RUNNING, &rep->u.load_end_r,
					&err)
		 : DD_ENOMEM;
	if (rc == DD_STORE_MORE) {
		free(rep);
		return false;
	}
	p->active = false;
	if (rc) {
		dd_link_encode_error(d->tx, DD_MSG_LOAD_END, p->tag, dd_daemon_link_error(rc, DD_MSG_LOAD_END, true), 0,
				     rep ? err.msg : "out of memory", len, NULL);
	} else {
		rep->type = DD_MSG_LOAD_END;
		rep->flags = DD_LINK_F_REPLY;
		rep->tag = p->tag;
		if (dd_link_encode(rep, d->tx, DD_LINK_TX_CAP, len, &err))
			*len = 0;
	}
	free(rep);
	return true;
}

/* Every LOAD_END being verified moves on; a finished one answers its peer (if it is still there: the
 * package is stored either way), whose waiting requests are then served. */
static void verify_turn(struct dd_daemon *d)
{
	for (int k = DD_KIND_IMAGE; k <= DD_KIND_FIRMWARE; k++) {
		struct dd_conn *c;
		size_t len;

		if (!d->pending[k].active || !verify_slice(d, k, d->verify_slice, &len))
			continue;
		c = conn_by_seq(d, d->pending[k].conn);
		if (!c)
			continue;
		c->waiting = false;
		if (!len || !conn_queue(c, d->tx, len) || !serve_frames(d, c))
			conn_close(c);
	}
}

int dd_daemon_load_end_now(struct dd_daemon *d, size_t *len, struct dd_err *err)
{
	*len = 0;
	for (int k = DD_KIND_IMAGE; k <= DD_KIND_FIRMWARE; k++)
		while (d->pending[k].active && !verify_slice(d, k, UINT64_MAX, len))
			if (d->job_state == DD_JOB_RUNNING)
				return dd_fail(err, DD_EINTERNAL, "a job runs: the verified package waits");
	return DD_OK;
}

/* --- the loop ----------------------------------------------------------------------------- */

static void handle_stop(struct dd_daemon *d)
{
	struct signalfd_siginfo si;

	if (read(d->stop_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		d->stop = true;
}

static int handle_board(struct dd_daemon *d, const struct pollfd *fds, unsigned n, struct dd_err *err)
{
	struct dd_board_wake w = { 0 };
	struct dd_err e;
	int rc = d->board->ops->dispatch(d->board, fds, n, &w, err);

	if (rc)
		return rc;
	if (w.link)
		dd_daemon_add_link(d, w.link);
	if (w.ports_changed)
		dd_daemon_refresh_ports(d);
	if (w.button && d->job_state != DD_JOB_RUNNING && dd_daemon_start_job(d, NULL, &e))
		fprintf(stderr, "dartdupd: button: %s\n", e.msg);
	return DD_OK;
}

/* A peer's two poll entries: its requests (unless paused) and room for its unsent replies (when
 * there are any), on the fd and with the events its transport names for each. */
static void conn_pollfds(const struct dd_conn *c, struct pollfd p[2])
{
	const struct dd_link_transport *t = c->t;

	p[0] = (struct pollfd){ .fd = t->fd, .events = conn_paused(c) ? 0 : POLLIN };
	p[1] = (struct pollfd){ .fd = t->send_events ? t->send_fd : t->fd };
	if (conn_pending(c))
		p[1].events = t->send_events ? t->send_events : POLLOUT;
}

/* The ports and lights at the end of a step, unless they were refreshed within REFRESH_MS: then at the
 * next step, which comes within REFRESH_MS. */
static void refresh_soon(struct dd_daemon *d)
{
	if (mono_ms() - d->refreshed_ms < REFRESH_MS) {
		d->refresh_owed = true;
		return;
	}
	dd_daemon_refresh_ports(d);
}

int dd_daemon_step(struct dd_daemon *d, int timeout_ms, struct dd_err *err)
{
	struct pollfd fds[DD_BOARD_MAX_FDS + 2 * DD_DAEMON_MAX_CONNS + 2];
	struct dd_conn *conn_at[DD_DAEMON_MAX_CONNS];
	unsigned nb, n, nc = 0;
	int rc;

	nb = d->board->ops->fds(d->board, fds, DD_BOARD_MAX_FDS);
	n = nb;
	fds[n++] = (struct pollfd){ .fd = d->run.wake_fd, .events = POLLIN };
	fds[n++] = (struct pollfd){ .fd = d->stop_fd, .events = POLLIN };
	for (unsigned i = 0; i < DD_DAEMON_MAX_CONNS; i++) {
		if (!d->conn[i].t)
			continue;
		conn_at[nc++] = &d->conn[i];
		conn_pollfds(&d->conn[i], &fds[n]);
		n += 2;
	}
	if (d->refresh_owed && timeout_ms > REFRESH_MS)
		timeout_ms = REFRESH_MS;
	rc = poll(fds, n, verify_busy(d) ? 0 : timeout_ms);
	if (rc < 0 && errno != EINTR)
		return dd_fail_errno(err, DD_EIO, errno, "poll");
	if (rc <= 0)
		for (unsigned i = 0; i < n; i++)
			fds[i].revents = 0;
	if (fds[nb + 1].revents)
		handle_stop(d);
	if (fds[nb].revents)
		dd_daemon_job_update(d, false);
	for (unsigned i = 0; i < nc; i++) {
		const struct pollfd *p = &fds[nb + 2 + 2 * i];

		if (p[0].revents || p[1].revents)
			serve_conn(d, conn_at[i], (short)(p[0].revents | (p[1].revents & (POLLHUP | POLLERR))));
	}
	if ((rc = handle_board(d, fds, nb, err)))
		return rc;
	verify_turn(d);
	refresh_soon(d);
	return DD_OK;
}

static int open_stop_fd(struct dd_daemon *d, struct dd_err *err)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return dd_fail(err, DD_EINTERNAL, "cannot block SIGTERM");
	d->stop_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->stop_fd < 0)
		return dd_fail_errno(err, DD_EIO, errno, "signalfd");
	return DD_OK;
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A bundle was stored: stop once no job runs, a little after the LOAD_END reply (a USB gadget's
 * reply is still queued on its endpoint when the request is answered; stopping at once could cut it). */
static bool firmware_restart_due(struct dd_daemon *d, double *at)
{
	if (!d->board->restart_for_firmware || !d->store.firmware_arrived || d->job_state == DD_JOB_RUNNING)
		return false;
	if (*at == 0)
		*at = mono_now() + RESTART_GRACE_S;
	if (mono_now() < *at)
		return false;
	d->stop = true;
	return true;
}

/* systemd's notifications, when it asked for them; a bad setting is reported and serving goes on. */
static void notify_open(struct dd_daemon *d)
{
	struct dd_err e;

	if (dd_notify_open(&d->notify, getenv("NOTIFY_SOCKET"), getenv("WATCHDOG_USEC"), getenv("WATCHDOG_PID"), &e))
		fprintf(stderr, "dartdupd: %s (serving without it)\n", e.msg);
}

static void notify(struct dd_daemon *d, const char *msg)
{
	struct dd_err e;

	if (dd_notify_send(&d->notify, msg, &e))
		fprintf(stderr, "dartdupd: %s\n", e.msg);
}

int dd_daemon_run(struct dd_daemon *d, int ready_fd, struct dd_err *err)
{
	double restart_at = 0;
	int rc = open_stop_fd(d, err), wait;

	if (rc)
		return rc;
	dd_firmware_confirm(d->board->store_dir); /* a program on trial serves: keep it */
	notify_open(d);
	if (ready_fd >= 0) {
		if (write(ready_fd, "READY\n", 6) != 6)
			fprintf(stderr, "dartdupd: --ready-fd: %s\n", strerror(errno));
		close(ready_fd);
	}
	notify(d, "READY=1");
	while (!d->stop && !rc) {
		/* the watchdog is pinged from here: a loop that hangs stops pinging and gets restarted */
		wait = dd_notify_tick(&d->notify, dd_notify_now_ms());
		rc = dd_daemon_step(d, wait >= 0 && wait < TICK_MS ? wait : TICK_MS, err);
		if (!rc && firmware_restart_due(d, &restart_at))
			d->restart = true;
	}
	notify(d, "STOPPING=1");
	if (d->job_state == DD_JOB_RUNNING) {
		dd_daemon_abort_job(d);
		dd_daemon_job_update(d, true);
	}
	close(d->stop_fd);
	d->stop_fd = -1;
	return rc;
}
