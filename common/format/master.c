/* The master stick's files (format/master.h): batch.conf, the export's names and its CSV rows. Pure
 * text work, no I/O: unit-tested in tests/unit/test_master.c. */
#include "format/master.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- batch.conf --------------------------------------------------------------------------- */

static int bad_line(const char *name, unsigned line, struct dd_err *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int bad_line(const char *name, unsigned line, struct dd_err *err, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return dd_fail(err, DD_EINPUT, "%s:%u: %s", name, line, what);
}

bool dd_master_parse_time(const char *s, int64_t *t)
{
	int y, mo, d, h, mi, se, n = 0;
	struct tm tm = { 0 };
	time_t v;

	if (strlen(s) != 20 || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 || n != 20)
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59 || y < 1970)
		return false;
	for (int i = 0; i < 20; i++) /* sscanf takes signs and spaces: the form is digits only */
		if (i != 4 && i != 7 && i != 10 && i != 13 && i != 16 && i != 19 && !isdigit((unsigned char)s[i]))
			return false;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	v = timegm(&tm);
	if (v == (time_t)-1 || tm.tm_mday != d) /* 31 February comes back as March */
		return false;
	*t = (int64_t)v;
	return true;
}

static int yes_no(const char *name, unsigned line, const char *key, const char *v, int *out, struct dd_err *err)
{
	if (*out != DD_MASTER_UNSET)
		return bad_line(name, line, err, "%s given twice", key);
	if (!strcmp(v, "yes"))
		*out = DD_MASTER_YES;
	else if (!strcmp(v, "no"))
		*out = DD_MASTER_NO;
	else
		return bad_line(name, line, err, "%s must be yes or no", key);
	return DD_OK;
}

static int text_value(const char *name, unsigned line, const char *key, const char *v, bool *has, char *dst,
		      size_t cap, struct dd_err *err)
{
	if (*has)
		return bad_line(name, line, err, "%s given twice", key);
	if (strlen(v) >= cap)
		return bad_line(name, line, err, "%s is longer than %zu bytes", key, cap - 1);
	snprintf(dst, cap, "%s", v);
	*has = true;
	return DD_OK;
}

static int batch_key(const char *name, unsigned line, const char *key, const char *v, struct dd_master_batch *b,
		     struct dd_err *err)
{
	if (!strcmp(key, "batch"))
		return text_value(name, line, key, v, &b->has_batch, b->batch, sizeof(b->batch), err);
	if (!strcmp(key, "operator"))
		return text_value(name, line, key, v, &b->has_operator, b->operator_, sizeof(b->operator_), err);
	if (!strcmp(key, "probe"))
		return yes_no(name, line, key, v, &b->probe, err);
	if (!strcmp(key, "sanitize"))
		return yes_no(name, line, key, v, &b->sanitize, err);
	if (strcmp(key, "time"))
		return bad_line(name, line, err, "unknown key (batch, operator, probe, sanitize, time)");
	if (b->has_time)
		return bad_line(name, line, err, "time given twice");
	if (!dd_master_parse_time(v, &b->time))
		return bad_line(name, line, err, "time must be UTC as 2026-12-02T09:30:00Z");
	b->has_time = true;
	return DD_OK;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* One line (NUL-terminated, no newline). */
static int batch_line(const char *name, unsigned no, char *line, struct dd_master_batch *b, struct dd_err *err)
{
	char *eq, *key, *v = trim(line);

	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return bad_line(name, no, err, "a control character");
	if (!*v || *v == '#')
		return DD_OK;
	eq = strchr(v, '=');
	if (!eq)
		return bad_line(name, no, err, "not \"key = value\"");
	*eq = '\0';
	key = trim(v);
	return batch_key(name, no, key, trim(eq + 1), b, err);
}

int dd_master_batch_parse(const char *name, const char *text, size_t len, struct dd_master_batch *b,
			  struct dd_err *err)
{
	char *copy, *line, *next;
	unsigned no = 0;
	int rc = DD_OK;

	memset(b, 0, sizeof(*b));
	b->probe = b->sanitize = DD_MASTER_UNSET;
	if (len > DD_MASTER_BATCH_MAX)
		return dd_fail(err, DD_EINPUT, "%s: over %d bytes", name, DD_MASTER_BATCH_MAX);
	if (memchr(text, '\0', len))
		return dd_fail(err, DD_EINPUT, "%s: holds a NUL byte (not a text file)", name);
	copy = strndup(text, len);
	if (!copy)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	/* a UTF-8 BOM (Windows Notepad) is not part of the first key */
	line = strncmp(copy, "\xEF\xBB\xBF", 3) ? copy : copy + 3;
	for (; !rc && line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		rc = batch_line(name, ++no, line, b, err);
	}
	free(copy);
	return rc;
}

void dd_master_export_name(const char *serial, const char *ext, char *out, size_t len)
{
	size_t n = (size_t)snprintf(out, len, "audit-%s", serial);

	for (size_t i = 6; i < n && i < len; i++)
		if (!isalnum((unsigned char)out[i]) && out[i] != '.' && out[i] != '-' && out[i] != '_')
			out[i] = '_';
	if (n < len)
		snprintf(out + n, len - n, ".%s", ext);
}

/* --- CSV ---------------------------------------------------------------------------------- */

static const char *const columns[] = {
	"seq", "board", "time", "time_source", "port_number", "port", "target", "vendor", "model", "serial",
	"capacity", "usb_speed_mbps", "stick_id", "stick_nonce", "batch", "operator", "image_name", "image_id",
	"mode", "result", "kind", "reason", "error", "bytes_written", "bytes_skipped", "bytes_verified",
	"first_bad_offset", "write_seconds", "verify_seconds", "host", "tool_version", "schema", "prev", "sig",
};
#define N_COLUMNS (sizeof(columns) / sizeof(columns[0]))

const char *dd_master_csv_header(void)
{
	/* the UTF-8 byte order mark: Excel reads the file as UTF-8 only with it */
	return "\xEF\xBB\xBF"
	       "seq,board,time,time_source,port_number,port,target,vendor,model,serial,capacity,usb_speed_mbps,"
	       "stick_id,stick_nonce,batch,operator,image_name,image_id,mode,result,kind,reason,error,bytes_written,"
	       "bytes_skipped,bytes_verified,first_bad_offset,write_seconds,verify_seconds,host,tool_version,schema,"
	       "prev,sig\r\n";
}

/* A growing text buffer. */
struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);

		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void put_utf8(struct buf *b, unsigned cp)
{
	char u[4];

	if (cp < 0x80) {
		u[0] = (char)cp;
		put(b, u, 1);
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3F));
		put(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		put(b, u, 3);
	} else {
		u[0] = (char)(0xF0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		put(b, u, 4);
	}
}

struct cursor {
	const char *p, *end;
};

static void skip_ws(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static bool hex4(struct cursor *c, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++, c->p++) {
		if (c->p >= c->end || !isxdigit((unsigned char)*c->p))
			return false;
		*v = *v << 4 | (unsigned)(isdigit((unsigned char)*c->p) ? *c->p - '0' : (tolower(*c->p) - 'a' + 10));
	}
	return true;
}

/* A JSON string at c->p (the opening quote), unescaped into out (NULL: skipped). */
static bool json_string(struct cursor *c, struct buf *out)
{
	static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";
	unsigned cp, lo;

	if (c->p >= c->end || *c->p++ != '"')
		return false;
	while (c->p < c->end && *c->p != '"') {
		const char *e;

		if (*c->p != '\\') {
			if (out)
				put(out, c->p, 1);
			c->p++;
			continue;
		}
		if (++c->p >= c->end)
			return false;
		if ((e = strchr(esc_in, *c->p)) && *c->p) {
			if (out)
				put(out, &esc_out[e - esc_in], 1);
			c->p++;
			continue;
		}
		if (*c->p++ != 'u' || !hex4(c, &cp))
			return false;
		if (cp >= 0xD800 && cp < 0xDC00 && c->end - c->p >= 6 && c->p[0] == '\\' && c->p[1] == 'u') {
			c->p += 2;
			if (!hex4(c, &lo) || lo < 0xDC00 || lo > 0xDFFF)
				return false;
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		}
		if (out)
			put_utf8(out, cp);
	}
	if (c->p >= c->end)
		return false;
	c->p++;
	return true;
}

/* Any other value: its text as it stands (numbers, true/false; objects and arrays whole). */
static bool json_raw(struct cursor *c, struct buf *out)
{
	const char *start = c->p;
	int depth = 0;

	while (c->p < c->end) {
		char ch = *c->p;

		if (ch == '"') {
			if (!json_string(c, NULL))
				return false;
			continue;
		}
		if (!depth && (ch == ',' || ch == '}' || ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'))
			break;
		if (ch == '{' || ch == '[')
			depth++;
		else if ((ch == '}' || ch == ']') && --depth < 0)
			return false;
		c->p++;
	}
	if (depth || c->p == start)
		return false;
	if (c->p - start != 4 || memcmp(start, "null", 4)) /* null: an empty cell */
		put(out, start, (size_t)(c->p - start));
	return true;
}

/* One cell: quoted when it holds a comma, quote, CR or LF (RFC 4180); a text that a spreadsheet would
 * run as a formula gets a leading apostrophe. */
static void put_cell(struct buf *row, const char *v, bool text)
{
	bool quote = strpbrk(v, ",\"\r\n") != NULL;

	if (quote)
		put(row, "\"", 1);
	if (text && v[0] && strchr("=+-@\t\r", v[0]))
		put(row, "'", 1);
	for (const char *p = v; *p; p++) {
		put(row, p, 1);
		if (*p == '"') /* a quote is doubled */
			put(row, "\"", 1);
	}
	if (quote)
		put(row, "\"", 1);
}

static int column_of(const char *key)
{
	for (unsigned i = 0; i < N_COLUMNS; i++)
		if (!strcmp(columns[i], key))
			return (int)i;
	return -1;
}

/* The record's fields into cells[] (by column); false when it is not a JSON object. */
static bool parse_record(struct cursor *c, struct buf *cells, bool *text)
{
	struct buf key = { 0 }, val = { 0 };
	bool ok = false;

	skip_ws(c);
	if (c->p >= c->end || *c->p++ != '{')
		return false;
	for (;;) {
		int col;
		bool is_text;

		key.len = val.len = 0;
		skip_ws(c);
		if (!json_string(c, &key) || (skip_ws(c), c->p >= c->end) || *c->p++ != ':')
			break;
		skip_ws(c);
		is_text = c->p < c->end && *c->p == '"';
		if (!(is_text ? json_string(c, &val) : json_raw(c, &val)))
			break;
		put(&key, "", 0);
		put(&val, "", 0);
		col = key.oom || val.oom ? -1 : column_of(key.p ? key.p : "");
		if (col >= 0 && !cells[col].len) {
			put(&cells[col], val.p ? val.p : "", val.len);
			text[col] = is_text;
		}
		skip_ws(c);
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			continue;
		}
		ok = c->p < c->end && *c->p == '}';
		break;
	}
	free(key.p);
	free(val.p);
	return ok;
}

char *dd_master_csv_row(const char *rec, size_t len)
{
	struct cursor c = { rec, rec + len };
	struct buf cells[N_COLUMNS], row = { 0 };
	bool text[N_COLUMNS] = { false }, ok;

	memset(cells, 0, sizeof(cells));
	ok = parse_record(&c, cells, text);
	for (unsigned i = 0; ok && i < N_COLUMNS; i++) {
		if (i)
			put(&row, ",", 1);
		put_cell(&row, cells[i].p ? cells[i].p : "", text[i]);
		ok = !cells[i].oom;
	}
	if (ok)
		put(&row, "\r\n", 2);
	for (unsigned i = 0; i < N_COLUMNS; i++)
		free(cells[i].p);
	if (!ok || row.oom) {
		free(row.p);
		return NULL;
	}
	return row.p;
}
