/* policy: what a job promises, and the one place that decides, block by block, how the engine keeps
 * the promise. write, verify, station (its "already holds the image" check included) and the board
 * all run the engine with this policy; none decides on its own which blocks to touch.
 *
 * The promise of a PASS: every byte of the image's range on the target equals the image, whatever the
 * target held before. So:
 *  - every block is verified by reading it back (zero blocks included): DD_CHECK_HASH, or for an
 *    all-zero image block DD_CHECK_ZEROS (every byte zero proves what the manifest's hash of zeros
 *    would, at memory speed);
 *  - an all-zero image block is read from the target first and zeros are written only where the target
 *    is not already zero (sticks read faster than they write; a fresh stick costs no write there);
 *    policy.full writes it like any other block, no read-first shortcut;
 *  - block 0 is cleared first and written and verified last, zero or not. */
#ifndef DARTDUP_POLICY_H
#define DARTDUP_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "source/source.h"
#include "util/err.h"

struct dd_policy {
	bool verify;        /* default true */
	bool verify_only;   /* read-only verification (dartdup verify, the station's "already" check) */
	bool full;          /* write every block, zero blocks too, without reading them first */
	int retries;        /* per failing block; default 2 */
	bool probe;         /* counterfeit-capacity probe before writing */
	bool sanitize;      /* before writing: zeros over the whole target past the image's range, read
	                       back (engine.h); the image's range gets the image, verified as always */
};

void dd_policy_default(struct dd_policy *p);

/* The policy from words, in one place: the keys a board's description file, a batch file and the
 * command line's flags of write, station and `board start` share, so that nothing decides the policy
 * twice. Keys: "probe", "sanitize", "full" (value yes|no; NULL, a flag: yes) and "retries" (0..100).
 * DD_EUSAGE with "KEY VALUE: expected ..." or "KEY: not a policy key" (the front end puts its "--" or
 * "file:line: " in front); p is untouched then. */
int dd_policy_set(struct dd_policy *p, const char *key, const char *value, struct dd_err *err);
bool dd_policy_is_key(const char *key);

/* p, made at least as strict as more: a check either asks for (probe, sanitize, full) is run, the
 * larger retries count wins; verify and verify_only stay p's. The board's effective policy is its
 * description file's merged with what the job's request (START, a batch file) asks. */
void dd_policy_merge(struct dd_policy *p, const struct dd_policy *more);

/* How the write phase treats image block i. */
enum dd_block_write {
	DD_WRITE_DATA,          /* write the image's bytes */
	DD_WRITE_ZERO_IF_DIRTY, /* all-zero image block: read the target's first, write zeros unless all zero */
	DD_WRITE_LAST,          /* block 0: cleared first, written and verified after every other block */
};

enum dd_block_write dd_policy_write(const struct dd_policy *p, const struct dd_image_info *info, uint64_t i);

/* How the verification proves image block i on the target (every block is read back: no "skip"). */
enum dd_block_check {
	DD_CHECK_HASH,  /* SHA-256 of what the target holds equals the manifest's */
	DD_CHECK_ZEROS, /* all-zero image block: every byte the target holds is zero */
};

enum dd_block_check dd_policy_check(const struct dd_policy *p, const struct dd_image_info *info, uint64_t i);

#endif
