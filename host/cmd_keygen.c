/* dartdup keygen -o NAME: an ECDSA P-256 key pair for signing packages. */
#include "host/cli.h"
#include "crypto/sign.h"
#include "util/escape.h"
#include "util/json.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void keygen_usage(FILE *out)
{
	fprintf(out,
		"usage: dartdup keygen -o NAME\n"
		"\n"
		"Makes an ECDSA P-256 key pair: NAME.key (private, PEM, mode 0600) and NAME.pub (public, PEM).\n"
		"Sign packages with `dartdup pack --key NAME.key`; check them with `inspect --pubkey NAME.pub`.\n"
		"Existing files are never overwritten; nothing is ever created under /dev.\n"
		"\n"
		"exit status: 0 ok, 2 bad usage or the files exist\n");
}

int cmd_keygen(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *name = NULL;
	uint8_t id[DD_SHA256_LEN];
	char hex[2 * DD_SHA256_LEN + 1], pub[4096];
	struct dd_err err = { 0 };
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': name = optarg; break;
		case 'h': keygen_usage(stdout); return 0;
		default: keygen_usage(stderr); return 2;
		}
	}
	if (!name || optind != argc) {
		keygen_usage(stderr);
		return 2;
	}
	rc = dd_keygen(name, &err);
	if (rc) {
		cli_error("%s", err.msg);
		return dd_exit_status(rc);
	}
	snprintf(pub, sizeof(pub), "%s.pub", name);
	if (dd_pubkey_id(pub, id, &err) == DD_OK) {
		dd_hex(hex, id, sizeof(id));
		printf("wrote %s.key (private, keep it safe) and %s\nkey id %s\n", DD_ESC(name), DD_ESC(pub), hex);
	}
	return 0;
}
