/* dartdup report: the figures of a report, aggregated from audit records (docs/EVENTS.md) one line at a
 * time. Memory is bounded by these tables, never by the size of the logs: the sets that come from the
 * records (ports, models, hours) have a fixed cap, and what falls beyond it is counted in one "(other)" row
 * (ports, models) or as hours not shown. Strings from the records are untrusted: they are kept cut to
 * REP_NAME_MAX bytes, with every control, line or bidi mark and non-UTF-8 byte replaced by '?'; the
 * renderers escape them again for HTML and CSV. */
#ifndef DARTDUP_HOST_REPORT_AGG_H
#define DARTDUP_HOST_REPORT_AGG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REP_NAME_MAX 96          /* bytes kept of a vendor+model, port or file name */
#define REP_MAX_PORTS 256
#define REP_MAX_MODELS 256
#define REP_MAX_HOURS (24 * 400) /* a bit over a year of hourly buckets */
#define REP_MAX_DAMAGED_SHOWN 20 /* damaged lines listed by name and number; all are counted */
#define REP_LINE_MAX 65536       /* a longer line is damaged (records are a few hundred bytes) */
#define REP_SPEED_BINS 12        /* MB/s bins: rep_speed_edges[] */
#define REP_OFFSET_BINS 24       /* first bad offset: < 1 MiB, then one bin per power of two up to >= 2^22 MiB */

enum rep_result { REP_PASS, REP_FAIL, REP_INCOMPLETE, REP_WRITTEN, REP_REFUSED, REP_SKIPPED, REP_RESULTS };
enum rep_kind {
	REP_K_IO, REP_K_MISMATCH, REP_K_COUNTERFEIT, REP_K_TOO_SMALL, REP_K_REFUSED, REP_K_PULLED,
	REP_K_INTERRUPTED, REP_K_IMAGE, REP_K_OTHER, REP_K_UNKNOWN, REP_KINDS
};

extern const char *const rep_result_names[REP_RESULTS];
extern const char *const rep_kind_names[REP_KINDS];
extern const double rep_speed_edges[REP_SPEED_BINS]; /* bin i: edges[i] <= MB/s < edges[i+1] (last: open) */

struct rep_port {
	char name[REP_NAME_MAX];
	uint64_t by_result[REP_RESULTS];
};

struct rep_speed {
	uint64_t n, bins[REP_SPEED_BINS];
	double sum, min, max; /* MB/s (10^6 bytes per second) */
};

struct rep_model {
	char name[REP_NAME_MAX]; /* "vendor model" */
	uint64_t sticks, pass, fail, counterfeit;
	struct rep_speed write, verify;
};

struct rep_hour {
	int64_t hour; /* Unix time / 3600 */
	uint64_t total, pass;
};

struct rep_damaged {
	char file[REP_NAME_MAX];
	uint64_t line;
	char why[64];
};

struct rep_agg {
	uint64_t files, lines, records, damaged;
	uint64_t by_result[REP_RESULTS];
	uint64_t by_kind[REP_KINDS];
	uint64_t no_time;        /* records without a usable `time`: not in the hourly figure */
	uint64_t hours_dropped;  /* records in hours beyond REP_MAX_HOURS distinct hours */
	uint64_t offsets[REP_OFFSET_BINS];
	struct rep_port ports[REP_MAX_PORTS + 1];    /* the last one is "(other)" */
	unsigned n_ports;
	uint64_t ports_other;
	struct rep_model models[REP_MAX_MODELS + 1]; /* the last one is "(other)" */
	unsigned n_models;
	struct rep_hour *hours;  /* sorted by hour; at most REP_MAX_HOURS */
	unsigned n_hours;
	struct rep_damaged damaged_shown[REP_MAX_DAMAGED_SHOWN];
	void *tok;               /* the json-c parser, reused line after line */
	unsigned n_damaged_shown;
};

/* 0, or -1 when out of memory. */
int rep_agg_init(struct rep_agg *a);
void rep_agg_free(struct rep_agg *a);

/* One line of an audit log (without its newline; len bytes, may hold NULs). file and lineno name it
 * for the damaged-line list. Never fails: a line that is not a record is counted as damaged. */
void rep_agg_line(struct rep_agg *a, const char *line, size_t len, const char *file, uint64_t lineno);

/* A line too long to read (its start is dropped by the reader): counted as damaged. */
void rep_agg_damaged(struct rep_agg *a, const char *file, uint64_t lineno, const char *why);

/* The model row "(other)" / port row "(other)" is in use. */
bool rep_agg_models_other(const struct rep_agg *a);
bool rep_agg_ports_other(const struct rep_agg *a);

/* Label of offset bin i ("< 1 MiB", "1-2 MiB", ..., ">= 4 TiB") into out. */
const char *rep_offset_label(char *out, size_t cap, unsigned i);
/* Label of speed bin i ("0-5", "500+") into out. */
const char *rep_speed_label(char *out, size_t cap, unsigned i);

/* out: s made safe as said above (controls, marks, bad UTF-8 -> '?'), cut at a character boundary. */
void rep_clean(char *out, size_t cap, const char *s, size_t len);

#endif
