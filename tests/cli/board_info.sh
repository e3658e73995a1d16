#!/usr/bin/env bash
# The stored image's version in INFO (protocol version 4, docs/PROTOCOL.md "INFO") on the simulated board:
# `board info` shows it on the image line and `--json` as "image_version"; a board without an image, or
# holding an image packed without --version, says none; a version 3 or 2 PC (DARTDUP_LINK_MAX_VERSION) gets
# the old reply and works, the version not known (absent from --json); the raw reply to version 1-3 and
# version 4 peers. Synchronised on the protocol (--ready-fd), never on sleeps.
. tests/lib.sh

S=$T/board.sock
ST=$T/store
PID=
B() { "$DARTDUP" board --sim "$S" "$@"; }
B2() { env DARTDUP_LINK_MAX_VERSION=2 "$DARTDUP" board --sim "$S" "$@"; }

# start_board PORT...: start the daemon (tests/lib.sh start_sim_board) and wait until it serves
start_board() {
	local args=() p
	for p in "$@"; do args+=(--port "$p"); done
	start_sim_board "$S" --store "$ST" --pubkey "$T/depot.pub" "${args[@]}" && PID=$SIM_PID
}
stop_board() { [ -z "$PID" ] || stop_sim_board "$PID"; PID=; }

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
expect_rc "a version 3 PC (what a dartdup from before version 4 offers): info works" 0 \
	env DARTDUP_LINK_MAX_VERSION=3 "$DARTDUP" board --sim "$S" info --json
check "a version 3 PC: no image_version key (the reply a version 3 decoder takes)" json_field "$T/out" image_version MISSING
out_has "a version 3 PC: the image is still named" '"image":{"name":"sample",'
expect_rc "a version 1 PC: info works too" 0 env DARTDUP_LINK_MAX_VERSION=1 "$DARTDUP" board --sim "$S" info

# the bytes themselves: INFO to a HELLO-less (version 1), a version 2 and a version 3 peer ends after
# pending_firmware; a version 4 peer gets str image_version after it
cat >"$T/info.py" <<'PY'
import struct, sys
sys.path.insert(0, "tests/cli")
from linkframe import ask
def info(hello_max):
    flags, p = ask(sys.argv[1], hello_max, 0x02)
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
print(info(0), info(2), info(3), info(4))
PY
got=$(python3 "$T/info.py" "$S")
check "INFO: nothing after pending_firmware without HELLO and to versions 2 and 3, the version to version 4 ($got)" \
	test "$got" = "none none none 1.10"

# --- board status and status --all: the version an admin checks after a rollout ------------------
expect_rc "status" 0 B status
check "status: the header names the image's version" grep -qx 'job 0: idle; image 1.10' "$T/out"
expect_rc "status --json" 0 B status --json
check "status --json: image_version 1.10" json_field "$T/out" image_version '"1.10"'
check "status --json: the fields of docs/EVENTS.md" python3 tests/cli/events_check.py board-status "$T/out"
expect_rc "status --all" 0 env DARTDUP_BOARD_SOCKETS="$S" "$DARTDUP" board status --all
check "status --all: the version first" grep -qE ' ok +image 1\.10; job 0 idle: 1 ready$' "$T/out"
expect_rc "status --all --json" 0 env DARTDUP_BOARD_SOCKETS="$S" "$DARTDUP" board status --all --json
check "status --all --json: image_version 1.10" json_field "$T/out" image_version '"1.10"'
expect_rc "a version 2 PC: status" 0 B2 status
check "a version 2 PC: the header as before" grep -qx 'job 0: idle' "$T/out"
expect_rc "a version 2 PC: status --json" 0 B2 status --json
check "a version 2 PC: status --json without image_version" json_field "$T/out" image_version MISSING
stop_board

# --- an image without a version: none ------------------------------------------------------------
rm -rf "$ST"
check "daemon starts again" start_board "$T/p1"
expect_rc "load an image packed without --version" 0 B load "$T/none.dfi"
expect_rc "info" 0 B info
check "info: version none" grep -qE '^image +other, version none \(' "$T/out"
expect_rc "info --json" 0 B info --json
check "info --json: image_version \"\"" json_field "$T/out" image_version '""'
expect_rc "status: an image without a version" 0 B status
check "status: the header says so" grep -qx 'job 0: idle; image without a version' "$T/out"
stop_board
rm -rf "$ST"
check "daemon starts with an empty store" start_board "$T/p1"
expect_rc "status: no image" 0 B status
check "status: the header says no image" grep -qx 'job 0: idle; no image' "$T/out"
stop_board

# --- a board whose version a terminal must not see (an escape): refused by the decoder -------------
cat >"$T/evil.py" <<'PY'
import struct, sys
sys.path.insert(0, "tests/cli")
from linkframe import s_, serve_board
def answer(typ):
    if typ == 0x01: return struct.pack("<HIH", 4, 1 << 20, 8) + s_(b"evil") + s_(b"9")
    if typ == 0x25: return struct.pack("<BBQ", 1, 1, 1796000000)
    if typ == 0x02: return (s_(b"evil") + s_(b"9") + s_(b"EVIL1") + bytes([1, 1]) + bytes(32) + struct.pack("<Q", 4096)
                            + s_(b"img") + bytes([0]) + s_(b"") + s_(b"1.2\x1b]0;owned\x07\x1b[2J"))
    if typ == 0x22: return struct.pack("<BIB", 0, 0, 1) + struct.pack("<BBBBQQQI", 1, 0, 0, 0, 0, 0, 1 << 30, 0) + s_(b"S") + s_(b"")
    return None
serve_board(sys.argv[1], answer)
PY
rm -f "$T/ready"; mkfifo "$T/ready"
python3 "$T/evil.py" "$T/evil.sock" >"$T/ready" &
EVIL=$!
read -r line <"$T/ready"
"$DARTDUP" board --sim "$T/evil.sock" info >"$T/out" 2>&1
rc=$?
check "a version with an escape: info refuses the reply (exit $rc)" test "$rc" -ne 0 -a "$rc" -lt 128
check "info: one line" test "$(wc -l <"$T/out")" -eq 1
out_has "info: the reply named as refused" "INFO reply: a field is out of range"
check "info: no escape byte reaches the terminal" bash -c "! grep -q $'\x1b' '$T/out'"
expect_rc "status still works" 0 "$DARTDUP" board --sim "$T/evil.sock" status
out_has "status: the refused version is warned about" "the image's version is not shown"
check "status: no escape byte reaches the terminal" bash -c "! grep -q $'\x1b' '$T/out'"
check "status: the header without a version" grep -qx 'job 0: idle' "$T/out"
kill "$EVIL" 2>/dev/null; wait "$EVIL" 2>/dev/null
exit 0
