/* dartdup build --format winre|wds (deploy.h). */
#include "host/iso/deploy.h"
#include "host/iso/iso.h"
#include "host/iso/ntfs.h"
#include "host/iso/wim.h"
#include "safety/door.h"
#include "util/json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The ids Microsoft's Windows RE scripts give the tools partition ("Capture and apply Windows, system,
 * and recovery partitions"): hidden from Explorer and kept by Windows. */
#define WINRE_GPT_TYPE "de94bba4-06d1-4d40-a16a-bfd50179d6ac"
#define WINRE_GPT_ATTRS "0x8000000000000001"
#define WINRE_MBR_TYPE "27"
#define WINRE_LABEL "Windows RE tools"

struct deploy_ctx {
	struct dd_deploy *d;
	const struct iso_image *img;
	struct dd_build_report *rep;
	char wim_hex[2 * DD_SHA256_LEN + 1], iso_hex[2 * DD_SHA256_LEN + 1];
	char name[64];             /* the ISO's volume id, made safe for a cmd line */
	char desc[128];            /* the WIM's image name and version, same */
};

static uint64_t round_mib(uint64_t v)
{
	return (v + MIB_BYTES - 1) / MIB_BYTES * MIB_BYTES;
}

uint64_t dd_winre_size(uint64_t iso_size)
{
	/* at least the ISO (DaRT: "at least as large as the ISO"), with room for NTFS's own files */
	uint64_t need = round_mib(iso_size + iso_size / 10 + 16 * MIB_BYTES);

	return need > DD_WINRE_DEFAULT_SIZE ? need : DD_WINRE_DEFAULT_SIZE;
}

/* Text from the ISO goes into batch files and diskpart scripts: letters, digits and a few marks only,
 * so no name can add a command (& | < > ^ % " and the rest become '_'). */
static void cmd_safe(char *out, size_t len, const char *in, const char *fallback)
{
	size_t n = 0;

	for (; *in && n + 1 < len; in++) {
		char c = *in;
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  strchr(" ._-()+,", c);

		out[n++] = ok ? c : '_';
	}
	while (n && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	if (!n)
		snprintf(out, len, "%s", fallback);
}

/* The folder: an existing one (never /dev or under it), or a new one in an existing folder. Anything
 * else named (the ISO, a device node, a file) is judged by the door first, so it is refused for what it
 * is; a regular file is "not a folder". */
static int judge_dir(const struct dd_deploy *d, struct dd_err *err)
{
	static const char *const fmt[] = { [DD_BUILD_WDS] = "wds", [DD_BUILD_WINRE] = "winre",
					    [DD_BUILD_RELEASE] = "release" };
	char real[4096];
	struct stat st;
	bool exists;
	int rc;

	if (!stat(d->dir, &st) && S_ISDIR(st.st_mode)) {
		if ((rc = dd_door_resolve(d->dir, real, sizeof(real), &exists, err)))
			return rc;
		if (dd_door_under_dev(real))
			return dd_fail(err, DD_ESAFETY, "%s: refused: under /dev: a device is never an output", d->dir);
		return DD_OK;
	}
	if ((rc = dd_door_judge_output(d->dir, d->inputs, d->n_inputs, err)))
		return rc;
	if (!lstat(d->dir, &st))
		return dd_fail(err, DD_EUSAGE, "%s: not a folder (--format %s writes a folder of files)", d->dir,
			       fmt[d->format]);
	return DD_OK;
}

/* Every name a build writes in the folder, by format (the stick's by cmd_build, RELEASE.txt by
 * release.c): all judged before the first is opened, so a link to a device among them refuses the
 * whole build and nothing is written. */
#define IN_WINRE (1u << DD_BUILD_WINRE)
#define IN_WDS (1u << DD_BUILD_WDS)
#define IN_RELEASE (1u << DD_BUILD_RELEASE)
static const struct {
	const char *name;
	unsigned formats;
} outputs[] = {
	{ "winre.wim", IN_WINRE | IN_RELEASE },	       { "winre-partition.img", IN_WINRE | IN_RELEASE },
	{ "diskpart-mbr.txt", IN_WINRE | IN_RELEASE }, { "diskpart-gpt.txt", IN_WINRE | IN_RELEASE },
	{ "setup-winre.cmd", IN_WINRE | IN_RELEASE },  { "boot.wim", IN_WDS | IN_RELEASE },
	{ "boot.wim.sha256", IN_WDS | IN_RELEASE },    { "wds-add-image.cmd", IN_WDS | IN_RELEASE },
	{ "stick.dfi", IN_RELEASE },		       { "stick.dfi.raw.tmp", IN_RELEASE },
	{ "README.txt", IN_WINRE | IN_WDS | IN_RELEASE }, { "RELEASE.txt", IN_WINRE | IN_WDS | IN_RELEASE },
};

static int judge_names(const struct dd_deploy *d, struct dd_err *err)
{
	char path[4096];
	int rc;

	for (size_t i = 0; i < sizeof(outputs) / sizeof(outputs[0]); i++) {
		if (!(outputs[i].formats & (1u << d->format)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", d->dir, outputs[i].name);
		if ((rc = dd_door_judge_output(path, d->inputs, d->n_inputs, err)))
			return rc;
	}
	return DD_OK;
}

static int make_dir(const struct dd_deploy *d, bool *made, struct dd_err *err)
{
	struct stat st;

	*made = false;
	if (!stat(d->dir, &st) && S_ISDIR(st.st_mode))
		return DD_OK;
	if (mkdir(d->dir, 0755))
		return dd_fail_errno(err, DD_EINPUT, errno, "%s", d->dir);
	*made = true;
	return DD_OK;
}

/* Open DIR/name for writing through the door and remember it (removed again if the build fails). */
static int open_out(struct deploy_ctx *c, const char *name, int *fd, struct dd_err *err)
{
	char path[4096];
	int rc;

	if (c->d->n_files >= DD_DEPLOY_MAX_FILES)
		return dd_fail(err, DD_EINTERNAL, "too many outputs");
	snprintf(path, sizeof(path), "%s/%s", c->d->dir, name);
	rc = dd_door_open_output(path, c->d->inputs, c->d->n_inputs, O_RDWR, DD_DOOR_TRUNC, 0644, fd, err);
	if (!rc)
		c->d->files[c->d->n_files++] = name;
	return rc;
}

/* A text file for Windows: CRLF line ends (cmd.exe misreads labels and diskpart nothing, but Notepad
 * on older Windows shows LF-only text as one line). */
static int write_text(struct deploy_ctx *c, const char *name, const char *text, struct dd_err *err)
{
	FILE *f;
	int fd, rc;

	if ((rc = open_out(c, name, &fd, err)))
		return rc;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return dd_fail_errno(err, DD_EIO, errno, "%s/%s", c->d->dir, name);
	}
	for (; *text; text++) {
		if (*text == '\n')
			fputc('\r', f);
		fputc(*text, f);
	}
	if (fclose(f))
		return dd_fail_errno(err, DD_EIO, errno, "%s/%s", c->d->dir, name);
	return DD_OK;
}

/* printf into a new string (the caller frees); NULL when out of memory */
static char *textf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *textf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

static int write_textf_done(struct deploy_ctx *c, const char *name, char *text, struct dd_err *err)
{
	int rc;

	if (!text)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	rc = write_text(c, name, text, err);
	free(text);
	return rc;
}

/* sources/boot.wim to DIR/name, hashed on the way. */
static int write_wim(struct deploy_ctx *c, const char *name, struct dd_err *err)
{
	const struct iso_node *wim = iso_lookup(c->img->root, "sources/boot.wim");
	int fd, rc;

	if (c->d->format == DD_BUILD_WDS)
		c->rep->image_size = wim->size; /* else the partition's size */
	if ((rc = open_out(c, name, &fd, err)))
		return rc;
	rc = dd_build_sha256(c->img, wim, fd, c->rep->out_sha256, err);
	if (close(fd) && !rc)
		rc = dd_fail_errno(err, DD_EIO, errno, "%s/%s", c->d->dir, name);
	dd_hex(c->wim_hex, c->rep->out_sha256, DD_SHA256_LEN);
	return rc;
}

static int write_partition(struct deploy_ctx *c, struct dd_err *err)
{
	struct ntfs_winre w = { .size = c->rep->image_size, .mtime = c->rep->created, .label = WINRE_LABEL };
	char wim[4096], part[4096];
	int rc;

	snprintf(wim, sizeof(wim), "%s/winre.wim", c->d->dir);
	snprintf(part, sizeof(part), "%s/winre-partition.img", c->d->dir);
	if ((rc = open_out(c, "winre-partition.img", &w.fd, err)))
		return rc;
	w.image = part;
	w.wim = wim;
	/* the ISO's own date; the serial from its hash (after the 8 bytes the FAT volumes use) */
	if (w.mtime <= 0)
		w.mtime = 1;
	memcpy(w.serial, c->rep->iso_sha256 + 8, sizeof(w.serial));
	if (ftruncate(w.fd, (off_t)w.size))
		rc = dd_fail_errno(err, DD_EIO, errno, "%s", part);
	else
		rc = ntfs_make_winre(&w, err);
	if (close(w.fd) && !rc)
		rc = dd_fail_errno(err, DD_EIO, errno, "%s", part);
	return rc;
}

static int write_diskpart(struct deploy_ctx *c, bool gpt, struct dd_err *err)
{
	unsigned long long mb = c->rep->image_size / MIB_BYTES;

	return write_textf_done(c, gpt ? "diskpart-gpt.txt" : "diskpart-mbr.txt", textf(
		"rem dartdup: the Windows RE tools partition for DaRT \"%s\" (%s disk), %llu MB\n"
		"rem Run in Windows PE or Windows: diskpart /s %s\n"
		"rem Disk 0 must have %llu MB unallocated (shrink the Windows partition first); edit \"select disk\"\n"
		"rem if Windows is on another disk. Then fill R: with setup-winre.cmd, or write winre-partition.img\n"
		"rem onto the new partition.\n"
		"select disk 0\n"
		"create partition primary size=%llu\n"
		"format quick fs=ntfs label=\"" WINRE_LABEL "\"\n"
		"assign letter=\"R\"\n"
		"%s"
		"list volume\n"
		"exit\n",
		c->name, gpt ? "GPT" : "MBR", mb, gpt ? "diskpart-gpt.txt" : "diskpart-mbr.txt", mb, mb,
		gpt ? "set id=\"" WINRE_GPT_TYPE "\"\ngpt attributes=" WINRE_GPT_ATTRS "\n" : "set id=" WINRE_MBR_TYPE "\n"),
		err);
}

static int write_setup(struct deploy_ctx *c, struct dd_err *err)
{
	return write_textf_done(c, "setup-winre.cmd", textf(
		"@echo off\n"
		"rem dartdup: make DaRT \"%s\" the Windows RE of the Windows image on W:\n"
		"rem (DaRT: \"How to Deploy the DaRT Recovery Image as Part of a Recovery Partition\").\n"
		"rem R: is the Windows RE tools partition (diskpart-gpt.txt or diskpart-mbr.txt), W: the Windows\n"
		"rem partition; edit the letters if yours differ. winre.wim SHA-256: %s\n"
		"md R:\\Recovery\\WindowsRE 2>nul\n"
		"copy /b /y \"%%~dp0winre.wim\" R:\\Recovery\\WindowsRE\\winre.wim || exit /b 1\n"
		"W:\\Windows\\System32\\reagentc /setreimage /path R:\\Recovery\\WindowsRE /target W:\\Windows || exit /b 1\n"
		"rem the check: \"Windows RE location\" must name the partition and \\Recovery\\WindowsRE\n"
		"W:\\Windows\\System32\\reagentc /info /target W:\\Windows\n",
		c->name, c->wim_hex), err);
}

static int write_wds_cmd(struct deploy_ctx *c, struct dd_err *err)
{
	const char *arch = c->rep->arch;

	return write_textf_done(c, "wds-add-image.cmd", textf(
		"@echo off\n"
		"rem dartdup: add DaRT \"%s\" to Windows Deployment Services as a boot image\n"
		"rem (DaRT: \"How to Deploy the DaRT Recovery Image as a Remote Partition\"). Run on the WDS server,\n"
		"rem elevated. boot.wim SHA-256: %s; architecture %s (from the WIM's XML)\n"
		"wdsutil /Verbose /Progress /Add-Image /ImageFile:\"%%~dp0boot.wim\" /ImageType:Boot /Name:\"%s\" "
		"/Description:\"%s\" /Filename:\"dart-%.8s.wim\" || exit /b 1\n"
		"rem the check: WDS lists the image for its architecture\n"
		"wdsutil /Get-Image /Image:\"%s\" /ImageType:Boot /Architecture:%s /Filename:\"dart-%.8s.wim\"\n",
		c->name, c->wim_hex, arch[0] ? arch : "unknown", c->name, c->desc, c->wim_hex, c->name,
		arch[0] ? arch : "x64", c->wim_hex), err);
}

static int write_wds_sum(struct deploy_ctx *c, struct dd_err *err)
{
	char *text = textf("%s  boot.wim\n", c->wim_hex);
	FILE *f;
	int fd, rc;

	if (!text)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	/* sha256sum's format, LF as sha256sum -c expects */
	rc = open_out(c, "boot.wim.sha256", &fd, err);
	if (!rc && !(f = fdopen(fd, "w"))) {
		close(fd);
		rc = dd_fail_errno(err, DD_EIO, errno, "boot.wim.sha256");
	} else if (!rc) {
		fputs(text, f);
		if (fclose(f))
			rc = dd_fail_errno(err, DD_EIO, errno, "boot.wim.sha256");
	}
	free(text);
	return rc;
}

static char *readme_winre(const struct deploy_ctx *c)
{
	return textf(
		"Recovery partition (Windows RE)\n"
		"winre.wim            sources/boot.wim of the ISO, byte for byte (SHA-256 %s)\n"
		"winre-partition.img  the Windows RE tools partition, %llu MB, NTFS, label \"" WINRE_LABEL "\",\n"
		"                     holding \\Recovery\\WindowsRE\\winre.wim; write it onto the partition raw\n"
		"diskpart-gpt.txt     makes that partition on a GPT disk: type " WINRE_GPT_TYPE ",\n"
		"                     attributes " WINRE_GPT_ATTRS " (required, no drive letter)\n"
		"diskpart-mbr.txt     the same on an MBR disk: type 0x" WINRE_MBR_TYPE " (hidden)\n"
		"setup-winre.cmd      copies winre.wim to R:\\Recovery\\WindowsRE, registers it with\n"
		"                     reagentc /setreimage /path R:\\Recovery\\WindowsRE /target W:\\Windows\n"
		"                     and checks with reagentc /info /target W:\\Windows\n"
		"Size: at least the ISO's size and at least 300 MB (DaRT 7), 450 MB recommended for the remote\n"
		"connection (DaRT 7), 500 MB (DaRT 8); dartdup makes the larger of 500 MB and the ISO + 10%% + 16 MB.\n"
		"On a running Windows, \"reagentc /info\" alone shows the result; \"reagentc /boottore\" tests it.\n\n",
		c->wim_hex, (unsigned long long)(c->rep->image_size / MIB_BYTES));
}

static char *readme_wds(const struct deploy_ctx *c)
{
	const char *arch = c->rep->arch;

	return textf(
		"Remote partition (Windows Deployment Services)\n"
		"boot.wim             sources/boot.wim of the ISO, byte for byte (SHA-256 %s)\n"
		"boot.wim.sha256      its SHA-256 (sha256sum -c boot.wim.sha256)\n"
		"wds-add-image.cmd    wdsutil /Add-Image of boot.wim as a boot image, then wdsutil /Get-Image\n"
		"                     for architecture %s to check it\n\n",
		c->wim_hex, arch[0] ? arch : "unknown (not in the WIM's XML)");
}

static int write_readme(struct deploy_ctx *c, bool winre, bool wds, struct dd_err *err)
{
	const struct dd_build_report *r = c->rep;
	char *head, *a = winre ? readme_winre(c) : strdup(""), *b = wds ? readme_wds(c) : strdup(""), *text = NULL;

	head = textf("DaRT recovery image for deployment - made by dartdup %s\n\n"
		     "Source: ISO \"%s\" (%s, %s), SHA-256 %s\n\n%s",
		     DARTDUP_VERSION, c->name, r->arch[0] ? r->arch : "architecture unknown", c->desc, c->iso_hex,
		     c->d->format == DD_BUILD_RELEASE ? "stick.dfi            the USB stick image (dartdup write)\n\n"
							: "");
	if (head && a && b)
		text = textf("%s%s%sCheck this folder: dartdup verify-release FOLDER --pubkey depot.pub "
			     "(" "RELEASE.txt lists every file, signed when built with --key).\n", head, a, b);
	free(head);
	free(a);
	free(b);
	return write_textf_done(c, "README.txt", text, err);
}

static int check_size(struct deploy_ctx *c, struct dd_err *err)
{
	uint64_t size = c->d->size, floor = round_mib(c->img->size);

	if (floor < DD_WINRE_MIN_SIZE)
		floor = DD_WINRE_MIN_SIZE;
	if (!size) {
		c->rep->image_size = dd_winre_size(c->img->size);
		return DD_OK;
	}
	if (size % MIB_BYTES || size < floor)
		return dd_fail(err, DD_EUSAGE, "--size %llu: the Windows RE partition takes whole MiB, at least "
			       "%llu MiB (300 MiB and the ISO's size, DaRT's rule)", (unsigned long long)size,
			       (unsigned long long)(floor / MIB_BYTES));
	c->rep->image_size = size;
	return DD_OK;
}

static void fill_report(struct deploy_ctx *c, const struct wim_info *wi)
{
	struct dd_build_report *r = c->rep;

	snprintf(r->fs, sizeof(r->fs), "%s", c->img->fs);
	snprintf(r->volume_id, sizeof(r->volume_id), "%s", c->img->volume_id);
	snprintf(r->arch, sizeof(r->arch), "%s", wi->arch);
	snprintf(r->wim_name, sizeof(r->wim_name), "%s", wi->name);
	if (wi->version[0])
		snprintf(r->winpe, sizeof(r->winpe), "Windows PE %s", wi->version);
	r->created = c->img->created;
	r->cd_bios = c->img->boot.bios;
	r->cd_uefi = c->img->boot.uefi;
	iso_tree_stats(c->img->root, &r->files, &r->dirs, &r->bytes);
	cmd_safe(c->name, sizeof(c->name), c->img->volume_id, "DaRT");
	{
		char d[sizeof(r->wim_name) + sizeof(r->winpe) + 4];

		snprintf(d, sizeof(d), "%s%s%s", r->wim_name, r->wim_name[0] && r->winpe[0] ? " " : "", r->winpe);
		cmd_safe(c->desc, sizeof(c->desc), d, "DaRT recovery image");
	}
}

static int deploy_files(struct deploy_ctx *c, struct dd_err *err)
{
	bool winre = c->d->format != DD_BUILD_WDS, wds = c->d->format != DD_BUILD_WINRE;
	int rc;

	if (winre && ((rc = write_wim(c, "winre.wim", err)) || (rc = write_partition(c, err)) ||
		      (rc = write_diskpart(c, false, err)) || (rc = write_diskpart(c, true, err)) ||
		      (rc = write_setup(c, err))))
		return rc;
	if (wds && ((rc = write_wim(c, "boot.wim", err)) || (rc = write_wds_sum(c, err)) ||
		    (rc = write_wds_cmd(c, err))))
		return rc;
	return write_readme(c, winre, wds, err);
}

int dd_deploy(const char *iso_path, struct dd_deploy *d, struct dd_build_report *rep, struct dd_err *err)
{
	struct deploy_ctx c = { .d = d, .rep = rep };
	struct iso_image img;
	struct wim_info wi;
	bool made = false;
	int rc;

	memset(rep, 0, sizeof(*rep));
	rep->format = d->format;
	d->n_files = 0;
	if ((rc = iso_open(iso_path, &img, err)))
		return rc;
	c.img = &img;
	/* everything that can be refused is refused before the folder is made or a file written */
	if ((rc = judge_dir(d, err)) || (rc = dd_build_check_winpe(&img, err)) ||
	    (rc = wim_read_info(&img, iso_lookup(img.root, "sources/boot.wim"), &wi, err)) ||
	    (d->format != DD_BUILD_WDS && (rc = check_size(&c, err))))
		goto out;
	fill_report(&c, &wi);
	if ((rc = dd_build_sha256(&img, NULL, -1, rep->iso_sha256, err)))
		goto out;
	dd_hex(c.iso_hex, rep->iso_sha256, DD_SHA256_LEN);
	if ((rc = make_dir(d, &made, err)))
		goto out;
	if (!(rc = judge_names(d, err)))
		rc = deploy_files(&c, err);
	if (rc) {
		char path[4096];

		for (size_t i = 0; i < d->n_files; i++) {
			snprintf(path, sizeof(path), "%s/%s", d->dir, d->files[i]);
			unlink(path);
		}
		d->n_files = 0;
		if (made)
			rmdir(d->dir);
	}
out:
	iso_close(&img);
	return rc;
}
