/* The master stick (docs/BOARD.md "Operating the board without a PC"): a FAT file system on a stick
 * in the port the board's description names as the master port, holding
 *   DARTDUP/<name>.dfi    at most one signed image: loaded as if a PC had loaded it (same store
 *                         functions: signature with the depot keys, every block's hash, name rules, room)
 *   DARTDUP/firmware.dfi  optional: a signed firmware bundle for this board type (the same as `update`)
 *   DARTDUP/batch.conf    optional: "key = value" lines: batch, operator, probe, sanitize, time
 * Everything is checked before anything is stored: a refused master changes nothing. Then the audit
 * records since the last export are appended to DARTDUP/audit-<SERIAL>.jsonl and .csv on the stick, each
 * file replaced atomically (new copy, fsync, rename, fsync), and only then is the export mark
 * (audit.exported) advanced. The firmware never knows how the file system is reached: the board mounts
 * it (struct dd_board_ops master_mount) and gives a directory. */
#ifndef DARTDUP_FIRMWARE_MASTER_H
#define DARTDUP_FIRMWARE_MASTER_H

/* struct dd_master_batch (batch.conf: batch, operator, probe, sanitize, time) and the folder's names */
#include "format/master.h"

struct dd_daemon;
/* The daemon's side (master_run.c): a master stick in port i (0-based) was seen: read it, check it, store
 * what it carries, export the audit records onto it, show the verdict on its light. */
void dd_daemon_master(struct dd_daemon *d, unsigned i);

#endif
