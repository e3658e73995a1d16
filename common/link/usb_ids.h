/* How a dartdup board shows itself on USB. Shared by the PC side (host/board_usb.c: libusb finds
 * the board by these) and the board side (boards/linux-gadget/: the FunctionFS descriptors).
 * Endpoint addresses are NOT here: the board's USB controller assigns them, the PC reads them from
 * the configuration descriptor. */
#ifndef DARTDUP_LINK_USB_IDS_H
#define DARTDUP_LINK_USB_IDS_H

#define DD_USB_VID 0x1209           /* pid.codes */
#define DD_USB_PID 0x0001           /* pid.codes test PID: replace by an allocated PID for a product */
#define DD_USB_CLASS 0xff           /* vendor specific interface ... */
#define DD_USB_SUBCLASS 0xdd        /* ... that speaks the dartdup link protocol (docs/PROTOCOL.md) */
#define DD_USB_PROTOCOL 0x01
#define DD_USB_INTERFACE_NAME "dartdup link"

#endif
