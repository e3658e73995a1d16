#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int vfail(struct dd_err *err, int code, int errnum, const char *fmt, va_list ap)
{
	size_t n;

	if (!err)
		return code;
	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	n = strlen(err->msg);
	if (errnum && n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(errnum));
	return code;
}

int dd_fail(struct dd_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(err, code, 0, fmt, ap);
	va_end(ap);
	return code;
}

int dd_fail_errno(struct dd_err *err, int code, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(err, code, errnum, fmt, ap);
	va_end(ap);
	return code;
}

void dd_err_prefix(struct dd_err *err, const char *fmt, ...)
{
	char old[sizeof(err->msg)];
	va_list ap;
	int n;

	if (!err)
		return;
	memcpy(old, err->msg, sizeof(old));
	va_start(ap, fmt);
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n + 2 >= sizeof(err->msg))
		return;
	memcpy(err->msg + n, ": ", 2);
	/* keep the end of the old message if it does not fit: truncation, never overflow */
	size_t room = sizeof(err->msg) - (size_t)n - 3, len = strnlen(old, sizeof(old));
	memcpy(err->msg + n + 2, old, len < room ? len : room);
	err->msg[n + 2 + (len < room ? len : room)] = '\0';
}

void dd_err_clear(struct dd_err *err)
{
	if (!err)
		return;
	err->code = DD_OK;
	err->msg[0] = '\0';
}

int dd_exit_status(int code)
{
	switch (code) {
	case DD_OK:
		return 0;
	case DD_ECHECK:
	case DD_EIO:
	case DD_EABORT:
	case DD_ENOMEM:
	case DD_EINTERNAL:
	case DD_ENOSPACE:
		return 1;
	default:
		return 2;
	}
}

const char *dd_status_name(int code)
{
	switch (code) {
	case DD_OK: return "ok";
	case DD_EUSAGE: return "usage";
	case DD_EINPUT: return "bad-input";
	case DD_ECHECK: return "check-failed";
	case DD_EIO: return "io-error";
	case DD_ENOMEM: return "no-memory";
	case DD_ESAFETY: return "refused";
	case DD_EABORT: return "interrupted";
	case DD_EBUSY: return "not-now";
	case DD_ENOSPACE: return "no-space";
	case DD_EABSENT: return "absent";
	case DD_EOFFSET: return "bad-offset";
	default: return "internal-error";
	}
}
