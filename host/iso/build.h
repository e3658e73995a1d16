/* dartdup build: a DaRT / Windows PE ISO -> a bootable stick image (raw), a FAT32 volume, or the
 * boot.wim for network boot. Packing into a .dfi is the caller's step (cmd_build, cmd_write).
 *
 * For `dartdup write DART.iso`: dd_build_temp() builds the USB image into a temporary raw file the
 * caller opens as a raw source and unlinks when done. */
#ifndef DARTDUP_ISO_BUILD_H
#define DARTDUP_ISO_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hash/sha256.h"
#include "util/err.h"

enum dd_build_format {
	DD_BUILD_USB,        /* MBR + GRUB + FAT32 partition at 1 MiB */
	DD_BUILD_PARTITION,  /* the FAT32 volume alone */
	DD_BUILD_WDS,        /* a folder: sources/boot.wim as is + the WDS command lines (deploy.c) */
	DD_BUILD_WINRE,      /* a folder: winre.wim, the Windows RE partition image, scripts (deploy.c) */
	DD_BUILD_RELEASE,    /* a folder: the stick .dfi (cmd_build) + everything of winre and wds */
};

struct dd_build_opts {
	enum dd_build_format format;
	uint64_t size;            /* bytes of the image (usb) or volume (partition); 0 = content + headroom */
	const char *tmpdir;       /* for grub-mkimage and WIM extraction; NULL = $TMPDIR or /tmp */
	const char *grub_dir;     /* NULL = /usr/lib/grub/i386-pc */
	/* progress in bytes of file data copied */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *progress_ctx;
};

/* What the ISO holds, for the report. */
struct dd_build_report {
	enum dd_build_format format;
	char fs[48];              /* file system the names came from */
	char volume_id[64];
	bool bios;                /* the stick boots on BIOS (bootmgr present, GRUB embedded) */
	bool cd_bios, cd_uefi;    /* El Torito entries of the ISO */
	char uefi[96];            /* "efi/boot/bootx64.efi", "bootmgfw.efi from sources/boot.wim", "" = BIOS only */
	char arch[16];            /* "x86", "x64", "arm64", "" unknown */
	char winpe[96];           /* "Windows PE 6.1.7601" or "" */
	char wim_name[128];       /* image name in boot.wim, e.g. "Microsoft Diagnostics and Recovery Toolset" */
	uint64_t files, dirs, bytes;
	uint64_t image_size;      /* bytes written to the output */
	int64_t created;          /* ISO creation time (Unix seconds), 0 if none */
	uint8_t iso_sha256[DD_SHA256_LEN];
	uint8_t out_sha256[DD_SHA256_LEN]; /* wds: SHA-256 of boot.wim */
};

/* Whether the stick boots over UEFI with Secure Boot on, by Windows PE version (docs/BUILD.md):
 * Windows PE 3.x (Windows 7, DaRT 7) has no loader Secure Boot accepts; 4.0 and later boot with
 * Microsoft's signed bootmgfw.efi. */
enum dd_secure_boot {
	DD_SB_UNKNOWN,       /* boot.wim names no version, or one not in the table */
	DD_SB_YES,
	DD_SB_NO,            /* turn Secure Boot off to boot it over UEFI */
	DD_SB_NO_UEFI,       /* the stick has no UEFI loader at all: BIOS (CSM) only */
};

struct dd_winpe_release {
	const char *pe;          /* "3.x" */
	const char *windows;     /* "Windows 7 / DaRT 7" */
	enum dd_secure_boot secure_boot;
};

/* The Windows PE release of rep->winpe ("Windows PE 6.1.7601.17514": by its major.minor), NULL when
 * unknown; and the verdict for the stick rep describes (formats usb and partition: no UEFI loader is
 * DD_SB_NO_UEFI; the others by version alone). */
const struct dd_winpe_release *dd_build_winpe_release(const struct dd_build_report *rep);
enum dd_secure_boot dd_build_secure_boot(const struct dd_build_report *rep);
const char *dd_secure_boot_name(enum dd_secure_boot sb); /* "unknown", "yes", "no", "no_uefi" */

/* Build iso_path into out_path (created or replaced; raw image, volume or WIM by format). */
int dd_build(const char *iso_path, const char *out_path, const struct dd_build_opts *opts,
	     struct dd_build_report *rep, struct dd_err *err);

/* Build the USB image into a new temporary file in opts->tmpdir (or $TMPDIR, /tmp); its path goes
 * to path (len bytes). The caller unlinks it. */
int dd_build_temp(const char *iso_path, const struct dd_build_opts *opts, char *path, size_t len,
		  struct dd_build_report *rep, struct dd_err *err);

/* True when path holds an ISO 9660 or UDF volume (by content: a volume descriptor at sector 16). */
bool dd_build_is_iso(const char *path);

struct dd_source;
struct dd_source_opts;
/* The hook of `dartdup write DART.iso`: build the USB image into a temporary file (dd_build_temp),
 * open it with dd_source_open() and unlink it at once (the open source keeps the data alive, nothing
 * is left behind whatever happens next). The source reports format "iso" and the ISO's volume id as
 * its name. opts and rep may be NULL (defaults, no report). */
int dd_build_open_source(const char *iso_path, const struct dd_build_opts *opts,
			 const struct dd_source_opts *so, struct dd_source **out, struct dd_build_report *rep,
			 struct dd_err *err);

/* For deploy.c: SHA-256 of file node of the ISO (or the whole ISO, node NULL), copied to fd at its
 * offsets when fd >= 0; and the check that the ISO is a Windows PE / DaRT image. */
struct iso_image;
struct iso_node;
int dd_build_sha256(const struct iso_image *img, const struct iso_node *node, int fd,
		    uint8_t out[DD_SHA256_LEN], struct dd_err *err);
int dd_build_check_winpe(const struct iso_image *img, struct dd_err *err);

/* Print the report as text lines ("found: ...") to f. */
void dd_build_print_report(FILE *f, const struct dd_build_report *rep);

#endif
