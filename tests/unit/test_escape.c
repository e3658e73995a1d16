/* Untrusted text on a terminal (common/util/escape.c) and in JSON (util/json.c): every class of
 * util/escape.h is shown escaped, good text passes unchanged, a cut never splits a character or an
 * escape, and no input gives an output a terminal would act on. */
#include "check.h"
#include "util/escape.h"
#include "util/json.h"

#include <stdlib.h>

static const char *esc(const char *s)
{
	static char out[DD_ESC_CAP];

	return dd_escape(out, sizeof(out), s);
}

/* Nothing a terminal acts on: no C0, no DEL, no C1, no layout mark, only valid UTF-8. */
static bool inert(const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		uint32_t c;
		size_t k = dd_utf8_seq(s + i, n - i, &c);

		if (!k || dd_char_unsafe(c))
			return false;
		i += k;
	}
	return true;
}

TEST(plain_text_passes)
{
	CHECK(!strcmp(esc("DaRT 10 x64 (build 2)"), "DaRT 10 x64 (build 2)"));
	CHECK(!strcmp(esc("C:\\path\\x1b"), "C:\\path\\x1b")); /* a backslash is shown as it is */
	CHECK(!strcmp(esc(""), ""));
	CHECK(!strcmp(dd_escape((char[8]){ 0 }, 8, NULL), ""));
}

TEST(valid_utf8_passes)
{
	/* 2, 3 and 4 byte forms, the first and last of each range */
	const char *s = "\xc3\x84pfel \xce\xa3igma \xe2\x82\xac \xf0\x9f\x92\xbe \xc2\xa0 \xef\xbf\xbf \xf4\x8f\xbf\xbf";

	CHECK(!strcmp(esc(s), s));
}

TEST(c0_controls_and_del)
{
	CHECK(!strcmp(esc("a\x1b[2Jb"), "a\\x1b[2Jb"));
	CHECK(!strcmp(esc("line\nforged: ok"), "line\\x0aforged: ok"));
	CHECK(!strcmp(esc("\t\r\x01\x1f\x7f"), "\\x09\\x0d\\x01\\x1f\\x7f"));
	CHECK(!strcmp(esc("\x1b]0;title\x07"), "\\x1b]0;title\\x07"));
}

TEST(c1_controls)
{
	/* CSI (U+009B), NEL (U+0085), OSC (U+009D), U+0080 and U+009F: both bytes escaped */
	CHECK(!strcmp(esc("a\xc2\x9b" "2Jb"), "a\\xc2\\x9b2Jb"));
	CHECK(!strcmp(esc("\xc2\x85\xc2\x9d\xc2\x80\xc2\x9f"), "\\xc2\\x85\\xc2\\x9d\\xc2\\x80\\xc2\\x9f"));
	/* the raw C1 bytes alone are not UTF-8: escaped as such */
	CHECK(!strcmp(esc("\x9b" "2J"), "\\x9b2J"));
}

TEST(layout_marks)
{
	CHECK(!strcmp(esc("evil\xe2\x80\xaetxt.exe"), "evil\\xe2\\x80\\xaetxt.exe")); /* RLO U+202E */
	CHECK(!strcmp(esc("\xe2\x80\xa8"), "\\xe2\\x80\\xa8"));                        /* U+2028 */
	CHECK(!strcmp(esc("\xe2\x81\xa6\xe2\x81\xa9"), "\\xe2\\x81\\xa6\\xe2\\x81\\xa9")); /* U+2066, U+2069 */
	CHECK(!strcmp(esc("\xe2\x80\x8e\xe2\x80\x8f"), "\\xe2\\x80\\x8e\\xe2\\x80\\x8f")); /* LRM, RLM */
	CHECK(!strcmp(esc("\xe2\x80\x8d"), "\xe2\x80\x8d")); /* a joiner is not a layout mark: shown */
}

TEST(invalid_utf8)
{
	CHECK(!strcmp(esc("caf\xe9.iso"), "caf\\xe9.iso"));         /* Latin-1 */
	CHECK(!strcmp(esc("\x80x"), "\\x80x"));                     /* stray continuation */
	CHECK(!strcmp(esc("\xe2\x82"), "\\xe2\\x82"));              /* cut short at the end */
	CHECK(!strcmp(esc("\xe2\x82x"), "\\xe2\\x82x"));            /* cut short before ASCII */
	CHECK(!strcmp(esc("\xc0\xaf"), "\\xc0\\xaf"));              /* overlong '/' */
	CHECK(!strcmp(esc("\xe0\x80\xaf"), "\\xe0\\x80\\xaf"));     /* overlong, 3 bytes */
	CHECK(!strcmp(esc("\xf0\x80\x80\xaf"), "\\xf0\\x80\\x80\\xaf"));
	CHECK(!strcmp(esc("\xed\xa0\x80"), "\\xed\\xa0\\x80"));     /* surrogate U+D800 */
	CHECK(!strcmp(esc("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80")); /* U+110000 */
	CHECK(!strcmp(esc("\xf5\xff\xfe"), "\\xf5\\xff\\xfe"));
	/* an escaped overlong ESC cannot come back as ESC */
	CHECK(!strcmp(esc("\xc0\x9b"), "\\xc0\\x9b"));
}

TEST(nul_bytes_in_a_counted_string)
{
	char out[64];

	CHECK(!strcmp(dd_escape_n(out, sizeof(out), "a\0b", 3), "a\\x00b"));
}

TEST(cut_between_whole_pieces)
{
	char out[12];

	/* "abcdefgh\x1b" needs 13 bytes: cut before the escape, "..." in its place */
	CHECK(!strcmp(dd_escape(out, sizeof(out), "abcdefgh\x1bzz"), "abcdefgh..."));
	CHECK(!strcmp(dd_escape(out, sizeof(out), "\x1b\x1b\x1b\x1b"), "\\x1b\\x1b..."));
	/* a UTF-8 character is kept whole or left out */
	CHECK(!strcmp(dd_escape(out, sizeof(out), "abcdefg\xe2\x82\xac" "ab"), "abcdefg..."));
	/* exactly full: no cut mark */
	CHECK(!strcmp(dd_escape(out, sizeof(out), "abcdefghijk"), "abcdefghijk"));
	/* too small for "...": still terminated, still whole pieces */
	CHECK(!strcmp(dd_escape(out, 3, "\x1b"), ""));
	CHECK(!strcmp(dd_escape(out, 3, "ab\x1b"), "ab"));
	CHECK(!strcmp(dd_escape(out, 1, "abc"), ""));
	/* the largest name dartdup keeps, all escapes, fits DD_ESC_CAP whole */
	char name[256];
	memset(name, 0x1b, 255);
	name[255] = '\0';
	CHECK(strlen(esc(name)) == 4 * 255);
}

/* Random bytes: the output is always inert, never longer than the buffer, and good text is unchanged. */
TEST(random_inputs_are_inert)
{
	char in[300], out[DD_ESC_CAP];

	for (uint64_t seed = 1; seed <= 20000; seed++) {
		size_t n = 1 + seed % (sizeof(in) - 1);

		check_fill_random(in, n, seed);
		if (seed % 3 == 0) /* bias toward the interesting bytes */
			for (size_t i = 0; i < n; i++)
				in[i] = (char)(0x7b + ((unsigned char)in[i] % 0x30));
		dd_escape_n(out, sizeof(out), in, n);
		CHECK(inert(out));
		CHECK(strlen(out) < sizeof(out));
		if (dd_utf8_text_ok(in, n) && !memchr(in, 0, n)) {
			bool layout = false;

			for (size_t i = 0; i < n;) {
				uint32_t c;
				size_t k = dd_utf8_seq(in + i, n - i, &c);

				layout |= dd_char_unsafe(c);
				i += k;
			}
			if (!layout)
				CHECK(strlen(out) == n && !memcmp(out, in, n));
		}
	}
}

TEST(text_rule_of_the_formats)
{
	CHECK(dd_utf8_text_ok("DaRT 10 \xc3\x84", 10));
	CHECK(dd_utf8_text_ok("", 0));
	CHECK(dd_utf8_text_ok("a\xe2\x80\xae", 4)); /* layout marks are text; escaped only when shown */
	CHECK(!dd_utf8_text_ok("a\x1b", 2));
	CHECK(!dd_utf8_text_ok("a\n", 2));
	CHECK(!dd_utf8_text_ok("a\x7f", 2));
	CHECK(!dd_utf8_text_ok("a\xc2\x9b", 3));
	CHECK(!dd_utf8_text_ok("caf\xe9", 4));
	CHECK(!dd_utf8_text_ok("\xe2\x82", 2));
	CHECK(!dd_utf8_text_ok("\xed\xa0\x80", 3));
	CHECK(!dd_utf8_text_ok("\xc0\xaf", 2));
	CHECK(!dd_utf8_text_ok("a\0b", 3));
	/* a sequence is judged within n: the byte after it does not complete it */
	CHECK(!dd_utf8_text_ok("\xc3\x84", 1));
}

TEST(text_fix_replaces_and_cuts_whole)
{
	char out[8];

	CHECK(!strcmp(dd_utf8_text_fix(out, sizeof(out), "a\x1b" "b\xe9"), "a?b?"));
	CHECK(!strcmp(dd_utf8_text_fix(out, sizeof(out), "\xc2\x9b" "x"), "?x"));
	CHECK(!strcmp(dd_utf8_text_fix(out, sizeof(out), "abcde\xe2\x82\xac"), "abcde")); /* no half euro */
	CHECK(dd_utf8_text_ok(out, strlen(out)));
	CHECK(!strcmp(dd_utf8_text_fix(out, sizeof(out), NULL), ""));
}

TEST(json_strings_are_valid_and_inert)
{
	struct dd_json j;
	const char *t;

	dd_json_init(&j);
	dd_json_begin_obj(&j, NULL);
	dd_json_str(&j, "s", "a\x1b[2J\n\x7f\xc2\x9b\xe2\x80\xae\xe9\xed\xa0\x80\xc0\xaf\"\\\xc3\x84");
	dd_json_end_obj(&j);
	t = dd_json_text(&j);
	CHECK(!strcmp(t, "{\"s\":\"a\\u001b[2J\\u000a\\u007f\\u009b\\u202e\\u00e9\\u00ed\\u00a0\\u0080"
			 "\\u00c0\\u00af\\\"\\\\\xc3\x84\"}"));
	CHECK(inert(t));
	dd_json_free(&j);
}

int main(void)
{
	RUN(plain_text_passes);
	RUN(valid_utf8_passes);
	RUN(c0_controls_and_del);
	RUN(c1_controls);
	RUN(layout_marks);
	RUN(invalid_utf8);
	RUN(nul_bytes_in_a_counted_string);
	RUN(cut_between_whole_pieces);
	RUN(random_inputs_are_inert);
	RUN(text_rule_of_the_formats);
	RUN(text_fix_replaces_and_cuts_whole);
	RUN(json_strings_are_valid_and_inert);
	return check_done();
}
