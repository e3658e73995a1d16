/* dartdupd's state and main loop: the link server, the job runner and the board glue.
 * One struct travels everywhere; nothing global. Threads: the main loop (link, button, ports,
 * lights, store) and, while a job runs, the engine's threads (they only touch struct dd_runner
 * under its lock and wake the main loop through an eventfd). */
#ifndef DARTDUP_FIRMWARE_DAEMON_H
#define DARTDUP_FIRMWARE_DAEMON_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"
#include "firmware/board.h"
#include "firmware/clock.h"
#include "firmware/job.h"
#include "firmware/master.h"
#include "firmware/notify.h"
#include "firmware/store.h"
#include "link/link.h"

#define DD_DAEMON_MAX_CONNS 8
#define DD_DAEMON_WINDOW 8       /* LOAD_DATA requests a PC may keep in flight */
/* A peer's replies wait in its own output buffer, sent without blocking as it reads them. A peer with
 * DD_DAEMON_OUT_WATER bytes unread is not read from until it takes them (its requests wait in its
 * socket): a slow peer slows only itself, and its buffer never passes DD_DAEMON_OUT_MAX (one more
 * reply than the water mark); a peer that would go past it is dropped. */
#define DD_DAEMON_OUT_WATER (64 * 1024)
#define DD_DAEMON_OUT_MAX (DD_DAEMON_OUT_WATER + DD_LINK_TX_CAP)
/* LOAD_END verifies the whole package: a slice of it per turn of the loop (poll does not wait meanwhile),
 * so the button, the lights, a job and other peers go on; the asking peer gets its reply when it is done. */
#define DD_DAEMON_VERIFY_SLICE (8u << 20)
#define DD_DAEMON_DEFER 1        /* a handler's reply comes later (a LOAD_END being verified); positive:
				  * never a dd_status */

struct dd_port_slot {
	struct dd_board_port now;        /* last probe */
	bool has_result;                 /* a result is lit for the stick of result_gen */
	uint64_t result_gen;
	int result_state;                /* DD_PORT_PASS, _FAIL, _ATTENTION */
	int job_index;                   /* index in the running job, -1 if not in it */
	struct dd_target_status st;      /* the last job's status for this port */
	struct dd_target_identity id;    /* the stick as the job saw it */
	unsigned speed_mbps;             /* its negotiated USB speed then, 0 unknown */
	uint64_t master_gen;             /* the master port: the stick last read (its generation) */
	int master_light;                /* its verdict (DD_LIGHT_MASTER_*), 0 none */
	int shown_state;                 /* what the light shows now */
	unsigned shown_pct;
};

struct dd_conn {
	struct dd_link_transport *t;     /* NULL: free slot */
	struct dd_link_rx rx;
	uint64_t since;                  /* order of arrival, to drop the oldest when full */
	uint8_t *out;                    /* replies the peer has not taken yet: out[off..len) */
	size_t out_off, out_len, out_cap;
	bool waiting;                    /* its LOAD_END is being verified: its next requests wait */
	uint16_t version;                /* protocol version its HELLO chose; 1 until then */
};

struct dd_pending_end {                  /* a LOAD_END being verified */
	bool active;
	uint64_t conn;                   /* `since` of the connection that asked (it may be gone by then) */
	uint32_t tag;
};

struct dd_daemon {
	struct dd_board *board;
	struct dd_store store;
	uint8_t key_id[DD_BOARD_MAX_KEYS][DD_SHA256_LEN];
	struct dd_port_slot port[DD_LINK_MAX_PORTS];
	struct dd_conn conn[DD_DAEMON_MAX_CONNS];
	uint64_t conn_seq;
	uint64_t serving;                /* `since` of the connection whose request is being handled */
	uint16_t serving_version;        /* and the protocol version it chose (HELLO sets it) */
	struct dd_pending_end pending[3]; /* indexed by enum dd_link_kind */
	uint64_t verify_slice;           /* DD_DAEMON_VERIFY_SLICE (tests make it small) */
	uint8_t *tx;                     /* one reply being encoded */
	uint8_t *logbuf;                 /* records of a LOG reply */
	int job_state;                   /* enum dd_job_state */
	uint32_t job_no;
	int64_t job_time;                /* by the board's clock, when the job started */
	int job_time_source;             /* enum dd_time_source at that moment */
	struct dd_clock clock;
	/* the batch (work order) and operator of the jobs: set by a PC's START, kept (also in the store,
	 * over a restart) for the jobs the button starts after it, until a START names others */
	char batch[DD_LINK_STR_MAX + 1], operator_[DD_LINK_STR_MAX + 1];
	struct dd_master_batch master;   /* the last accepted master stick's batch.conf (probe, sanitize) */
	struct dd_runner run;
	struct dd_notify notify;         /* systemd: READY=1, the watchdog ($NOTIFY_SOCKET) */
	int stop_fd;                     /* signalfd for SIGTERM/SIGINT, -1 if none */
	bool stop;
	bool restart;                    /* stopped to have a stored firmware bundle applied */
	char not_ready[256];             /* "" or why the board is not ready (dd_daemon_not_ready) */
	uint64_t refreshed_ms;           /* monotonic ms of the last port probe and lights refresh */
	bool refresh_owed;               /* a step skipped it (too soon after the last): due at the next */
};

int dd_daemon_init(struct dd_daemon *d, struct dd_board *board, struct dd_err *err);
void dd_daemon_fini(struct dd_daemon *d);
/* Not ready (a bad or missing set-up, docs/BOARD.md "Provisioning"): the board still serves the PC, so
 * that `dartdup board info` can say why, but every light shows attention, LOAD and START (the button
 * too) are refused with the reason, and SELFTEST's config check fails with it. */
void dd_daemon_not_ready(struct dd_daemon *d, const char *why);
/* Serve until SIGTERM/SIGINT (through stop_fd). ready_fd >= 0: write "READY\n" to it once serving;
 * with $NOTIFY_SOCKET, also tell systemd (READY=1) and ping its watchdog from the loop (notify.h).
 * On a board with restart_for_firmware, also stop (d->restart set) once a firmware bundle has been
 * stored and no job runs: the board's service applies it and starts the new program. */
int dd_daemon_run(struct dd_daemon *d, int ready_fd, struct dd_err *err);

/* One turn of the loop: poll (at most timeout_ms), then handle what happened. */
int dd_daemon_step(struct dd_daemon *d, int timeout_ms, struct dd_err *err);
/* Add a host link (the daemon owns it). */
void dd_daemon_add_link(struct dd_daemon *d, struct dd_link_transport *t);

/* server.c: answer one decoded request: the reply frame (or ERROR reply) is encoded into d->tx,
 * *len bytes; the caller queues it on the peer's connection. Fails only if nothing can be encoded. */
int dd_daemon_handle(struct dd_daemon *d, const struct dd_link_msg *req, size_t *len, struct dd_err *err);
/* server.c: the link's error code (DD_LERR_*) for a request of type that failed with status: the one
 * translation from dd_status (its comment lists the cases). has_image: the board holds an image. */
uint16_t dd_daemon_link_error(int status, int type, bool has_image);
/* *len = 0 from dd_daemon_handle: the reply comes later (LOAD_END); the loop verifies a slice per turn.
 * This finishes every pending one at once and encodes the last reply into d->tx (the fuzz target). */
int dd_daemon_load_end_now(struct dd_daemon *d, size_t *len, struct dd_err *err);

/* job.c: the daemon's side of the job runner (firmware/job.h): its ports, lights and audit records come
 * from the runner's events. */
int dd_daemon_runner_init(struct dd_daemon *d, struct dd_err *err);
/* Start a job over every port with a stick: DD_OK, or a dd_status (dd_runner_start's, DD_EBUSY while the
 * board is not ready, DD_EIO when the batch cannot be kept) with err saying why. start: a PC's batch and
 * operator (NULL: the button, which keeps the last ones). */
int dd_daemon_start_job(struct dd_daemon *d, const struct dd_link_start *start, struct dd_err *err);
void dd_daemon_abort_job(struct dd_daemon *d);
/* The engine moved: its progress into the ports; when it finished, the results (audit records, lights).
 * wait: block until the job ends (shutdown). */
void dd_daemon_job_update(struct dd_daemon *d, bool wait);

/* daemon.c: set the clock from the board's RTC, if it names one (at init). */
void dd_daemon_read_rtc(struct dd_daemon *d);
/* daemon.c: probe every port, update results and lights. */
void dd_daemon_refresh_ports(struct dd_daemon *d);
int dd_port_state(const struct dd_daemon *d, unsigned i, unsigned *percent);

#endif
