/* The signed hash chain of a board's audit records (link/chain.h): an intact log verifies; a record
 * changed, removed, reordered, inserted from elsewhere or signed by another key is found, and named. */
#include "check.h"
#include "crypto/sign.h"
#include "link/chain.h"

#include <stdlib.h>
#include <string.h>

#define NREC 6
static char *rec[NREC];

/* NREC sealed records seq 1.., signed with key "board", the way a board's store writes them. */
static void make_log(void)
{
	static bool done;
	struct dd_signer *sg = NULL;
	uint8_t prev[DD_SHA256_LEN] = { 0 };
	char body[128];

	if (done)
		return;
	done = true;
	if (dd_keygen(check_path("board"), NULL) || dd_keygen(check_path("other"), NULL) ||
	    dd_signer_open(check_path("board.key"), &sg, NULL))
		return;
	for (unsigned i = 0; i < NREC; i++) {
		snprintf(body, sizeof(body), "{\"seq\":%u,\"board\":\"SIM-1\",\"result\":\"pass\",\"n\":%u", i + 1, i);
		if (dd_chain_seal(body, prev, sg, &rec[i], prev, NULL))
			break;
	}
	dd_signer_close(sg);
}

/* Verify the records order[0..n) (indexes into rec; -1: a line given in extra) with key. */
static int verify(const int *order, unsigned n, const char *extra, const char *key, struct dd_chain_result *res)
{
	FILE *f = tmpfile();
	int rc;

	if (!f)
		return -100;
	for (unsigned i = 0; i < n; i++)
		fprintf(f, "%s\n", order[i] < 0 ? extra : rec[order[i]]);
	rewind(f);
	rc = dd_chain_verify(f, "log", key, res, NULL);
	fclose(f);
	return rc;
}

TEST(intact_log_verifies)
{
	static const int all[NREC] = { 0, 1, 2, 3, 4, 5 }, tail[3] = { 3, 4, 5 };
	struct dd_chain_result res;
	struct dd_chain_rec r;

	make_log();
	CHECK(rec[NREC - 1]);
	CHECK(dd_chain_parse(rec[0], strlen(rec[0]), &r));
	CHECK_EQ_U64(r.seq, 1);
	CHECK_EQ_INT(verify(all, NREC, NULL, check_path("board.pub"), &res), DD_OK);
	CHECK_EQ_U64(res.records, NREC);
	CHECK_EQ_U64(res.first_seq, 1);
	CHECK_EQ_U64(res.last_seq, NREC);
	/* an export that starts later (older records dropped from the board) verifies from there */
	CHECK_EQ_INT(verify(tail, 3, NULL, check_path("board.pub"), &res), DD_OK);
	CHECK_EQ_U64(res.first_seq, 4);
}

TEST(changed_record_found)
{
	static const int order[NREC] = { 0, 1, -1, 3, 4, 5 };
	struct dd_chain_result res;
	char *bad;

	make_log();
	bad = strdup(rec[2]);
	CHECK(bad);
	memcpy(strstr(bad, "\"pass\""), "\"fail\"", 6);
	CHECK_EQ_INT(verify(order, NREC, bad, check_path("board.pub"), &res), DD_ECHECK);
	CHECK_EQ_U64(res.bad_line, 3);
	CHECK_EQ_U64(res.bad_seq, 3);
	CHECK_STR_CONTAINS(res.why, "signature");
	/* the signature itself changed */
	strcpy(bad, rec[2]);
	bad[strlen(bad) - 3] = bad[strlen(bad) - 3] == '0' ? '1' : '0';
	CHECK_EQ_INT(verify(order, NREC, bad, check_path("board.pub"), &res), DD_ECHECK);
	CHECK_EQ_U64(res.bad_seq, 3);
	free(bad);
}

TEST(removed_record_found)
{
	static const int order[NREC - 1] = { 0, 1, 3, 4, 5 };
	struct dd_chain_result res;

	make_log();
	CHECK_EQ_INT(verify(order, NREC - 1, NULL, check_path("board.pub"), &res), DD_ECHECK);
	CHECK_EQ_U64(res.bad_line, 3);
	CHECK_EQ_U64(res.bad_seq, 4);
	CHECK_STR_CONTAINS(res.why, "removed or reordered");
}

TEST(reordered_records_found)
{
	static const int order[NREC] = { 0, 2, 1, 3, 4, 5 };
	struct dd_chain_result res;

	make_log();
	CHECK_EQ_INT(verify(order, NREC, NULL, check_path("board.pub"), &res), DD_ECHECK);
	CHECK_EQ_U64(res.bad_line, 2);
	CHECK_EQ_U64(res.bad_seq, 3);
}

/* A record renumbered to fit (seq edited) fails its signature; one sealed anew by another key too; and a
 * record whose seq fits but does not chain (a forged prev) is named as not following the one before. */
TEST(forged_records_found)
{
	static const int order[3] = { 0, 1, -1 };
	struct dd_chain_result res;
	struct dd_signer *sg = NULL;
	uint8_t prev[DD_SHA256_LEN] = { 0 }, h[DD_SHA256_LEN];
	char *line = NULL;

	make_log();
	CHECK_EQ_INT(dd_signer_open(check_path("board.key"), &sg, NULL), DD_OK);
	/* seq 3 by the right key, but chained to nothing */
	CHECK_EQ_INT(dd_chain_seal("{\"seq\":3,\"board\":\"SIM-1\",\"result\":\"pass\"", prev, sg, &line, h, NULL), DD_OK);
	CHECK_EQ_INT(verify(order, 3, line, check_path("board.pub"), &res), DD_ECHECK);
	CHECK_EQ_U64(res.bad_seq, 3);
	CHECK_STR_CONTAINS(res.why, "does not chain");
	free(line);
	dd_signer_close(sg);
	/* the whole log checked with another board's key */
	CHECK_EQ_INT(verify(order, 2, NULL, check_path("other.pub"), &res), DD_ECHECK);
	CHECK_EQ_U64(res.bad_line, 1);
}

/* Not a log at all, no records, no usable key: bad input (nothing was checked), never a pass. */
TEST(bad_input_is_not_a_pass)
{
	static const int one[1] = { -1 }, none[1] = { 0 };
	struct dd_chain_result res;
	struct dd_err err = { 0 };
	FILE *f = tmpfile();

	make_log();
	CHECK_EQ_INT(verify(one, 1, "hello, not a log", check_path("board.pub"), &res), DD_EINPUT);
	CHECK_EQ_INT(verify(none, 0, NULL, check_path("board.pub"), &res), DD_EINPUT);
	CHECK_EQ_INT(verify(none, 1, NULL, check_path("nokey.pub"), &res), DD_EINPUT);
	CHECK_EQ_INT(verify(none, 1, NULL, check_path("board.key"), &res), DD_EINPUT); /* the private key is no .pub */
	/* one huge line: bounded memory, and refused */
	CHECK(f);
	for (unsigned i = 0; i < 100000; i++)
		fputs("xxxxxxxxxx", f);
	rewind(f);
	CHECK_EQ_INT(dd_chain_verify(f, "huge", check_path("board.pub"), &res, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "not an audit log");
	fclose(f);
}

int main(void)
{
	RUN(intact_log_verifies);
	RUN(changed_record_found);
	RUN(removed_record_found);
	RUN(reordered_records_found);
	RUN(forged_records_found);
	RUN(bad_input_is_not_a_pass);
	for (unsigned i = 0; i < NREC; i++)
		free(rec[i]);
	return check_done();
}
