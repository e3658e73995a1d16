/* PC-side transports to a dartdup board: libusb (real boards) behind the link transport table. */
#ifndef DARTDUP_HOST_BOARD_LINK_H
#define DARTDUP_HOST_BOARD_LINK_H

#include <stdbool.h>
#include <stdio.h>

#include "link/link.h"

/* Open the board with this serial (NULL: the only board plugged in). Finds it by VID/PID and
 * interface class, claims the interface, reads the bulk endpoint addresses from its descriptors. */
int dd_board_usb_open(const char *serial, struct dd_link_transport **out, struct dd_err *err);

/* Print every board plugged in (one line each, or one JSON object per line). Returns how many
 * boards were found, or a negative dd_status. */
int dd_board_usb_list(FILE *out, bool json, struct dd_err *err);

#endif
