/* Fuzz target: the board side of the link protocol: what `dartdupd` receives from a PC it does
 * not trust. The input is the byte stream from the PC; the receive buffer cuts it into frames and
 * every request is decoded; each malformed one must get a well-formed ERROR reply (sent through
 * the transport, which checks it) and the board must keep going until the stream is not frames.
 * TODO(board): once firmware/ is on main, hand decoded requests to dd_daemon_handle() of a sim
 * board so the handlers (load offsets, transfer handles, log ranges) are fuzzed too. */
#include "fuzz_link.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t tx[DD_LINK_TX_CAP];
	struct dd_link_transport t;
	struct fuzz_pipe fp;
	struct dd_link_rx rx;
	struct dd_err err;

	fuzz_pipe_init(&fp, &t, data, size);
	fuzz_rx_init(&rx);
	for (;;) {
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
		if (dd_link_decode(&h, payload, &m, &code, &err) != DD_OK || dd_link_is_reply(&m)) {
			if (!code)  /* decoded, but a reply: the board never asked */
				code = dd_fail(&err, DD_EINPUT, "unexpected reply") ? DD_LERR_FIELD : 0;
			FUZZ_ASSERT(code > 0 && code <= DD_LERR_INTERNAL);
			FUZZ_ASSERT(dd_link_send_error(&t, tx, h.type, h.tag, code, 0, err.msg, &err) == DD_OK);
			continue;
		}
		fuzz_reencode(&m);
		if (m.type == DD_MSG_LOAD_DATA)
			FUZZ_ASSERT(m.u.load_data.data >= payload && m.u.load_data.len <= h.length &&
				    m.u.load_data.data + m.u.load_data.len <= payload + h.length);
	}
	return 0;
}
