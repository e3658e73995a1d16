/* See magic.h. The signatures are the formats' own (xz, gzip RFC 1952, bzip2, LZ4 frame and legacy,
 * zstd RFC 8878, PKZIP APPNOTE, POSIX ustar, 7z, RAR, qcow, VMDK, VHDX, VDI). */
#include "source/magic.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define B(...) (const uint8_t[]){ __VA_ARGS__ }
#define AT(off, ...) .offset = (off), .len = sizeof((const uint8_t[]){ __VA_ARGS__ }), .bytes = B(__VA_ARGS__)

#define UNPACK "extract the image file from it first"
#define CONVERT "convert it to a raw image first (qemu-img convert -O raw)"

static const struct dd_magic table[] = {
	/* 0x184D2A50..5F: a skippable frame (zstd and LZ4 share it); a .dfi starts with one */
	{ "dfi", "a .dfi package", NULL, DD_MAGIC_DFI, AT(0, 0x50, 0x2A, 0x4D, 0x18), B(0xF0, 0xFF, 0xFF, 0xFF) },
	{ "zst", "a zstd stream", NULL, DD_MAGIC_ZSTD, AT(0, 0x28, 0xB5, 0x2F, 0xFD), NULL },
	{ "xz", "an xz stream", NULL, DD_MAGIC_STREAM, AT(0, 0xFD, '7', 'z', 'X', 'Z', 0x00), NULL },
	/* ID1 ID2 CM: deflate is gzip's only method */
	{ "gzip", "a gzip stream", NULL, DD_MAGIC_STREAM, AT(0, 0x1F, 0x8B, 0x08), NULL },
	{ "bzip2", "a bzip2 stream", NULL, DD_MAGIC_STREAM, AT(0, 'B', 'Z', 'h'), NULL },
	{ "lz4", "an lz4 stream", NULL, DD_MAGIC_STREAM, AT(0, 0x04, 0x22, 0x4D, 0x18), NULL },
	{ "lz4", "an lz4 stream (legacy format)", NULL, DD_MAGIC_STREAM, AT(0, 0x02, 0x21, 0x4C, 0x18), NULL },
	/* local file header; end of central directory (an empty archive); spanned archive marker */
	{ "zip", "a zip archive", NULL, DD_MAGIC_ARCHIVE, AT(0, 'P', 'K', 0x03, 0x04), NULL },
	{ "zip", "a zip archive", NULL, DD_MAGIC_ARCHIVE, AT(0, 'P', 'K', 0x05, 0x06), NULL },
	{ "zip", "a zip archive", NULL, DD_MAGIC_ARCHIVE, AT(0, 'P', 'K', 0x07, 0x08), NULL },
	/* POSIX "ustar\0" and GNU "ustar " both start so */
	{ "tar", "a tar archive", UNPACK, DD_MAGIC_REFUSED, AT(257, 'u', 's', 't', 'a', 'r'), NULL },
	{ "7z", "a 7z archive", UNPACK, DD_MAGIC_REFUSED, AT(0, '7', 'z', 0xBC, 0xAF, 0x27, 0x1C), NULL },
	{ "rar", "a RAR archive", UNPACK, DD_MAGIC_REFUSED, AT(0, 'R', 'a', 'r', '!', 0x1A, 0x07), NULL },
	{ "qcow", "a qcow virtual disk", CONVERT, DD_MAGIC_REFUSED, AT(0, 'Q', 'F', 'I', 0xFB), NULL },
	{ "vmdk", "a VMDK virtual disk", CONVERT, DD_MAGIC_REFUSED, AT(0, 'K', 'D', 'M', 'V'), NULL },
	{ "vhdx", "a VHDX virtual disk", CONVERT, DD_MAGIC_REFUSED,
	  AT(0, 'v', 'h', 'd', 'x', 'f', 'i', 'l', 'e'), NULL },
	{ "vdi", "a VirtualBox virtual disk", CONVERT, DD_MAGIC_REFUSED, AT(0x40, 0x7F, 0x10, 0xDA, 0xBE), NULL },
};

_Static_assert(257 + 5 <= DD_MAGIC_HEAD, "DD_MAGIC_HEAD covers every entry");

static int matches(const struct dd_magic *m, const uint8_t *head, size_t n)
{
	if (n < (size_t)m->offset + m->len)
		return 0;
	for (unsigned i = 0; i < m->len; i++) {
		uint8_t mask = m->mask ? m->mask[i] : 0xFF;

		if ((head[m->offset + i] & mask) != m->bytes[i])
			return 0;
	}
	return 1;
}

const struct dd_magic *dd_magic_detect(const uint8_t *head, size_t n)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (matches(&table[i], head, n))
			return &table[i];
	return NULL;
}

const struct dd_magic *dd_magic_table(size_t *count)
{
	*count = sizeof(table) / sizeof(table[0]);
	return table;
}

int dd_magic_refuse(const struct dd_magic *m, const char *path, struct dd_err *err)
{
	switch (m->kind) {
	case DD_MAGIC_DFI:
		return dd_fail(err, DD_EINPUT,
			       "%s: starts like a .dfi package but is not a valid one (damaged header?); "
			       "refused, never written as raw bytes", path);
	case DD_MAGIC_REFUSED:
		return dd_fail(err, DD_EINPUT, "%s: %s, not a disk image: %s", path, m->what, m->hint);
	default:
		/* the firmware (or any caller of common alone): the PC decodes these */
		return dd_fail(err, DD_EINPUT, "%s: %s: only dartdup on the PC decodes it (dartdup pack "
			       "makes a .dfi of it)", path, m->what);
	}
}

int dd_magic_read_head(const char *path, uint8_t head[DD_MAGIC_HEAD], size_t *n, struct dd_err *err)
{
	ssize_t got;
	int fd, e;

	*n = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dd_fail_errno(err, DD_EINPUT, errno, "%s", path);
	do
		got = pread(fd, head, DD_MAGIC_HEAD, 0);
	while (got < 0 && errno == EINTR);
	e = errno;
	close(fd);
	if (got < 0)
		return dd_fail_errno(err, DD_EINPUT, e, "%s: read failed", path);
	*n = (size_t)got;
	return DD_OK;
}
