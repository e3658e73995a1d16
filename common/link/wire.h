/* link/wire: the engine's phase, result and failure kind as the link protocol numbers them. The one place where the
 * engine's enums (engine/events.h) meet the protocol's (link/proto.h); the board uses it, the PC never
 * needs it (it names the wire values with dd_link_phase_name()/dd_link_result_name()). */
#ifndef DARTDUP_LINK_WIRE_H
#define DARTDUP_LINK_WIRE_H

#include <stdint.h>

#include "engine/events.h"
#include "engine/policy.h"
#include "link/proto.h"

/* The wire number of an engine phase / result. Total over the engine's enums: an engine value without a
 * wire value does not compile (link/wire.c). A number outside the enum (a bug) gives 255, which a PC
 * shows as unknown(255) and never counts as a pass. */
uint8_t dd_link_phase_of(enum dd_phase p);
uint8_t dd_link_result_of(enum dd_result r);
uint8_t dd_link_fail_of(enum dd_fail_kind k);

/* START's flags (link/proto.h) from the checks a policy asks (probe, sanitize), and back: the checks
 * the flags ask, into p (the rest of p untouched). */
uint8_t dd_link_start_flags(const struct dd_policy *p);
void dd_link_start_policy(uint8_t flags, struct dd_policy *p);

#endif
