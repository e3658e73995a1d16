/* Button and lights of the linux-gadget board, as the description file chose them (conf.h):
 *   button: an evdev key (input device) or a GPIO line with edge events (GPIO character device, v2 uAPI)
 *   lights: two sysfs LEDs (/sys/class/leds) or two GPIO output lines per slot: green and red.
 * Light patterns: off/ready = dark; busy = green blinking (LED timer trigger; steady green on GPIO);
 * verifying = green + red (amber); pass = green; fail = red; attention = red blinking (steady red on GPIO). */
#ifndef DARTDUP_LG_IO_H
#define DARTDUP_LG_IO_H

#include <stdbool.h>

#include "boards/linux-gadget/conf.h"
#include "util/err.h"

struct lg_button_dev {
	struct lg_button cfg;
	int fd;                      /* -1 for "none" */
};

struct lg_light_dev {
	struct lg_light cfg;
	int fd;                      /* GPIO line request, -1 otherwise */
	int state;                   /* last state shown, -1 before the first */
};

int lg_button_open(const struct lg_button *cfg, struct lg_button_dev *b, struct dd_err *err);
/* Drain the pending events; true if the button was pressed. */
bool lg_button_pressed(struct lg_button_dev *b);
void lg_button_close(struct lg_button_dev *b);

int lg_light_open(const struct lg_light *cfg, struct lg_light_dev *l, struct dd_err *err);
void lg_light_set(struct lg_light_dev *l, int state);
void lg_light_close(struct lg_light_dev *l);

#endif
