/* The signed release manifest (common/release): round trip, names, every byte of the manifest
 * damaged in turn (refused or, where the damage is in a hash, a file reported changed; never accepted
 * as intact, never a crash under ASan), files changed, missing or turned into links. */
#include "check.h"
#include "crypto/sign.h"
#include "release/release.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const uint8_t source[DD_SHA256_LEN] = { 1, 2, 3 };

/* A folder rel/ with two files of random bytes and a signed RELEASE.txt; keys a and b. */
static void setup(void)
{
	static int made;
	struct dd_err err = { 0 };
	struct dd_release rel;
	const char *names[] = { "one.bin", "two.wim" };
	uint8_t buf[5000];

	if (made)
		return;
	if (dd_keygen(check_path("a"), &err) || dd_keygen(check_path("b"), &err) || mkdir(check_path("rel"), 0755)) {
		fprintf(stderr, "setup: %s\n", err.msg);
		exit(1);
	}
	srand(7);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	if (check_write_file(check_path("rel/one.bin"), buf, 1000) ||
	    check_write_file(check_path("rel/two.wim"), buf, 5000) ||
	    dd_release_write(check_path("rel"), names, 2, source, check_path("a.key"), NULL, 0, &rel, &err)) {
		fprintf(stderr, "setup: %s\n", err.msg);
		exit(1);
	}
	made = 1;
}

static int read_all(const char *path, char *buf, size_t cap, size_t *len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, cap);
	close(fd);
	if (n < 0)
		return -1;
	*len = (size_t)n;
	return 0;
}

TEST(names)
{
	CHECK(dd_release_name_ok("winre.wim"));
	CHECK(dd_release_name_ok("stick-1_2.dfi"));
	CHECK(!dd_release_name_ok(""));
	CHECK(!dd_release_name_ok(".hidden"));
	CHECK(!dd_release_name_ok("a/b"));
	CHECK(!dd_release_name_ok(".."));
	CHECK(!dd_release_name_ok("a b"));
	CHECK(!dd_release_name_ok("x\n"));
	CHECK(!dd_release_name_ok("0123456789012345678901234567890123456789012345678901234567890123456789"));
}

TEST(intact_folder_verifies)
{
	const char *a[] = { check_path("a.pub") };
	struct dd_release rel;
	struct dd_err err = { 0 };

	setup();
	CHECK_EQ_INT(dd_release_verify(check_path("rel"), a, 1, &rel, &err), DD_OK);
	CHECK_EQ_U64(rel.n_files, 2);
	CHECK_EQ_U64(rel.files[1].size, 5000);
	CHECK(!memcmp(rel.source_sha256, source, sizeof(source)));
	CHECK(!rel.files[0].has_image_id);
	CHECK_EQ_U64(rel.n_bad, 0);
}

TEST(wrong_key_refused)
{
	const char *b[] = { check_path("b.pub") }, *both[] = { check_path("b.pub"), check_path("a.pub") };
	struct dd_release rel;
	struct dd_err err = { 0 };

	setup();
	CHECK_EQ_INT(dd_release_verify(check_path("rel"), b, 1, &rel, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "another key");
	CHECK_EQ_INT(dd_release_verify(check_path("rel"), both, 2, &rel, &err), DD_OK);
}

TEST(rewrite_is_reproducible)
{
	const char *names[] = { "one.bin", "two.wim" };
	char first[4096], second[4096];
	size_t n1, n2;
	struct dd_release rel;
	struct dd_err err = { 0 };

	setup();
	CHECK(!read_all(check_path("rel/RELEASE.txt"), first, sizeof(first), &n1));
	CHECK_EQ_INT(dd_release_write(check_path("rel"), names, 2, source, check_path("a.key"), NULL, 0, &rel, &err),
		     DD_OK);
	CHECK(!read_all(check_path("rel/RELEASE.txt"), second, sizeof(second), &n2));
	CHECK_EQ_U64(n1, n2);
	CHECK(!memcmp(first, second, n1));
}

TEST(unsigned_refused)
{
	const char *names[] = { "one.bin" }, *a[] = { check_path("a.pub") };
	struct dd_release rel;
	struct dd_err err = { 0 };

	setup();
	CHECK(!mkdir(check_path("u"), 0755));
	CHECK(!check_write_file(check_path("u/one.bin"), "x", 1));
	CHECK_EQ_INT(dd_release_write(check_path("u"), names, 1, source, NULL, NULL, 0, &rel, &err), DD_OK);
	CHECK_EQ_INT(dd_release_verify(check_path("u"), a, 1, &rel, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "not signed");
}

/* Flip each byte of RELEASE.txt in turn: never "intact". */
TEST(every_damaged_byte_caught)
{
	const char *a[] = { check_path("a.pub") };
	char good[4096], bad[4096];
	size_t len, accepted = 0;
	struct dd_release rel;
	struct dd_err err = { 0 };

	setup();
	CHECK(!read_all(check_path("rel/RELEASE.txt"), good, sizeof(good), &len));
	CHECK(!mkdir(check_path("d"), 0755));
	CHECK(!link(check_path("rel/one.bin"), check_path("d/one.bin")));
	CHECK(!link(check_path("rel/two.wim"), check_path("d/two.wim")));
	for (size_t i = 0; i < len; i++) {
		memcpy(bad, good, len);
		bad[i] ^= (i & 1) ? 0x01 : 0x20;
		CHECK(!check_write_file(check_path("d/RELEASE.txt"), bad, len));
		if (dd_release_verify(check_path("d"), a, 1, &rel, &err) == DD_OK)
			accepted++;
	}
	CHECK_EQ_U64(accepted, 0);
	/* cut short anywhere */
	for (size_t cut = 0; cut < len; cut += 7) {
		CHECK(!check_write_file(check_path("d/RELEASE.txt"), good, cut));
		CHECK(dd_release_verify(check_path("d"), a, 1, &rel, &err) != DD_OK);
	}
}

TEST(changed_missing_and_linked_files_named)
{
	const char *a[] = { check_path("a.pub") };
	struct dd_release rel;
	struct dd_err err = { 0 };
	size_t n = 0;
	char *buf;

	setup();
	CHECK(!mkdir(check_path("c"), 0755));
	CHECK(!link(check_path("rel/RELEASE.txt"), check_path("c/RELEASE.txt")));
	/* two.wim missing, one.bin one byte different */
	buf = check_read_file(check_path("rel/one.bin"), &n);
	CHECK(buf && n == 1000);
	buf[500] ^= 1;
	n = (size_t)check_write_file(check_path("c/one.bin"), buf, n);
	free(buf);
	CHECK(n == 0);
	CHECK_EQ_INT(dd_release_verify(check_path("c"), a, 1, &rel, &err), DD_ECHECK);
	CHECK_STR_CONTAINS(err.msg, "one.bin: changed");
	CHECK_EQ_U64(rel.n_bad, 2);
	CHECK(rel.files[1].problem && !strcmp(rel.files[1].problem, "missing"));
	/* a link to the right bytes is still not the file */
	CHECK(!unlink(check_path("c/one.bin")));
	CHECK(!symlink(check_path("rel/one.bin"), check_path("c/one.bin")));
	CHECK(!symlink(check_path("rel/two.wim"), check_path("c/two.wim")));
	CHECK_EQ_INT(dd_release_verify(check_path("c"), a, 1, &rel, &err), DD_ECHECK);
	CHECK_STR_CONTAINS(err.msg, "not a regular file");
}

/* The signature line read back (dd_release_read_sign_line, shared by RELEASE.txt and the revocation list):
 * what dd_release_sign_line wrote comes back whole, and the id covers every byte before the line; a text
 * without that last line, or with its fields cut, bad hex or a signature of a wrong size, is told apart. */
TEST(sign_line_read_back)
{
	static const char body[] = "dartdup-release 1\nsome text\n";
	static const struct { const char *line; enum dd_sign_line want; } bad[] = {
		{ "tool dartdup\n", DD_SIGN_LINE_NONE },
		{ "signature\n", DD_SIGN_LINE_NONE },
		{ "signature 00ff\n", DD_SIGN_LINE_DAMAGED },
		{ "signature " "0123456789abcdef0123456789abcdef0123456789abcdef0123456789ABCDEF 0011223344556677\n",
		  DD_SIGN_LINE_DAMAGED },
		{ "signature " "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0011223344556677\n",
		  DD_SIGN_LINE_DAMAGED },
		{ "signature " "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 00112233445566\n",
		  DD_SIGN_LINE_DAMAGED },
		{ "signature " "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 001122334455667\n",
		  DD_SIGN_LINE_DAMAGED },
		{ "signature " "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 00112233445566zz\n",
		  DD_SIGN_LINE_DAMAGED },
	};
	char line[256], text[512], huge[2 * DD_SIG_MAX + 3];
	uint8_t id[DD_SHA256_LEN], want_id[DD_SHA256_LEN], key_id[DD_SHA256_LEN], sig[DD_SIG_MAX];
	size_t sig_len = 0;
	const char *pubs[1];
	struct dd_signer *sg;
	struct dd_err err = { 0 };

	setup();
	dd_sha256(body, strlen(body), want_id);
	CHECK_EQ_INT(dd_release_sign_line(check_path("a.key"), want_id, line, sizeof(line), &err), DD_OK);
	snprintf(text, sizeof(text), "%s%s", body, line);
	CHECK_EQ_INT(dd_release_read_sign_line(text, strlen(text), id, key_id, sig, &sig_len), DD_SIGN_LINE_OK);
	CHECK_MEM_EQ(id, want_id, DD_SHA256_LEN);
	CHECK(!strcmp(text, "dartdup-release 1\nsome text")); /* cut before the signature line */
	CHECK_EQ_INT(dd_signer_open(check_path("a.key"), &sg, &err), DD_OK);
	CHECK_MEM_EQ(key_id, dd_signer_key_id(sg), DD_SHA256_LEN);
	dd_signer_close(sg);
	CHECK(sig_len >= 8 && sig_len <= DD_SIG_MAX);
	pubs[0] = check_path("a.pub");
	CHECK_EQ_INT(dd_verify_any(pubs, 1, key_id, id, sig, sig_len, NULL, &err), DD_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", body, bad[i].line);
		if (dd_release_read_sign_line(text, strlen(text), id, key_id, sig, &sig_len) != bad[i].want)
			CHECK_FAIL_("line %zu \"%s\": not told apart", i, bad[i].line);
	}
	memset(huge, 'a', sizeof(huge) - 1); /* a signature one byte longer than DD_SIG_MAX */
	huge[sizeof(huge) - 1] = '\0';
	snprintf(text, sizeof(text), "%ssignature %s %s\n", body,
		 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", huge);
	CHECK_EQ_INT(dd_release_read_sign_line(text, strlen(text), id, key_id, sig, &sig_len), DD_SIGN_LINE_DAMAGED);
}

int main(void)
{
	RUN(names);
	RUN(intact_folder_verifies);
	RUN(wrong_key_refused);
	RUN(rewrite_is_reproducible);
	RUN(unsigned_refused);
	RUN(every_damaged_byte_caught);
	RUN(changed_missing_and_linked_files_named);
	RUN(sign_line_read_back);
	return check_done();
}
