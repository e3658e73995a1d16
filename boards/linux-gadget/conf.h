/* The linux-gadget board description file (docs/BOARD.md "The description file").
 *
 * One "key = value" per line; '#' starts a comment; blank lines are ignored. Keys:
 *
 *   store = DIR                       image store (created if missing)
 *   pubkey = FILE                     a depot public key (1..8 lines)
 *   slot.N = PORTPATH [PORTPATH...]   physical slot N (1..32, numbered without gaps) and the USB port
 *                                     path(s) it shows up under (udev ID_PATH up to the USB port, e.g.
 *                                     platform-fd500000.pcie-pci-0000:01:00.0-usb-0:1.2; a USB3 socket
 *                                     has a USB2 and a USB3 path)
 *   port.NAME = PORTPATH [PORTPATH...] instead of slot.N lines: a slot named NAME (the port map's line,
 *                                     util/portmap.h, parsed by the same code); slots 1..N in file order
 *   ports = FILE                      instead of both: the slots of a port map file (docs/PORTS.md), in
 *                                     its order, named by it (the station's --port-map file)
 *   light.N = led GREEN RED           sysfs LEDs /sys/class/leds/GREEN and .../RED, or
 *   light.N = gpio CHIP GREEN RED [active-low]   two lines of a GPIO character device, or
 *   light.N = none
 *   button = input DEVICE KEY         an evdev device and a key (KEY_ENTER, BTN_0, ... or a number), or
 *   button = gpio CHIP LINE [active-low]  a GPIO line (edge events), or
 *   button = none                     (`dartdup board start` only)
 *   usb.vid = 0x1209, usb.pid = 0x0001, usb.manufacturer = TEXT, usb.product = TEXT,
 *   usb.serial = machine-id | TEXT    the gadget identity (gadget-setup writes it to configfs)
 *   usb.udc = auto | NAME             the device controller to bind (auto: the only one in /sys/class/udc)
 *   usb.gadget = DIR                  configfs gadget (default /sys/kernel/config/usb_gadget/dartdup)
 *   usb.ffs = DIR                     where the FunctionFS instance is mounted (default /run/dartdup/ffs)
 *   rtc = /dev/rtcN                   a battery-backed RTC, read at boot (optional; firmware/clock.h)
 *   probe = yes | no                  every job: counterfeit-capacity probe before writing (default no)
 *   sanitize = yes | no               every job: zeros over each stick past the image, read back (no)
 *   full = yes | no, retries = N      engine/policy.h (dd_policy_set() parses them, as write's flags)
 *   master = N                        slot N is the master port (optional; firmware/master.h): a stick in
 *                                     it is mounted (vfat) and read as a master stick, never written by a job
 *
 * Every problem is one line naming file:line ("board.conf:7: slot.3: port path already used by slot.1"). */
#ifndef DARTDUP_LG_CONF_H
#define DARTDUP_LG_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/policy.h"
#include "link/proto.h"
#include "util/err.h"
#include "util/portmap.h"

#define LG_MAX_SLOTS DD_LINK_MAX_PORTS
#define LG_MAX_PATHS 4
#define LG_MAX_KEYS DD_LINK_MAX_KEYS

enum lg_io_kind { LG_IO_NONE = 0, LG_IO_LED, LG_IO_GPIO, LG_IO_INPUT };

struct lg_light {
	enum lg_io_kind kind;        /* NONE, LED or GPIO */
	char dev[128];               /* GPIO: /dev/gpiochipN */
	char green[64], red[64];     /* LED class names */
	unsigned green_line, red_line; /* GPIO line offsets */
	bool active_low;
};

struct lg_button {
	enum lg_io_kind kind;        /* NONE, INPUT or GPIO */
	char dev[256];               /* /dev/input/... or /dev/gpiochipN */
	unsigned code;               /* INPUT: key code; GPIO: line offset */
	bool active_low;
};

struct lg_slot {
	char label[DD_PORT_NAME_MAX]; /* port.NAME's name; slot.N: "" (views show the number) */
	char path[LG_MAX_PATHS][128];
	unsigned n_paths;
	struct lg_light light;
};

struct lg_conf {
	char file[256];
	char store[256];
	char pubkey[LG_MAX_KEYS][256];
	unsigned n_pubkeys;
	struct lg_slot slot[LG_MAX_SLOTS];
	unsigned n_slots;
	struct lg_button button;
	uint16_t vid, pid;
	char manufacturer[64], product[64];
	char serial[64];             /* "machine-id" or a literal serial */
	char udc[64];                /* "auto" or a controller name */
	char gadget_dir[256], ffs_dir[256];
	char rtc[256];               /* "" none */
	struct dd_policy policy;     /* probe, sanitize, full, retries asked (zero: none; firmware/board.h) */
	unsigned master;             /* the master slot (1-based), 0 none */
	struct dd_portmap ports;     /* port.NAME lines or the ports = FILE map: become the slots */
	char ports_file[256];        /* ports = FILE, "" none */
};

/* Parse and validate path. DD_EINPUT with "path:line: ..." on the first problem. */
int lg_conf_load(const char *path, struct lg_conf *c, struct dd_err *err);
/* The same over text in memory (name is used in messages). */
int lg_conf_parse(const char *name, const char *text, struct lg_conf *c, struct dd_err *err);

/* The name the board gives slot i (0-based) over the link (PORTS): its port.NAME, else the USB part of its
 * first port path ("usb-0:1.2", as the station labels a socket without a map: util/portmap.h), else "" (the PC
 * shows the number). Only a name PORTS may carry (dd_link_port_name_ok); out holds DD_LINK_PORT_NAME_MAX + 1. */
void lg_conf_slot_name(const struct lg_conf *c, unsigned i, char out[DD_LINK_PORT_NAME_MAX + 1]);

/* The slot (0-based) a disk with udev ID_PATH id_path sits in, or -1. A slot path matches the
 * ID_PATH itself or any prefix of it that ends at a USB port (followed by ':' or '-'). */
int lg_conf_slot_of(const struct lg_conf *c, const char *id_path);

#endif
