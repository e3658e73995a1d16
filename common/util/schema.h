/* The schema version of every JSON object dartdup prints or logs (JSON event lines, audit records,
 * --json outputs; docs/EVENTS.md): the field "schema", first in each object. It changes when a field
 * changes its meaning or type or goes away; adding a field keeps it (readers ignore fields they do
 * not know). */
#ifndef DARTDUP_SCHEMA_H
#define DARTDUP_SCHEMA_H

#include "util/json.h"

#define DD_SCHEMA_VERSION 1

static inline void dd_json_schema(struct dd_json *j)
{
	dd_json_u64(j, "schema", DD_SCHEMA_VERSION);
}

#endif
