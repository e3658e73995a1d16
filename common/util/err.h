/* Errors are values: every fallible function returns DD_OK (0) or a negative dd_status, and fills a
 * struct dd_err with one line that names the thing and the problem ("image.dfi: manifest truncated").
 * Front ends print err.msg and map the code to an exit status with dd_exit_status(). */
#ifndef DARTDUP_ERR_H
#define DARTDUP_ERR_H

#include <stddef.h>

enum dd_status {
	DD_OK = 0,
	DD_EUSAGE = -1,    /* bad command line */
	DD_EINPUT = -2,    /* bad input: malformed package/ISO/message, wrong or missing key */
	DD_ECHECK = -3,    /* a verification ran and failed (hash mismatch, stick bad) */
	DD_EIO = -4,       /* I/O error on an output or a device */
	DD_ENOMEM = -5,    /* out of memory */
	DD_ESAFETY = -6,   /* refused by the safety rules; nothing written */
	DD_EABORT = -7,    /* interrupted (signal, abort request) */
	DD_EINTERNAL = -8, /* a bug: should not happen */
	/* what the board's store and job runner also need to say (the link's error codes carry it) */
	DD_EBUSY = -9,     /* not now: a job runs, a transfer is incomplete or being verified */
	DD_ENOSPACE = -10, /* no room: the store or the audit log cannot take it */
	DD_EABSENT = -11,  /* the thing asked for is not there: no image, no stick, no open transfer */
	DD_EOFFSET = -12,  /* data not at the expected offset (the caller learns which one) */
};

struct dd_err {
	int code;
	char msg[512];
};

/* Set err (may be NULL) to code and a printf-style message; returns code, so callers can
 * write `return dd_fail(err, DD_EINPUT, "%s: truncated", path);`. */
int dd_fail(struct dd_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Like dd_fail, appending ": strerror(errnum)". */
int dd_fail_errno(struct dd_err *err, int code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Prefix an already-set message with "what: " (adds context on the way up). */
void dd_err_prefix(struct dd_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void dd_err_clear(struct dd_err *err);

/* Process exit status for a dd_status: 0 ok, 1 a check failed / I/O failed (no space too) / interrupted,
 * 2 bad usage, bad input, refused, not now, absent, wrong offset (nothing was done). */
int dd_exit_status(int code);

const char *dd_status_name(int code);

#endif
