#!/usr/bin/env python3
"""usbctl.py SYSFS_DEV TYPE REQUEST VALUE INDEX LENGTH: one control transfer to a USB device, as a PC's
driver would send it (usbfs USBDEVFS_CONTROL on /dev/bus/usb/BBB/DDD), printing the answer in hex.

SYSFS_DEV is the device's sysfs directory (/sys/bus/usb/devices/1-1); numbers may be given in hex (0x..).
The VM rig uses it to read what a Windows PC reads from the board before it binds a driver: the Microsoft
OS string descriptor (0xEE) and the Extended Compat ID descriptor. Exit status 1 when the device stalls
the request or is gone.
"""
import ctypes
import fcntl
import os
import sys


class CtrlTransfer(ctypes.Structure):
    # struct usbdevfs_ctrltransfer (linux/usbdevice_fs.h)
    _fields_ = [("bRequestType", ctypes.c_uint8), ("bRequest", ctypes.c_uint8),
                ("wValue", ctypes.c_uint16), ("wIndex", ctypes.c_uint16),
                ("wLength", ctypes.c_uint16), ("timeout", ctypes.c_uint32),
                ("data", ctypes.c_void_p)]


def ioc_iowr(kind, nr, size):
    return (3 << 30) | (size << 16) | (ord(kind) << 8) | nr


USBDEVFS_CONTROL = ioc_iowr("U", 0, ctypes.sizeof(CtrlTransfer))


def main(argv):
    if len(argv) != 7:
        sys.stderr.write(__doc__)
        return 2
    sysdev = argv[1]
    rtype, req, value, index, length = (int(a, 0) for a in argv[2:])
    with open(os.path.join(sysdev, "busnum")) as f:
        bus = int(f.read())
    with open(os.path.join(sysdev, "devnum")) as f:
        dev = int(f.read())
    buf = ctypes.create_string_buffer(length)
    ct = CtrlTransfer(rtype, req, value, index, length, 5000, ctypes.cast(buf, ctypes.c_void_p))
    fd = os.open("/dev/bus/usb/%03d/%03d" % (bus, dev), os.O_RDWR)
    try:
        n = fcntl.ioctl(fd, USBDEVFS_CONTROL, ct)
    except OSError as e:
        sys.stderr.write("usbctl: %s: request 0x%02x: %s\n" % (sysdev, req, e.strerror))
        return 1
    finally:
        os.close(fd)
    print(buf.raw[:n].hex())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
