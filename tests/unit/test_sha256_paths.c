/* Every SHA-256 implementation this CPU runs agrees with the others (and with known answers) on
 * random inputs of many lengths, fed whole and in odd pieces.
 * `test_sha256_paths bench` prints MB/s per implementation instead (scripts/bench.d/pack.sh). */
#include "check.h"
#include "hash/sha256.h"

#include <stdlib.h>
#include <time.h>

static const char *names[8];
static size_t n_names;

static void digest_with(const char *impl, const uint8_t *buf, size_t len, size_t step, uint8_t out[32])
{
	struct dd_sha256 c;

	dd_sha256_force(impl);
	dd_sha256_init(&c);
	for (size_t off = 0; off < len; off += step)
		dd_sha256_update(&c, buf + off, off + step > len ? len - off : step);
	dd_sha256_final(&c, out);
}

TEST(portable_always_available)
{
	CHECK(n_names >= 1);
	CHECK(!strcmp(names[n_names - 1], "portable"));
	CHECK_EQ_INT(dd_sha256_force("no-such-impl"), -1);
	CHECK_EQ_INT(dd_sha256_force("portable"), 0);
	CHECK(!strcmp(dd_sha256_impl(), "portable"));
}

TEST(known_answer_every_path)
{
	/* SHA-256 of one million 'a' (FIPS 180-2 appendix B.3) */
	static const uint8_t want[32] = {
		0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92, 0x81, 0xa1, 0xc7, 0xe2, 0x84, 0xd7, 0x3e, 0x67,
		0xf1, 0x80, 0x9a, 0x48, 0xa4, 0x97, 0x20, 0x0e, 0x04, 0x6d, 0x39, 0xcc, 0xc7, 0x11, 0x2c, 0xd0,
	};
	size_t len = 1000000;
	uint8_t *buf = malloc(len), d[32];

	CHECK(buf);
	memset(buf, 'a', len);
	for (size_t i = 0; i < n_names; i++) {
		digest_with(names[i], buf, len, len, d);
		if (memcmp(d, want, 32)) {
			free(buf);
			CHECK_FAIL_("%s: wrong digest of a million 'a'", names[i]);
		}
	}
	free(buf);
}

TEST(paths_agree_on_random_inputs)
{
	size_t max = 70000;
	uint8_t *buf = malloc(max), ref[32], d[32];

	CHECK(buf);
	for (size_t len = 0, seed = 1; len < max; len = len < 300 ? len + 1 : len * 5 / 4 + 17, seed++) {
		check_fill_random(buf, len, seed);
		digest_with("portable", buf, len, len ? len : 1, ref);
		for (size_t i = 0; i < n_names; i++) {
			size_t steps[] = { len ? len : 1, 1, 63, 64, 65, 1000 };
			for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
				if (steps[s] == 1 && len > 2000)
					continue;
				digest_with(names[i], buf, len, steps[s], d);
				if (memcmp(d, ref, 32)) {
					free(buf);
					CHECK_FAIL_("%s disagrees with portable at length %zu, step %zu", names[i], len,
						    steps[s]);
				}
			}
		}
	}
	free(buf);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: per core, whatever the load */
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int bench(void)
{
	size_t len = 64u << 20;
	uint8_t *buf = malloc(len), d[32];

	if (!buf)
		return 1;
	check_fill_random(buf, len, 1);
	for (size_t i = 0; i < n_names; i++) {
		double t0, best = 1e9;
		for (int r = 0; r < 3; r++) {
			dd_sha256_force(names[i]);
			t0 = now();
			dd_sha256(buf, len, d);
			if (now() - t0 < best)
				best = now() - t0;
		}
		printf("%s %.0f\n", names[i], len / best / 1e6);
	}
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	n_names = dd_sha256_available(names, 8);
	if (argc > 1 && !strcmp(argv[1], "bench"))
		return bench();
	for (size_t i = 0; i < n_names; i++)
		printf("# sha256 implementation: %s\n", names[i]);
	RUN(portable_always_available);
	RUN(known_answer_every_path);
	RUN(paths_agree_on_random_inputs);
	return check_done();
}
