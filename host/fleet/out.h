/* What a depot's own tools read (docs/FLEET.md): the node_exporter textfile of --metrics FILE and the
 * audit record of every stick in the system log (--log-to syslog|journal). One struct for write, station
 * and board; safe to call from several threads (the station's jobs). */
#ifndef DARTDUP_HOST_FLEET_OUT_H
#define DARTDUP_HOST_FLEET_OUT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "engine/audit.h"
#include "host/fleet/metrics.h"

enum fleet_log_to { FLEET_LOG_NONE, FLEET_LOG_SYSLOG, FLEET_LOG_JOURNAL };

struct fleet_out {
	/* set by the caller */
	const char *metrics_path;        /* --metrics FILE; NULL: none */
	enum fleet_log_to log_to;        /* --log-to */
	const char *const *inputs;       /* the run's inputs: the metrics file is never one of them */
	unsigned n_inputs;
	bool probed;                     /* --probe: sticks that pass count as genuine */
	/* state */
	pthread_mutex_t lock;
	struct metrics *m;
	bool open;
	unsigned failures;               /* metrics files or system-log records that could not be written */
	char error[512];                 /* the first such failure */
};

/* "syslog" or "journal"; -1 (and one line on stderr) for anything else. */
int fleet_parse_log_to(const char *arg, enum fleet_log_to *out);

/* Judges the metrics path (common/safety's door: an output, never an input), checks that the journal is
 * built in; DD_OK or DD_EUSAGE/DD_ESAFETY with err. Nothing to do when neither option was given. */
int fleet_out_open(struct fleet_out *f, struct dd_err *err);
void fleet_out_close(struct fleet_out *f);
bool fleet_out_active(const struct fleet_out *f);

/* The image in use (the info metric); writes the metrics file. */
void fleet_out_image(struct fleet_out *f, const uint8_t *image_id, const char *image_name);

/* One finished stick: its audit record to the system log, its counts to the metrics, the file
 * rewritten. */
void fleet_out_stick(struct fleet_out *f, const struct dd_audit_job *aj, const struct dd_target_identity *id,
		     const struct dd_target_status *st);

/* A board's audit record as it sent it (JSON): counted in the metrics (not rewritten: call
 * fleet_out_flush) and/or sent to the system log. false when it is not a JSON object. */
bool fleet_out_board_record(struct fleet_out *f, const char *text, size_t len, bool count, bool to_log);
void fleet_out_board(struct fleet_out *f, const char *serial, bool up, const char *const *port_states,
		     unsigned n_ports);

/* Writes path atomically: render() into path.tmp (a stale one removed first, the new one created
 * exclusively through common/safety's door), fsync, rename over path (judged again just before). */
int fleet_write_atomic(const char *path, const char *const *inputs, unsigned n_inputs,
		       int (*render)(FILE *f, const void *ctx), const void *ctx, struct dd_err *err);

/* Rewrites the metrics file now: FILE.tmp beside it, fsync, rename over FILE. */
void fleet_out_flush(struct fleet_out *f);

#endif
