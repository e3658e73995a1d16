/* Shared by the two link fuzz targets: a transport that hands out the fuzz input as the bytes
 * arriving from the peer, in chunks whose sizes the input chooses (frames split across reads and
 * several frames in one read are the cases a receive buffer gets wrong), then reports the peer gone. */
#ifndef DARTDUP_FUZZ_LINK_H
#define DARTDUP_FUZZ_LINK_H

#include <string.h>

#include "fuzz_util.h"
#include "link/link.h"

struct fuzz_pipe {
	const uint8_t *p;
	size_t n, pos;
	size_t chunk;     /* bytes per recv (from the input's first byte) */
	size_t sent;      /* bytes the code under test sent back */
};

static int fuzz_pipe_send(struct dd_link_transport *t, const void *buf, size_t len, struct dd_err *err)
{
	struct fuzz_pipe *fp = t->priv;
	struct dd_link_header h;
	int code;

	/* whatever the code under test answers must itself be a well-formed frame */
	FUZZ_ASSERT(len >= DD_LINK_HDR_LEN);
	FUZZ_ASSERT(dd_link_parse_header(buf, DD_LINK_MAX_PAYLOAD, &h, &code, err) == DD_OK);
	FUZZ_ASSERT(dd_link_frame_size(h.length) == len);
	fp->sent += len;
	return DD_OK;
}

static int fuzz_pipe_recv(struct dd_link_transport *t, void *buf, size_t cap, size_t *got, int timeout_ms,
			  struct dd_err *err)
{
	struct fuzz_pipe *fp = t->priv;
	size_t n = fp->n - fp->pos;

	if (!n)
		return dd_fail(err, DD_EIO, "fuzz: peer gone");
	if (n > fp->chunk)
		n = fp->chunk;
	if (n > cap)
		n = cap;
	memcpy(buf, fp->p + fp->pos, n);
	fp->pos += n;
	*got = n;
	return DD_OK;
}

static void fuzz_pipe_close(struct dd_link_transport *t) { (void)t; }

static const struct dd_link_transport_ops fuzz_pipe_ops = {
	.send = fuzz_pipe_send,
	.recv = fuzz_pipe_recv,
	.close = fuzz_pipe_close,
};

static void fuzz_pipe_init(struct fuzz_pipe *fp, struct dd_link_transport *t, const uint8_t *data, size_t size)
{
	memset(fp, 0, sizeof(*fp));
	memset(t, 0, sizeof(*t));
	fp->chunk = size ? (size_t)data[0] * 61 + 1 : 1;  /* 1 .. 15556 bytes per read */
	fp->p = size ? data + 1 : data;
	fp->n = size ? size - 1 : 0;
	t->ops = &fuzz_pipe_ops;
	t->fd = -1;
	t->priv = fp;
	snprintf(t->name, sizeof(t->name), "fuzz");
}

/* The receive buffer of a real link: DD_LINK_MAX_PAYLOAD. Allocated once (a megabyte per input
 * would make the fuzzer crawl under ASan) and emptied for every input, as a reset link is. */
static void fuzz_rx_init(struct dd_link_rx *rx)
{
	static struct dd_link_rx keep;
	struct dd_err err;

	if (!keep.buf)
		FUZZ_ASSERT(dd_link_rx_init(&keep, DD_LINK_MAX_PAYLOAD, &err) == DD_OK);
	keep.start = keep.end = keep.consumed = 0;
	*rx = keep;
}

/* A decoded message must survive the trip back: the encoder checks what it sends the way the peer
 * decodes it, so what one side accepts, the other can say. */
static void fuzz_reencode(const struct dd_link_msg *m)
{
	static uint8_t out[DD_LINK_TX_CAP];
	struct dd_link_header h;
	struct dd_link_msg again;
	struct dd_err err;
	size_t len;
	int code;

	FUZZ_ASSERT(dd_link_encode(m, out, sizeof(out), &len, &err) == DD_OK);
	FUZZ_ASSERT(dd_link_parse_header(out, DD_LINK_MAX_PAYLOAD, &h, &code, &err) == DD_OK);
	FUZZ_ASSERT(dd_link_decode(&h, out + DD_LINK_HDR_LEN, &again, &code, &err) == DD_OK);
	FUZZ_ASSERT(again.type == m->type && again.flags == m->flags && again.tag == m->tag);
}

#endif
