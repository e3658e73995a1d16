/* Which known image a stick holds, by reading as little of it as possible (dartdup identify, and the
 * station's "upgraded"): a known package is a candidate when the stick's block 0 has its block-0 hash;
 * candidates that share block 0 (versions of one image often do: the first MiB is the boot code and the
 * partition table) are told apart by the first block where their hashes differ, read from the stick.
 * Read-only: the target is only read. A guess, not a proof: proving it takes reading every block
 * (identify does, with the engine's verify_only policy). */
#ifndef DARTDUP_HOST_IDENTIFY_H
#define DARTDUP_HOST_IDENTIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "source/source.h"
#include "target/target.h"

/* Marks in keep[i] (n entries) the known images the stick's sampled blocks match, and in block0[i] (may be
 * NULL) those whose block 0 alone matches (a damaged copy may match there and not further). Returns how
 * many keep[] holds. */
size_t host_identify_candidates(struct dd_target *t, struct dd_source *const *known, size_t n, bool *keep,
				bool *block0);

#endif
