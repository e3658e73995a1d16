/* dartdup audit verify LOG --board-key PUB: prove that a board's audit log (dartdup board log --json)
 * is whole: no record changed, removed or reordered (docs/AUDIT.md). A thin front end over link/chain.h. */
#include "host/cli.h"
#include "link/chain.h"
#include "util/escape.h"
#include "util/json.h"
#include "util/schema.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static void audit_usage(FILE *out)
{
	fprintf(out,
		"usage: dartdup audit verify LOG --board-key PUB [--json]\n"
		"\n"
		"Checks a board's audit log, as `dartdup board log --json > LOG` saved it: every record's\n"
		"signature with the board's audit public key (PUB: the PEM `dartdup board info` shows), and\n"
		"that each record holds the SHA-256 of the one before it with the next sequence number.\n"
		"A log may start past seq 1 (older records exported and dropped): it is checked from there.\n"
		"Records cut off at the end cannot be seen in one file: compare the last seq with the\n"
		"board's (dartdup board info) or a later export.\n"
		"\n"
		"exit status: 0 every record intact and in order, 1 a record changed, removed or\n"
		"reordered (the first bad one is named), 2 bad usage or input (no such file, not a log,\n"
		"not a key)\n");
}

static void report(const char *log, const struct dd_chain_result *res, int rc, bool json)
{
	struct dd_json j;

	if (!json) {
		if (!rc)
			printf("%s: %" PRIu64 " record(s), seq %" PRIu64 "..%" PRIu64 ": intact, in order, signed by the "
			       "board key\n", DD_ESC(log), res->records, res->first_seq, res->last_seq);
		else if (res->bad_seq)
			printf("%s: line %" PRIu64 ", record seq %" PRIu64 ": %s\n", DD_ESC(log), res->bad_line,
			       res->bad_seq, res->why);
		else
			printf("%s: line %" PRIu64 ": %s\n", DD_ESC(log), res->bad_line, res->why);
		return;
	}
	dd_json_init(&j);
	dd_json_begin_obj(&j, NULL);
	dd_json_schema(&j);
	dd_json_str(&j, "log", log);
	dd_json_str(&j, "result", rc ? "fail" : "pass");
	dd_json_u64(&j, "records", res->records);
	if (res->records) {
		dd_json_u64(&j, "first_seq", res->first_seq);
		dd_json_u64(&j, "last_seq", res->last_seq);
	}
	if (rc) {
		dd_json_u64(&j, "bad_line", res->bad_line);
		if (res->bad_seq)
			dd_json_u64(&j, "bad_seq", res->bad_seq);
		dd_json_str(&j, "why", res->why);
	}
	dd_json_end_obj(&j);
	puts(dd_json_text(&j));
	dd_json_free(&j);
}

static int verify(const char *log, const char *key, bool json)
{
	struct dd_chain_result res;
	struct dd_err err = { 0 };
	struct stat st;
	FILE *f;
	int rc;

	f = fopen(log, "re");
	if (!f) {
		cli_error("audit verify: %s: %s", log, strerror(errno));
		return 2;
	}
	/* a device or a fifo never ends: only a file is a log */
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
		fclose(f);
		cli_error("audit verify: %s: not a file", log);
		return 2;
	}
	rc = dd_chain_verify(f, log, key, &res, &err);
	fclose(f);
	if (rc && rc != DD_ECHECK) {
		cli_error("audit verify: %s", err.msg);
		return 2;
	}
	report(log, &res, rc, json);
	return rc ? 1 : 0;
}

int cmd_audit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "board-key", required_argument, NULL, 'k' }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },            { NULL, 0, NULL, 0 },
	};
	const char *key = NULL;
	bool json = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': key = optarg; break;
		case 'j': json = true; break;
		case 'h': audit_usage(stdout); return 0;
		default: audit_usage(stderr); return 2;
		}
	}
	if (argc - optind != 2 || strcmp(argv[optind], "verify") || !key) {
		audit_usage(stderr);
		return 2;
	}
	return verify(argv[optind + 1], key, json);
}
