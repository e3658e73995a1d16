/* Names of phases, results and event types: the words JSON lines and audit records use. */
#include "engine/events.h"

#include <stddef.h>

const char *dd_phase_name(enum dd_phase p)
{
	switch (p) {
	case DD_PHASE_QUEUED: return "queued";
	case DD_PHASE_PROBE: return "probe";
	case DD_PHASE_SANITIZE: return "sanitize";
	case DD_PHASE_WRITE: return "write";
	case DD_PHASE_VERIFY: return "verify";
	case DD_PHASE_BOOT: return "boot";
	case DD_PHASE_DONE: return "done";
	}
	return "unknown";
}

const char *dd_phase_label(enum dd_phase p)
{
	/* "boot" is the JSON name (docs/EVENTS.md); a technician reads what the phase does */
	return p == DD_PHASE_BOOT ? "first block" : dd_phase_name(p);
}

const char *dd_result_name(enum dd_result r)
{
	switch (r) {
	case DD_RESULT_NONE: return "running";
	case DD_RESULT_PASS: return "pass";
	case DD_RESULT_FAIL: return "fail";
	case DD_RESULT_INCOMPLETE: return "incomplete";
	case DD_RESULT_WRITTEN: return "written";
	case DD_RESULT_REFUSED: return "refused";
	case DD_RESULT_SKIPPED: return "skipped";
	}
	return "unknown";
}

const char *dd_event_type_name(enum dd_event_type t)
{
	switch (t) {
	case DD_EV_JOB_START: return "start";
	case DD_EV_PHASE: return "phase";
	case DD_EV_PROGRESS: return "progress";
	case DD_EV_TARGET_DONE: return "done";
	case DD_EV_JOB_DONE: return "summary";
	}
	return "unknown";
}

const char *dd_fail_kind_name(enum dd_fail_kind k)
{
	switch (k) {
	case DD_FAIL_NONE: return NULL;
	case DD_FAIL_IO: return "io";
	case DD_FAIL_MISMATCH: return "mismatch";
	case DD_FAIL_COUNTERFEIT: return "counterfeit";
	case DD_FAIL_TOO_SMALL: return "too_small";
	case DD_FAIL_REFUSED: return "refused";
	case DD_FAIL_PULLED: return "pulled";
	case DD_FAIL_INTERRUPTED: return "interrupted";
	case DD_FAIL_IMAGE: return "image";
	case DD_FAIL_OTHER: return "other";
	}
	return "other";
}

const char *dd_probe_state_name(enum dd_probe_state v)
{
	switch (v) {
	case DD_PROBED_NO: return NULL;
	case DD_PROBED_PENDING: return "incomplete";
	case DD_PROBED_GENUINE: return "genuine";
	case DD_PROBED_COUNTERFEIT: return "counterfeit";
	case DD_PROBED_ERROR: return "error";
	}
	return "error";
}
