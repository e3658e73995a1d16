#!/usr/bin/env python3
"""Checks JSON lines against docs/EVENTS.md (schema 1): every object carries "schema": 1 first, exactly the
documented fields with the documented types, results from the documented sets, events in the documented
order. Used by tests/cli/events.sh, tests/cli/board.sh and the VM rig's scenarios.

    events_check.py KIND FILE     KIND: audit, board-log, write, verify, station, board-status, board-info,
                                  board-selftest,
                                  inspect, pack, list
    events_check.py --doc         every field named here is documented in docs/EVENTS.md

Prints one line per problem; exit status 0 when there is none."""
import json
import os
import re
import sys

SCHEMA = 1
I, N, S, B, H, Z = "int", "num", "str", "bool", "hex", "null"  # Z: null allowed

PROBED = ("genuine", "counterfeit", "incomplete", "error")
KINDS = ("io", "mismatch", "counterfeit", "too_small", "refused", "pulled", "interrupted", "image", "other")
AUDIT = {
    "schema": I, "time": S, "host": (S, Z), "tool_version": S, "image_id": (H, Z), "image_name": (S, Z),
    "mode": ("write", "verify"), "target": S, "port": (S, Z), "vendor": (S, Z), "model": (S, Z),
    "serial": (S, Z), "capacity": I, "result": ("pass", "fail", "incomplete", "written", "refused", "skipped"),
    "bytes_written": I, "bytes_skipped": I, "bytes_verified": I, "first_bad_offset": (I, Z), "write_seconds": N,
    "verify_seconds": N, "error": (S, Z), "kind": (KINDS, Z), "probe": (PROBED, Z), "sanitized": B,
    "bytes_sanitized": I,
}
AUDIT_OPT = {"reason": S,  # only with result "refused" or "skipped", and then required
             "upgraded_from": S}  # station --known: the older version the stick held
BOARD_LOG_FRONT = {"seq": I, "board": S}
# a board's record also has these (docs/AUDIT.md); "time" is null when its clock was never set
BOARD_LOG = {"time": (S, Z), "time_source": ("pc", "rtc", "master", "unset"), "port_number": I,
             "usb_speed_mbps": (I, Z), "stick_id": S, "stick_nonce": S, "batch": (S, Z), "operator": (S, Z),
             "prev": H, "sig": S}
BOARD_LOG_BACK = ["prev", "sig"]

IDS = {"index": I, "target": S, "port": (S, Z), "label": (S, Z), "serial": (S, Z)}
WRITE = {
    "start": {"mode": ("write", "verify"), "image": S, "image_id": H, "image_size": I,
              "targets": [dict(IDS, capacity=I)]},
    "phase": dict(IDS, phase=("probe", "sanitize", "write", "verify", "boot"), percent=N, bytes_written=I, bytes_skipped=I,
                  bytes_verified=I, mb_per_s=N, eta=N),
    "done": dict(IDS, result=("pass", "fail", "incomplete", "written"), bytes_written=I, bytes_skipped=I, bytes_verified=I,
                 first_bad_offset=(I, Z), write_seconds=N, verify_seconds=N, error=(S, Z), kind=(KINDS, Z),
                 probe=(PROBED, Z), sanitized=B, bytes_sanitized=I),
    "summary": {"targets": I, "pass": I, "fail": I, "incomplete": I, "result": ("pass", "fail", "incomplete")},
}
WRITE["progress"] = WRITE["phase"]

SLOT = {"t": N, "slot": I, "port": S, "label": S, "dev": S, "serial": S}
STATION = {
    "start": {"image": S, "name": S, "image_size": I, "probe": B, "sanitize": B, "rewrite": B, "ports": I, "port_map": (S, Z),
              "not_found": [S]},
    "stick": dict(SLOT, model=S, capacity=I),
    "phase": dict(SLOT, phase=("probe", "sanitize", "write", "verify", "boot"), progress=N, rate=N),
    "result": dict(SLOT, result=("pass", "already", "fail", "counterfeit", "pulled", "refused", "incomplete"),
                   good=B, seconds=N, detail=(S, Z), kind=(KINDS, Z), sanitized=B, upgraded=B, upgraded_from=(S, Z)),
    "ejected": SLOT, "removed": SLOT,
    "summary": {"t": N, "done": I, "passed": I, "already": I, "failed": I, "refused": I, "incomplete": I,
                "per_hour": N},
}
STATION["progress"] = STATION["phase"]

UNKNOWN = re.compile(r"unknown\(\d+\)$")
PORT = {"port": I, "label": (S, Z), "state": ("empty", "ready", "busy", "verifying", "pass", "fail", "attention", UNKNOWN),
        "phase": ("queued", "probe", "write", "verify", "boot", "done", "sanitize", UNKNOWN),
        "result": ("running", "pass", "fail", "incomplete", "written", UNKNOWN),
        "kind": (KINDS, UNKNOWN, Z), "done": I, "total": I, "rate": I, "capacity": I, "serial": (S, Z), "error": (S, Z)}
ONE = {
    "board-status": ({"schema": I, "job": I, "state": ("idle", "running", "done", UNKNOWN), "ports": [PORT]},
                     {"image_version": S}),
    "board-info": ({"schema": I, "board": S, "serial": S, "firmware": S, "ports": I,
                    "labels": ([(S, Z)], Z), "image": ({"name": S, "id": H, "size": I}, Z), "keys": [H],
                    "pending_firmware": (S, Z),
                    "ready": B, "not_ready": (S, Z)},
                   {"clock": (S, Z), "time_source": ("pc", "rtc", "master", "unset", UNKNOWN),
                    "audit": {"state": ("ok", "warning", "full", UNKNOWN), "records": I, "first_seq": I,
                              "next_seq": I, "read_up_to": I, "bytes": I, "room": I, "head": H,
                              "key_id": (H, Z), "key_pem": S},
                    "revocation": ({"serial": I, "keys": I, "images": I, "id": H}, Z),
                    "image_version": S}),
    "board-selftest": ({"schema": I, "check": S, "result": ("pass", "warn", "fail"), "detail": S}, {}),
    "inspect": ({"schema": I, "package": S, "package_size": I, "format_version": I, "name": S, "version": (S, Z),
                 "image_id": H,
                 "image_size": I, "block_size": I, "blocks": I, "zero_blocks": I, "window_log": I, "created": I,
                 "tool": S, "source_sha256": (H, Z), "signature": {"state": ("verified", "unchecked", "none"), "key_id?": H, "pubkey?": S}},
                {"check": {"ok": B, "error": (S, Z)},
                 "block_list": [{"offset": I, "frame_offset": I, "frame_size": I, "zero": B, "sha256": H}]}),
    "pack": ({"schema": I, "package": S, "image_id": H, "image_size": I, "package_size": I, "block_size": I,
              "blocks": I, "zero_blocks": I, "version": (S, Z), "signed": B}, {}),
    "list": ({"schema": I, "disks": [{"device": S, "kind": S, "usb": B, "removable": B, "vendor": (S, Z),
                                      "model": (S, Z), "serial": (S, Z), "size": I, "port": (S, Z), "label": (S, Z), "eligible": B,
                                      "reason": (S, Z), "mounts": (S, Z), "access": S}]}, {}),
}


def type_ok(v, t):
    if isinstance(t, tuple):
        return any(type_ok(v, x) for x in t)
    if isinstance(t, re.Pattern):
        return isinstance(v, str) and bool(t.match(v))
    if isinstance(t, list):
        return isinstance(v, list) and all(type_ok(x, t[0]) for x in v)
    if isinstance(t, dict):
        return isinstance(v, dict) and not fields(v, t, {}, "")
    if t == I:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0
    if t == N:
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == S:
        return isinstance(v, str)
    if t == B:
        return isinstance(v, bool)
    if t == H:
        return isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v) is not None
    if t == Z:
        return v is None
    return v == t  # an enumerated string value


def fields(obj, req, opt, where):
    """obj has every field of req (a name ending in "?" is optional), maybe some of opt, nothing else."""
    opt = dict(opt, **{k[:-1]: t for k, t in req.items() if k.endswith("?")})
    req = {k: t for k, t in req.items() if not k.endswith("?")}
    errs = []
    for k in obj:
        if k not in req and k not in opt:
            errs.append(f"{where}undocumented field {k!r}")
    for k, t in req.items():
        if k not in obj:
            errs.append(f"{where}missing field {k!r}")
        elif not type_ok(obj[k], t):
            errs.append(f"{where}field {k!r} = {obj[k]!r}: not {t}")
    for k, t in opt.items():
        if k in obj and not type_ok(obj[k], t):
            errs.append(f"{where}field {k!r} = {obj[k]!r}: not {t}")
    return errs


def schema_first(obj, front, where):
    keys = list(obj)
    want = list(front) + ["schema"]
    if keys[:len(want)] != want:
        return [f"{where}fields begin {keys[:len(want)]}, not {want}"]
    if obj["schema"] != SCHEMA:
        return [f"{where}schema {obj['schema']!r}, not {SCHEMA}"]
    return []


def check_audit(objs, board):
    errs = []
    front = BOARD_LOG_FRONT if board else {}
    for n, o in objs:
        w = f"line {n}: "
        errs += schema_first(o, front, w)
        errs += fields(o, {**front, **AUDIT, **(BOARD_LOG if board else {})}, AUDIT_OPT, w)
        if board and list(o)[-2:] != BOARD_LOG_BACK:
            errs.append(f"{w}a board record ends with {list(o)[-2:]}, not {BOARD_LOG_BACK}")
        if o.get("result") in ("refused", "skipped") and not isinstance(o.get("reason"), str):
            errs.append(f"{w}a {o.get('result')} record without its reason")
        if o.get("result") not in ("refused", "skipped") and "reason" in o:
            errs.append(f"{w}reason in a {o.get('result')} record")
        errs += kind_consistent(o, w)
    return errs


def kind_consistent(o, w):
    """kind says why a target did not pass: null exactly when it passed (or was only written, or skipped)."""
    good = o.get("result") in ("pass", "written", "skipped", "already")
    if "kind" in o and good != (o["kind"] is None):
        return [f"{w}kind {o['kind']!r} with result {o.get('result')!r}"]
    return []


def check_events(objs, table, order):
    errs = []
    for n, o in objs:
        w = f"line {n}: "
        errs += schema_first(o, {}, w)
        ev = o.get("event")
        if ev not in table:
            errs.append(f"{w}undocumented event {ev!r}")
            continue
        common = {"schema": I, "event": S} if table is STATION else {"schema": I, "event": S, "t": N}
        errs += fields(o, dict(common, **table[ev]), {}, w + ev + ": ")
        if ev in ("done", "result"):
            errs += kind_consistent(o, w + ev + ": ")
    return errs + order([o for _, o in objs])


PHASE_ORDER = ["probe", "sanitize", "write", "verify", "boot"]


def write_order(evs):
    errs = []
    names = [e.get("event") for e in evs]
    if not names or names[0] != "start" or names.count("start") != 1:
        errs.append(f"order: not one start first: {names[:3]}")
    if not names or names[-1] != "summary" or names.count("summary") != 1:
        errs.append(f"order: not one summary last: {names[-3:]}")
    if errs:
        return errs
    n_targets = len(evs[0]["targets"])
    done, last_phase = set(), {}
    for e in evs[1:-1]:
        i = e.get("index")
        if i is None or not 0 <= i < n_targets:
            errs.append(f"order: {e['event']} of target {i} not in start's targets")
        elif i in done:
            errs.append(f"order: {e['event']} of target {i} after its done")
        elif e["event"] == "done":
            done.add(i)
        elif e["event"] == "phase":
            p = PHASE_ORDER.index(e["phase"])
            if p <= last_phase.get(i, -1):
                errs.append(f"order: target {i} enters {e['phase']} after a later phase")
            last_phase[i] = p
    if len(done) != n_targets:
        errs.append(f"order: {len(done)} done events for {n_targets} targets")
    if evs[-1]["targets"] != n_targets:
        errs.append("order: summary counts other targets than start")
    return errs


def station_order(evs):
    errs = []
    names = [e.get("event") for e in evs]
    if not names or names[0] != "start" or names.count("start") != 1:
        errs.append(f"order: not one start first: {names[:3]}")
    if names.count("summary") > 1 or ("summary" in names and names[-1] != "summary"):
        errs.append("order: summary not once and last")
    taken = set()
    for e in evs[1:]:
        key = (e.get("slot"), e.get("dev"))
        if e["event"] == "stick":
            taken.add(key)
        elif e["event"] in ("phase", "progress", "result") and key not in taken:
            errs.append(f"order: {e['event']} of slot {key[0]} {key[1]} before its stick event")
        if e["event"] == "result":
            taken.discard(key)
    return errs


def check_one(objs, kind):
    req, opt = ONE[kind]
    errs = []
    for n, o in objs:
        w = f"line {n}: "
        errs += schema_first(o, {}, w)
        errs += fields(o, req, opt, w)
    return errs


def all_fields():
    names = set(AUDIT) | set(AUDIT_OPT) | set(BOARD_LOG_FRONT) | set(BOARD_LOG)
    for tbl in (WRITE, STATION):
        for ev, f in tbl.items():
            names |= {ev} | set(f)
    names |= set(WRITE["start"]["targets"][0])

    def walk(d):
        for k, t in d.items():
            names.add(k.rstrip("?"))
            for x in (t if isinstance(t, tuple) else (t,)):
                if isinstance(x, list) and isinstance(x[0], dict):
                    walk(x[0])
                elif isinstance(x, dict):
                    walk(x)
    for req, opt in ONE.values():
        walk(req)
        walk(opt)
    return names


def check_doc():
    doc = open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "EVENTS.md")).read()
    named = set(re.findall(r"`([a-z_0-9]+)`", doc))
    return [f"docs/EVENTS.md does not name field or event {f!r}" for f in sorted(all_fields() - named)]


def main():
    if sys.argv[1:] == ["--doc"]:
        errs = check_doc()
    else:
        kind, path = sys.argv[1], sys.argv[2]
        objs = []
        for n, line in enumerate(open(path), 1):
            if line.strip():
                objs.append((n, json.loads(line, object_pairs_hook=lambda p: dict(p))))
        if not objs:
            errs = [f"{path}: no JSON line"]
        elif kind in ("audit", "board-log"):
            errs = check_audit(objs, kind == "board-log")
        elif kind in ("write", "verify"):
            errs = check_events(objs, WRITE, write_order)
        elif kind == "station":
            errs = check_events(objs, STATION, station_order)
        else:
            errs = check_one(objs, kind)
    for e in errs[:20]:
        print(e)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
