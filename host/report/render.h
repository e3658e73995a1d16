/* dartdup report: the figures of struct rep_agg as one self-contained HTML page (inline CSS and SVG, no
 * script, no URL) and as CSV (RFC 4180: CRLF, every text cell quoted, UTF-8 with a BOM so that Excel reads
 * it as UTF-8; a text cell starting with = + - @ gets a leading apostrophe, so no spreadsheet runs it). */
#ifndef DARTDUP_HOST_REPORT_RENDER_H
#define DARTDUP_HOST_REPORT_RENDER_H

#include <stdio.h>

#include "host/report/agg.h"

struct rep_meta {
	const char *const *files; /* the logs read, as named on the command line */
	unsigned n_files;
	const char *generated;    /* UTC time the report was made */
};

/* 0, or -1 when writing failed (ferror). */
int rep_write_html(FILE *f, const struct rep_agg *a, const struct rep_meta *m);
int rep_write_csv(FILE *f, const struct rep_agg *a, const struct rep_meta *m);

/* Exposed for the unit test: s escaped for HTML text and attributes; s as one CSV cell. */
void rep_html_text(FILE *f, const char *s);
void rep_csv_cell(FILE *f, const char *s);

#endif
