/* dartdup identify STICK [--known PKG.dfi]... [--pubkey PUB]... [--json]: which image a stick holds and
 * whether it is intact, read-only (a depot sorting returned sticks). host/identify.h finds the candidates
 * from a few blocks; the engine's verify_only policy proves the one it names by reading every block. */
#include "host/cli.h"
#include "host/identify.h"
#include "engine/engine.h"
#include "safety/door.h"
#include "source/source.h"
#include "util/escape.h"
#include "util/json.h"
#include "util/schema.h"
#include "util/version.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KNOWN 64
#define MAX_PUBS 16
#define EXIT_UNKNOWN 3

static void usage(FILE *f)
{
	fprintf(f,
		"usage: dartdup identify STICK [--known PKG.dfi]... [--pubkey KEY.pub]... [--json]\n"
		"Says which of the known packages a stick (a block device, a loop device or an image file)\n"
		"holds, and whether it is intact: block 0 (and, for versions that share it, the first block\n"
		"where they differ) picks the package, then every block of the image's range is read back and\n"
		"compared with the package's hashes. Read-only: nothing is written, the stick is opened for\n"
		"reading only.\n"
		"  -k, --known PKG.dfi   a package the stick may hold (repeat; at most %d)\n"
		"  -p, --pubkey KEY.pub  the packages must be signed by one of these keys (repeat)\n"
		"      --json            one JSON object\n"
		"exit status: 0 a known image, intact; 1 a known image, damaged or partial (or the stick could\n"
		"not be read to the end); 2 bad usage or bad input; 3 none of the known images\n", MAX_KNOWN);
}

struct identify {
	const char *stick;
	const char *known_path[MAX_KNOWN];
	const char *pubs[MAX_PUBS];
	size_t n_known, n_pubs;
	bool json;
	struct dd_source *known[MAX_KNOWN];
	bool keep[MAX_KNOWN], block0[MAX_KNOWN];
	int found;                          /* index of the package named, -1 none */
	bool intact;
	struct dd_target_status st;
};

static int parse_args(int argc, char **argv, struct identify *id)
{
	static const struct option longopts[] = {
		{ "known", required_argument, NULL, 'k' }, { "pubkey", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },         { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "k:p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (id->n_known == MAX_KNOWN) {
				cli_error("--known: at most %d packages", MAX_KNOWN);
				return 2;
			}
			id->known_path[id->n_known++] = optarg;
			break;
		case 'p':
			if (id->n_pubs == MAX_PUBS) {
				cli_error("--pubkey: at most %d keys", MAX_PUBS);
				return 2;
			}
			id->pubs[id->n_pubs++] = optarg;
			break;
		case 'j': id->json = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	id->stick = argv[optind];
	return 0;
}

static int open_known(struct identify *id, struct dd_err *err)
{
	struct dd_source_opts so = { .pubkeys = id->pubs, .n_pubkeys = id->n_pubs };
	int rc;

	for (size_t i = 0; i < id->n_known; i++) {
		if ((rc = dd_source_open(id->known_path[i], &so, &id->known[i], err)))
			return rc;
		if (strcmp(id->known[i]->info.format, "dfi"))
			return dd_fail(err, DD_EINPUT, "%s: --known takes .dfi packages (this is %s)", id->known_path[i],
				       id->known[i]->info.format);
	}
	return DD_OK;
}

/* Every block of the candidate's range read back (the engine's verify_only policy: nothing written). */
static bool verify(struct dd_target *t, struct dd_source *src, struct dd_target_status *st)
{
	struct dd_job job = { .src = src, .targets = &t, .n_targets = 1 };
	struct dd_err err;
	int rc;

	dd_policy_default(&job.policy);
	job.policy.verify_only = true;
	memset(st, 0, sizeof(*st));
	st->first_bad_offset = -1;
	rc = dd_engine_run(&job, st, &err);
	if (rc && !st->error[0])
		snprintf(st->error, sizeof(st->error), "%.255s", err.msg);
	return rc == DD_OK && st->result == DD_RESULT_PASS;
}

/* The candidates in turn: the first one that verifies is what the stick holds. None: the stick holds a
 * damaged copy of the first candidate (or of the first whose block 0 matched). */
static void judge(struct identify *id, struct dd_target *t)
{
	size_t left = host_identify_candidates(t, id->known, id->n_known, id->keep, id->block0);

	id->found = -1;
	for (size_t i = 0; i < id->n_known && left; i++) {
		if (!id->keep[i])
			continue;
		if (id->found < 0)
			id->found = (int)i;
		if (verify(t, id->known[i], &id->st)) {
			id->found = (int)i;
			id->intact = true;
			return;
		}
	}
	for (size_t i = 0; i < id->n_known && id->found < 0; i++)
		if (id->block0[i])
			id->found = (int)i;
	if (id->found >= 0 && !left)
		snprintf(id->st.error, sizeof(id->st.error), "block 0 is the image's, the rest is not");
}

static void report(const struct identify *id)
{
	const struct dd_image_info *in = id->found >= 0 ? &id->known[id->found]->info : NULL;
	const char *state = !in ? "unknown" : id->intact ? "intact" : "damaged";
	char hex[2 * DD_SHA256_LEN + 1] = "";

	if (in)
		dd_hex(hex, in->image_id, DD_SHA256_LEN);
	if (id->json) {
		struct dd_json j;

		dd_json_init(&j);
		dd_json_begin_obj(&j, NULL);
		dd_json_schema(&j);
		dd_json_str(&j, "stick", id->stick);
		dd_json_str(&j, "state", state);
		dd_json_str(&j, "package", in ? id->known_path[id->found] : NULL);
		dd_json_str(&j, "image_id", in ? hex : NULL);
		dd_json_str(&j, "name", in ? in->name : NULL);
		dd_json_str(&j, "version", in && in->version[0] ? in->version : NULL);
		dd_json_str(&j, "error", in && !id->intact && id->st.error[0] ? id->st.error : NULL);
		dd_json_end_obj(&j);
		puts(dd_json_text(&j));
		dd_json_free(&j);
		return;
	}
	if (!in) {
		printf("%s: unknown: none of the %zu known image(s)\n", DD_ESC(id->stick), id->n_known);
		return;
	}
	printf("%s: %s \"%s\" version %s, image id %s (%s)\n", DD_ESC(id->stick), state, DD_ESC(in->name),
	       dd_version_show(in->version), hex, DD_ESC(id->known_path[id->found]));
	if (!id->intact && id->st.error[0])
		printf("  %s\n", DD_ESC(id->st.error));
}

static int run(struct identify *id, struct dd_err *err)
{
	struct dd_door_opts door = {
		.read_only = true, .inputs = id->known_path, .n_inputs = (unsigned)id->n_known,
	};
	struct dd_door_target v;
	struct dd_target *t = NULL;
	int rc;

	if ((rc = open_known(id, err)))
		return rc;
	/* judged by common/safety as dartdup verify's targets are, and opened for reading only */
	if ((rc = dd_door_target(id->stick, &door, 0, &v, &t, err)))
		return rc;
	judge(id, t);
	dd_target_close(t);
	report(id);
	return DD_OK;
}

int cmd_identify(int argc, char **argv)
{
	struct identify *id = calloc(1, sizeof(*id));
	struct dd_err err = { 0 };
	int rc, status;

	if (!id)
		return 1;
	if ((status = parse_args(argc, argv, id))) {
		free(id);
		return status;
	}
	rc = run(id, &err);
	if (rc)
		cli_error("%s", err.msg);
	status = rc ? dd_exit_status(rc) : id->found < 0 ? EXIT_UNKNOWN : id->intact ? 0 : 1;
	for (size_t i = 0; i < id->n_known; i++)
		if (id->known[i])
			dd_source_close(id->known[i]);
	free(id);
	return status;
}
