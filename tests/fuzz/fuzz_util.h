/* Helpers shared by the fuzz targets (tests/fuzz/fuzz_*.c, built by mk/fuzz.mk with clang and
 * -fsanitize=fuzzer,address,undefined). Parsers that open a path get the input through a memfd,
 * named by its /proc/self/fd path: no temporary file, nothing left behind on a crash. */
#ifndef DARTDUP_FUZZ_UTIL_H
#define DARTDUP_FUZZ_UTIL_H

#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* A memfd holding the n bytes of data, optionally preceded by `lead` zero bytes (so seeds can leave
 * out an area the parser never reads, like the 32 KiB system area of an ISO). Aborts on failure:
 * a harness that cannot set up its input must not report "no crash". */
static inline int fuzz_memfd(const char *name, size_t lead, const uint8_t *data, size_t n, char path[64])
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, (off_t)lead) ||
	    (n && pwrite(fd, data, n, (off_t)lead) != (ssize_t)n)) {
		perror("fuzz: memfd");
		abort();
	}
	snprintf(path, 64, "/proc/self/fd/%d", fd);
	return fd;
}

/* The fuzz key's public half (keys/fuzz.pub, made by tests/fuzz/make-seeds) beside the running target's
 * bin/ folder, so a target finds it wherever the build is: its path into path, or "" and -1 when it is
 * not there. */
static inline int fuzz_key_path(char *path, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	path[0] = '\0';
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	snprintf(path, size, "%s/../keys/fuzz.pub", dirname(exe));
	if (access(path, R_OK)) {
		path[0] = '\0';
		return -1;
	}
	return 0;
}

/* Fail loudly: the sanitizers only see crashes, a broken invariant must become one. */
#define FUZZ_ASSERT(cond)                                                                      \
	do {                                                                                   \
		if (!(cond)) {                                                                 \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                               \
		}                                                                              \
	} while (0)

#endif
