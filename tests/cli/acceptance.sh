#!/usr/bin/env bash
# scripts/board-acceptance (docs/ACCEPTANCE.md) against the simulated board: with every slot holding a
# stick (random old data) the steps pass, the sticks hold the test image, the record folder has each step's
# output; a missing stick, a key the board does not trust and a dead port each fail their step and exit 1;
# bad usage and no board exit 2. Synchronised on --ready-fd, never on sleeps.
. tests/lib.sh

S=$T/board.sock
PID=
start_board() { # start_board PORT...
	local args=() p
	for p in "$@"; do args+=(--port "$p"); done
	start_sim_board "$S" --store "$T/store" --pubkey "$T/depot.pub" "${args[@]}"
	local rc=$?
	PID=$SIM_PID
	return $rc
}
stop_board() { [ -n "$PID" ] && stop_sim_board "$PID" 2>/dev/null; PID=; }
acc() { scripts/board-acceptance --sim "$S" --dartdup "$DARTDUP" --no-button --size 2 "$@"; }

"$DARTDUP" keygen -o "$T/depot" >/dev/null 2>&1 && "$DARTDUP" keygen -o "$T/foreign" >/dev/null 2>&1 ||
	{ not_ok "keygen"; exit 0; }
for i in 1 2 3; do head -c $((3 << 20)) /dev/urandom >"$T/stick$i"; done
start_board "$T/stick1" "$T/stick2" "$T/stick3" || { not_ok "the sim board starts: $(cat "$T/daemon.err")"; exit 0; }

expect_rc "three sticks in three slots: exit 0" 0 acc --key "$T/depot.key" --sticks 3 --out "$T/rec1"
out_has "says PASS at the end" "board-acceptance: PASS"
check "summary: the two jobs passed on 3 of 3 slots" test "$(grep -c 'PASS  job [12] (from the PC) *3 of 3 slots passed' "$T/rec1/summary.txt")" -eq 2
check "summary: the audit log has 6 passes and 3 distinct serials" grep -q 'PASS  audit log *6 pass records, 3 distinct stick serials' "$T/rec1/summary.txt"
check "summary: a board without a self-test says so, and that is no failure" grep -q 'PASS  self-test before *not available' "$T/rec1/summary.txt"
check "the record keeps each step's output" test -s "$T/rec1/info.json" -a -s "$T/rec1/log.json" -a -s "$T/rec1/job2.json" -a -s "$T/rec1/load.out"
check "the test image is not left in the record (only its package)" test ! -e "$T/rec1/test.img" -a -s "$T/rec1/test.dfi"
for i in 1 2 3; do
	check "stick $i holds the test image byte for byte (it held random bytes)" \
		sh -c "'$DARTDUP' verify '$T/rec1/test.dfi' '$T/stick$i' >/dev/null 2>&1"
done

expect_rc "dartdup board selftest on a board without one: exit 2" 2 "$DARTDUP" board --sim "$S" selftest
out_has "says the board has none" "the sim board has no self-test"

# numbers on the command line are checked: a typo is refused before anything is asked of the board
expect_rc "board update --timeout abc: exit 2" 2 "$DARTDUP" board --sim "$S" update "$T/rec1/test.dfi" --wait --timeout abc
out_has "names the option and the value" "board: --timeout: 'abc' is not a number from 0 to 86400"
expect_rc "board status --watch --job -1: exit 2" 2 "$DARTDUP" board --sim "$S" status --watch --job -1
out_has "names --job" "board: --job: '-1' is not a number"
expect_rc "board log --since 12x: exit 2" 2 "$DARTDUP" board --sim "$S" log --since 12x
out_has "names --since" "board: --since: '12x' is not a number"

expect_rc "an existing record folder is not overwritten: exit 2" 2 acc --key "$T/depot.key" --sticks 3 --out "$T/rec1"
out_has "names the folder" "$T/rec1: exists and is not empty"

expect_rc "four sticks expected, three in: exit 1" 1 acc --key "$T/depot.key" --sticks 4 --out "$T/rec2"
check "summary: the sticks step fails, naming the count" grep -q 'FAIL  sticks in *3 stick(s) present, 4 expected' "$T/rec2/summary.txt"
out_has "says FAIL at the end" "board-acceptance: FAIL"

expect_rc "a key the board does not trust: exit 1" 1 acc --key "$T/foreign.key" --sticks 3 --out "$T/rec3"
check "summary: the load fails" grep -q '^FAIL  load' "$T/rec3/summary.txt"

expect_rc "no --key: exit 2" 2 acc --sticks 3 --out "$T/rec4"
out_has "no --key: says what is missing" "--key: (none): no such file"
expect_rc "--sticks not a number: exit 2" 2 acc --key "$T/depot.key" --sticks x --out "$T/rec4"
expect_rc "a typo in an option: exit 2" 2 acc --key "$T/depot.key" --stick 3
stop_board
expect_rc "no board answering: exit 2" 2 acc --key "$T/depot.key" --sticks 3 --out "$T/rec5"
out_has "no board: says so" "no board answers"
