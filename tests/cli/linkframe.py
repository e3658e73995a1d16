"""The link's frames for the CLI tests that speak to a board byte by byte (docs/PROTOCOL.md "Frames").

frame(typ, payload, tag=1): one request frame (version 1 framing; a frame that would end on a whole 64-byte
packet gets one pad byte). reply(s): the next frame from socket s, as (flags, payload); a peer that closes
mid-frame ends the test script."""
import struct


def frame(typ, payload, tag=1):
    n = 16 + len(payload)
    pad = 1 if n % 64 == 0 else 0
    return b"DDLK" + struct.pack("<BBBBII", 1, typ, 0, pad, tag, len(payload)) + payload + b"\0" * pad


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
