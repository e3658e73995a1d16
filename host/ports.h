/* Port labels on the PC (docs/PORTS.md): the port map a command reads, whether a port exists on this
 * machine, and `dartdup ports learn`. The map's format and parser: common/util/portmap.h. */
#ifndef DARTDUP_HOST_PORTS_H
#define DARTDUP_HOST_PORTS_H

#include <stdbool.h>

#include "util/err.h"
#include "util/portmap.h"

#define HOST_PORTMAP_DEFAULT "/etc/dartdup/ports.conf"

/* The map a command uses: file (--port-map) must load; without one, HOST_PORTMAP_DEFAULT when it exists
 * (a broken one is an error too: a wrong map names the wrong socket). *used: the file read, "" if none. */
int host_portmap_load(const char *file, struct dd_portmap *m, char *used, size_t used_size, struct dd_err *err);

/* Does the USB port an ID_PATH (or a prefix of one) names exist on this machine? Walks sysfs under sysroot
 * ("/sys"): the controller (pci-ADDR or platform-NAME), then each port of the chain (usbN-portK,
 * N-1.4-portK). True when the path names no controller this code can follow (never a false alarm). */
bool host_port_exists(const char *sysroot, const char *path);

#endif
