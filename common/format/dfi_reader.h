/* Reading .dfi packages (docs/FORMAT.md), validation before trust (MCUboot style).
 *
 * dfi_open() reads the header, the trailer, the manifest and the signature, and checks all of
 * them before returning: every size and count bounded and overflow-checked, every offset inside
 * the file, frames contiguous, the manifest's SHA-256 equal to the trailer's image id, and, when
 * public keys are given, the signature verified against one of them before anything in the
 * manifest is used. Data frames are checked when read (dfi_read_block): frame header, window,
 * content size, exact frame length, zstd checksum. Block hashes are compared by the caller.
 *
 * Most code wants the dd_source seam (source/source.h, dd_source_open(); its .dfi backend is
 * common/source/source_dfi.c); this lower level is for `inspect`, the backend and tests. It knows
 * nothing of the source seam. */
#ifndef DARTDUP_DFI_READER_H
#define DARTDUP_DFI_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/sign.h"
#include "hash/sha256.h"
#include "util/err.h"

struct dfi_frame {
	uint64_t offset;    /* of the zstd frame in the file */
	uint32_t size;      /* its compressed size */
	bool zero;          /* the block is all zeros */
};

struct dfi_manifest {
	uint16_t version;
	uint32_t block_size;
	unsigned window_log;
	uint64_t image_size;
	uint64_t block_count;
	uint64_t data_offset;
	uint64_t created;                 /* Unix seconds */
	bool has_source_sha256;
	uint8_t source_sha256[DD_SHA256_LEN];
	char name[128];
	char tool[64];
	char image_version[32];           /* dotted decimal (util/version.h); "" when the package has none */
	uint8_t (*hash)[DD_SHA256_LEN];  /* block_count entries */
	struct dfi_frame *frame;          /* block_count entries */
	uint8_t *zero_map;                /* bit per block (see dd_block_is_zero) */
	uint64_t zero_blocks;
};

struct dfi_sig {
	bool present;
	unsigned alg;                     /* DFI_SIG_ECDSA_P256_SHA256 */
	uint8_t key_id[DD_SHA256_LEN];    /* SHA-256 of the signer's public key (DER) */
	uint8_t der[72];
	size_t der_len;
	enum dd_sig_state state;
	size_t key_index;                 /* which of the given public keys verified it */
};

struct dfi_reader {
	char *path;
	int fd;
	uint64_t file_size;
	uint64_t manifest_offset;         /* of the manifest's skippable frame */
	uint32_t manifest_frame_size;
	uint32_t sig_frame_size;
	uint8_t image_id[DD_SHA256_LEN];
	struct dfi_manifest m;
	struct dfi_sig sig;
	void *dctx_pool;                  /* private: pooled decoders */
};

struct dfi_open_opts {
	const char *const *pubkeys;       /* when n_pubkeys > 0 the package must verify with one */
	size_t n_pubkeys;
};

/* True when head (the first n bytes of a file) starts with a .dfi header frame. */
bool dfi_probe(const uint8_t *head, size_t n);

int dfi_open(const char *path, const struct dfi_open_opts *opts, struct dfi_reader **out, struct dd_err *err);
void dfi_close(struct dfi_reader *r);

/* Decode block i into buf (block_size bytes). Thread-safe. Zero blocks are decoded too (so
 * `inspect --check` proves what `zstd -dc` would give); the hash is NOT compared here. On a bad
 * frame: DD_ECHECK, message naming the block and its image offset. */
int dfi_read_block(struct dfi_reader *r, uint64_t i, uint8_t *buf, struct dd_err *err);



/* Decode every block (zero blocks too) with several threads and compare its SHA-256 with the
 * manifest. DD_OK when all match; DD_ECHECK naming the lowest bad block and its image offset
 * (*bad_block = its index, may be NULL). progress(ctx, blocks done, block count) is called from
 * the worker threads, one at a time. */
struct dfi_check_opts {
	unsigned threads;  /* 0 = one per online CPU */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *progress_ctx;
};
int dfi_check(struct dfi_reader *r, const struct dfi_check_opts *opts, uint64_t *bad_block,
	      struct dd_err *err);

#endif
