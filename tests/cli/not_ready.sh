#!/usr/bin/env bash
# A board that is not ready (dartdupd --status FILE whose first line is "not ready: WHY", written by the board
# image's provisioning when the card's board.conf or key is missing or bad; docs/BOARD.md): it still serves
# the PC, so that `dartdup board info` says why; every light shows attention (an empty slot too); load, start
# and the self-test's config check are refused or fail with the reason; it trusts no key and keeps nothing
# (the configured store is not touched). A status that says "ready", or none, serves as before.
# Run on the simulated board, synchronised on --ready-fd.
. tests/lib.sh

S=$T/board.sock
PID=
start_board() { # start_board [dartdupd options]: its lights and log from this start only
	: >"$T/lights"; : >"$T/daemon.err"
	start_sim_board "$S" --store "$T/store" --pubkey "$T/depot.pub" --port "$T/stick1" --port "$T/stick2" "$@"
	local rc=$?
	PID=$SIM_PID
	return $rc
}
stop_board() { [ -n "$PID" ] && stop_sim_board "$PID" 2>/dev/null; PID=; }
B() { "$DARTDUP" board --sim "$S" "$@"; }

"$DARTDUP" keygen -o "$T/depot" >/dev/null 2>&1 || { not_ok "keygen"; exit 0; }
make_image "$T/a.img" $((1 << 20)) 1
"$DARTDUP" pack "$T/a.img" -o "$T/a.dfi" --key "$T/depot.key" --name "sample A" --block-size 64K >/dev/null 2>&1
head -c $((2 << 20)) /dev/urandom >"$T/stick1"
cp "$T/stick1" "$T/stick1.before"
mkdir -p "$T/run"
why="/boot/firmware/dartdup/board.conf:7: slot.3: port path already used by slot.1"
printf 'not ready: %s\n' "$why" >"$T/run/status"

check "a board that is not ready still starts and serves" start_board --status "$T/run/status" ||
	{ echo "# $(cat "$T/daemon.err")"; exit 0; }
expect_rc "board info: exit 0" 0 B info
out_has "board info: says it is not ready, and why" "state     not ready: $why"
expect_rc "board info --json: exit 0" 0 B info --json
check "board info --json: ready false, not_ready the reason" \
	grep -qF "\"ready\":false,\"not_ready\":\"not ready: $why\"" "$T/out"
check "board info --json: the fields of docs/EVENTS.md" python3 tests/cli/events_check.py board-info "$T/out"
check "board info --json: no trusted key" grep -q '"keys":\[\]' "$T/out"
expect_rc "board load: refused, exit 2" 2 B load "$T/a.dfi"
out_has "board load: says why" "the board is not ready: $why"
expect_rc "board start (the button's job): refused, exit 2" 2 B start
out_has "board start: says why" "the board is not ready: $why"
check "the stick was not touched" cmp -s "$T/stick1" "$T/stick1.before"
check "every light shows attention, the empty slot's too" grep -q 'lights: \[1 ATTN\] \[2 ATTN\]' "$T/lights"
expect_rc "board selftest: exit 1 (the config check fails)" 1 B selftest --json
check "board selftest: the config check fails with the reason" \
	grep -qF "{\"schema\":1,\"check\":\"config\",\"result\":\"fail\",\"detail\":\"not ready: $why\"}" "$T/out"
check "board selftest --json: the fields of docs/EVENTS.md" python3 tests/cli/events_check.py board-selftest \
	<(grep '^{' "$T/out")
check "the configured store was not created (a board that is not ready keeps nothing)" test ! -e "$T/store"
check "the daemon says it on its log" grep -qF "not ready: $why (serving the PC" "$T/daemon.err"
stop_board

echo ready >"$T/run/status"
check "a status that says ready: the board serves as before" start_board --status "$T/run/status"
expect_rc "ready: board info --json" 0 B info --json
check "ready: ready true, not_ready null" grep -q '"ready":true,"not_ready":null' "$T/out"
expect_rc "ready: a load works" 0 B load "$T/a.dfi"
stop_board
check "no status file at all: the board serves (ready)" start_board --status "$T/run/missing"
expect_rc "no status file: a job runs" 0 B start --wait
check "no status file: the stick (random before) holds the image" cmp -s -n $((1 << 20)) "$T/a.img" "$T/stick1"
stop_board
