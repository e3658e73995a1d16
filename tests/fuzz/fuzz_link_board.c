/* Fuzz target: the board side of the link protocol: what `dartdupd` receives from a PC it does
 * not trust. The input is the byte stream from the PC; the receive buffer cuts it into frames and
 * every frame is decoded. A malformed one must get a well-formed ERROR reply (the transport checks
 * every frame sent back) and the board keeps going until the stream is not frames.
 *
 * With the firmware in the tree (firmware/daemon.h; mk/fuzz.mk defines DD_FUZZ_HAVE_BOARD) every
 * decoded request goes to the daemon's real handlers, dd_daemon_handle(), on a simulated board
 * with two ports, the fuzz depot key and a store emptied before each input: transfers, offsets,
 * handles, log ranges, starting a job without an image, all with hostile values. The loop below is
 * the daemon's own serve_frames() (firmware/daemon.c), step for step, without its per-peer output
 * buffer (every reply goes straight to the pipe; a peer that reads slowly is tests/unit/test_daemon_peers.c).
 * After every request, a transfer the board accepted must fit its store (check_room). */
#include "fuzz_link.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sys/statvfs.h>

#ifdef DD_FUZZ_HAVE_BOARD
#include "firmware/board.h"
#include "firmware/daemon.h"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef DD_FUZZ_HAVE_BOARD
static char dir[64], store[96];
static struct dd_board *board;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag;
	if (ftw->level > 0)
		remove(path);
	return 0;
}

static void cleanup(void)
{
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* static: the board keeps pointers to its arguments */
	static char key[PATH_MAX], sock[96], p1[96], p2[96];
	static char *bargv[] = { "sim", "--socket", sock, "--store", store, "--pubkey", key, "--port", p1,
				 "--port", p2, "--serial", "FUZZ", NULL };
	struct dd_err err;
	int fd;

	if (fuzz_key_path(key, sizeof(key))) {
		fprintf(stderr, "fuzz_link_board: keys/fuzz.pub missing beside the target (make fuzz-seeds)\n");
		abort();
	}
	snprintf(dir, sizeof(dir), "/tmp/dartdup-fuzz-board-XXXXXX");
	FUZZ_ASSERT(mkdtemp(dir));
	atexit(cleanup);
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	snprintf(store, sizeof(store), "%s/store", dir);
	snprintf(p1, sizeof(p1), "%s/stick1", dir);
	snprintf(p2, sizeof(p2), "%s/stick2", dir);  /* port 2 stays empty */
	fd = open(p1, O_CREAT | O_WRONLY, 0600);
	FUZZ_ASSERT(fd >= 0 && ftruncate(fd, 4 << 20) == 0);
	close(fd);
	if (dd_board_find("sim")->open(13, bargv, &board, &err)) {
		fprintf(stderr, "fuzz_link_board: sim board: %s\n", err.msg);
		abort();
	}
	return 0;
}

/* A transfer the board accepted fits in its store: never more than the file system holds, a firmware
 * bundle never over its quota (docs/PROTOCOL.md "Room in the store"; 2^40 and 2^62 were accepted). */
static void check_room(const struct dd_daemon *d)
{
	struct statvfs v;

	FUZZ_ASSERT(statvfs(store, &v) == 0);
	for (int k = DD_KIND_IMAGE; k <= DD_KIND_FIRMWARE; k++) {
		const struct dd_store_xfer *x = &d->store.xfer[k];

		if (!x->open)
			continue;
		FUZZ_ASSERT(x->size <= (uint64_t)v.f_blocks * v.f_frsize);
		FUZZ_ASSERT(k != DD_KIND_FIRMWARE || x->size <= DD_STORE_FIRMWARE_MAX);
	}
}

/* The board's audit key is made once (a key generation per input would slow the fuzzer a hundredfold). */
static int rm_but_key(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	const char *base = path + ftw->base;

	if (!strcmp(base, "audit.key") || !strcmp(base, "audit.pub"))
		return 0;
	return rm_entry(path, st, flag, ftw);
}

/* Every input starts from an empty store: no image, no transfer, no log (the same audit key). */
static void empty_store(void)
{
	nftw(store, rm_but_key, 8, FTW_DEPTH | FTW_PHYS);
}
#else
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return 0;
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t tx[DD_LINK_TX_CAP];
	struct dd_link_transport t;
	struct fuzz_pipe fp;
	struct dd_link_rx rx;
	struct dd_err err;
	bool keep = true;
#ifdef DD_FUZZ_HAVE_BOARD
	static struct dd_daemon d;

	empty_store();
	if (dd_daemon_init(&d, board, &err)) {
		fprintf(stderr, "fuzz_link_board: daemon: %s\n", err.msg);
		abort();
	}
#endif
	fuzz_pipe_init(&fp, &t, data, size);
	fuzz_rx_init(&rx);
	while (keep) {
		struct dd_link_header h;
		struct dd_link_msg m;
		const uint8_t *payload;
		size_t got;
		int code, rc = dd_link_rx_next(&rx, &h, &payload, &code, &err);

		if (rc < 0) {
			/* not frames: tell the PC once, then the board resets the link */
			FUZZ_ASSERT(code == DD_LERR_FRAME);
			FUZZ_ASSERT(dd_link_send_error(&t, tx, 0, 0, code, 0, err.msg, &err) == DD_OK);
			break;
		}
		if (rc == 0) {
			if (dd_link_rx_fill(&rx, &t, 0, &got, &err))
				break;
			continue;
		}
		if (dd_link_decode(&h, payload, &m, &code, &err) != DD_OK) {
			FUZZ_ASSERT(code > 0 && code <= DD_LERR_INTERNAL);
			FUZZ_ASSERT(dd_link_send_error(&t, tx, h.type, h.tag, code, 0, err.msg, &err) == DD_OK);
			continue;
		}
		if (dd_link_is_reply(&m)) {
			FUZZ_ASSERT(dd_link_send_error(&t, tx, h.type, h.tag, DD_LERR_FIELD, 0, "a reply", &err) == DD_OK);
			continue;
		}
		fuzz_reencode(&m);
		if (m.type == DD_MSG_LOAD_DATA)
			FUZZ_ASSERT(m.u.load_data.data >= payload && m.u.load_data.len <= h.length &&
				    m.u.load_data.data + m.u.load_data.len <= payload + h.length);
#ifdef DD_FUZZ_HAVE_BOARD
		{
			size_t len = 0;

			/* every request gets an answer, a well-formed frame (checked by the pipe's send); a
			 * LOAD_END's comes once its verification is done (the loop does it a slice per turn) */
			FUZZ_ASSERT(dd_daemon_handle(&d, &m, &len, &err) == DD_OK);
			if (!len)
				FUZZ_ASSERT(dd_daemon_load_end_now(&d, &len, &err) == DD_OK);
			FUZZ_ASSERT(len > 0);
			keep = t.ops->send(&t, d.tx, len, &err) == DD_OK;
			check_room(&d);
		}
#endif
	}
#ifdef DD_FUZZ_HAVE_BOARD
	dd_daemon_fini(&d);
#endif
	return 0;
}
