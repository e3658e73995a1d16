/* Audit records (see audit.h). */
#include "engine/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hash/sha256.h"
#include "util/crashpoint.h"
#include "util/schema.h"

#ifndef DARTDUP_VERSION
#define DARTDUP_VERSION "0.0.0"
#endif

static void empty_as_null(struct dd_json *j, const char *key, const char *val)
{
	dd_json_str(j, key, val && val[0] ? val : NULL);
}

void dd_audit_result_fields(struct dd_json *j, const struct dd_target_status *st)
{
	dd_json_str(j, "result", dd_result_name(st->result));
	/* a target that never ran: why not (the same words as error, under the name an auditor looks for) */
	if (st->result == DD_RESULT_REFUSED || st->result == DD_RESULT_SKIPPED)
		dd_json_str(j, "reason", st->error);
	dd_json_u64(j, "bytes_written", st->bytes_written);
	dd_json_u64(j, "bytes_verified", st->bytes_verified);
	dd_json_u64(j, "bytes_skipped", st->bytes_skipped);
	if (st->first_bad_offset >= 0)
		dd_json_i64(j, "first_bad_offset", st->first_bad_offset);
	else
		dd_json_null(j, "first_bad_offset");
	dd_json_double(j, "write_seconds", st->write_seconds, 3);
	dd_json_double(j, "verify_seconds", st->verify_seconds, 3);
	empty_as_null(j, "error", st->error);
	dd_json_str(j, "kind", dd_fail_kind_name(dd_status_kind(st))); /* null when it did not fail */
	dd_json_str(j, "probe", dd_probe_state_name(st->probe));   /* null when not asked */
	dd_json_bool(j, "sanitized", dd_status_sanitized(st));
	dd_json_u64(j, "bytes_sanitized", st->bytes_sanitized);
}

void dd_audit_format(struct dd_json *j, const struct dd_audit_job *job,
		     const struct dd_target_identity *id, const struct dd_target_status *st)
{
	char host[256] = "";
	char when[32];
	time_t t = job->time ? job->time : time(NULL);
	struct tm tm;

	if (job->host)
		snprintf(host, sizeof(host), "%s", job->host);
	else if (gethostname(host, sizeof(host) - 1))
		host[0] = '\0';
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);

	dd_json_reset(j);
	dd_json_begin_obj(j, NULL);
	dd_json_schema(j);
	if (job->no_time)
		dd_json_null(j, "time");
	else
		dd_json_str(j, "time", when);
	if (job->time_source)
		dd_json_str(j, "time_source", job->time_source);
	empty_as_null(j, "host", host);
	dd_json_str(j, "tool_version", job->tool_version ? job->tool_version : DARTDUP_VERSION);
	if (job->image_id)
		dd_json_hex(j, "image_id", job->image_id, DD_SHA256_LEN);
	else
		dd_json_null(j, "image_id");
	empty_as_null(j, "image_name", job->image_name);
	dd_json_str(j, "mode", job->mode ? job->mode : "write");
	dd_json_str(j, "target", id->path);
	empty_as_null(j, "port", id->port);
	empty_as_null(j, "vendor", id->vendor);
	empty_as_null(j, "model", id->model);
	empty_as_null(j, "serial", id->serial);
	dd_json_u64(j, "capacity", id->capacity);
	if (job->extra)
		job->extra(j, job->extra_ctx);
	dd_audit_result_fields(j, st);
	dd_json_end_obj(j);
}

void dd_audit_not_run(struct dd_target_status *st, enum dd_result result, enum dd_fail_kind kind, const char *why)
{
	memset(st, 0, sizeof(*st));
	st->result = result;
	st->first_bad_offset = -1;
	if (result == DD_RESULT_REFUSED) /* the door's verdict when it gave one (too small), else refused */
		st->kind = kind != DD_FAIL_NONE ? kind : DD_FAIL_REFUSED;
	snprintf(st->error, sizeof(st->error), "%.*s", (int)sizeof(st->error) - 1, why ? why : "");
}

/* One write: a record is never interleaved with another's. The power-cut test's crash point
 * "audit-append" writes half the line, makes it durable and stops there: a torn record on disk, the way a
 * power cut in the middle of the write can leave one (firmware/store.c cuts it off at the next open). */
static ssize_t append_line(int fd, const char *line, size_t len)
{
	size_t half = len / 2;
	ssize_t n;

	if (!dd_crashpoint_armed("audit-append"))
		return write(fd, line, len);
	n = write(fd, line, half);
	if (n != (ssize_t)half)
		return n;
	fsync(fd);
	dd_crashpoint("audit-append");
	n = write(fd, line + half, len - half);
	return n < 0 ? n : (ssize_t)half + n;
}

int dd_audit_append(const char *path, const char *text, struct dd_err *err)
{
	size_t len = strlen(text);
	char *line = malloc(len + 2);
	int fd, rc = DD_OK;
	struct stat st;
	ssize_t n;

	if (!line)
		return dd_fail(err, DD_ENOMEM, "%s: out of memory", path);
	memcpy(line, text, len);
	line[len] = '\n';
	line[len + 1] = '\0';
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOCTTY | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = dd_fail_errno(err, DD_EIO, errno, "%s: cannot open the audit log", path);
		goto out;
	}
	/* a log is a file or a stream (fifo, /dev/stdout); a disk is never one (common/safety/door.h) */
	if (fstat(fd, &st) || !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))) {
		rc = dd_fail(err, DD_ESAFETY, "%s: refused: not a file or a stream, never an audit log", path);
		close(fd);
		goto out;
	}
	n = append_line(fd, line, len + 1);
	if (n != (ssize_t)(len + 1))
		rc = dd_fail_errno(err, DD_EIO, n < 0 ? errno : ENOSPC, "%s: cannot append the audit record", path);
	else if (S_ISREG(st.st_mode) && fsync(fd))
		rc = dd_fail_errno(err, DD_EIO, errno, "%s: fsync", path);
	close(fd);
out:
	free(line);
	return rc;
}
