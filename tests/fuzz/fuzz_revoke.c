/* Fuzz target: a revocation list as a board receives it (common/release/revoke.c, over the link's REVOKE or
 * from a master stick), checked with the fuzz key (build/fuzz/keys/fuzz.pub, made by tests/fuzz/make-seeds;
 * the seeds are lists it signed). Invariants, whatever the bytes: no crash, no read past the input, and a
 * list that is taken has a serial from 1 up, at most DD_REVOKE_MAX entries, each found by its lookup. */
#include "fuzz_util.h"

#include <string.h>

#include "release/revoke.h"

static char pubkey[PATH_MAX];
static struct dd_revocation rl;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_key_path(pubkey, sizeof(pubkey)); /* none: inputs are checked without a key */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *keys[1] = { pubkey };
	struct dd_err err = { 0 };
	/* an exact-size copy, so a read past the list's end is ASan's to see */
	uint8_t *copy = malloc(size ? size : 1);

	if (!copy)
		abort();
	if (size)
		memcpy(copy, data, size);
	if (dd_revocation_parse(copy, size, keys, pubkey[0] ? 1 : 0, "fuzz", &rl, &err) == DD_OK) {
		FUZZ_ASSERT(rl.serial >= 1 && rl.serial <= DD_REVOKE_SERIAL_MAX);
		FUZZ_ASSERT(rl.n_keys + rl.n_images <= DD_REVOKE_MAX);
		for (size_t i = 0; i < rl.n_keys; i++)
			FUZZ_ASSERT(dd_revocation_has_key(&rl, rl.keys[i]));
		for (size_t i = 0; i < rl.n_images; i++)
			FUZZ_ASSERT(dd_revocation_has_image(&rl, rl.images[i]));
	} else {
		FUZZ_ASSERT(err.msg[0]);
	}
	free(copy);
	return 0;
}
