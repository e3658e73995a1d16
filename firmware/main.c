/* dartdupd: the duplicator board's daemon. Thin: pick the board, open it, run the loop.
 *   dartdupd --board NAME [--ready-fd FD] BOARD-OPTIONS...
 *   dartdupd --board NAME --check BOARD-OPTIONS...   (validate the set-up, touch nothing)
 * Exit status: 0 stopped by SIGTERM/SIGINT (or the set-up checks out), 1 a runtime failure, 2 bad
 * usage or bad set-up. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/board.h"
#include "firmware/daemon.h"

#ifndef DARTDUP_VERSION
#define DARTDUP_VERSION "0.0.0"
#endif

static void usage(FILE *out)
{
	fprintf(out, "usage: dartdupd --board NAME [--ready-fd FD | --check] BOARD-OPTIONS...\n"
		     "  --ready-fd FD   write READY to FD once serving, then close it\n"
		     "  --check         validate the board's set-up (its description file, keys) and exit:\n"
		     "                  0 and a summary when it is good, 2 and the first error when not\n"
		     "boards:\n");
	for (unsigned i = 0; dd_board_drivers[i]; i++)
		fprintf(out, "  %s %s\n", dd_board_drivers[i]->name, dd_board_drivers[i]->usage);
}

/* Take the daemon's own options out of argv; the rest goes to the board (argv[0] kept). */
static int split_args(int argc, char **argv, const char **board, int *ready_fd, bool *check, int *bargc,
		      char **bargv)
{
	*bargc = 0;
	bargv[(*bargc)++] = argv[0];
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--board") && i + 1 < argc) {
			*board = argv[++i];
		} else if (!strcmp(argv[i], "--check")) {
			*check = true;
		} else if (!strcmp(argv[i], "--ready-fd") && i + 1 < argc) {
			char *end;

			*ready_fd = (int)strtol(argv[++i], &end, 10);
			if (*end || *ready_fd < 0)
				return -1;
		} else {
			bargv[(*bargc)++] = argv[i];
		}
	}
	bargv[*bargc] = NULL;
	return *board ? 0 : -1;
}

int main(int argc, char **argv)
{
	const struct dd_board_driver *drv;
	const char *board_name = NULL;
	struct dd_board *board;
	struct dd_daemon *d;
	struct dd_err err = { 0 };
	char **bargv = calloc((size_t)argc + 1, sizeof(*bargv));
	int bargc, ready_fd = -1, rc;
	bool check = false;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("dartdupd %s\n", DARTDUP_VERSION);
		return 0;
	}
	if (!bargv || split_args(argc, argv, &board_name, &ready_fd, &check, &bargc, bargv)) {
		usage(stderr);
		return 2;
	}
	drv = dd_board_find(board_name);
	if (!drv) {
		fprintf(stderr, "dartdupd: %s: unknown board\n", board_name);
		usage(stderr);
		return 2;
	}
	if (check) {
		rc = drv->check ? drv->check(bargc, bargv, stdout, &err)
				: dd_fail(&err, DD_EUSAGE, "%s board: nothing to check (no --check)", drv->name);
		if (rc)
			fprintf(stderr, "dartdupd: %s\n", err.msg);
		free(bargv);
		return dd_exit_status(rc);
	}
	signal(SIGPIPE, SIG_IGN);
	if ((rc = drv->open(bargc, bargv, &board, &err))) {
		/* a board that cannot be set up has done nothing: 2, whatever the cause */
		fprintf(stderr, "dartdupd: %s\n", err.msg);
		free(bargv);
		return 2;
	}
	d = malloc(sizeof(*d));
	rc = d ? dd_daemon_init(d, board, &err) : dd_fail(&err, DD_ENOMEM, "out of memory");
	if (!rc) {
		fprintf(stderr, "dartdupd %s: %s board %s, %u port(s), image: %s\n", DARTDUP_VERSION, board->type,
			board->serial, board->n_ports, d->store.image ? d->store.image->info.name : "(none)");
		rc = dd_daemon_run(d, ready_fd, &err);
	}
	if (rc)
		fprintf(stderr, "dartdupd: %s\n", err.msg);
	if (d)
		dd_daemon_fini(d);
	free(d);
	board->ops->close(board);
	free(bargv);
	return dd_exit_status(rc);
}
