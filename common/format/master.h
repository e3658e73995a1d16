/* The master stick's folder (docs/BOARD.md "Operating the board without a PC"), the part shared by the
 * board (firmware/master.h reads and writes it) and `dartdup master` (which prepares it): the names,
 * batch.conf, the audit export's names and its CSV rows. Text work only: no I/O, nothing printed. */
#ifndef DARTDUP_FORMAT_MASTER_H
#define DARTDUP_FORMAT_MASTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "link/proto.h"
#include "util/err.h"

#define DD_MASTER_DIR "DARTDUP"
#define DD_MASTER_BATCH "batch.conf"
#define DD_MASTER_FIRMWARE "firmware.dfi"
#define DD_MASTER_REVOCATION "revocation.list" /* a signed revocation list (dartdup revoke), optional */
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

#endif
