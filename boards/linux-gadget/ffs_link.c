/* The linux-gadget board's link to the PC over FunctionFS (a dd_link_transport; ffs_priv.h).
 *
 * Several requests in flight: the endpoint files are driven with Linux native AIO (io_setup /
 * io_submit / io_getevents, raw syscalls: FunctionFS implements async read_iter/write_iter, and
 * glibc's POSIX AIO would only fake it with threads doing blocking I/O; libaio would be one more
 * library for three syscalls). Completions signal an eventfd (IOCB_FLAG_RESFD), which is the
 * transport's pollable fd. RX_SLOTS reads of RX_LEN bytes stay queued on the OUT endpoint, so the
 * PC's bulk writes never wait for the board to ask; a frame sent to the PC is cut into TX_LEN
 * pieces queued on the IN endpoint (a piece of exactly TX_LEN bytes is a whole number of packets,
 * so the transfer goes on until the frame's last, short, packet: docs/PROTOCOL.md padding rule).
 * Requests of one endpoint complete in order, so slots are used round-robin and consumed in order.
 *
 * The daemon never waits on a PC (send_some): it queues what free TX slots take and is woken by a
 * second eventfd that only TX completions signal (the transport's send_fd), so a PC that stops reading
 * stalls only its own replies; a PC that reads nothing also makes the daemon stop reading it (its
 * requests wait in the RX slots), never makes it wait. A queued piece that ends the burst on a whole
 * packet would leave the PC's read waiting for more (no short packet ends it; several small frames
 * together can add up to a multiple of 64): its last byte then goes as a piece of its own.
 *
 * A PC that disconnects (DISABLE, UNBIND, SUSPEND on ep0) resets the live link: its requests are
 * cancelled (io_destroy waits for them), partial input is dropped and its recv fails, so the daemon
 * drops the connection and keeps its own state (a load in progress stays resumable); the next
 * ENABLE is a fresh link. */
#include "boards/linux-gadget/ffs_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* 2 MiB queued: the link keeps moving (~60 ms at USB 2's ~35 MB/s) while the daemon stores, hashes and
 * decodes a whole 1 MiB LOAD_DATA (~20 ms on a Pi 4 by docs/PERFORMANCE.md's estimate); with 8 (512 KiB,
 * ~15 ms) the PC's writes would wait on every chunk */
#define RX_SLOTS 32
#define RX_LEN (64 * 1024)
#define TX_SLOTS 8
#define TX_LEN (64 * 1024)
#define TX_WAIT_MS 10000 /* a PC that stops reading: the send fails and the link resets */

struct slot {
	struct iocb cb;
	uint8_t *buf;
	bool busy;     /* submitted, not reaped */
	size_t len;    /* RX: bytes received; TX: bytes queued */
	size_t pos;    /* RX: bytes already handed out */
	bool done;     /* RX: reaped, data in buf[pos..len) */
};

struct ffs_link {
	struct dd_link_transport t;
	struct lg_ffs *ffs;     /* NULL once the function forgot this link */
	aio_context_t ctx;
	int tx_fd;              /* eventfd of TX completions: send_some can take more (t.fd: RX ones) */
	int ep_out, ep_in;      /* ep1 (bulk OUT, PC -> board), ep2 (bulk IN) */
	bool dead;              /* reset by the PC: every call fails */
	int error;              /* first failed request (-errno) */
	struct slot rx[RX_SLOTS];
	unsigned rx_next;       /* the oldest read */
	struct slot tx[TX_SLOTS];
	unsigned tx_next;
};

/* --- raw AIO syscalls (no wrapper in glibc) --------------------------------------------------- */
static int io_setup_(unsigned nr, aio_context_t *ctx)
{
	return (int)syscall(SYS_io_setup, nr, ctx);
}

static int io_destroy_(aio_context_t ctx)
{
	return (int)syscall(SYS_io_destroy, ctx);
}

static int io_submit_(aio_context_t ctx, long n, struct iocb **cbs)
{
	return (int)syscall(SYS_io_submit, ctx, n, cbs);
}

static int io_getevents_(aio_context_t ctx, long min, long max, struct io_event *ev, struct timespec *ts)
{
	return (int)syscall(SYS_io_getevents, ctx, min, max, ev, ts);
}

/* --- the link (a dd_link_transport) --------------------------------------------------------- */
static void prep(struct ffs_link *l, struct slot *s, int fd, unsigned op, size_t len, unsigned idx)
{
	bool tx = idx >= RX_SLOTS;

	memset(&s->cb, 0, sizeof(s->cb));
	s->cb.aio_fildes = (uint32_t)fd;
	s->cb.aio_lio_opcode = (uint16_t)op;
	s->cb.aio_buf = (uint64_t)(uintptr_t)s->buf;
	s->cb.aio_nbytes = len;
	s->cb.aio_flags = IOCB_FLAG_RESFD;
	s->cb.aio_resfd = (uint32_t)(tx ? l->tx_fd : l->t.fd);
	s->cb.aio_data = idx;
}

static int submit(struct ffs_link *l, struct slot *s, struct dd_err *err)
{
	struct iocb *cb = &s->cb;
	int rc = io_submit_(l->ctx, 1, &cb);

	if (rc != 1)
		return dd_fail_errno(err, DD_EIO, rc < 0 ? errno : EAGAIN, "%s: submit", l->t.name);
	s->busy = true;
	return DD_OK;
}

static int submit_read(struct ffs_link *l, unsigned i, struct dd_err *err)
{
	struct slot *s = &l->rx[i];

	prep(l, s, l->ep_out, IOCB_CMD_PREAD, RX_LEN, i);
	s->done = false;
	s->len = s->pos = 0;
	return submit(l, s, err);
}

/* Reap completed requests (waiting up to timeout_ms for at least one when min is 1). */
static int reap(struct ffs_link *l, long min, int timeout_ms)
{
	struct io_event ev[RX_SLOTS + TX_SLOTS];
	struct timespec ts = { .tv_sec = timeout_ms / 1000, .tv_nsec = (long)(timeout_ms % 1000) * 1000000 };
	uint64_t cnt, one = 1;
	bool tx_done = false;
	int n;

	/* clear the eventfds first: a completion after io_getevents sets them again */
	if (read(l->t.fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		return -errno;
	if (read(l->tx_fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		return -errno;
	n = io_getevents_(l->ctx, min, RX_SLOTS + TX_SLOTS, ev, &ts);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		tx_done |= ev[i].data >= RX_SLOTS;
		unsigned idx = (unsigned)ev[i].data;
		long long res = (long long)ev[i].res;
		struct slot *s = idx < RX_SLOTS ? &l->rx[idx] : &l->tx[idx - RX_SLOTS];

		s->busy = false;
		if (res < 0 && !l->error)
			l->error = (int)res;
		if (idx < RX_SLOTS) {
			s->done = true;
			s->len = res > 0 ? (size_t)res : 0;
		}
	}
	/* TX slots came free: whoever waits to send is told (the caller may not be the sender) */
	if (tx_done && write(l->tx_fd, &one, sizeof(one)) < 0)
		return -errno;
	return n;
}

/* The daemon only calls recv when the eventfd is readable: re-arm it while data waits. */
static void rearm(struct ffs_link *l)
{
	uint64_t one = 1;

	if (l->rx[l->rx_next].done && write(l->t.fd, &one, sizeof(one)) < 0)
		l->error = l->error ? l->error : -errno;
}

static int link_state(struct ffs_link *l, struct dd_err *err)
{
	if (l->dead)
		return dd_fail(err, DD_EIO, "%s: the PC disconnected (link reset)", l->t.name);
	if (l->error)
		return dd_fail_errno(err, DD_EIO, -l->error, "%s: transfer failed", l->t.name);
	return DD_OK;
}

static int ffs_recv(struct dd_link_transport *t, void *buf, size_t cap, size_t *got, int timeout_ms,
		    struct dd_err *err)
{
	struct ffs_link *l = t->priv;
	struct slot *s;
	size_t n;
	int rc;

	*got = 0;
	if ((rc = link_state(l, err)))
		return rc;
	s = &l->rx[l->rx_next];
	if (!s->done) {
		struct pollfd pfd = { .fd = t->fd, .events = POLLIN };

		if (timeout_ms && poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR)
			return dd_fail_errno(err, DD_EIO, errno, "%s: poll", t->name);
		if (reap(l, 0, 0) < 0 && !l->error)
			l->error = -EIO;
		if ((rc = link_state(l, err)))
			return rc;
	}
	if (!s->done)
		return DD_OK;
	n = s->len - s->pos < cap ? s->len - s->pos : cap;
	memcpy(buf, s->buf + s->pos, n);
	s->pos += n;
	*got = n;
	if (s->pos == s->len) {
		if ((rc = submit_read(l, l->rx_next, err)))
			return rc;
		l->rx_next = (l->rx_next + 1) % RX_SLOTS;
	}
	rearm(l);
	return DD_OK;
}

/* A free TX slot, waiting for the PC to take earlier pieces. */
static int tx_slot(struct ffs_link *l, struct slot **out, struct dd_err *err)
{
	struct timespec start, now;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct slot *s = &l->tx[l->tx_next];

		if ((rc = link_state(l, err)))
			return rc;
		if (!s->busy) {
			*out = s;
			return DD_OK;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 > TX_WAIT_MS)
			return dd_fail(err, DD_EIO, "%s: the PC is not reading", l->t.name);
		if (reap(l, 1, 500) < 0 && !l->error)
			l->error = -EIO;
		rearm(l);
	}
}

/* The next piece of len bytes that are to go: at most TX_LEN, and never one that ends what there is
 * to send on a whole packet (the PC's read would wait for a short packet that does not come): its last
 * byte is left for a piece of its own. */
static size_t tx_piece(size_t len)
{
	if (len > TX_LEN)
		return TX_LEN;
	return len % DD_LINK_PAD_UNIT ? len : len - 1;
}

/* Queue n bytes at p in the free slot s, the next in turn. */
static int tx_queue(struct ffs_link *l, struct slot *s, const uint8_t *p, size_t n, struct dd_err *err)
{
	int rc;

	memcpy(s->buf, p, n);
	prep(l, s, l->ep_in, IOCB_CMD_PWRITE, n, RX_SLOTS + l->tx_next);
	s->len = n;
	if ((rc = submit(l, s, err)))
		return rc;
	l->tx_next = (l->tx_next + 1) % TX_SLOTS;
	return DD_OK;
}

static int ffs_send(struct dd_link_transport *t, const void *buf, size_t len, struct dd_err *err)
{
	struct ffs_link *l = t->priv;
	const uint8_t *p = buf;
	struct slot *s;
	int rc;

	while (len) {
		size_t n = tx_piece(len);

		if ((rc = tx_slot(l, &s, err)) || (rc = tx_queue(l, s, p, n, err)))
			return rc;
		p += n;
		len -= n;
	}
	return DD_OK;
}

/* What the free TX slots take now, never waiting for the PC. */
static int ffs_send_some(struct dd_link_transport *t, const void *buf, size_t len, size_t *sent,
			 struct dd_err *err)
{
	struct ffs_link *l = t->priv;
	const uint8_t *p = buf;
	int rc;

	*sent = 0;
	if ((rc = link_state(l, err)))
		return rc;
	if (reap(l, 0, 0) < 0 && !l->error)
		l->error = -EIO;
	rearm(l); /* the reap cleared the RX eventfd too */
	if ((rc = link_state(l, err)))
		return rc;
	while (len && !l->tx[l->tx_next].busy) {
		size_t n = tx_piece(len);

		if ((rc = tx_queue(l, &l->tx[l->tx_next], p, n, err)))
			return rc;
		p += n;
		len -= n;
		*sent += n;
	}
	return DD_OK;
}

static int ffs_flush(struct dd_link_transport *t, struct dd_err *err)
{
	struct ffs_link *l = t->priv;
	int rc;

	for (unsigned i = 0; i < TX_SLOTS; i++) {
		unsigned idx = (l->tx_next + i) % TX_SLOTS;
		struct slot *s;

		if (!l->tx[idx].busy)
			continue;
		l->tx_next = idx;
		if ((rc = tx_slot(l, &s, err)))
			return rc;
	}
	return link_state(l, err);
}

/* Cancel everything in flight and close the endpoints (the link stays allocated until closed). */
static void link_stop(struct ffs_link *l)
{
	if (l->ctx) {
		io_destroy_(l->ctx); /* cancels and waits for every request */
		l->ctx = 0;
	}
	for (unsigned i = 0; i < RX_SLOTS; i++)
		l->rx[i].busy = l->rx[i].done = false;
	for (unsigned i = 0; i < TX_SLOTS; i++)
		l->tx[i].busy = false;
	if (l->ep_out >= 0)
		close(l->ep_out);
	if (l->ep_in >= 0)
		close(l->ep_in);
	l->ep_out = l->ep_in = -1;
}

static void ffs_close(struct dd_link_transport *t)
{
	struct ffs_link *l = t->priv;

	link_stop(l);
	if (l->ffs && l->ffs->live == l)
		l->ffs->live = NULL;
	for (unsigned i = 0; i < RX_SLOTS; i++)
		free(l->rx[i].buf);
	for (unsigned i = 0; i < TX_SLOTS; i++)
		free(l->tx[i].buf);
	if (t->fd >= 0)
		close(t->fd);
	if (l->tx_fd >= 0)
		close(l->tx_fd);
	free(l);
}

static const struct dd_link_transport_ops ffs_ops = {
	.send = ffs_send,
	.send_some = ffs_send_some,
	.recv = ffs_recv,
	.flush = ffs_flush,
	.close = ffs_close,
};

static int open_ep(const char *dir, const char *name, int *fd, struct dd_err *err)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	*fd = open(path, O_RDWR | O_CLOEXEC);
	if (*fd < 0)
		return dd_fail_errno(err, DD_EIO, errno, "%s", path);
	return DD_OK;
}

int lg_link_open(struct lg_ffs *f, struct dd_link_transport **out, struct dd_err *err)
{
	struct ffs_link *l = calloc(1, sizeof(*l));
	int rc = DD_OK;

	if (!l)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	l->ffs = f;
	l->ep_out = l->ep_in = -1;
	l->t.ops = &ffs_ops;
	l->t.priv = l;
	snprintf(l->t.name, sizeof(l->t.name), "usb link %u", ++f->links);
	l->t.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	l->tx_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	l->t.send_fd = l->tx_fd;
	l->t.send_events = POLLIN;
	if (l->t.fd < 0 || l->tx_fd < 0)
		rc = dd_fail_errno(err, DD_EIO, errno, "eventfd");
	for (unsigned i = 0; !rc && i < RX_SLOTS; i++)
		if (!(l->rx[i].buf = aligned_alloc(4096, RX_LEN)))
			rc = dd_fail(err, DD_ENOMEM, "out of memory");
	for (unsigned i = 0; !rc && i < TX_SLOTS; i++)
		if (!(l->tx[i].buf = aligned_alloc(4096, TX_LEN)))
			rc = dd_fail(err, DD_ENOMEM, "out of memory");
	if (!rc && io_setup_(RX_SLOTS + TX_SLOTS, &l->ctx))
		rc = dd_fail_errno(err, DD_EIO, errno, "io_setup");
	if (!rc)
		rc = open_ep(f->dir, "ep1", &l->ep_out, err);
	if (!rc)
		rc = open_ep(f->dir, "ep2", &l->ep_in, err);
	for (unsigned i = 0; !rc && i < RX_SLOTS; i++)
		rc = submit_read(l, i, err);
	if (rc) {
		ffs_close(&l->t);
		return rc;
	}
	f->live = l;
	*out = &l->t;
	return DD_OK;
}

/* The PC went away: stop the live link; the daemon sees its recv fail and drops it. */
void lg_link_reset(struct lg_ffs *f)
{
	struct ffs_link *l = f->live;
	uint64_t one = 1;

	if (!l)
		return;
	l->dead = true;
	link_stop(l);
	l->ffs = NULL;
	f->live = NULL;
	/* wake the daemon's poll, whichever it waits on: its next call fails */
	if (write(l->t.fd, &one, sizeof(one)) < 0 || write(l->tx_fd, &one, sizeof(one)) < 0)
		l->error = -errno;
}
