/* link transports and framed I/O: docs/PROTOCOL.md frames over any byte pipe.
 *
 * A transport is a small table of functions (like libusb's OS backends): the Unix socket of the
 * simulated board (common/link/unix.c), libusb on the PC (host/board_usb.c), FunctionFS on a real
 * board (boards/linux-gadget/). The protocol code above it is written once. Every transport is a
 * reliable, ordered byte stream; frame boundaries come from the frame headers. */
#ifndef DARTDUP_LINK_H
#define DARTDUP_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "link/proto.h"
#include "util/err.h"

struct dd_link_transport;

struct dd_link_transport_ops {
	/* Queue or send one whole frame. May return before the bytes are on the wire (several
	 * transfers in flight); errors of queued sends show up in a later send/recv/flush. */
	int (*send)(struct dd_link_transport *t, const void *buf, size_t len, struct dd_err *err);
	/* Optional: send what the transport takes now, never waiting; *sent = bytes taken (0: full,
	 * try again when the transport says it can take more: send_events on send_fd). A board serving
	 * several peers uses it so that a peer that does not read its replies stalls only itself.
	 * buf must end where a frame ends (what is taken may stop anywhere). NULL: only the blocking
	 * send. */
	int (*send_some)(struct dd_link_transport *t, const void *buf, size_t len, size_t *sent,
			 struct dd_err *err);
	/* Receive at most cap bytes, waiting at most timeout_ms (-1: no limit). *got = 0 on timeout.
	 * DD_EIO when the peer is gone. */
	int (*recv)(struct dd_link_transport *t, void *buf, size_t cap, size_t *got, int timeout_ms,
		    struct dd_err *err);
	/* Wait until every queued send is done (NULL: sends are synchronous). */
	int (*flush)(struct dd_link_transport *t, struct dd_err *err);
	void (*close)(struct dd_link_transport *t);
};

struct dd_link_transport {
	const struct dd_link_transport_ops *ops;
	int fd;          /* pollable file descriptor, or -1 (then the owner polls with timeouts) */
	/* When send_some may take more: send_events on send_fd. 0: POLLOUT on fd (a socket). A
	 * transport whose fd is always writable (an eventfd of completions) names its own. */
	int send_fd;
	short send_events;
	char name[128];  /* for messages: "socket /run/x.sock", "usb 1-2 serial ABC" */
	void *priv;
};

void dd_link_transport_close(struct dd_link_transport *t);

/* Receive buffer that assembles frames from the stream. */
struct dd_link_rx {
	uint8_t *buf;
	size_t cap, start, end;  /* unread bytes are buf[start..end) */
	size_t consumed;         /* length of the frame handed out last, dropped on the next call */
	uint32_t max_payload;
};

int dd_link_rx_init(struct dd_link_rx *rx, uint32_t max_payload, struct dd_err *err);
void dd_link_rx_free(struct dd_link_rx *rx);

/* Pull what the transport has (waiting at most timeout_ms) into rx. *got = bytes read. */
int dd_link_rx_fill(struct dd_link_rx *rx, struct dd_link_transport *t, int timeout_ms, size_t *got,
		    struct dd_err *err);

/* The next complete frame in rx: returns 1 with *h and *payload (valid until the next call),
 * 0 when more bytes are needed, or DD_EINPUT with *code = DD_LERR_FRAME when the stream is not
 * frames (bad magic, length over the limit): nothing after that can be trusted. */
int dd_link_rx_next(struct dd_link_rx *rx, struct dd_link_header *h, const uint8_t **payload, int *code,
		    struct dd_err *err);

/* Encode m into buf (DD_LINK_TX_CAP bytes) and send it. */
#define DD_LINK_TX_CAP (DD_LINK_HDR_LEN + DD_LINK_MAX_PAYLOAD + DD_LINK_PAD_UNIT)
int dd_link_send(struct dd_link_transport *t, uint8_t *buf, const struct dd_link_msg *m, struct dd_err *err);

/* Encode an ERROR reply to a request of type/tag into buf (DD_LINK_TX_CAP bytes); *len = frame bytes. */
int dd_link_encode_error(uint8_t *buf, uint8_t type, uint32_t tag, int code, uint64_t value, const char *msg,
			 size_t *len, struct dd_err *err);

/* Send an ERROR reply to a request of type/tag. */
int dd_link_send_error(struct dd_link_transport *t, uint8_t *buf, uint8_t type, uint32_t tag, int code,
		       uint64_t value, const char *msg, struct dd_err *err);

/* Unix socket transport (the simulated board). */
int dd_link_unix_connect(const char *path, struct dd_link_transport **out, struct dd_err *err);
/* Bind and listen; returns the listening fd in *fd (an old socket file at path is replaced). */
int dd_link_unix_listen(const char *path, int *fd, struct dd_err *err);
/* Wrap a connected stream socket (accepted, or one end of a socketpair); takes ownership of fd. */
int dd_link_unix_wrap(int fd, const char *name, struct dd_link_transport **out, struct dd_err *err);

#endif
