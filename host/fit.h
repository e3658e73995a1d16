/* Screens that fit (README "Screens"): the terminal's size, colour or not, and lines cut to the width so
 * nothing wraps. Pure but for term_size() and term_colour(); used by write's view and the station's. */
#ifndef DARTDUP_HOST_FIT_H
#define DARTDUP_HOST_FIT_H

#include <stdbool.h>
#include <stddef.h>

#define FIT_GREEN "\x1b[32m"
#define FIT_RED "\x1b[31m"
#define FIT_YELLOW "\x1b[33m"
#define FIT_BOLD "\x1b[1m"
#define FIT_RESET "\x1b[0m"

/* Columns and rows of the terminal on fd; 80x24 when it says nothing (or is no terminal). */
void term_size(int fd, unsigned *cols, unsigned *rows);

/* Colour on fd: a terminal, and NO_COLOR not set (no-color.org: present and not empty disables it). */
bool term_colour(int fd);

/* Columns text takes on a terminal: ESC [ ... sequences take none, a UTF-8 character one. */
unsigned fit_cols(const char *text);

/* Appends src to dst (cap bytes, NUL-terminated, *len its length) cut to width columns: ESC [ sequences
 * are copied whole and take no column, a cut never splits a UTF-8 character, and a cut line that had
 * switched a colour on ends with FIT_RESET. Returns the columns appended. */
unsigned fit_append(char *dst, size_t cap, size_t *len, const char *src, unsigned width);

/* A coloured word (colour NULL or !on: the word alone) into out. */
const char *fit_paint(char *out, size_t size, const char *word, const char *colour, bool on);

#endif
