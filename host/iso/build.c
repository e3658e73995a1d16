/* dartdup build: ISO -> stick image. See build.h and docs/BUILD.md. */
#include "host/iso/build.h"
#include "host/iso/disk.h"
#include "host/iso/fat32.h"
#include "host/iso/iso.h"
#include "host/iso/util.h"
#include "host/iso/wim.h"
#include "safety/door.h"
#include "source/source.h"
#include "util/escape.h"
#include "util/json.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB (1ull << 20)

/* The four files every Windows PE boot medium has; without them it is not one. */
static const char *const winpe_files[] = { "bootmgr", "boot/bcd", "boot/boot.sdi", "sources/boot.wim" };

static const char *tmp_base(const struct dd_build_opts *o)
{
	const char *t = o->tmpdir ? o->tmpdir : getenv("TMPDIR");

	return t && *t ? t : "/tmp";
}

static int check_winpe(const struct iso_image *img, struct dd_err *err)
{
	for (size_t i = 0; i < sizeof(winpe_files) / sizeof(winpe_files[0]); i++) {
		const struct iso_node *n = iso_lookup(img->root, winpe_files[i]);

		if (!n || n->is_dir)
			return dd_fail(err, DD_EINPUT, "%s: not a Windows PE / DaRT image (no %s)", img->path,
				       winpe_files[i]);
	}
	return DD_OK;
}

/* SHA-256 of the whole ISO: the volume serial and disk signature derive from it, and the .dfi
 * records it as the source. */
/* Stream a file of the ISO (node), or the whole ISO (node NULL), through SHA-256 in 4 MiB chunks; with
 * fd >= 0 also write each chunk to fd at its offset. */
static int stream_sha256(const struct iso_image *img, const struct iso_node *node, int fd,
			 uint8_t out[DD_SHA256_LEN], struct dd_err *err)
{
	const size_t chunk = 4 * MIB;
	const uint64_t size = node ? node->size : img->size;
	struct dd_sha256 h;
	uint8_t *buf = malloc(chunk);
	int rc = DD_OK;

	if (!buf)
		return dd_fail(err, DD_ENOMEM, "out of memory");
	dd_sha256_init(&h);
	for (uint64_t off = 0; off < size && !rc; off += chunk) {
		size_t n = size - off < chunk ? (size_t)(size - off) : chunk;

		rc = node ? iso_read(img, node, off, buf, n, err) : iso_pread(img, buf, n, off, err);
		if (!rc && fd >= 0 && iso_write_all(fd, buf, n, off))
			rc = dd_fail_errno(err, DD_EIO, errno, "write");
		dd_sha256_update(&h, buf, n);
	}
	dd_sha256_final(&h, out);
	free(buf);
	return rc;
}

/* The hash runs in a thread beside the copy (both read the ISO; on two CPUs the hash costs no wall time).
 * The serial and disk signature it yields are patched in at the end. */
struct hash_job {
	const struct iso_image *img;
	uint8_t sum[DD_SHA256_LEN];
	struct dd_err err;
	int rc;
	pthread_t thread;
	bool running;
};

static void *hash_thread(void *arg)
{
	struct hash_job *h = arg;

	h->rc = stream_sha256(h->img, NULL, -1, h->sum, &h->err);
	return NULL;
}

static void hash_start(struct hash_job *h, const struct iso_image *img)
{
	memset(h, 0, sizeof(*h));
	h->img = img;
	h->running = !pthread_create(&h->thread, NULL, hash_thread, h);
	if (!h->running)
		hash_thread(h);
}

static int hash_finish(struct hash_job *h, uint8_t out[DD_SHA256_LEN], struct dd_err *err)
{
	if (h->running)
		pthread_join(h->thread, NULL);
	h->running = false;
	if (h->rc) {
		if (err)
			*err = h->err;
		return h->rc;
	}
	memcpy(out, h->sum, DD_SHA256_LEN);
	return DD_OK;
}

/* Volume serial (boot sector and its backup) and MBR disk signature from the ISO's SHA-256. */
static int patch_ids(int fd, enum dd_build_format format, const uint8_t sum[DD_SHA256_LEN], struct dd_err *err)
{
	uint64_t vol = format == DD_BUILD_USB ? DISK_PART_LBA * 512ull : 0;
	uint8_t serial[4], sig[4];

	memcpy(serial, sum, 4);
	memcpy(sig, sum + 4, 4);
	if (iso_write_all(fd, serial, 4, vol + 67) || iso_write_all(fd, serial, 4, vol + 6 * 512 + 67) ||
	    (format == DD_BUILD_USB && iso_write_all(fd, sig, 4, 0x1B8)))
		return dd_fail_errno(err, DD_EIO, errno, "write");
	return DD_OK;
}

static struct iso_node *ensure_dir(struct iso_node *parent, const char *name, int64_t mtime, struct dd_err *err)
{
	struct iso_node *d = iso_lookup(parent, name);

	if (d)
		return d->is_dir ? d : NULL;
	d = iso_node_new(name, true);
	if (!d || iso_node_add(parent, d, err)) {
		iso_node_free(d);
		dd_fail(err, DD_ENOMEM, "out of memory");
		return NULL;
	}
	d->mtime = mtime;
	return d;
}

/* Windows 7-era x64 media boot UEFI from efi/microsoft/boot but have no efi/boot/bootx64.efi:
 * take bootmgfw.efi out of boot.wim (as other tools do) and add it under the removable-media name. */
static int add_bootmgfw(struct iso_image *img, const struct wim_info *wi, const char *tmpdir,
			struct dd_build_report *rep, struct dd_err *err)
{
	struct iso_node *wim = iso_lookup(img->root, "sources/boot.wim"), *efi, *boot, *f;
	char wim_path[4096], efi_path[4096];
	int rc;

	snprintf(wim_path, sizeof(wim_path), "%s/boot.wim", tmpdir);
	snprintf(efi_path, sizeof(efi_path), "%s/bootmgfw.efi", tmpdir);
	if ((rc = iso_extract(img, wim, wim_path, err)))
		return rc;
	rc = wim_extract(wim_path, wi->boot_index ? wi->boot_index : 1, "/Windows/Boot/EFI/bootmgfw.efi",
			 efi_path, err);
	unlink(wim_path);
	if (rc)
		return rc;
	efi = iso_lookup(img->root, "efi");
	boot = efi ? ensure_dir(efi, "boot", efi->mtime, err) : NULL;
	if (!boot)
		return dd_fail(err, DD_EINPUT, "%s: efi/boot is not a directory", img->path);
	f = iso_node_new("bootx64.efi", false);
	if (!f || !(f->host_path = strdup(efi_path)) || iso_node_add(boot, f, err)) {
		iso_node_free(f);
		return dd_fail(err, DD_ENOMEM, "out of memory");
	}
	{
		struct stat st;

		f->size = stat(efi_path, &st) ? 0 : (uint64_t)st.st_size;
	}
	f->mtime = wim->mtime;
	snprintf(rep->uefi, sizeof(rep->uefi), "efi/boot/bootx64.efi (bootmgfw.efi from sources/boot.wim)");
	return iso_tree_finish(img->root, err);
}

static int examine(struct iso_image *img, const char *tmpdir, struct dd_build_report *rep,
		   char *added, size_t added_len, struct dd_err *err)
{
	struct iso_node *wim = iso_lookup(img->root, "sources/boot.wim");
	struct wim_info wi;
	int rc;

	added[0] = '\0';
	if ((rc = wim_read_info(img, wim, &wi, err)))
		return rc;
	snprintf(rep->arch, sizeof(rep->arch), "%s", wi.arch);
	snprintf(rep->wim_name, sizeof(rep->wim_name), "%s", wi.name);
	if (wi.version[0])
		snprintf(rep->winpe, sizeof(rep->winpe), "Windows PE %s", wi.version);
	rep->cd_bios = img->boot.bios;
	rep->cd_uefi = img->boot.uefi;
	rep->bios = true;
	if (iso_lookup(img->root, "efi/boot/bootx64.efi")) {
		snprintf(rep->uefi, sizeof(rep->uefi), "efi/boot/bootx64.efi");
		if (!rep->arch[0])
			snprintf(rep->arch, sizeof(rep->arch), "x64");
	} else if (iso_lookup(img->root, "efi/boot/bootia32.efi")) {
		snprintf(rep->uefi, sizeof(rep->uefi), "efi/boot/bootia32.efi");
		if (!rep->arch[0])
			snprintf(rep->arch, sizeof(rep->arch), "x86");
	} else if (iso_lookup(img->root, "efi/microsoft/boot") && strcmp(rep->arch, "x86")) {
		if ((rc = add_bootmgfw(img, &wi, tmpdir, rep, err)))
			return rc;
		snprintf(added, added_len, "%s/bootmgfw.efi", tmpdir);
	}
	return DD_OK;
}

int dd_build_sha256(const struct iso_image *img, const struct iso_node *node, int fd,
		    uint8_t out[DD_SHA256_LEN], struct dd_err *err)
{
	return stream_sha256(img, node, fd, out, err);
}

int dd_build_check_winpe(const struct iso_image *img, struct dd_err *err)
{
	return check_winpe(img, err);
}

static int make_tmpdir(const struct dd_build_opts *o, char *dir, size_t len, struct dd_err *err)
{
	snprintf(dir, len, "%s/dartdup-build-XXXXXX", tmp_base(o));
	if (!mkdtemp(dir))
		return dd_fail_errno(err, DD_EIO, errno, "%s", dir);
	return DD_OK;
}

static int write_volume(const struct iso_image *img, const struct dd_build_opts *o, int fd, const char *tmpdir,
			struct dd_build_report *rep, struct dd_err *err)
{
	bool usb = o->format == DD_BUILD_USB;
	uint64_t head = usb ? DISK_PART_LBA * 512ull : 0, vol;
	struct grub_images g = { 0 };
	struct fat32_plan plan = { 0 };
	int rc;

	if (o->size && (o->size % 512 || o->size <= head))
		return dd_fail(err, DD_EUSAGE, "--size %llu: must be a multiple of 512 above %llu",
			       (unsigned long long)o->size, (unsigned long long)head);
	vol = o->size ? o->size - head : fat32_auto_size(img->root);
	if ((rc = fat32_plan(img->root, vol, &plan, err)))
		return rc;
	plan.hidden = head / 512;
	plan.serial = 0; /* patched in once the ISO's hash is known (patch_ids) */
	fat32_label(img->volume_id, plan.label);
	rep->image_size = head + plan.vol_sectors * 512;
	if (ftruncate(fd, (off_t)rep->image_size))
		return dd_fail_errno(err, DD_EIO, errno, "resize output");
	if (usb) {
		if ((rc = disk_grub_make(o->grub_dir, tmpdir, &g, err)))
			return rc;
		rc = disk_write_mbr(fd, &g, 0, plan.vol_sectors, err);
		disk_grub_free(&g);
		if (rc)
			return rc;
	}
	return fat32_write(img, img->root, &plan, fd, head, o->progress, o->progress_ctx, err);
}

int dd_build(const char *iso_path, const char *out_path, const struct dd_build_opts *opts,
	     struct dd_build_report *rep, struct dd_err *err)
{
	struct iso_image img;
	struct hash_job hash = { 0 };
	char tmpdir[4096], added[4096];
	int fd = -1, rc, hrc;

	memset(rep, 0, sizeof(*rep));
	rep->format = opts->format;
	/* one volume image; the folder formats (wds, winre, release) are deploy.c's */
	if (opts->format != DD_BUILD_USB && opts->format != DD_BUILD_PARTITION)
		return dd_fail(err, DD_EINTERNAL, "dd_build: format %d is a folder (dd_deploy)", (int)opts->format);
	tmpdir[0] = added[0] = '\0';
	/* judged before any work: a refused output costs nothing and touches nothing */
	if ((rc = dd_door_judge_output(out_path, &iso_path, 1, err)))
		return rc;
	if ((rc = iso_open(iso_path, &img, err)))
		return rc;
	snprintf(rep->fs, sizeof(rep->fs), "%s", img.fs);
	snprintf(rep->volume_id, sizeof(rep->volume_id), "%s", img.volume_id);
	rep->created = img.created;
	if ((rc = check_winpe(&img, err)))
		goto out;
	hash_start(&hash, &img);
	if ((rc = make_tmpdir(opts, tmpdir, sizeof(tmpdir), err)))
		goto out;
	if ((rc = examine(&img, tmpdir, rep, added, sizeof(added), err)))
		goto out;
	iso_tree_stats(img.root, &rep->files, &rep->dirs, &rep->bytes);
	/* the door: never a device, never the ISO itself; emptied only once it is known to be a file */
	if ((rc = dd_door_open_output(out_path, &iso_path, 1, O_RDWR, DD_DOOR_TRUNC, 0644, &fd, err)))
		goto out;
	rc = write_volume(&img, opts, fd, tmpdir, rep, err);
	hrc = hash_finish(&hash, rep->iso_sha256, rc ? NULL : err);
	rc = rc ? rc : hrc;
	if (!rc)
		rc = patch_ids(fd, opts->format, rep->iso_sha256, err);
	if (close(fd) && !rc)
		rc = dd_fail_errno(err, DD_EIO, errno, "%s", out_path);
	if (rc)
		unlink(out_path);
out:
	hash_finish(&hash, rep->iso_sha256, NULL);
	if (added[0])
		unlink(added);
	if (tmpdir[0])
		rmdir(tmpdir);
	iso_close(&img);
	return rc;
}

int dd_build_temp(const char *iso_path, const struct dd_build_opts *opts, char *path, size_t len,
		  struct dd_build_report *rep, struct dd_err *err)
{
	struct dd_build_opts o = *opts;
	int fd, rc;

	o.format = DD_BUILD_USB;
	/* large: on disk rather than a RAM-backed /tmp unless TMPDIR says otherwise */
	snprintf(path, len, "%s/dartdup-XXXXXX.img", opts->tmpdir ? opts->tmpdir : getenv("TMPDIR") ? tmp_base(opts) : "/var/tmp");
	fd = mkstemps(path, 4);
	if (fd < 0)
		return dd_fail_errno(err, DD_EIO, errno, "%s", path);
	close(fd);
	rc = dd_build(iso_path, path, &o, rep, err);
	if (rc)
		unlink(path);
	return rc;
}

bool dd_build_is_iso(const char *path)
{
	uint8_t vd[8];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool iso;

	if (fd < 0)
		return false;
	iso = pread(fd, vd, sizeof(vd), 16 * 2048) == (ssize_t)sizeof(vd) &&
	      (!memcmp(vd + 1, "CD001", 5) || !memcmp(vd + 1, "BEA01", 5));
	close(fd);
	return iso;
}

int dd_build_open_source(const char *iso_path, const struct dd_build_opts *opts,
			 const struct dd_source_opts *so, struct dd_source **out, struct dd_build_report *rep,
			 struct dd_err *err)
{
	struct dd_build_opts defaults = { 0 };
	struct dd_build_report scratch;
	char path[4096];
	int rc;

	if (!rep)
		rep = &scratch;
	rc = dd_build_temp(iso_path, opts ? opts : &defaults, path, sizeof(path), rep, err);
	if (rc)
		return rc;
	rc = dd_source_open(path, so, out, err);
	unlink(path);
	if (rc)
		return rc;
	(*out)->info.format = "iso";
	if (rep->volume_id[0])
		snprintf((*out)->info.name, sizeof((*out)->info.name), "%s", rep->volume_id);
	return DD_OK;
}

/* Windows PE by the kernel version boot.wim's XML names. Windows 7's boot manager predates Secure Boot:
 * no Windows 7 loader carries a signature the UEFI CA database accepts (Microsoft: Windows 7 does not
 * support Secure Boot). From Windows 8 on, bootmgfw.efi is signed by Microsoft's Windows Production
 * PCA, in every Secure Boot PC's db. */
static const struct {
	unsigned major, minor;
	struct dd_winpe_release r;
} winpe_releases[] = {
	{ 6, 0, { "2.x", "Windows Vista / Server 2008", DD_SB_NO } },
	{ 6, 1, { "3.x", "Windows 7 / DaRT 7", DD_SB_NO } },
	{ 6, 2, { "4.0", "Windows 8 / DaRT 8", DD_SB_YES } },
	{ 6, 3, { "5.x", "Windows 8.1 / DaRT 8.1", DD_SB_YES } },
	{ 10, 0, { "10", "Windows 10 or 11 / DaRT 10", DD_SB_YES } },
};

const struct dd_winpe_release *dd_build_winpe_release(const struct dd_build_report *rep)
{
	unsigned major, minor;

	if (sscanf(rep->winpe, "Windows PE %u.%u", &major, &minor) != 2)
		return NULL;
	for (size_t i = 0; i < sizeof(winpe_releases) / sizeof(winpe_releases[0]); i++)
		if (winpe_releases[i].major == major && winpe_releases[i].minor == minor)
			return &winpe_releases[i].r;
	return NULL;
}

enum dd_secure_boot dd_build_secure_boot(const struct dd_build_report *rep)
{
	const struct dd_winpe_release *r = dd_build_winpe_release(rep);

	if ((rep->format == DD_BUILD_USB || rep->format == DD_BUILD_PARTITION) && !rep->uefi[0])
		return DD_SB_NO_UEFI;
	return r ? r->secure_boot : DD_SB_UNKNOWN;
}

const char *dd_secure_boot_name(enum dd_secure_boot sb)
{
	static const char *const names[] = { "unknown", "yes", "no", "no_uefi" };

	return (unsigned)sb < sizeof(names) / sizeof(names[0]) ? names[sb] : "unknown";
}

/* One line: can the stick boot with Secure Boot on, and what to do when it cannot. */
static void print_secure_boot(FILE *f, const struct dd_build_report *rep)
{
	const struct dd_winpe_release *r = dd_build_winpe_release(rep);
	char pe[128] = "the Windows PE version is unknown";

	if (r)
		snprintf(pe, sizeof(pe), "Windows PE %s (%s)", r->pe, r->windows);
	switch (dd_build_secure_boot(rep)) {
	case DD_SB_YES:
		fprintf(f, "secure boot: yes: %s boots with Microsoft's signed bootmgfw.efi\n", pe);
		break;
	case DD_SB_NO:
		fprintf(f, "secure boot: no: %s cannot boot with Secure Boot on: turn Secure Boot off in the PC's "
			"firmware setup to boot it over UEFI (BIOS/CSM boot is not affected)\n", pe);
		break;
	case DD_SB_NO_UEFI:
		fprintf(f, "secure boot: no UEFI loader: %s, BIOS (CSM) boot only\n", pe);
		break;
	default:
		fprintf(f, "secure boot: unknown: %s; if a PC refuses the stick, turn Secure Boot off\n", pe);
	}
}

void dd_build_print_report(FILE *f, const struct dd_build_report *rep)
{
	char hex[2 * DD_SHA256_LEN + 1];

	/* the volume id, the WIM's XML and the loader's path are the ISO's text: escaped (util/escape.h) */
	fprintf(f, "found: %s image \"%s\", %llu files in %llu folders, %llu MiB\n", rep->fs,
		DD_ESC(rep->volume_id), (unsigned long long)rep->files, (unsigned long long)rep->dirs,
		(unsigned long long)(rep->bytes + MIB - 1) / MIB);
	if (rep->winpe[0] || rep->wim_name[0])
		fprintf(f, "found: %s%s%s%s%s\n", DD_ESC(rep->winpe), rep->winpe[0] && rep->wim_name[0] ? " (" : "",
			DD_ESC(rep->wim_name), rep->winpe[0] && rep->wim_name[0] ? ")" : "",
			rep->arch[0] ? "" : ", architecture unknown");
	fprintf(f, "found: architecture %s; CD boot entries:%s%s%s\n", rep->arch[0] ? DD_ESC(rep->arch) : "unknown",
		rep->cd_bios ? " BIOS" : "", rep->cd_uefi ? " UEFI" : "", rep->cd_bios || rep->cd_uefi ? "" : " none");
	if (rep->format == DD_BUILD_USB)
		fprintf(f, "stick boots: BIOS (GRUB -> bootmgr)%s%s\n", rep->uefi[0] ? ", UEFI via " : "; BIOS only",
			DD_ESC(rep->uefi));
	else if (rep->format == DD_BUILD_PARTITION)
		fprintf(f, "volume: FAT32 with every file%s%s\n", rep->uefi[0] ? "; UEFI loader " : "",
			DD_ESC(rep->uefi));
	print_secure_boot(f, rep);
	dd_hex(hex, rep->iso_sha256, DD_SHA256_LEN);
	fprintf(f, "iso sha256: %s\n", hex);
	if (rep->format == DD_BUILD_WINRE || rep->format == DD_BUILD_RELEASE)
		fprintf(f, "partition: NTFS, %llu MiB, holding Recovery/WindowsRE/winre.wim\n",
			(unsigned long long)(rep->image_size / MIB));
	if (rep->format >= DD_BUILD_WDS) {
		dd_hex(hex, rep->out_sha256, DD_SHA256_LEN);
		fprintf(f, "boot.wim sha256: %s\n", hex);
	}
}
