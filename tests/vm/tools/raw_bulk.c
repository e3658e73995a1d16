/* raw_bulk: a bulk transfer over the board's USB link with no protocol (tests/vm/scenarios/gadget_rate.sh,
 * issue 21 item 5): the rate a load is measured against.
 *   raw_bulk board FFS_DIR GADGET_DIR UDC BYTES   the board side (instead of dartdupd): writes the board's
 *       own descriptors to FFS_DIR/ep0 (lg_ffs_open), binds the gadget to UDC, prints "ready" once the PC
 *       enabled the function, then reads BYTES from the bulk OUT endpoint through the board's own link
 *       (boards/linux-gadget/ffs_link.c: the reads dartdupd keeps queued) and prints "received N, cpu C s".
 *   raw_bulk pc SERIAL BYTES CHUNK                the PC side (instead of dartdup board): opens the board as
 *       `dartdup board` does (host/board_usb.c: the same endpoints, transfers and slots in flight) and
 *       sends BYTES in transfers of CHUNK bytes, then waits until the board took them all; prints
 *       "sent N in S s, cpu C s".
 * Same endpoints, same packet size, same transports as a load; no frames, no replies, no store. Every
 * MiB of the stream starts with its own offset (u64, little-endian) and the board checks it: the bytes
 * arrive, in order. Exit 0 when all BYTES went through; 1 on a failed transfer; 2 on bad use. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "boards/linux-gadget/ffs.h"
#include "boards/linux-gadget/udc.h"
#include "host/board_link.h"
#include "link/link.h"
#include "util/number.h"

#define MARK_EVERY (1u << 20)
#define ENABLE_WAIT_MS 60000
#define RECV_WAIT_MS 30000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* user + system CPU seconds of this process so far */
static double cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The board side: the function's link once the PC enabled it. */
static int await_link(struct lg_ffs *f, struct dd_link_transport **link, struct dd_err *err)
{
	double deadline = now_s() + ENABLE_WAIT_MS / 1000.0;

	*link = NULL;
	while (!*link) {
		struct pollfd p = { .fd = lg_ffs_ep0_fd(f), .events = POLLIN };
		int rc;

		if (now_s() > deadline)
			return dd_fail(err, DD_EIO, "the PC did not enable the function in %d s", ENABLE_WAIT_MS / 1000);
		if (poll(&p, 1, 1000) > 0 && (rc = lg_ffs_events(f, link, err)))
			return rc;
	}
	return DD_OK;
}

/* Check the offset marks that lie wholly inside buf (stream offset off, n bytes). */
static int check_marks(const uint8_t *buf, uint64_t off, size_t n, struct dd_err *err)
{
	uint64_t m = (off + MARK_EVERY - 1) / MARK_EVERY * MARK_EVERY;

	for (; m + 8 <= off + n; m += MARK_EVERY)
		if (get_le64(buf + (m - off)) != m)
			return dd_fail(err, DD_ECHECK, "byte %llu: the stream is out of order",
				       (unsigned long long)m);
	return DD_OK;
}

/* As dartdupd does: wait on the link and on ep0 (the PC may disable the function), then take what came. */
static int board_recv(struct lg_ffs *f, struct dd_link_transport *link, uint8_t *buf, uint64_t *have,
		      struct dd_err *err)
{
	struct pollfd p[2] = { { .fd = link->fd, .events = POLLIN }, { .fd = lg_ffs_ep0_fd(f), .events = POLLIN } };
	struct dd_link_transport *again = NULL;
	size_t got = 0;
	int n = poll(p, 2, RECV_WAIT_MS), rc;

	if (n == 0)
		return dd_fail(err, DD_EIO, "nothing for %d s after %llu bytes", RECV_WAIT_MS / 1000,
			       (unsigned long long)*have);
	if (p[1].revents && (rc = lg_ffs_events(f, &again, err)))
		return rc;
	if (again || !lg_ffs_enabled(f)) {
		if (again)
			dd_link_transport_close(again);
		return dd_fail(err, DD_EIO, "the PC disabled the function after %llu bytes", (unsigned long long)*have);
	}
	if (p[0].revents && (rc = link->ops->recv(link, buf, DD_LINK_TX_CAP, &got, 0, err)))
		return rc;
	if ((rc = check_marks(buf, *have, got, err)))
		return rc;
	*have += got;
	return DD_OK;
}

static int board_side(char **argv, uint64_t bytes, struct dd_err *err)
{
	struct dd_link_transport *link = NULL;
	struct lg_ffs *f = NULL;
	uint64_t have = 0;
	uint8_t *buf = malloc(DD_LINK_TX_CAP);
	int rc;

	if (!buf)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	rc = lg_ffs_open(argv[2], &f, err);
	if (!rc && !(rc = lg_udc_bind(argv[3], argv[4], err)))
		rc = await_link(f, &link, err);
	if (!rc) {
		printf("ready\n");
		fflush(stdout);
	}
	while (!rc && have < bytes)
		rc = board_recv(f, link, buf, &have, err);
	if (!rc)
		printf("received %llu, cpu %.2f s\n", (unsigned long long)have, cpu_s());
	if (link)
		dd_link_transport_close(link);
	if (f) {
		lg_udc_unbind(argv[3]);
		lg_ffs_close(f);
	}
	free(buf);
	return rc;
}

static int pc_side(const char *serial, uint64_t bytes, uint64_t chunk, struct dd_err *err)
{
	struct dd_link_transport *t;
	uint8_t *buf = calloc(1, chunk);
	uint64_t sent = 0;
	double t0;
	int rc;

	if (!buf)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	for (size_t i = 0; i < chunk; i++) /* not zeros: nothing on the way may skip them */
		buf[i] = (uint8_t)(i * 131 + 7);
	if ((rc = dd_board_usb_open(serial, &t, err))) {
		free(buf);
		return rc;
	}
	t0 = now_s();
	while (!rc && sent < bytes) {
		size_t n = bytes - sent < chunk ? (size_t)(bytes - sent) : (size_t)chunk;

		/* the offset marks of this transfer (chunk need not divide a MiB, nor a MiB a chunk) */
		for (uint64_t m = (sent + MARK_EVERY - 1) / MARK_EVERY * MARK_EVERY; m + 8 <= sent + n; m += MARK_EVERY)
			put_le64(buf + (m - sent), m);
		rc = t->ops->send(t, buf, n, err);
		for (uint64_t m = (sent + MARK_EVERY - 1) / MARK_EVERY * MARK_EVERY; m + 8 <= sent + n; m += MARK_EVERY)
			memset(buf + (m - sent), 0x5a, 8); /* the send copied it: the next transfer's marks differ */
		sent += n;
	}
	if (!rc && t->ops->flush)
		rc = t->ops->flush(t, err);
	if (!rc)
		printf("sent %llu in %.3f s, cpu %.2f s\n", (unsigned long long)sent, now_s() - t0, cpu_s());
	dd_link_transport_close(t);
	free(buf);
	return rc;
}

int main(int argc, char **argv)
{
	struct dd_err err;
	uint64_t bytes, chunk;
	int rc;

	if (argc == 6 && !strcmp(argv[1], "board") && !dd_parse_u64(argv[5], UINT64_MAX, &bytes) && bytes) {
		rc = board_side(argv, bytes, &err);
	} else if (argc == 5 && !strcmp(argv[1], "pc") && !dd_parse_u64(argv[3], UINT64_MAX, &bytes) && bytes &&
		   !dd_parse_u64(argv[4], DD_LINK_TX_CAP, &chunk) && chunk) {
		rc = pc_side(argv[2], bytes, chunk, &err);
	} else {
		fprintf(stderr, "usage: raw_bulk board FFS_DIR GADGET_DIR UDC BYTES | raw_bulk pc SERIAL BYTES CHUNK\n");
		return 2;
	}
	if (rc)
		fprintf(stderr, "raw_bulk %s: %s\n", argv[1], err.msg);
	return rc ? 1 : 0;
}
