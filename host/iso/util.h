/* Small helpers of the ISO builder: little-endian fields, full writes, calendar arithmetic that
 * never looks at the local time zone (so builds are the same on every machine). */
#ifndef DARTDUP_ISO_UTIL_H
#define DARTDUP_ISO_UTIL_H

#include <stddef.h>
#include <stdint.h>

static inline uint16_t get_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t get_le64(const uint8_t *p) { return get_le32(p) | (uint64_t)get_le32(p + 4) << 32; }
static inline void put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}
static inline void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

/* pwrite everything; 0 or -1 with errno set. */
int iso_write_all(int fd, const void *buf, size_t len, uint64_t off);

/* Unix seconds of a UTC civil date/time (any year; no time zone involved). */
int64_t iso_civil_to_unix(int year, int month, int day, int hour, int min, int sec);
/* ISO 9660 17-byte "YYYYMMDDHHMMSScc" + offset (15-minute units) -> Unix seconds UTC; 0 if unset. */
int64_t iso_dec_datetime(const uint8_t *p);
/* ISO 9660 7-byte directory record time -> Unix seconds UTC. */
int64_t iso_dir_datetime(const uint8_t *p);
/* Unix seconds UTC -> civil fields. */
void iso_unix_to_civil(int64_t t, int *year, int *month, int *day, int *hour, int *min, int *sec);

#endif
