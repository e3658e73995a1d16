/* Crash points (crashpoint.h). */
#include "util/crashpoint.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool dd_crashpoint_armed(const char *name)
{
	const char *want = getenv("DARTDUP_CRASHPOINT");

	return want && !strcmp(want, name);
}

void dd_crashpoint(const char *name)
{
	if (!dd_crashpoint_armed(name))
		return;
	fprintf(stderr, "dartdup: crash point %s reached\n", name);
	fflush(stderr);
	raise(SIGSTOP);
}
