#!/usr/bin/env python3
"""syslog_catch.py syslog|journal SOCKET OUT -- CMD...: listens on SOCKET (a unix datagram socket, as
/dev/log and journald's /run/systemd/journal/socket are), runs CMD, then takes every datagram CMD sent and
writes one JSON object per line to OUT: syslog {"pri": N, "ident": "...", "msg": "..."}, journal the
entry's fields (the native protocol: KEY=VALUE lines, or KEY\\n<64-bit length><value>\\n). Exits with
CMD's status. No waiting: a datagram is in the socket's queue once CMD's send returned."""
import json, os, re, socket, struct, subprocess, sys

mode, path, out = sys.argv[1], sys.argv[2], sys.argv[3]
cmd = sys.argv[sys.argv.index("--") + 1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
rc = subprocess.call(cmd)
s.setblocking(False)


def journal(data):
    fields, i = {}, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            k = line
            (n,) = struct.unpack("<Q", data[nl + 1:nl + 9])
            v = data[nl + 9:nl + 9 + n]
            i = nl + 9 + n + 1
        fields[k.decode()] = v.decode()
    return fields


def syslog(data):
    m = re.match(rb"^<(\d+)>(?:\w{3} [ \d]\d \d\d:\d\d:\d\d )?([^\[:]+)(?:\[\d+\])?: (.*)$", data, re.S)
    if not m:
        return {"unparsed": data.decode(errors="replace")}
    return {"pri": int(m.group(1)), "ident": m.group(2).decode(), "msg": m.group(3).decode()}


with open(out, "w") as f:
    while True:
        try:
            data = s.recv(1 << 20)
        except BlockingIOError:
            break
        f.write(json.dumps(journal(data) if mode == "journal" else syslog(data)) + "\n")
sys.exit(rc)
