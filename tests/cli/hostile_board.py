#!/usr/bin/env python3
"""A board that lies in its strings, for tests/cli/escape.sh: it speaks the link protocol (docs/PROTOCOL.md)
on a Unix socket and answers HELLO, INFO, STATUS and LOG with well-formed frames whose strings hold ESC
sequences, newlines, C1 controls, bidi overrides and bytes that are not UTF-8 (the audit record too, raw).
What the sim board cannot be made to say (a port's serial and error, its audit records).

    hostile_board.py SOCKET     prints READY once it listens; serves until killed"""
import os
import socket
import struct
import sys

EVIL = b"\x1b[2J\nforged: PASS\xc2\x9b31m\xe2\x80\xae\xe9\x7f"
RECORD = (b'{"seq":1,"board":"B' + EVIL + b'","time":"2026-12-01T00:00:00Z","port":"p' + EVIL +
          b'","serial":"s' + EVIL + b'","result":"fail","error":"e' + EVIL + b'"}')


def s(b):
    return bytes([len(b)]) + b


def frame(typ, tag, payload, flags=0x01):
    pad = 1 if (16 + len(payload)) % 64 == 0 else 0
    return b"DDLK" + struct.pack("<BBBBII", 1, typ, flags, pad, tag, len(payload)) + payload + b"\0" * pad


def reply(typ, body):
    if typ == 0x01:  # HELLO
        return struct.pack("<HIH", 1, 1 << 20, 8) + s(b"hostile" + EVIL) + s(b"9" + EVIL)
    if typ == 0x02:  # INFO: no image, no keys
        return (s(b"hostile" + EVIL) + s(b"9" + EVIL) + s(b"SER" + EVIL) + bytes([1, 0]) + bytes(32) +
                struct.pack("<Q", 0) + s(b"") + bytes([0]) + s(b"fw" + EVIL))
    if typ == 0x22:  # STATUS: job 1 done, one port needing attention
        port = struct.pack("<BBBBQQQI", 6, 0, 2, 0, 0, 0, 1 << 30, 0) + s(b"S" + EVIL) + s(b"E" + EVIL * 8)
        return struct.pack("<BIB", 2, 1, 1) + port
    if typ == 0x23:  # LOG: one record from seq 1, then nothing
        since, = struct.unpack_from("<Q", body, 0)
        if since > 1:
            return struct.pack("<QQH", since, since, 0)
        return struct.pack("<QQH", 1, 2, 1) + struct.pack("<H", len(RECORD)) + RECORD
    return None


def serve(conn):
    buf = b""
    while True:
        data = conn.recv(65536)
        if not data:
            return
        buf += data
        while len(buf) >= 16:
            _, _, typ, _, pad, tag, n = struct.unpack_from("<4sBBBBII", buf, 0)
            if len(buf) < 16 + n + pad:
                break
            body, buf = buf[16:16 + n], buf[16 + n + pad:]
            out = reply(typ, body)
            if out is None:  # an ERROR reply (START: no-sticks; anything else: unknown-type), its message hostile
                out = struct.pack("<HHQ", 10 if typ == 0x20 else 3, 0, 0) + s(b"port 1: " + EVIL)
                conn.sendall(frame(typ, tag, out, 0x03))
                continue
            conn.sendall(frame(typ, tag, out))


def main():
    path = sys.argv[1]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)
    print("READY", flush=True)
    while True:
        conn, _ = srv.accept()
        with conn:
            serve(conn)


if __name__ == "__main__":
    main()
