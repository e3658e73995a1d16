/* Crash points: named moments where a power-cut test stops the process, so that the test can cut the
 * machine's power at exactly that moment (tests/board-image/suite, docs/RELIABILITY.md "Power cuts").
 * When the environment variable DARTDUP_CRASHPOINT names the point, the process writes
 * "dartdup: crash point NAME reached" to stderr (the journal, on the board) and stops itself with
 * SIGSTOP; the test then kills the machine. Unset (always, in service), a crash point costs one getenv. */
#ifndef DARTDUP_CRASHPOINT_H
#define DARTDUP_CRASHPOINT_H

#include <stdbool.h>

/* Is the crash point NAME the one the environment asks for? */
bool dd_crashpoint_armed(const char *name);

/* Stop here if the crash point NAME is armed; otherwise return at once. */
void dd_crashpoint(const char *name);

#endif
