#!/usr/bin/env bash
# dartdup ports learn | check (docs/PORTS.md): usage and bad input (one line, exit 2, nothing written), the
# door on -o, a learn stopped before any socket (no file), check naming the sockets this machine lacks. The
# learning itself needs sticks: the QEMU rig plugs them.
. "$(dirname "$0")/../lib.sh"

expect_rc "ports without a subcommand" 2 "$DARTDUP" ports
expect_rc "ports --help" 0 "$DARTDUP" ports --help
out_has "ports --help lists learn" "learn"
expect_rc "ports: an unknown subcommand" 2 "$DARTDUP" ports lern
out_has "ports: says which" "ports: unknown subcommand 'lern' (learn, check)"
expect_rc "ports learn --help" 0 "$DARTDUP" ports learn --help
expect_rc "ports learn without -o" 2 "$DARTDUP" ports learn
out_has "ports learn without -o: says so" "-o FILE is required"
expect_rc "ports learn --count 0" 2 "$DARTDUP" ports learn -o "$T/m" --count 0
expect_rc "ports learn --count x" 2 "$DARTDUP" ports learn -o "$T/m" --count x
expect_rc "ports learn --count 65" 2 "$DARTDUP" ports learn -o "$T/m" --count 65
expect_rc "ports learn --names with a bad name" 2 "$DARTDUP" ports learn -o "$T/m" --names 'A1,B 2'
out_has "ports learn --names: names the bad one" "'B 2' is not a port name"
expect_rc "ports learn --names given twice" 2 "$DARTDUP" ports learn -o "$T/m" --names A1,B2,A1
out_has "ports learn --names twice: names it" "--names: A1 given twice"
expect_rc "ports learn --count and --names disagree" 2 "$DARTDUP" ports learn -o "$T/m" --names A1,A2 --count 3
expect_rc "ports learn --prefix with a space" 2 "$DARTDUP" ports learn -o "$T/m" --prefix 'a b'
expect_rc "ports learn --timeout 0" 2 "$DARTDUP" ports learn -o "$T/m" --timeout 0
out_has "ports learn --timeout 0: says the range" "--timeout 0: seconds, 1..86400"
expect_rc "ports learn --timeout x" 2 "$DARTDUP" ports learn -o "$T/m" --timeout x
expect_rc "ports learn --timeout 86401" 2 "$DARTDUP" ports learn -o "$T/m" --timeout 86401
expect_rc "ports learn: an extra argument" 2 "$DARTDUP" ports learn -o "$T/m" extra
check "ports learn: no file after bad usage" test ! -e "$T/m"
# the door: never a device, a folder or the like, judged before the first prompt
expect_rc "ports learn -o /dev/null: refused" 2 "$DARTDUP" ports learn -o /dev/null --count 1
expect_rc "ports learn -o a folder: refused" 2 "$DARTDUP" ports learn -o "$T" --count 1

# stopped (SIGINT) before any stick: says nothing was learned, writes no file
"$DARTDUP" ports learn -o "$T/learned.conf" --count 2 >"$T/learn.out" 2>"$T/learn.err" </dev/null &
pid=$!
if ! poll_until "$pid" 20 grep -sq 'plug a stick into socket A1 (1 of 2)' "$T/learn.out"; then
	kill "$pid" 2>/dev/null
	not_ok "ports learn prompts: $(head -c 300 "$T/learn.out" "$T/learn.err")"
fi
kill -INT "$pid" 2>/dev/null
wait "$pid"
rc=$?
check "ports learn stopped before any socket: exit 2" test "$rc" -eq 2
check "ports learn stopped: says no socket was learned" grep -q "no socket learned: $T/learned.conf not written" "$T/learn.err"
check "ports learn stopped: no file" test ! -e "$T/learned.conf"

# --timeout: no stick plugged within it ends learn (no hang), nothing learned: exit 2, no file. (With
# sticks, the sockets learned are written and exit 1 short of --count: tests/vm/scenarios/ports_learn.sh.)
expect_rc "ports learn --timeout 1 --count 2, no stick: ends" 2 timeout 20 "$DARTDUP" ports learn -o "$T/learned.conf" \
	--count 2 --timeout 1 </dev/null
out_has "ports learn --timeout: names the socket and the time" "no stick plugged into socket A1 within 1 s: stopping with 0 of 2 socket(s)"
out_has "ports learn --timeout: nothing written" "no socket learned: $T/learned.conf not written"
check "ports learn --timeout: no file" test ! -e "$T/learned.conf"
expect_rc "ports learn --timeout 1 without --count, no stick: ends" 2 timeout 20 "$DARTDUP" ports learn \
	-o "$T/learned.conf" --timeout 1 </dev/null
out_has "ports learn --timeout without --count: says it is done" "no new socket within 1 s: done"

# check: the sockets of a map, and whether this machine has each
printf 'port.A1 = pci-0000:7f:1f.7-usb-0:1\n# a comment\nport.A2 = pci-0000:7f:1f.7-usb-0:2.3\n' >"$T/ports.conf"
expect_rc "ports check: a map of sockets this machine lacks" 1 "$DARTDUP" ports check --port-map "$T/ports.conf"
out_has "ports check: each socket" "A2              not found pci-0000:7f:1f.7-usb-0:2.3"
out_has "ports check: the count" "2 socket(s), 2 not found on this machine"
printf 'port.A1 = pci-0000:7f:1f.7-usb-0:1\nslot.2 = pci-0000:7f:1f.7-usb-0:2\n' >"$T/bad.conf"
expect_rc "ports check: a bad map" 2 "$DARTDUP" ports check --port-map "$T/bad.conf"
out_has "ports check: file:line and the problem" "bad.conf:2: unknown key 'slot.2'"
expect_rc "ports check: a missing map" 2 "$DARTDUP" ports check --port-map "$T/none.conf"
