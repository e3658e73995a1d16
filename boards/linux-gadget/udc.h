/* Binding the gadget to a USB device controller (docs/BOARD.md "Gadget set-up"). */
#ifndef DARTDUP_LG_UDC_H
#define DARTDUP_LG_UDC_H

#include "util/err.h"

/* Bind / unbind the gadget at gadget_dir (configfs) to a UDC ("auto": the only one there is). */
int lg_udc_bind(const char *gadget_dir, const char *udc, struct dd_err *err);
void lg_udc_unbind(const char *gadget_dir);

#endif
