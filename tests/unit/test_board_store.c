/* The board's store: transfers checked at every offset, resumable across a restart, refused
 * packages never replace the stored image, the audit ring stays bounded. */
#include "check.h"
#include "fixtures.h"
#include "crypto/sign.h"
#include "firmware/store.h"
#include "format/dfi_writer.h"
#include "link/chain.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *pubkeys[1];

/* A signed package of len random bytes (block size 4096, key "depot"); returns its path. */
static const char *package(const char *name, size_t len, uint64_t seed)
{
	struct dfi_pack_opts o = { .block_size = 4096, .threads = 1, .created = 1, .name = name };
	const char *out = check_path(name);

	o.key_path = check_key("depot", NULL);
	pubkeys[0] = check_path("depot.pub");
	if (!o.key_path || check_pack_random(out, len, seed, &o, NULL, NULL))
		return NULL;
	return out;
}

static void sha_of(const uint8_t *p, size_t n, uint8_t out[DD_SHA256_LEN])
{
	dd_sha256(p, n, out);
}

static int open_store(struct dd_store *s, const char *dir)
{
	char warning[600];

	return dd_store_open(s, dir, pubkeys, 1, "sim", warning, sizeof(warning), NULL);
}

/* Send bytes [from, to) of pkg in chunks of step; returns the first non-zero code. */
static int send_range(struct dd_store *s, uint32_t xfer, const uint8_t *pkg, uint64_t from, uint64_t to, size_t step)
{
	uint64_t held = 0, expected = 0;

	for (uint64_t off = from; off < to; off += step) {
		struct dd_link_load_data d = { .xfer = xfer, .offset = off, .data = pkg + off,
					       .len = (uint32_t)(to - off < step ? to - off : step) };
		int code = dd_store_load_data(s, &d, &held, &expected, NULL);

		if (code)
			return code;
	}
	return 0;
}

static int begin(struct dd_store *s, int kind, const uint8_t *pkg, size_t len, struct dd_link_load_begin_reply *r)
{
	struct dd_link_load_begin b = { .kind = (uint8_t)kind, .size = len };
	uint64_t room;

	sha_of(pkg, len, b.sha256);
	return dd_store_load_begin(s, &b, r, &room, NULL);
}

TEST(load_checks_offsets_and_installs)
{
	const char *path = package("sample A", 300000, 1);
	size_t len;
	uint8_t *pkg = path ? check_read_file(path, &len) : NULL;
	struct dd_store s;
	struct dd_link_load_begin_reply r;
	struct dd_link_load_end_reply e;
	struct dd_link_load_data d;
	uint64_t held, expected;

	CHECK(pkg);
	CHECK_EQ_INT(open_store(&s, check_path("store1")), DD_OK);
	CHECK(!s.image);
	CHECK_EQ_INT(begin(&s, DD_KIND_IMAGE, pkg, len, &r), 0);
	CHECK_EQ_U64(r.offset, 0);
	d = (struct dd_link_load_data){ .xfer = r.xfer, .offset = 10, .data = pkg, .len = 10 };
	CHECK_EQ_INT(dd_store_load_data(&s, &d, &held, &expected, NULL), DD_EOFFSET);
	CHECK_EQ_U64(expected, 0);
	d.xfer = r.xfer + 4; /* no such transfer */
	d.offset = 0;
	CHECK_EQ_INT(dd_store_load_data(&s, &d, &held, &expected, NULL), DD_EABSENT);
	CHECK_EQ_INT(dd_store_load_end(&s, r.xfer, &e, NULL), DD_EBUSY); /* incomplete */
	CHECK_EQ_INT(send_range(&s, r.xfer, pkg, 0, len, 65536), 0);
	d = (struct dd_link_load_data){ .xfer = r.xfer, .offset = len, .data = pkg, .len = 1 };
	CHECK_EQ_INT(dd_store_load_data(&s, &d, &held, &expected, NULL), DD_EINPUT); /* past the end */
	CHECK_EQ_INT(dd_store_load_end(&s, r.xfer, &e, NULL), 0);
	CHECK(s.image);
	CHECK(!strcmp(s.image->info.name, "sample A"));
	CHECK(!strcmp(e.name, "sample A"));
	CHECK_EQ_U64(e.size, 300000);
	dd_store_close(&s);
	CHECK_EQ_INT(open_store(&s, check_path("store1")), DD_OK); /* survives a restart */
	CHECK(s.image && !strcmp(s.image->info.name, "sample A"));
	dd_store_close(&s);
	free(pkg);
}

TEST(load_resumes_after_restart)
{
	const char *path = package("sample B", 200000, 2);
	size_t len;
	uint8_t *pkg = path ? check_read_file(path, &len) : NULL;
	struct dd_store s;
	struct dd_link_load_begin_reply r;
	struct dd_link_load_end_reply e;

	CHECK(pkg);
	CHECK_EQ_INT(open_store(&s, check_path("store2")), DD_OK);
	CHECK_EQ_INT(begin(&s, DD_KIND_IMAGE, pkg, len, &r), 0);
	CHECK_EQ_INT(send_range(&s, r.xfer, pkg, 0, len / 2, 4000), 0);
	dd_store_close(&s); /* the board restarts mid-transfer */
	CHECK_EQ_INT(open_store(&s, check_path("store2")), DD_OK);
	CHECK(!s.image);
	CHECK_EQ_INT(begin(&s, DD_KIND_IMAGE, pkg, len, &r), 0);
	CHECK_EQ_U64(r.offset, len / 2);
	CHECK_EQ_INT(send_range(&s, r.xfer, pkg, r.offset, len, 50000), 0);
	CHECK_EQ_INT(dd_store_load_end(&s, r.xfer, &e, NULL), 0);
	CHECK(s.image && !strcmp(s.image->info.name, "sample B"));
	dd_store_close(&s);
	free(pkg);
}

/* A partial transfer is made durable every DD_STORE_SYNC_EVERY bytes (a power cut loses at most that
 * much of a load, never its start): the store's record of what is synced follows the data. */
TEST(partial_transfer_synced_as_it_grows)
{
	size_t len = 2 * DD_STORE_SYNC_EVERY + 12345;
	uint8_t *pkg = malloc(len);
	struct dd_store s;
	struct dd_link_load_begin_reply r;
	const struct dd_store_xfer *x;

	CHECK(pkg);
	check_fill_random(pkg, len, 9);
	CHECK_EQ_INT(open_store(&s, check_path("store-sync")), DD_OK);
	CHECK_EQ_INT(begin(&s, DD_KIND_IMAGE, pkg, len, &r), 0);
	x = &s.xfer[DD_KIND_IMAGE];
	CHECK_EQ_INT(send_range(&s, r.xfer, pkg, 0, DD_STORE_SYNC_EVERY - 1, 65536), 0);
	CHECK_EQ_U64(x->synced, 0);
	CHECK_EQ_INT(send_range(&s, r.xfer, pkg, DD_STORE_SYNC_EVERY - 1, DD_STORE_SYNC_EVERY + 100, 65536), 0);
	CHECK_EQ_U64(x->synced, DD_STORE_SYNC_EVERY + 100);
	CHECK_EQ_INT(send_range(&s, r.xfer, pkg, DD_STORE_SYNC_EVERY + 100, 2 * DD_STORE_SYNC_EVERY + 200, 65536), 0);
	CHECK_EQ_U64(x->synced, 2 * DD_STORE_SYNC_EVERY + 100); /* the last 100 bytes wait for the next sync */
	dd_store_close(&s);
	/* after a restart, what is on the disk counts as synced */
	CHECK_EQ_INT(open_store(&s, check_path("store-sync")), DD_OK);
	CHECK_EQ_INT(begin(&s, DD_KIND_IMAGE, pkg, len, &r), 0);
	CHECK_EQ_U64(r.offset, 2 * DD_STORE_SYNC_EVERY + 200);
	CHECK_EQ_U64(s.xfer[DD_KIND_IMAGE].synced, r.offset);
	dd_store_close(&s);
	free(pkg);
}

TEST(refused_packages_leave_the_image)
{
	const char *a = package("good", 100000, 3), *b = package("damaged", 100000, 4);
	size_t la, lb;
	uint8_t *pa = a ? check_read_file(a, &la) : NULL, *pb = b ? check_read_file(b, &lb) : NULL;
	uint8_t id[DD_SHA256_LEN];
	struct dd_store s;
	struct dd_link_load_begin_reply r;
	struct dd_link_load_end_reply e;
	struct dd_link_load_begin bad = { .kind = DD_KIND_IMAGE };
	struct dd_err err;
	uint64_t room;

	CHECK(pa && pb);
	CHECK_EQ_INT(open_store(&s, check_path("store3")), DD_OK);
	CHECK_EQ_INT(begin(&s, DD_KIND_IMAGE, pa, la, &r), 0);
	CHECK_EQ_INT(send_range(&s, r.xfer, pa, 0, la, 1 << 20), 0);
	CHECK_EQ_INT(dd_store_load_end(&s, r.xfer, &e, NULL), 0);
	memcpy(id, s.image->info.image_id, DD_SHA256_LEN);

	pb[lb / 2] ^= 0x40; /* a damaged block, announced with the damaged package's own sha */
	CHECK_EQ_INT(begin(&s, DD_KIND_IMAGE, pb, lb, &r), 0);
	CHECK_EQ_INT(send_range(&s, r.xfer, pb, 0, lb, 1 << 20), 0);
	CHECK_EQ_INT(dd_store_load_end(&s, r.xfer, &e, &err), DD_EINPUT);
	CHECK(s.image && !memcmp(s.image->info.image_id, id, DD_SHA256_LEN));
	/* the refusal names what the PC sent, never the board's incoming/ file (issue 17 item 10) */
	CHECK_STR_CONTAINS(err.msg, "image package");
	CHECK(!strstr(err.msg, "incoming") && !strstr(err.msg, ".part") && !strstr(err.msg, s.dir));

	pb[lb / 2] ^= 0x40; /* intact, but announced with another sha */
	bad.size = lb;
	memset(bad.sha256, 7, DD_SHA256_LEN);
	CHECK_EQ_INT(dd_store_load_begin(&s, &bad, &r, &room, NULL), 0);
	CHECK_EQ_INT(send_range(&s, r.xfer, pb, 0, lb, 1 << 20), 0);
	CHECK_EQ_INT(dd_store_load_end(&s, r.xfer, &e, NULL), DD_EINPUT);

	CHECK_EQ_INT(begin(&s, DD_KIND_FIRMWARE, pb, lb, &r), 0); /* an image is not a bundle */
	CHECK_EQ_INT(send_range(&s, r.xfer, pb, 0, lb, 1 << 20), 0);
	CHECK_EQ_INT(dd_store_load_end(&s, r.xfer, &e, NULL), DD_EINPUT);

	CHECK_EQ_INT(begin(&s, DD_KIND_IMAGE, pb, lb, &r), 0); /* cancelled: gone */
	CHECK_EQ_INT(dd_store_load_cancel(&s, r.xfer, NULL), 0);
	CHECK_EQ_INT(send_range(&s, r.xfer, pb, 0, lb, 1 << 20), DD_EABSENT);
	dd_store_close(&s);
	CHECK_EQ_INT(open_store(&s, check_path("store3")), DD_OK);
	CHECK(s.image && !memcmp(s.image->info.image_id, id, DD_SHA256_LEN));
	dd_store_close(&s);
	free(pa);
	free(pb);
}

/* The store's free space as the test sets it (statvfs replaced). */
static uint64_t fake_free;

static int fake_statvfs(const char *path, struct statvfs *v)
{
	(void)path;
	memset(v, 0, sizeof(*v));
	v->f_frsize = v->f_bsize = 4096;
	v->f_bavail = v->f_bfree = fake_free / 4096;
	return 0;
}

static unsigned incoming_files(struct dd_store *s)
{
	char dir[600];
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/incoming", s->dir);
	d = opendir(dir);
	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* LOAD_BEGIN sizes are bounded by what the store can hold (issue 17 item 1): 2^40 and 2^62 refused
 * before a byte is stored, a firmware bundle has a quota, and nothing is created for a refusal. */
TEST(load_sizes_bounded_by_the_store)
{
	struct dd_store s;
	struct dd_link_load_begin b = { .kind = DD_KIND_IMAGE };
	struct dd_link_load_begin_reply r;
	struct dd_err err;
	uint64_t room;

	CHECK_EQ_INT(open_store(&s, check_path("store5")), DD_OK);
	s.statvfs = fake_statvfs;
	fake_free = 64 << 20;
	memset(b.sha256, 5, DD_SHA256_LEN);
	for (unsigned shift = 40; shift <= 62; shift += 22) {
		b.size = 1ull << shift;
		CHECK_EQ_INT(dd_store_load_begin(&s, &b, &r, &room, &err), DD_ENOSPACE);
		CHECK_STR_CONTAINS(err.msg, "cannot hold this image package");
		CHECK(!strstr(err.msg, "incoming"));
		CHECK_EQ_U64(room, (64 << 20) - DD_STORE_RESERVE);
	}
	b.kind = DD_KIND_FIRMWARE;
	b.size = DD_STORE_FIRMWARE_MAX + 1; /* a quota of its own, whatever the free space */
	fake_free = 1ull << 40;
	CHECK_EQ_INT(dd_store_load_begin(&s, &b, &r, &room, &err), DD_ENOSPACE);
	CHECK_STR_CONTAINS(err.msg, "over this board's limit");
	CHECK_EQ_U64(room, DD_STORE_FIRMWARE_MAX);
	CHECK_EQ_INT(incoming_files(&s), 0);
	b.size = DD_STORE_FIRMWARE_MAX; /* the limit itself is fine */
	CHECK_EQ_INT(dd_store_load_begin(&s, &b, &r, &room, &err), 0);
	CHECK_EQ_INT(incoming_files(&s), 1);
	dd_store_close(&s);
}

/* A partial transfer that holds the room (a firmware partial filling the store) gives it up to a new
 * LOAD_BEGIN of another kind; a full store refuses clearly and leaves the stored image alone. */
TEST(load_begin_reclaims_an_abandoned_partial)
{
	const char *a = package("room", 300000, 6);
	size_t la;
	uint8_t *pa = a ? check_read_file(a, &la) : NULL, *junk = malloc(3 << 16);
	struct dd_store s;
	struct dd_link_load_begin fw = { .kind = DD_KIND_FIRMWARE, .size = 28 << 20 };
	struct dd_link_load_begin_reply r, rf;
	struct dd_link_load_end_reply e;
	struct dd_err err;
	uint64_t room;
	uint8_t id[DD_SHA256_LEN];

	CHECK(pa && junk);
	check_fill_random(junk, 3 << 16, 8);
	CHECK_EQ_INT(open_store(&s, check_path("store6")), DD_OK);
	s.statvfs = fake_statvfs;
	fake_free = 36 << 20;
	memset(fw.sha256, 9, DD_SHA256_LEN);
	/* a firmware transfer claims most of the store and is abandoned after 64 KiB */
	CHECK_EQ_INT(dd_store_load_begin(&s, &fw, &rf, &room, &err), 0);
	CHECK_EQ_INT(send_range(&s, rf.xfer, junk, 0, 1 << 16, 1 << 16), 0);
	/* too big even with its room: refused, and the firmware transfer is left as it was */
	{
		struct dd_link_load_begin big = { .kind = DD_KIND_IMAGE, .size = 40 << 20 };

		CHECK_EQ_INT(dd_store_load_begin(&s, &big, &r, &room, &err), DD_ENOSPACE);
		CHECK_STR_CONTAINS(err.msg, "room for");
		CHECK_EQ_INT(incoming_files(&s), 1);
		CHECK_EQ_INT(send_range(&s, rf.xfer, junk, 1 << 16, 2 << 16, 1 << 16), 0);
	}
	/* a legitimate image load fits only in the firmware partial's room: it takes it */
	CHECK_EQ_INT(begin(&s, DD_KIND_IMAGE, pa, la, &r), 0);
	CHECK_EQ_INT(incoming_files(&s), 1);
	CHECK_EQ_INT(send_range(&s, rf.xfer, junk, 2 << 16, 3 << 16, 1 << 16),
		     DD_EABSENT); /* the abandoned transfer is gone */
	CHECK_EQ_INT(send_range(&s, r.xfer, pa, 0, la, 1 << 20), 0);
	CHECK_EQ_INT(dd_store_load_end(&s, r.xfer, &e, NULL), 0);
	CHECK(s.image);
	memcpy(id, s.image->info.image_id, DD_SHA256_LEN);

	/* the store fills up under a transfer after all (something else took the room): no-space, named */
	CHECK_EQ_INT(begin(&s, DD_KIND_IMAGE, pa, la - 2, &r), 0);
	close(s.xfer[DD_KIND_IMAGE].fd);
	s.xfer[DD_KIND_IMAGE].fd = open("/dev/full", O_RDWR | O_CLOEXEC); /* every write: ENOSPC */
	CHECK(s.xfer[DD_KIND_IMAGE].fd >= 0);
	{
		struct dd_link_load_data dd = { .xfer = r.xfer, .offset = 0, .data = pa, .len = 4096 };
		uint64_t held, expected;

		CHECK_EQ_INT(dd_store_load_data(&s, &dd, &held, &expected, &err), DD_ENOSPACE);
		CHECK_STR_CONTAINS(err.msg, "image package");
		CHECK_STR_CONTAINS(err.msg, "No space left");
		CHECK(!strstr(err.msg, "incoming"));
	}
	CHECK(s.image && !memcmp(s.image->info.image_id, id, DD_SHA256_LEN));
	dd_store_load_cancel(&s, r.xfer, NULL);

	/* a full store: a clear refusal, nothing created, the stored image still served */
	fake_free = DD_STORE_RESERVE / 2;
	CHECK_EQ_INT(begin(&s, DD_KIND_IMAGE, pa, la - 1, &r), DD_ENOSPACE);
	CHECK_EQ_INT(dd_store_load_begin(&s, &fw, &rf, &room, &err), DD_ENOSPACE);
	CHECK_STR_CONTAINS(err.msg, "cannot hold this firmware bundle");
	CHECK_EQ_U64(room, 0);
	CHECK_EQ_INT(incoming_files(&s), 0);
	CHECK(s.image && !memcmp(s.image->info.image_id, id, DD_SHA256_LEN));
	dd_store_close(&s);
	free(pa);
	free(junk);
}

/* The SHA-256 is taken as LOAD_DATA brings the bytes; a resumed transfer's partial is read back a few MiB
 * per LOAD_DATA until the hash has caught up, and LOAD_END reads only what is still behind. Either way
 * the bytes are judged whole: a package announced with another SHA-256 is refused after a resume too. */
TEST(load_hash_follows_the_data_and_a_resume)
{
	const char *path = package("sample H", 12u << 20, 12);
	size_t len, mib = 1u << 20;
	uint8_t *pkg = path ? check_read_file(path, &len) : NULL;
	struct dd_store s;
	struct dd_link_load_begin_reply r;
	struct dd_link_load_end_reply e;
	struct dd_link_load_begin bad = { .kind = DD_KIND_IMAGE };
	const struct dd_store_xfer *x = &s.xfer[DD_KIND_IMAGE];
	uint64_t room;

	CHECK(pkg && len > 12 * mib);
	CHECK_EQ_INT(open_store(&s, check_path("store-hash")), DD_OK);
	CHECK_EQ_INT(begin(&s, DD_KIND_IMAGE, pkg, len, &r), 0);
	CHECK_EQ_INT(send_range(&s, r.xfer, pkg, 0, 9 * mib, mib), 0);
	CHECK_EQ_U64(x->hashed, 9 * mib);
	dd_store_close(&s); /* the board restarts mid-transfer: its hash is gone, the partial is not */
	CHECK_EQ_INT(open_store(&s, check_path("store-hash")), DD_OK);
	CHECK_EQ_INT(begin(&s, DD_KIND_IMAGE, pkg, len, &r), 0);
	CHECK_EQ_U64(r.offset, 9 * mib);
	CHECK_EQ_U64(x->hashed, 0);
	CHECK_EQ_INT(send_range(&s, r.xfer, pkg, 9 * mib, 10 * mib, mib), 0);
	CHECK_EQ_U64(x->hashed, 4 * mib); /* 4 MiB of the partial read back per LOAD_DATA */
	CHECK_EQ_INT(send_range(&s, r.xfer, pkg, 10 * mib, len, mib), 0);
	CHECK_EQ_U64(x->hashed, len); /* caught up, then the rest from memory */
	CHECK_EQ_INT(dd_store_load_end(&s, r.xfer, &e, NULL), 0);
	CHECK(s.image && !strcmp(s.image->info.name, "sample H"));
	/* the partial read back was streamed too: its blocks were proven without reading them again */
	CHECK_EQ_U64(s.loads_streamed, 1);
	CHECK_EQ_U64(s.blocks_read_back, 0);

	/* a resume near the end: LOAD_END hashes what the LOAD_DATA did not reach */
	CHECK_EQ_INT(begin(&s, DD_KIND_IMAGE, pkg, len, &r), 0);
	CHECK_EQ_INT(send_range(&s, r.xfer, pkg, 0, len - mib, mib), 0);
	dd_store_close(&s);
	CHECK_EQ_INT(open_store(&s, check_path("store-hash")), DD_OK);
	CHECK_EQ_INT(begin(&s, DD_KIND_IMAGE, pkg, len, &r), 0);
	CHECK_EQ_INT(send_range(&s, r.xfer, pkg, r.offset, len, mib), 0);
	CHECK_EQ_U64(x->hashed, 4 * mib);
	CHECK_EQ_INT(dd_store_load_end(&s, r.xfer, &e, NULL), 0);
	CHECK_EQ_U64(s.loads_streamed, 1); /* what LOAD_END hashed was streamed as well */
	CHECK_EQ_U64(s.blocks_read_back, 0);

	/* announced with another SHA-256, resumed: refused, nothing stored, the partial gone */
	bad.size = len;
	memset(bad.sha256, 7, DD_SHA256_LEN);
	CHECK_EQ_INT(dd_store_load_begin(&s, &bad, &r, &room, NULL), 0);
	CHECK_EQ_INT(send_range(&s, r.xfer, pkg, 0, 6 * mib, mib), 0);
	dd_store_close(&s);
	CHECK_EQ_INT(open_store(&s, check_path("store-hash")), DD_OK);
	CHECK_EQ_INT(dd_store_load_begin(&s, &bad, &r, &room, NULL), 0);
	CHECK_EQ_U64(r.offset, 6 * mib);
	CHECK_EQ_INT(send_range(&s, r.xfer, pkg, 6 * mib, len, mib), 0);
	CHECK_EQ_INT(dd_store_load_end(&s, r.xfer, &e, NULL), DD_EINPUT);
	CHECK_EQ_INT(incoming_files(&s), 0);
	CHECK(s.image && !strcmp(s.image->info.name, "sample H"));
	dd_store_close(&s);
	free(pkg);
}

/* HASH_AT_END: LOAD_BEGIN names the transfer by a resume key, LOAD_END brings the SHA-256 the bytes must
 * have. Without it such a LOAD_END is bad-field; with a wrong one the package is refused and nothing is
 * stored; a load without the flag that names another SHA-256 in LOAD_END is bad-field. */
TEST(load_end_names_the_sha)
{
	const char *path = package("sample K", 150000, 13);
	size_t len;
	uint8_t *pkg = path ? check_read_file(path, &len) : NULL, sha[DD_SHA256_LEN], other[DD_SHA256_LEN];
	struct dd_link_load_begin b = { .kind = DD_KIND_IMAGE, .flags = DD_LOAD_HASH_AT_END };
	struct dd_store s;
	struct dd_link_load_begin_reply r;
	struct dd_link_load_end_reply e;
	struct dd_err err;
	uint64_t room;

	CHECK(pkg);
	sha_of(pkg, len, sha);
	memcpy(other, sha, DD_SHA256_LEN);
	other[0] ^= 1;
	b.size = len;
	memset(b.sha256, 0x3c, DD_SHA256_LEN); /* a resume key, not the SHA-256 */
	CHECK_EQ_INT(open_store(&s, check_path("store-endsha")), DD_OK);
	CHECK_EQ_INT(dd_store_load_begin(&s, &b, &r, &room, NULL), 0);
	CHECK_EQ_INT(send_range(&s, r.xfer, pkg, 0, len / 3, 20000), 0);
	dd_store_close(&s); /* resumed by its key after a restart */
	CHECK_EQ_INT(open_store(&s, check_path("store-endsha")), DD_OK);
	CHECK_EQ_INT(dd_store_load_begin(&s, &b, &r, &room, NULL), 0);
	CHECK(r.offset > 0);
	CHECK_EQ_INT(send_range(&s, r.xfer, pkg, r.offset, len, 20000), 0);
	CHECK_EQ_INT(dd_store_load_end_start_sha(&s, r.xfer, NULL, &err), DD_EUSAGE);
	CHECK_STR_CONTAINS(err.msg, "HASH_AT_END");
	CHECK_EQ_INT(dd_store_load_end_start_sha(&s, r.xfer, other, NULL), 0); /* wrong: refused */
	CHECK_EQ_INT(dd_store_verify_step(&s, DD_KIND_IMAGE, UINT64_MAX, true, &e, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "LOAD_END");
	CHECK(!s.image);
	CHECK_EQ_INT(incoming_files(&s), 0);

	CHECK_EQ_INT(dd_store_load_begin(&s, &b, &r, &room, NULL), 0); /* again, whole: stored */
	CHECK_EQ_U64(r.offset, 0);
	CHECK_EQ_INT(send_range(&s, r.xfer, pkg, 0, len, 65536), 0);
	CHECK_EQ_INT(dd_store_load_end_start_sha(&s, r.xfer, sha, NULL), 0);
	CHECK_EQ_INT(dd_store_verify_step(&s, DD_KIND_IMAGE, UINT64_MAX, true, &e, NULL), 0);
	CHECK(s.image && !strcmp(s.image->info.name, "sample K"));

	b.flags = 0; /* the old form: LOAD_END may repeat LOAD_BEGIN's SHA-256, never name another */
	memcpy(b.sha256, sha, DD_SHA256_LEN);
	CHECK_EQ_INT(dd_store_load_begin(&s, &b, &r, &room, NULL), 0);
	CHECK_EQ_INT(send_range(&s, r.xfer, pkg, 0, len, 65536), 0);
	CHECK_EQ_INT(dd_store_load_end_start_sha(&s, r.xfer, other, NULL), DD_EUSAGE);
	CHECK_EQ_INT(dd_store_load_end_start_sha(&s, r.xfer, sha, NULL), 0);
	CHECK_EQ_INT(dd_store_verify_step(&s, DD_KIND_IMAGE, UINT64_MAX, true, &e, NULL), 0);
	dd_store_close(&s);
	free(pkg);
}

/* LOAD_END in pieces: nothing touches the transfer meanwhile, and a verified package waits until it
 * may be installed (a job reads the stored image). */
TEST(load_end_verifies_in_pieces)
{
	const char *a = package("pieces", 400000, 10), *b = package("before", 50000, 11);
	size_t la, lb;
	uint8_t *pa = a ? check_read_file(a, &la) : NULL, *pb = b ? check_read_file(b, &lb) : NULL;
	struct dd_store s;
	struct dd_link_load_begin_reply r, rb;
	struct dd_link_load_end_reply e;
	struct dd_err err;
	unsigned steps = 0;
	int code;

	CHECK(pa && pb);
	CHECK_EQ_INT(open_store(&s, check_path("store7")), DD_OK);
	CHECK_EQ_INT(begin(&s, DD_KIND_IMAGE, pb, lb, &rb), 0);
	CHECK_EQ_INT(send_range(&s, rb.xfer, pb, 0, lb, 1 << 20), 0);
	CHECK_EQ_INT(dd_store_load_end(&s, rb.xfer, &e, NULL), 0); /* stored: "before" */
	s.no_stream_check = true; /* the blocks are read back at LOAD_END, not proven as they came */
	CHECK_EQ_INT(begin(&s, DD_KIND_IMAGE, pa, la, &r), 0);
	CHECK_EQ_INT(send_range(&s, r.xfer, pa, 0, la, 1 << 20), 0);
	CHECK_EQ_U64(s.xfer[DD_KIND_IMAGE].hashed, la); /* hashed as it came: LOAD_END checks the blocks */
	CHECK_EQ_INT(dd_store_load_end_start(&s, r.xfer, NULL), 0);
	CHECK_EQ_INT(dd_store_load_end_start(&s, r.xfer, &err), DD_EBUSY); /* once */
	/* meanwhile the transfer is left alone */
	CHECK_EQ_INT(begin(&s, DD_KIND_IMAGE, pa, la, &rb), DD_EBUSY);
	CHECK_EQ_INT(begin(&s, DD_KIND_IMAGE, pb, lb, &rb), DD_EBUSY);
	CHECK_EQ_INT(send_range(&s, r.xfer, pa, la - 1, la, 1), DD_EBUSY);
	CHECK_EQ_INT(dd_store_load_cancel(&s, r.xfer, &err), DD_EBUSY);
	CHECK_STR_CONTAINS(err.msg, "being verified");
	/* 64 KiB a step, and no installing yet: it comes to wait, verified, with the old image in place */
	while ((code = dd_store_verify_step(&s, DD_KIND_IMAGE, 65536, false, &e, NULL)) == DD_STORE_MORE &&
	       s.xfer[DD_KIND_IMAGE].verify != DD_VERIFY_DONE && steps < 1000)
		steps++;
	CHECK_EQ_INT(code, DD_STORE_MORE);
	CHECK(steps >= 5); /* ~100 blocks of 4 KiB, checked in pieces */
	CHECK_EQ_U64(s.blocks_read_back, (400000 + 4095) / 4096); /* every block of "pieces" */
	CHECK_EQ_INT(dd_store_verify_step(&s, DD_KIND_IMAGE, 65536, false, &e, NULL), DD_STORE_MORE);
	CHECK(!strcmp(s.image->info.name, "before"));
	CHECK_EQ_INT(dd_store_verify_step(&s, DD_KIND_IMAGE, 65536, true, &e, NULL), 0);
	CHECK(!strcmp(s.image->info.name, "pieces") && !strcmp(e.name, "pieces"));
	CHECK_EQ_INT(dd_store_verify_step(&s, DD_KIND_IMAGE, 65536, true, &e, &err), DD_EABSENT); /* done */
	CHECK_EQ_INT(incoming_files(&s), 0);
	dd_store_close(&s);
	free(pa);
	free(pb);
}

/* A load whose bytes came in order is proven as they came: LOAD_END opens the package, checks its
 * signature and compares, and reads no block back (one step with a budget of one byte ends verified). */
TEST(load_end_takes_the_streamed_proof)
{
	const char *a = package("streamed", 400000, 14);
	size_t la;
	uint8_t *pa = a ? check_read_file(a, &la) : NULL;
	struct dd_store s;
	struct dd_link_load_begin_reply r;
	struct dd_link_load_end_reply e;

	CHECK(pa);
	CHECK_EQ_INT(open_store(&s, check_path("store-stream")), DD_OK);
	CHECK_EQ_INT(begin(&s, DD_KIND_IMAGE, pa, la, &r), 0);
	CHECK_EQ_INT(send_range(&s, r.xfer, pa, 0, la, 100003), 0);
	CHECK_EQ_INT(dd_store_load_end_start(&s, r.xfer, NULL), 0);
	CHECK_EQ_INT(dd_store_verify_step(&s, DD_KIND_IMAGE, 1, false, &e, NULL), DD_STORE_MORE);
	CHECK_EQ_INT(s.xfer[DD_KIND_IMAGE].verify, DD_VERIFY_DONE);
	CHECK_EQ_U64(s.blocks_read_back, 0);
	CHECK_EQ_U64(s.loads_streamed, 1);
	CHECK_EQ_INT(dd_store_verify_step(&s, DD_KIND_IMAGE, 1, true, &e, NULL), 0);
	CHECK(s.image && !strcmp(s.image->info.name, "streamed"));

	/* a restart mid-load: the partial is streamed from its read-back, then the rest as it comes */
	CHECK_EQ_INT(begin(&s, DD_KIND_IMAGE, pa, la, &r), 0);
	CHECK_EQ_INT(send_range(&s, r.xfer, pa, 0, la / 2, 65536), 0);
	dd_store_close(&s);
	CHECK_EQ_INT(open_store(&s, check_path("store-stream")), DD_OK);
	CHECK_EQ_INT(begin(&s, DD_KIND_IMAGE, pa, la, &r), 0);
	CHECK(r.offset > 0);
	CHECK_EQ_INT(send_range(&s, r.xfer, pa, r.offset, la, 65536), 0);
	CHECK_EQ_INT(dd_store_load_end(&s, r.xfer, &e, NULL), 0);
	CHECK_EQ_U64(s.loads_streamed, 1);
	CHECK_EQ_U64(s.blocks_read_back, 0);
	dd_store_close(&s);
	free(pa);
}

/* A package damaged inside a data frame (announced with the damaged bytes' SHA-256, so the transport check
 * passes) is not proven as it comes: LOAD_END reads the blocks back and refuses it with the same message
 * as without the streamed check. */
TEST(tampered_load_refused_as_before)
{
	const char *a = package("tampered", 300000, 15);
	size_t la;
	uint8_t *pa = a ? check_read_file(a, &la) : NULL;
	struct dd_link_load_begin_reply r;
	struct dd_link_load_end_reply e;
	char msg[2][sizeof(((struct dd_err *)0)->msg)];

	CHECK(pa);
	pa[24 + 3 * 4096 + 77] ^= 1; /* block 3's frame: random data, stored raw */
	for (int slow = 0; slow < 2; slow++) {
		struct dd_store s;
		struct dd_err err = { 0 };

		CHECK_EQ_INT(open_store(&s, check_path(slow ? "store-tamper-slow" : "store-tamper")), DD_OK);
		s.no_stream_check = slow;
		CHECK_EQ_INT(begin(&s, DD_KIND_IMAGE, pa, la, &r), 0);
		CHECK_EQ_INT(send_range(&s, r.xfer, pa, 0, la, 1 << 20), 0);
		CHECK_EQ_INT(dd_store_load_end(&s, r.xfer, &e, &err), DD_EINPUT);
		CHECK(!s.image);
		CHECK_EQ_U64(s.loads_streamed, 0);
		CHECK_EQ_U64(s.blocks_read_back, 3); /* blocks 0-2 passed, block 3 failed */
		CHECK_EQ_INT(incoming_files(&s), 0);
		snprintf(msg[slow], sizeof(msg[slow]), "%s", err.msg);
		dd_store_close(&s);
	}
	CHECK_STR_CONTAINS(msg[0], "block 3");
	CHECK(!strcmp(msg[0], msg[1]));
	free(pa);
}

/* The store's audit log as a file of records, the way `dartdup board log --json` saves it; checked with
 * the board's key (link/chain.h). Returns dd_chain_verify's code. */
static int verify_store_log(struct dd_store *s, struct dd_chain_result *res)
{
	struct dd_link_log_reply r;
	uint8_t *buf = malloc(DD_LINK_MAX_PAYLOAD);
	char path[600], pub[600];
	uint32_t pos = 0;
	const char *text;
	uint16_t len;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/export.jsonl", check_tmpdir());
	snprintf(pub, sizeof(pub), "%s/audit.pub", s->dir);
	f = fopen(path, "w+");
	if (!buf || !f || dd_store_log_read(s, 1, 1000, buf, DD_LINK_MAX_PAYLOAD, &r, NULL)) {
		free(buf);
		if (f)
			fclose(f);
		return DD_EIO;
	}
	while (dd_link_log_next(&r, &pos, &text, &len))
		fprintf(f, "%.*s\n", (int)len, text);
	rewind(f);
	rc = dd_chain_verify(f, path, pub, res, NULL);
	fclose(f);
	free(buf);
	return rc;
}

/* The log grows into the store's free space (no fixed count): a warning when free space runs low, and
 * when it runs out the records a PC has read are dropped first; with none read, it is full and says so,
 * and nothing is lost. Numbering and the chain go on across all of it and across a restart. */
TEST(audit_log_bounded_by_space)
{
	struct dd_store s;
	struct dd_link_log_reply r;
	struct dd_chain_result res;
	struct dd_err err = { 0 };
	uint8_t *buf = malloc(DD_LINK_MAX_PAYLOAD);
	uint64_t room;
	char rec[64];

	CHECK(buf);
	CHECK_EQ_INT(open_store(&s, check_path("store4")), DD_OK);
	s.statvfs = fake_statvfs;
	fake_free = 1ull << 30;
	for (unsigned i = 1; i <= 30; i++) {
		snprintf(rec, sizeof(rec), "{\"n\":%u}", i);
		CHECK_EQ_INT(dd_store_log_append(&s, "SIM-1", rec, NULL), DD_OK);
	}
	CHECK_EQ_INT(s.log_lines, 30); /* nothing dropped while there is room */
	CHECK_EQ_INT(dd_store_log_state(&s, &room), DD_LOG_OK);
	CHECK_EQ_U64(room, (1ull << 30) - DD_LOG_FULL_FREE);
	fake_free = DD_LOG_WARN_FREE - 4096;
	CHECK_EQ_INT(dd_store_log_state(&s, NULL), DD_LOG_WARNING);
	/* full, nothing read by a PC: refused, nothing dropped */
	fake_free = DD_LOG_FULL_FREE - 4096;
	CHECK_EQ_INT(dd_store_log_state(&s, NULL), DD_LOG_FULL);
	CHECK_EQ_INT(dd_store_log_append(&s, "SIM-1", "{\"n\":31}", &err), DD_EIO);
	CHECK_STR_CONTAINS(err.msg, "audit log full");
	CHECK_EQ_INT(s.log_lines, 30);
	/* a PC reads the first 20: those may go, and the next record makes its room from them */
	CHECK_EQ_INT(dd_store_log_read(&s, 1, 20, buf, DD_LINK_MAX_PAYLOAD, &r, NULL), DD_OK);
	CHECK_EQ_U64(s.log_exported, 20);
	CHECK_EQ_INT(dd_store_log_state(&s, NULL), DD_LOG_WARNING);
	CHECK_EQ_INT(dd_store_log_append(&s, "SIM-1", "{\"n\":31}", NULL), DD_OK);
	CHECK_EQ_U64(s.log_first, 21);
	CHECK_EQ_INT(s.log_lines, 11);
	CHECK_EQ_INT(verify_store_log(&s, &res), DD_OK); /* still a chain, from seq 21 */
	CHECK_EQ_U64(res.first_seq, 21);
	CHECK_EQ_U64(res.last_seq, 31);
	/* all read: the newest record stays (it carries the numbering and the chain's head) */
	CHECK_EQ_INT(dd_store_log_read(&s, 21, 100, buf, DD_LINK_MAX_PAYLOAD, &r, NULL), DD_OK);
	CHECK_EQ_INT(dd_store_log_append(&s, "SIM-1", "{\"n\":32}", NULL), DD_OK);
	CHECK_EQ_INT(s.log_lines, 2);
	dd_store_close(&s);
	fake_free = 1ull << 30;
	CHECK_EQ_INT(open_store(&s, check_path("store4")), DD_OK); /* numbering and the mark go on after a restart */
	CHECK_EQ_U64(s.log_next, 33);
	CHECK_EQ_U64(s.log_exported, 31);
	CHECK_EQ_INT(dd_store_log_append(&s, "SIM-1", "{\"n\":33}", NULL), DD_OK);
	CHECK_EQ_INT(verify_store_log(&s, &res), DD_OK);
	CHECK_EQ_U64(res.first_seq, 31);
	CHECK_EQ_U64(res.last_seq, 33);
	dd_store_close(&s);
	free(buf);
}

/* The board's audit key is made once, at the first open, and kept: records of every restart verify with
 * the same public key. */
TEST(audit_key_made_once)
{
	struct dd_store s;
	char pem[256];

	CHECK_EQ_INT(open_store(&s, check_path("store6")), DD_OK);
	CHECK_STR_CONTAINS(s.key_pem, "-----BEGIN PUBLIC KEY-----");
	snprintf(pem, sizeof(pem), "%s", s.key_pem);
	dd_store_close(&s);
	CHECK_EQ_INT(open_store(&s, check_path("store6")), DD_OK);
	CHECK(!strcmp(pem, s.key_pem));
	dd_store_close(&s);
}

/* Reads every record of the store's log into one string, records separated by '|'. */
static void all_records(struct dd_store *s, char *out, size_t cap)
{
	struct dd_link_log_reply r;
	uint8_t *buf = malloc(DD_LINK_MAX_PAYLOAD);
	uint32_t pos = 0;
	const char *text;
	uint16_t len;
	size_t used = 0;

	out[0] = '\0';
	if (!buf || dd_store_log_read(s, 1, 100, buf, DD_LINK_MAX_PAYLOAD, &r, NULL)) {
		free(buf);
		return;
	}
	while (dd_link_log_next(&r, &pos, &text, &len) && used + len + 2 < cap)
		used += (size_t)snprintf(out + used, cap - used, "%s%.*s", used ? "|" : "", (int)len, text);
	free(buf);
}

/* A power cut in the middle of an append (here: the crash point "audit-append" stops a child after half a
 * record is on disk, and the child is killed there) leaves a torn last record: the next open cuts it off,
 * its sequence number is given again, and every record read back is whole. */
TEST(audit_torn_record_is_cut_off)
{
	struct dd_store s;
	char recs[1024], path[600];
	struct stat st_before, st_torn, st_after;
	int status;
	pid_t pid;

	CHECK_EQ_INT(open_store(&s, check_path("store5")), DD_OK);
	CHECK_EQ_INT(dd_store_log_append(&s, "SIM-1", "{\"n\":1}", NULL), DD_OK);
	CHECK_EQ_INT(dd_store_log_append(&s, "SIM-1", "{\"n\":2}", NULL), DD_OK);
	snprintf(path, sizeof(path), "%s/audit.log", check_path("store5"));
	CHECK(!stat(path, &st_before));
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		setenv("DARTDUP_CRASHPOINT", "audit-append", 1);
		dd_store_log_append(&s, "SIM-1", "{\"n\":3,\"pad\":\"a record long enough to tear\"}", NULL);
		_exit(0);
	}
	CHECK_EQ_INT(waitpid(pid, &status, WUNTRACED), pid);
	CHECK(WIFSTOPPED(status)); /* stopped at the crash point: half the record is written */
	CHECK(!stat(path, &st_torn));
	CHECK(st_torn.st_size > st_before.st_size);
	kill(pid, SIGKILL);
	CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
	dd_store_close(&s);

	CHECK_EQ_INT(open_store(&s, check_path("store5")), DD_OK);
	CHECK(!stat(path, &st_after));
	CHECK_EQ_U64((uint64_t)st_after.st_size, (uint64_t)st_before.st_size);
	CHECK_EQ_U64(s.log_next, 3);
	CHECK_EQ_INT(dd_store_log_append(&s, "SIM-1", "{\"n\":4}", NULL), DD_OK);
	all_records(&s, recs, sizeof(recs));
	CHECK_STR_CONTAINS(recs, "{\"seq\":1,\"board\":\"SIM-1\",\"n\":1,\"prev\":\"");
	CHECK_STR_CONTAINS(recs, "|{\"seq\":2,\"board\":\"SIM-1\",\"n\":2,\"prev\":\"");
	CHECK_STR_CONTAINS(recs, "|{\"seq\":3,\"board\":\"SIM-1\",\"n\":4,\"prev\":\"");
	CHECK(!strstr(recs, "\"n\":3")); /* the torn record is gone, whole records only */
	{
		struct dd_chain_result res;

		CHECK_EQ_INT(verify_store_log(&s, &res), DD_OK); /* the chain goes on over the cut */
		CHECK_EQ_U64(res.records, 3);
	}
	dd_store_close(&s);
}

int main(void)
{
	RUN(load_checks_offsets_and_installs);
	RUN(load_resumes_after_restart);
	RUN(partial_transfer_synced_as_it_grows);
	RUN(refused_packages_leave_the_image);
	RUN(load_sizes_bounded_by_the_store);
	RUN(load_begin_reclaims_an_abandoned_partial);
	RUN(load_hash_follows_the_data_and_a_resume);
	RUN(load_end_names_the_sha);
	RUN(load_end_verifies_in_pieces);
	RUN(load_end_takes_the_streamed_proof);
	RUN(tampered_load_refused_as_before);
	RUN(audit_log_bounded_by_space);
	RUN(audit_key_made_once);
	RUN(audit_torn_record_is_cut_off);
	return check_done();
}
