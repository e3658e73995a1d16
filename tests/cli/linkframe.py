"""The link's frames for the CLI tests that speak to a board byte by byte (docs/PROTOCOL.md "Frames").

frame(typ, payload, tag=1): one request frame (version 1 framing; a frame that would end on a whole 64-byte
packet gets one pad byte). reply(s): the next frame from socket s, as (flags, payload); a peer that closes
mid-frame ends the test script. ask(path, hello_max, typ): one request of type typ on a new connection to
the board at path, after a HELLO offering versions 1..hello_max (none when 0: a version 1 peer), as
(flags, payload). s_(b): a link string. serve_board(path, answer): a fake board on the Unix
socket path, one peer at a time: answer(typ) gives a reply's payload, or None for unknown-type; it prints
READY once it listens."""
import socket
import struct


def frame(typ, payload, tag=1, flags=0):
    n = 16 + len(payload)
    pad = 1 if n % 64 == 0 else 0
    return b"DDLK" + struct.pack("<BBBBII", 1, typ, flags, pad, tag, len(payload)) + payload + b"\0" * pad


def reply(s):
    def read(n):
        b = b""
        while len(b) < n:
            c = s.recv(n - len(b))
            if not c:
                raise SystemExit("closed")
            b += c
        return b
    h = read(16)
    ln, pad = struct.unpack("<I", h[12:16])[0], h[7]
    return h[6], read(ln + pad)[:ln]


def ask(path, hello_max, typ, payload=b""):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.settimeout(20)
    if hello_max:
        s.sendall(frame(0x01, struct.pack("<HH", 1, hello_max) + b"\0"))
        reply(s)
    s.sendall(frame(typ, payload))
    got = reply(s)
    s.close()
    return got


def s_(b):
    return bytes([len(b)]) + b


def serve_board(path, answer):
    unknown = struct.pack("<HHQ", 3, 0, 0) + s_(b"unknown")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(4)
    print("READY", flush=True)
    while True:
        c, _ = listener.accept()
        buf = b""
        while True:
            d = c.recv(65536)
            if not d:
                break
            buf += d
            while len(buf) >= 16:
                typ, pad = buf[5], buf[7]
                tag, n = struct.unpack_from("<II", buf, 8)
                if len(buf) < 16 + n + pad:
                    break
                buf = buf[16 + n + pad:]
                out = answer(typ)
                # a reply (flags 1), or an ERROR reply (flags 3) unknown-type
                c.sendall(frame(typ, out, tag, 1) if out is not None else frame(typ, unknown, tag, 3))
        c.close()
