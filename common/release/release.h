/* The signed release manifest: RELEASE.txt in a folder of artifacts (dartdup build --format winre|wds),
 * listing every artifact with its size and SHA-256, signed with the depot key (ECDSA P-256, the same
 * keys and signatures as the .dfi: crypto/sign.h). docs/FORMAT.md "The release manifest".
 *
 *   dartdup-release 1
 *   source-sha256 HEX64          the ISO the artifacts were made from
 *   tool dartdup VERSION
 *   file HEX64 SIZE NAME         one per artifact, in the order the build wrote them
 *   dfi-image-id HEX64 NAME      after a .dfi's file line: its image id (what write's audit log records
 *                                for every stick, so a stick is traced to its release)
 *   signature KEYID-HEX64 DER-HEX
 *
 * LF line ends, lower-case hex, no other lines. The release id is the SHA-256 of every byte before the
 * signature line; the signature is over the release id (as for a .dfi's image id). */
#ifndef DARTDUP_RELEASE_H
#define DARTDUP_RELEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash/sha256.h"
#include "util/err.h"

#define DD_RELEASE_FILE "RELEASE.txt"
#define DD_RELEASE_MAX_FILES 32
#define DD_RELEASE_NAME_MAX 64

struct dd_release {
	uint8_t id[DD_SHA256_LEN];
	uint8_t source_sha256[DD_SHA256_LEN];
	uint8_t key_id[DD_SHA256_LEN];
	char tool[64];
	size_t n_files;
	struct dd_release_file {
		char name[DD_RELEASE_NAME_MAX + 1];
		uint64_t size;
		uint8_t sha256[DD_SHA256_LEN];
		bool has_image_id;     /* a .dfi: its image id (docs/FORMAT.md) */
		uint8_t image_id[DD_SHA256_LEN];
		const char *problem;   /* dd_release_verify: NULL (intact), "missing", "changed ..." */
	} files[DD_RELEASE_MAX_FILES];
	size_t n_bad;                  /* dd_release_verify: files with a problem */
};

/* A name a release may list: [A-Za-z0-9._-], 1..64 bytes, not starting with '.'; no folders. */
int dd_release_name_ok(const char *name);

/* Hashes dir/names[i] and writes dir/RELEASE.txt (through the door; inputs are never an output),
 * signed with key_path (NULL: unsigned, which verify refuses). rel gets what was written. */
int dd_release_write(const char *dir, const char *const *names, size_t n,
		     const uint8_t source_sha256[DD_SHA256_LEN], const char *key_path,
		     const char *const *inputs, unsigned n_inputs, struct dd_release *rel, struct dd_err *err);

/* Reads dir/RELEASE.txt, checks its signature with one of pubs (DD_EINPUT: unsigned, damaged, a wrong
 * key), then every listed file (DD_ECHECK: rel->n_bad files missing or changed, err names the first). */
int dd_release_verify(const char *dir, const char *const *pubs, size_t n_pubs, struct dd_release *rel,
		      struct dd_err *err);

/* The signed text files' last line (RELEASE.txt, the revocation list): "signature KEYID SIG\n", KEY's ECDSA
 * signature of id (the SHA-256 of every byte before the line), into line (cap bytes). */
int dd_release_sign_line(const char *key_path, const uint8_t id[DD_SHA256_LEN], char *line, size_t cap,
			 struct dd_err *err);

/* Reads that line back from a signed text file held in text (len bytes, NUL-terminated after them, the
 * last byte a '\n', which becomes the NUL): text is cut before its last line; id gets the SHA-256 of every
 * byte up to it, key_id and sig (*sig_len bytes, 8 to DD_SIG_MAX) the line's fields. The caller verifies
 * (dd_verify_any) and words the refusal. */
enum dd_sign_line { DD_SIGN_LINE_OK, DD_SIGN_LINE_NONE /* last line no signature */, DD_SIGN_LINE_DAMAGED };
enum dd_sign_line dd_release_read_sign_line(char *text, size_t len, uint8_t id[DD_SHA256_LEN],
					    uint8_t key_id[DD_SHA256_LEN], uint8_t *sig, size_t *sig_len);

#endif
