/* The PC side of the link: requests, replies, and a pipelined, resumable package load.
 * Transport-agnostic: `dartdup board` hands it a Unix socket (sim) or a libusb transport. */
#ifndef DARTDUP_LINK_CLIENT_H
#define DARTDUP_LINK_CLIENT_H

#include "link/link.h"

struct dd_link_client {
	struct dd_link_transport *t;
	struct dd_link_rx rx;
	uint8_t *tx;
	uint32_t next_tag;
	uint8_t sent_type;                /* type of the requests in flight: one call, or LOAD_DATA */
	int timeout_ms;                   /* waiting for a reply; default 60 s */
	struct dd_link_hello_reply hello; /* the board's limits */
	struct dd_link_msg reply;         /* the last reply; pointers inside valid until the next call */
	int last_error;                   /* DD_LERR_* of the last ERROR reply, 0 if none */
};

/* Take t (closed by dd_link_client_close, also on failure) and say HELLO. */
int dd_link_client_open(struct dd_link_client *c, struct dd_link_transport *t, const char *client_name,
			struct dd_err *err);
/* The same offering the board versions up to max_version only (1..DD_LINK_PROTO_MAX): a PC that talks as an
 * older one would (tests; `dartdup board` with DARTDUP_LINK_MAX_VERSION). */
int dd_link_client_open_max(struct dd_link_client *c, struct dd_link_transport *t, const char *client_name,
			    uint16_t max_version, struct dd_err *err);
void dd_link_client_close(struct dd_link_client *c);

/* Send req (tag filled in) and wait for its reply into c->reply. An ERROR reply returns DD_EINPUT
 * (refusals: nothing done) or DD_EIO (the board's storage failed), err = "board: <message>",
 * and sets c->last_error. */
int dd_link_call(struct dd_link_client *c, struct dd_link_msg *req, struct dd_err *err);

/* Records asked for in one LOG request (a board sends at most 1000, and as many as fit in a payload). */
#define DD_LINK_LOG_PAGE 1000

/* One audit record as the board sent it: len bytes of JSON, not NUL-terminated, valid until fn returns
 * (fn must not use the client: the page is its last reply). DD_OK to go on; any other code stops the
 * fetch and is returned by it. */
typedef int (*dd_link_record_fn)(void *ctx, const char *text, uint16_t len, struct dd_err *err);

/* The board's audit records from seq `since` on (LOG, page by page until a page comes back empty), each
 * to fn in order; *n = records handed to fn. A page that does not move forward (more records than asked,
 * a seq before `since`, `next` not past the page) ends it with DD_EIO, before any of its records is
 * handed on: asking on would repeat records or never end. Records handed to fn before stay handed. */
int dd_link_fetch_log(struct dd_link_client *c, uint64_t since, dd_link_record_fn fn, void *ctx, uint64_t *n,
		      struct dd_err *err);

struct dd_link_load_opts {
	int kind;                      /* DD_KIND_IMAGE or DD_KIND_FIRMWARE */
	uint8_t flags;                 /* DD_LOAD_* (sent to a board of protocol 3 or later: an older
	                                  board has no downgrade check to lift) */
	uint64_t max_bytes;            /* testing aid: stop (like a pulled cable) after sending this
	                                  many bytes in this run; 0 = no limit */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *progress_ctx;
};

struct dd_link_load_result {
	uint64_t size;                 /* package bytes */
	uint64_t resumed_from;         /* bytes the board already held */
	uint64_t sent;                 /* bytes sent in this run */
	struct dd_link_load_end_reply end;
	/* where the time went, in seconds (docs/PERFORMANCE.md, the board's USB link): the name of the
	 * package on the PC (a version 3 board: its resume key, the file hashed as it is sent; else the
	 * file's SHA-256, read first), LOAD_BEGIN to the last LOAD_DATA acknowledged, LOAD_END (the board
	 * verifies) */
	double hash_s, data_s, end_s;
};

/* Send the package at path: LOAD_BEGIN (resuming where the board stands), LOAD_DATA with up to the
 * board's window in flight, LOAD_END (the board verifies everything before using it).
 * DD_EABORT when opts->max_bytes stopped it. */
int dd_link_client_load(struct dd_link_client *c, const char *path, const struct dd_link_load_opts *opts,
			struct dd_link_load_result *res, struct dd_err *err);

#endif
