/* slow_pc: a PC that stops reading its replies (tests/vm/scenarios/board_gadget.sh, issue 17).
 *   slow_pc SERIAL N
 * Opens the board over USB (libusb, as `dartdup board` does), says HELLO, then sends N INFO requests in
 * one bulk write and reads none of the replies: the board must go on (the button, the job) without
 * waiting for this PC. Prints "sent N" and waits for a line on stdin; then reads every reply and prints
 * "replies K of N in order". Exit 0 when all N came back, tags in order; 1 otherwise; 2 on bad use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/board_link.h"
#include "link/client.h"
#include "util/number.h"

static int send_flood(struct dd_link_client *c, unsigned n, struct dd_err *err)
{
	size_t one, len = 0;
	uint8_t *buf = NULL;
	int rc = DD_OK;

	for (unsigned i = 0; !rc && i < n; i++) {
		struct dd_link_msg m;
		uint8_t *nb = realloc(buf, len + DD_LINK_TX_CAP);

		if (!nb) {
			rc = dd_fail(err, DD_ENOMEM, "out of memory");
			break;
		}
		buf = nb;
		memset(&m, 0, sizeof(m));
		m.type = DD_MSG_INFO;
		m.tag = c->next_tag++;
		rc = dd_link_encode(&m, buf + len, DD_LINK_TX_CAP, &one, err);
		len += one;
	}
	if (!rc)
		rc = c->t->ops->send(c->t, buf, len, err);
	if (!rc && c->t->ops->flush)
		rc = c->t->ops->flush(c->t, err);
	free(buf);
	return rc;
}

/* Read replies until n came or the board is silent for 20 s; *inorder = every tag as sent. */
static unsigned read_replies(struct dd_link_client *c, uint32_t first, unsigned n, int *inorder)
{
	unsigned k = 0;

	*inorder = 1;
	while (k < n) {
		struct dd_link_header h;
		const uint8_t *payload;
		struct dd_err err;
		size_t got;
		int code, r;

		while ((r = dd_link_rx_next(&c->rx, &h, &payload, &code, &err)) == 1) {
			if (h.type != DD_MSG_INFO || h.tag != first + k)
				*inorder = 0;
			k++;
		}
		if (r < 0) {
			fprintf(stderr, "slow_pc: %s\n", err.msg);
			break;
		}
		if (k == n)
			break;
		if (dd_link_rx_fill(&c->rx, c->t, 20000, &got, &err) || !got) {
			fprintf(stderr, "slow_pc: %s\n", got ? err.msg : "no more replies in 20 s");
			break;
		}
	}
	return k;
}

int main(int argc, char **argv)
{
	struct dd_link_transport *t;
	struct dd_link_client c;
	struct dd_err err;
	uint64_t n;
	uint32_t first;
	char line[16];
	int inorder;
	unsigned k;

	if (argc != 3 || dd_parse_u64(argv[2], 100000, &n) || !n) {
		fprintf(stderr, "usage: slow_pc SERIAL N (1..100000)\n");
		return 2;
	}
	if (dd_board_usb_open(argv[1], &t, &err) || dd_link_client_open(&c, t, "slow_pc", &err)) {
		fprintf(stderr, "slow_pc: %s\n", err.msg);
		return 2;
	}
	first = c.next_tag;
	if (send_flood(&c, (unsigned)n, &err)) {
		fprintf(stderr, "slow_pc: sending: %s\n", err.msg);
		dd_link_client_close(&c);
		return 1;
	}
	printf("sent %u\n", (unsigned)n);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		line[0] = 0; /* stdin closed: read now */
	k = read_replies(&c, first, (unsigned)n, &inorder);
	printf("replies %u of %u%s\n", k, (unsigned)n, inorder ? " in order" : " out of order");
	dd_link_client_close(&c);
	return k == n && inorder ? 0 : 1;
}
