#!/usr/bin/env bash
# The stored image's version in INFO (protocol version 3, docs/PROTOCOL.md "INFO") on the simulated board:
# `board info` shows it on the image line and `--json` as "image_version"; a board without an image, or
# holding an image packed without --version, says none; a version 2 PC (DARTDUP_LINK_MAX_VERSION=2) gets
# the old reply and works, the version not known (absent from --json); the raw reply to a version 2 and a
# version 3 peer. Synchronised on the protocol (--ready-fd), never on sleeps.
. tests/lib.sh

S=$T/board.sock
ST=$T/store
PID=
B() { "$DARTDUP" board --sim "$S" "$@"; }
B2() { env DARTDUP_LINK_MAX_VERSION=2 "$DARTDUP" board --sim "$S" "$@"; }

# start_board PORT...: start the daemon and wait until it serves
start_board() {
	local args=() p
	for p in "$@"; do args+=(--port "$p"); done
	rm -f "$T/ready"; mkfifo "$T/ready"
	"$DARTDUPD" --board sim --socket "$S" --store "$ST" --pubkey "$T/depot.pub" "${args[@]}" \
		--ready-fd 3 3>"$T/ready" >>"$T/lights" 2>>"$T/daemon.err" &
	PID=$!
	local line=
	read -r line <"$T/ready"
	[ "$line" = READY ] || { echo "# daemon did not start: $(cat "$T/daemon.err")"; PID=; return 1; }
}
stop_board() {
	[ -n "$PID" ] || return 0
	kill "$PID" 2>/dev/null
	wait "$PID"
	PID=
}
cleanup() { stop_board; rm -rf "$T"; }
trap cleanup EXIT

# json_field FILE KEY WANT: the info object's KEY is WANT (a Python literal; MISSING: the key is absent)
json_field() {
	python3 -c 'import json, sys; o = json.loads(open(sys.argv[1]).readline())
want = sys.argv[3]
sys.exit(0 if (sys.argv[2] not in o if want == "MISSING" else o.get(sys.argv[2], KeyError) == eval(want)) else 1)' "$@"
}

"$DARTDUP" keygen -o "$T/depot" >/dev/null 2>&1 || { not_ok "keygen"; exit 0; }
make_image "$T/a.img" $((256 * 1024 + 99)) 5
"$DARTDUP" pack "$T/a.img" -o "$T/v.dfi" --key "$T/depot.key" --name "sample" --version 1.2.3 >/dev/null 2>&1 ||
	{ not_ok "pack --version 1.2.3"; exit 0; }
"$DARTDUP" pack "$T/a.img" -o "$T/v10.dfi" --key "$T/depot.key" --name "sample" --version 1.10 >/dev/null 2>&1 ||
	{ not_ok "pack --version 1.10"; exit 0; }
"$DARTDUP" pack "$T/a.img" -o "$T/none.dfi" --key "$T/depot.key" --name "other" >/dev/null 2>&1 ||
	{ not_ok "pack without a version"; exit 0; }
head -c $((1 << 20)) /dev/zero >"$T/p1"

check "daemon starts without an image" start_board "$T/p1"

# --- no image ------------------------------------------------------------------------------------
expect_rc "info: no image" 0 B info
out_has "info: image none" "image     none"
expect_rc "info --json: no image" 0 B info --json
check "info --json: image_version \"\" (no image)" json_field "$T/out" image_version '""'
check "info --json: the fields of docs/EVENTS.md" python3 tests/cli/events_check.py board-info "$T/out"

# --- an image with a version ---------------------------------------------------------------------
expect_rc "load an image of version 1.2.3" 0 B load "$T/v.dfi"
expect_rc "info" 0 B info
check "info: the image line names version 1.2.3" grep -qE '^image +sample, version 1\.2\.3 \(' "$T/out"
expect_rc "info --json" 0 B info --json
check "info --json: image_version 1.2.3" json_field "$T/out" image_version '"1.2.3"'
check "info --json: the fields of docs/EVENTS.md" python3 tests/cli/events_check.py board-info "$T/out"
expect_rc "load a newer version (1.10 after 1.2.3: numbers, not text)" 0 B load "$T/v10.dfi"
expect_rc "info after the upgrade" 0 B info --json
check "info --json: image_version 1.10" json_field "$T/out" image_version '"1.10"'

# --- a version 2 PC: the old reply, no version, no error -----------------------------------------
expect_rc "a version 2 PC: info works" 0 B2 info
check "a version 2 PC: the image line without a version" \
	bash -c "grep -qE '^image +sample \(' '$T/out' && ! grep -q 'version' '$T/out'"
check "a version 2 PC: nothing on stderr" bash -c "DARTDUP_LINK_MAX_VERSION=2 '$DARTDUP' board --sim '$S' info 2>&1 >/dev/null | wc -c | grep -qx 0"
expect_rc "a version 2 PC: info --json" 0 B2 info --json
check "a version 2 PC: no image_version key (not known)" json_field "$T/out" image_version MISSING
out_has "a version 2 PC: the image is still named" '"image":{"name":"sample",'
check "a version 2 PC: the fields of docs/EVENTS.md" python3 tests/cli/events_check.py board-info "$T/out"
expect_rc "a version 1 PC: info works too" 0 env DARTDUP_LINK_MAX_VERSION=1 "$DARTDUP" board --sim "$S" info

# the bytes themselves: INFO to a HELLO-less (version 1) and a version 2 peer ends after pending_firmware;
# a version 3 peer gets str image_version after it
cat >"$T/info.py" <<'PY'
import socket, struct, sys
sys.path.insert(0, "tests/cli")
from linkframe import frame, reply
def info(hello_max):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(20)
    if hello_max:
        s.sendall(frame(0x01, struct.pack("<HH", 1, hello_max) + b"\0")); reply(s)
    s.sendall(frame(0x02, b"")); flags, p = reply(s)
    pos = 0
    for _ in range(3):                       # board, firmware, serial
        pos += 1 + p[pos]
    pos += 2 + 32 + 8                        # n_ports, has_image, image_id, image_size
    pos += 1 + p[pos]                        # image_name
    pos += 1 + 32 * p[pos]                   # n_keys, key ids
    pos += 1 + p[pos]                        # pending_firmware
    if pos == len(p):
        return "none"
    return p[pos + 1:pos + 1 + p[pos]].decode() + ("" if pos + 1 + p[pos] == len(p) else "+junk")
print(info(0), info(2), info(3))
PY
got=$(python3 "$T/info.py" "$S")
check "INFO: nothing after pending_firmware without HELLO and to version 2, the version to version 3 ($got)" \
	test "$got" = "none none 1.10"
stop_board

# --- an image without a version: none ------------------------------------------------------------
rm -rf "$ST"
check "daemon starts again" start_board "$T/p1"
expect_rc "load an image packed without --version" 0 B load "$T/none.dfi"
expect_rc "info" 0 B info
check "info: version none" grep -qE '^image +other, version none \(' "$T/out"
expect_rc "info --json" 0 B info --json
check "info --json: image_version \"\"" json_field "$T/out" image_version '""'
stop_board
exit 0
