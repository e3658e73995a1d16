/* Keys and signatures, alone and on packages: right, wrong, several and missing keys. */
#include "check.h"
#include "fixtures.h"
#include "crypto/sign.h"
#include "format/dfi_reader.h"
#include "format/dfi_writer.h"
#include "source/source.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Keys made once: a, b (and their .key/.pub paths). */
static void keys(void)
{
	static int made;
	struct dd_err err = { 0 };

	if (made)
		return;
	if (dd_keygen(check_path("a"), &err) || dd_keygen(check_path("b"), &err)) {
		fprintf(stderr, "keygen: %s\n", err.msg);
		exit(1);
	}
	made = 1;
}

TEST(keygen_files_and_modes)
{
	struct stat st;
	struct dd_err err = { 0 };

	keys();
	CHECK(!stat(check_path("a.key"), &st));
	CHECK_EQ_INT(st.st_mode & 0777, 0600);
	CHECK(!stat(check_path("a.pub"), &st));
	CHECK_EQ_INT(dd_keygen(check_path("a"), &err), DD_EUSAGE); /* never overwrites */
	CHECK_STR_CONTAINS(err.msg, "a.pub");
}

TEST(sign_verify)
{
	struct dd_signer *s;
	struct dd_err err = { 0 };
	uint8_t d[32], sig[DD_SIG_MAX], id[32];
	size_t n, which = 9;
	const char *a = check_path("a.pub"), *b = check_path("b.pub");
	const char *both[] = { b, a }, *only_b[] = { b };

	keys();
	dd_sha256("hello", 5, d);
	CHECK_EQ_INT(dd_signer_open(check_path("a.key"), &s, &err), DD_OK);
	CHECK_EQ_INT(dd_signer_sign(s, d, sig, &n, &err), DD_OK);
	CHECK_EQ_INT(dd_pubkey_id(a, id, &err), DD_OK);
	CHECK_MEM_EQ(id, dd_signer_key_id(s), 32);
	dd_signer_close(s);
	CHECK_EQ_INT(dd_verify_any(&a, 1, id, d, sig, n, &which, &err), DD_OK);
	CHECK_EQ_INT(which, 0);
	CHECK_EQ_INT(dd_verify_any(both, 2, id, d, sig, n, &which, &err), DD_OK);
	CHECK_EQ_INT(which, 1);
	CHECK_EQ_INT(dd_verify_any(only_b, 1, id, d, sig, n, &which, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "signed by another key");
	CHECK_EQ_INT(dd_verify_any(only_b, 1, NULL, d, sig, n, &which, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "does not verify");
	d[0] ^= 1;
	CHECK_EQ_INT(dd_verify_any(&a, 1, id, d, sig, n, &which, &err), DD_EINPUT);
	d[0] ^= 1;
	sig[n - 1] ^= 1;
	CHECK_EQ_INT(dd_verify_any(&a, 1, id, d, sig, n, &which, &err), DD_EINPUT);
}

TEST(bad_key_files)
{
	struct dd_signer *s;
	struct dd_err err = { 0 };
	const char *junk = check_path("junk.pem"), *missing = check_path("missing.pub"), *priv = check_path("a.key");
	uint8_t d[32] = { 0 }, sig[8] = { 0 };

	keys();
	CHECK(!check_write_file(junk, "-----BEGIN NOTHING-----\n", 24));
	CHECK_EQ_INT(dd_signer_open(junk, &s, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "junk.pem: not a PEM private key");
	CHECK_EQ_INT(dd_signer_open(check_path("nokey.key"), &s, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "nokey.key");
	CHECK_EQ_INT(dd_signer_open(check_path("a.pub"), &s, &err), DD_EINPUT); /* a public key is no private key */
	CHECK_EQ_INT(dd_verify_any(&missing, 1, NULL, d, sig, 8, NULL, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "missing.pub");
	CHECK_EQ_INT(dd_verify_any(&junk, 1, NULL, d, sig, 8, NULL, &err), DD_EINPUT);
	(void)priv;
}

/* A key path that is not a regular file: refused by name before mbedTLS sees it (its file loader
 * sized a buffer with fseek/ftell: a folder asked for an absurd allocation, a fifo would block). */
TEST(key_paths_that_are_no_files)
{
	struct dd_signer *s;
	struct dd_err err = { 0 };
	const char *dir = check_tmpdir(), *fifo = check_path("key.fifo"), *big = check_path("big.pub");
	const char *devzero = "/dev/zero";
	uint8_t d[32] = { 0 }, sig[8] = { 0 };
	static char huge[100 * 1024];

	keys();
	CHECK_EQ_INT(dd_verify_any(&dir, 1, NULL, d, sig, 8, NULL, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "not a key file");
	CHECK_EQ_INT(dd_signer_open(dir, &s, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "not a key file");
	CHECK(!mkfifo(fifo, 0600));
	CHECK_EQ_INT(dd_verify_any(&fifo, 1, NULL, d, sig, 8, NULL, &err), DD_EINPUT); /* never blocks */
	CHECK_STR_CONTAINS(err.msg, "key.fifo: not a key file");
	CHECK_EQ_INT(dd_signer_open(fifo, &s, &err), DD_EINPUT);
	CHECK_EQ_INT(dd_verify_any(&devzero, 1, NULL, d, sig, 8, NULL, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "/dev/zero: not a key file");
	memset(huge, 'A', sizeof(huge));
	CHECK(!check_write_file(big, huge, sizeof(huge)));
	CHECK_EQ_INT(dd_verify_any(&big, 1, NULL, d, sig, 8, NULL, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "big.pub: not a key file (102400 bytes");
}

/* The same image, named the same, into out: equal packages when key is (signing is deterministic). */
static void make_pkg(const char *out, const char *key)
{
	struct dfi_pack_opts o = { .block_size = 4096, .created = 7, .key_path = key, .name = "s.img" };
	struct dd_err err = { 0 };

	if (check_pack_random(out, 3 * 4096 + 5, 3, &o, NULL, &err))
		CHECK_FAIL_("dfi_pack: %s", err.msg);
}

static int open_with(const char *pkg, const char *const *pubs, size_t n, enum dd_sig_state *state,
		     struct dd_err *err)
{
	struct dd_source_opts so = { .pubkeys = pubs, .n_pubkeys = n };
	struct dd_source *src;
	int rc = dd_source_open(pkg, &so, &src, err);

	if (!rc) {
		*state = src->info.sig;
		dd_source_close(src);
	}
	return rc;
}

TEST(signed_package)
{
	const char *pkg = check_path("signed.dfi"), *a = check_path("a.pub"), *b = check_path("b.pub");
	const char *ba[] = { b, a };
	enum dd_sig_state st;
	struct dd_err err = { 0 };

	keys();
	make_pkg(pkg, check_path("a.key"));
	CHECK_EQ_INT(open_with(pkg, NULL, 0, &st, &err), DD_OK);
	CHECK_EQ_INT(st, DD_SIG_UNCHECKED);
	CHECK_EQ_INT(open_with(pkg, &a, 1, &st, &err), DD_OK);
	CHECK_EQ_INT(st, DD_SIG_VERIFIED);
	CHECK_EQ_INT(open_with(pkg, ba, 2, &st, &err), DD_OK); /* the board has several depot keys */
	CHECK_EQ_INT(st, DD_SIG_VERIFIED);
	CHECK_EQ_INT(open_with(pkg, &b, 1, &st, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "signed.dfi: signed by another key");
}

TEST(unsigned_package_with_key_refused)
{
	const char *pkg = check_path("unsigned.dfi"), *a = check_path("a.pub");
	enum dd_sig_state st;
	struct dd_err err = { 0 };

	keys();
	make_pkg(pkg, NULL);
	CHECK_EQ_INT(open_with(pkg, NULL, 0, &st, &err), DD_OK);
	CHECK_EQ_INT(st, DD_SIG_NONE);
	CHECK_EQ_INT(open_with(pkg, &a, 1, &st, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "unsigned.dfi: not signed");
}

TEST(signed_packages_reproducible)
{
	const char *p1 = check_path("r1.dfi"), *p2 = check_path("r2.dfi");

	keys();
	make_pkg(p1, check_path("a.key"));
	make_pkg(p2, check_path("a.key"));
	CHECK(check_same_files(p1, p2));
}

TEST(pack_with_missing_key_writes_nothing)
{
	const char *in = check_path("m.img"), *out = check_path("m.dfi");
	struct dfi_pack_opts o = { .key_path = check_path("absent.key") };
	struct dd_err err = { 0 };

	CHECK(!check_write_file(in, "abc", 3));
	CHECK_EQ_INT(dfi_pack(in, out, &o, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "absent.key");
	CHECK(access(out, F_OK) != 0);
}

int main(void)
{
	RUN(keygen_files_and_modes);
	RUN(sign_verify);
	RUN(bad_key_files);
	RUN(key_paths_that_are_no_files);
	RUN(signed_package);
	RUN(unsigned_package_with_key_refused);
	RUN(signed_packages_reproducible);
	RUN(pack_with_missing_key_writes_nothing);
	return check_done();
}
