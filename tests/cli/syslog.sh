#!/usr/bin/env bash
# --log-to syslog|journal (docs/FLEET.md): every target's audit record goes to the system log as well, the
# same record as --log writes. Read back without a syslog daemon or journald: in a private mount namespace
# (unshare -m, as root: CI runs as root) /dev (syslog(3) sends to /dev/log) or /run (sd_journal_send()
# sends to /run/systemd/journal/socket) is a fresh tmpfs where tests/cli/syslog_catch.py listens on that
# very socket, so dartdup runs unchanged, through glibc's syslog(3) and libsystemd's sd_journal_sendv().
# What this does not prove: that a real journald indexes the fields (`journalctl DARTDUP_RESULT=fail`);
# the fields are sent in journald's own native protocol, which is what it indexes.
. tests/lib.sh

if [ "$(id -u)" != 0 ] || ! unshare -m true 2>/dev/null; then
	ok "# SKIP needs root and unshare -m (a private /dev/log and journal socket)"
	exit 0
fi

# in_ns_dev CMD...: CMD with a private, fresh /dev (the few nodes a run needs), so /dev/log is ours
cat >"$T/ns_dev.sh" <<'SH'
set -e
mount -t tmpfs -o mode=755 tmpfs /dev
mknod -m 666 /dev/null c 1 3; mknod -m 666 /dev/zero c 1 5; mknod -m 666 /dev/random c 1 8; mknod -m 666 /dev/urandom c 1 9
ln -s /proc/self/fd /dev/fd; ln -s /proc/self/fd/0 /dev/stdin; ln -s /proc/self/fd/1 /dev/stdout; ln -s /proc/self/fd/2 /dev/stderr
exec "$@"
SH
cat >"$T/ns_run.sh" <<'SH'
set -e
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/systemd/journal
exec "$@"
SH
CATCH=$PWD/tests/cli/syslog_catch.py
syslog_run() { unshare -m bash "$T/ns_dev.sh" python3 "$CATCH" syslog /dev/log "$T/caught" -- "$@"; }
journal_run() { unshare -m bash "$T/ns_run.sh" python3 "$CATCH" journal /run/systemd/journal/socket "$T/caught" -- "$@"; }
# same_records FIELD: every caught entry's record (FIELD: msg for syslog, DARTDUP_RECORD for the journal)
# equals the --log file's record of the same target, field by field (the time may differ by a second)
same_records() {
	python3 - "$1" "$T/caught" "$T/audit.jsonl" <<'PY'
import json, sys
field, caught, audit = sys.argv[1:]
logged = {r["target"]: r for r in map(json.loads, open(audit))}
got = [json.loads(json.loads(l)[field]) for l in open(caught)]
if len(got) != len(logged):
    sys.exit("# %d caught, %d logged" % (len(got), len(logged)))
for r in got:
    want = logged[r["target"]]
    for k in set(r) | set(want):
        if k != "time" and r.get(k) != want.get(k):
            sys.exit("# %s: %r != %r" % (k, r.get(k), want.get(k)))
PY
}
caught() { # PYTHON-EXPR over e (each caught entry): true for every entry
	python3 -c "import json,sys; sys.exit(0 if all(($1) for e in map(json.loads, open(sys.argv[1]))) else 1)" "$T/caught"
}

make_image "$T/a.img" $((2 * 1024 * 1024 + 999)) 21
for t in t1 t2; do head -c $((3 << 20)) /dev/urandom >"$T/$t"; done

# --- syslog ---------------------------------------------------------------------------------
expect_rc "write --log-to syslog" 0 syslog_run "$DARTDUP" write "$T/a.img" "$T/t1" "$T/t2" --yes --log "$T/audit.jsonl" --log-to syslog
check "syslog: one message per target" test "$(wc -l <"$T/caught")" -eq 2
check "syslog: the message is the --log record" same_records msg
check "syslog: ident dartdup, facility user, severity info for a pass" caught 'e["ident"] == "dartdup" and e["pri"] == 8 + 6'
head -c 500 /dev/urandom | dd of="$T/t2" bs=1 seek=70000 conv=notrunc 2>/dev/null
rm -f "$T/audit.jsonl"
expect_rc "verify --log-to syslog: one target changed" 1 syslog_run "$DARTDUP" verify "$T/a.img" "$T/t1" "$T/t2" --log "$T/audit.jsonl" --log-to syslog
check "syslog: the records of a verify" same_records msg
check "syslog: the failed one has severity warning and says mismatch" \
	caught '(json.loads(e["msg"])["result"] == "fail") == (e["pri"] == 8 + 4) and json.loads(e["msg"])["kind"] in (None, "mismatch")'
expect_rc "--log-to nonsense is refused" 2 "$DARTDUP" write "$T/a.img" "$T/t1" --yes --log-to nonsense
out_has "it names the option" "--log-to nonsense: expected syslog or journal"

# --- journal --------------------------------------------------------------------------------
if ! "$DARTDUP" write --help | grep -q -- --log-to; then
	not_ok "write --help lists --log-to"
fi
rm -f "$T/audit.jsonl"
expect_rc "verify --log-to journal" 1 journal_run "$DARTDUP" verify "$T/a.img" "$T/t1" "$T/t2" --log "$T/audit.jsonl" --log-to journal
if grep -q "built without libsystemd" "$T/out"; then
	if pkg-config --exists libsystemd; then not_ok "libsystemd is installed but dartdup was built without it"
	else ok "# SKIP dartdup built without libsystemd (scripts/deps/fleet.txt)"; fi
	exit 0
fi
check "journal: one entry per target" test "$(wc -l <"$T/caught")" -eq 2
check "journal: DARTDUP_RECORD is the --log record" same_records DARTDUP_RECORD
check "journal: DARTDUP_RESULT, PRIORITY and SYSLOG_IDENTIFIER" \
	caught 'e["DARTDUP_RESULT"] == json.loads(e["DARTDUP_RECORD"])["result"] and e["PRIORITY"] == ("6" if e["DARTDUP_RESULT"] == "pass" else "4") and e["SYSLOG_IDENTIFIER"] == "dartdup"'
check "journal: one field per record field that is not null" \
	caught 'all(e.get("DARTDUP_" + k.upper()) == (v if isinstance(v, str) else json.dumps(v)) for k, v in json.loads(e["DARTDUP_RECORD"]).items() if v is not None and not isinstance(v, float)) and "DARTDUP_SERIAL" not in e'
check "journal: the failed target's kind" caught 'e["DARTDUP_RESULT"] == "pass" or e["DARTDUP_KIND"] == "mismatch"'
check "journal: a one-line MESSAGE naming the target and result" caught 'e["MESSAGE"].startswith(e["DARTDUP_TARGET"] + ": " + e["DARTDUP_RESULT"]) and "\n" not in e["MESSAGE"]'
cat >"$T/ns_nojournal.sh" <<'SH'
mount -t tmpfs tmpfs /run && exec "$@"
SH
expect_rc "--log-to journal without a journal: refused before anything is written" 2 \
	unshare -m bash "$T/ns_nojournal.sh" "$DARTDUP" write "$T/a.img" "$T/t1" --yes --log-to journal
out_has "it says why" "--log-to journal: no journal here"

# --- a board's records ----------------------------------------------------------------------
"$DARTDUP" keygen -o "$T/depot" >/dev/null 2>&1 &&
	"$DARTDUP" pack "$T/a.img" -o "$T/a.dfi" --block-size 64K --key "$T/depot.key" >/dev/null 2>&1 || { not_ok "pack"; exit 0; }
head -c $((3 << 20)) /dev/urandom >"$T/p1"
check "the board serves" start_sim_board "$T/b.sock" --store "$T/store" --pubkey "$T/depot.pub" --serial SYS-B \
	--port "$T/p1"
"$DARTDUP" board --sim "$T/b.sock" load "$T/a.dfi" >/dev/null && "$DARTDUP" board --sim "$T/b.sock" start --wait >/dev/null
export DARTDUP_BOARD_SOCKETS=$T/b.sock
expect_rc "board --all log --log-to syslog" 0 syslog_run "$DARTDUP" board --all log -o "$T/collected.jsonl" --log-to syslog
check "syslog: the board's record, as collected" test "$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["msg"])' "$T/caught")" = "$(cat "$T/collected.jsonl")"
expect_rc "board --all log again: nothing new" 0 syslog_run "$DARTDUP" board --all log -o "$T/collected.jsonl" --log-to syslog
check "syslog: nothing sent twice" test ! -s "$T/caught"
