/* The signed hash chain of a board's audit records (docs/AUDIT.md), shared by the board that seals
 * records and `dartdup audit verify` that checks them. A sealed record is one line of JSON:
 *
 *   {"seq":N,"board":"SERIAL",<the record's fields>,"prev":"<64 hex>","sig":"<hex>"}
 *
 *   prev   the SHA-256 of the previous record's whole line (its bytes, without the newline);
 *          64 zeros for the board's first record (seq 1)
 *   sig    the board's ECDSA P-256 signature (DER, hex) over the SHA-256 of the record's body: every
 *          byte before ',"sig":"'
 *
 * So a changed record fails its signature; a removed, inserted or reordered one breaks the next
 * record's prev and the seq run; and every record stands on its own signature (a log that starts at
 * seq > 1, because older records were exported and dropped, still verifies from its first record). */
#ifndef DARTDUP_LINK_CHAIN_H
#define DARTDUP_LINK_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "crypto/sign.h"
#include "hash/sha256.h"
#include "util/err.h"

#define DD_CHAIN_LINE_MAX 65535 /* a record travels in LOG with a u16 length */

/* Seal a record: body_open is a JSON object without its closing '}' ("{\"seq\":1,...,\"x\":2").
 * *line (malloc'd) gets the sealed record, *line_hash its SHA-256 (the next record's prev). */
int dd_chain_seal(const char *body_open, const uint8_t prev[DD_SHA256_LEN], struct dd_signer *signer,
		  char **line, uint8_t line_hash[DD_SHA256_LEN], struct dd_err *err);

/* The parts of a sealed record (pointers into the line). false: not a sealed record. */
struct dd_chain_rec {
	uint64_t seq;
	uint8_t prev[DD_SHA256_LEN];
	uint8_t sig[DD_SIG_MAX];
	size_t sig_len;
	size_t body_len;      /* bytes the signature covers */
};
bool dd_chain_parse(const char *line, size_t len, struct dd_chain_rec *r);

/* What dd_chain_verify found. */
struct dd_chain_result {
	uint64_t records;     /* records checked */
	uint64_t first_seq, last_seq;
	uint64_t bad_line;    /* the first bad record's line number (1-based), 0 if none */
	uint64_t bad_seq;     /* its seq, when it has one */
	char why[300];        /* what is wrong with it */
};

/* Check every record of the log in `in` (one record a line, as `dartdup board log --json` writes it)
 * against the board's public key file. DD_OK: every record intact and in order. DD_ECHECK: res names
 * the first bad record. DD_EINPUT: no usable key, or nothing that is a log (err says why). */
int dd_chain_verify(FILE *in, const char *name, const char *pub_path, struct dd_chain_result *res,
		    struct dd_err *err);

#endif
