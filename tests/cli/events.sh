#!/usr/bin/env bash
# docs/EVENTS.md is what dartdup prints: every JSON line of write/verify --json, station --json and every
# audit record carries "schema": 1 first and exactly the documented fields, types, results and event order
# (tests/cli/events_check.py); the one-object outputs of inspect, pack and list too. Targets are reused
# files (random bytes, longer than the image) and pass only when they hold the image byte for byte.
. tests/lib.sh

EC=tests/cli/events_check.py
MiB=1048576
evcheck() { # NAME KIND FILE
	local out
	if out=$(python3 "$EC" "$2" "$3" 2>&1); then ok "$1"; else not_ok "$1: $(head -c 400 <<<"$out")"; fi
}

check "every field and event the checker knows is documented in docs/EVENTS.md" python3 "$EC" --doc

# an image with a zero MiB in the middle; reused targets: random bytes, longer than the image
make_image "$T/part" $((MiB + 4321)) 3
{ head -c $MiB /dev/urandom; head -c $MiB /dev/zero; cat "$T/part"; } >"$T/img"
ISIZE=$(stat -c %s "$T/img")
for t in a b; do head -c $((4 * MiB)) /dev/urandom >"$T/$t"; done

# --- write and verify --json, audit records -----------------------------------------------------
"$DARTDUP" write "$T/img" "$T/a" "$T/b" --yes --json --log "$T/audit" >"$T/w.jsonl" 2>"$T/w.err"
check "write --json onto reused files: exit 0" test $? -eq 0
check "the reused files hold the image byte for byte" \
	bash -c "cmp -n $ISIZE '$T/img' '$T/a' && cmp -n $ISIZE '$T/img' '$T/b'"
evcheck "write --json: schema, fields, results and order as documented" write "$T/w.jsonl"
evcheck "write --log: audit records as documented" audit "$T/audit"
check "write --log: one record per target" test "$(wc -l <"$T/audit")" -eq 2

"$DARTDUP" verify "$T/img" "$T/a" --json --log "$T/audit" >"$T/v.jsonl" 2>"$T/v.err"
check "verify --json: exit 0" test $? -eq 0
evcheck "verify --json: schema, fields, results and order as documented" verify "$T/v.jsonl"
check "verify --json: mode verify" grep -q '"event":"start","t":[0-9.]*,"mode":"verify"' "$T/v.jsonl"

# a failing verify: result fail with its first bad offset (a byte of the first MiB: random, never a zero block)
printf '\377' | dd of="$T/b" bs=1 seek=$((4096 + 7)) conv=notrunc status=none
"$DARTDUP" verify "$T/img" "$T/b" --json --log "$T/audit" >"$T/f.jsonl" 2>/dev/null
check "verify of a changed target: exit 1" test $? -eq 1
evcheck "failing verify --json as documented" verify "$T/f.jsonl"
check "the done event says fail at the block's offset" \
	grep -q '"event":"done".*"result":"fail".*"first_bad_offset":0,' "$T/f.jsonl"

"$DARTDUP" write "$T/img" "$T/c" --yes --no-verify --json --log "$T/audit" >"$T/n.jsonl" 2>/dev/null
check "write --no-verify: exit 0" test $? -eq 0
evcheck "write --no-verify --json as documented" write "$T/n.jsonl"
check "write --no-verify: result written" grep -q '"event":"done".*"result":"written"' "$T/n.jsonl"

# refused targets: when a run records them, they are documented records (result refused, with a reason)
"$DARTDUP" write "$T/img" /dev/vda --yes --log "$T/audit" >/dev/null 2>&1
check "write onto this machine's disk: refused, exit 2" test $? -eq 2
evcheck "the audit log after all of the above: every record as documented" audit "$T/audit"

# --- station --json: start and summary (sticks only in the QEMU rig: tests/vm/scenarios/station.sh) --
"$DARTDUP" pack "$T/img" -o "$T/img.dfi" --json >"$T/pack.json" 2>/dev/null
check "pack --json: exit 0" test $? -eq 0
evcheck "pack --json as documented" pack "$T/pack.json"
"$DARTDUP" station "$T/img.dfi" --json >"$T/st.jsonl" 2>"$T/st.err" &
pid=$!
poll_until $pid 20 grep -sq '"event":"start"' "$T/st.jsonl" # its ready line
kill -TERM $pid 2>/dev/null
wait $pid
check "station --json stops on SIGTERM with exit 0" test $? -eq 0
evcheck "station --json: start and summary as documented" station "$T/st.jsonl"

# --- one-object outputs -------------------------------------------------------------------------
"$DARTDUP" inspect "$T/img.dfi" --json --check --blocks >"$T/inspect.json" 2>/dev/null
check "inspect --json: exit 0" test $? -eq 0
evcheck "inspect --json --check --blocks as documented" inspect "$T/inspect.json"
"$DARTDUP" list --json --allow-non-usb >"$T/list.json" 2>/dev/null
evcheck "list --json as documented" list "$T/list.json"

# the checker itself refuses what the doc does not allow
sed 's/"schema":1,//' "$T/w.jsonl" >"$T/bad1"
check "checker: a line without schema is refused" bash -c "! python3 $EC write '$T/bad1' >/dev/null"
sed '1s/"mode":"write"/"mode":"write","extra":1/' "$T/w.jsonl" >"$T/bad2"
check "checker: an undocumented field is refused" bash -c "! python3 $EC write '$T/bad2' >/dev/null"
grep -v '"event":"summary"' "$T/w.jsonl" >"$T/bad3"
check "checker: a run without its summary is refused" bash -c "! python3 $EC write '$T/bad3' >/dev/null"
sed '1s/"result":"pass"/"result":"refused"/' "$T/audit" >"$T/bad4"
check "checker: a refused record without its reason is refused" bash -c "! python3 $EC audit '$T/bad4' >/dev/null"
