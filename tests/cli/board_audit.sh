#!/usr/bin/env bash
# The board's audit records a depot can stand behind (issue 15 items 2 and 3), on the simulated board:
# the PC sets the board's clock at every connection, a record written with an unset clock says so (and
# carries no time), batch/operator/USB speed/stick identity are in every record, numbering and the hash
# chain go on across a restart, and `dartdup audit verify` finds a changed, removed or reordered record.
# Synchronised on the protocol (--ready-fd, status --watch), never on sleeps.
. tests/lib.sh

S=$T/board.sock
ST=$T/store
PID=
B() { "$DARTDUP" board --sim "$S" "$@"; }
V() { "$DARTDUP" audit verify "$@"; }

# start_board [dartdupd sim options...]: ports p1 p2, sticks with a blank serial (cheap sticks)
start_board() {
	start_sim_board "$S" --store "$ST" --pubkey "$T/depot.pub" --port "$T/p1" --port "$T/p2" --stick-serial "" "$@"
	local rc=$?
	PID=$SIM_PID
	return $rc
}
stop_board() {
	[ -n "$PID" ] || return 0
	stop_sim_board "$PID"
	PID=
}

"$DARTDUP" keygen -o "$T/depot" >/dev/null 2>&1 || { not_ok "keygen"; exit 0; }
make_image "$T/a.img" $((2 * 1024 * 1024 + 4321)) 7
"$DARTDUP" pack "$T/a.img" -o "$T/a.dfi" --block-size 64K --key "$T/depot.key" --name "audit sample" >/dev/null 2>&1 ||
	{ not_ok "pack"; exit 0; }
sticks() { head -c $((4 << 20)) /dev/urandom >"$T/p1"; head -c $((4 << 20)) /dev/urandom >"$T/p2"; }
field() { # FILE LINE FIELD: a record's field, as JSON
	python3 -c 'import json,sys; print(json.dumps(json.loads(open(sys.argv[1]).readlines()[int(sys.argv[2])-1])[sys.argv[3]]))' "$@"
}

# --- the clock: set by the PC at connection --------------------------------------------------
sticks
check "daemon starts" start_board --usb-speed 480
expect_rc "info" 0 B info
out_has "info: the clock was set by this PC" "(set by pc)"
out_has "info: audit log state" "audit     ok: 0 record(s)"
out_has "info: the board's audit key" "board key "
sed -n '/-----BEGIN PUBLIC KEY-----/,/-----END PUBLIC KEY-----/p' "$T/out" >"$T/board.pub"
check "info: the key's PEM can be saved as a .pub" cmp -s "$T/board.pub" "$ST/audit.pub"
check "the private key stays in the store, 0600" test "$(stat -c %a "$ST/audit.key")" = 600
expect_rc "info --json" 0 B info --json
check "info --json: clock, time_source and audit (docs/EVENTS.md)" python3 tests/cli/events_check.py board-info "$T/out"
out_has "info --json: the time source" '"time_source":"pc"'

# --- records: batch, operator, speed, identity ----------------------------------------------
expect_rc "load" 0 B load "$T/a.dfi"
expect_rc "start with batch and operator" 0 B start --wait --batch "WO-2026-117" --operator "Ann Lee"
expect_rc "log --json" 0 B log --json
cp "$T/out" "$T/log1.jsonl"
check "log --json: the fields of docs/EVENTS.md, prev and sig last" python3 tests/cli/events_check.py board-log "$T/log1.jsonl"
check "two records" test "$(wc -l <"$T/log1.jsonl")" -eq 2
check "records carry the batch" test "$(grep -c '"batch":"WO-2026-117"' "$T/log1.jsonl")" -eq 2
check "records carry the operator" test "$(grep -c '"operator":"Ann Lee"' "$T/log1.jsonl")" -eq 2
check "records carry the USB speed" test "$(grep -c '"usb_speed_mbps":480' "$T/log1.jsonl")" -eq 2
check "records carry the time source pc" test "$(grep -c '"time_source":"pc"' "$T/log1.jsonl")" -eq 2
check "blank serials: both sticks say so" test "$(grep -c '"serial":null' "$T/log1.jsonl")" -eq 2
check "blank serials: the two sticks still have different identities" \
	test "$(field "$T/log1.jsonl" 1 stick_id)" != "$(field "$T/log1.jsonl" 2 stick_id)"
stick_ids_ok() { # FILE: every record's stick_id recomputes from the record (docs/AUDIT.md)
	python3 - "$1" <<'PY'
import json, hashlib, sys
for l in open(sys.argv[1]):
    r = json.loads(l); t = r["time"] or "null"
    s = "|".join([r["board"], str(r["port_number"]), t, str(r["capacity"]), r["serial"] or "", r["stick_nonce"]])
    if hashlib.sha256(s.encode()).hexdigest()[:32] != r["stick_id"]:
        sys.exit(1)
PY
}
check "stick_id recomputes from the record (docs/AUDIT.md)" stick_ids_ok "$T/log1.jsonl"
check "the first record starts the chain" test "$(field "$T/log1.jsonl" 1 prev)" = "\"$(printf '0%.0s' $(seq 64))\""
expect_rc "a batch longer than the link carries is refused" 2 B start --batch "$(head -c 300 /dev/zero | tr '\0' x)"
out_has "it says so" "at most 255 bytes"

# --- verify ---------------------------------------------------------------------------------
expect_rc "audit verify: an intact log" 0 V "$T/log1.jsonl" --board-key "$T/board.pub"
out_has "audit verify: says intact" "2 record(s), seq 1..2: intact"
expect_rc "audit verify --json" 0 V "$T/log1.jsonl" --board-key "$T/board.pub" --json
out_has "audit verify --json: pass" '"result":"pass"'
sed '2s/"result":"pass"/"result":"fail"/' "$T/log1.jsonl" >"$T/changed.jsonl"
expect_rc "audit verify: a changed record" 1 V "$T/changed.jsonl" --board-key "$T/board.pub"
out_has "the changed record is named" "line 2, record seq 2: its signature does not verify"
expect_rc "audit verify: with another key" 1 V "$T/log1.jsonl" --board-key "$T/depot.pub"
expect_rc "audit verify: no such log" 2 V "$T/none.jsonl" --board-key "$T/board.pub"
expect_rc "audit verify: not a log" 2 V "$T/a.img" --board-key "$T/board.pub"
out_has "not a log: says so" "not an audit log"
expect_rc "audit verify: a device is no log" 2 V /dev/zero --board-key "$T/board.pub"
expect_rc "audit verify: not a key" 2 V "$T/log1.jsonl" --board-key "$T/log1.jsonl"
expect_rc "audit verify: without --board-key" 2 V "$T/log1.jsonl"

# --- a restart: no PC yet, the button: the clock is unset, the records say so -----------------
stop_board
sticks
check "daemon restarts with an RTC path that is no RTC" start_board --usb-speed 5000 --rtc "$T/p1"
check "the daemon says the RTC cannot be read and the clock is unset" grep -q "RTC_RD_TIME.*the clock is unset" "$T/daemon.err"
kill -USR1 "$PID" # the button: handled before any PC's request (the next connection is served after it)
expect_rc "the button's job runs" 0 B status --watch --json --job 1
expect_rc "log --json --since 3" 0 B log --json --since 3
cp "$T/out" "$T/log2.jsonl"
check "two new records" test "$(wc -l <"$T/log2.jsonl")" -eq 2
check "numbering goes on across the restart" test "$(field "$T/log2.jsonl" 1 seq)" = 3
check "unset clock: the records say unset" test "$(grep -c '"time_source":"unset"' "$T/log2.jsonl")" -eq 2
check "unset clock: no time, never 1970" test "$(grep -c '"time":null' "$T/log2.jsonl")" -eq 2
check "the button's job kept the batch and operator" test "$(grep -c '"batch":"WO-2026-117"' "$T/log2.jsonl")" -eq 2
check "this boot's USB speed" test "$(grep -c '"usb_speed_mbps":5000' "$T/log2.jsonl")" -eq 2
check "log --json: the fields of docs/EVENTS.md" python3 tests/cli/events_check.py board-log "$T/log2.jsonl"
check "stick_id recomputes from a record with an unset clock" stick_ids_ok "$T/log2.jsonl"
expect_rc "log (table) --since 3" 0 B log --since 3
out_has "the table says the clock was unset" "(clock unset)"
expect_rc "info after a PC connected" 0 B info
out_has "the clock is the PC's now" "(set by pc)"
out_has "records read by a PC" "read by a PC up to 4"

# --- the whole log across the restart -------------------------------------------------------
expect_rc "the whole log" 0 B log --json
cp "$T/out" "$T/all.jsonl"
expect_rc "audit verify: the chain goes on across the restart" 0 V "$T/all.jsonl" --board-key "$T/board.pub"
out_has "4 records" "4 record(s), seq 1..4: intact"
sed 2d "$T/all.jsonl" >"$T/removed.jsonl"
expect_rc "audit verify: a removed record" 1 V "$T/removed.jsonl" --board-key "$T/board.pub"
out_has "the removal is named" "record seq 3: follows record 1: record(s) removed or reordered"
awk 'NR==2{l=$0; next} {print} NR==3{print l}' "$T/all.jsonl" >"$T/reordered.jsonl"
expect_rc "audit verify: reordered records" 1 V "$T/reordered.jsonl" --board-key "$T/board.pub"
out_has "the reordering is named" "line 2, record seq 3"
tail -n 2 "$T/all.jsonl" >"$T/tail.jsonl"
expect_rc "audit verify: an export that starts later" 0 V "$T/tail.jsonl" --board-key "$T/board.pub"
check "the store holds the key, the log and the read mark" test -s "$ST/audit.log" -a -s "$ST/audit.exported"
