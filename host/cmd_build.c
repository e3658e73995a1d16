/* dartdup build DART.iso -o OUT.dfi [--key KEY] [--name TEXT] [--size BYTES] [--format usb|partition|wds]
 * A thin front end over host/iso/build.h and dfi_pack(). */
#include "format/dfi_writer.h"
#include "host/cli.h"
#include "host/iso/build.h"
#include "host/iso/deploy.h"
#include "crypto/sign.h"
#include "release/release.h"
#include "safety/door.h"
#include "util/escape.h"
#include "util/json.h"
#include "util/number.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "util/schema.h"
#include "util/version.h"

struct build_args {
	const char *iso, *out, *key, *name, *version;
	struct dd_build_opts opts;
	bool raw, json, quiet;
};

/* the .dfi format's limit on an image (docs/FORMAT.md: image_size at most 2^50) */
#define DD_BUILD_MAX_SIZE (1ULL << 50)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: dartdup build DART.iso -o OUT [--key KEY.pem] [--name TEXT] [--version V] [--size BYTES]\n"
		"                     [--format usb|partition|winre|wds] [--raw] [--json] [--quiet]\n"
		"  --format usb        (default) a disk image: MBR, GRUB for BIOS boot, FAT32 partition at 1 MiB\n"
		"  --format partition  the FAT32 volume alone\n"
		"  --format winre      OUT is a folder: winre.wim, the Windows RE partition image (NTFS), diskpart\n"
		"                      and reagentc scripts, README.txt (DaRT's recovery-partition method)\n"
		"  --format wds        OUT is a folder: boot.wim, boot.wim.sha256, the wdsutil command, README.txt\n"
		"                      (DaRT's remote-partition method)\n"
		"  --format release    OUT is a folder: stick.dfi (the usb image, signed) and all of winre and wds\n"
		"  (winre, wds and release also write RELEASE.txt: every file's SHA-256, signed with --key;\n"
		"   check a folder with dartdup verify-release OUT --pubkey KEY.pub)\n"
		"  --size BYTES        image (usb), volume (partition) or Windows RE partition (winre) size,\n"
		"                      suffixes K M G; default: content + headroom (winre: the DaRT rule, docs/BUILD.md)\n"
		"  --raw               write the raw image to OUT instead of packing a .dfi\n"
		"                      (OUT must be named *.dfi without --raw, and must not be with it)\n"
		"  --key, --name       sign the .dfi with KEY.pem; its name (default: the ISO's volume id)\n"
		"  --version V         the .dfi's version (dotted numbers, e.g. 3 or 1.2.0; default: none)\n"
		"OUT is a file: never a device, anything under /dev, or the ISO itself (refused, exit 2).\n");
}

static int parse_args(int argc, char **argv, struct build_args *a)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' }, { "key", required_argument, NULL, 'k' },
		{ "name", required_argument, NULL, 'n' },   { "size", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' }, { "raw", no_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },         { "quiet", no_argument, NULL, 'q' },
		{ "version", required_argument, NULL, 'V' }, { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:k:n:s:f:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': a->out = optarg; break;
		case 'k': a->key = optarg; break;
		case 'n':
			/* refused before the build, not after minutes of it (dfi_pack would refuse it too) */
			if (!dd_utf8_text_ok(optarg, strlen(optarg))) {
				cli_error("--name %s: not UTF-8 text (control characters or invalid UTF-8)", optarg);
				return 2;
			}
			a->name = optarg;
			break;
		case 'V':
			/* refused before the build, as --name is */
			if (!dd_version_ok(optarg, strlen(optarg))) {
				cli_error("--version %s: not a version (dotted numbers such as 3 or 1.2.0)", optarg);
				return 2;
			}
			a->version = optarg;
			break;
		case 'r': a->raw = true; break;
		case 'j': a->json = true; break;
		case 'q': a->quiet = true; break;
		case 's':
			if (dd_parse_size(optarg, DD_BUILD_MAX_SIZE, &a->opts.size)) {
				cli_error("--size %s: not a size (bytes, or a number with K, M or G) up to 1 PiB", optarg);
				return 2;
			}
			break;
		case 'f':
			if (!strcmp(optarg, "usb"))
				a->opts.format = DD_BUILD_USB;
			else if (!strcmp(optarg, "partition"))
				a->opts.format = DD_BUILD_PARTITION;
			else if (!strcmp(optarg, "wds"))
				a->opts.format = DD_BUILD_WDS;
			else if (!strcmp(optarg, "winre"))
				a->opts.format = DD_BUILD_WINRE;
			else if (!strcmp(optarg, "release"))
				a->opts.format = DD_BUILD_RELEASE;
			else {
				cli_error("--format %s: expected usb, partition, winre, wds or release", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc || !a->out) {
		usage(stderr);
		return 2;
	}
	a->iso = argv[optind];
	return -1;
}

/* The name says what the file holds: a package is OUT.dfi, a raw image (or wds's WIM) is not. A raw
 * image named .dfi, or a package named .img, would mislead every later reader and user. */
static int check_out_name(const struct build_args *a)
{
	size_t n = strlen(a->out);
	bool dfi = n >= 4 && !strcasecmp(a->out + n - 4, ".dfi");

	if (!a->raw && !dfi) {
		cli_error("%s: without --raw, build writes a .dfi package: name it *.dfi, or add --raw for the "
			  "raw disk image", a->out);
		return 2;
	}
	if (a->raw && dfi) {
		cli_error("%s: a raw image named .dfi: name it *.img (or drop --raw for a package)", a->out);
		return 2;
	}
	return -1;
}

static void show_progress(void *ctx, uint64_t done, uint64_t total)
{
	(void)ctx;
	fprintf(stderr, "\rbuild: copying files %3u%%", total ? (unsigned)(done * 100 / total) : 100);
	if (done == total)
		fputc('\n', stderr);
}

static void print_json(const struct build_args *a, const struct dd_build_report *rep, const uint8_t *release_id)
{
	static const char *const fmt[] = { "usb", "partition", "wds", "winre", "release" };
	const struct dd_winpe_release *release = dd_build_winpe_release(rep);
	struct dd_json j;

	dd_json_init(&j);
	dd_json_begin_obj(&j, NULL);
	dd_json_schema(&j);
	dd_json_str(&j, "event", "built");
	dd_json_str(&j, "output", a->out);
	dd_json_str(&j, "format", fmt[a->opts.format]);
	dd_json_str(&j, "fs", rep->fs);
	dd_json_str(&j, "volume_id", rep->volume_id);
	dd_json_str(&j, "arch", rep->arch[0] ? rep->arch : NULL);
	dd_json_str(&j, "winpe", rep->winpe[0] ? rep->winpe : NULL);
	dd_json_str(&j, "wim_name", rep->wim_name[0] ? rep->wim_name : NULL);
	dd_json_str(&j, "winpe_version", release ? release->pe : NULL);
	dd_json_str(&j, "secure_boot", dd_secure_boot_name(dd_build_secure_boot(rep)));
	dd_json_bool(&j, "bios", rep->bios);
	dd_json_str(&j, "uefi", rep->uefi[0] ? rep->uefi : NULL);
	dd_json_bool(&j, "cd_bios", rep->cd_bios);
	dd_json_bool(&j, "cd_uefi", rep->cd_uefi);
	dd_json_u64(&j, "files", rep->files);
	dd_json_u64(&j, "dirs", rep->dirs);
	dd_json_u64(&j, "bytes", rep->bytes);
	dd_json_u64(&j, "image_size", rep->image_size);
	dd_json_hex(&j, "iso_sha256", rep->iso_sha256, DD_SHA256_LEN);
	if (a->opts.format >= DD_BUILD_WDS)
		dd_json_hex(&j, "wim_sha256", rep->out_sha256, DD_SHA256_LEN);
	if (release_id)
		dd_json_hex(&j, "release_id", release_id, DD_SHA256_LEN);
	dd_json_end_obj(&j);
	puts(dd_json_text(&j));
	dd_json_free(&j);
}

static int pack(const struct build_args *a, const char *raw, const struct dd_build_report *rep,
		struct dd_err *err)
{
	struct dfi_pack_opts po = { 0 };
	char volume[sizeof(rep->volume_id)];

	/* the ISO's volume id is the ISO maker's text: made UTF-8 text ('?' for the rest) for the package */
	dd_utf8_text_fix(volume, sizeof(volume), rep->volume_id);
	po.name = a->name ? a->name : volume[0] ? volume : "DaRT";
	po.key_path = a->key;
	po.version = a->version;
	po.source_sha256 = rep->iso_sha256;
	/* the ISO's own date, so a rebuild gives the same package */
	po.created = rep->created > 0 ? (uint64_t)rep->created : 1;
	return dfi_pack(raw, a->out, &po, err);
}

/* Every path this build will write, judged by the door before anything is opened: OUT, the raw
 * temporary file a .dfi is packed from (then renamed over nothing: dfi_pack's own temporary file is
 * new). None may be a device, lie under /dev, or be the ISO or the key. */
static int judge_outputs(const struct build_args *a, const char *target, struct dd_err *err)
{
	const char *inputs[] = { a->iso, a->key };
	int rc;

	if ((rc = dd_door_judge_output(a->out, inputs, 2, err)))
		return rc;
	if (target != a->out && (rc = dd_door_judge_output(target, inputs, 2, err)))
		return rc;
	return DD_OK;
}

/* --format release: the stick image packed into DIR/stick.dfi, beside what deploy wrote. */
static int build_stick(const struct build_args *a, struct dd_err *err)
{
	struct build_args b = *a;
	struct dd_build_report rep;
	char raw[4096], dfi[4096];
	int rc;

	snprintf(raw, sizeof(raw), "%s/stick.dfi.raw.tmp", a->out);
	snprintf(dfi, sizeof(dfi), "%s/stick.dfi", a->out);
	b.out = dfi;
	b.opts.format = DD_BUILD_USB;
	b.opts.size = 0; /* --size is the Windows RE partition's here */
	if ((rc = judge_outputs(&b, raw, err)))
		return rc;
	rc = dd_build(a->iso, raw, &b.opts, &rep, err);
	if (!rc)
		rc = pack(&b, raw, &rep, err);
	unlink(raw);
	return rc;
}

/* A build that failed after deploy wrote its files (the stick, the release) leaves none of them: a
 * half folder must not pass for a release. */
static void remove_outputs(const char *dir, const char *const *names, size_t n)
{
	char path[4096];

	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
}

/* --format winre|wds|release: a folder of files (host/iso/deploy.h), listed in a signed RELEASE.txt. */
static int build_folder(struct build_args *a)
{
	static const char *const fmt[] = { [DD_BUILD_WDS] = "wds", [DD_BUILD_WINRE] = "winre",
					    [DD_BUILD_RELEASE] = "release" };
	const char *inputs[] = { a->iso, a->key };
	struct dd_deploy d = { .format = a->opts.format, .dir = a->out, .inputs = inputs, .n_inputs = 2,
			       .size = a->opts.size };
	const char *names[DD_DEPLOY_MAX_FILES + 1];
	size_t n = 0;
	struct dd_build_report rep;
	struct dd_release rel;
	struct dd_err err = { 0 };
	char hex[2 * DD_SHA256_LEN + 1];
	int rc;

	if (a->raw) {
		cli_error("--raw: --format %s writes a folder of files, nothing to pack", fmt[a->opts.format]);
		return 2;
	}
	/* a key that cannot sign is refused before anything is written, not after the build */
	if (a->key) {
		struct dd_signer *s;

		if ((rc = dd_signer_open(a->key, &s, &err))) {
			cli_error("%s", err.msg);
			return dd_exit_status(rc);
		}
		dd_signer_close(s);
	}
	rc = dd_deploy(a->iso, &d, &rep, &err);
	if (!rc && a->opts.format == DD_BUILD_RELEASE) {
		rc = build_stick(a, &err);
		names[n++] = "stick.dfi";
	}
	for (size_t i = 0; i < d.n_files; i++)
		names[n++] = d.files[i];
	/* one signed list of everything written: dartdup verify-release proves the folder */
	if (!rc)
		rc = dd_release_write(a->out, names, n, rep.iso_sha256, a->key, inputs, 2, &rel, &err);
	if (rc && d.n_files)
		remove_outputs(a->out, names, n);
	if (rc) {
		cli_error("%s", err.msg);
		return dd_exit_status(rc);
	}
	if (a->json) {
		print_json(a, &rep, rel.id);
		return 0;
	}
	if (a->quiet)
		return 0;
	dd_build_print_report(stdout, &rep);
	printf("wrote %s:", DD_ESC(a->out));
	for (size_t i = 0; i < n; i++)
		printf(" %s", names[i]);
	dd_hex(hex, rel.id, DD_SHA256_LEN);
	printf(" " DD_RELEASE_FILE "\nrelease %s%s\n", hex, a->key ? " (signed)" : " (unsigned: build with --key "
	       "to sign it)");
	return 0;
}

int cmd_build(int argc, char **argv)
{
	struct build_args a = { 0 };
	struct dd_build_report rep;
	struct dd_err err = { 0 };
	char tmp[4096];
	const char *target;
	int rc;

	if ((rc = parse_args(argc, argv, &a)) >= 0)
		return rc;
	if (!a.quiet && !a.json && isatty(2))
		a.opts.progress = show_progress;
	if (a.opts.format >= DD_BUILD_WDS)
		return build_folder(&a);
	target = a.out;
	if (!a.raw) {
		snprintf(tmp, sizeof(tmp), "%s.raw.tmp", a.out);
		target = tmp;
	}
	/* where before what: a device named as OUT is refused as a device, whatever its name says */
	rc = judge_outputs(&a, target, &err);
	if (!rc) {
		int named = check_out_name(&a);

		if (named >= 0)
			return named;
	}
	if (!rc)
		rc = dd_build(a.iso, target, &a.opts, &rep, &err);
	if (!rc && !a.raw) {
		rc = pack(&a, target, &rep, &err);
		unlink(target);
	}
	if (rc) {
		cli_error("%s", err.msg);
		return dd_exit_status(rc);
	}
	if (a.json)
		print_json(&a, &rep, NULL);
	else if (!a.quiet) {
		dd_build_print_report(stdout, &rep);
		printf("wrote %s (%llu bytes)\n", DD_ESC(a.out), (unsigned long long)rep.image_size);
	}
	return 0;
}
