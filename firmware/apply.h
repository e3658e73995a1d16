/* Applying a stored firmware bundle (docs/PROTOCOL.md "Firmware bundle"): run before the daemon
 * starts (dartdupd --apply-firmware, the board service's ExecStartPre), never while it serves.
 *
 * STORE/firmware.dfi is verified completely again (MCUboot-style: signature by one of this board's
 * depot keys, every block's hash, a bundle name for this board type); its payload must be an ELF
 * executable for this machine. It is written beside EXE as EXE.new and fsynced; EXE is kept as
 * EXE.prev (a hard link); EXE.new is renamed over EXE (atomic: a power cut leaves the old or the new
 * program, never neither); the bundle becomes STORE/firmware.applied.dfi. A bundle that is refused
 * becomes STORE/firmware.refused.dfi, so a bad bundle is reported once, not at every start. */
#ifndef DARTDUP_FIRMWARE_APPLY_H
#define DARTDUP_FIRMWARE_APPLY_H

#include <stddef.h>

#include "util/err.h"

/* DD_OK with applied = the bundle's name, or "" when none is pending; DD_EINPUT when the bundle is
 * refused (EXE untouched); DD_EIO on a failure to write (EXE untouched). */
int dd_firmware_apply(const char *store_dir, const char *const *pubkeys, size_t n_pubkeys,
		      const char *board_type, const char *exe, char *applied, size_t applied_len,
		      struct dd_err *err);

#endif
