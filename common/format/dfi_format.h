/* The .dfi byte layout (docs/FORMAT.md is the specification; this header only names its numbers).
 * Shared by the writer and the reader; nothing outside common/format/ should need it. */
#ifndef DARTDUP_DFI_FORMAT_H
#define DARTDUP_DFI_FORMAT_H

#include <stdint.h>
#include <string.h>

#define DFI_VERSION 1

#define DFI_ZSTD_MAGIC      0xFD2FB528u  /* a zstd data frame */
#define DFI_SKIPPABLE_MAGIC 0x184D2A5Du  /* every dfi metadata frame (zstd skippable, nibble D) */
#define DFI_FRAME_HDR 8                  /* skippable frame: magic u32 + payload size u32 */

/* Frame tags: the first 4 payload bytes of each metadata frame. */
#define DFI_TAG_HEADER    "DFIH"
#define DFI_TAG_MANIFEST  "DFIM"
#define DFI_TAG_SIGNATURE "DFIS"
#define DFI_TAG_TRAILER   "DFIT"

/* Header frame: at offset 0, fixed size. */
#define DFI_HEADER_PAYLOAD 16
#define DFI_HEADER_FRAME (DFI_FRAME_HDR + DFI_HEADER_PAYLOAD)

/* Manifest payload: fixed part, then name, tool, version text, then one entry per block. */
#define DFI_MANIFEST_FIXED 84
#define DFI_ENTRY_SIZE 48
#define DFI_ENTRY_ZERO 0x1u              /* entry flag: the block is all zeros */
#define DFI_MF_SOURCE_SHA 0x1u           /* manifest flag: source_sha256 is present */
#define DFI_HASH_SHA256 1
#define DFI_NAME_MAX 127
#define DFI_TOOL_MAX 63
#define DFI_VERSION_TEXT_MAX 31          /* the image's version text (util/version.h), after the tool */

/* Signature payload: fixed part, then the DER signature. */
#define DFI_SIG_FIXED 42
#define DFI_SIG_ECDSA_P256_SHA256 1
#define DFI_SIG_DER_MIN 8
#define DFI_SIG_DER_MAX 72

/* Trailer frame: the last bytes of the file, fixed size. */
#define DFI_TRAILER_PAYLOAD 64
#define DFI_TRAILER_FRAME (DFI_FRAME_HDR + DFI_TRAILER_PAYLOAD)

/* Limits every reader enforces (and every writer respects). */
#define DFI_BLOCK_LOG_MIN 12             /* 4 KiB */
#define DFI_BLOCK_LOG_MAX 26             /* 64 MiB */
#define DFI_WINDOW_LOG_MIN 10
#define DFI_WINDOW_LOG_MAX 23            /* 8 MiB: a small board decodes in known memory */
#define DFI_MAX_BLOCKS (1ull << 24)      /* manifest <= ~805 MB */
/* Largest manifest payload (fixed part, longest name and tool, DFI_MAX_BLOCKS entries): a trailer
 * pointing at a bigger one is refused before a byte of it is read. */
#define DFI_MANIFEST_MAX ((uint64_t)DFI_MANIFEST_FIXED + DFI_NAME_MAX + DFI_TOOL_MAX + DFI_VERSION_TEXT_MAX + \
	DFI_ENTRY_SIZE * DFI_MAX_BLOCKS)
#define DFI_MAX_IMAGE_SIZE (1ull << 50)  /* 1 PiB */
/* Largest data frame for a block of n bytes: zstd's compress bound. */
#define DFI_FRAME_BOUND(n) ((uint64_t)(n) + ((uint64_t)(n) >> 8) + \
	((uint64_t)(n) < (128u << 10) ? ((128u << 10) - (uint64_t)(n)) >> 11 : 0))
#define DFI_FRAME_MIN 9                  /* smallest possible zstd frame with content */

static inline void dfi_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void dfi_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void dfi_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t dfi_get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t dfi_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t dfi_get64(const uint8_t *p)
{
	return (uint64_t)dfi_get32(p) | (uint64_t)dfi_get32(p + 4) << 32;
}

/* The window log a writer pins for a block size: the block fits one window up to 8 MiB. */
static inline unsigned dfi_window_log_for(uint32_t block_size)
{
	unsigned log = 0;

	while ((1u << log) < block_size)
		log++;
	return log > DFI_WINDOW_LOG_MAX ? DFI_WINDOW_LOG_MAX : log;
}

#endif
