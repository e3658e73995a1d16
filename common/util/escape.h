/* Untrusted text on a terminal, and the UTF-8 rules of the formats' text fields.
 *
 * Names from packages, ISOs, boards, sysfs and udev reach the terminal in messages, tables and views. A
 * name holding ESC or CSI can move the cursor, rewrite earlier lines, set the window title or (on some
 * terminals) answer back; a newline forges a line. dd_escape() makes such text inert: it passes printable
 * ASCII and valid UTF-8, and writes every other byte as \xNN (two lower-case hex digits):
 *   - C0 controls 0x00-0x1F (tab, newline and ESC included) and DEL 0x7F;
 *   - the C1 controls U+0080-U+009F (both bytes of their UTF-8 form: CSI U+009B shows as \xc2\x9b);
 *   - the Unicode controls that reorder or break a line: U+200E, U+200F, U+2028, U+2029, U+202A-U+202E,
 *     U+2066-U+2069 (all three bytes);
 *   - bytes that are not UTF-8: a stray continuation byte, a sequence cut short, overlong forms,
 *     surrogates (U+D800-U+DFFF), code points above U+10FFFF, 0xC0, 0xC1, 0xF5-0xFF (byte by byte).
 * A backslash passes unchanged: the escapes are for a human reading a line, not a reversible encoding.
 * JSON output needs none of this: util/json.c writes the same characters as \uXXXX (a byte that is not
 * UTF-8 as \u00NN), so a JSON line is valid UTF-8 and inert on a terminal.
 *
 * dd_utf8_text_ok() is the rule for text fields a format declares as UTF-8 (the .dfi name and tool,
 * docs/FORMAT.md): valid UTF-8, no C0, DEL or C1 controls. */
#ifndef DARTDUP_ESCAPE_H
#define DARTDUP_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Enough for any name dartdup keeps (255 bytes at most) fully escaped (4 bytes for each). */
#define DD_ESC_CAP 1024

/* Length (1-4) of the valid UTF-8 sequence at s, of at most avail bytes, and its code point in *cp (may be
 * NULL); 0 when s does not start a valid sequence (or avail is 0). Strict: no overlong forms, no
 * surrogates, nothing above U+10FFFF. Stops at a NUL, which is never a continuation byte. */
size_t dd_utf8_seq(const void *s, size_t avail, uint32_t *cp);

/* The code point is one dd_escape shows escaped: a C0, DEL or C1 control, or a mark that reorders or breaks a
 * line (the list above). */
bool dd_char_unsafe(uint32_t cp);

/* The n bytes at p are valid UTF-8 without C0 controls, DEL or C1 controls. */
bool dd_utf8_text_ok(const void *p, size_t n);

/* Escaped copy of the NUL-terminated s (NULL: "") into out (cap bytes, cap > 0), always NUL-terminated.
 * Cut only between whole characters or escapes; a cut copy ends with "..." (when cap allows). Returns out. */
char *dd_escape(char *out, size_t cap, const char *s);

/* Like dd_escape for the first n bytes of s (NUL bytes in them shown as \x00). */
char *dd_escape_n(char *out, size_t cap, const char *s, size_t n);

/* Copy of s for a field that must be UTF-8 text (dd_utf8_text_ok) into out (cap bytes, cap > 0): each
 * control character and each byte that is not UTF-8 becomes '?'; a cut falls between characters. For
 * names dartdup derives (a file's name, an ISO's volume id); a name the user typed is refused instead. */
char *dd_utf8_text_fix(char *out, size_t cap, const char *s);

/* An escaped copy of s in a buffer that lives until the end of the enclosing block, for printf arguments:
 *   printf("image %s\n", DD_ESC(name));
 * (a compound literal: each use is its own DD_ESC_CAP-byte buffer on the stack). */
#define DD_ESC(s) dd_escape((char[DD_ESC_CAP]){ 0 }, DD_ESC_CAP, (s))

#endif
