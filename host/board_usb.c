/* libusb transport to a dartdup board (PC side). The board is found by VID/PID and interface
 * class (common/link/usb_ids.h); the bulk endpoint addresses come from its configuration
 * descriptor (a board's controller assigns them). Several transfers stay in flight both ways:
 * sends are queued asynchronously (up to OUT_SLOTS), and IN_SLOTS reads are always submitted, so
 * a load runs at the link's speed. Frames never end on a packet boundary (docs/PROTOCOL.md), so
 * every frame the board writes completes a read with a short packet; no zero-length packets. */
#include "host/board_link.h"

#include <libusb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "link/usb_ids.h"
#include "util/escape.h"
#include "util/json.h"
#include "util/schema.h"

#define OUT_SLOTS 4
#define IN_SLOTS 2
#define IN_LEN (DD_LINK_MAX_PAYLOAD + 4096) /* a whole frame fits, a multiple of 1024 */
#define FLUSH_TIMEOUT_MS 60000

struct in_slot {
	struct libusb_transfer *x;
	uint8_t *buf;
	bool done;
	size_t len, pos;
};

struct out_slot {
	struct libusb_transfer *x;
	uint8_t *buf;
	size_t cap;
	bool busy;
};

struct usb_link {
	struct dd_link_transport t;
	libusb_context *ctx;
	libusb_device_handle *h;
	int iface;
	unsigned char ep_in, ep_out;
	struct in_slot in[IN_SLOTS];
	unsigned in_next;     /* the oldest read: replies arrive in submission order */
	struct out_slot out[OUT_SLOTS];
	unsigned out_next;    /* the next write's slot, used in turn: the oldest write in flight if it is busy */
	int error;            /* first transfer error (libusb_transfer_status), 0 if none */
};

static void on_in(struct libusb_transfer *x)
{
	struct in_slot *s = x->user_data;

	s->done = true;
	s->len = x->status == LIBUSB_TRANSFER_COMPLETED ? (size_t)x->actual_length : 0;
	s->pos = 0;
}

static void on_out(struct libusb_transfer *x)
{
	struct out_slot *s = x->user_data;

	s->busy = false;
}

static int usb_status(struct usb_link *u, struct dd_err *err)
{
	for (unsigned i = 0; i < IN_SLOTS; i++)
		if (u->in[i].done && u->in[i].x->status != LIBUSB_TRANSFER_COMPLETED && !u->error)
			u->error = u->in[i].x->status;
	for (unsigned i = 0; i < OUT_SLOTS; i++)
		if (!u->out[i].busy && u->out[i].x && u->out[i].x->status != LIBUSB_TRANSFER_COMPLETED && !u->error)
			u->error = u->out[i].x->status;
	if (!u->error)
		return DD_OK;
	return dd_fail(err, DD_EIO, "%s: transfer failed: %s", u->t.name,
		       libusb_error_name(u->error == LIBUSB_TRANSFER_NO_DEVICE ? LIBUSB_ERROR_NO_DEVICE
									     : LIBUSB_ERROR_IO));
}

static long ms_left(const struct timeval *deadline)
{
	struct timeval now;

	gettimeofday(&now, NULL);
	return (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_usec - now.tv_usec) / 1000;
}

/* Run libusb's event loop until *flag == want or timeout_ms passed (-1: no limit). */
static int wait_flag(struct usb_link *u, volatile bool *flag, bool want, int timeout_ms, struct dd_err *err)
{
	struct timeval deadline, tv;
	long left;

	gettimeofday(&deadline, NULL);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_usec += (timeout_ms % 1000) * 1000;
	if (deadline.tv_usec >= 1000000)
		deadline.tv_sec++, deadline.tv_usec -= 1000000;
	while (*flag != want) {
		left = timeout_ms < 0 ? 1000 : ms_left(&deadline);
		if (left <= 0)
			return DD_OK;
		tv.tv_sec = left / 1000;
		tv.tv_usec = (left % 1000) * 1000;
		if (libusb_handle_events_timeout(u->ctx, &tv) < 0)
			return dd_fail(err, DD_EIO, "%s: libusb event handling failed", u->t.name);
		if (usb_status(u, err))
			return DD_EIO;
	}
	return DD_OK;
}

static int submit_in(struct usb_link *u, struct in_slot *s, struct dd_err *err)
{
	s->done = false;
	s->len = s->pos = 0;
	libusb_fill_bulk_transfer(s->x, u->h, u->ep_in, s->buf, IN_LEN, on_in, s, 0);
	if (libusb_submit_transfer(s->x))
		return dd_fail(err, DD_EIO, "%s: cannot submit a read", u->t.name);
	return DD_OK;
}

static int usb_recv(struct dd_link_transport *t, void *buf, size_t cap, size_t *got, int timeout_ms,
		    struct dd_err *err)
{
	struct usb_link *u = t->priv;
	struct in_slot *s = &u->in[u->in_next];
	size_t n;
	int rc;

	*got = 0;
	if ((rc = usb_status(u, err)))
		return rc;
	if (!s->done && (rc = wait_flag(u, &s->done, true, timeout_ms, err)))
		return rc;
	if (!s->done)
		return DD_OK; /* timeout */
	if ((rc = usb_status(u, err)))
		return rc;
	n = s->len - s->pos < cap ? s->len - s->pos : cap;
	memcpy(buf, s->buf + s->pos, n);
	s->pos += n;
	*got = n;
	if (s->pos == s->len) {
		u->in_next = (u->in_next + 1) % IN_SLOTS;
		return submit_in(u, s, err);
	}
	return DD_OK;
}

/* Writes use the slots in turn, so the next slot is the oldest write in flight when all are busy: waiting
 * for it keeps OUT_SLOTS - 1 writes on the bus. (Taking the first free slot made slot 0 the newest write
 * after the first round, and waiting for it emptied the queue each time: issue 21 item 5.) */
static int usb_send(struct dd_link_transport *t, const void *buf, size_t len, struct dd_err *err)
{
	struct usb_link *u = t->priv;
	struct out_slot *s = &u->out[u->out_next];
	int rc;

	if (s->busy && (rc = wait_flag(u, &s->busy, false, FLUSH_TIMEOUT_MS, err)))
		return rc;
	if (s->busy)
		return dd_fail(err, DD_EIO, "%s: the board does not take data", t->name);
	if ((rc = usb_status(u, err)))
		return rc;
	if (s->cap < len) {
		uint8_t *nb = realloc(s->buf, len);

		if (!nb)
			return dd_fail(err, DD_ENOMEM, "%s: out of memory", t->name);
		s->buf = nb;
		s->cap = len;
	}
	memcpy(s->buf, buf, len);
	libusb_fill_bulk_transfer(s->x, u->h, u->ep_out, s->buf, (int)len, on_out, s, 0);
	if (libusb_submit_transfer(s->x))
		return dd_fail(err, DD_EIO, "%s: cannot submit a write", t->name);
	s->busy = true;
	u->out_next = (u->out_next + 1) % OUT_SLOTS;
	return DD_OK;
}

static int usb_flush(struct dd_link_transport *t, struct dd_err *err)
{
	struct usb_link *u = t->priv;
	int rc;

	for (unsigned i = 0; i < OUT_SLOTS; i++) {
		if (!u->out[i].busy)
			continue;
		if ((rc = wait_flag(u, &u->out[i].busy, false, FLUSH_TIMEOUT_MS, err)))
			return rc;
		if (u->out[i].busy)
			return dd_fail(err, DD_EIO, "%s: the board does not take data", t->name);
	}
	return usb_status(u, err);
}

static void usb_close(struct dd_link_transport *t)
{
	struct usb_link *u = t->priv;
	struct timeval tv = { 0, 100000 };

	for (unsigned i = 0; i < IN_SLOTS; i++)
		if (u->in[i].x && !u->in[i].done)
			libusb_cancel_transfer(u->in[i].x);
	for (unsigned i = 0; i < OUT_SLOTS; i++)
		if (u->out[i].busy)
			libusb_cancel_transfer(u->out[i].x);
	/* cancelled transfers complete through the event loop before they may be freed */
	for (int tries = 0; tries < 50; tries++) {
		bool pending = false;

		for (unsigned i = 0; i < IN_SLOTS; i++)
			pending |= u->in[i].x && !u->in[i].done;
		for (unsigned i = 0; i < OUT_SLOTS; i++)
			pending |= u->out[i].busy;
		if (!pending)
			break;
		libusb_handle_events_timeout(u->ctx, &tv);
	}
	for (unsigned i = 0; i < IN_SLOTS; i++) {
		libusb_free_transfer(u->in[i].x);
		free(u->in[i].buf);
	}
	for (unsigned i = 0; i < OUT_SLOTS; i++) {
		libusb_free_transfer(u->out[i].x);
		free(u->out[i].buf);
	}
	if (u->h) {
		libusb_release_interface(u->h, u->iface);
		libusb_close(u->h);
	}
	if (u->ctx)
		libusb_exit(u->ctx);
	free(u);
}

static const struct dd_link_transport_ops usb_ops = {
	.send = usb_send,
	.recv = usb_recv,
	.flush = usb_flush,
	.close = usb_close,
};

/* --- finding the board -------------------------------------------------------------------- */

struct found {
	int iface;
	unsigned char ep_in, ep_out;
};

/* The interface of our class with one bulk IN and one bulk OUT endpoint. */
static bool find_interface(libusb_device *dev, struct found *f)
{
	struct libusb_device_descriptor dd;
	struct libusb_config_descriptor *cfg;
	bool ok = false;

	if (libusb_get_device_descriptor(dev, &dd) || dd.idVendor != DD_USB_VID || dd.idProduct != DD_USB_PID)
		return false;
	if (libusb_get_active_config_descriptor(dev, &cfg))
		return false;
	for (int i = 0; i < cfg->bNumInterfaces && !ok; i++) {
		for (int a = 0; a < cfg->interface[i].num_altsetting && !ok; a++) {
			const struct libusb_interface_descriptor *id = &cfg->interface[i].altsetting[a];

			if (id->bInterfaceClass != DD_USB_CLASS || id->bInterfaceSubClass != DD_USB_SUBCLASS ||
			    id->bInterfaceProtocol != DD_USB_PROTOCOL)
				continue;
			f->ep_in = f->ep_out = 0;
			for (int e = 0; e < id->bNumEndpoints; e++) {
				const struct libusb_endpoint_descriptor *ep = &id->endpoint[e];

				if ((ep->bmAttributes & 3) != LIBUSB_TRANSFER_TYPE_BULK)
					continue;
				if (ep->bEndpointAddress & LIBUSB_ENDPOINT_IN)
					f->ep_in = f->ep_in ? f->ep_in : ep->bEndpointAddress;
				else
					f->ep_out = f->ep_out ? f->ep_out : ep->bEndpointAddress;
			}
			f->iface = id->bInterfaceNumber;
			ok = f->ep_in && f->ep_out;
		}
	}
	libusb_free_config_descriptor(cfg);
	return ok;
}

static void read_serial(libusb_device *dev, libusb_device_handle *h, char *out, size_t len)
{
	struct libusb_device_descriptor dd;

	out[0] = '\0';
	if (!libusb_get_device_descriptor(dev, &dd) && dd.iSerialNumber &&
	    libusb_get_string_descriptor_ascii(h, dd.iSerialNumber, (unsigned char *)out, (int)len) < 0)
		out[0] = '\0';
}

static void port_path(libusb_device *dev, char *out, size_t len)
{
	uint8_t ports[8];
	int n = libusb_get_port_numbers(dev, ports, 8);
	size_t o = (size_t)snprintf(out, len, "%u-", libusb_get_bus_number(dev));

	for (int i = 0; i < n && o < len; i++)
		o += (size_t)snprintf(out + o, len - o, i ? ".%u" : "%u", ports[i]);
}

static int setup(struct usb_link *u, struct dd_err *err)
{
	int rc;

	libusb_set_auto_detach_kernel_driver(u->h, 1);
	if ((rc = libusb_claim_interface(u->h, u->iface)))
		return dd_fail(err, DD_EIO, "%s: cannot claim the interface: %s", u->t.name, libusb_error_name(rc));
	for (unsigned i = 0; i < IN_SLOTS; i++) {
		u->in[i].x = libusb_alloc_transfer(0);
		u->in[i].buf = malloc(IN_LEN);
		u->in[i].done = true;
		if (!u->in[i].x || !u->in[i].buf)
			return dd_fail(err, DD_ENOMEM, "out of memory");
	}
	for (unsigned i = 0; i < OUT_SLOTS; i++)
		if (!(u->out[i].x = libusb_alloc_transfer(0)))
			return dd_fail(err, DD_ENOMEM, "out of memory");
	for (unsigned i = 0; i < IN_SLOTS; i++)
		if ((rc = submit_in(u, &u->in[i], err)))
			return rc;
	return DD_OK;
}

int dd_board_usb_open(const char *serial, struct dd_link_transport **out, struct dd_err *err)
{
	struct usb_link *u = calloc(1, sizeof(*u));
	libusb_device **list = NULL;
	ssize_t n;
	unsigned matches = 0;
	char sn[128], path[64];
	int rc;

	if (!u)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	u->t.ops = &usb_ops;
	u->t.fd = -1;
	u->t.priv = u;
	if (libusb_init(&u->ctx)) {
		free(u);
		return dd_fail(err, DD_EIO, "libusb: cannot initialise");
	}
	n = libusb_get_device_list(u->ctx, &list);
	for (ssize_t i = 0; i < n; i++) {
		struct found f;
		libusb_device_handle *h;

		if (!find_interface(list[i], &f) || libusb_open(list[i], &h))
			continue;
		read_serial(list[i], h, sn, sizeof(sn));
		if ((serial && strcmp(sn, serial)) || u->h) {
			matches += !serial;
			libusb_close(h);
			continue;
		}
		matches++;
		u->h = h;
		u->iface = f.iface;
		u->ep_in = f.ep_in;
		u->ep_out = f.ep_out;
		port_path(list[i], path, sizeof(path));
		snprintf(u->t.name, sizeof(u->t.name), "usb %s serial %s", path, sn);
	}
	if (list) /* an empty list is allocated too (its NULL end) */
		libusb_free_device_list(list, 1);
	if (!u->h)
		rc = serial ? dd_fail(err, DD_EINPUT, "no board with serial %s on USB", serial)
			    : dd_fail(err, DD_EINPUT, "no dartdup board on USB (dartdup board list)");
	else if (!serial && matches > 1)
		rc = dd_fail(err, DD_EUSAGE, "%u boards on USB: choose one with --serial (dartdup board list)", matches);
	else
		rc = setup(u, err);
	if (rc) {
		usb_close(&u->t);
		return rc;
	}
	*out = &u->t;
	return DD_OK;
}

int dd_board_usb_list(FILE *out, bool json, struct dd_err *err)
{
	libusb_context *ctx;
	libusb_device **list = NULL;
	ssize_t n;
	int found = 0;
	char sn[128], path[64];

	if (libusb_init(&ctx))
		return dd_fail(err, DD_EIO, "libusb: cannot initialise");
	n = libusb_get_device_list(ctx, &list);
	for (ssize_t i = 0; i < n; i++) {
		struct found f;
		libusb_device_handle *h;

		if (!find_interface(list[i], &f))
			continue;
		port_path(list[i], path, sizeof(path));
		snprintf(sn, sizeof(sn), "?");
		if (!libusb_open(list[i], &h)) {
			read_serial(list[i], h, sn, sizeof(sn));
			libusb_close(h);
		}
		if (json) {
			struct dd_json j;

			dd_json_init(&j);
			dd_json_begin_obj(&j, NULL);
			dd_json_schema(&j);
			dd_json_str(&j, "serial", sn);
			dd_json_str(&j, "usb", path);
			dd_json_end_obj(&j);
			fprintf(out, "%s\n", dd_json_text(&j));
			dd_json_free(&j);
		} else
			fprintf(out, "%-24s usb %s\n", DD_ESC(sn), path); /* the device's own string */
		found++;
	}
	if (list) /* an empty list is allocated too (its NULL end) */
		libusb_free_device_list(list, 1);
	libusb_exit(ctx);
	return found;
}
