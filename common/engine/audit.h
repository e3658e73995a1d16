/* Audit records: one JSON line per target and job, appended to a log (`dartdup write --log`,
 * the board's persistent store). Shared so the PC tool and the board write the same records. */
#ifndef DARTDUP_AUDIT_H
#define DARTDUP_AUDIT_H

#include <time.h>

#include "engine/events.h"
#include "util/err.h"
#include "util/json.h"

struct dd_audit_job {
	time_t time;                 /* when the job ran; 0 = now */
	const char *host;            /* NULL = this machine's host name */
	const char *tool_version;    /* NULL = DARTDUP_VERSION */
	const uint8_t *image_id;     /* DD_SHA256_LEN bytes, or NULL */
	const char *image_name;
	const char *mode;            /* "write" or "verify" */
	/* a board's records (firmware/job.c); NULL/false on the PC: */
	const char *time_source;     /* "pc", "rtc", "master", "unset": written as "time_source" */
	bool no_time;                /* the clock was never set: "time" is null, never a guess like 1970 */
	void (*extra)(struct dd_json *j, const void *ctx); /* more fields, after "capacity" */
	const void *extra_ctx;
};

/* Formats one record (a JSON object, no newline) into j (reset first): time, host, tool_version,
 * image_id, image_name, mode, target, port, vendor, model, serial, capacity, result,
 * bytes_written, bytes_verified, bytes_skipped (all-zero image blocks found already zero, not written),
 * first_bad_offset (null if none), write_seconds, verify_seconds, error (null if none), kind (why it
 * failed: dd_fail_kind_name(), null if it did not), probe (dd_probe_state_name(): genuine, counterfeit..., null if not asked),
 * sanitized (dd_status_sanitized()), bytes_sanitized (bytes past the image read back as zeros). */
/* The result fields of a target (result, bytes, first bad offset, seconds, error, kind), as the audit
 * record and the "done" event line both carry them. */
void dd_audit_result_fields(struct dd_json *j, const struct dd_target_status *st);

void dd_audit_format(struct dd_json *j, const struct dd_audit_job *job,
		     const struct dd_target_identity *id, const struct dd_target_status *st);

/* The status of a target the run never started: result DD_RESULT_REFUSED or DD_RESULT_SKIPPED,
 * nothing written, error = why (its record then says "refused"/"skipped" and the reason); a refusal's
 * kind is the door's verdict (struct dd_door_target: too small, refused), DD_FAIL_REFUSED when none. */
void dd_audit_not_run(struct dd_target_status *st, enum dd_result result, enum dd_fail_kind kind, const char *why);

/* Appends text + '\n' to path with one write() on an O_APPEND descriptor (records from
 * concurrent writers never interleave) and fsyncs it. */
int dd_audit_append(const char *path, const char *text, struct dd_err *err);

#endif
