/* dartdup verify-release DIR --pubkey depot.pub: the folder of a build (--format winre|wds) is the
 * release its signed RELEASE.txt lists: every file there, none changed. common/release/release.h. */
#include "host/cli.h"
#include "release/release.h"
#include "util/escape.h"
#include "util/json.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "util/schema.h"

#define MAX_PUBS 16

static void usage(FILE *f)
{
	fprintf(f,
		"usage: dartdup verify-release DIR --pubkey KEY.pub [--pubkey KEY2.pub ...] [--json]\n"
		"Checks DIR/" DD_RELEASE_FILE ": its signature by one of the keys, then the size and SHA-256 of\n"
		"every file it lists.\n"
		"exit status: 0 every file intact, 1 a file missing or changed (named), 2 bad usage, no or a\n"
		"damaged manifest, unsigned or signed by another key\n");
}

static void print_json(const char *dir, const struct dd_release *rel, int rc)
{
	struct dd_json j;

	dd_json_init(&j);
	dd_json_begin_obj(&j, NULL);
	dd_json_schema(&j);
	dd_json_str(&j, "event", "release_verified");
	dd_json_str(&j, "dir", dir);
	dd_json_bool(&j, "ok", !rc);
	dd_json_hex(&j, "release_id", rel->id, DD_SHA256_LEN);
	dd_json_hex(&j, "source_sha256", rel->source_sha256, DD_SHA256_LEN);
	dd_json_hex(&j, "key_id", rel->key_id, DD_SHA256_LEN);
	dd_json_begin_arr(&j, "files");
	for (size_t i = 0; i < rel->n_files; i++) {
		dd_json_begin_obj(&j, NULL);
		dd_json_str(&j, "name", rel->files[i].name);
		dd_json_u64(&j, "size", rel->files[i].size);
		dd_json_hex(&j, "sha256", rel->files[i].sha256, DD_SHA256_LEN);
		if (rel->files[i].has_image_id)
			dd_json_hex(&j, "image_id", rel->files[i].image_id, DD_SHA256_LEN);
		dd_json_str(&j, "problem", rel->files[i].problem);
		dd_json_end_obj(&j);
	}
	dd_json_end_arr(&j);
	dd_json_end_obj(&j);
	puts(dd_json_text(&j));
	dd_json_free(&j);
}

int cmd_verify_release(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pubkey", required_argument, NULL, 'p' }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },         { 0 },
	};
	const char *pubs[MAX_PUBS];
	struct dd_release rel;
	struct dd_err err = { 0 };
	char hex[2 * DD_SHA256_LEN + 1];
	size_t n_pubs = 0;
	bool json = false;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (n_pubs == MAX_PUBS) {
				cli_error("--pubkey: at most %d keys", MAX_PUBS);
				return 2;
			}
			pubs[n_pubs++] = optarg;
			break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc || !n_pubs) {
		usage(stderr);
		return 2;
	}
	rc = dd_release_verify(argv[optind], pubs, n_pubs, &rel, &err);
	if (rc && rc != DD_ECHECK) {
		cli_error("%s", err.msg);
		return dd_exit_status(rc);
	}
	if (json)
		print_json(argv[optind], &rel, rc);
	for (size_t i = 0; i < rel.n_files; i++)
		if (rel.files[i].problem)
			cli_error("%s/%s: %s", argv[optind], rel.files[i].name, rel.files[i].problem);
		else if (!json && rel.files[i].has_image_id) {
			dd_hex(hex, rel.files[i].image_id, DD_SHA256_LEN);
			printf("ok %s (image id %s)\n", rel.files[i].name, hex);
		} else if (!json)
			printf("ok %s\n", rel.files[i].name);
	if (rc)
		return dd_exit_status(rc);
	if (!json) {
		char kid[2 * DD_SHA256_LEN + 1];

		dd_hex(hex, rel.id, DD_SHA256_LEN);
		dd_hex(kid, rel.key_id, DD_SHA256_LEN);
		printf("release %s: %zu files intact, signed by key %.16s...\n", hex, rel.n_files, kid);
	}
	return 0;
}
