/* Fixtures the unit tests share that need the core library: key pairs and packages made from bytes.
 * Files go under check_tmpdir() (check.h). */
#ifndef DARTDUP_TESTS_FIXTURES_H
#define DARTDUP_TESTS_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

#include "format/dfi_writer.h"
#include "util/err.h"

/* The key pair name.key and name.pub under check_tmpdir(), made on first use (dd_keygen) and kept for the
 * run. Returns the path of name.key, or NULL (err says why) when it could not be made. */
const char *check_key(const char *name, struct dd_err *err);

/* The package out (dfi_pack with o) of the len bytes of img, written first to the raw file
 * check_path("<out's file name>.raw") (stays for the run: a test may read the image back from it; a
 * package given no o->name is named after that file, so two outputs differ there). Returns dfi_pack's
 * code, DD_EIO when the raw file could not be written. */
int check_pack(const char *out, const void *img, size_t len, const struct dfi_pack_opts *o, struct dd_err *err);

/* The same for len random bytes from seed (check_fill_random); *img, when img is not NULL, gets them
 * (malloc'd, the caller frees). */
int check_pack_random(const char *out, size_t len, uint64_t seed, const struct dfi_pack_opts *o, uint8_t **img,
		      struct dd_err *err);

#endif
