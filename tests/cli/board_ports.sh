#!/usr/bin/env bash
# The board's port names (PORTS, docs/PROTOCOL.md) on the simulated board: a board with a port map
# (--port-map) shows A1.. in `board status` (an aligned label column), its --json, `status --all` and
# `board info`; one without shows numbers as before; a version 2 PC (DARTDUP_LINK_MAX_VERSION=2) gets no names
# and no error, and the board answers it PORTS as a version 2 board would; a board that sends names a
# terminal must not see is refused with one line, its ports by number. Synchronised on the protocol
# (--ready-fd, start --wait), never on sleeps.
. tests/lib.sh

S=$T/board.sock
ST=$T/store
PID=
B() { "$DARTDUP" board --sim "$S" "$@"; }

# start_board [dartdupd options] -- PORT...: start the daemon and wait until it serves
start_board() {
	local args=() opts=() p
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	for p in "$@"; do args+=(--port "$p"); done
	start_sim_board "$S" --store "$ST" --pubkey "$T/depot.pub" "${args[@]}" "${opts[@]}" || return 1
	PID=$SIM_PID
}
stop_board() {
	[ -n "$PID" ] || return 0
	stop_sim_board "$PID"
	PID=
}

"$DARTDUP" keygen -o "$T/depot" >/dev/null 2>&1 || { not_ok "keygen"; exit 0; }
make_image "$T/a.img" $((1024 * 1024 + 4321)) 7
"$DARTDUP" pack "$T/a.img" -o "$T/a.dfi" --block-size 64K --key "$T/depot.key" --name "sample A" >/dev/null 2>&1 ||
	{ not_ok "pack"; exit 0; }
P=("$T/p1" "$T/p2" "$T/p3")
for p in "${P[@]}"; do head -c $((3 << 20)) /dev/urandom >"$p"; done # used sticks: random old content

# a depot's map: three sockets (the sim's ports have no USB path: the map's order names them)
cat >"$T/ports.conf" <<'EOF'
# front row
port.A1 = pci-0000:00:14.0-usb-0:1.1
port.A2 = pci-0000:00:14.0-usb-0:1.2
port.A10 = pci-0000:00:14.0-usb-0:1.3 pci-0000:00:14.0-usb-0:2.3
EOF

# the column after "port" starts at the same offset on every line of the table (header and ports)
aligned() { # FILE WORD: WORD's column in the header line equals the state's column on each port line
	python3 - "$1" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
head = next(i for i, l in enumerate(lines) if l.startswith("port "))
col = lines[head].index("state")
rows = lines[head + 1:]
bad = [r for r in rows if r[col - 1] != " " or r[col] == " "]
sys.exit(1 if bad or not rows else 0)
PY
}

# json_labels FILE LIST: the status object's ports' labels, in port order, are LIST (a Python literal)
json_labels() {
	python3 -c 'import json, sys; o = json.loads(open(sys.argv[1]).readline())
sys.exit(0 if [p["label"] for p in o["ports"]] == eval(sys.argv[2]) else 1)' "$1" "$2"
}

# --- a board with a port map ------------------------------------------------------------------
check "daemon with a port map starts" start_board --port-map "$T/ports.conf" -- "${P[@]}"
expect_rc "status on a board with a port map" 0 B status
out_has "status: a label column" "port  label state"
check "status: the ports by their names (1 A1, 2 A2, 3 A10)" \
	grep -qE '^1 +A1 +ready' "$T/out" && grep -qE '^2 +A2 +ready' "$T/out" && grep -qE '^3 +A10 +ready' "$T/out"
check "status: the label column and the columns after it aligned" aligned "$T/out"
expect_rc "status --json on a board with a port map" 0 B status --json
check "status --json: each port's label (A1, A2, A10)" json_labels "$T/out" '["A1", "A2", "A10"]'
check "status --json: the fields of docs/EVENTS.md" python3 tests/cli/events_check.py board-status "$T/out"
expect_rc "info lists the names" 0 B info
out_has "info: the labels line" "labels    1 A1, 2 A2, 3 A10"
expect_rc "info --json lists the names" 0 B info --json
out_has "info --json: labels" '"labels":["A1","A2","A10"]'
check "info --json: the fields of docs/EVENTS.md" python3 tests/cli/events_check.py board-info "$T/out"

# a job: the names stay with the results
expect_rc "load" 0 B load "$T/a.dfi"
expect_rc "start --wait: the table shows the names" 0 B start --wait
check "start --wait: the final table names A2 as passed" grep -qE '^2 +A2 +pass' "$T/out"
expect_rc "status --all on a board with a port map" 0 env DARTDUP_BOARD_SOCKETS="$S" "$DARTDUP" board status --all
check "status --all: the ports by name" grep -qE ' ok +image without a version; job 1 done: A1 pass, A2 pass, A10 pass$' "$T/out"
expect_rc "status --all --json" 0 env DARTDUP_BOARD_SOCKETS="$S" "$DARTDUP" board status --all --json
out_has "status --all --json: ports with labels" '"ports":[{"port":1,"label":"A1","state":"pass"},{"port":2,"label":"A2","state":"pass"},{"port":3,"label":"A10","state":"pass"}]'

# --- a version 2 PC: no names, no error -------------------------------------------------------
expect_rc "a version 2 PC: status works" 0 env DARTDUP_LINK_MAX_VERSION=2 "$DARTDUP" board --sim "$S" status
check "a version 2 PC: no label column, the ports by number (today's table)" \
	bash -c "grep -q '^port  state ' '$T/out' && grep -qE '^1 +pass ' '$T/out' && ! grep -q 'A1' '$T/out'"
check "a version 2 PC: nothing on stderr (no warning, no error)" \
	bash -c "DARTDUP_LINK_MAX_VERSION=2 '$DARTDUP' board --sim '$S' status 2>&1 >/dev/null | wc -c | grep -qx 0"
expect_rc "a version 2 PC: status --json" 0 env DARTDUP_LINK_MAX_VERSION=2 "$DARTDUP" board --sim "$S" status --json
check "a version 2 PC: label null" json_labels "$T/out" '[None, None, None]'
expect_rc "a version 2 PC: info --json" 0 env DARTDUP_LINK_MAX_VERSION=2 "$DARTDUP" board --sim "$S" info --json
out_has "a version 2 PC: labels null" '"labels":null'
expect_rc "a version 1 PC: status works too" 0 env DARTDUP_LINK_MAX_VERSION=1 "$DARTDUP" board --sim "$S" status
expect_rc "DARTDUP_LINK_MAX_VERSION out of range: refused" 2 env DARTDUP_LINK_MAX_VERSION=5 "$DARTDUP" board --sim "$S" status
out_has "the bad version is named" "DARTDUP_LINK_MAX_VERSION: '5' is not a link protocol version (1..4)"
check "the refusal is one line" test "$(wc -l <"$T/out")" -eq 1
expect_rc "DARTDUP_LINK_MAX_VERSION not a number: refused" 2 env DARTDUP_LINK_MAX_VERSION=2x "$DARTDUP" board --sim "$S" status

# the bytes themselves: PORTS to a version 2 (and a HELLO-less, version 1) peer is unknown-type, as from a
# version 2 board; to a version 3 peer the names
cat >"$T/ports.py" <<'PY'
import struct, sys
sys.path.insert(0, "tests/cli")
from linkframe import ask
def ports(hello_max):
    flags, p = ask(sys.argv[1], hello_max, 0x28)
    if flags & 2:
        return "error%d" % struct.unpack_from("<H", p)[0]
    n, pos, out = p[0], 1, []
    for _ in range(n):
        out.append(p[pos + 1:pos + 1 + p[pos]].decode()); pos += 1 + p[pos]
    return ",".join(out)
print(ports(0), ports(2), ports(3))
PY
got=$(python3 "$T/ports.py" "$S")
check "PORTS: unknown-type (3) without HELLO and to version 2, the names to version 3 ($got)" \
	test "$got" = "error3 error3 A1,A2,A10"
stop_board

# --- a map naming fewer ports than the board has: the rest go by number -------------------------
printf 'port.left = pci-0000:00:14.0-usb-0:4\n' >"$T/one.conf"
check "daemon with a one-entry map on three ports" start_board --port-map "$T/one.conf" -- "${P[@]}"
expect_rc "status: one port named" 0 B status
check "status: port 1 by name, ports 2 and 3 with a dash" \
	bash -c "grep -qE '^1 +left +ready' '$T/out' && grep -qE '^2 +- +ready' '$T/out' && grep -qE '^3 +- +ready' '$T/out'"
check "status: aligned" aligned "$T/out"
expect_rc "status --json: one label" 0 B status --json
check "status --json: port 1 named, 2 and 3 not" json_labels "$T/out" '["left", None, None]'
expect_rc "info --json: a null for the unnamed" 0 B info --json
out_has "info --json: labels with nulls" '"labels":["left",null,null]'
stop_board

# --- a board without a map: numbers, as before ------------------------------------------------
check "daemon without a map" start_board -- "${P[@]}"
expect_rc "status without a map" 0 B status
check "status without a map: no label column, numbers" \
	bash -c "grep -q '^port  state ' '$T/out' && grep -qE '^1 +ready ' '$T/out'"
expect_rc "status --json without a map" 0 B status --json
check "status --json without a map: label null" json_labels "$T/out" '[None, None, None]'
expect_rc "info without a map: no labels line" 0 B info
check "info without a map: no labels line" bash -c "! grep -q '^labels' '$T/out'"
expect_rc "status --all without a map: numbers" 0 env DARTDUP_BOARD_SOCKETS="$S" "$DARTDUP" board status --all
check "status --all without a map: the ports by number" grep -qE ' ok +image without a version; job 0 idle: 1 ready, 2 ready, 3 ready$' "$T/out"
stop_board

# --- maps the sim board refuses, one line naming the file -------------------------------------
printf 'port.A1 = pci-0000:00:14.0-usb-0:1\nport.A2 = pci-0000:00:14.0-usb-0:2\n' >"$T/two.conf"
expect_rc "a map naming more ports than the board has: refused" 2 \
	"$DARTDUPD" --board sim --socket "$S" --store "$ST" --pubkey "$T/depot.pub" --port "${P[0]}" --port-map "$T/two.conf"
out_has "the refusal names the map and the counts" "two.conf: 2 ports named, the board has 1"
printf 'port.A 1 = pci-0000:00:14.0-usb-0:1\n' >"$T/bad.conf"
expect_rc "a map with a bad name: refused" 2 \
	"$DARTDUPD" --board sim --socket "$S" --store "$ST" --pubkey "$T/depot.pub" --port "${P[0]}" --port-map "$T/bad.conf"
out_has "the refusal names file:line" "bad.conf:1: port name"
check "no socket left behind by a refused start" test ! -e "$S"

# --- a board whose names a terminal must not see: refused by the decoder, one warning line, numbers --
cat >"$T/evil.py" <<'PY'
import struct, sys
sys.path.insert(0, "tests/cli")
from linkframe import s_, serve_board
def answer(typ):
    if typ == 0x01: return struct.pack("<HIH", 3, 1 << 20, 8) + s_(b"evil") + s_(b"9")
    if typ == 0x25: return struct.pack("<BBQ", 1, 1, 1796000000)
    if typ == 0x22: return struct.pack("<BIB", 0, 0, 2) + (struct.pack("<BBBBQQQI", 1, 0, 0, 0, 0, 0, 1 << 30, 0) + s_(b"S") + s_(b"")) * 2
    if typ == 0x28: return bytes([2]) + s_(b"A1") + s_(b"\x1b]0;owned\x07\x1b[2J")
    return None
serve_board(sys.argv[1], answer)
PY
rm -f "$T/ready"; mkfifo "$T/ready"
python3 "$T/evil.py" "$T/evil.sock" >"$T/ready" &
EVIL=$!
read -r line <"$T/ready"
expect_rc "a board sending an escape in a port name: status still works" 0 "$DARTDUP" board --sim "$T/evil.sock" status
out_has "the refused names are warned about" "warning: "
out_has "the warning says the ports go by number" "the ports are shown by number"
check "no escape byte reaches the terminal" bash -c "! grep -q $'\x1b' '$T/out'"
check "the ports by number, no label column" bash -c "grep -q '^port  state ' '$T/out' && grep -qE '^1 +ready ' '$T/out'"
kill "$EVIL" 2>/dev/null; wait "$EVIL" 2>/dev/null
exit 0
