/* Fuzz target: untrusted text on its way to a terminal (common/util/escape.c) and into JSON
 * (common/util/json.c). The input is the text; the first byte also picks a small buffer size, so cuts are
 * fuzzed too. Invariants, whatever the bytes:
 *   - dd_escape's output is inert: valid UTF-8 with no control, DEL, C1 or bidi/line mark, and it fits;
 *   - good text (UTF-8 without control characters or layout marks) that fits comes out unchanged;
 *   - dd_utf8_text_fix's output always passes dd_utf8_text_ok (the .dfi name rule);
 *   - a JSON string of the text is valid UTF-8, inert, and one line. */
#include "fuzz_util.h"

#include <string.h>

#include "util/escape.h"
#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_inert(const char *s, size_t cap)
{
	size_t n = strlen(s);

	FUZZ_ASSERT(n < cap);
	for (size_t i = 0; i < n;) {
		uint32_t c = 0;
		size_t k = dd_utf8_seq(s + i, n - i, &c);

		FUZZ_ASSERT(k && !dd_char_unsafe(c));
		i += k;
	}
}

static bool good_text(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint32_t c = 0;
		size_t k = dd_utf8_seq(p + i, n - i, &c);

		if (!k || dd_char_unsafe(c))
			return false;
		i += k;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char out[DD_ESC_CAP], small[64];
	size_t cap = size ? 1 + data[0] % sizeof(small) : 1;
	char *text = malloc(size + 1);
	struct dd_json j;

	FUZZ_ASSERT(text);
	memcpy(text, data, size);
	text[size] = '\0';

	dd_escape_n(out, sizeof(out), text, size);
	check_inert(out, sizeof(out));
	if (good_text(data, size) && size < sizeof(out))
		FUZZ_ASSERT(strlen(out) == size && !memcmp(out, data, size));
	dd_escape_n(small, cap, text, size);
	check_inert(small, cap);

	dd_utf8_text_fix(small, cap, text);
	FUZZ_ASSERT(strlen(small) < cap && dd_utf8_text_ok(small, strlen(small)));

	dd_json_init(&j);
	dd_json_str(&j, NULL, text);
	check_inert(dd_json_text(&j), (size_t)-1);
	FUZZ_ASSERT(j.oom || (dd_json_text(&j)[0] == '"' && !strchr(dd_json_text(&j), '\n')));
	dd_json_free(&j);
	free(text);
	return 0;
}
