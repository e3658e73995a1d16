/* dartdup board --all: one command on every board this PC reaches, in parallel, one line per board
 * (host/board_all.c; docs/FLEET.md). */
#ifndef DARTDUP_HOST_BOARD_ALL_H
#define DARTDUP_HOST_BOARD_ALL_H

#include <stdbool.h>

#include "host/fleet/out.h"
#include "link/client.h"

/* Sockets of simulated (or forwarded) boards --all reaches besides the USB ones: colon-separated paths. */
#define BOARD_SOCKETS_ENV "DARTDUP_BOARD_SOCKETS"
#define BOARD_ALL_MAX 64

struct board_all_opts {
	const char *cmd, *arg;            /* load IMAGE.dfi | start | status | log */
	bool json;
	const char *batch, *operator_;    /* start */
	const char *since_file, *output;  /* log: --since-file STATE, -o FILE */
	struct fleet_out *fleet;          /* --metrics, --log-to */
};

/* The exit status: 0 every board did it, 1 one did not (or could not be reached), 2 bad usage. */
int board_all_main(const struct board_all_opts *o);

/* One board's link as every board command opens it (the clock set from this PC's): the USB board with
 * this serial, or the one listening on socket sim (host/cmd_board.c). */
int board_open(const char *serial, const char *sim, struct dd_link_client *c, struct dd_err *err);

/* The PC's highest link protocol version, lowered for tests (a version 2 PC): 1..3, default the highest. */
#define LINK_MAX_VERSION_ENV "DARTDUP_LINK_MAX_VERSION"

/* The board's port names (PORTS, docs/PROTOCOL.md) into out: n_ports 0 when it has none to tell (an older
 * board, a version 1-2 link). Names are the board's: checked by the decoder, still escaped when shown. A
 * reply the decoder refuses is warned about on stderr and taken as no names (the ports go by number). */
void board_port_names(struct dd_link_client *c, struct dd_link_ports_reply *out);

/* Which image a board holds, by its version (INFO's image_version, protocol version 3): what an admin reads
 * after a rollout in `board status` and `board --all status`. */
struct board_image {
	bool known;                            /* false: the board does not say (a version 1-2 board or link) */
	bool has_image;
	char version[DD_VERSION_MAX + 1];      /* "" none; else a version (checked by the decoder) */
};

/* INFO into *out (the call reuses c's reply). A refused INFO is not the view's failure: not known (a reply
 * the decoder refuses is warned about on stderr, as board_port_names does). */
void board_image(struct dd_link_client *c, struct board_image *out);

/* "image 1.2.3", "image without a version", "no image"; "" when not known. Into buf, returned. */
const char *board_image_text(const struct board_image *b, char *buf, size_t len);

/* Port i's label for a view: its name, else "" (the view shows the number). */
const char *board_port_label(const struct dd_link_ports_reply *names, unsigned i);

#endif
