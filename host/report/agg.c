/* dartdup report: audit records -> bounded tables (agg.h). JSON is read by json-c, never by hand. */
#include "host/report/agg.h"
#include "util/escape.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const rep_result_names[REP_RESULTS] = { "pass", "fail", "incomplete", "written", "refused", "skipped" };
const char *const rep_kind_names[REP_KINDS] = { "io", "mismatch", "counterfeit", "too_small", "refused",
						"pulled", "interrupted", "image", "other", "(unknown kind)" };
const double rep_speed_edges[REP_SPEED_BINS] = { 0, 2, 5, 10, 15, 20, 30, 50, 75, 100, 200, 400 };

static const char OTHER[] = "(other)", UNKNOWN[] = "(unknown)";

int rep_agg_init(struct rep_agg *a)
{
	memset(a, 0, sizeof(*a));
	a->hours = calloc(REP_MAX_HOURS, sizeof(*a->hours));
	/* records are flat objects: a deep document is damaged, not a reason to recurse */
	a->tok = json_tokener_new_ex(8);
	if (!a->hours || !a->tok) {
		rep_agg_free(a);
		return -1;
	}
	json_tokener_set_flags(a->tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	snprintf(a->ports[REP_MAX_PORTS].name, REP_NAME_MAX, "%s", OTHER);
	snprintf(a->models[REP_MAX_MODELS].name, REP_NAME_MAX, "%s", OTHER);
	return 0;
}

void rep_agg_free(struct rep_agg *a)
{
	free(a->hours);
	a->hours = NULL;
	if (a->tok)
		json_tokener_free(a->tok);
	a->tok = NULL;
}

void rep_clean(char *out, size_t cap, const char *s, size_t len)
{
	size_t o = 0, i = 0;

	while (i < len) {
		uint32_t cp;
		size_t n = dd_utf8_seq(s + i, len - i, &cp);

		if (n == 0 || cp == 0 || dd_char_unsafe(cp)) {
			if (o + 2 > cap)
				break;
			out[o++] = '?';
			i += n ? n : 1;
			continue;
		}
		if (o + n + 1 > cap)
			break;
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
}

void rep_agg_damaged(struct rep_agg *a, const char *file, uint64_t lineno, const char *why)
{
	struct rep_damaged *d;

	a->damaged++;
	if (a->n_damaged_shown >= REP_MAX_DAMAGED_SHOWN)
		return;
	d = &a->damaged_shown[a->n_damaged_shown++];
	rep_clean(d->file, sizeof(d->file), file, strlen(file));
	d->line = lineno;
	snprintf(d->why, sizeof(d->why), "%s", why);
}

/* A field: absent, null, or of the wanted type. -1: present with another type (the record is damaged). */
static int field(json_object *rec, const char *key, json_type want, json_object **out)
{
	json_object *v = NULL;

	*out = NULL;
	if (!json_object_object_get_ex(rec, key, &v) || !v)
		return 0;
	if (json_object_is_type(v, want) || (want == json_type_double && json_object_is_type(v, json_type_int))) {
		*out = v;
		return 0;
	}
	return -1;
}

static int name_index(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], s))
			return i;
	return -1;
}

static struct rep_port *port_row(struct rep_agg *a, const char *name)
{
	for (unsigned i = 0; i < a->n_ports; i++)
		if (!strcmp(a->ports[i].name, name))
			return &a->ports[i];
	if (a->n_ports == REP_MAX_PORTS) {
		a->ports_other++;
		return &a->ports[REP_MAX_PORTS];
	}
	snprintf(a->ports[a->n_ports].name, REP_NAME_MAX, "%s", name);
	return &a->ports[a->n_ports++];
}

static struct rep_model *model_row(struct rep_agg *a, const char *name)
{
	for (unsigned i = 0; i < a->n_models; i++)
		if (!strcmp(a->models[i].name, name))
			return &a->models[i];
	if (a->n_models == REP_MAX_MODELS)
		return &a->models[REP_MAX_MODELS];
	snprintf(a->models[a->n_models].name, REP_NAME_MAX, "%s", name);
	a->models[a->n_models].write.min = a->models[a->n_models].verify.min = -1;
	return &a->models[a->n_models++];
}

bool rep_agg_models_other(const struct rep_agg *a)
{
	return a->models[REP_MAX_MODELS].sticks > 0;
}

bool rep_agg_ports_other(const struct rep_agg *a)
{
	return a->ports_other > 0;
}

static void speed_add(struct rep_speed *s, double bytes, double seconds)
{
	double mbs;
	unsigned b = 0;

	if (bytes <= 0 || seconds < 0.001)
		return; /* nothing moved, or too fast to time: no speed */
	mbs = bytes / seconds / 1e6;
	while (b + 1 < REP_SPEED_BINS && mbs >= rep_speed_edges[b + 1])
		b++;
	s->bins[b]++;
	s->n++;
	s->sum += mbs;
	if (s->min < 0 || mbs < s->min)
		s->min = mbs;
	if (mbs > s->max)
		s->max = mbs;
}

static void offset_add(struct rep_agg *a, uint64_t off)
{
	uint64_t mib = off >> 20;
	unsigned b = mib ? 1 + (63 - (unsigned)__builtin_clzll(mib)) : 0;

	a->offsets[b < REP_OFFSET_BINS ? b : REP_OFFSET_BINS - 1]++;
}

/* "2026-12-01T20:10:36Z" -> hours since 1970; -1 when it is not that form. */
static int64_t hour_of(const char *s)
{
	struct tm tm = { 0 };
	char z = 0, end = 0;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
		   &tm.tm_sec, &z, &end) != 7 || z != 'Z')
		return -1;
	if (tm.tm_year < 1970 || tm.tm_year > 9999 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60 || tm.tm_hour < 0 ||
	    tm.tm_min < 0 || tm.tm_sec < 0)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) / 3600;
}

static void hour_add(struct rep_agg *a, int64_t h, bool pass)
{
	unsigned lo = 0, hi = a->n_hours;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (a->hours[mid].hour < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == a->n_hours || a->hours[lo].hour != h) {
		if (a->n_hours == REP_MAX_HOURS) {
			a->hours_dropped++;
			return;
		}
		memmove(&a->hours[lo + 1], &a->hours[lo], (a->n_hours - lo) * sizeof(*a->hours));
		a->hours[lo] = (struct rep_hour){ .hour = h };
		a->n_hours++;
	}
	a->hours[lo].total++;
	a->hours[lo].pass += pass;
}

static const char *str_or(json_object *v, const char *dflt)
{
	return v ? json_object_get_string(v) : dflt;
}

/* The record's fields, type-checked: NULL, or why it is damaged. */
struct rec {
	json_object *schema, *result, *kind, *port, *board, *vendor, *model, *time;
	json_object *bw, *bv, *ws, *vs, *fbo;
};

static const char *rec_read(json_object *o, struct rec *r)
{
	if (!json_object_is_type(o, json_type_object))
		return "not a JSON object";
	if (field(o, "schema", json_type_int, &r->schema) || field(o, "result", json_type_string, &r->result) ||
	    field(o, "kind", json_type_string, &r->kind) || field(o, "port", json_type_string, &r->port) ||
	    field(o, "board", json_type_string, &r->board) || field(o, "vendor", json_type_string, &r->vendor) ||
	    field(o, "model", json_type_string, &r->model) || field(o, "time", json_type_string, &r->time) ||
	    field(o, "bytes_written", json_type_int, &r->bw) || field(o, "bytes_verified", json_type_int, &r->bv) ||
	    field(o, "write_seconds", json_type_double, &r->ws) ||
	    field(o, "verify_seconds", json_type_double, &r->vs) ||
	    field(o, "first_bad_offset", json_type_int, &r->fbo))
		return "a field of the wrong type";
	if (r->schema && json_object_get_int64(r->schema) != 1)
		return "schema not understood (this dartdup reads 1)";
	if (!r->result)
		return "no result";
	if (name_index(rep_result_names, REP_RESULTS, json_object_get_string(r->result)) < 0)
		return "unknown result";
	return NULL;
}

static void rec_count(struct rep_agg *a, const struct rec *r)
{
	char name[2 * REP_NAME_MAX + 2], clean[REP_NAME_MAX];
	int res = name_index(rep_result_names, REP_RESULTS, json_object_get_string(r->result));
	int kind = -1;
	struct rep_model *m;
	struct rep_port *p;
	int64_t h;

	a->records++;
	a->by_result[res]++;
	if (r->kind) {
		kind = name_index(rep_kind_names, REP_K_UNKNOWN, json_object_get_string(r->kind));
		if (kind < 0)
			kind = REP_K_UNKNOWN;
		a->by_kind[kind]++;
	}
	if (r->board)
		snprintf(name, sizeof(name), "%s/%s", json_object_get_string(r->board), str_or(r->port, "?"));
	else
		snprintf(name, sizeof(name), "%s", str_or(r->port, UNKNOWN));
	rep_clean(clean, sizeof(clean), name, strlen(name));
	p = port_row(a, clean);
	p->by_result[res]++;

	if (r->vendor || r->model)
		snprintf(name, sizeof(name), "%s%s%s", str_or(r->vendor, ""), r->vendor && r->model ? " " : "",
			 str_or(r->model, ""));
	else
		snprintf(name, sizeof(name), "%s", UNKNOWN);
	rep_clean(clean, sizeof(clean), name, strlen(name));
	m = model_row(a, clean);
	m->sticks++;
	m->pass += res == REP_PASS;
	m->fail += res == REP_FAIL;
	m->counterfeit += kind == REP_K_COUNTERFEIT;
	if (r->bw && r->ws)
		speed_add(&m->write, (double)json_object_get_uint64(r->bw), json_object_get_double(r->ws));
	if (r->bv && r->vs)
		speed_add(&m->verify, (double)json_object_get_uint64(r->bv), json_object_get_double(r->vs));
	if (r->fbo)
		offset_add(a, json_object_get_uint64(r->fbo));

	h = r->time ? hour_of(json_object_get_string(r->time)) : -1;
	if (h < 0)
		a->no_time++;
	else
		hour_add(a, h, res == REP_PASS);
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

void rep_agg_line(struct rep_agg *a, const char *line, size_t len, const char *file, uint64_t lineno)
{
	struct rec r = { 0 };
	const char *why;
	json_object *o;
	size_t used;

	a->lines++;
	if (blank(line, len))
		return; /* an empty line (a log's last newline, an editor's) is no record and no damage */
	if (len > REP_LINE_MAX || memchr(line, '\0', len)) {
		rep_agg_damaged(a, file, lineno, len > REP_LINE_MAX ? "line too long" : "a NUL byte");
		return;
	}
	json_tokener_reset(a->tok);
	o = json_tokener_parse_ex(a->tok, line, (int)len);
	if (!o) {
		rep_agg_damaged(a, file, lineno, "not JSON");
		return;
	}
	used = json_tokener_get_parse_end(a->tok);
	why = !blank(line + used, len - used) ? "text after the record" : rec_read(o, &r);
	if (why)
		rep_agg_damaged(a, file, lineno, why);
	else
		rec_count(a, &r);
	json_object_put(o);
}

const char *rep_offset_label(char *out, size_t cap, unsigned i)
{
	static const char *const unit[] = { "MiB", "GiB", "TiB" };
	unsigned lo, hi, ul, uh;

	if (i == 0) {
		snprintf(out, cap, "< 1 MiB");
		return out;
	}
	lo = i - 1; /* [2^lo, 2^(lo+1)) MiB */
	hi = i;
	ul = lo / 10 < 2 ? lo / 10 : 2;
	uh = hi / 10 < 2 ? hi / 10 : 2;
	if (i == REP_OFFSET_BINS - 1)
		snprintf(out, cap, ">= %llu %s", 1ULL << (lo - 10 * ul), unit[ul]);
	else
		snprintf(out, cap, "%llu %s - %llu %s", 1ULL << (lo - 10 * ul), unit[ul], 1ULL << (hi - 10 * uh),
			 unit[uh]);
	return out;
}

const char *rep_speed_label(char *out, size_t cap, unsigned i)
{
	if (i + 1 == REP_SPEED_BINS)
		snprintf(out, cap, "%g+", rep_speed_edges[i]);
	else
		snprintf(out, cap, "%g-%g", rep_speed_edges[i], rep_speed_edges[i + 1]);
	return out;
}
