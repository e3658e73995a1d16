/* dartdupd: the duplicator board's daemon. Thin: pick the board, open it, run the loop.
 *   dartdupd --board NAME [--ready-fd FD] [--status FILE] BOARD-OPTIONS...
 *   dartdupd --board NAME --check BOARD-OPTIONS...   (validate the set-up, touch nothing)
 *   dartdupd --board NAME --apply-firmware [--exe FILE] BOARD-OPTIONS...   (install a stored bundle)
 *   dartdupd --board NAME --selftest [--json] BOARD-OPTIONS...   (the board in service: docs/ACCEPTANCE.md)
 * Exit status: 0 stopped by SIGTERM/SIGINT (or the set-up checks out, or the bundle was applied or
 * none was pending), 1 a runtime failure, 2 bad usage, bad set-up or a refused bundle, 3 stopped to
 * have a stored firmware bundle applied (the board's service restarts it). --selftest: 0 no check failed,
 * 1 one did, 2 the set-up is bad. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>

#include "firmware/board.h"
#include "firmware/daemon.h"
#include "firmware/version.h"


static void usage(FILE *out)
{
	fprintf(out, "usage: dartdupd --board NAME [--ready-fd FD | --check] BOARD-OPTIONS...\n"
		     "  --ready-fd FD   write READY to FD once serving, then close it\n"
		     "  --check         validate the board's set-up (its description file, keys) and exit:\n"
		     "                  0 and a summary when it is good, 2 and the first error when not\n"
		     "  --apply-firmware [--exe FILE]  install a firmware bundle the PC stored (`dartdup board\n"
		     "                  update`) over FILE (default: this program), after verifying it again,\n"
		     "                  or roll back a program that never served; then exit (the board's\n"
		     "                  service runs it before dartdupd starts; dartdupd exits 3 to get there)\n"
		     "  --status FILE   FILE's first line \"not ready: WHY\" (written by the board's provisioning):\n"
		     "                  serve the PC only to say why: no key, no load, no job, every light shows\n"
		     "                  attention\n"
		     "  --selftest [--json]  check the board in service (gadget port, power, USB ports, sticks'\n"
		     "                  speeds, store; docs/ACCEPTANCE.md): 0 none failed, 1 one did\n"
		     "boards:\n");
	for (unsigned i = 0; dd_board_drivers[i]; i++)
		fprintf(out, "  %s %s\n", dd_board_drivers[i]->name, dd_board_drivers[i]->usage);
}

/* Take the daemon's own options out of argv; the rest goes to the board (argv[0] kept). */
enum mode { SERVE, CHECK, APPLY, SELFTEST };

static int split_args(int argc, char **argv, const char **board, int *ready_fd, enum mode *mode,
		      const char **exe, bool *json, const char **status, int *bargc, char **bargv)
{
	*bargc = 0;
	bargv[(*bargc)++] = argv[0];
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--board") && i + 1 < argc) {
			*board = argv[++i];
		} else if (!strcmp(argv[i], "--check")) {
			*mode = CHECK;
		} else if (!strcmp(argv[i], "--selftest")) {
			*mode = SELFTEST;
		} else if (!strcmp(argv[i], "--json") && *mode == SELFTEST) {
			*json = true;
		} else if (!strcmp(argv[i], "--apply-firmware")) {
			*mode = APPLY;
		} else if (!strcmp(argv[i], "--exe") && i + 1 < argc) {
			*exe = argv[++i];
		} else if (!strcmp(argv[i], "--status") && i + 1 < argc) {
			*status = argv[++i];
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

static int check(const struct dd_board_driver *drv, int argc, char **argv, struct dd_err *err)
{
	if (!drv->check)
		return dd_fail(err, DD_EUSAGE, "%s board: nothing to check (no --check)", drv->name);
	return drv->check(argc, argv, stdout, err);
}

/* exe_path: the program file to update, NULL = this program's own file. */
static int apply(const struct dd_board_driver *drv, int argc, char **argv, const char *exe_path,
		 struct dd_err *err)
{
	char exe[1024], applied[160] = "", rolled_back[160] = "";
	ssize_t n;
	int rc;

	if (!drv->apply_firmware)
		return dd_fail(err, DD_EUSAGE, "%s board: firmware is not applied on this board", drv->name);
	if (exe_path) {
		snprintf(exe, sizeof(exe), "%s", exe_path);
	} else {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n <= 0)
			return dd_fail_errno(err, DD_EIO, errno, "/proc/self/exe");
		exe[n] = '\0';
	}
	rc = drv->apply_firmware(argc, argv, exe, applied, rolled_back, sizeof(applied), err);
	if (rolled_back[0])
		printf("dartdupd: \"%s\" never served: rolled back to %s.prev\n", rolled_back, exe);
	if (!rc && applied[0])
		printf("dartdupd: applied \"%s\" to %s (the previous program is %s.prev)\n", applied, exe, exe);
	else if (!rc && !rolled_back[0])
		printf("dartdupd: no firmware bundle pending\n");
	return rc;
}

/* --status FILE (the board's provisioning writes it, docs/BOARD.md): a first line "not ready: WHY" makes
 * the board not ready (daemon.h); anything else, or no file, is ready. */
static bool read_not_ready(const char *path, char *why, size_t len)
{
	const char *prefix = "not ready: ";
	char line[300] = "";
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (strncmp(line, prefix, strlen(prefix)))
		return false;
	snprintf(why, len, "%.*s", (int)len - 1, line + strlen(prefix));
	return true;
}

/* A board that is not ready trusts no key and keeps nothing: its store is an empty folder beside the
 * status file (the configured store may be what is missing), never the depot's. */
static void not_ready_board(struct dd_board *b, const char *status_file)
{
	const char *slash = strrchr(status_file, '/');
	int dir_len = slash ? (int)(slash - status_file) : 1;

	b->n_pubkeys = 0;
	snprintf(b->store_dir, sizeof(b->store_dir), "%.*s/not-ready-store", dir_len, slash ? status_file : ".");
}

int main(int argc, char **argv)
{
	const struct dd_board_driver *drv;
	const char *board_name = NULL;
	struct dd_board *board;
	struct dd_daemon *d;
	struct dd_err err = { 0 };
	char **bargv;
	int bargc, ready_fd = -1, rc, status;
	enum mode mode = SERVE;
	const char *exe = NULL, *status_file = NULL;
	char not_ready[256] = "";
	bool json = false;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("dartdupd %s\n", dd_firmware_version);
		return 0;
	}
	bargv = calloc((size_t)argc + 1, sizeof(*bargv));
	if (!bargv || split_args(argc, argv, &board_name, &ready_fd, &mode, &exe, &json, &status_file, &bargc, bargv)) {
		usage(stderr);
		free(bargv);
		return 2;
	}
	drv = dd_board_find(board_name);
	if (!drv) {
		fprintf(stderr, "dartdupd: %s: unknown board\n", board_name);
		usage(stderr);
		free(bargv);
		return 2;
	}
	if (mode == SELFTEST) {
		rc = drv->selftest ? drv->selftest(bargc, bargv, stdout, json, &err) :
				     dd_fail(&err, DD_EUSAGE, "%s board: no --selftest", drv->name);
		if (rc)
			fprintf(stderr, "dartdupd: %s\n", err.msg);
		free(bargv);
		return rc == DD_ECHECK ? 1 : rc ? 2 : 0;
	}
	if (mode != SERVE) {
		rc = mode == CHECK ? check(drv, bargc, bargv, &err) : apply(drv, bargc, bargv, exe, &err);
		if (rc)
			fprintf(stderr, "dartdupd: %s\n", err.msg);
		free(bargv);
		return rc ? 2 : 0;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((rc = drv->open(bargc, bargv, &board, &err))) {
		/* a board that cannot be set up has done nothing: 2, whatever the cause */
		fprintf(stderr, "dartdupd: %s\n", err.msg);
		free(bargv);
		return 2;
	}
	if (status_file && read_not_ready(status_file, not_ready, sizeof(not_ready)))
		not_ready_board(board, status_file);
	d = malloc(sizeof(*d));
	rc = d ? dd_daemon_init(d, board, &err) : dd_fail(&err, DD_ENOMEM, "out of memory");
	if (!rc && not_ready[0]) {
		dd_daemon_not_ready(d, not_ready);
		fprintf(stderr, "dartdupd: not ready: %s (serving the PC so that it can say so)\n", not_ready);
	}
	if (!rc) {
		fprintf(stderr, "dartdupd %s: %s board %s, %u port(s), image: %s\n", dd_firmware_version, board->type,
			board->serial, board->n_ports, d->store.image ? d->store.image->info.name : "(none)");
		rc = dd_daemon_run(d, ready_fd, &err);
	}
	if (rc)
		fprintf(stderr, "dartdupd: %s\n", err.msg);
	else if (d->restart)
		fprintf(stderr, "dartdupd: firmware \"%s\" stored; stopping to have it applied\n",
			d->store.pending_firmware);
	status = rc ? dd_exit_status(rc) : d->restart ? 3 : 0;
	if (d)
		dd_daemon_fini(d);
	free(d);
	board->ops->close(board);
	free(bargv);
	return status;
}
