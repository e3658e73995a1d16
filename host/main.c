/* dartdup: the host CLI. A thin dispatcher; every command lives in host/cmd_<name>.c. */
#include "host/cli.h"
#include "util/escape.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct command {
	const char *name;
	dd_cmd_fn fn;
	const char *summary;
};

static const struct command commands[] = {
	{ "build", cmd_build, "turn a DaRT recovery ISO into a bootable stick image (.dfi)" },
	{ "pack", cmd_pack, "pack a raw or .zst disk image into a signed .dfi package" },
	{ "inspect", cmd_inspect, "show a .dfi package; check its signature and every block" },
	{ "keygen", cmd_keygen, "make an ECDSA P-256 signing key pair" },
	{ "list", cmd_list, "list disks and whether each may be written" },
	{ "write", cmd_write, "write and verify an image onto many sticks at once" },
	{ "verify", cmd_verify, "re-verify sticks against an image, read-only" },
	{ "verify-release", cmd_verify_release, "check a build's folder against its signed RELEASE.txt" },
	{ "station", cmd_station, "turn this PC into a duplicator: write every stick plugged in" },
	{ "ports", cmd_ports, "name the USB sockets: learn a port map, check one (docs/PORTS.md)" },
	{ "board", cmd_board, "drive a dartdup duplicator board" },
	{ "master", cmd_master, "prepare a master stick image for a board without a PC" },
	{ "report", cmd_report, "turn audit logs into one HTML report (and CSV) for a depot" },
	{ "revoke", cmd_revoke, "make a signed revocation list of keys and images for the boards" },
	{ "identify", cmd_identify, "say which image a stick holds and whether it is intact, read-only" },
	{ "audit", cmd_audit, "verify a board's signed audit log (dartdup audit verify LOG --board-key PUB)" },
};

/* Messages quote names from ISOs, packages, boards and sticks: the whole line is escaped (util/escape.h),
 * so it stays one line whatever a name holds, and no name can drive the terminal. */
void cli_error(const char *fmt, ...)
{
	char msg[2048], shown[4 * sizeof(msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "dartdup: %s\n", dd_escape(shown, sizeof(shown), msg));
}

static void usage(FILE *out)
{
	fprintf(out, "usage: dartdup COMMAND [OPTIONS]   (dartdup COMMAND --help for details)\n"
		     "       dartdup --version | -V | version\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-14s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nexit status: 0 ok, 1 a check failed, 2 bad usage or bad input\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V") || !strcmp(argv[1], "version")) {
		if (argc > 2) {
			cli_error("%s: takes no arguments", argv[1]);
			return 2;
		}
		printf("dartdup %s\n", DARTDUP_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		return commands[i].fn(argc - 1, argv + 1);
	}
	cli_error("%s: unknown command (try dartdup --help)", argv[1]);
	return 2;
}
