/* Framed I/O above any transport: assemble frames from a byte stream, encode and send. */
#include "link/link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dd_link_transport_close(struct dd_link_transport *t)
{
	if (t)
		t->ops->close(t);
}

int dd_link_rx_init(struct dd_link_rx *rx, uint32_t max_payload, struct dd_err *err)
{
	memset(rx, 0, sizeof(*rx));
	rx->max_payload = max_payload;
	rx->cap = dd_link_frame_size(max_payload) + DD_LINK_PAD_UNIT;
	rx->buf = malloc(rx->cap);
	if (!rx->buf)
		return dd_fail(err, DD_ENOMEM, "link: out of memory for a receive buffer");
	return DD_OK;
}

void dd_link_rx_free(struct dd_link_rx *rx)
{
	free(rx->buf);
	rx->buf = NULL;
}

/* Drop the frame handed out last and move what follows to the front. */
static void rx_compact(struct dd_link_rx *rx)
{
	rx->start += rx->consumed;
	rx->consumed = 0;
	if (rx->start == rx->end) {
		rx->start = rx->end = 0;
	} else if (rx->start > 0) {
		memmove(rx->buf, rx->buf + rx->start, rx->end - rx->start);
		rx->end -= rx->start;
		rx->start = 0;
	}
}

int dd_link_rx_fill(struct dd_link_rx *rx, struct dd_link_transport *t, int timeout_ms, size_t *got,
		    struct dd_err *err)
{
	int rc;

	rx_compact(rx);
	*got = 0;
	if (rx->end == rx->cap)
		return DD_OK; /* full: a frame is waiting to be taken */
	rc = t->ops->recv(t, rx->buf + rx->end, rx->cap - rx->end, got, timeout_ms, err);
	if (rc)
		return rc;
	rx->end += *got;
	return DD_OK;
}

int dd_link_rx_next(struct dd_link_rx *rx, struct dd_link_header *h, const uint8_t **payload, int *code,
		    struct dd_err *err)
{
	size_t have;

	rx_compact(rx);
	*code = 0;
	have = rx->end - rx->start;
	if (have < DD_LINK_HDR_LEN)
		return 0;
	if (dd_link_parse_header(rx->buf + rx->start, rx->max_payload, h, code, err))
		return DD_EINPUT;
	if (have < (size_t)DD_LINK_HDR_LEN + h->length + h->pad)
		return 0;
	*payload = rx->buf + rx->start + DD_LINK_HDR_LEN;
	rx->consumed = DD_LINK_HDR_LEN + h->length + h->pad;
	return 1;
}

int dd_link_send(struct dd_link_transport *t, uint8_t *buf, const struct dd_link_msg *m, struct dd_err *err)
{
	size_t len;
	int rc = dd_link_encode(m, buf, DD_LINK_TX_CAP, &len, err);

	return rc ? rc : t->ops->send(t, buf, len, err);
}

int dd_link_encode_error(uint8_t *buf, uint8_t type, uint32_t tag, int code, uint64_t value, const char *msg,
			 size_t *len, struct dd_err *err)
{
	struct dd_link_msg m;

	memset(&m.u.error, 0, sizeof(m.u.error));
	m.type = type;
	m.flags = DD_LINK_F_REPLY | DD_LINK_F_ERROR;
	m.tag = tag;
	m.u.error.code = (uint16_t)code;
	m.u.error.value = value;
	snprintf(m.u.error.msg, sizeof(m.u.error.msg), "%s", msg ? msg : "");
	return dd_link_encode(&m, buf, DD_LINK_TX_CAP, len, err);
}

int dd_link_send_error(struct dd_link_transport *t, uint8_t *buf, uint8_t type, uint32_t tag, int code,
		       uint64_t value, const char *msg, struct dd_err *err)
{
	size_t len;
	int rc = dd_link_encode_error(buf, type, tag, code, value, msg, &len, err);

	return rc ? rc : t->ops->send(t, buf, len, err);
}
