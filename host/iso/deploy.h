/* dartdup build --format winre|wds: the DaRT recovery image for the two methods that do not go
 * through a stick, as a folder a Windows imaging team or a WDS administrator uses as it is
 * (docs/BUILD.md "Recovery partition" and "Remote partition"):
 *
 *   winre: winre.wim (sources/boot.wim byte for byte), winre-partition.img (NTFS, holding
 *          Recovery/WindowsRE/winre.wim), diskpart-mbr.txt, diskpart-gpt.txt, setup-winre.cmd, README.txt
 *   wds:   boot.wim, boot.wim.sha256, wds-add-image.cmd, README.txt
 *
 * Every byte derives from the ISO and the options. Every file is opened through the door. */
#ifndef DARTDUP_ISO_DEPLOY_H
#define DARTDUP_ISO_DEPLOY_H

#include <stddef.h>
#include <stdint.h>

#include "host/iso/build.h"

#define DD_DEPLOY_MAX_FILES 12
#define MIB_BYTES (1ull << 20)
/* The DaRT pages' sizes: 300 MB at least, 450 MB (DaRT 7) or 500 MB (DaRT 8) recommended. */
#define DD_WINRE_MIN_SIZE (300 * MIB_BYTES)
#define DD_WINRE_DEFAULT_SIZE (500 * MIB_BYTES)

struct dd_deploy {
	/* in */
	enum dd_build_format format;  /* DD_BUILD_WINRE or DD_BUILD_WDS */
	const char *dir;              /* the output folder: made when missing, its parent must exist */
	const char *const *inputs;    /* the run's inputs (ISO, key): never an output */
	unsigned n_inputs;
	uint64_t size;                /* winre: the partition's bytes; 0 = the DaRT rule (deploy.c) */
	/* out: the names written in the folder, in a fixed order (the release lists them) */
	const char *files[DD_DEPLOY_MAX_FILES];
	size_t n_files;
};

/* The partition size the DaRT rule gives for an ISO of iso_size bytes (no --size). */
uint64_t dd_winre_size(uint64_t iso_size);

int dd_deploy(const char *iso_path, struct dd_deploy *d, struct dd_build_report *rep, struct dd_err *err);

#endif
