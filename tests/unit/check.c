/* Support code shared by the unit tests (see check.h). */
#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct check_state check_state;

static char tmpdir[256];

static void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char sub[512];

	if (!d) {
		unlink(path);
		return;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		remove_tree(sub);
	}
	closedir(d);
	rmdir(path);
}

static void cleanup_tmpdir(void)
{
	if (tmpdir[0] && !getenv("CHECK_KEEP_TMP"))
		remove_tree(tmpdir);
}

const char *check_tmpdir(void)
{
	if (!tmpdir[0]) {
		const char *base = getenv("TMPDIR");
		snprintf(tmpdir, sizeof(tmpdir), "%s/dartdup-test-XXXXXX", base ? base : "/tmp");
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			exit(2);
		}
		atexit(cleanup_tmpdir);
	}
	return tmpdir;
}

char *check_path(const char *name)
{
	static char paths[CHECK_PATHS][512];
	char want[512];

	snprintf(want, sizeof(want), "%s/%s", check_tmpdir(), name);
	for (size_t i = 0; i < CHECK_PATHS; i++) {
		if (!paths[i][0])
			memcpy(paths[i], want, sizeof(want));
		if (!strcmp(paths[i], want))
			return paths[i];
	}
	fprintf(stderr, "check_path: more than %d names\n", CHECK_PATHS);
	abort();
}

void check_fill_random(void *buf, size_t len, uint64_t seed)
{
	uint8_t *p = buf;
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;

	for (size_t i = 0; i < len; i++) {
		/* xorshift64*: fast, deterministic, good enough to defeat compression */
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		p[i] = (uint8_t)((x * 0x2545F4914F6CDD1Dull) >> 56);
	}
}

int check_write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	const uint8_t *p = buf;

	if (fd < 0)
		return -1;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return close(fd);
}

int check_random_file(const char *path, size_t len, uint64_t seed, uint8_t **data)
{
	uint8_t *buf = malloc(len ? len : 1);
	int rc;

	if (!buf)
		return -1;
	check_fill_random(buf, len, seed);
	rc = check_write_file(path, buf, len);
	if (data && !rc)
		*data = buf;
	else
		free(buf);
	return rc ? -1 : 0;
}

void *check_read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	uint8_t *buf;
	size_t got = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (buf && got != (size_t)st.st_size) {
		free(buf);
		return NULL;
	}
	*len = got;
	return buf;
}

bool check_same_files(const char *a, const char *b)
{
	size_t la = 0, lb = 0;
	uint8_t *pa = check_read_file(a, &la), *pb = check_read_file(b, &lb);
	bool same = pa && pb && la == lb && !memcmp(pa, pb, la);

	free(pa);
	free(pb);
	return same;
}

/* A field of /proc/self/status in KiB ("VmRSS:", "VmHWM:"); -1 when missing. */
static long status_kib(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field))) {
			v = strtol(line + strlen(field), NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

long check_peak_rss_kib(int (*fn)(void *arg, char *msg), void *arg, int *rc, char *msg)
{
	struct { long rc, kib; char msg[CHECK_RSS_MSG]; } out = { -1, -1, "" };
	int pfd[2], status;
	pid_t pid;

	fflush(stdout);
	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		int fd = open("/proc/self/clear_refs", O_WRONLY);
		long base;

		if (fd < 0 || write(fd, "5", 1) != 1)
			_exit(3);
		close(fd);
		base = status_kib("VmRSS:");
		out.rc = fn(arg, out.msg);
		out.kib = status_kib("VmHWM:") - base;
		if (write(pfd[1], &out, sizeof(out)) != sizeof(out))
			_exit(4);
		_exit(0);
	}
	close(pfd[1]);
	if (read(pfd[0], &out, sizeof(out)) != sizeof(out))
		out.kib = -1;
	close(pfd[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	*rc = (int)out.rc;
	out.msg[CHECK_RSS_MSG - 1] = '\0';
	memcpy(msg, out.msg, CHECK_RSS_MSG);
	return out.kib;
}
