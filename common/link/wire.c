/* link/wire: the engine's phase and result mapped onto the protocol's numbers (docs/PROTOCOL.md "Values").
 *
 * Why a mapping and not a cast: the engine's enums are internal and may be reordered or grow; what travels
 * is fixed. The switches below have every engine value and no default, and -Wswitch is an error in this
 * file: adding an engine phase or result without choosing its wire value fails to compile. */
#include "link/wire.h"

#pragma GCC diagnostic error "-Wswitch"

/* the wire numbers are fixed forever: a change here breaks every board and PC in the field */
_Static_assert(DD_LPHASE_QUEUED == 0 && DD_LPHASE_PROBE == 1 && DD_LPHASE_WRITE == 2 && DD_LPHASE_VERIFY == 3 &&
		       DD_LPHASE_BOOT == 4 && DD_LPHASE_DONE == 5 && DD_LPHASE_SANITIZE == 6 &&
		       DD_LPHASE_COUNT == 7,
	       "the protocol's phase numbers never change (docs/PROTOCOL.md)");
_Static_assert(DD_LRESULT_NONE == 0 && DD_LRESULT_PASS == 1 && DD_LRESULT_FAIL == 2 && DD_LRESULT_INCOMPLETE == 3 &&
		       DD_LRESULT_WRITTEN == 4 && DD_LRESULT_REFUSED == 5 &&
		       DD_LRESULT_SKIPPED == 6 && DD_LRESULT_COUNT == 7,
	       "the protocol's result numbers never change (docs/PROTOCOL.md)");
_Static_assert(DD_LFAIL_NONE == 0 && DD_LFAIL_IO == 1 && DD_LFAIL_MISMATCH == 2 && DD_LFAIL_COUNTERFEIT == 3 &&
		       DD_LFAIL_TOO_SMALL == 4 && DD_LFAIL_REFUSED == 5 && DD_LFAIL_PULLED == 6 &&
		       DD_LFAIL_INTERRUPTED == 7 && DD_LFAIL_IMAGE == 8 && DD_LFAIL_OTHER == 9 && DD_LFAIL_COUNT == 10,
	       "the protocol's failure kind numbers never change (docs/PROTOCOL.md)");
/* at least as many wire values as engine values: a new engine value needs a wire value of its own */
_Static_assert(DD_PHASE_DONE + 1 <= DD_LPHASE_COUNT, "every engine phase has its own wire phase");
_Static_assert(DD_RESULT_SKIPPED + 1 <= DD_LRESULT_COUNT, "every engine result has its own wire result");

uint8_t dd_link_phase_of(enum dd_phase p)
{
	switch (p) {
	case DD_PHASE_QUEUED: return DD_LPHASE_QUEUED;
	case DD_PHASE_PROBE: return DD_LPHASE_PROBE;
	case DD_PHASE_SANITIZE: return DD_LPHASE_SANITIZE;
	case DD_PHASE_WRITE: return DD_LPHASE_WRITE;
	case DD_PHASE_VERIFY: return DD_LPHASE_VERIFY;
	case DD_PHASE_BOOT: return DD_LPHASE_BOOT;
	case DD_PHASE_DONE: return DD_LPHASE_DONE;
	}
	return UINT8_MAX;
}

uint8_t dd_link_result_of(enum dd_result r)
{
	switch (r) {
	case DD_RESULT_NONE: return DD_LRESULT_NONE;
	case DD_RESULT_PASS: return DD_LRESULT_PASS;
	case DD_RESULT_FAIL: return DD_LRESULT_FAIL;
	case DD_RESULT_INCOMPLETE: return DD_LRESULT_INCOMPLETE;
	case DD_RESULT_WRITTEN: return DD_LRESULT_WRITTEN;
	case DD_RESULT_REFUSED: return DD_LRESULT_REFUSED;
	case DD_RESULT_SKIPPED: return DD_LRESULT_SKIPPED;
	}
	return UINT8_MAX;
}

uint8_t dd_link_fail_of(enum dd_fail_kind k)
{
	switch (k) {
	case DD_FAIL_NONE: return DD_LFAIL_NONE;
	case DD_FAIL_IO: return DD_LFAIL_IO;
	case DD_FAIL_MISMATCH: return DD_LFAIL_MISMATCH;
	case DD_FAIL_COUNTERFEIT: return DD_LFAIL_COUNTERFEIT;
	case DD_FAIL_TOO_SMALL: return DD_LFAIL_TOO_SMALL;
	case DD_FAIL_REFUSED: return DD_LFAIL_REFUSED;
	case DD_FAIL_PULLED: return DD_LFAIL_PULLED;
	case DD_FAIL_INTERRUPTED: return DD_LFAIL_INTERRUPTED;
	case DD_FAIL_IMAGE: return DD_LFAIL_IMAGE;
	case DD_FAIL_OTHER: return DD_LFAIL_OTHER;
	}
	return DD_LFAIL_OTHER;
}

uint8_t dd_link_start_flags(const struct dd_policy *p)
{
	return (uint8_t)((p->probe ? DD_START_PROBE : 0) | (p->sanitize ? DD_START_SANITIZE : 0));
}

void dd_link_start_policy(uint8_t flags, struct dd_policy *p)
{
	p->probe = flags & DD_START_PROBE;
	p->sanitize = flags & DD_START_SANITIZE;
}
