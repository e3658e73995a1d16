/* Key pairs and packages for the unit tests (see fixtures.h). */
#include "fixtures.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "crypto/sign.h"

const char *check_key(const char *name, struct dd_err *err)
{
	char file[256];
	const char *key;

	snprintf(file, sizeof(file), "%s.key", name);
	key = check_path(file);
	if (access(key, F_OK) && dd_keygen(check_path(name), err))
		return NULL;
	return key;
}

/* Where the raw image of the package out is written: check_path("<out's file name>.raw"). */
static const char *raw_path(const char *out)
{
	const char *base = strrchr(out, '/');
	char name[256];

	snprintf(name, sizeof(name), "%s.raw", base ? base + 1 : out);
	return check_path(name);
}

int check_pack(const char *out, const void *img, size_t len, const struct dfi_pack_opts *o, struct dd_err *err)
{
	const char *raw = raw_path(out);

	if (check_write_file(raw, img, len))
		return dd_fail(err, DD_EIO, "%s: cannot write", raw);
	return dfi_pack(raw, out, o, err);
}

int check_pack_random(const char *out, size_t len, uint64_t seed, const struct dfi_pack_opts *o, uint8_t **img,
		      struct dd_err *err)
{
	const char *raw = raw_path(out);
	uint8_t *buf = NULL;
	int rc;

	if (check_random_file(raw, len, seed, &buf))
		return dd_fail(err, DD_EIO, "%s: cannot write", raw);
	rc = dfi_pack(raw, out, o, err);
	if (img)
		*img = buf;
	else
		free(buf);
	return rc;
}
