/* dartdup master OUT --image X.dfi --pubkey PUB [--pubkey PUB...] [--firmware B.dfi] [--batch FILE]
 *                [--size BYTES]
 * Prepares a master stick image (docs/BOARD.md "Operating the board without a PC"): an MBR with one
 * FAT32 partition at 1 MiB holding DARTDUP/ with the image, the bundle and batch.conf. Every package is
 * checked first as the board will check it (signed by one of the keys, every block's hash, the name
 * rules), batch.conf too: nothing is written when one is refused. A thin front end over host/iso (the
 * FAT32 writer `dartdup build` uses) and format/master.h. */
#include "format/master.h"
#include "host/cli.h"
#include "host/iso/disk.h"
#include "host/iso/fat32.h"
#include "host/iso/tree.h"
#include "safety/door.h"
#include "source/source.h"
#include "util/escape.h"
#include "util/number.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIRMWARE_PREFIX "dartdupd-firmware " /* firmware/store.h DD_FIRMWARE_PREFIX: the board's rule */
#define MAX_KEYS 8

struct master_args {
	const char *out, *image, *firmware, *batch;
	const char *pubkeys[MAX_KEYS];
	unsigned n_pubkeys;
	uint64_t size;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: dartdup master OUT --image X.dfi --pubkey DEPOT.pub [--pubkey ...] [--firmware BUNDLE.dfi]\n"
		"                      [--batch batch.conf] [--size BYTES]\n"
		"  Writes OUT, a master stick image: an MBR and one FAT32 partition holding DARTDUP/ with the image,\n"
		"  the firmware bundle (as firmware.dfi) and batch.conf. Put it on a stick with\n"
		"  `dartdup write OUT /dev/sdX` and plug that into the board's master port.\n"
		"  --pubkey   the depot key(s) the board holds: every package must be signed by one of them\n"
		"  --batch    batch = WORK-ORDER, operator = NAME, probe = yes|no, sanitize = yes|no,\n"
		"             time = 2026-12-02T09:30:00Z (sets the board's clock when it is unset)\n"
		"  --size     the image's size (suffixes K M G); default: the files + room for the audit export\n"
		"OUT is a file: never a device, anything under /dev, or one of the inputs (refused, exit 2).\n"
		"The packages are checked completely first: a damaged or foreign one writes nothing (exit 2).\n");
}

static int parse_args(int argc, char **argv, struct master_args *a)
{
	static const struct option longopts[] = {
		{ "image", required_argument, NULL, 'i' }, { "firmware", required_argument, NULL, 'f' },
		{ "batch", required_argument, NULL, 'b' }, { "pubkey", required_argument, NULL, 'k' },
		{ "size", required_argument, NULL, 's' },  { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'i': a->image = optarg; break;
		case 'f': a->firmware = optarg; break;
		case 'b': a->batch = optarg; break;
		case 'k':
			if (a->n_pubkeys == MAX_KEYS) {
				cli_error("at most %d --pubkey", MAX_KEYS);
				return 2;
			}
			a->pubkeys[a->n_pubkeys++] = optarg;
			break;
		case 's':
			if (dd_parse_size(optarg, 2ull << 40, &a->size) || a->size % 512) {
				cli_error("--size %s: not a size in bytes (a multiple of 512, at most 2T)", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc || !a->image || !a->n_pubkeys) {
		usage(stderr);
		return 2;
	}
	a->out = argv[optind];
	return -1;
}

/* The package at path as the board checks it: a .dfi signed by one of the keys, every block matching
 * its hash, a bundle's name for a bundle and an image's for an image. */
static int check_package(const struct master_args *a, const char *path, bool firmware, struct dd_err *err)
{
	struct dd_source_opts opts = { .pubkeys = a->pubkeys, .n_pubkeys = a->n_pubkeys };
	struct dd_source *src = NULL;
	uint8_t *buf = NULL, h[DD_SHA256_LEN];
	bool is_fw;
	int rc = dd_source_open(path, &opts, &src, err);

	if (rc)
		return rc == DD_ENOMEM ? rc : DD_EINPUT;
	is_fw = !strncmp(src->info.name, FIRMWARE_PREFIX, strlen(FIRMWARE_PREFIX));
	if (strcmp(src->info.format, "dfi"))
		rc = dd_fail(err, DD_EINPUT, "%s: not a .dfi package (%s)", path, src->info.format);
	else if (src->info.sig != DD_SIG_VERIFIED)
		rc = dd_fail(err, DD_EINPUT, "%s: not signed by a --pubkey key", path);
	else if (is_fw != firmware)
		rc = dd_fail(err, DD_EINPUT, "%s: \"%s\" is %s", path, src->info.name,
			     firmware ? "not a firmware bundle" : "a firmware bundle, not an image (--firmware)");
	else if (!(buf = malloc(src->info.block_size)))
		rc = dd_fail(err, DD_ENOMEM, "out of memory");
	for (uint64_t i = 0; !rc && i < src->info.block_count; i++) {
		if (dd_source_read_block(src, i, buf, err)) {
			rc = DD_EINPUT;
			break;
		}
		dd_sha256(buf, dd_block_len(&src->info, i), h);
		if (memcmp(h, src->info.block_hash[i], DD_SHA256_LEN))
			rc = dd_fail(err, DD_EINPUT, "%s: block %llu does not match its hash", path,
				     (unsigned long long)i);
	}
	free(buf);
	dd_source_close(src);
	return rc;
}

static int check_batch(const char *path, struct dd_err *err)
{
	char text[DD_MASTER_BATCH_MAX + 1];
	struct dd_master_batch b;
	size_t n;
	FILE *f = fopen(path, "re");

	if (!f)
		return dd_fail_errno(err, DD_EINPUT, errno, "%s", path);
	n = fread(text, 1, sizeof(text), f);
	fclose(f);
	return dd_master_batch_parse(path, text, n, &b, err);
}

/* A file of the tree, read from the host when the volume is written. */
static int add_file(struct iso_node *dir, const char *name, const char *path, struct dd_err *err)
{
	struct iso_node *n = iso_node_new(name, false);
	struct stat st;

	if (stat(path, &st))
		return dd_fail_errno(err, DD_EINPUT, errno, "%s", path);
	if ((uint64_t)st.st_size > ISO_MAX_FILE)
		return dd_fail(err, DD_EINPUT, "%s: over 4 GiB, more than a FAT32 file can hold", path);
	if (!n || !(n->host_path = strdup(path)) || iso_node_add(dir, n, err)) {
		iso_node_free(n);
		return dd_fail(err, DD_ENOMEM, "out of memory");
	}
	n->size = (uint64_t)st.st_size;
	n->mtime = st.st_mtime;
	return DD_OK;
}

/* The image keeps its file name when FAT takes it, else it is image.dfi. */
static const char *image_name(const char *path)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t n = strlen(base);
	struct dd_err e;

	if (n < 5 || strcasecmp(base + n - 4, ".dfi") || !strcasecmp(base, DD_MASTER_FIRMWARE) ||
	    iso_name_check(base, "image", &e))
		return "image.dfi";
	return base;
}

static int make_tree(const struct master_args *a, struct iso_node **out, struct dd_err *err)
{
	struct iso_node *root = iso_node_new("", true), *dir = iso_node_new(DD_MASTER_DIR, true);
	int rc = DD_OK;

	if (!root || !dir || iso_node_add(root, dir, err)) {
		iso_node_free(dir);
		iso_node_free(root);
		return dd_fail(err, DD_ENOMEM, "out of memory");
	}
	rc = add_file(dir, image_name(a->image), a->image, err);
	if (!rc && a->firmware)
		rc = add_file(dir, DD_MASTER_FIRMWARE, a->firmware, err);
	if (!rc && a->batch)
		rc = add_file(dir, DD_MASTER_BATCH, a->batch, err);
	if (!rc)
		rc = iso_tree_finish(root, err);
	if (rc) {
		iso_node_free(root);
		return rc;
	}
	*out = root;
	return DD_OK;
}

static int write_stick(const struct master_args *a, struct iso_node *root, const char *const *inputs, unsigned n,
		       struct dd_err *err)
{
	struct iso_image img = { .path = a->out, .fd = -1, .root = root };
	uint64_t head = DISK_PART_LBA * 512ull, vol;
	struct fat32_plan plan = { 0 };
	int fd = -1, rc;

	if (a->size && a->size <= head + FAT32_MIN_BYTES)
		return dd_fail(err, DD_EUSAGE, "--size: at least %llu bytes",
			       (unsigned long long)(head + FAT32_MIN_BYTES + 512));
	vol = a->size ? a->size - head : fat32_auto_size(root);
	if ((rc = fat32_plan(root, vol, &plan, err)))
		return rc;
	plan.hidden = head / 512;
	plan.serial = 0x44415254u ^ (uint32_t)plan.vol_sectors; /* deterministic: same inputs, same bytes */
	fat32_label("DARTDUP", plan.label);
	if ((rc = dd_door_open_output(a->out, inputs, n, O_RDWR, DD_DOOR_TRUNC, 0644, &fd, err)))
		return rc;
	if (ftruncate(fd, (off_t)(head + plan.vol_sectors * 512)))
		rc = dd_fail_errno(err, DD_EIO, errno, "%s", a->out);
	if (!rc)
		rc = disk_write_plain_mbr(fd, plan.serial, plan.vol_sectors, err);
	if (!rc)
		rc = fat32_write(&img, root, &plan, fd, head, NULL, NULL, err);
	if ((fsync(fd) || close(fd)) && !rc)
		rc = dd_fail_errno(err, DD_EIO, errno, "%s", a->out);
	if (rc)
		unlink(a->out);
	return rc;
}

static int run(const struct master_args *a, struct dd_err *err)
{
	const char *inputs[3 + MAX_KEYS];
	struct iso_node *root = NULL;
	unsigned n = 0;
	int rc;

	inputs[n++] = a->image;
	if (a->firmware)
		inputs[n++] = a->firmware;
	if (a->batch)
		inputs[n++] = a->batch;
	for (unsigned i = 0; i < a->n_pubkeys; i++)
		inputs[n++] = a->pubkeys[i];
	/* judged before any work, and everything checked before anything is written */
	if ((rc = dd_door_judge_output(a->out, inputs, n, err)))
		return rc;
	if ((rc = check_package(a, a->image, false, err)))
		return rc;
	if (a->firmware && (rc = check_package(a, a->firmware, true, err)))
		return rc;
	if (a->batch && (rc = check_batch(a->batch, err)))
		return rc;
	if ((rc = make_tree(a, &root, err)))
		return rc;
	rc = write_stick(a, root, inputs, n, err);
	iso_node_free(root);
	return rc;
}

int cmd_master(int argc, char **argv)
{
	struct master_args a = { 0 };
	struct dd_err err = { 0 };
	int rc = parse_args(argc, argv, &a);

	if (rc >= 0)
		return rc;
	rc = run(&a, &err);
	if (rc) {
		cli_error("%s", err.msg);
		return dd_exit_status(rc);
	}
	printf("master stick image %s: %s/%s%s%s\n", DD_ESC(a.out), DD_MASTER_DIR, DD_ESC(image_name(a.image)),
	       a.firmware ? ", " DD_MASTER_FIRMWARE : "", a.batch ? ", " DD_MASTER_BATCH : "");
	return 0;
}
