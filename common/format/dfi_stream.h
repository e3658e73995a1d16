/* Checking a .dfi package's blocks while its bytes arrive (docs/FORMAT.md), before the manifest is known.
 *
 * A dfi_stream is fed the package's bytes in order, in chunks of any size. It reads the header frame, then
 * decodes each zstd data frame (window at most 2^23, as the format pins) and notes, for every frame, where
 * it lay, how long it was, how many bytes it gave and their SHA-256. At the first skippable frame after the
 * data (the manifest) it is done. Later, once the package is opened and its signature checked
 * (dfi_reader.h), dfi_stream_proves() compares the notes with the signed manifest.
 *
 * It is an optimisation, never a judge: anything odd (garbage, a frame that does not decode, a frame too
 * big, no memory) makes it give up quietly, and then the caller checks the blocks the slow way, which
 * names the fault. It says "every block proven" only when the notes prove what dfi_check() would.
 *
 * Memory: a zstd decoder (its window, at most 8 MiB), a 256 KiB output buffer hashed as it fills, and
 * 56 bytes of notes per block (at most 2^24 blocks): never anything the size of a block. The decoder and
 * buffer are taken at the first data frame and given back when the stream is done or gives up. */
#ifndef DARTDUP_DFI_STREAM_H
#define DARTDUP_DFI_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format/dfi_reader.h"

enum dfi_stream_state {
	DFI_STREAM_HEADER,   /* reading the 24-byte header frame */
	DFI_STREAM_DATA,     /* decoding data frames */
	DFI_STREAM_DONE,     /* met the first skippable frame after the data: stops decoding */
	DFI_STREAM_GAVE_UP,  /* something odd: nothing more is done, nothing is proven */
};

struct dfi_stream;

/* A new stream, or NULL when out of memory. */
struct dfi_stream *dfi_stream_new(void);
void dfi_stream_free(struct dfi_stream *s);
/* Back to the start of a package, notes dropped. */
void dfi_stream_reset(struct dfi_stream *s);
/* The next n bytes of the package. */
void dfi_stream_feed(struct dfi_stream *s, const void *p, size_t n);

enum dfi_stream_state dfi_stream_state(const struct dfi_stream *s);
uint64_t dfi_stream_fed(const struct dfi_stream *s);     /* bytes fed since the start */
uint64_t dfi_stream_blocks(const struct dfi_stream *s);  /* frames decoded completely */
/* Bytes the stream holds now: its decoder, output buffer and notes (tests prove the bound). */
size_t dfi_stream_footprint(const struct dfi_stream *s);

/* True only when the stream is done and r's signed manifest (r opened by dfi_open) lists exactly the
 * frames it decoded: same count, and for every block the same frame offset and size, a decoded length of
 * the block's length, a window within the manifest's window_log, and the manifest's SHA-256 (a ZERO
 * entry carries the SHA-256 of zeros, dfi_open checked it, so this proves the block is zeros). Each frame
 * also passed the header rules and its zstd checksum while decoding. That is what dfi_check() proves. */
bool dfi_stream_proves(const struct dfi_stream *s, const struct dfi_reader *r);

/* The rules every data frame's header must keep (docs/FORMAT.md "Data frames"), shared with the reader:
 * zstd magic, checksum flag set, no dictionary, reserved bit clear, content size present. p holds the
 * first n bytes of the frame. Returns 1 with *hdr_size (bytes of the frame header), *content_size and
 * *window filled; 0 when more bytes are needed (*hdr_size then says how many, when known: n >= 5); -1
 * when the header breaks a rule. */
int dfi_frame_header(const uint8_t *p, size_t n, size_t *hdr_size, uint64_t *content_size, uint64_t *window);

#endif
