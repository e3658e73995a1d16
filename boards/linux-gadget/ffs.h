/* FunctionFS host link of the linux-gadget board (docs/BOARD.md "Gadget set-up").
 *
 * gadget-setup made a configfs gadget with one FunctionFS function and mounted it at ffs_dir.
 * lg_ffs_open() writes the v2 descriptors (full, high and super speed: one vendor interface
 * 0xFF/0xDD/0x01 with a bulk OUT and a bulk IN endpoint) plus Microsoft OS 1.0 Extended Compat ID
 * "WINUSB", then the strings, to ep0. Only then may the UDC be bound (udc.h). ep0 then
 * reports BIND, ENABLE, DISABLE, UNBIND, SUSPEND: lg_ffs_events() turns each ENABLE into a fresh
 * dd_link_transport (endpoint I/O starts only there) and each DISABLE/UNBIND/SUSPEND into a reset
 * of the live one (its I/O is cancelled; its recv then fails with DD_EIO so the daemon drops it). */
#ifndef DARTDUP_LG_FFS_H
#define DARTDUP_LG_FFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "link/link.h"
#include "util/err.h"

struct lg_ffs;

/* Open ffs_dir/ep0 and write descriptors and strings. */
int lg_ffs_open(const char *ffs_dir, struct lg_ffs **out, struct dd_err *err);
/* ep0, to poll for events. */
int lg_ffs_ep0_fd(const struct lg_ffs *f);
/* Read the pending ep0 events. *link: a new link (the caller owns it) when the function is
 * enabled and has no live link (after ENABLE, or after the caller closed the previous one), else NULL. */
int lg_ffs_events(struct lg_ffs *f, struct dd_link_transport **link, struct dd_err *err);
/* The PC has the function enabled (configured, not suspended). */
bool lg_ffs_enabled(const struct lg_ffs *f);
/* Stops the live link (if any) and closes ep0 (the gadget disappears from the bus). */
void lg_ffs_close(struct lg_ffs *f);

/* The descriptor and string blobs written to ep0 (exposed for the unit test). */
size_t lg_ffs_descriptors(uint8_t *buf, size_t cap, bool ms_os);
size_t lg_ffs_strings(uint8_t *buf, size_t cap);

#endif
