/* Checks on rendered screens, shared by the unit tests of the terminal views (test_station_view.c,
 * test_write_view.c). Needs host/fit.c: linked into the PC's unit tests only (Makefile TEST_SUPPORT_HOST). */
#ifndef DARTDUP_TESTS_SCREEN_CHECK_H
#define DARTDUP_TESTS_SCREEN_CHECK_H

/* Every line of buf fits width terminal columns (escape sequences take none, host/fit.h fit_cols) and
 * there are at most max_lines lines; a CHECK fails on the first line that does not, naming it. */
void check_fits(const char *buf, unsigned width, unsigned max_lines);

#endif
