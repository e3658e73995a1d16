/* sources/boot.wim: what it says about itself (arch, Windows PE version, image name), read from
 * the WIM's XML straight out of the ISO; and extracting one file from it with wimlib. */
#ifndef DARTDUP_ISO_WIM_H
#define DARTDUP_ISO_WIM_H

#include <stddef.h>

#include "host/iso/iso.h"

struct wim_info {
	unsigned boot_index;
	char arch[16];       /* "x86", "x64", "arm64", "" */
	char version[64];    /* "6.1.7600.16385" or "" */
	char name[128];
};

/* Fills what the XML tells; a WIM without readable XML gives an empty info and DD_OK,
 * anything that is not a WIM gives DD_EINPUT. */
int wim_read_info(const struct iso_image *img, const struct iso_node *wim, struct wim_info *info,
		  struct dd_err *err);

/* Extract the file at path_in_wim (case-insensitive, '/'-separated) from image `image` of the WIM
 * file at wim_path to out_path. */
int wim_extract(const char *wim_path, unsigned image, const char *path_in_wim, const char *out_path,
		struct dd_err *err);

#endif
