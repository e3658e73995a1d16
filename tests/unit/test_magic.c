/* The magic-byte detector (common/source/magic.c) and the stream helper (source_stream.c): what
 * claims a file, that common's raw backend refuses whatever is claimed (the firmware's guarantee),
 * and that a decoded stream gives the same manifest as the raw image. */
#include "check.h"
#include "source/magic.h"
#include "source/source.h"
#include "source/source_backends.h"

#include <stdio.h>
#include <stdlib.h>


static const char *name_of(const uint8_t *head, size_t n)
{
	const struct dd_magic *m = dd_magic_detect(head, n);

	return m ? m->name : "raw";
}

/* Every entry claims a file that holds its bytes at its offset, and nothing shorter. */
TEST(every_entry_claims_its_own_bytes)
{
	size_t count;
	const struct dd_magic *t = dd_magic_table(&count);

	CHECK(count >= 15);
	for (size_t i = 0; i < count; i++) {
		uint8_t head[DD_MAGIC_HEAD] = { 0 };
		const struct dd_magic *m;

		CHECK(t[i].offset + t[i].len <= DD_MAGIC_HEAD);
		memcpy(head + t[i].offset, t[i].bytes, t[i].len);
		m = dd_magic_detect(head, sizeof(head));
		CHECK(m != NULL);
		CHECK_STR_CONTAINS(m->name, t[i].name);
		CHECK(dd_magic_detect(head, t[i].offset + t[i].len - 1) == NULL);
		CHECK(!dd_source_probe_raw(head, sizeof(head)));
	}
}

TEST(real_headers)
{
	static const struct { const char *want; size_t off, len; const char *bytes; } cases[] = {
		{ "xz", 0, 12, "\xfd" "7zXZ\0\0\4\xe6\xd6\xb4\x46" },
		{ "gzip", 0, 10, "\x1f\x8b\x08\0\0\0\0\0\0\3" },
		{ "bzip2", 0, 10, "BZh91AY&SY" },
		{ "lz4", 0, 7, "\x04\x22\x4d\x18\x64\x40\xa7" },
		{ "lz4", 0, 4, "\x02\x21\x4c\x18" },
		{ "zst", 0, 5, "\x28\xb5\x2f\xfd\x24" },
		{ "zip", 0, 6, "PK\3\4\x14\0" },
		{ "zip", 0, 4, "PK\5\6" },
		{ "tar", 257, 8, "ustar\00000" },
		{ "tar", 257, 8, "ustar  \0" },
		{ "7z", 0, 8, "7z\xbc\xaf\x27\x1c\0\4" },
		{ "rar", 0, 7, "Rar!\x1a\x07\x01" },
		{ "qcow", 0, 8, "QFI\xfb\0\0\0\3" },
		{ "vmdk", 0, 4, "KDMV" },
		{ "vhdx", 0, 8, "vhdxfile" },
		{ "vdi", 0x40, 4, "\x7f\x10\xda\xbe" },
		{ "dfi", 0, 12, "\x5d\x2a\x4d\x18\x10\0\0\0DFIH" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t head[DD_MAGIC_HEAD];

		memset(head, 0x5a, sizeof(head));
		memcpy(head + cases[i].off, cases[i].bytes, cases[i].len);
		if (strcmp(name_of(head, sizeof(head)), cases[i].want))
			CHECK_FAIL_("case %zu: %s, expected %s", i, name_of(head, sizeof(head)), cases[i].want);
	}
}

/* Every skippable frame magic (0x184D2A50..5F) is the dfi's: a damaged .dfi is never raw. */
TEST(every_skippable_frame_is_claimed)
{
	for (unsigned nib = 0; nib < 16; nib++) {
		uint8_t head[8] = { (uint8_t)(0x50 | nib), 0x2a, 0x4d, 0x18, 0, 0, 0, 0 };
		const struct dd_magic *m = dd_magic_detect(head, sizeof(head));

		CHECK(m && m->kind == DD_MAGIC_DFI);
	}
}

TEST(raw_images_are_not_claimed)
{
	uint8_t head[DD_MAGIC_HEAD] = { 0 };

	CHECK(dd_magic_detect(head, sizeof(head)) == NULL); /* all zeros */
	CHECK(dd_magic_detect(head, 0) == NULL);             /* empty */
	memcpy(head, "\xeb\x63\x90", 3);                     /* a GRUB MBR */
	head[510] = 0x55, head[511] = 0xaa;
	CHECK(dd_magic_detect(head, sizeof(head)) == NULL);
	CHECK(dd_source_probe_raw(head, sizeof(head)));
	memcpy(head, "\x1f\x8b\x07", 3);                     /* gzip's ID without its deflate method */
	CHECK(dd_magic_detect(head, sizeof(head)) == NULL);
	memcpy(head, "\x2a\x4d\x18\x50", 4);                 /* skippable magic, bytes in the wrong order */
	CHECK(dd_magic_detect(head, sizeof(head)) == NULL);
	memcpy(head + 256, "ustar", 5);                      /* ustar one byte early */
	CHECK(dd_magic_detect(head, sizeof(head)) == NULL);
}

/* Common alone (the firmware) refuses what only the PC decodes, naming the file and what it is. */
TEST(common_refuses_compressed_and_damaged)
{
	static const struct { const char *file, *bytes, *msg; size_t len; } cases[] = {
		{ "a.img", "\xfd" "7zXZ\0", "a.img: an xz stream: only dartdup on the PC decodes it", 6 },
		{ "b.img", "PK\3\4", "b.img: a zip archive: only dartdup on the PC decodes it", 4 },
		{ "c.img", "7z\xbc\xaf\x27\x1c", "c.img: a 7z archive, not a disk image", 6 },
		{ "d.img", "\x5d\x2a\x4d\x18\x10\0\0\0XXXX", "d.img: starts like a .dfi package but is not a valid one",
		  12 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t data[8192];
		struct dd_source *src = (void *)1;
		struct dd_err err = { 0 };

		check_fill_random(data, sizeof(data), i);
		memcpy(data, cases[i].bytes, cases[i].len);
		CHECK(check_write_file(check_path(cases[i].file), data, sizeof(data)) == 0);
		CHECK_EQ_INT(dd_source_open(check_path(cases[i].file), NULL, &src, &err), DD_EINPUT);
		CHECK(src == NULL);
		CHECK_STR_CONTAINS(err.msg, cases[i].msg);
	}
}

/* A test stream: hands out data in odd-sized pieces, optionally failing after fail_at bytes. */
struct piece_stream {
	const uint8_t *data;
	size_t len, pos, fail_at;
};

static int piece_read(struct dd_stream *s, uint8_t *buf, size_t len, size_t *got, struct dd_err *err)
{
	struct piece_stream *p = s->priv;
	size_t n = p->len - p->pos;

	if (p->fail_at && p->pos >= p->fail_at)
		return dd_fail(err, DD_EINPUT, "test.xz: truncated");
	if (n > 7777)
		n = 7777;
	if (n > len)
		n = len;
	memcpy(buf, p->data + p->pos, n);
	p->pos += n;
	*got = n;
	return DD_OK;
}

static int open_pieces(const uint8_t *data, size_t len, size_t fail_at, struct dd_source **src, struct dd_err *err)
{
	struct piece_stream p = { .data = data, .len = len, .fail_at = fail_at };
	struct dd_stream s = { .read = piece_read, .priv = &p };
	struct dd_source_opts so = { .block_size = 65536 };

	return dd_source_open_stream("test.xz", &so, "xz", &s, src, err);
}

/* The stream's source equals the raw image's: size, hashes, zero map, image id, block contents. */
TEST(stream_source_equals_raw)
{
	size_t len = 5 * 65536 + 1234;
	uint8_t *data = malloc(len), *buf = malloc(65536);
	struct dd_source_opts so = { .block_size = 65536 };
	struct dd_source *s = NULL, *r = NULL;
	struct dd_err err = { 0 };

	CHECK(data && buf);
	check_fill_random(data, len, 42);
	memset(data + 2 * 65536, 0, 65536); /* a zero block: a hole in the decoded copy */
	CHECK(check_write_file(check_path("raw.img"), data, len) == 0);
	CHECK_EQ_INT(open_pieces(data, len, 0, &s, &err), DD_OK);
	CHECK_EQ_INT(dd_source_open(check_path("raw.img"), &so, &r, &err), DD_OK);
	CHECK(!strcmp(s->info.format, "xz") && !strcmp(r->info.format, "raw"));
	CHECK_EQ_U64(s->info.image_size, len);
	CHECK_EQ_U64(s->info.block_count, 6);
	CHECK_MEM_EQ(s->info.image_id, r->info.image_id, DD_SHA256_LEN);
	CHECK(dd_block_is_zero(&s->info, 2) && !dd_block_is_zero(&s->info, 1));
	for (uint64_t i = 0; i < s->info.block_count; i++) {
		CHECK_EQ_INT(dd_source_read_block(s, i, buf, &err), DD_OK);
		CHECK_MEM_EQ(buf, data + i * 65536, dd_block_len(&s->info, i));
	}
	dd_source_close(s);
	dd_source_close(r);
	free(data);
	free(buf);
}

TEST(stream_errors_leave_no_source)
{
	size_t len = 3 * 65536;
	uint8_t *data = calloc(1, len);
	struct dd_source *s = (void *)1;
	struct dd_err err = { 0 };

	CHECK(data);
	check_fill_random(data, len, 7);
	CHECK_EQ_INT(open_pieces(data, len, 100000, &s, &err), DD_EINPUT);
	CHECK(s == NULL);
	CHECK_STR_CONTAINS(err.msg, "test.xz: truncated");
	CHECK_EQ_INT(open_pieces(data, 0, 0, &s, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "test.xz: the xz stream holds an empty image");
	memset(data, 0, 512);
	memcpy(data + 257, "ustar", 5); /* a .tar.xz */
	CHECK_EQ_INT(open_pieces(data, len, 0, &s, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "test.xz: the xz stream holds a tar archive");
	free(data);
}

TEST(stream_refuses_keys)
{
	const char *keys[] = { "depot.pub" };
	uint8_t data[100] = { 1 };
	struct piece_stream p = { .data = data, .len = sizeof(data) };
	struct dd_stream s = { .read = piece_read, .priv = &p };
	struct dd_source_opts so = { .pubkeys = keys, .n_pubkeys = 1 };
	struct dd_source *src;
	struct dd_err err = { 0 };

	CHECK_EQ_INT(dd_source_open_stream("test.xz", &so, "xz", &s, &src, &err), DD_EINPUT);
	CHECK_STR_CONTAINS(err.msg, "carries no signature");
	CHECK_EQ_U64(p.pos, 0); /* refused before decoding anything */
}

int main(void)
{
	RUN(every_entry_claims_its_own_bytes);
	RUN(real_headers);
	RUN(every_skippable_frame_is_claimed);
	RUN(raw_images_are_not_claimed);
	RUN(common_refuses_compressed_and_damaged);
	RUN(stream_source_equals_raw);
	RUN(stream_errors_leave_no_source);
	RUN(stream_refuses_keys);
	return check_done();
}
