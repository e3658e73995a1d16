/* Button and lights (io.h). */
#include "boards/linux-gadget/io.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/gpio.h>
#include <linux/input.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "firmware/board.h"
#include "link/proto.h"

#define DEBOUNCE_US 20000

static int gpio_request(const char *chip, const unsigned *lines, unsigned n, uint64_t flags, bool debounce,
			int *fd, struct dd_err *err)
{
	struct gpio_v2_line_request req;
	int cfd = open(chip, O_RDWR | O_CLOEXEC);

	if (cfd < 0)
		return dd_fail_errno(err, DD_EIO, errno, "%s", chip);
	memset(&req, 0, sizeof(req));
	for (unsigned i = 0; i < n; i++)
		req.offsets[i] = lines[i];
	req.num_lines = n;
	snprintf(req.consumer, sizeof(req.consumer), "dartdupd");
	req.config.flags = flags;
	if (debounce) {
		req.config.num_attrs = 1;
		req.config.attrs[0].attr.id = GPIO_V2_LINE_ATTR_ID_DEBOUNCE;
		req.config.attrs[0].attr.debounce_period_us = DEBOUNCE_US;
		req.config.attrs[0].mask = (1ull << n) - 1;
	}
	if (ioctl(cfd, GPIO_V2_GET_LINE_IOCTL, &req)) {
		int e = errno;

		close(cfd);
		/* name every line: with two, either may be the one in use or out of range */
		if (n == 2)
			return dd_fail_errno(err, DD_EIO, e, "%s: lines %u and %u", chip, lines[0], lines[1]);
		return dd_fail_errno(err, DD_EIO, e, "%s: line %u", chip, lines[0]);
	}
	close(cfd); /* the line request has its own fd */
	*fd = req.fd;
	return DD_OK;
}

int lg_button_open(const struct lg_button *cfg, struct lg_button_dev *b, struct dd_err *err)
{
	uint64_t flags = GPIO_V2_LINE_FLAG_INPUT | GPIO_V2_LINE_FLAG_EDGE_RISING;
	int rc;

	b->cfg = *cfg;
	b->fd = -1;
	switch (cfg->kind) {
	case LG_IO_INPUT:
		b->fd = open(cfg->dev, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (b->fd < 0)
			return dd_fail_errno(err, DD_EIO, errno, "button %s", cfg->dev);
		return DD_OK;
	case LG_IO_GPIO:
		/* with ACTIVE_LOW the edge is of the logical value: a press is always "rising" */
		if (cfg->active_low)
			flags |= GPIO_V2_LINE_FLAG_ACTIVE_LOW;
		rc = gpio_request(cfg->dev, &cfg->code, 1, flags, true, &b->fd, err);
		if (rc)
			return rc;
		/* lg_button_pressed() drains every queued edge: the last read must not block */
		if (fcntl(b->fd, F_SETFL, O_NONBLOCK))
			return dd_fail_errno(err, DD_EIO, errno, "%s: line %u", cfg->dev, cfg->code);
		return DD_OK;
	default:
		return DD_OK;
	}
}

bool lg_button_pressed(struct lg_button_dev *b)
{
	bool pressed = false;

	if (b->cfg.kind == LG_IO_INPUT) {
		struct input_event ev[16];
		ssize_t n;

		while ((n = read(b->fd, ev, sizeof(ev))) > 0)
			for (size_t i = 0; i < (size_t)n / sizeof(ev[0]); i++)
				if (ev[i].type == EV_KEY && ev[i].code == b->cfg.code && ev[i].value == 1)
					pressed = true;
	} else if (b->cfg.kind == LG_IO_GPIO) {
		struct gpio_v2_line_event ev[16];
		ssize_t n;

		while ((n = read(b->fd, ev, sizeof(ev))) > 0)
			for (size_t i = 0; i < (size_t)n / sizeof(ev[0]); i++)
				if (ev[i].id == GPIO_V2_LINE_EVENT_RISING_EDGE)
					pressed = true;
	}
	return pressed;
}

void lg_button_close(struct lg_button_dev *b)
{
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}

int lg_light_open(const struct lg_light *cfg, struct lg_light_dev *l, struct dd_err *err)
{
	unsigned lines[2] = { cfg->green_line, cfg->red_line };
	uint64_t flags = GPIO_V2_LINE_FLAG_OUTPUT;

	l->cfg = *cfg;
	l->fd = -1;
	l->state = -1;
	if (cfg->kind == LG_IO_GPIO) {
		if (cfg->active_low)
			flags |= GPIO_V2_LINE_FLAG_ACTIVE_LOW;
		return gpio_request(cfg->dev, lines, 2, flags, false, &l->fd, err);
	}
	if (cfg->kind == LG_IO_LED) {
		char path[160];

		snprintf(path, sizeof(path), "/sys/class/leds/%s/brightness", cfg->green);
		if (access(path, W_OK))
			return dd_fail_errno(err, DD_EIO, errno, "%s", path);
		snprintf(path, sizeof(path), "/sys/class/leds/%s/brightness", cfg->red);
		if (access(path, W_OK))
			return dd_fail_errno(err, DD_EIO, errno, "%s", path);
	}
	return DD_OK;
}

static void led_write(const char *led, const char *file, const char *value)
{
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "/sys/class/leds/%s/%s", led, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, value, strlen(value)) < 0) { /* e.g. no timer trigger: stays steady */ }
	close(fd);
}

/* One LED: 0 off, 1 on, 2 blinking, 3 blinking fast (timer trigger; steady where it is missing). */
static void led_show(const char *led, int mode)
{
	led_write(led, "trigger", "none");
	led_write(led, "brightness", mode ? "255" : "0"); /* the kernel caps it at max_brightness */
	if (mode < 2)
		return;
	led_write(led, "trigger", "timer");
	if (mode == 3) { /* the master stick's verdict: 100 ms on, 100 ms off */
		led_write(led, "delay_on", "100");
		led_write(led, "delay_off", "100");
	}
}

void lg_light_set(struct lg_light_dev *l, int state)
{
	/* green, red per state: off, ready, busy, verifying, pass, fail, attention; then the master
	 * stick's: accepted, refused, accepted without its audit export (firmware/board.h) */
	static const int green[] = { 0, 0, 2, 1, 1, 0, 0, 3, 0, 1 };
	static const int red[] = { 0, 0, 0, 1, 0, 1, 2, 0, 3, 1 };

	_Static_assert(sizeof(green) / sizeof(green[0]) == DD_LIGHT_MAX + 1, "light patterns");
	if (state < 0 || state > DD_LIGHT_MAX || state == l->state)
		return;
	l->state = state;
	if (l->cfg.kind == LG_IO_LED) {
		led_show(l->cfg.green, green[state]);
		led_show(l->cfg.red, red[state]);
	} else if (l->cfg.kind == LG_IO_GPIO) {
		struct gpio_v2_line_values v = {
			.mask = 3,
			.bits = (green[state] ? 1u : 0u) | (red[state] ? 2u : 0u),
		};

		if (ioctl(l->fd, GPIO_V2_LINE_SET_VALUES_IOCTL, &v)) { /* a light is not worth stopping for */ }
	}
}

void lg_light_close(struct lg_light_dev *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}
