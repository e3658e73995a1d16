#!/usr/bin/env bash
# dartdup board --all (docs/FLEET.md): one command on every board at once, one line per board (serial
# first, in serial order), on three simulated boards named in DARTDUP_BOARD_SOCKETS (no USB board here);
# `log --all -o FILE --since-file STATE` collects every board's records once: never twice, none lost, also
# when STATE is lost or a board is unreachable for a while. Synchronised on the protocol (--ready-fd,
# start --wait), never on sleeps.
. tests/lib.sh

declare -A PID
# start_board NAME: a simulated board with serial BOARD-NAME and two ports of random old data
start_board() {
	local b=$1
	head -c $((4 << 20)) /dev/urandom >"$T/$b-p1"; head -c $((4 << 20)) /dev/urandom >"$T/$b-p2"
	start_sim_board "$T/$b.sock" --store "$T/$b.store" --pubkey "$T/depot.pub" --serial "BOARD-$b" \
		--port "$T/$b-p1" --port "$T/$b-p2"
	local rc=$?
	PID[$b]=$SIM_PID
	return $rc
}
stop_board() { stop_sim_board "${PID[$1]}" 2>/dev/null; unset "PID[$1]"; }
BA() { "$DARTDUP" board --all "$@"; }
wait_all() { local b; for b in "$@"; do "$DARTDUP" board --sim "$T/$b.sock" status --watch >/dev/null 2>&1 || return 1; done; }
# records FILE BOARD: how many records of BOARD; dupes FILE: (board, seq) pairs seen twice
records() { grep -c "\"board\":\"$2\"" "$1"; }
dupes() { python3 -c 'import json,sys,collections; c=collections.Counter((r["board"],r["seq"]) for r in map(json.loads,open(sys.argv[1]))); print(sum(1 for v in c.values() if v>1))' "$1"; }

"$DARTDUP" keygen -o "$T/depot" >/dev/null 2>&1 || { not_ok "keygen"; exit 0; }
make_image "$T/a.img" $((2 * 1024 * 1024 + 555)) 31
"$DARTDUP" pack "$T/a.img" -o "$T/a.dfi" --block-size 64K --key "$T/depot.key" --name "fleet sample" \
	--version 2.0.1 >/dev/null 2>&1 ||
	{ not_ok "pack"; exit 0; }
for b in C A B; do check "board $b starts" start_board $b; done
export DARTDUP_BOARD_SOCKETS=$T/C.sock:$T/A.sock:$T/B.sock

# --- load, start, status ----------------------------------------------------------------------
expect_rc "load --all" 0 BA load "$T/a.dfi"
check "load --all: one line per board, serial first, in serial order" \
	test "$(cut -d' ' -f1 "$T/out" | tr '\n' ' ')" = "BOARD-A BOARD-B BOARD-C "
check "load --all: each loaded the image" test "$(grep -c ' ok   loaded fleet sample (id ' "$T/out")" -eq 3
expect_rc "start --all" 0 BA start --batch WO-7
check "start --all: a job on each board's two ports" test "$(grep -c ' ok   job 1 started on 2 port(s)$' "$T/out")" -eq 3
check "every board's job ends" wait_all A B C
expect_rc "status --all" 0 BA status
check "status --all: the image's version, then both ports passed, on every board" \
	test "$(grep -c " ok   image 2.0.1; job 1 done: 1 pass, 2 pass$" "$T/out")" -eq 3 || { cat "$T/out"; false; }
expect_rc "status --all --json" 0 BA status --json
check "status --all --json: one object per board" \
	python3 -c 'import json,sys; l=[json.loads(x) for x in open(sys.argv[1])]; sys.exit(not (len(l)==3 and all(o["ok"] and o["up"] and o["schema"]==1 for o in l)))' "$T/out"
check "status --all --json: each board's image_version" \
	python3 -c 'import json,sys; l=[json.loads(x) for x in open(sys.argv[1])]; sys.exit(not all(o["image_version"] == "2.0.1" for o in l))' "$T/out"
expect_rc "status --all from a version 2 PC" 0 env DARTDUP_LINK_MAX_VERSION=2 "$DARTDUP" board --all status
check "status --all from a version 2 PC: the lines as before, no version" \
	test "$(grep -c " ok   job 1 done: 1 pass, 2 pass$" "$T/out")" -eq 3

# --- log: collected once ----------------------------------------------------------------------
expect_rc "log --all -o FILE --since-file STATE" 0 BA log -o "$T/all.jsonl" --since-file "$T/state"
check "log --all: says how many per board" test "$(grep -c ' ok   2 new record(s)$' "$T/out")" -eq 3
check "six records, two per board" test "$(wc -l <"$T/all.jsonl")" -eq 6 -a "$(records "$T/all.jsonl" BOARD-B)" -eq 2
check "the records carry the batch" test "$(grep -c '"batch":"WO-7"' "$T/all.jsonl")" -eq 6
check "STATE: the last seq per board" python3 -c 'import json,sys; s={r["board"]:r["seq"] for r in map(json.loads,open(sys.argv[1]))}; sys.exit(s != {"BOARD-A":2,"BOARD-B":2,"BOARD-C":2})' "$T/state"
check "no STATE.tmp left" test ! -e "$T/state.tmp"
check "the collected records verify against each board's key" \
	bash -c "for b in A B C; do grep '\"board\":\"BOARD-'\$b'\"' '$T/all.jsonl' >'$T/\$b.jsonl' && '$DARTDUP' audit verify '$T/\$b.jsonl' --board-key '$T/'\$b'.store/audit.pub' >/dev/null || exit 1; done"
expect_rc "log --all again: nothing new" 0 BA log -o "$T/all.jsonl" --since-file "$T/state"
check "nothing appended" test "$(wc -l <"$T/all.jsonl")" -eq 6

# a board away while the others go on; then back: its records come, none twice
for b in A C; do head -c $((4 << 20)) /dev/urandom >"$T/$b-p1"; done
"$DARTDUP" board --sim "$T/A.sock" start --wait >/dev/null 2>&1
"$DARTDUP" board --sim "$T/C.sock" start --wait >/dev/null 2>&1
stop_board B
expect_rc "log --all with board B unreachable: exit 1" 1 BA log -o "$T/all.jsonl" --since-file "$T/state"
out_has "the unreachable board is named by its socket" "$T/B.sock FAIL unreachable: "
check "the others' new records are taken" test "$(records "$T/all.jsonl" BOARD-A)" -eq 4 -a "$(records "$T/all.jsonl" BOARD-C)" -eq 4
check "STATE keeps B's seq" grep -q '{"board":"BOARD-B","seq":2}' "$T/state"
check "board B back" start_board B
rm -f "$T/state" # STATE lost (or a fresh PC with the depot's FILE): FILE itself says what was taken
expect_rc "log --all without STATE" 0 BA log -o "$T/all.jsonl" --since-file "$T/state"
check "still no record twice" test "$(dupes "$T/all.jsonl")" -eq 0 -a "$(wc -l <"$T/all.jsonl")" -eq 10
check "STATE written again" test "$(wc -l <"$T/state")" -eq 3

# --- refusals -----------------------------------------------------------------------------------
expect_rc "log --all without -o" 2 BA log
out_has "it asks for the file" "-o FILE"
expect_rc "--all with an unsupported command" 2 BA selftest
out_has "it says which go with --all" "--all goes with load, start, status and log"
expect_rc "--all with --sim" 2 "$DARTDUP" board --all --sim "$T/A.sock" status
expect_rc "--since-file without --all" 2 "$DARTDUP" board --sim "$T/A.sock" log --since-file "$T/state"
cp "$T/all.jsonl" "$T/all.before"
expect_rc "STATE and FILE the same file: refused" 2 BA log -o "$T/all.jsonl" --since-file "$T/all.jsonl"
check "FILE is untouched" cmp -s "$T/all.jsonl" "$T/all.before"
expect_rc "-o onto a device is refused" 2 BA log -o /dev/sda
expect_rc "load --all without a file" 2 BA load
DARTDUP_BOARD_SOCKETS= expect_rc "no board at all" 2 BA status
out_has "it says none was found" "no board found"
check "the image is untouched" "$DARTDUP" inspect "$T/a.dfi" --check
