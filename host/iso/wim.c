#include "host/iso/wim.h"
#include "host/iso/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wimlib.h>

#define WIM_HDR 208
#define WIM_XML_MAX (4u << 20)

/* Text of <TAG>...</TAG> within [from, to) into out; "" if absent. */
static void xml_tag(const char *from, const char *to, const char *tag, char *out, size_t len)
{
	char open[64], close[64];
	const char *a, *b;

	out[0] = '\0';
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	a = strstr(from, open);
	if (!a || a >= to)
		return;
	a += strlen(open);
	b = strstr(a, close);
	if (!b || b > to)
		return;
	snprintf(out, len, "%.*s", (int)(b - a), a);
}

static void fill_info(struct wim_info *info, const char *xml)
{
	char want[64], arch[16], major[16], minor[16], build[16], spbuild[16];
	const char *img, *end;

	snprintf(want, sizeof(want), "<IMAGE INDEX=\"%u\"", info->boot_index ? info->boot_index : 1);
	img = strstr(xml, want);
	if (!img)
		return;
	end = strstr(img, "</IMAGE>");
	if (!end)
		return;
	xml_tag(img, end, "NAME", info->name, sizeof(info->name));
	xml_tag(img, end, "ARCH", arch, sizeof(arch));
	xml_tag(img, end, "MAJOR", major, sizeof(major));
	xml_tag(img, end, "MINOR", minor, sizeof(minor));
	xml_tag(img, end, "BUILD", build, sizeof(build));
	xml_tag(img, end, "SPBUILD", spbuild, sizeof(spbuild));
	if (!strcmp(arch, "0"))
		snprintf(info->arch, sizeof(info->arch), "x86");
	else if (!strcmp(arch, "9"))
		snprintf(info->arch, sizeof(info->arch), "x64");
	else if (!strcmp(arch, "12"))
		snprintf(info->arch, sizeof(info->arch), "arm64");
	if (major[0] && minor[0] && build[0])
		snprintf(info->version, sizeof(info->version), "%.15s.%.15s.%.15s%s%.15s", major, minor, build,
			 spbuild[0] ? "." : "", spbuild);
}

int wim_read_info(const struct iso_image *img, const struct iso_node *wim, struct wim_info *info,
		  struct dd_err *err)
{
	uint8_t hdr[WIM_HDR];
	uint64_t xml_size, xml_off;
	uint8_t *raw;
	char *xml;
	int rc;

	memset(info, 0, sizeof(*info));
	if (wim->size < WIM_HDR)
		return dd_fail(err, DD_EINPUT, "sources/boot.wim: not a WIM file (too small)");
	if ((rc = iso_read(img, wim, 0, hdr, sizeof(hdr), err)))
		return rc;
	if (memcmp(hdr, "MSWIM\0\0\0", 8))
		return dd_fail(err, DD_EINPUT, "sources/boot.wim: not a WIM file");
	info->boot_index = get_le32(hdr + 120);
	/* XML resource header at 72: 7-byte stored size + flags, offset, original size; stored raw */
	xml_size = get_le64(hdr + 72) & 0x00FFFFFFFFFFFFFFull;
	xml_off = get_le64(hdr + 80);
	if (!xml_size || xml_size > WIM_XML_MAX || xml_off > wim->size || xml_size > wim->size - xml_off)
		return DD_OK;
	raw = malloc(xml_size);
	xml = malloc(xml_size / 2 + 1);
	if (!raw || !xml) {
		free(raw);
		free(xml);
		return dd_fail(err, DD_ENOMEM, "out of memory");
	}
	rc = iso_read(img, wim, xml_off, raw, xml_size, err);
	if (!rc) {
		/* UTF-16LE -> ASCII (the tags and numbers we want are ASCII) */
		size_t n = 0;

		for (size_t i = 0; i + 1 < xml_size; i += 2) {
			uint16_t c = get_le16(raw + i);

			if (c == 0xFEFF)
				continue;
			xml[n++] = c && c < 0x80 ? (char)c : '?';
		}
		xml[n] = '\0';
		fill_info(info, xml);
	}
	free(raw);
	free(xml);
	return rc;
}

struct find_ctx {
	const char *want;
	char found[1024];
};

static int find_cb(const struct wimlib_dir_entry *de, void *arg)
{
	struct find_ctx *f = arg;

	if (!de->full_path || strcasecmp(de->full_path, f->want))
		return 0;
	snprintf(f->found, sizeof(f->found), "%s", de->full_path);
	return 1; /* stop: found */
}

int wim_extract(const char *wim_path, unsigned image, const char *path_in_wim, const char *out_path,
		struct dd_err *err)
{
	struct find_ctx f = { .want = path_in_wim };
	char dir[4096], *slash;
	const char *paths[1];
	const char *base = strrchr(path_in_wim, '/');
	WIMStruct *wim = NULL;
	char made[8192];
	int rc;

	if ((rc = wimlib_open_wim(wim_path, 0, &wim)))
		return dd_fail(err, DD_EINPUT, "%s: %s", wim_path, wimlib_get_error_string(rc));
	rc = wimlib_iterate_dir_tree(wim, (int)image, "/", WIMLIB_ITERATE_DIR_TREE_FLAG_RECURSIVE, find_cb, &f);
	if (rc != 1 || !f.found[0]) {
		wimlib_free(wim);
		return dd_fail(err, DD_EINPUT, "sources/boot.wim: no %s in image %u", path_in_wim, image);
	}
	/* extract into a scratch directory beside out_path, then move the file into place */
	snprintf(dir, sizeof(dir), "%s.d", out_path);
	if (mkdir(dir, 0700) && errno != EEXIST) {
		wimlib_free(wim);
		return dd_fail_errno(err, DD_EIO, errno, "%s", dir);
	}
	paths[0] = f.found;
	rc = wimlib_extract_paths(wim, (int)image, dir, paths, 1, WIMLIB_EXTRACT_FLAG_NO_PRESERVE_DIR_STRUCTURE);
	wimlib_free(wim);
	slash = strrchr(f.found, '/');
	snprintf(made, sizeof(made), "%s/%s", dir, slash ? slash + 1 : (base ? base + 1 : f.found));
	if (rc) {
		rmdir(dir);
		return dd_fail(err, DD_EINPUT, "sources/boot.wim: %s: %s", path_in_wim, wimlib_get_error_string(rc));
	}
	if (rename(made, out_path)) {
		rc = dd_fail_errno(err, DD_EIO, errno, "%s", made);
		unlink(made);
	}
	rmdir(dir);
	return rc;
}
