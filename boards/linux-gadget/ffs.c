/* FunctionFS ep0 of the linux-gadget board (ffs.h): the descriptors and strings, and the events that
 * open and reset the link (ffs_link.c holds the link itself, udc.c the controller binding). */
#include "boards/linux-gadget/ffs_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/usb/ch9.h>
#include <linux/usb/functionfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "link/usb_ids.h"

/* --- descriptors ----------------------------------------------------------------------------- */
struct blob {
	uint8_t *p;
	size_t len, cap;
};

static void put8(struct blob *b, unsigned v)
{
	if (b->len < b->cap)
		b->p[b->len] = (uint8_t)v;
	b->len++;
}

static void put16(struct blob *b, unsigned v)
{
	put8(b, v & 0xff);
	put8(b, v >> 8);
}

static void put32(struct blob *b, uint32_t v)
{
	put16(b, v & 0xffff);
	put16(b, v >> 16);
}

static void set32(struct blob *b, size_t at, uint32_t v)
{
	for (unsigned i = 0; i < 4 && at + i < b->cap; i++)
		b->p[at + i] = (uint8_t)(v >> (8 * i));
}

static void put_interface(struct blob *b)
{
	put8(b, USB_DT_INTERFACE_SIZE);
	put8(b, USB_DT_INTERFACE);
	put8(b, 0);                 /* bInterfaceNumber: f_fs renumbers */
	put8(b, 0);                 /* bAlternateSetting */
	put8(b, 2);                 /* bNumEndpoints */
	put8(b, DD_USB_CLASS);
	put8(b, DD_USB_SUBCLASS);
	put8(b, DD_USB_PROTOCOL);
	put8(b, 1);                 /* iInterface: the first (only) string */
}

static void put_endpoint(struct blob *b, unsigned addr, unsigned maxpacket, bool ss)
{
	put8(b, USB_DT_ENDPOINT_SIZE);
	put8(b, USB_DT_ENDPOINT);
	put8(b, addr);              /* the UDC may assign another number: the PC reads it */
	put8(b, USB_ENDPOINT_XFER_BULK);
	put16(b, maxpacket);
	put8(b, 0);                 /* bInterval */
	if (!ss)
		return;
	put8(b, USB_DT_SS_EP_COMP_SIZE);
	put8(b, USB_DT_SS_ENDPOINT_COMP);
	put8(b, 0);                 /* bMaxBurst */
	put8(b, 0);                 /* bmAttributes */
	put16(b, 0);                /* wBytesPerInterval: bulk */
}

static void put_speed(struct blob *b, unsigned maxpacket, bool ss)
{
	put_interface(b);
	put_endpoint(b, 1 | USB_DIR_OUT, maxpacket, ss); /* ep1 */
	put_endpoint(b, 2 | USB_DIR_IN, maxpacket, ss);  /* ep2 */
}

/* Microsoft OS 1.0 Extended Compat ID: interface 0 is "WINUSB", so Windows binds WinUSB by itself.
 * (The gadget's os_desc in configfs answers the 0xEE string and the vendor request.) */
static void put_ms_os(struct blob *b)
{
	static const char compat[8] = "WINUSB";

	/* struct usb_os_desc_header (11 packed bytes) + one struct usb_ext_compat_desc (24): f_fs
	 * checks dwLength against the bytes that follow and builds the wire descriptor itself */
	put8(b, 0);                 /* interface of the function the header applies to */
	put32(b, 11 + 24);          /* dwLength */
	/* bcdVersion: the kernel builds the wire descriptor itself (with 0x0100); what it checks here is
	 * its own convention. Kernels up to 6.1 (Debian 12) accept only 0x0001 (EINVAL otherwise); later
	 * ones want 0x0100 but still take 0x0001 (with a warning in the log): 0x0001 works on both */
	put16(b, 0x0001);
	put16(b, 4);                /* wIndex: Extended Compat ID */
	put8(b, 1);                 /* bCount */
	put8(b, 0);                 /* Reserved */
	put8(b, 0);                 /* bFirstInterfaceNumber */
	/* Reserved1: the specification says 1, but kernels before the f_fs fix refuse anything but 0
	 * with EINVAL, and newer ones set it to 1 themselves: 0 works on both */
	put8(b, 0);
	for (unsigned i = 0; i < 8; i++)
		put8(b, (uint8_t)compat[i]);
	for (unsigned i = 0; i < 8; i++)
		put8(b, 0);         /* SubCompatibleID */
	for (unsigned i = 0; i < 6; i++)
		put8(b, 0);         /* Reserved2 */
}

size_t lg_ffs_descriptors(uint8_t *buf, size_t cap, bool ms_os)
{
	struct blob b = { .p = buf, .cap = cap };

	put32(&b, FUNCTIONFS_DESCRIPTORS_MAGIC_V2);
	put32(&b, 0);               /* length, set below */
	put32(&b, FUNCTIONFS_HAS_FS_DESC | FUNCTIONFS_HAS_HS_DESC | FUNCTIONFS_HAS_SS_DESC |
		      (ms_os ? FUNCTIONFS_HAS_MS_OS_DESC : 0));
	put32(&b, 3);               /* fs_count */
	put32(&b, 3);               /* hs_count */
	put32(&b, 5);               /* ss_count: endpoints have companions */
	if (ms_os)
		put32(&b, 1);       /* os_count */
	put_speed(&b, 64, false);
	put_speed(&b, 512, false);
	put_speed(&b, 1024, true);
	if (ms_os)
		put_ms_os(&b);
	set32(&b, 4, (uint32_t)b.len);
	return b.len;
}

size_t lg_ffs_strings(uint8_t *buf, size_t cap)
{
	struct blob b = { .p = buf, .cap = cap };
	const char *s = DD_USB_INTERFACE_NAME;

	put32(&b, FUNCTIONFS_STRINGS_MAGIC);
	put32(&b, 0);
	put32(&b, 1);               /* str_count */
	put32(&b, 1);               /* lang_count */
	put16(&b, 0x0409);          /* en-US */
	for (size_t i = 0; i <= strlen(s); i++)
		put8(&b, (uint8_t)s[i]);
	set32(&b, 4, (uint32_t)b.len);
	return b.len;
}

/* --- ep0 ------------------------------------------------------------------------------------ */
int lg_write_all(int fd, const uint8_t *p, size_t len, const char *what, struct dd_err *err)
{
	ssize_t n = write(fd, p, len);
	int e = n < 0 ? errno : EIO;

	if (n == (ssize_t)len)
		return DD_OK;
	dd_fail_errno(err, DD_EIO, e, "%s", what);
	errno = e; /* callers look at it */
	return DD_EIO;
}

int lg_ffs_open(const char *ffs_dir, struct lg_ffs **out, struct dd_err *err)
{
	struct lg_ffs *f = calloc(1, sizeof(*f));
	uint8_t blob[512];
	char path[300], what[340];
	size_t n;
	int rc;

	if (!f)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	snprintf(f->dir, sizeof(f->dir), "%s", ffs_dir);
	snprintf(path, sizeof(path), "%s/ep0", ffs_dir);
	f->ep0 = open(path, O_RDWR | O_CLOEXEC);
	if (f->ep0 < 0) {
		rc = dd_fail_errno(err, DD_EIO, errno, "%s (is FunctionFS mounted? run gadget-setup)", path);
		free(f);
		return rc;
	}
	snprintf(what, sizeof(what), "%s: writing descriptors", path);
	n = lg_ffs_descriptors(blob, sizeof(blob), true);
	rc = lg_write_all(f->ep0, blob, n, what, err);
	if (rc && errno == EINVAL) {
		/* a kernel that refuses our Microsoft OS descriptors: serve without them (Linux and macOS
		 * PCs do not need them; Windows then needs WinUSB bound by hand). ep0 must be reopened:
		 * a refused write leaves FunctionFS waiting for nothing else. */
		fprintf(stderr, "dartdupd: %s: kernel refused the Microsoft OS descriptors; serving without\n",
			path);
		close(f->ep0);
		f->ep0 = open(path, O_RDWR | O_CLOEXEC);
		n = lg_ffs_descriptors(blob, sizeof(blob), false);
		rc = f->ep0 < 0 ? dd_fail_errno(err, DD_EIO, errno, "%s", path)
				: lg_write_all(f->ep0, blob, n, what, err);
	}
	if (!rc) {
		snprintf(what, sizeof(what), "%s: writing strings", path);
		n = lg_ffs_strings(blob, sizeof(blob));
		rc = lg_write_all(f->ep0, blob, n, what, err);
	}
	/* events are read when poll says so; never block the daemon on ep0 */
	if (!rc && fcntl(f->ep0, F_SETFL, fcntl(f->ep0, F_GETFL) | O_NONBLOCK))
		rc = dd_fail_errno(err, DD_EIO, errno, "%s", path);
	if (rc) {
		close(f->ep0);
		free(f);
		return rc;
	}
	*out = f;
	return DD_OK;
}

int lg_ffs_ep0_fd(const struct lg_ffs *f)
{
	return f->ep0;
}

/* Requests for our interface that the gadget core does not answer: we define none, so stall. */
static void stall(struct lg_ffs *f, const struct usb_ctrlrequest *req)
{
	ssize_t r;

	if (req->bRequestType & USB_DIR_IN)
		r = read(f->ep0, NULL, 0);
	else
		r = write(f->ep0, NULL, 0);
	(void)r; /* fails with EL2HLT when the stall was sent: that is the point */
}

int lg_ffs_events(struct lg_ffs *f, struct dd_link_transport **link, struct dd_err *err)
{
	struct usb_functionfs_event ev[4];
	ssize_t n;

	*link = NULL;
	for (;;) {
		n = read(f->ep0, ev, sizeof(ev));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return dd_fail_errno(err, DD_EIO, errno, "%s/ep0: events", f->dir);
		if (n < 0)
			break;
		for (size_t i = 0; i < (size_t)n / sizeof(ev[0]); i++) {
			switch (ev[i].type) {
			case FUNCTIONFS_ENABLE:
				lg_link_reset(f); /* a second ENABLE without DISABLE: start clean */
				f->enabled = true;
				f->suspended = false;
				break;
			case FUNCTIONFS_DISABLE:
			case FUNCTIONFS_UNBIND:
				f->enabled = false;
				lg_link_reset(f);
				break;
			case FUNCTIONFS_SUSPEND:
				f->suspended = true;
				lg_link_reset(f);
				break;
			case FUNCTIONFS_RESUME:
				f->suspended = false;
				break;
			case FUNCTIONFS_SETUP:
				stall(f, &ev[i].u.setup);
				break;
			default: /* BIND: nothing to do before ENABLE */
				break;
			}
		}
	}
	/* Enabled and no live link (just enabled, or the daemon dropped the last one on a framing
	 * error): offer a fresh link. */
	if (f->enabled && !f->suspended && !f->live)
		return lg_link_open(f, link, err);
	return DD_OK;
}

bool lg_ffs_enabled(const struct lg_ffs *f)
{
	return f->enabled && !f->suspended;
}

void lg_ffs_close(struct lg_ffs *f)
{
	if (!f)
		return;
	lg_link_reset(f);
	close(f->ep0);
	free(f);
}
