/* Minimal unit-test support: each TEST prints one TAP line, "ok - name" or "not ok - name: why".
 * A CHECK that fails ends the current test (not the program), so one broken case does not hide
 * the others. Usage:
 *
 *   TEST(roundtrip_empty) { CHECK(x == 0); CHECK_EQ_U64(a, b); }
 *   int main(void) { RUN(roundtrip_empty); return check_done(); }
 */
#ifndef DARTDUP_TESTS_CHECK_H
#define DARTDUP_TESTS_CHECK_H

#include <inttypes.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* A failure message cut short is fine; the warning about it is noise in every test. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

struct check_state {
	jmp_buf jump;
	int failed_tests;
	int run_tests;
	char why[512];
};
extern struct check_state check_state;

#define TEST(name) static void name(void)

#define CHECK_FAIL_(...)                                                              \
	do {                                                                          \
		snprintf(check_state.why, sizeof(check_state.why), __VA_ARGS__);      \
		longjmp(check_state.jump, 1);                                         \
	} while (0)

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond))                                                          \
			CHECK_FAIL_("%s:%d: CHECK(%s)", __FILE__, __LINE__, #cond);   \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                            \
	do {                                                                          \
		long long a_ = (long long)(a), b_ = (long long)(b);                   \
		if (a_ != b_)                                                         \
			CHECK_FAIL_("%s:%d: %s == %lld, expected %s == %lld", __FILE__, \
				    __LINE__, #a, a_, #b, b_);                        \
	} while (0)

#define CHECK_EQ_U64(a, b)                                                            \
	do {                                                                          \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                      \
		if (a_ != b_)                                                         \
			CHECK_FAIL_("%s:%d: %s == %" PRIu64 ", expected %" PRIu64,     \
				    __FILE__, __LINE__, #a, a_, b_);                  \
	} while (0)

#define CHECK_STR_CONTAINS(hay, needle)                                               \
	do {                                                                          \
		const char *h_ = (hay), *n_ = (needle);                               \
		if (!h_ || !strstr(h_, n_))                                           \
			CHECK_FAIL_("%s:%d: \"%s\" does not contain \"%s\"", __FILE__,  \
				    __LINE__, h_ ? h_ : "(null)", n_);                \
	} while (0)

#define CHECK_MEM_EQ(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

#define RUN(name)                                                                     \
	do {                                                                          \
		check_state.run_tests++;                                              \
		if (setjmp(check_state.jump) == 0) {                                  \
			name();                                                       \
			printf("ok - %s\n", #name);                                   \
		} else {                                                              \
			check_state.failed_tests++;                                   \
			printf("not ok - %s: %s\n", #name, check_state.why);          \
		}                                                                     \
		fflush(stdout);                                                       \
	} while (0)

static inline int check_done(void)
{
	return check_state.failed_tests ? 1 : 0;
}

/* Temporary files and directories for tests: removed by check_cleanup() / at exit. */
const char *check_tmpdir(void);
/* A path under check_tmpdir() for name. Each name keeps its own buffer for the whole run (up to
 * CHECK_PATHS names, more abort), so a path held in a variable stays right however many others follow. */
#define CHECK_PATHS 128
char *check_path(const char *name);
/* Fill buf with deterministic pseudo-random bytes from seed. */
void check_fill_random(void *buf, size_t len, uint64_t seed);
/* Write len bytes to path; returns 0 or -1. */
int check_write_file(const char *path, const void *buf, size_t len);
/* Write len random bytes from seed (check_fill_random) to path: an image, or the old content of a
 * reused stick (never zeros). *data, when data is not NULL, gets them (malloc'd, the caller frees).
 * Returns 0 or -1. */
int check_random_file(const char *path, size_t len, uint64_t seed, uint8_t **data);
/* Read a whole file into a malloc'd buffer; *len gets its size. NULL on error. */
void *check_read_file(const char *path, size_t *len);

/* Both files read, and their bytes equal. */
bool check_same_files(const char *a, const char *b);

/* Runs fn(arg, msg) in a child process and measures how much its peak resident memory grew while fn
 * ran (VmHWM after, over VmRSS before, with the peak reset first through /proc/self/clear_refs), in
 * KiB. fn's return value lands in *rc and the message it leaves in msg (CHECK_RSS_MSG bytes) in msg.
 * Returns -1 when it could not be measured. Under AddressSanitizer
 * (CHECK_ASAN) the numbers include shadow memory and quarantine: callers skip their bound there. */
#define CHECK_RSS_MSG 512
long check_peak_rss_kib(int (*fn)(void *arg, char *msg), void *arg, int *rc, char *msg);
#if defined(__SANITIZE_ADDRESS__)
#define CHECK_ASAN 1
#else
#define CHECK_ASAN 0
#endif

#endif
