/* Fuzz target: the board description file of the linux-gadget board (boards/linux-gadget/conf.c,
 * docs/BOARD.md): slots and port paths, button, lights, gadget identity, store, keys. A board
 * must refuse a bad file with one "file:line: ..." message, never crash on it. */
#include "fuzz_util.h"

#include <string.h>

#include "boards/linux-gadget/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct lg_conf *c = calloc(1, sizeof(*c));
	struct dd_err err;

	FUZZ_ASSERT(text && c);
	memcpy(text, data, size);
	text[size] = '\0';
	if (lg_conf_parse("fuzz.conf", text, c, &err) != DD_OK)
		FUZZ_ASSERT(!strncmp(err.msg, "fuzz.conf", 9));  /* every refusal names the file */
	free(c);
	free(text);
	return 0;
}
