#!/usr/bin/env python3
"""Send one QMP command to a running QEMU and print its answer.

usage: qmp.py SOCKET COMMAND [JSON-ARGUMENTS] [--event NAME] [--timeout SECONDS]

Waits for QEMU's socket to accept (it may still be starting), negotiates capabilities, sends COMMAND and prints
the "return" value as JSON. With --event, it then also waits for that event (e.g. DEVICE_DELETED) and prints it.
Exit status: 0 ok, 1 QEMU answered with an error or the wait timed out, 2 bad usage.
"""
import json
import socket
import sys
import time


def connect(path, deadline):
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.1)


def messages(sock, deadline):
    buf = b""
    while True:
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from QEMU")
            sock.settimeout(left)
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("QEMU closed the QMP socket")
            buf += chunk
        line, buf = buf.split(b"\n", 1)
        if line.strip():
            yield json.loads(line)


def main(argv):
    event, timeout, pos = None, 30.0, []
    i = 0
    while i < len(argv):
        if argv[i] == "--event":
            event = argv[i + 1]
            i += 2
        elif argv[i] == "--timeout":
            timeout = float(argv[i + 1])
            i += 2
        else:
            pos.append(argv[i])
            i += 1
    if len(pos) not in (2, 3):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    deadline = time.monotonic() + timeout
    sock = connect(pos[0], deadline)
    msgs = messages(sock, deadline)
    next(msgs)  # greeting
    sock.sendall(b'{"execute": "qmp_capabilities"}\n')
    for m in msgs:
        if "return" in m or "error" in m:
            break
    cmd = {"execute": pos[1]}
    if len(pos) == 3:
        cmd["arguments"] = json.loads(pos[2])
    sock.sendall(json.dumps(cmd).encode() + b"\n")
    seen_event = None
    answer = None
    for m in msgs:
        if m.get("event") == event:
            seen_event = m
        if "return" in m or "error" in m:
            answer = m
            break
    if "error" in answer:
        print("qmp %s: %s" % (pos[1], answer["error"].get("desc", answer["error"])), file=sys.stderr)
        return 1
    print(json.dumps(answer["return"]))
    if event and not seen_event:
        for m in msgs:
            if m.get("event") == event:
                seen_event = m
                break
    if event:
        print(json.dumps(seen_event))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (OSError, TimeoutError, ConnectionError) as e:
        print("qmp: %s" % e, file=sys.stderr)
        sys.exit(1)
