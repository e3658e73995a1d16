/* Applying a stored firmware bundle (docs/PROTOCOL.md "Firmware bundle"): run before the daemon
 * starts (dartdupd --apply-firmware, the board service's ExecStartPre), never while it serves.
 *
 * STORE/firmware.dfi is verified completely again (MCUboot-style: signature by one of this board's
 * depot keys, every block's hash, a bundle name for this board type); its payload must be an ELF
 * executable for this machine. It is written beside EXE as EXE.new and fsynced; EXE is kept as
 * EXE.prev (a hard link); EXE.new is renamed over EXE (atomic: a power cut leaves the old or the new
 * program, never neither); the bundle becomes STORE/firmware.applied.dfi. A bundle that is refused
 * becomes STORE/firmware.refused.dfi, so a bad bundle is reported once, not at every start.
 *
 * The new program is on trial (STORE/firmware.trial) until it serves (dd_firmware_confirm, called by
 * the daemon once it is ready). An apply that finds the trial marker still there puts EXE.prev back:
 * a program that cannot start (crashes, refuses its set-up) is rolled back at the service's next
 * restart, MCUboot's test-then-confirm. */
#ifndef DARTDUP_FIRMWARE_APPLY_H
#define DARTDUP_FIRMWARE_APPLY_H

#include <stddef.h>

#include "util/err.h"

/* DD_OK with applied = the bundle's name, or "" when none is pending, and rolled_back = the name of
 * a program on trial that never served and was replaced by EXE.prev (else ""); DD_EINPUT when the
 * bundle is refused (EXE untouched); DD_EIO on a failure to write (EXE untouched). */
int dd_firmware_apply(const char *store_dir, const char *const *pubkeys, size_t n_pubkeys,
		      const char *board_type, const char *exe, char *applied, size_t applied_len,
		      char *rolled_back, size_t rolled_len, struct dd_err *err);

/* The running program serves: end its trial (no-op when it is not on trial). */
void dd_firmware_confirm(const char *store_dir);

#endif
