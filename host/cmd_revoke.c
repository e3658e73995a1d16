/* dartdup revoke -o LIST --serial N --key DEPOT.key [--revoke-key PUB|ID]... [--revoke-image PKG|ID]...:
 * make a signed revocation list (common/release/revoke.h) for `dartdup board revoke` or a master stick. */
#include "host/cli.h"
#include "crypto/sign.h"
#include "format/dfi_reader.h"
#include "release/revoke.h"
#include "safety/door.h"
#include "util/escape.h"
#include "util/json.h"
#include "util/number.h"
#include "util/schema.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct revoke_args {
	const char *out, *key;
	uint64_t serial;
	bool json;
	size_t n_keys, n_images, n_inputs;
	uint8_t (*keys)[DD_SHA256_LEN], (*images)[DD_SHA256_LEN];
	const char **inputs;               /* every file named: never the output */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: dartdup revoke -o LIST --serial N --key DEPOT.key [--revoke-key PUB|KEYID]...\n"
		"                      [--revoke-image PKG.dfi|IMAGEID]... [--json]\n"
		"Makes a signed revocation list: a board that takes it (dartdup board revoke LIST) refuses\n"
		"every package signed by a revoked key and every revoked image or firmware bundle, and no\n"
		"longer writes a stored image it revokes (docs/SECURITY.md \"Revocation\").\n"
		"  -o, --output LIST       the list to write (a file; never a device, never an input)\n"
		"  -s, --serial N          1 and up; a board takes only a list newer than its own: give each new\n"
		"                          list a higher serial, and list again everything still revoked\n"
		"  -k, --key DEPOT.key     sign with this depot key (one the boards trust, not a revoked one)\n"
		"      --revoke-key X      a key to revoke: its .pub file, or its key id (64 hex digits)\n"
		"      --revoke-image X    an image or bundle to revoke: the .dfi, or its image id (64 hex)\n"
		"      --json              print the result as one JSON object\n"
		"exit status: 0 written, 1 I/O failed, 2 bad usage or bad input\n");
}

/* 64 lower- or upper-case hex digits. */
static bool parse_id(const char *s, uint8_t id[DD_SHA256_LEN])
{
	if (strlen(s) != 2 * DD_SHA256_LEN)
		return false;
	for (size_t i = 0; i < DD_SHA256_LEN; i++) {
		unsigned v;

		if (!strchr("0123456789abcdefABCDEF", s[2 * i]) || !strchr("0123456789abcdefABCDEF", s[2 * i + 1]) ||
		    sscanf(s + 2 * i, "%2x", &v) != 1)
			return false;
		id[i] = (uint8_t)v;
	}
	return true;
}

static int add_key(struct revoke_args *a, const char *arg, struct dd_err *err)
{
	int rc;

	if (a->n_keys + a->n_images >= DD_REVOKE_MAX)
		return dd_fail(err, DD_EUSAGE, "at most %d keys and images in one list", DD_REVOKE_MAX);
	if (parse_id(arg, a->keys[a->n_keys])) {
		a->n_keys++;
		return DD_OK;
	}
	if ((rc = dd_pubkey_id(arg, a->keys[a->n_keys], err)))
		return rc;
	a->inputs[a->n_inputs++] = arg;
	a->n_keys++;
	return DD_OK;
}

static int add_image(struct revoke_args *a, const char *arg, struct dd_err *err)
{
	struct dfi_open_opts o = { 0 };
	struct dfi_reader *r;
	int rc;

	if (a->n_keys + a->n_images >= DD_REVOKE_MAX)
		return dd_fail(err, DD_EUSAGE, "at most %d keys and images in one list", DD_REVOKE_MAX);
	if (parse_id(arg, a->images[a->n_images])) {
		a->n_images++;
		return DD_OK;
	}
	if ((rc = dfi_open(arg, &o, &r, err)))
		return rc;
	memcpy(a->images[a->n_images++], r->image_id, DD_SHA256_LEN);
	dfi_close(r);
	a->inputs[a->n_inputs++] = arg;
	return DD_OK;
}

static int parse_args(int argc, char **argv, struct revoke_args *a, struct dd_err *err)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },     { "serial", required_argument, NULL, 's' },
		{ "key", required_argument, NULL, 'k' },        { "revoke-key", required_argument, NULL, 'K' },
		{ "revoke-image", required_argument, NULL, 'I' }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },             { 0 },
	};
	int c, rc = DD_OK;

	optind = 1;
	while (!rc && (c = getopt_long(argc, argv, "o:s:k:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': a->out = optarg; break;
		case 'k': a->key = optarg; a->inputs[a->n_inputs++] = optarg; break;
		case 'j': a->json = true; break;
		case 'K': rc = add_key(a, optarg, err); break;
		case 'I': rc = add_image(a, optarg, err); break;
		case 's':
			if (dd_parse_u64(optarg, DD_REVOKE_SERIAL_MAX, &a->serial) || !a->serial)
				rc = dd_fail(err, DD_EUSAGE, "--serial %s: must be a number from 1 to %lld", DD_ESC(optarg),
					     (long long)DD_REVOKE_SERIAL_MAX);
			break;
		case 'h': usage(stdout); exit(0);
		default: return dd_fail(err, DD_EUSAGE, "see dartdup revoke --help");
		}
	}
	if (rc)
		return rc;
	if (optind != argc || !a->out || !a->key || !a->serial)
		return dd_fail(err, DD_EUSAGE, "revoke needs -o LIST, --serial N and --key DEPOT.key (dartdup revoke "
			       "--help)");
	return DD_OK;
}

static int write_list(const struct revoke_args *a, const char *text, size_t len, struct dd_err *err)
{
	ssize_t w;
	int fd, rc;

	if ((rc = dd_door_open_output(a->out, a->inputs, (unsigned)a->n_inputs, O_WRONLY, DD_DOOR_TRUNC, 0644, &fd,
				      err)))
		return rc;
	w = write(fd, text, len);
	rc = w == (ssize_t)len ? DD_OK : dd_fail_errno(err, DD_EIO, w < 0 ? errno : EIO, "%s", a->out);
	if (close(fd) && !rc)
		rc = dd_fail_errno(err, DD_EIO, errno, "%s", a->out);
	return rc;
}

static void report(const struct revoke_args *a, const char *text, size_t len)
{
	uint8_t id[DD_SHA256_LEN];
	const char *sig = text + len - 1;
	char hex[2 * DD_SHA256_LEN + 1];

	/* the list id: every byte before the signature line (the last one) */
	while (sig > text && sig[-1] != '\n')
		sig--;
	dd_sha256(text, (size_t)(sig - text), id);
	dd_hex(hex, id, DD_SHA256_LEN);
	if (!a->json) {
		printf("%s: revocation list serial %llu, %zu key(s), %zu image(s), signed; list id %s\n",
		       DD_ESC(a->out), (unsigned long long)a->serial, a->n_keys, a->n_images, hex);
		return;
	}
	struct dd_json j;

	dd_json_init(&j);
	dd_json_begin_obj(&j, NULL);
	dd_json_schema(&j);
	dd_json_str(&j, "list", a->out);
	dd_json_u64(&j, "serial", a->serial);
	dd_json_u64(&j, "keys", a->n_keys);
	dd_json_u64(&j, "images", a->n_images);
	dd_json_str(&j, "id", hex);
	dd_json_end_obj(&j);
	puts(dd_json_text(&j));
	dd_json_free(&j);
}

int cmd_revoke(int argc, char **argv)
{
	struct revoke_args a = { 0 };
	struct dd_err err = { 0 };
	char *text = NULL;
	size_t len = 0;
	int rc = DD_ENOMEM;

	a.keys = calloc(DD_REVOKE_MAX, DD_SHA256_LEN);
	a.images = calloc(DD_REVOKE_MAX, DD_SHA256_LEN);
	a.inputs = calloc((size_t)argc + 1, sizeof(*a.inputs));
	if (!a.keys || !a.images || !a.inputs)
		dd_fail(&err, DD_ENOMEM, "out of memory");
	else if (!(rc = parse_args(argc, argv, &a, &err)) &&
		 !(rc = dd_revocation_make(a.serial, (const uint8_t(*)[DD_SHA256_LEN])a.keys, a.n_keys,
					   (const uint8_t(*)[DD_SHA256_LEN])a.images, a.n_images, a.key, &text, &len,
					   &err)))
		rc = write_list(&a, text, len, &err);
	if (!rc)
		report(&a, text, len);
	else
		cli_error("%s", err.msg);
	free(text);
	free(a.keys);
	free(a.images);
	free(a.inputs);
	return dd_exit_status(rc);
}
