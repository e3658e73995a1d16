/* dartdup pack IMAGE -o OUT.dfi: raw, .zst, xz, gzip, bzip2, lz4, zip or .dfi image -> signed .dfi package. */
#include "host/cli.h"
#include "host/image.h"
#include "format/dfi_reader.h"
#include "format/dfi_writer.h"
#include "util/escape.h"
#include "util/json.h"
#include "util/number.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "util/schema.h"

static void pack_usage(FILE *out)
{
	fprintf(out,
		"usage: dartdup pack IMAGE -o OUT.dfi [--key KEY] [--level N] [--block-size N] [--name TEXT]\n"
		"                    [--version V] [--threads N] [--json]\n"
		"\n"
		"Packs a raw disk image into a .dfi package: a zstd stream of independent blocks with a\n"
		"manifest of per-block SHA-256 hashes, optionally signed (ECDSA P-256).\n"
		"`zstd -dc OUT.dfi` gives back the image byte for byte.\n"
		"IMAGE by content: raw; .zst, xz, gzip, bzip2, lz4 or a zip of one image file (the decoded\n"
		"image is packed); a .dfi (repacked); a DaRT ISO: use `dartdup build ISO -o OUT.dfi`.\n"
		"\n"
		"  -o, --output OUT.dfi  the package to write (written beside, renamed into place at the end);\n"
		"                        a file: never a device, anything under /dev, IMAGE or KEY (exit 2)\n"
		"  -k, --key KEY         sign with this PEM private key (see dartdup keygen)\n"
		"  -l, --level N         zstd level (default 3)\n"
		"  -b, --block-size N    block size, a power of two from 4K to 64M (default 1M; K/M suffixes)\n"
		"  -n, --name TEXT       name stored in the package (default: the image's file name)\n"
		"      --version V       the image's version, signed with it: dotted numbers such as 3 or 1.2.0\n"
		"                        (default: none); a board refuses an older version of the name it holds\n"
		"  -t, --threads N       compression threads (default: one per CPU)\n"
		"      --json            print the result as one JSON object, no progress\n"
		"\n"
		"Reproducible: equal input and options give equal bytes; the creation time comes from\n"
		"SOURCE_DATE_EPOCH when set.\n"
		"exit status: 0 ok, 1 I/O failed, 2 bad usage or bad input\n");
}

/* --level: a zstd level, negative ones (the fast levels) included; 0 is not one. */
static int parse_level(const char *s, int *out)
{
	bool neg = *s == '-';
	uint64_t v;

	if (dd_parse_u64(s + neg, 1000, &v) || !v)
		return -1;
	*out = neg ? -(int)v : (int)v;
	return 0;
}

struct progress {
	int last_pct;
};

static void show_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;
	int pct = total ? (int)(done * 100 / total) : 100;

	if (pct == p->last_pct)
		return;
	p->last_pct = pct;
	fprintf(stderr, "\rpack: %3d%% (%llu of %llu MiB read)", pct, (unsigned long long)(done >> 20),
		(unsigned long long)(total >> 20));
	fflush(stderr);
}

static void report(const char *out, bool json)
{
	struct dfi_reader *r;
	struct dd_err err = { 0 };
	char id[2 * DD_SHA256_LEN + 1];

	if (dfi_open(out, NULL, &r, &err)) {
		cli_error("%s", err.msg);
		return;
	}
	dd_hex(id, r->image_id, DD_SHA256_LEN);
	if (json) {
		struct dd_json j;
		dd_json_init(&j);
		dd_json_begin_obj(&j, NULL);
		dd_json_schema(&j);
		dd_json_str(&j, "package", out);
		dd_json_str(&j, "image_id", id);
		dd_json_u64(&j, "image_size", r->m.image_size);
		dd_json_u64(&j, "package_size", r->file_size);
		dd_json_u64(&j, "block_size", r->m.block_size);
		dd_json_u64(&j, "blocks", r->m.block_count);
		dd_json_u64(&j, "zero_blocks", r->m.zero_blocks);
		dd_json_str(&j, "version", r->m.image_version[0] ? r->m.image_version : NULL);
		dd_json_bool(&j, "signed", r->sig.present);
		dd_json_end_obj(&j);
		puts(dd_json_text(&j));
		dd_json_free(&j);
	} else {
		printf("%s: %llu bytes in %llu blocks (%llu zero) -> %llu bytes, %s\nimage id %s\n", DD_ESC(out),
		       (unsigned long long)r->m.image_size, (unsigned long long)r->m.block_count,
		       (unsigned long long)r->m.zero_blocks, (unsigned long long)r->file_size,
		       r->sig.present ? "signed" : "unsigned", id);
		if (r->m.image_version[0])
			printf("version %s\n", r->m.image_version);
	}
	dfi_close(r);
}

/* IMAGE by content: a raw image streams straight into dfi_pack() (no scan first); anything to
 * decode or check (compressed, zip, .dfi) goes through the door (host/image.h) and is packed from
 * its source; an ISO is build's job (its package records the ISO's hash, name and date). */
static int pack_image(const char *in, const char *out, const struct dfi_pack_opts *o, struct dd_err *err)
{
	struct dd_source_opts so = { .block_size = o->block_size };
	const struct dd_magic *m;
	struct dd_source *src;
	bool iso;
	int rc;

	if ((rc = host_image_detect(in, &m, &iso, err)))
		return rc;
	if (iso)
		return dd_fail(err, DD_EINPUT, "%s: a DaRT ISO: make its package with dartdup build %s -o OUT.dfi",
			       in, in);
	if (!m)
		return dfi_pack(in, out, o, err);
	if ((rc = host_image_open(in, &so, &src, err)))
		return rc;
	rc = dfi_pack_source(src, in, out, o, err);
	dd_source_close(src);
	return rc;
}

int cmd_pack(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "key", required_argument, NULL, 'k' },
		{ "level", required_argument, NULL, 'l' },
		{ "block-size", required_argument, NULL, 'b' },
		{ "name", required_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 't' },
		{ "version", required_argument, NULL, 'V' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct dfi_pack_opts o = { 0 };
	struct progress prog = { .last_pct = -1 };
	struct dd_err err = { 0 };
	const char *out = NULL;
	bool json = false;
	uint64_t v;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:k:l:b:n:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'k': o.key_path = optarg; break;
		case 'n': o.name = optarg; break;
		case 'V': o.version = optarg; break;
		case 'j': json = true; break;
		case 'h': pack_usage(stdout); return 0;
		case 'l':
			if (parse_level(optarg, &o.level)) {
				cli_error("--level %s: not a zstd level", optarg);
				return 2;
			}
			break;
		case 'b':
			if (dd_parse_size(optarg, UINT32_MAX, &v)) {
				cli_error("--block-size %s: not a size", optarg);
				return 2;
			}
			o.block_size = (uint32_t)v;
			break;
		case 't':
			if (dd_parse_u64(optarg, 64, &v) || !v) {
				cli_error("--threads %s: must be from 1 to 64", optarg);
				return 2;
			}
			o.threads = (unsigned)v;
			break;
		default: pack_usage(stderr); return 2;
		}
	}
	if (!out || optind != argc - 1) {
		pack_usage(stderr);
		return 2;
	}
	if (!json && isatty(STDERR_FILENO)) {
		o.progress = show_progress;
		o.progress_ctx = &prog;
	}
	rc = pack_image(argv[optind], out, &o, &err);
	if (o.progress && prog.last_pct >= 0)
		fputc('\n', stderr);
	if (rc) {
		cli_error("%s", err.msg);
		return dd_exit_status(rc);
	}
	report(out, json);
	return 0;
}
