/* Applying a stored firmware bundle (apply.h). */
#include "firmware/apply.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firmware/store.h"
#include "hash/sha256.h"
#include "link/proto.h"

#if defined(__aarch64__)
#define THIS_MACHINE EM_AARCH64
#define THIS_MACHINE_NAME "aarch64"
#elif defined(__x86_64__)
#define THIS_MACHINE EM_X86_64
#define THIS_MACHINE_NAME "x86-64"
#else
#error "dartdupd: add this machine's ELF e_machine to firmware/apply.c"
#endif

/* A 64-bit little-endian ELF executable (or PIE) for the machine this program was built for: a
 * bundle built for another board's CPU would never start, and the board would be left without
 * a working daemon. */
static int check_elf(const uint8_t *b, size_t len, const char *name, struct dd_err *err)
{
	Elf64_Ehdr h;

	if (len < sizeof(h) || memcmp(b, ELFMAG, SELFMAG))
		return dd_fail(err, DD_EINPUT, "\"%s\": the payload is not an ELF executable", name);
	memcpy(&h, b, sizeof(h));
	if (h.e_ident[EI_CLASS] != ELFCLASS64 || h.e_ident[EI_DATA] != ELFDATA2LSB ||
	    (h.e_type != ET_EXEC && h.e_type != ET_DYN) || h.e_machine != THIS_MACHINE)
		return dd_fail(err, DD_EINPUT, "\"%s\": the payload is not a 64-bit executable for %s (e_machine %u)",
			       name, THIS_MACHINE_NAME, h.e_machine);
	return DD_OK;
}

/* Decode every block into fd, checking each block's hash again (the file could have changed since it
 * was verified) and the ELF header in the first block. */
static int write_payload(struct dd_source *src, int fd, const char *out, struct dd_err *err)
{
	const struct dd_image_info *in = &src->info;
	uint8_t *buf = malloc(in->block_size), h[DD_SHA256_LEN];
	int rc = DD_OK;

	if (!buf)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	for (uint64_t i = 0; i < in->block_count && !rc; i++) {
		uint32_t len = dd_block_len(in, i);

		if ((rc = dd_source_read_block(src, i, buf, err)))
			break;
		dd_sha256(buf, len, h);
		if (memcmp(h, in->block_hash[i], DD_SHA256_LEN))
			rc = dd_fail(err, DD_EINPUT, "\"%s\": block %" PRIu64 " does not match its hash", in->name, i);
		else if (i == 0)
			rc = check_elf(buf, len, in->name, err);
		if (!rc && pwrite(fd, buf, len, (off_t)(i * in->block_size)) != (ssize_t)len)
			rc = dd_fail_errno(err, DD_EIO, errno, "%s: write", out);
	}
	if (!rc && !in->block_count)
		rc = check_elf(buf, 0, in->name, err);
	if (!rc && fsync(fd))
		rc = dd_fail_errno(err, DD_EIO, errno, "%s: fsync", out);
	free(buf);
	return rc;
}

/* EXE.prev = the program now in place (a hard link: EXE itself never goes missing), then EXE.new
 * over EXE. */
static int swap_in(const char *exe, const char *tmp, struct dd_err *err)
{
	char prev[1100], prev_tmp[1100], dir[1024], *slash;

	snprintf(prev, sizeof(prev), "%s.prev", exe);
	snprintf(prev_tmp, sizeof(prev_tmp), "%s.prev.new", exe);
	unlink(prev_tmp);
	if (link(exe, prev_tmp) || rename(prev_tmp, prev))
		return dd_fail_errno(err, DD_EIO, errno, "%s: keeping the current program", prev);
	if (rename(tmp, exe))
		return dd_fail_errno(err, DD_EIO, errno, "%s: rename to %s", tmp, exe);
	snprintf(dir, sizeof(dir), "%s", exe);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	return dd_store_fsync_dir(slash ? (dir[0] ? dir : "/") : ".", err);
}

/* The bundle leaves firmware.dfi either way: applied or refused (with the reason kept in the log). */
static void retire_bundle(const char *store_dir, const char *bundle, const char *as)
{
	char dst[1100];
	struct dd_err e;

	snprintf(dst, sizeof(dst), "%s/%s", store_dir, as);
	if (rename(bundle, dst) == 0)
		dd_store_fsync_dir(store_dir, &e);
}

static int install(struct dd_source *src, const char *exe, struct dd_err *err)
{
	char tmp[1100];
	int fd, rc;

	snprintf(tmp, sizeof(tmp), "%s.new", exe);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (fd < 0)
		return dd_fail_errno(err, DD_EIO, errno, "%s", tmp);
	rc = write_payload(src, fd, tmp, err);
	if (close(fd) && !rc)
		rc = dd_fail_errno(err, DD_EIO, errno, "%s: close", tmp);
	if (!rc)
		rc = swap_in(exe, tmp, err);
	if (rc)
		unlink(tmp);
	return rc;
}

/* The trial marker: written when a program is swapped in, removed by that program once it serves
 * (dd_firmware_confirm). Still there at the next apply: the new program never served. */
static void trial_path(const char *store_dir, char *out, size_t len)
{
	snprintf(out, len, "%s/firmware.trial", store_dir);
}

static int mark_trial(const char *store_dir, const char *name, struct dd_err *err)
{
	char path[1100];
	FILE *f;

	trial_path(store_dir, path, sizeof(path));
	f = fopen(path, "we");
	if (!f)
		return dd_fail_errno(err, DD_EIO, errno, "%s", path);
	fprintf(f, "%s\n", name);
	if (fflush(f) || fsync(fileno(f))) {
		fclose(f);
		return dd_fail_errno(err, DD_EIO, errno, "%s", path);
	}
	fclose(f);
	return dd_store_fsync_dir(store_dir, err);
}

void dd_firmware_confirm(const char *store_dir)
{
	char path[1100];
	struct dd_err e;

	trial_path(store_dir, path, sizeof(path));
	if (unlink(path) == 0)
		dd_store_fsync_dir(store_dir, &e);
}

/* The program swapped in last time never served: put EXE.prev back. */
static int roll_back(const char *store_dir, const char *exe, char *rolled, size_t rolled_len,
		     struct dd_err *err)
{
	char path[1100], prev[1100], name[160] = "";
	FILE *f;
	int rc;

	trial_path(store_dir, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return DD_OK;
	if (fgets(name, sizeof(name), f))
		name[strcspn(name, "\n")] = '\0';
	fclose(f);
	snprintf(prev, sizeof(prev), "%s.prev", exe);
	if (rename(prev, exe))
		return dd_fail_errno(err, DD_EIO, errno, "%s: rolling back to it", prev);
	snprintf(rolled, rolled_len, "%s", name[0] ? name : "(unnamed)");
	unlink(path);
	rc = dd_store_fsync_dir(store_dir, err);
	return rc;
}

int dd_firmware_apply(const char *store_dir, const char *const *pubkeys, size_t n_pubkeys,
		      const char *board_type, const char *exe, char *applied, size_t applied_len,
		      char *rolled_back, size_t rolled_len, struct dd_err *err)
{
	struct dd_source *src = NULL;
	char bundle[1100];
	int rc;

	applied[0] = rolled_back[0] = '\0';
	if ((rc = roll_back(store_dir, exe, rolled_back, rolled_len, err)))
		return rc;
	snprintf(bundle, sizeof(bundle), "%s/firmware.dfi", store_dir);
	if (access(bundle, F_OK))
		return DD_OK;
	rc = dd_store_verify_package(bundle, pubkeys, n_pubkeys, &src, err);
	if (!rc)
		rc = dd_store_check_kind(board_type, DD_KIND_FIRMWARE, src->info.name, err);
	if (!rc)
		rc = install(src, exe, err);
	if (!rc) {
		snprintf(applied, applied_len, "%s", src->info.name);
		if (mark_trial(store_dir, src->info.name, err))
			fprintf(stderr, "dartdupd: %s (no roll-back if the new program fails)\n", err->msg);
	}
	if (src)
		dd_source_close(src);
	if (rc == DD_EINPUT || rc == DD_ECHECK)
		retire_bundle(store_dir, bundle, "firmware.refused.dfi");
	else if (!rc)
		retire_bundle(store_dir, bundle, "firmware.applied.dfi");
	return rc;
}
