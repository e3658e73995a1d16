/* A tiny JSON writer for event lines, audit records and --json output. Builds one document in a
 * growing buffer; strings are escaped (control characters, quotes, invalid UTF-8 bytes as \u00XX).
 *
 *   struct dd_json j; dd_json_init(&j);
 *   dd_json_begin_obj(&j, NULL);
 *   dd_json_str(&j, "event", "done"); dd_json_u64(&j, "bytes", n);
 *   dd_json_end_obj(&j);
 *   puts(dd_json_text(&j)); dd_json_free(&j);
 */
#ifndef DARTDUP_JSON_H
#define DARTDUP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dd_json {
	char *buf;
	size_t len, cap;
	bool need_comma;
	bool oom;
};

void dd_json_init(struct dd_json *j);
void dd_json_free(struct dd_json *j);
void dd_json_reset(struct dd_json *j);
/* The text so far ("" after an allocation failure: callers never print half a record). */
const char *dd_json_text(const struct dd_json *j);

/* key is NULL inside arrays and for the top level. */
void dd_json_begin_obj(struct dd_json *j, const char *key);
void dd_json_end_obj(struct dd_json *j);
void dd_json_begin_arr(struct dd_json *j, const char *key);
void dd_json_end_arr(struct dd_json *j);
void dd_json_str(struct dd_json *j, const char *key, const char *val); /* NULL -> null */
void dd_json_u64(struct dd_json *j, const char *key, uint64_t val);
void dd_json_i64(struct dd_json *j, const char *key, int64_t val);
void dd_json_double(struct dd_json *j, const char *key, double val, int decimals);
void dd_json_bool(struct dd_json *j, const char *key, bool val);
void dd_json_null(struct dd_json *j, const char *key);
/* bytes as lower-case hex string */
void dd_json_hex(struct dd_json *j, const char *key, const uint8_t *bytes, size_t n);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void dd_hex(char *out, const uint8_t *bytes, size_t n);
/* The reverse: 2n lowercase hex digits at s into n bytes; 0, or -1 at anything else (out partly written). */
int dd_unhex(const char *s, size_t n, uint8_t *out);

#endif
