/* SHA-256: known answers and streaming in odd pieces agreeing with one-shot hashing. */
#include "check.h"
#include "hash/sha256.h"
#include "util/json.h"

#include <stdlib.h>

static void hex_of(const void *data, size_t len, char out[65])
{
	uint8_t d[32];

	dd_sha256(data, len, d);
	dd_hex(out, d, 32);
}

TEST(known_answers)
{
	char h[65];

	hex_of("", 0, h);
	CHECK(!strcmp(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	hex_of("abc", 3, h);
	CHECK(!strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, h);
	CHECK(!strcmp(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
}

TEST(streaming_matches_one_shot)
{
	size_t len = 100003;
	uint8_t *buf = malloc(len), a[32], b[32];
	struct dd_sha256 c;

	CHECK(buf);
	check_fill_random(buf, len, 7);
	dd_sha256(buf, len, a);
	dd_sha256_init(&c);
	for (size_t off = 0, step = 1; off < len; off += step, step = step * 3 % 1021 + 1)
		dd_sha256_update(&c, buf + off, off + step > len ? len - off : step);
	dd_sha256_final(&c, b);
	free(buf);
	CHECK_MEM_EQ(a, b, 32);
}

int main(void)
{
	RUN(known_answers);
	RUN(streaming_matches_one_shot);
	return check_done();
}
