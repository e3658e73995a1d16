/* Prometheus metrics of a station, a write run or the boards attached to a PC, as a node_exporter
 * textfile-collector file (docs/FLEET.md). Pure bookkeeping and formatting: no I/O but the FILE the
 * caller hands metrics_format(), so it is unit-tested alone (tests/unit/test_metrics.c). The engine knows
 * nothing of it: host/fleet/out.c feeds it the engine's finished targets and the audit records.
 *
 * Label sets are bounded so a depot's Prometheus never grows without end: result and kind are the
 * schema's fixed words (anything else: "other"); the first METRICS_MAX_PORTS ports, METRICS_MAX_MODELS
 * vendor/model pairs and METRICS_MAX_BOARDS boards seen get a series of their own, later ones count under
 * "other". First seen, not top N: a counter never moves between series, so it never goes down. */
#ifndef DARTDUP_HOST_FLEET_METRICS_H
#define DARTDUP_HOST_FLEET_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define METRICS_MAX_PORTS 32
#define METRICS_MAX_MODELS 16
#define METRICS_MAX_BOARDS 32
#define METRICS_LABEL_MAX 64
#define METRICS_N_RESULTS 7   /* pass fail incomplete written refused skipped other */
#define METRICS_N_KINDS 10    /* none io mismatch counterfeit too_small refused pulled interrupted image other */
#define METRICS_N_BUCKETS 11  /* bytes per second: 1 MB/s .. 1 GB/s, then +Inf */
#define METRICS_N_PORT_STATES 8 /* the link's port states (docs/EVENTS.md) and "other" */

/* One finished stick: the audit record's fields the metrics need (strings may be NULL). */
struct metrics_stick {
	const char *result, *kind, *port, *vendor, *model;
	uint64_t bytes_written, bytes_verified;
	double write_seconds, verify_seconds;
	bool probed;  /* the run probed it (write/station --probe) */
};

struct metrics_hist {
	uint64_t bucket[METRICS_N_BUCKETS]; /* not cumulative here; metrics_format() sums them */
	uint64_t count;
	double sum;
};

struct metrics_series {
	char label[2][METRICS_LABEL_MAX]; /* port; or vendor, model; or board */
	uint64_t result[METRICS_N_RESULTS];
	uint64_t counterfeit;
};

struct metrics_board {
	char serial[METRICS_LABEL_MAX];
	bool up;                          /* the link answered at the last look */
	unsigned ports[METRICS_N_PORT_STATES];
};

struct metrics {
	uint64_t sticks[METRICS_N_RESULTS][METRICS_N_KINDS];
	struct metrics_series port[METRICS_MAX_PORTS + 1];   /* + "other" */
	unsigned n_ports;
	struct metrics_series model[METRICS_MAX_MODELS + 1]; /* + "other" */
	unsigned n_models;
	struct metrics_board board[METRICS_MAX_BOARDS];
	unsigned n_boards;
	uint64_t bytes_written, bytes_verified;
	struct metrics_hist write_speed, verify_speed;
	uint64_t probe_genuine, probe_counterfeit;
	bool have_image;
	char image_id[METRICS_LABEL_MAX + 1], image_name[METRICS_LABEL_MAX];
	double updated;                   /* Unix time of the file (set by the caller) */
};

void metrics_init(struct metrics *m);
void metrics_add_stick(struct metrics *m, const struct metrics_stick *s);
void metrics_set_image(struct metrics *m, const char *id_hex, const char *name);
/* A board's link state; port_states: the link's port state names of its ports (NULL when down). */
void metrics_set_board(struct metrics *m, const char *serial, bool up, const char *const *port_states,
		       unsigned n_ports);
/* The text exposition format (version 0.0.4); 0, or -1 when out failed. */
int metrics_format(const struct metrics *m, FILE *out);

#endif
