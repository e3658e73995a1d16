/* dartdup inspect IMAGE: show a package, check its signature and (with --check) every block. Any
 * other IMAGE shows what the door (host/image.h) makes of it: format, size, blocks, image id. */
#include "host/cli.h"
#include "host/image.h"
#include "format/dfi_reader.h"
#include "util/escape.h"
#include "util/json.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "util/schema.h"

#define MAX_PUBKEYS 16

static void inspect_usage(FILE *out)
{
	fprintf(out,
		"usage: dartdup inspect IMAGE [--pubkey PUB]... [--check] [--blocks] [--json]\n"
		"\n"
		"Validates a .dfi package's structure and prints its manifest summary. Any other IMAGE (raw,\n"
		".zst, xz, gzip, bzip2, lz4, zip, DaRT ISO) shows what write would make of it: format, size,\n"
		"blocks, image id.\n"
		"\n"
		"  -p, --pubkey PUB  the package must be signed by this key (repeat for several keys;\n"
		"                    unsigned or signed by another key: exit 2)\n"
		"  -c, --check       decode every block and compare its SHA-256 (mismatch: exit 1)\n"
		"      --blocks      list every block: offset, frame offset and size, zero, SHA-256\n"
		"      --json        print one JSON object instead of text\n"
		"\n"
		"exit status: 0 ok, 1 a block check failed, 2 bad usage, bad package or signature\n");
}

static const char *sig_text(const struct dfi_reader *r)
{
	switch (r->sig.state) {
	case DD_SIG_VERIFIED: return "verified";
	case DD_SIG_UNCHECKED: return "signed, not checked (no --pubkey)";
	default: return "unsigned";
	}
}

static void time_text(uint64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t > (uint64_t)1 << 40 || !gmtime_r(&tt, &tm) || !strftime(out, n, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(out, n, "%llu", (unsigned long long)t);
}

static void print_text(const struct dfi_reader *r, const char *const *keys, bool blocks)
{
	const struct dfi_manifest *m = &r->m;
	char hex[2 * DD_SHA256_LEN + 1], when[64];

	time_text(m->created, when, sizeof(when));
	dd_hex(hex, r->image_id, DD_SHA256_LEN);
	/* names and paths escaped (util/escape.h): a package's name is whatever its maker wrote */
	printf("package     %s (%llu bytes, format version %u)\n", DD_ESC(r->path), (unsigned long long)r->file_size,
	       m->version);
	printf("name        %s\n", DD_ESC(m->name));
	printf("version     %s\n", m->image_version[0] ? m->image_version : "none");
	printf("image id    %s\n", hex);
	printf("image size  %llu bytes\n", (unsigned long long)m->image_size);
	printf("blocks      %llu of %u bytes, %llu all zeros\n", (unsigned long long)m->block_count,
	       m->block_size, (unsigned long long)m->zero_blocks);
	printf("window      %u (%u KiB to decode a frame)\n", m->window_log, (1u << m->window_log) >> 10);
	printf("created     %s by %s\n", when, DD_ESC(m->tool));
	if (m->has_source_sha256) {
		dd_hex(hex, m->source_sha256, DD_SHA256_LEN);
		printf("source      sha256 %s\n", hex);
	}
	printf("signature   %s", sig_text(r));
	if (r->sig.present) {
		dd_hex(hex, r->sig.key_id, DD_SHA256_LEN);
		printf(", key id %s", hex);
		if (r->sig.state == DD_SIG_VERIFIED)
			printf(" (%s)", DD_ESC(keys[r->sig.key_index]));
	}
	putchar('\n');
	for (uint64_t i = 0; blocks && i < m->block_count; i++) {
		dd_hex(hex, m->hash[i], DD_SHA256_LEN);
		printf("block %llu  offset %llu  frame %llu+%u  %s%s\n", (unsigned long long)i,
		       (unsigned long long)(i * m->block_size), (unsigned long long)m->frame[i].offset,
		       m->frame[i].size, m->frame[i].zero ? "zero  " : "", hex);
	}
}

/* The result of --check, the same object for a package and for any other IMAGE. */
static void json_check(struct dd_json *j, int check_rc, const char *check_msg)
{
	dd_json_begin_obj(j, "check");
	dd_json_bool(j, "ok", check_rc == DD_OK);
	dd_json_str(j, "error", check_rc ? check_msg : NULL);
	dd_json_end_obj(j);
}

static void print_json(const struct dfi_reader *r, const char *const *keys, bool blocks, int check_rc,
		       bool checked, const char *check_msg)
{
	const struct dfi_manifest *m = &r->m;
	struct dd_json j;

	dd_json_init(&j);
	dd_json_begin_obj(&j, NULL);
	dd_json_schema(&j);
	dd_json_str(&j, "package", r->path);
	dd_json_u64(&j, "package_size", r->file_size);
	dd_json_u64(&j, "format_version", m->version);
	dd_json_str(&j, "name", m->name);
	dd_json_str(&j, "version", m->image_version[0] ? m->image_version : NULL);
	dd_json_hex(&j, "image_id", r->image_id, DD_SHA256_LEN);
	dd_json_u64(&j, "image_size", m->image_size);
	dd_json_u64(&j, "block_size", m->block_size);
	dd_json_u64(&j, "blocks", m->block_count);
	dd_json_u64(&j, "zero_blocks", m->zero_blocks);
	dd_json_u64(&j, "window_log", m->window_log);
	dd_json_u64(&j, "created", m->created);
	dd_json_str(&j, "tool", m->tool);
	if (m->has_source_sha256)
		dd_json_hex(&j, "source_sha256", m->source_sha256, DD_SHA256_LEN);
	else
		dd_json_null(&j, "source_sha256");
	dd_json_begin_obj(&j, "signature");
	dd_json_str(&j, "state", r->sig.state == DD_SIG_VERIFIED ? "verified" :
				 r->sig.state == DD_SIG_UNCHECKED ? "unchecked" : "none");
	if (r->sig.present)
		dd_json_hex(&j, "key_id", r->sig.key_id, DD_SHA256_LEN);
	if (r->sig.state == DD_SIG_VERIFIED)
		dd_json_str(&j, "pubkey", keys[r->sig.key_index]);
	dd_json_end_obj(&j);
	if (checked)
		json_check(&j, check_rc, check_msg);
	if (blocks) {
		dd_json_begin_arr(&j, "block_list");
		for (uint64_t i = 0; i < m->block_count; i++) {
			dd_json_begin_obj(&j, NULL);
			dd_json_u64(&j, "offset", i * m->block_size);
			dd_json_u64(&j, "frame_offset", m->frame[i].offset);
			dd_json_u64(&j, "frame_size", m->frame[i].size);
			dd_json_bool(&j, "zero", m->frame[i].zero);
			dd_json_hex(&j, "sha256", m->hash[i], DD_SHA256_LEN);
			dd_json_end_obj(&j);
		}
		dd_json_end_arr(&j);
	}
	dd_json_end_obj(&j);
	puts(dd_json_text(&j));
	dd_json_free(&j);
}

struct check_progress {
	int last_pct;
};

static void check_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct check_progress *p = ctx;
	int pct = total ? (int)(done * 100 / total) : 100;

	if (pct == p->last_pct)
		return;
	p->last_pct = pct;
	fprintf(stderr, "\rcheck: %3d%% (%llu of %llu blocks)", pct, (unsigned long long)done,
		(unsigned long long)total);
	fflush(stderr);
}

/* ---- any other IMAGE, opened through the door ---------------------------------------------- */

static uint64_t zero_blocks(const struct dd_image_info *info)
{
	uint64_t n = 0;

	for (uint64_t i = 0; i < info->block_count; i++)
		n += dd_block_is_zero(info, i);
	return n;
}

/* Read every block again and compare it with the hash the open computed. */
static int check_source(struct dd_source *src, struct dd_err *err)
{
	const struct dd_image_info *info = &src->info;
	uint8_t *buf = malloc(info->block_size), h[DD_SHA256_LEN];
	int rc = buf ? DD_OK : dd_fail(err, DD_ENOMEM, "out of memory");

	for (uint64_t i = 0; !rc && i < info->block_count; i++) {
		rc = dd_source_read_block(src, i, buf, err);
		if (rc)
			break;
		dd_sha256(buf, dd_block_len(info, i), h);
		if (memcmp(h, info->block_hash[i], DD_SHA256_LEN))
			rc = dd_fail(err, DD_ECHECK, "block %llu (image offset %llu) changed since it was read",
				     (unsigned long long)i, (unsigned long long)(i * info->block_size));
	}
	free(buf);
	return rc;
}

static void print_source_text(const char *path, const struct dd_image_info *info, bool blocks)
{
	char hex[2 * DD_SHA256_LEN + 1];

	dd_hex(hex, info->image_id, DD_SHA256_LEN);
	printf("image       %s\n", DD_ESC(path));
	printf("format      %s\n", info->format);
	printf("name        %s\n", DD_ESC(info->name));
	printf("image id    %s\n", hex);
	printf("image size  %llu bytes\n", (unsigned long long)info->image_size);
	printf("blocks      %llu of %u bytes, %llu all zeros\n", (unsigned long long)info->block_count,
	       info->block_size, (unsigned long long)zero_blocks(info));
	printf("signature   unsigned\n");
	for (uint64_t i = 0; blocks && i < info->block_count; i++) {
		dd_hex(hex, info->block_hash[i], DD_SHA256_LEN);
		printf("block %llu  offset %llu  %s%s\n", (unsigned long long)i,
		       (unsigned long long)(i * info->block_size), dd_block_is_zero(info, i) ? "zero  " : "", hex);
	}
}

static void print_source_json(const char *path, const struct dd_image_info *info, bool blocks, int check_rc,
			      bool checked, const char *check_msg)
{
	struct dd_json j;

	dd_json_init(&j);
	dd_json_begin_obj(&j, NULL);
	dd_json_str(&j, "image", path);
	dd_json_str(&j, "format", info->format);
	dd_json_str(&j, "name", info->name);
	dd_json_hex(&j, "image_id", info->image_id, DD_SHA256_LEN);
	dd_json_u64(&j, "image_size", info->image_size);
	dd_json_u64(&j, "block_size", info->block_size);
	dd_json_u64(&j, "blocks", info->block_count);
	dd_json_u64(&j, "zero_blocks", zero_blocks(info));
	dd_json_begin_obj(&j, "signature");
	dd_json_str(&j, "state", "none");
	dd_json_end_obj(&j);
	if (checked)
		json_check(&j, check_rc, check_msg);
	if (blocks) {
		dd_json_begin_arr(&j, "block_list");
		for (uint64_t i = 0; i < info->block_count; i++) {
			dd_json_begin_obj(&j, NULL);
			dd_json_u64(&j, "offset", i * info->block_size);
			dd_json_bool(&j, "zero", dd_block_is_zero(info, i));
			dd_json_hex(&j, "sha256", info->block_hash[i], DD_SHA256_LEN);
			dd_json_end_obj(&j);
		}
		dd_json_end_arr(&j);
	}
	dd_json_end_obj(&j);
	puts(dd_json_text(&j));
	dd_json_free(&j);
}

static int inspect_source(const char *path, const struct dfi_open_opts *oo, bool check, bool json, bool blocks)
{
	struct dd_source_opts so = { .pubkeys = oo->pubkeys, .n_pubkeys = oo->n_pubkeys };
	struct dd_err err = { 0 }, cerr = { 0 };
	struct dd_source *src;
	int crc = DD_OK;

	if (host_image_open(path, &so, &src, &err)) {
		cli_error("%s", err.msg);
		return dd_exit_status(err.code);
	}
	if (check)
		crc = check_source(src, &cerr);
	if (json)
		print_source_json(path, &src->info, blocks, crc, check, cerr.msg);
	else
		print_source_text(path, &src->info, blocks);
	if (check && crc)
		cli_error("%s: %s", path, cerr.msg);
	else if (check && !json)
		printf("check       all %llu blocks read again and match their SHA-256\n",
		       (unsigned long long)src->info.block_count);
	dd_source_close(src);
	return dd_exit_status(crc);
}

int cmd_inspect(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pubkey", required_argument, NULL, 'p' },
		{ "check", no_argument, NULL, 'c' },
		{ "blocks", no_argument, NULL, 'B' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *keys[MAX_PUBKEYS];
	struct dfi_open_opts oo = { .pubkeys = keys };
	struct check_progress prog = { .last_pct = -1 };
	struct dfi_check_opts co = { 0 };
	bool check = false, json = false, blocks = false;
	struct dd_err err = { 0 }, cerr = { 0 };
	struct dfi_reader *r;
	const struct dd_magic *m;
	bool iso;
	int c, rc, crc = DD_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:ch", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (oo.n_pubkeys == MAX_PUBKEYS) {
				cli_error("--pubkey: at most %d keys", MAX_PUBKEYS);
				return 2;
			}
			keys[oo.n_pubkeys++] = optarg;
			break;
		case 'c': check = true; break;
		case 'B': blocks = true; break;
		case 'j': json = true; break;
		case 'h': inspect_usage(stdout); return 0;
		default: inspect_usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		inspect_usage(stderr);
		return 2;
	}
	/* by content: what starts like a package is read as one (a damaged one fails here) */
	rc = host_image_detect(argv[optind], &m, &iso, &err);
	if (!rc && (!m || m->kind != DD_MAGIC_DFI))
		return inspect_source(argv[optind], &oo, check, json, blocks);
	if (!rc)
		rc = dfi_open(argv[optind], &oo, &r, &err);
	if (rc) {
		cli_error("%s", err.msg);
		return dd_exit_status(rc);
	}
	if (check) {
		if (!json && isatty(STDERR_FILENO)) {
			co.progress = check_progress;
			co.progress_ctx = &prog;
		}
		crc = dfi_check(r, &co, NULL, &cerr);
		if (co.progress && prog.last_pct >= 0)
			fputc('\n', stderr);
	}
	if (json)
		print_json(r, keys, blocks, crc, check, cerr.msg);
	else
		print_text(r, keys, blocks);
	if (check && crc)
		cli_error("%s", cerr.msg);
	else if (check && !json)
		printf("check       all %llu blocks decode and match their SHA-256\n",
		       (unsigned long long)r->m.block_count);
	dfi_close(r);
	return dd_exit_status(crc);
}
