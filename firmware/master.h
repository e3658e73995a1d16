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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "link/proto.h"
#include "util/err.h"

#define DD_MASTER_DIR "DARTDUP"
#define DD_MASTER_BATCH "batch.conf"
#define DD_MASTER_FIRMWARE "firmware.dfi"
#define DD_MASTER_BATCH_MAX 4096 /* a batch file longer than this is refused */

enum dd_master_yesno { DD_MASTER_UNSET = -1, DD_MASTER_NO = 0, DD_MASTER_YES = 1 };

/* batch.conf, parsed. The probe and sanitize keys are reserved for the board's job policy (issue 15
 * item 4): parsed and validated here, applied by the job. */
struct dd_master_batch {
	bool has_batch, has_operator;
	char batch[DD_LINK_STR_MAX + 1];
	char operator_[DD_LINK_STR_MAX + 1];
	int probe;                /* enum dd_master_yesno */
	int sanitize;             /* enum dd_master_yesno */
	bool has_time;
	int64_t time;             /* time = 2026-12-02T01:37:23Z: sets an unset clock (source master) */
};

/* Parse batch.conf (text of len bytes; name for messages). One "key = value" a line, '#' comments;
 * unknown keys, keys given twice, a NUL or control character, values too long and bad yes/no or times
 * are refused (DD_EINPUT, "NAME:LINE: ..."). */
int dd_master_batch_parse(const char *name, const char *text, size_t len, struct dd_master_batch *b,
			  struct dd_err *err);
/* "YYYY-MM-DDTHH:MM:SSZ" (UTC, the only form taken) to seconds since 1970. false if not that form. */
bool dd_master_parse_time(const char *s, int64_t *t);

/* The file names of the export on the stick: "audit-SERIAL.jsonl" / ".csv", SERIAL with anything but
 * [A-Za-z0-9._-] made '_' (a FAT-safe name whatever the serial holds). */
void dd_master_export_name(const char *serial, const char *ext, char *out, size_t len);

/* One record (a sealed JSON object, as in the log) as a CSV row (RFC 4180 quoting, CRLF), the columns
 * of dd_master_csv_header. Text cells that a spreadsheet would take for a formula (= + - @) get a
 * leading '. Returns the malloc'd row, NULL when out of memory or not a flat JSON object. */
char *dd_master_csv_row(const char *rec, size_t len);
const char *dd_master_csv_header(void);

struct dd_daemon;
/* The daemon's side (master.c): a master stick in port i (0-based) was seen: read it, check it, store
 * what it carries, export the audit records onto it, show the verdict on its light. */
void dd_daemon_master(struct dd_daemon *d, unsigned i);

#endif
