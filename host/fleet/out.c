/* --metrics and --log-to (see out.h). */
#include "host/fleet/out.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#ifdef DD_HAVE_LIBSYSTEMD
#include <systemd/sd-journal.h>
#endif

#include "hash/sha256.h"
#include "host/cli.h"
#include "safety/door.h"
#include "util/json.h"

#define JOURNAL_MAX_FIELDS 64
#define JOURNAL_SOCKET "/run/systemd/journal/socket" /* where sd_journal_send() sends */

int fleet_parse_log_to(const char *arg, enum fleet_log_to *out)
{
	if (!strcmp(arg, "syslog"))
		*out = FLEET_LOG_SYSLOG;
	else if (!strcmp(arg, "journal"))
		*out = FLEET_LOG_JOURNAL;
	else {
		cli_error("--log-to %s: expected syslog or journal", arg);
		return -1;
	}
	return 0;
}

bool fleet_out_active(const struct fleet_out *f)
{
	return f->open && (f->metrics_path || f->log_to != FLEET_LOG_NONE);
}

int fleet_out_open(struct fleet_out *f, struct dd_err *err)
{
	int rc;

	if (!f->metrics_path && f->log_to == FLEET_LOG_NONE)
		return DD_OK;
#ifndef DD_HAVE_LIBSYSTEMD
	if (f->log_to == FLEET_LOG_JOURNAL)
		return dd_fail(err, DD_EUSAGE, "--log-to journal: this dartdup was built without libsystemd "
			       "(scripts/deps/fleet.txt); use --log-to syslog");
#endif
#ifdef DD_HAVE_LIBSYSTEMD
	/* sd_journal_send() drops a record silently when no journald listens: say so now, not never */
	if (f->log_to == FLEET_LOG_JOURNAL && access(JOURNAL_SOCKET, F_OK))
		return dd_fail(err, DD_EUSAGE, "--log-to journal: no journal here (%s: %s; is systemd-journald "
			       "running?)", JOURNAL_SOCKET, strerror(errno));
#endif
	if (f->metrics_path && (rc = dd_door_judge_output(f->metrics_path, f->inputs, f->n_inputs, err)))
		return rc;
	f->m = malloc(sizeof(*f->m));
	if (!f->m)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	metrics_init(f->m);
	pthread_mutex_init(&f->lock, NULL);
	if (f->log_to == FLEET_LOG_SYSLOG)
		openlog("dartdup", LOG_PID, LOG_USER);
	f->open = true;
	return DD_OK;
}

void fleet_out_close(struct fleet_out *f)
{
	if (!f->open)
		return;
	if (f->log_to == FLEET_LOG_SYSLOG)
		closelog();
	pthread_mutex_destroy(&f->lock);
	free(f->m);
	f->m = NULL;
	f->open = false;
}

/* Under f->lock. The first failure is told on stderr; the caller's exit status says there were some. */
static void failed(struct fleet_out *f, const char *fmt, ...)
{
	va_list ap;

	if (!f->failures++) {
		va_start(ap, fmt);
		vsnprintf(f->error, sizeof(f->error), fmt, ap);
		va_end(ap);
		cli_error("%s", f->error);
	}
}

/* ---- the metrics file ---------------------------------------------------------------------- */

/* A FILE.tmp an earlier run left (a crash between open and rename) goes first; the new one is then created
 * exclusively, so a symlink planted there is removed, never followed. Anything else by that name (a
 * folder, a device, a fifo) is not ours: refused. */
static int clear_tmp(const char *tmp, struct dd_err *err)
{
	struct stat st;

	if (lstat(tmp, &st))
		return errno == ENOENT ? DD_OK : dd_fail_errno(err, DD_EIO, errno, "%s", tmp);
	if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
		return dd_fail(err, DD_ESAFETY, "%s: refused: in the way and not a file dartdup left", tmp);
	if (unlink(tmp))
		return dd_fail_errno(err, DD_EIO, errno, "%s", tmp);
	return DD_OK;
}

int fleet_write_atomic(const char *path, const char *const *inputs, unsigned n_inputs,
		       int (*render)(FILE *f, const void *ctx), const void *ctx, struct dd_err *err)
{
	char tmp[PATH_MAX];
	FILE *out;
	int fd, rc;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return dd_fail(err, DD_EUSAGE, "%s: path too long", path);
	if ((rc = dd_door_judge_output(path, inputs, n_inputs, err)) || (rc = clear_tmp(tmp, err)))
		return rc;
	rc = dd_door_open_output(tmp, inputs, n_inputs, O_WRONLY, DD_DOOR_EXCL, 0644, &fd, err);
	if (rc)
		return rc;
	out = fdopen(fd, "w");
	if (!out) {
		close(fd);
		return dd_fail_errno(err, DD_ENOMEM, errno, "%s", tmp);
	}
	errno = 0;
	if (render(out, ctx) || fflush(out) || fsync(fileno(out))) {
		rc = dd_fail_errno(err, DD_EIO, errno ? errno : EIO, "%s: write failed", tmp);
		fclose(out);
		return rc;
	}
	if (fclose(out))
		return dd_fail_errno(err, DD_EIO, errno, "%s: write failed", tmp);
	if ((rc = dd_door_judge_output(path, inputs, n_inputs, err)))
		return rc;
	if (rename(tmp, path))
		return dd_fail_errno(err, DD_EIO, errno, "%s", path);
	return DD_OK;
}

static int render_metrics(FILE *f, const void *m)
{
	return metrics_format(m, f);
}

static int write_metrics(struct fleet_out *f, struct dd_err *err)
{
	f->m->updated = (double)time(NULL);
	return fleet_write_atomic(f->metrics_path, f->inputs, f->n_inputs, render_metrics, f->m, err);
}

static void flush_locked(struct fleet_out *f)
{
	struct dd_err err;

	if (f->metrics_path && write_metrics(f, &err))
		failed(f, "--metrics %s", err.msg);
}

void fleet_out_flush(struct fleet_out *f)
{
	if (!fleet_out_active(f))
		return;
	pthread_mutex_lock(&f->lock);
	flush_locked(f);
	pthread_mutex_unlock(&f->lock);
}

void fleet_out_image(struct fleet_out *f, const uint8_t *image_id, const char *image_name)
{
	char hex[2 * DD_SHA256_LEN + 1];

	if (!fleet_out_active(f))
		return;
	dd_hex(hex, image_id, DD_SHA256_LEN);
	pthread_mutex_lock(&f->lock);
	metrics_set_image(f->m, hex, image_name);
	flush_locked(f);
	pthread_mutex_unlock(&f->lock);
}

void fleet_out_board(struct fleet_out *f, const char *serial, bool up, const char *const *port_states,
		     unsigned n_ports)
{
	if (!fleet_out_active(f))
		return;
	pthread_mutex_lock(&f->lock);
	metrics_set_board(f->m, serial, up, port_states, n_ports);
	pthread_mutex_unlock(&f->lock);
}

/* ---- the system log ------------------------------------------------------------------------ */

static const char *str_of(json_object *rec, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(rec, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v) : NULL;
}

static bool good_result(const char *result)
{
	return result && (!strcmp(result, "pass") || !strcmp(result, "written") || !strcmp(result, "skipped"));
}

#ifdef DD_HAVE_LIBSYSTEMD
/* DARTDUP_ + the key in capitals ("image_id" -> DARTDUP_IMAGE_ID); false for a key a journal field
 * name cannot hold (a board's record: not ours). */
static bool field_name(char *out, size_t len, const char *key)
{
	size_t n = strlen(key);

	if (!n || n + 9 > len || n > 48)
		return false;
	memcpy(out, "DARTDUP_", 8);
	for (size_t i = 0; i < n; i++) {
		char c = key[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (!((c >= '0' && c <= '9') || c == '_'))
			return false;
		out[8 + i] = c;
	}
	out[8 + n] = '\0';
	return true;
}

/* One journal entry: MESSAGE (one line for humans), PRIORITY, SYSLOG_IDENTIFIER, DARTDUP_RECORD (the
 * record as JSON) and one DARTDUP_<FIELD> per field that is not null (a string as it is, a number as
 * written): `journalctl DARTDUP_RESULT=fail`. */
static int to_journal(json_object *rec, const char *text, const char *summary, int prio)
{
	struct iovec iov[JOURNAL_MAX_FIELDS + 4];
	char *s[JOURNAL_MAX_FIELDS + 4];
	int n = 0, rc = 0;

	if (asprintf(&s[n], "MESSAGE=%s", summary) >= 0 && ++n && asprintf(&s[n], "PRIORITY=%d", prio) >= 0 &&
	    ++n && asprintf(&s[n], "SYSLOG_IDENTIFIER=dartdup") >= 0 && ++n &&
	    asprintf(&s[n], "DARTDUP_RECORD=%s", text) >= 0 && ++n) {
		json_object_object_foreach(rec, key, val) {
			char name[64];
			const char *v;

			if (n == JOURNAL_MAX_FIELDS + 4 || !val || !field_name(name, sizeof(name), key))
				continue;
			v = json_object_is_type(val, json_type_string)
				    ? json_object_get_string(val)
				    : json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN);
			if (asprintf(&s[n], "%s=%s", name, v) < 0) {
				rc = -ENOMEM;
				break;
			}
			n++;
		}
	} else {
		rc = -ENOMEM;
	}
	for (int i = 0; i < n; i++)
		iov[i] = (struct iovec){ s[i], strlen(s[i]) };
	if (!rc)
		rc = sd_journal_sendv(iov, n);
	for (int i = 0; i < n; i++)
		free(s[i]);
	return rc;
}
#endif

/* Under f->lock. text: a record, a JSON object in the audit schema (ours or a board's). */
static void to_system_log(struct fleet_out *f, const char *text, size_t len)
{
	json_object *rec = json_tokener_parse(text);
	char summary[320];
	const char *result, *serial, *port;
	int prio;

	if (!rec || !json_object_is_type(rec, json_type_object)) {
		json_object_put(rec);
		failed(f, "--log-to: a record that is not a JSON object was not logged");
		return;
	}
	result = str_of(rec, "result");
	serial = str_of(rec, "serial");
	port = str_of(rec, "port");
	prio = good_result(result) ? LOG_INFO : LOG_WARNING;
	/* for a human reading the journal: which stick (serial, else the target), where, what */
	snprintf(summary, sizeof(summary), "%.100s%s%.100s: %.20s%s%.20s", serial ? serial : str_of(rec, "target") ?
		 str_of(rec, "target") : "?", port ? " on " : "", port ? port : "", result ? result : "?",
		 str_of(rec, "kind") ? " " : "", str_of(rec, "kind") ? str_of(rec, "kind") : "");
	if (f->log_to == FLEET_LOG_SYSLOG) {
		/* the record itself is the message, so a syslog pipeline can parse it as JSON */
		syslog(prio, "%.*s", (int)len, text);
	}
#ifdef DD_HAVE_LIBSYSTEMD
	else {
		int rc = to_journal(rec, text, summary, prio);

		if (rc < 0)
			failed(f, "--log-to journal: cannot send the record to the journal: %s", strerror(-rc));
	}
#endif
	json_object_put(rec);
}

void fleet_out_stick(struct fleet_out *f, const struct dd_audit_job *aj, const struct dd_target_identity *id,
		     const struct dd_target_status *st)
{
	struct dd_json j;
	struct metrics_stick s = {
		.result = dd_result_name(st->result), .kind = dd_fail_kind_name(dd_status_kind(st)),
		.port = id->port, .vendor = id->vendor, .model = id->model,
		.bytes_written = st->bytes_written, .bytes_verified = st->bytes_verified,
		.write_seconds = st->write_seconds, .verify_seconds = st->verify_seconds, .probed = f->probed,
	};

	if (!fleet_out_active(f))
		return;
	dd_json_init(&j);
	dd_audit_format(&j, aj, id, st);
	pthread_mutex_lock(&f->lock);
	if (f->log_to != FLEET_LOG_NONE)
		to_system_log(f, dd_json_text(&j), strlen(dd_json_text(&j)));
	metrics_add_stick(f->m, &s);
	flush_locked(f);
	pthread_mutex_unlock(&f->lock);
	dd_json_free(&j);
}

/* A count in a board's record: 0 when absent, negative or not a number (a board's record is not ours). */
static uint64_t u64_of(json_object *rec, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(rec, key, &v) || !json_object_is_type(v, json_type_int))
		return 0;
	return json_object_get_uint64(v);
}

bool fleet_out_board_record(struct fleet_out *f, const char *text, size_t len, bool count, bool to_log)
{
	json_object *rec, *v;
	struct metrics_stick s = { 0 };
	char *copy;

	if (!fleet_out_active(f))
		return true;
	copy = strndup(text, len);
	rec = copy ? json_tokener_parse(copy) : NULL;
	if (!rec || !json_object_is_type(rec, json_type_object)) {
		json_object_put(rec);
		free(copy);
		return false;
	}
	s.result = str_of(rec, "result");
	s.kind = str_of(rec, "kind");
	s.port = str_of(rec, "port");
	s.vendor = str_of(rec, "vendor");
	s.model = str_of(rec, "model");
	s.bytes_written = u64_of(rec, "bytes_written");
	s.bytes_verified = u64_of(rec, "bytes_verified");
	if (json_object_object_get_ex(rec, "write_seconds", &v))
		s.write_seconds = json_object_get_double(v);
	if (json_object_object_get_ex(rec, "verify_seconds", &v))
		s.verify_seconds = json_object_get_double(v);
	pthread_mutex_lock(&f->lock);
	if (count)
		metrics_add_stick(f->m, &s);
	if (to_log && f->log_to != FLEET_LOG_NONE)
		to_system_log(f, copy, len);
	pthread_mutex_unlock(&f->lock);
	json_object_put(rec);
	free(copy);
	return true;
}
