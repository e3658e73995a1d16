/* Private to the linux-gadget board's USB side: ffs.c (ep0: descriptors and events), ffs_link.c (the
 * link's AIO transport on the endpoint files) and udc.c (binding the gadget to a controller). */
#ifndef DARTDUP_LG_FFS_PRIV_H
#define DARTDUP_LG_FFS_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boards/linux-gadget/ffs.h"

struct ffs_link;

struct lg_ffs {
	char dir[256];
	int ep0;
	struct ffs_link *live;
	bool enabled;           /* between ENABLE and DISABLE/UNBIND */
	bool suspended;         /* between SUSPEND and RESUME */
	unsigned links;
};

/* A fresh link on f's endpoints (after ENABLE): *out is the caller's. */
int lg_link_open(struct lg_ffs *f, struct dd_link_transport **out, struct dd_err *err);
/* The PC went away: stop f's live link; its next call fails, so the daemon drops it. */
void lg_link_reset(struct lg_ffs *f);
/* Write len bytes in one write(2), or fail naming what (errno kept for the caller). */
int lg_write_all(int fd, const uint8_t *p, size_t len, const char *what, struct dd_err *err);

#endif
