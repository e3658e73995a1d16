/* Versions, downgrades and revocation (issue 15 items 5 and 6): dotted versions compared as numbers, a
 * package's signed version, a board store that refuses an older version of its image's name or an older
 * firmware unless forced, signed revocation lists (forged, older, unknown key, revoked signer refused)
 * honoured at load and for the stored image, and the block sampling that tells versions on a stick apart. */
#include "check.h"
#include "fixtures.h"
#include "crypto/sign.h"
#include "firmware/store.h"
#include "firmware/version.h"
#include "format/dfi_format.h"
#include "format/dfi_reader.h"
#include "format/dfi_writer.h"
#include "host/identify.h"
#include "release/revoke.h"
#include "util/version.h"

#include <stdlib.h>
#include <unistd.h>

static const char *keys[2]; /* depot.pub, second.pub: both trusted by the stores below */

static void make_keys(void)
{
	struct dd_err err = { 0 };

	if (keys[0])
		return;
	CHECK_EQ_INT(dd_keygen(check_path("depot"), &err), DD_OK);
	CHECK_EQ_INT(dd_keygen(check_path("second"), &err), DD_OK);
	CHECK_EQ_INT(dd_keygen(check_path("stranger"), &err), DD_OK);
	keys[0] = strdup(check_path("depot.pub"));
	keys[1] = strdup(check_path("second.pub"));
}

/* Pack img[len] as file `out` (block size 4096) named name, version ver (NULL none), signed by key
 * ("depot", "second" or "stranger"). */
static const char *pack(const char *out, const uint8_t *img, size_t len, const char *name, const char *ver,
			const char *key)
{
	char kp[512];
	struct dfi_pack_opts o = { .block_size = 4096, .threads = 1, .created = 1, .name = name, .version = ver };
	struct dd_err err = { 0 };
	char *path = check_path(out);

	make_keys();
	snprintf(kp, sizeof(kp), "%s/%s.key", check_tmpdir(), key);
	o.key_path = kp;
	if (check_pack(path, img, len, &o, &err))
		return NULL;
	return path;
}

TEST(versions_compare_as_numbers)
{
	static const char *const good[] = { "0", "3", "1.2", "0.2.10", "1.0.0.0.0.0.0.1", "999999999" };
	static const char *const bad[] = { "", ".", "1.", ".1", "1..2", "01", "1.02", "1a", "v1", "-1", " 1",
					   "1.2.3.4.5.6.7.8.9", "1234567890", "1,2" };

	for (unsigned i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(dd_version_ok(good[i], strlen(good[i])));
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!dd_version_ok(bad[i], strlen(bad[i])));
	CHECK(dd_version_cmp("0.2.10", "0.2.9") > 0);  /* numbers, not text */
	CHECK(dd_version_cmp("1.2", "1.2.0") == 0);    /* a missing number is 0 */
	CHECK(dd_version_cmp("2", "10") < 0);
	CHECK(dd_version_cmp("", "0") < 0);            /* none is lower than every version */
	CHECK(dd_version_cmp("", "") == 0);
	CHECK(dd_version_cmp("junk", "1") < 0);        /* not a version: none */
	CHECK(!strcmp(dd_version_of_bundle("dartdupd-firmware sim 0.2.0"), "0.2.0"));
	CHECK(!strcmp(dd_version_show(""), "none"));
}

TEST(package_carries_signed_version)
{
	uint8_t img[20000];
	struct dfi_open_opts oo = { .pubkeys = keys, .n_pubkeys = 1 };
	struct dfi_reader *r;
	struct dd_err err = { 0 };
	const char *p;
	char *raw = check_path("nover.dfi.raw"); /* the image pack() packed as nover.dfi */
	struct dfi_pack_opts bad = { .block_size = 4096, .threads = 1, .version = "1.02" };

	check_fill_random(img, sizeof(img), 7);
	p = pack("ver.dfi", img, sizeof(img), "img", "4.1", "depot");
	CHECK(p);
	CHECK_EQ_INT(dfi_open(p, &oo, &r, &err), DD_OK);
	CHECK(!strcmp(r->m.image_version, "4.1"));
	dfi_close(r);
	p = pack("nover.dfi", img, sizeof(img), "img", NULL, "depot");
	CHECK_EQ_INT(dfi_open(p, &oo, &r, &err), DD_OK);
	CHECK(!strcmp(r->m.image_version, "")); /* a package without one reads as "none" */
	dfi_close(r);
	CHECK_EQ_INT(dfi_pack(raw, check_path("bad.dfi"), &bad, &err), DD_EUSAGE);
	CHECK_STR_CONTAINS(err.msg, "not a version");
	CHECK(access(check_path("bad.dfi"), F_OK) != 0);
}

/* A reader refuses a manifest whose version text is not a version, even when its hash is right. */
TEST(manifest_with_bad_version_refused)
{
	uint8_t img[9000], *b, *m, *t;
	struct dfi_reader *r;
	struct dd_err err = { 0 };
	size_t len, ml, nl, tl;
	uint64_t mo;
	const char *p;

	check_fill_random(img, sizeof(img), 9);
	p = pack("badver.dfi", img, sizeof(img), "img", "7", "depot");
	b = p ? check_read_file(p, &len) : NULL;
	CHECK(b);
	t = b + len - DFI_TRAILER_FRAME;
	mo = dfi_get64(t + 16);
	ml = dfi_get32(t + 24) - DFI_FRAME_HDR;
	m = b + mo + DFI_FRAME_HDR;
	nl = dfi_get16(m + 80), tl = dfi_get16(m + 82);
	CHECK_EQ_INT(m[14], 1);
	CHECK_EQ_INT(m[84 + nl + tl], '7');
	m[84 + nl + tl] = 'x';
	/* the image id made right again, the signature dropped: only the version is wrong */
	dd_sha256(m, ml, t + 40);
	memmove(m + ml, t, DFI_TRAILER_FRAME);
	t = m + ml;
	dfi_put32(t + 28, 0);
	dfi_put64(t + 32, (uint64_t)(t + DFI_TRAILER_FRAME - b));
	CHECK_EQ_INT(check_write_file(check_path("badver2.dfi"), b, (size_t)(t + DFI_TRAILER_FRAME - b)), 0);
	CHECK_EQ_INT(dfi_open(check_path("badver2.dfi"), NULL, &r, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "manifest damaged: version is not a dotted decimal version");
	free(b);
}

/* A list of serial n revoking keys[nk] and images[ni], signed by key; its text in *len bytes. */
static char *list(uint64_t serial, const uint8_t (*k)[DD_SHA256_LEN], size_t nk, const uint8_t (*im)[DD_SHA256_LEN],
		  size_t ni, const char *key, size_t *len)
{
	char kp[512], *text = NULL;
	struct dd_err err = { 0 };

	make_keys();
	snprintf(kp, sizeof(kp), "%s/%s.key", check_tmpdir(), key);
	if (dd_revocation_make(serial, k, nk, im, ni, kp, &text, len, &err))
		return NULL;
	return text;
}

static void key_id(const char *name, uint8_t id[DD_SHA256_LEN])
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s.pub", check_tmpdir(), name);
	CHECK_EQ_INT(dd_pubkey_id(p, id, NULL), DD_OK);
}

TEST(revocation_list_signed_and_checked)
{
	struct dd_revocation *rl = malloc(sizeof(*rl));
	uint8_t ids[3][DD_SHA256_LEN], kid[1][DD_SHA256_LEN];
	struct dd_err err = { 0 };
	size_t len;
	char *t;

	check_fill_random(ids, sizeof(ids), 3);
	memcpy(ids[2], ids[0], DD_SHA256_LEN); /* listed twice: once in the list */
	key_id("stranger", kid[0]);
	t = list(5, (const uint8_t(*)[DD_SHA256_LEN])kid, 1, (const uint8_t(*)[DD_SHA256_LEN])ids, 3, "depot", &len);
	CHECK(t && rl);
	CHECK_EQ_INT(dd_revocation_parse(t, len, keys, 2, "list", rl, &err), DD_OK);
	CHECK_EQ_U64(rl->serial, 5);
	CHECK_EQ_U64(rl->n_keys, 1);
	CHECK_EQ_U64(rl->n_images, 2);
	CHECK(dd_revocation_has_image(rl, ids[0]) && dd_revocation_has_image(rl, ids[1]));
	CHECK(dd_revocation_has_key(rl, kid[0]));
	CHECK(!dd_revocation_has_key(rl, ids[0]));
	/* forged: one hex digit of an entry changed */
	t[strlen("dartdup-revocation 1\nserial 5\nkey ") + 3] ^= 1;
	CHECK_EQ_INT(dd_revocation_parse(t, len, keys, 2, "list", rl, &err), DD_EINPUT);
	t[strlen("dartdup-revocation 1\nserial 5\nkey ") + 3] ^= 1;
	/* a key the reader does not trust */
	CHECK_EQ_INT(dd_revocation_parse(t, len, keys + 1, 1, "list", rl, &err), DD_EINPUT);
	/* cut short: the signature line is gone */
	CHECK_EQ_INT(dd_revocation_parse(t, (size_t)(strstr(t, "signature") - t), keys, 2, "list", rl, &err),
		     DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "not signed");
	CHECK_EQ_INT(dd_revocation_parse("hello\n", 6, keys, 2, "list", rl, &err), DD_EINPUT);
	free(t);
	/* serials: 0 and over 2^63-1 are no serial */
	CHECK(!list(0, NULL, 0, NULL, 0, "depot", &len));
	free(rl);
}

static int open_store(struct dd_store *s, const char *dir)
{
	char warning[600];

	make_keys();
	return dd_store_open(s, dir, keys, 2, "sim", warning, sizeof(warning), NULL);
}

/* The whole load of file path, as the link does it, with LOAD_BEGIN flags. */
static int load(struct dd_store *s, int kind, const char *path, uint8_t flags, struct dd_err *err)
{
	size_t len;
	uint8_t *pkg = check_read_file(path, &len);
	struct dd_link_load_begin b = { .kind = (uint8_t)kind, .flags = flags, .size = len };
	struct dd_link_load_begin_reply r;
	struct dd_link_load_end_reply e;
	uint64_t room, held, expected;
	int code;

	if (!pkg)
		return -1;
	dd_sha256(pkg, len, b.sha256);
	code = dd_store_load_begin(s, &b, &r, &room, err);
	if (!code) {
		struct dd_link_load_data d = { .xfer = r.xfer, .offset = 0, .data = pkg, .len = (uint32_t)len };

		code = dd_store_load_data(s, &d, &held, &expected, err);
	}
	if (!code)
		code = dd_store_load_end(s, r.xfer, &e, err);
	free(pkg);
	return code;
}

TEST(store_refuses_downgrades_unless_forced)
{
	uint8_t img[30000];
	struct dd_store s;
	struct dd_err err = { 0 };
	const char *v1, *v2, *v3, *other, *none, *fw_old, *fw_same;

	check_fill_random(img, sizeof(img), 11);
	v2 = pack("v2.dfi", img, sizeof(img), "img", "2", "depot");
	img[5000] ^= 1;
	v1 = pack("v1.dfi", img, sizeof(img), "img", "1.9.9", "depot");
	img[6000] ^= 1;
	v3 = pack("v3.dfi", img, sizeof(img), "img", "10", "depot");
	other = pack("other.dfi", img, sizeof(img), "another", "1", "depot");
	none = pack("none.dfi", img, sizeof(img), "img", NULL, "depot");
	fw_old = pack("fw_old.dfi", img, sizeof(img), "dartdupd-firmware sim 0.0.1", NULL, "depot");
	fw_same = pack("fw_same.dfi", img, sizeof(img), "dartdupd-firmware sim " DARTDUP_VERSION, NULL, "depot");
	CHECK(v1 && v2 && v3 && other && none && fw_old && fw_same);
	CHECK_EQ_INT(open_store(&s, check_path("store-dg")), DD_OK);
	CHECK_EQ_INT(load(&s, DD_KIND_IMAGE, v2, 0, &err), 0);
	CHECK(!strcmp(s.image->info.version, "2"));
	CHECK_EQ_INT(load(&s, DD_KIND_IMAGE, v1, 0, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "version 1.9.9 is older");
	CHECK(!strcmp(s.image->info.version, "2")); /* the stored image stays */
	CHECK_EQ_INT(load(&s, DD_KIND_IMAGE, none, 0, &err), DD_EINPUT); /* none is older than 2 */
	CHECK_EQ_INT(load(&s, DD_KIND_IMAGE, v2, 0, &err), 0);                 /* the same version again */
	CHECK_EQ_INT(load(&s, DD_KIND_IMAGE, v1, DD_LOAD_ALLOW_DOWNGRADE, &err), 0);
	CHECK(!strcmp(s.image->info.version, "1.9.9"));
	CHECK_EQ_INT(load(&s, DD_KIND_IMAGE, v3, 0, &err), 0);
	CHECK_EQ_INT(load(&s, DD_KIND_IMAGE, other, 0, &err), 0); /* another name: no order */
	CHECK_EQ_INT(load(&s, DD_KIND_FIRMWARE, fw_old, 0, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "older than the running firmware");
	CHECK(!s.pending_firmware[0]);
	CHECK_EQ_INT(load(&s, DD_KIND_FIRMWARE, fw_same, 0, &err), 0); /* equal: a reinstall */
	CHECK_EQ_INT(load(&s, DD_KIND_FIRMWARE, fw_old, DD_LOAD_ALLOW_DOWNGRADE, &err), 0);
	CHECK(!strcmp(s.pending_firmware, "dartdupd-firmware sim 0.0.1"));
	dd_store_close(&s);
}

TEST(store_honours_revocation_lists)
{
	uint8_t img[30000], id_a[1][DD_SHA256_LEN], second[1][DD_SHA256_LEN], depot[1][DD_SHA256_LEN];
	struct dd_source *src;
	struct dd_store s;
	struct dd_err err = { 0 };
	const char *a, *b, *by_second;
	char *l1, *l2, *l3, *older, *same_serial, *by_revoked, *stranger, why[300];
	size_t n1, n2, n3, no, ns, nr, nst;

	check_fill_random(img, sizeof(img), 21);
	a = pack("ra.dfi", img, sizeof(img), "A", "1", "depot");
	img[100] ^= 1;
	b = pack("rb.dfi", img, sizeof(img), "B", "1", "depot");
	img[200] ^= 1;
	by_second = pack("rs.dfi", img, sizeof(img), "S", "1", "second");
	CHECK(a && b && by_second);
	CHECK_EQ_INT(dd_source_open(a, &(struct dd_source_opts){ 0 }, &src, &err), DD_OK);
	memcpy(id_a[0], src->info.image_id, DD_SHA256_LEN);
	dd_source_close(src);
	key_id("second", second[0]);
	key_id("depot", depot[0]);
	l1 = list(2, NULL, 0, (const uint8_t(*)[DD_SHA256_LEN])id_a, 1, "depot", &n1);
	l2 = list(3, (const uint8_t(*)[DD_SHA256_LEN])second, 1, (const uint8_t(*)[DD_SHA256_LEN])id_a, 1, "depot", &n2);
	older = list(1, NULL, 0, NULL, 0, "depot", &no);
	same_serial = list(3, NULL, 0, NULL, 0, "depot", &ns);
	by_revoked = list(9, NULL, 0, NULL, 0, "second", &nr);   /* "second" is revoked by l2 */
	stranger = list(9, NULL, 0, NULL, 0, "stranger", &nst);  /* a key the board does not trust */
	l3 = list(4, (const uint8_t(*)[DD_SHA256_LEN])depot, 1, NULL, 0, "depot", &n3);
	CHECK(l1 && l2 && older && same_serial && by_revoked && stranger && l3);

	CHECK_EQ_INT(open_store(&s, check_path("store-rev")), DD_OK);
	CHECK_EQ_INT(load(&s, DD_KIND_IMAGE, a, 0, &err), 0);
	CHECK(!dd_store_revoked(&s, &s.image->info, why, sizeof(why)));
	CHECK_EQ_INT(dd_store_revocation_load(&s, stranger, nst, &err), DD_EINPUT);
	CHECK(!s.revoked);
	CHECK_EQ_INT(dd_store_revocation_load(&s, l1, n1, &err), 0);
	CHECK_EQ_U64(s.revoked->serial, 2);
	/* the stored image is now revoked: not written (firmware/job.c asks this) */
	CHECK(dd_store_revoked(&s, &s.image->info, why, sizeof(why)));
	CHECK_STR_CONTAINS(why, "is revoked");
	CHECK_EQ_INT(load(&s, DD_KIND_IMAGE, b, 0, &err), 0);
	CHECK_EQ_INT(load(&s, DD_KIND_IMAGE, a, 0, &err), DD_EINPUT); /* a revoked image */
	CHECK_STR_CONTAINS(err.msg, "revoked");
	CHECK(!strcmp(s.image->info.name, "B"));
	CHECK_EQ_INT(dd_store_revocation_load(&s, l1, n1, &err), 0);                    /* the same again */
	CHECK_EQ_INT(dd_store_revocation_load(&s, older, no, &err), DD_EINPUT);   /* an older serial */
	CHECK_STR_CONTAINS(err.msg, "not newer");
	CHECK_EQ_INT(load(&s, DD_KIND_IMAGE, by_second, 0, &err), 0);
	CHECK_EQ_INT(dd_store_revocation_load(&s, l2, n2, &err), 0);
	CHECK(dd_store_revoked(&s, &s.image->info, why, sizeof(why))); /* its key is revoked now */
	CHECK_STR_CONTAINS(why, "signed by key");
	CHECK_EQ_INT(load(&s, DD_KIND_IMAGE, by_second, 0, &err), DD_EINPUT); /* a revoked key's image */
	CHECK_EQ_INT(dd_store_revocation_load(&s, same_serial, ns, &err), DD_EINPUT); /* serial 3 again */
	CHECK_EQ_INT(dd_store_revocation_load(&s, by_revoked, nr, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "which the board's list revokes");
	dd_store_close(&s);
	/* kept over a restart */
	CHECK_EQ_INT(open_store(&s, check_path("store-rev")), DD_OK);
	CHECK(s.revoked && s.revoked->serial == 3);
	CHECK_EQ_INT(load(&s, DD_KIND_IMAGE, a, 0, &err), DD_EINPUT);
	/* a list may revoke its own signer: it is taken, and nothing that key signs is taken after it */
	CHECK_EQ_INT(dd_store_revocation_load(&s, l3, n3, &err), 0);
	CHECK_EQ_INT(load(&s, DD_KIND_IMAGE, b, 0, &err), DD_EINPUT);
	dd_store_close(&s);
	free(l1); free(l2); free(l3); free(older); free(same_serial); free(by_revoked); free(stranger);
}

TEST(identify_tells_versions_sharing_block0_apart)
{
	enum { LEN = 64 * 1024 };
	uint8_t *img = malloc(LEN), *stick = malloc(LEN + 8192);
	struct dd_source *known[3];
	struct dd_target *t;
	struct dd_err err = { 0 };
	bool keep[3], b0[3];
	const char *p[3];

	check_fill_random(img, LEN, 31);
	p[0] = pack("id1.dfi", img, LEN, "img", "1", "depot");
	img[40000] ^= 0x55; /* version 2 differs in block 9 only: block 0 is shared */
	p[1] = pack("id2.dfi", img, LEN, "img", "2", "depot");
	img[0] ^= 0x55;
	p[2] = pack("id3.dfi", img, LEN, "other", "1", "depot");
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(dd_source_open(p[i], &(struct dd_source_opts){ 0 }, &known[i], &err), DD_OK);
	/* the stick: version 2, then random bytes past the image */
	check_fill_random(stick, LEN + 8192, 32);
	img[0] ^= 0x55;
	memcpy(stick, img, LEN);
	CHECK_EQ_INT(check_write_file(check_path("stick"), stick, LEN + 8192), 0);
	CHECK_EQ_INT(dd_target_file_open(check_path("stick"), DD_TARGET_READONLY, 0, &t, &err), DD_OK);
	CHECK_EQ_U64(host_identify_candidates(t, known, 3, keep, b0), 1);
	CHECK(!keep[0] && keep[1] && !keep[2]);
	CHECK(b0[0] && b0[1] && !b0[2]);
	dd_target_close(t);
	/* damaged where the versions differ: neither, though block 0 matches both */
	stick[40000] ^= 0xff;
	CHECK_EQ_INT(check_write_file(check_path("stick"), stick, LEN + 8192), 0);
	CHECK_EQ_INT(dd_target_file_open(check_path("stick"), DD_TARGET_READONLY, 0, &t, &err), DD_OK);
	CHECK_EQ_U64(host_identify_candidates(t, known, 3, keep, b0), 0);
	CHECK(b0[0] && b0[1]);
	dd_target_close(t);
	for (int i = 0; i < 3; i++)
		dd_source_close(known[i]);
	free(img);
	free(stick);
}

int main(void)
{
	RUN(versions_compare_as_numbers);
	RUN(package_carries_signed_version);
	RUN(manifest_with_bad_version_refused);
	RUN(revocation_list_signed_and_checked);
	RUN(store_refuses_downgrades_unless_forced);
	RUN(store_honours_revocation_lists);
	RUN(identify_tells_versions_sharing_block0_apart);
	return check_done();
}
