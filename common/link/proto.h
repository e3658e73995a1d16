/* link protocol: the messages between the PC (`dartdup board`) and a duplicator board (`dartdupd`),
 * specified in docs/PROTOCOL.md. Written once, above the transports (Unix socket, libusb, FunctionFS).
 *
 * A frame is a 16-byte header, a payload of `length` bytes and `pad` zero bytes:
 *
 *   magic "DDLK" | version u8 | type u8 | flags u8 | pad u8 | tag u32 | length u32   (little-endian)
 *
 * dd_link_encode() builds a whole frame from a struct dd_link_msg; dd_link_parse_header() checks a
 * header on its own (so a receiver knows how many bytes follow before it reads them) and
 * dd_link_decode() checks a payload against its message type: every length and field, and that
 * nothing is left over. Decoding never allocates: strings are copied into fixed fields, bulk data
 * (load chunks, log records) points into the frame buffer. */
#ifndef DARTDUP_LINK_PROTO_H
#define DARTDUP_LINK_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash/sha256.h"
#include "util/err.h"
#include "util/version.h"

#define DD_LINK_MAGIC "DDLK"
#define DD_LINK_HDR_LEN 16
#define DD_LINK_FRAME_VERSION 1      /* header layout; the magic..length fields never move */
#define DD_LINK_PROTO_MIN 1          /* message set versions this code speaks */
#define DD_LINK_PROTO_MAX 4          /* 2: TIME, AUDIT, START with batch/operator; 3: START's flags, a port's
                                        failure kind, REVOKE, LOAD_BEGIN's flags, PORTS;
                                        4: INFO's image version (a field after the end of a
                                        version 3 reply, which a version 3 PC refuses) */
#define DD_LINK_MAX_PAYLOAD (1u << 20) /* 1 MiB: the largest payload either side accepts */
#define DD_LINK_MAX_CHUNK (DD_LINK_MAX_PAYLOAD - 16) /* load data bytes in one LOAD_DATA */
/* Where a LOAD_DATA frame's data start: a sender that reads them to buf + this is not copied again */
#define DD_LINK_LOAD_DATA_AT (DD_LINK_HDR_LEN + 16)
#define DD_LINK_PAD_UNIT 64          /* frames never end on a multiple of this (USB short packets) */
#define DD_LINK_MAX_PORTS 32
#define DD_LINK_MAX_KEYS 8
#define DD_LINK_STR_MAX 255          /* longest string field, bytes */
#define DD_LINK_PORT_NAME_MAX 23     /* longest port name in PORTS, bytes (= DD_PORT_LABEL_MAX - 1) */

enum dd_link_type {
	DD_MSG_HELLO = 0x01,
	DD_MSG_INFO = 0x02,
	DD_MSG_LOAD_BEGIN = 0x10,
	DD_MSG_LOAD_DATA = 0x11,
	DD_MSG_LOAD_END = 0x12,
	DD_MSG_LOAD_CANCEL = 0x13,
	DD_MSG_START = 0x20,
	DD_MSG_ABORT = 0x21,
	DD_MSG_STATUS = 0x22,
	DD_MSG_LOG = 0x23,
	DD_MSG_SELFTEST = 0x24, /* the board checks its hardware and store; the reply is LOG's shape */
	DD_MSG_TIME = 0x25,     /* version 2: the PC sets the board's clock */
	DD_MSG_AUDIT = 0x26,    /* version 2: the audit log's state and the board's audit key */
	DD_MSG_REVOKE = 0x27,   /* version 3: a signed revocation list for the board (or, empty, its serial) */
	DD_MSG_PORTS = 0x28,    /* version 3: the names of the board's ports (the sockets a technician reads) */
};
/* An error reply keeps the request's type (even an unknown one) and sets REPLY|ERROR. */

enum dd_link_flag {
	DD_LINK_F_REPLY = 0x01,
	DD_LINK_F_ERROR = 0x02,
};

/* Error codes carried in an ERROR reply (docs/PROTOCOL.md "Errors"). */
enum dd_link_errcode {
	DD_LERR_FRAME = 1,      /* bad magic or a length over the limit: the receiver resets the link */
	DD_LERR_VERSION = 2,    /* frame or protocol version not spoken */
	DD_LERR_TYPE = 3,       /* unknown message type */
	DD_LERR_LENGTH = 4,     /* payload too short or too long for its type */
	DD_LERR_FIELD = 5,      /* a field out of range */
	DD_LERR_STATE = 6,      /* not now: a job is running, no transfer open, ... */
	DD_LERR_OFFSET = 7,     /* load data not at the expected offset; `value` = expected offset */
	DD_LERR_REFUSED = 8,    /* package unsigned, unknown key, bad hash, wrong kind */
	DD_LERR_NO_IMAGE = 9,   /* start without a stored image */
	DD_LERR_NO_STICKS = 10, /* start with no stick in any port */
	DD_LERR_IO = 11,        /* storage error on the board */
	DD_LERR_INTERNAL = 12,
	DD_LERR_NO_SPACE = 13,  /* the store cannot hold the package; `value` = bytes it can take */
};
#define DD_LERR_MAX DD_LERR_NO_SPACE

/* What a transfer carries. */
enum dd_link_kind {
	DD_KIND_IMAGE = 1,     /* a .dfi package: becomes the stored image */
	DD_KIND_FIRMWARE = 2,  /* a firmware bundle (docs/PROTOCOL.md "Firmware bundle") */
};

/* A port's state as the board shows it (also its light). */
enum dd_port_state {
	DD_PORT_EMPTY = 0,     /* no stick: light off */
	DD_PORT_READY = 1,     /* stick present, no result: light off */
	DD_PORT_BUSY = 2,      /* writing */
	DD_PORT_VERIFYING = 3,
	DD_PORT_PASS = 4,
	DD_PORT_FAIL = 5,
	DD_PORT_ATTENTION = 6, /* stick present but unusable (too small, unreadable) */
};
#define DD_PORT_STATE_MAX DD_PORT_ATTENTION

/* Where the board's clock comes from (TIME and AUDIT replies, the "time_source" of a record). */
enum dd_time_source {
	DD_TIME_UNSET = 0,  /* never set since boot: the clock is not trusted, records carry no time */
	DD_TIME_PC = 1,     /* set by a PC over the link (TIME) */
	DD_TIME_RTC = 2,    /* read from the board's battery-backed RTC at boot */
	DD_TIME_MASTER = 3, /* taken from a master stick (issue 15 item 1) */
};
#define DD_TIME_SOURCE_MAX DD_TIME_MASTER

/* How full the audit log is (AUDIT reply). */
enum dd_log_state {
	DD_LOG_OK = 0,
	DD_LOG_WARNING = 1, /* the store is nearly full: read the log (dartdup board log) soon */
	DD_LOG_FULL = 2,    /* no room for another record: START and the button are refused */
};
#define DD_LOG_STATE_MAX DD_LOG_FULL

enum dd_job_state {
	DD_JOB_IDLE = 0,    /* no job since the board started */
	DD_JOB_RUNNING = 1,
	DD_JOB_DONE = 2,    /* the last job ended; results in the ports */
};

/* A port's phase and result in STATUS: the protocol's own numbers, fixed forever (docs/PROTOCOL.md
 * "Values"); a later version only adds new ones. The board maps the engine's enum dd_phase and
 * enum dd_result onto them in one place (link/wire.h: an engine value without a wire value does not
 * compile), so renumbering the engine never changes what travels. */
enum dd_link_phase {
	DD_LPHASE_QUEUED = 0,
	DD_LPHASE_PROBE = 1,   /* counterfeit-capacity probe */
	DD_LPHASE_WRITE = 2,
	DD_LPHASE_VERIFY = 3,
	DD_LPHASE_BOOT = 4,    /* writing the first block last */
	DD_LPHASE_DONE = 5,
	DD_LPHASE_SANITIZE = 6, /* zeros past the image's range, read back (a version 1/2 PC shows unknown(6)) */
};
#define DD_LPHASE_COUNT 7

enum dd_link_result {
	DD_LRESULT_NONE = 0,       /* still running, or no job on this port */
	DD_LRESULT_PASS = 1,       /* every block written and verified */
	DD_LRESULT_FAIL = 2,
	DD_LRESULT_INCOMPLETE = 3, /* aborted before the end */
	DD_LRESULT_WRITTEN = 4,    /* written without verification: not proven good */
	DD_LRESULT_REFUSED = 5,    /* refused by the safety rules before anything was written */
	DD_LRESULT_SKIPPED = 6,    /* not started: another target of the run was refused */
};
#define DD_LRESULT_COUNT 7

/* Why a port's stick failed (version 3; 0 in versions 1 and 2, and while nothing failed). */
enum dd_link_fail {
	DD_LFAIL_NONE = 0,
	DD_LFAIL_IO = 1,          /* a read, write or flush of the stick failed */
	DD_LFAIL_MISMATCH = 2,    /* read back differs from the image */
	DD_LFAIL_COUNTERFEIT = 3, /* the capacity probe found a fake */
	DD_LFAIL_TOO_SMALL = 4,   /* the stick is smaller than the image */
	DD_LFAIL_REFUSED = 5,     /* the safety rules refused it */
	DD_LFAIL_PULLED = 6,      /* the stick went away */
	DD_LFAIL_INTERRUPTED = 7, /* the job was stopped */
	DD_LFAIL_IMAGE = 8,       /* the stored image failed to decode or verify */
	DD_LFAIL_OTHER = 9,
};
#define DD_LFAIL_COUNT 10

struct dd_link_hello {
	uint16_t min_version, max_version;
	char name[DD_LINK_STR_MAX + 1];        /* who is calling ("dartdup 0.1.0") */
};

struct dd_link_hello_reply {
	uint16_t version;                      /* chosen protocol version */
	uint32_t max_payload;                  /* largest payload the board accepts */
	uint16_t window;                       /* LOAD_DATA requests the board accepts in flight */
	char board[DD_LINK_STR_MAX + 1];       /* board type ("sim", "linux-gadget") */
	char firmware[DD_LINK_STR_MAX + 1];    /* firmware version */
};

struct dd_link_info_reply {
	char board[DD_LINK_STR_MAX + 1];
	char firmware[DD_LINK_STR_MAX + 1];
	char serial[DD_LINK_STR_MAX + 1];
	uint8_t n_ports;
	bool has_image;
	uint8_t image_id[DD_SHA256_LEN];
	uint64_t image_size;
	char image_name[DD_LINK_STR_MAX + 1];
	uint8_t n_keys;
	uint8_t key_id[DD_LINK_MAX_KEYS][DD_SHA256_LEN]; /* key id (SHA-256 of the DER public key) */
	char pending_firmware[DD_LINK_STR_MAX + 1]; /* bundle stored by `update`, "" if none */
	/* version 4: the stored image's version (docs/FORMAT.md "Version"), "" when no image or none. Sent
	 * only when has_image_version (the board: to a peer whose HELLO chose version 4); a reply without it
	 * (an older board) decodes with has_image_version false. Checked by the decoder: "" or a version. */
	bool has_image_version;
	char image_version[DD_VERSION_MAX + 1];
};

/* LOAD_BEGIN flags (version 3; a version 2 board refuses any as a reserved byte: bad-field). */
#define DD_LOAD_ALLOW_DOWNGRADE 0x01           /* take an older version than the running/stored one */
#define DD_LOAD_HASH_AT_END 0x02               /* sha256 is a resume key; LOAD_END carries the SHA-256 */
#define DD_LOAD_FLAGS (DD_LOAD_ALLOW_DOWNGRADE | DD_LOAD_HASH_AT_END)

struct dd_link_load_begin {
	uint8_t kind;                          /* enum dd_link_kind */
	uint8_t flags;                         /* DD_LOAD_* */
	uint64_t size;                         /* package bytes */
	uint8_t sha256[DD_SHA256_LEN];         /* of the whole package (HASH_AT_END: a resume key): names
						* the transfer */
};

struct dd_link_load_begin_reply {
	uint32_t xfer;                         /* transfer handle for LOAD_DATA/END/CANCEL */
	uint64_t offset;                       /* bytes the board already holds: resume here */
	uint32_t chunk;                        /* preferred chunk size */
};

struct dd_link_load_data {
	uint32_t xfer;
	uint64_t offset;
	const uint8_t *data;                   /* points into the frame */
	uint32_t len;
};

struct dd_link_load_data_reply {
	uint64_t offset;                       /* bytes held after this chunk */
};

struct dd_link_xfer {                          /* LOAD_END and LOAD_CANCEL requests */
	uint32_t xfer;
	bool has_sha;                          /* LOAD_END (version 3): the SHA-256 of the package follows */
	uint8_t sha256[DD_SHA256_LEN];
};

struct dd_link_load_end_reply {
	uint8_t kind;
	uint8_t id[DD_SHA256_LEN];             /* image id (manifest hash) or bundle id */
	uint64_t size;                         /* image bytes (unpacked) or bundle payload bytes */
	char name[DD_LINK_STR_MAX + 1];
};

/* START's flags (version 3): checks this job runs on top of the board's own policy (its description
 * file's); link/wire.h turns them into a struct dd_policy and back. */
enum dd_link_start_flag {
	DD_START_PROBE = 0x01,                 /* counterfeit-capacity probe before writing */
	DD_START_SANITIZE = 0x02,              /* zeros over each stick past the image, read back */
};
#define DD_START_FLAGS_KNOWN (DD_START_PROBE | DD_START_SANITIZE)

struct dd_link_start {                          /* version 2; version 1's START is empty */
	char batch[DD_LINK_STR_MAX + 1];       /* batch or work-order id, "" if none */
	char operator_[DD_LINK_STR_MAX + 1];   /* who runs the job, "" if none */
	uint8_t flags;                         /* version 3: enum dd_link_start_flag, 0 none (not sent) */
};

struct dd_link_time {
	uint64_t time;                         /* the PC's clock: seconds since 1970-01-01 UTC */
};

struct dd_link_time_reply {
	uint8_t applied;                       /* 1: the board's clock was set from it */
	uint8_t source;                        /* enum dd_time_source, after the request */
	uint64_t time;                         /* the board's clock after the request */
};

#define DD_LINK_PEM_MAX 255                    /* a P-256 public key in PEM is about 180 bytes */

struct dd_link_audit_reply {
	uint8_t source;                        /* enum dd_time_source */
	uint8_t log_state;                     /* enum dd_log_state */
	uint64_t time;                         /* the board's clock */
	uint64_t next_seq;                     /* seq of the next record */
	uint64_t first_seq;                    /* seq of the oldest record kept */
	uint64_t exported;                     /* records with seq <= this were read by a PC */
	uint64_t log_bytes;                    /* the log's size */
	uint64_t log_room;                     /* bytes the log can still grow by (free space left) */
	uint8_t head[DD_SHA256_LEN];           /* SHA-256 of the newest record (zeros: none) */
	char key_pem[DD_LINK_PEM_MAX + 1];     /* the board's audit public key, PEM */
};

/* REVOKE (version 3): the list's bytes (0 bytes: only ask for the stored list's state). */
#define DD_LINK_REVOKE_MAX (48u << 10)         /* = DD_REVOKE_TEXT_MAX (release/revoke.h) */
struct dd_link_revoke {
	const uint8_t *data;                   /* points into the frame */
	uint32_t len;
};

struct dd_link_revoke_reply {
	uint64_t serial;                       /* the stored list's serial, 0 when none */
	uint16_t n_keys, n_images;             /* what it revokes */
	uint8_t id[DD_SHA256_LEN];             /* its list id (zeros: none) */
};

/* PORTS (version 3): a name per port, in port order; "" for a port the board has no name for (the PC shows
 * its number). Untrusted on the PC: each at most DD_LINK_PORT_NAME_MAX bytes of [A-Za-z0-9._:-] (a port
 * map's name or a USB port path), checked by the decoder. */
struct dd_link_ports_reply {
	uint8_t n_ports;                       /* at most DD_LINK_MAX_PORTS */
	char name[DD_LINK_MAX_PORTS][DD_LINK_PORT_NAME_MAX + 1];
};

/* Is name a port name PORTS may carry (length and characters; "" is: no name)? */
bool dd_link_port_name_ok(const char *name);

struct dd_link_start_reply {
	uint32_t job;                          /* job number (counts up) */
	uint8_t n_ports;                       /* ports in the job */
};

struct dd_link_port_status {
	uint8_t state;                         /* enum dd_port_state */
	uint8_t phase;                         /* enum dd_link_phase (not the engine's enum) */
	uint8_t result;                        /* enum dd_link_result (not the engine's enum) */
	uint8_t fail;                          /* enum dd_link_fail (version 3; else 0) */
	uint64_t done;                         /* bytes written + verified */
	uint64_t total;                        /* bytes to write + verify */
	uint64_t capacity;
	uint32_t rate;                         /* bytes per second */
	char serial[DD_LINK_STR_MAX + 1];
	char error[DD_LINK_STR_MAX + 1];
};

struct dd_link_status_reply {
	uint8_t job_state;                     /* enum dd_job_state */
	uint32_t job;
	uint8_t n_ports;
	struct dd_link_port_status port[DD_LINK_MAX_PORTS];
};

struct dd_link_log {
	uint64_t since;                        /* first sequence number wanted */
	uint16_t max;                          /* at most this many records */
};

struct dd_link_log_reply {
	uint64_t first;                        /* sequence number of the first record returned */
	uint64_t next;                         /* ask for this next */
	uint16_t count;
	const uint8_t *records;                /* count x (u16 length + JSON text), in the frame */
	uint32_t records_len;
};

struct dd_link_error {
	uint16_t code;                         /* enum dd_link_errcode */
	uint64_t value;                        /* code-specific (expected offset, supported versions) */
	char msg[DD_LINK_STR_MAX + 1];
};

struct dd_link_msg {
	uint8_t type;
	uint8_t flags;
	uint32_t tag;
	union {
		struct dd_link_hello hello;
		struct dd_link_hello_reply hello_r;
		struct dd_link_info_reply info_r;
		struct dd_link_load_begin load_begin;
		struct dd_link_load_begin_reply load_begin_r;
		struct dd_link_load_data load_data;
		struct dd_link_load_data_reply load_data_r;
		struct dd_link_xfer xfer;         /* LOAD_END, LOAD_CANCEL */
		struct dd_link_load_end_reply load_end_r;
		struct dd_link_start start;       /* version 2 */
		struct dd_link_start_reply start_r;
		struct dd_link_time time;
		struct dd_link_time_reply time_r;
		struct dd_link_audit_reply audit_r;
		struct dd_link_revoke revoke;     /* version 3 */
		struct dd_link_revoke_reply revoke_r;
		struct dd_link_ports_reply ports_r; /* version 3 */
		struct dd_link_status_reply status_r;
		struct dd_link_log log;
		struct dd_link_log_reply log_r;   /* LOG and SELFTEST replies */
		struct dd_link_error error;
	} u;
};

struct dd_link_header {
	uint8_t version, type, flags, pad;
	uint32_t tag;
	uint32_t length;
};

static inline bool dd_link_is_reply(const struct dd_link_msg *m)
{
	return m->flags & DD_LINK_F_REPLY;
}

/* Bytes a frame carrying `payload` bytes occupies on the link (header + payload + pad). */
size_t dd_link_frame_size(size_t payload);

/* Encode m into buf (cap bytes, at most DD_LINK_HDR_LEN + DD_LINK_MAX_PAYLOAD + pad is ever needed).
 * A LOAD_DATA whose data already lie at buf + DD_LINK_LOAD_DATA_AT is encoded around them. Fields are checked as the decoder would check them, so a board never sends what a PC refuses. */
int dd_link_encode(const struct dd_link_msg *m, uint8_t *buf, size_t cap, size_t *len, struct dd_err *err);

/* Check a 16-byte header: magic (DD_LERR_FRAME), length <= max_payload (DD_LERR_FRAME), pad < 64.
 * Version and type are NOT judged here: the receiver still knows the length and can skip the
 * payload and answer with DD_LERR_VERSION or DD_LERR_TYPE. On error *code gets the DD_LERR_*. */
int dd_link_parse_header(const uint8_t hdr[DD_LINK_HDR_LEN], uint32_t max_payload,
			 struct dd_link_header *h, int *code, struct dd_err *err);

/* Decode a payload whose header was accepted. Checks version, type, flags and every field;
 * on failure returns DD_EINPUT with *code = the DD_LERR_* to send back. */
int dd_link_decode(const struct dd_link_header *h, const uint8_t *payload, struct dd_link_msg *m,
		   int *code, struct dd_err *err);

/* Iterate the records of a LOG reply: *pos starts at 0; returns 1 and sets text/len per record,
 * 0 at the end (records were validated by dd_link_decode). */
int dd_link_log_next(const struct dd_link_log_reply *r, uint32_t *pos, const char **text, uint16_t *len);

/* Append one record to a LOG reply being built (buf/cap/len of the records area).
 * Returns false when it does not fit. */
bool dd_link_log_append(uint8_t *buf, uint32_t cap, uint32_t *len, const char *text, size_t text_len);

const char *dd_link_type_name(int type);

/* Names of the numbers a board sends, as `dartdup board` shows them ("write", "pass", "busy",
 * "no-image", ...). A receiver accepts numbers it does not know in these fields (a newer board may send
 * them): their name is "unknown(N)", written into *buf; never an out-of-bounds read. */
struct dd_link_name {
	char s[24]; /* "unknown(4294967295)" fits */
};
const char *dd_link_errcode_name(unsigned code, struct dd_link_name *buf);
const char *dd_port_state_name(unsigned state, struct dd_link_name *buf);
const char *dd_job_state_name(unsigned state, struct dd_link_name *buf);
const char *dd_link_phase_name(unsigned phase, struct dd_link_name *buf);
const char *dd_link_result_name(unsigned result, struct dd_link_name *buf);
/* NULL for DD_LFAIL_NONE (JSON null: nothing failed) */
const char *dd_link_fail_name(unsigned fail, struct dd_link_name *buf);
const char *dd_time_source_name(unsigned source, struct dd_link_name *buf);
const char *dd_log_state_name(unsigned state, struct dd_link_name *buf);

#endif
