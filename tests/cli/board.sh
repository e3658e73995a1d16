#!/usr/bin/env bash
# The duplicator board, end to end on the simulated board: dartdupd --board sim driven by
# dartdup board --sim over its Unix socket. Synchronised on the protocol (--ready-fd, status
# replies, start --wait), never on sleeps.
. tests/lib.sh

S=$T/board.sock
ST=$T/store
PID=
PORTS=()
BOARD_EXTRA=() # more dartdupd options for start_board (a description file's policy, a fake stick)
B() { "$DARTDUP" board --sim "$S" "$@"; }

# start_board PORT...: start the daemon on these ports and wait until it serves
start_board() {
	local args=() p
	for p in "$@"; do args+=(--port "$p"); done
	start_sim_board "$S" --store "$ST" --pubkey "$T/depot.pub" "${args[@]}" "${BOARD_EXTRA[@]}"
	local rc=$?
	PID=$SIM_PID
	return $rc
}
stop_board() {
	[ -n "$PID" ] || return 0
	local rc=0
	stop_sim_board "$PID" || rc=$?
	PID=
	return $rc
}
cleanup() {
	stop_sim_boards
	mountpoint -q "$T/small" 2>/dev/null && umount "$T/small"
	mountpoint -q "$T/smallstore" 2>/dev/null && umount "$T/smallstore"
	rm -rf "$T"
}
trap cleanup EXIT

# --- keys and packages ----------------------------------------------------------------------
"$DARTDUP" keygen -o "$T/depot" >/dev/null 2>&1 && "$DARTDUP" keygen -o "$T/foreign" >/dev/null 2>&1 ||
	{ not_ok "keygen"; exit 0; }
pack() { # RAW OUT [pack options]
	local raw=$1 out=$2; shift 2
	"$DARTDUP" pack "$raw" -o "$out" --block-size 64K "$@" >/dev/null 2>&1
}
make_image "$T/a.img" $((3 * 1024 * 1024 + 12345)) 1
make_image "$T/b.img" $((2 * 1024 * 1024 + 777)) 2
make_image "$T/c.img" $((4 * 1024 * 1024)) 3
pack "$T/a.img" "$T/a.dfi" --key "$T/depot.key" --name "sample A" &&
	pack "$T/b.img" "$T/b.dfi" --key "$T/depot.key" --name "sample B" &&
	pack "$T/c.img" "$T/c.dfi" --key "$T/depot.key" --name "sample C" &&
	pack "$T/a.img" "$T/unsigned.dfi" --name "unsigned" &&
	pack "$T/a.img" "$T/foreign.dfi" --key "$T/foreign.key" --name "foreign" ||
	{ not_ok "pack sample images"; exit 0; }

# used_sticks PORT...: sticks from an earlier life: 5 MiB of random old content each
used_sticks() { local p; for p in "$@"; do head -c $((5 << 20)) /dev/urandom >"$p"; done; }
ports_equal() { # IMAGE PORT...: every port file holds the image
	local img=$1 p; shift
	for p in "$@"; do cmp -s -n "$(stat -c %s "$img")" "$img" "$p" || { echo "# $p differs from $img"; return 1; }; done
}

# --- a mistyped command: named, with the list, exit 2, before any board is looked for ----------
expect_rc "board: a mistyped command" 2 "$DARTDUP" board statuss
out_has "board: the typo is named" "dartdup board: unknown command 'statuss' (commands: list, info, load, start, abort, status, log, selftest, update, revoke)"
check "board: the typo's answer is one line" test "$(wc -l <"$T/out")" -eq 1
# no board and no socket exist: any other answer than the typo's means something was looked for
expect_rc "board --sim: a mistyped command, no socket touched" 2 "$DARTDUP" board --sim "$T/no.sock" statuss --json
out_has "board --sim: the typo is named" "dartdup board: unknown command 'statuss'"
expect_rc "board: a mistyped command with options" 2 "$DARTDUP" board --serial X lod "$T/a.dfi"
out_has "board: the other typo is named" "unknown command 'lod'"
expect_rc "board: an unknown command's text is escaped" 2 "$DARTDUP" board $'st\x1b[2Jatus'
check "board: no escape byte reaches the terminal" bash -c "! grep -q $'\x1b' '$T/out'"

# --- an empty board -------------------------------------------------------------------------
P=("$T/p1" "$T/p2" "$T/p3")
check "daemon starts and serves" start_board "${P[@]}"
expect_rc "info on an empty board" 0 B info
out_has "info says no image" "image     none"
expect_rc "start without an image is refused" 2 B start
out_has "start without an image says why" "no image"

# --- refusals: nothing stored ---------------------------------------------------------------
expect_rc "unsigned image refused" 2 B load "$T/unsigned.dfi"
out_has "unsigned refusal says refused" "refused"
out_has "the refusal names the user's file" "$T/unsigned.dfi: board: image package"
check "the refusal never names the board's incoming/ file" eval '! grep -qE "incoming|\.part" "$T/out"'
expect_rc "foreign-signed image refused" 2 B load "$T/foreign.dfi"
out_has "foreign refusal names the key problem" "refused"
expect_rc "a raw image is refused" 2 B load "$T/a.img"
expect_rc "still no image after refusals" 0 B info
out_has "info still says no image" "image     none"

# --- load, start, every port passes ---------------------------------------------------------
expect_rc "load a signed image" 0 B load "$T/a.dfi"
out_has "load reports verification" "every block verified"
expect_rc "info shows the image" 0 B info --json
out_has "info names the image" '"name":"sample A"'
check "info --json: schema 1, the fields of docs/EVENTS.md" python3 tests/cli/events_check.py board-info "$T/out"
expect_rc "start with no stick in any port is refused" 2 B start
out_has "no-sticks reason" "no stick"
used_sticks "${P[@]}"
expect_rc "start --wait: every port passes" 0 B start --wait
check "the port files equal the image" ports_equal "$T/a.img" "${P[@]}"
# image A starts with an all-zero MiB and ends with one: a reused stick's old bytes there do not survive
check "random-filled ports: the image's zero MiBs read zeros" bash -c "
	for p in ${P[*]}; do cmp -s -n $((1 << 20)) \"\$p\" /dev/zero && cmp -s -n 12345 -i $((3 << 20)):0 \"\$p\" /dev/zero || exit 1; done"
expect_rc "status after the job" 0 B status --json
check "status: every port pass" test "$(grep -o '"state":"pass"' "$T/out" | wc -l)" -eq 3
check "status: every port's phase and result as the protocol names them (done, pass)" \
	test "$(grep -o '"phase":"done","result":"pass"' "$T/out" | wc -l)" -eq 3
check "status --json: schema 1, the fields and values of docs/EVENTS.md" \
	python3 tests/cli/events_check.py board-status "$T/out"
expect_rc "log returns the records" 0 B log --json
check "log --json: the board's audit records (seq, board, then schema 1 and the record's fields)" \
	python3 tests/cli/events_check.py board-log "$T/out"
check "log: one record per port" test "$(grep -c '"result":"pass"' "$T/out")" -eq 3
out_has "log records carry the image id" '"image_id":"'
out_has "log records carry the board serial" '"board":"SIM-'
out_has "log records carry the port" '"port":"sim-2"'
expect_rc "log --since skips older records" 0 B log --json --since 3
check "log --since 3 gives one record" test "$(grep -c '"seq":3' "$T/out")" -eq 1 -a "$(wc -l <"$T/out")" -eq 1

# --- a result stays lit until a new stick appears in the port ------------------------------
rm -f "${P[0]}"
expect_rc "status with a stick pulled" 0 B status --json
out_has "the pulled stick's result stays lit" '{"port":1,"state":"pass"'
touch "${P[0]}"
expect_rc "status with a new stick" 0 B status --json
out_has "a new stick clears the result" '{"port":1,"state":"ready"'
out_has "the other results stay lit" '{"port":2,"state":"pass"'

# --- the button (SIGUSR1), synchronised on the job number -----------------------------------
job=$(B status --json | grep -o '"job":[0-9]*' | cut -d: -f2)
rm -f "${P[@]}"; used_sticks "${P[@]}" # new (used) sticks
kill -USR1 "$PID"
expect_rc "button press runs a job" 0 B status --watch --json --job $((job + 1))
check "button job: every port pass" test "$(tail -n1 "$T/out" | grep -o '"state":"pass"' | wc -l)" -eq 3
check "button job wrote the image" ports_equal "$T/a.img" "${P[@]}"

# --- malformed and unknown frames get error replies; the board keeps serving -----------------
cat >"$T/fuzz.py" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(20)
def frame(typ, payload, ver=1, flags=0, tag=7):
    n = 16 + len(payload); pad = 1 if n % 64 == 0 else 0
    return b"DDLK" + struct.pack("<BBBBII", ver, typ, flags, pad, tag, len(payload)) + payload + b"\0" * pad
def read(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c: raise SystemExit("not ok - board closed the link without an error reply")
        b += c
    return b
def reply():
    h = read(16)
    ln, pad = struct.unpack("<I", h[12:16])[0], h[7]
    p = read(ln + pad)
    return h[5], h[6], struct.unpack("<I", h[8:12])[0], p[:ln]
cases = [("unknown type", frame(0x55, b""), 3), ("wrong version", frame(0x02, b"", ver=9), 2),
         ("info too long", frame(0x02, b"x"), 4), ("hello too short", frame(0x01, b"\1"), 4),
         ("load_begin bad kind", frame(0x10, b"\x09" + b"\0" * 43), 5),
         ("load_data no transfer", frame(0x11, b"\0" * 17), 6),
         ("a reply sent to the board", frame(0x21, b"", flags=1), 5)]
for name, f, want in cases:
    s.sendall(f)
    typ, flags, tag, p = reply()
    code = struct.unpack("<H", p[:2])[0]
    print(("ok - " if flags == 3 and tag == 7 and code == want else "not ok - ") + "board answers %s with error %d (got %d)" % (name, want, code))
s.sendall(b"garbage!" * 4)
typ, flags, tag, p = reply()
print(("ok - " if struct.unpack("<H", p[:2])[0] == 1 else "not ok - ") + "board answers garbage with bad-frame")
print(("ok - " if s.recv(10) == b"" else "not ok - ") + "board resets the link after garbage")
PY
python3 "$T/fuzz.py" "$S"
# a peer that stalls half-way through a frame must not block the others
coproc STALL { python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"DDLK\1\2\0\0"); print("stalled", flush=True); sys.stdin.read()' "$S"; }
read -r line <&"${STALL[0]}"
expect_rc "board still serves after malformed frames and a stalled peer ($line)" 0 B info
kill "$STALL_PID" 2>/dev/null; wait "$STALL_PID" 2>/dev/null

# --- the board restarted between load and start ---------------------------------------------
expect_rc "load another image" 0 B load "$T/b.dfi"
check "daemon stops on SIGTERM" stop_board
check "daemon restarts with the same store" start_board "${P[@]}"
expect_rc "after restart the new image is stored" 0 B info --json
out_has "after restart info names image B" '"name":"sample B"'
expect_rc "start after restart passes" 0 B start --wait
check "ports hold image B" ports_equal "$T/b.img" "${P[@]}"

# --- a load interrupted and resumed ---------------------------------------------------------
half=$(($(stat -c %s "$T/c.dfi") / 2))
expect_rc "interrupted load exits 1" 1 B load "$T/c.dfi" --max-bytes $half --json
out_has "interrupted load reports what it sent" "\"sent\":$half,"
expect_rc "interrupted load left the old image" 0 B info --json
out_has "old image still named after an interrupted load" '"name":"sample B"'
check "daemon restarts mid-transfer" stop_board
check "daemon back" start_board "${P[@]}"
expect_rc "load resumes" 0 B load "$T/c.dfi" --json
out_has "load resumed where it stopped" "\"resumed_from\":$half,"
out_has "resumed load finished" '"name":"sample C"'
check "load --json says where the time went (hash_s, data_s, end_s: seconds)" \
	grep -qE '"hash_s":[0-9]+\.[0-9]{3},"data_s":[0-9]+\.[0-9]{3},"end_s":[0-9]+\.[0-9]{3}' "$T/out"
expect_rc "start with the resumed image" 0 B start --wait
check "ports hold image C" ports_equal "$T/c.img" "${P[@]}"

# --- the two forms of a load (docs/PROTOCOL.md): a version 2 PC names the package by its SHA-256 in
# LOAD_BEGIN (byte for byte the old frames); a version 3 PC may begin with HASH_AT_END (a resume key) and
# name the SHA-256 in LOAD_END, which the board checks: a wrong one is refused and nothing is stored
cat >"$T/forms.py" <<'PY'
import hashlib, os, socket, struct, sys
sys.path.insert(0, "tests/cli")
from linkframe import frame, reply
def call(s, typ, payload, tag):
    s.sendall(frame(typ, payload, tag)); flags, p = reply(s)
    return ("error %d" % struct.unpack("<H", p[:2])[0]) if flags & 2 else p
def load(sock, path, version, flags, key, end_sha):
    data = open(path, "rb").read()
    s = socket.socket(socket.AF_UNIX); s.connect(sock); s.settimeout(60)
    call(s, 0x01, struct.pack("<HH", 1, version) + b"\0", 1)
    r = call(s, 0x10, struct.pack("<BBHQ", 1, flags, 0, len(data)) + key, 2)
    if isinstance(r, str): return "begin " + r
    xfer, off, chunk = struct.unpack("<IQI", r)
    tag = 3
    while off < len(data):
        r = call(s, 0x11, struct.pack("<IIQ", xfer, 0, off) + data[off:off + chunk], tag); tag += 1
        if isinstance(r, str): return "data " + r
        off = struct.unpack("<Q", r)[0]
    r = call(s, 0x12, struct.pack("<I", xfer) + end_sha, tag)
    return ("end " + r) if isinstance(r, str) else "loaded"
sock, path, form = sys.argv[1:4]
sha = hashlib.sha256(open(path, "rb").read()).digest()
if form == "v2":
    print(load(sock, path, 2, 0, sha, b""))
elif form == "wrong":
    print(load(sock, path, 3, 2, os.urandom(32), bytes(32)))
elif form == "none":
    print(load(sock, path, 3, 2, os.urandom(32), b""))
else:
    print(load(sock, path, 3, 2, os.urandom(32), sha))
PY
check "a version 2 PC's load (SHA-256 in LOAD_BEGIN) is stored" \
	test "$(python3 "$T/forms.py" "$S" "$T/a.dfi" v2)" = loaded
expect_rc "info after the version 2 load" 0 B info --json
out_has "the version 2 load stored image A" '"name":"sample A"'
check "HASH_AT_END with a wrong SHA-256 in LOAD_END: refused (8)" \
	test "$(python3 "$T/forms.py" "$S" "$T/c.dfi" wrong)" = "end error 8"
expect_rc "info after the refused load" 0 B info --json
out_has "nothing stored by a refused load: image A stays" '"name":"sample A"'
check "no partial transfer left by the refused load" test -z "$(ls "$ST/incoming")"
check "HASH_AT_END without a SHA-256 in LOAD_END: bad-field (5)" \
	test "$(python3 "$T/forms.py" "$S" "$T/c.dfi" none)" = "end error 5"
check "HASH_AT_END with the right SHA-256 in LOAD_END is stored" \
	test "$(python3 "$T/forms.py" "$S" "$T/c.dfi" right)" = loaded
expect_rc "info after the HASH_AT_END load" 0 B info --json
out_has "the HASH_AT_END load stored image C" '"name":"sample C"'

# a version 3 board from before HASH_AT_END refuses the flag (bad-field, a reserved bit then: its decoder's
# words) and takes a LOAD_END of 4 bytes only: dartdup loads it in the first form (its SHA-256 in LOAD_BEGIN)
cat >"$T/oldv3.py" <<'PY'
import hashlib, socket, struct, sys
def frame(typ, tag, payload, flags=1):
    pad = 1 if (16 + len(payload)) % 64 == 0 else 0
    return b"DDLK" + struct.pack("<BBBBII", 1, typ, flags, pad, tag, len(payload)) + payload + b"\0" * pad
def err(code, msg=b"old"): return struct.pack("<HHQ", code, 0, 0) + bytes([len(msg)]) + msg
def serve(conn):
    buf, want, got = b"", None, bytearray()
    while True:
        data = conn.recv(1 << 20)
        if not data: return
        buf += data
        while len(buf) >= 16:
            _, _, typ, _, pad, tag, n = struct.unpack_from("<4sBBBBII", buf, 0)
            if len(buf) < 16 + n + pad: break
            body, buf = buf[16:16 + n], buf[16 + n + pad:]
            out, fl = None, 1
            if typ == 0x01:
                out = struct.pack("<HIH", 3, 1 << 20, 8) + bytes([3]) + b"old" + bytes([1]) + b"3"
            elif typ == 0x10:
                kind, flags, _, size = struct.unpack_from("<BBHQ", body, 0)
                open(sys.argv[2], "a").write("%d\n" % flags)  # before the reply: the PC sees it done
                if flags & ~1: out, fl = err(5, b"link: LOAD_BEGIN: a field is out of range"), 3
                else: want, got, out = body[12:44], bytearray(), struct.pack("<IQI", 5, 0, 65536)
            elif typ == 0x25:
                out = struct.pack("<BBQ", 1, 1, struct.unpack_from("<Q", body, 0)[0])
            elif typ == 0x11:
                got += body[16:]; out = struct.pack("<Q", len(got))
            elif typ == 0x12:
                if n != 4: out, fl = err(4), 3
                elif hashlib.sha256(got).digest() != want: out, fl = err(8), 3
                else: out = bytes([1]) + hashlib.sha256(b"id").digest() + struct.pack("<Q", len(got)) + bytes([6]) + b"oldimg"
            else: out, fl = err(3), 3
            conn.sendall(frame(typ, tag, out, fl))
srv = socket.socket(socket.AF_UNIX); srv.bind(sys.argv[1]); srv.listen(2)
print("READY", flush=True)
while True:
    conn, _ = srv.accept()
    with conn: serve(conn)
PY
rm -f "$T/old.ready" && mkfifo "$T/old.ready"
python3 "$T/oldv3.py" "$T/old.sock" "$T/old.flags" >"$T/old.ready" &
oldpid=$!
read -r line <"$T/old.ready"
check "the old version 3 board listens" test "$line" = READY
expect_rc "a load to a version 3 board from before HASH_AT_END" 0 "$DARTDUP" board --sim "$T/old.sock" load "$T/a.dfi" --json
out_has "it loaded in the first form" '"name":"oldimg"'
kill "$oldpid"; wait "$oldpid" 2>/dev/null
check "it was offered HASH_AT_END (2), then the first form (0)" test "$(tr '\n' ' ' <"$T/old.flags")" = "2 0 "

# --- a load interrupted and abandoned: the old image is still used ----------------------------
expect_rc "abandoned load exits 1" 1 B load "$T/a.dfi" --max-bytes $(($(stat -c %s "$T/a.dfi") / 2))
expect_rc "start after an abandoned load" 0 B start --wait
check "ports still get the old image" ports_equal "$T/c.img" "${P[@]}"

# --- a failing port fails alone -------------------------------------------------------------
stop_board
mkdir -p "$T/small"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=1m tmpfs "$T/small" 2>/dev/null; then
	touch "$T/small/p4" "$T/p1"
	check "daemon with a tiny port" start_board "$T/p1" "$T/small/p4"
	expect_rc "start --wait fails when a port fails" 1 B start --wait
	expect_rc "status after the failing job" 0 B status --json
	out_has "the good port passed" '{"port":1,"state":"pass"'
	out_has "the tiny port needs attention (too small)" '{"port":2,"state":"attention"'
	out_has "status names the failure kind (protocol 3)" '"kind":"too_small"'
	out_has "a passing port has no kind" '"result":"pass","kind":null'
	expect_rc "status table" 0 B status
	out_has "the table names the kind before the error" 'too_small: '
	# the kind travels only to a PC whose HELLO chose version 3: an older PC reads the byte as reserved (0)
	cat >"$T/kind.py" <<'PY'
import struct, sys
sys.path.insert(0, "tests/cli")
from linkframe import ask
def fails(hello_max):
    _, p = ask(sys.argv[1], hello_max, 0x22)
    n, pos, out = p[5], 6, []
    for _ in range(n):
        out.append(p[pos + 3]); pos += 4 + 8 * 3 + 4
        for _ in range(2): pos += 1 + p[pos]
    return out
print(fails(0), fails(2), fails(3))
PY
	kinds=$(python3 "$T/kind.py" "$S")
	check "STATUS's fail byte: 0 without HELLO and to version 2, too_small (4) to version 3 ($kinds)" \
		test "$kinds" = "[0, 0] [0, 0] [0, 4]"
	check "the too small port's file is left as it was (empty)" test ! -s "$T/small/p4"
	check "the good port holds the image" ports_equal "$T/c.img" "$T/p1"
	expect_rc "log has the failure" 0 B log --json
	out_has "log records the failing port" '"result":"fail"'
	stop_board
	umount "$T/small"
else
	ok "# SKIP a failing port (needs root for a tmpfs)"
fi

# --- firmware update ------------------------------------------------------------------------
check "daemon for update" start_board "${P[@]}"
printf 'new firmware' >"$T/fw.bin"
pack "$T/fw.bin" "$T/fw.dfi" --key "$T/depot.key" --name "dartdupd-firmware sim 9.9.9"
pack "$T/fw.bin" "$T/fw-other.dfi" --key "$T/depot.key" --name "dartdupd-firmware linux-gadget 9.9.9"
pack "$T/fw.bin" "$T/fw-foreign.dfi" --key "$T/foreign.key" --name "dartdupd-firmware sim 9.9.9"
expect_rc "a firmware bundle is refused as an image" 2 B load "$T/fw.dfi"
expect_rc "an image is refused as a firmware bundle" 2 B update "$T/a.dfi"
expect_rc "firmware for another board refused" 2 B update "$T/fw-other.dfi"
expect_rc "foreign-signed firmware refused" 2 B update "$T/fw-foreign.dfi"
expect_rc "a signed bundle is verified and stored" 0 B update "$T/fw.dfi"
expect_rc "info reports the stored bundle" 0 B info --json
out_has "pending firmware named" '"pending_firmware":"dartdupd-firmware sim 9.9.9"'
out_has "image unchanged by the update" '"name":"sample C"'
# the sim board stores bundles but never applies them: --wait says so after its time-out, exit 1
expect_rc "update --wait on a board that does not apply it: exit 1" 1 B update "$T/fw.dfi" --wait --timeout 1
out_has "update --wait names what is still pending" "did not serve again with firmware 9.9.9 within 1 s (the bundle is still pending)"

# --- the board killed (SIGKILL, no clean stop) during an update and during a load -------------
# --max-bytes returns once the board acknowledged that many bytes, so the kill lands in the
# middle of a transfer the board holds as partial state: synchronised on the protocol.
kill_board() { # SIGKILL: no handler runs, nothing is flushed or closed in order
	kill -KILL "$PID" && wait "$PID"
	local rc=$?
	PID=
	[ "$rc" = 137 ] || { echo "# daemon exit status $rc, expected 137 (SIGKILL)"; return 1; }
}
printf 'newer firmware' >"$T/fw2.bin"
head -c $((256 * 1024)) /dev/urandom >>"$T/fw2.bin"
pack "$T/fw2.bin" "$T/fw2.dfi" --key "$T/depot.key" --name "dartdupd-firmware sim 9.9.10"
fwhalf=$(($(stat -c %s "$T/fw2.dfi") / 2))
expect_rc "update stopped mid-transfer exits 1" 1 B update "$T/fw2.dfi" --max-bytes $fwhalf --json
out_has "stopped update reports what the board acknowledged" "\"sent\":$fwhalf,"
check "daemon killed (SIGKILL) mid-update" kill_board
check "daemon restarts on the same store after the kill" start_board "${P[@]}"
expect_rc "info after a kill mid-update" 0 B info --json
out_has "killed update: the previous bundle is still the pending one" '"pending_firmware":"dartdupd-firmware sim 9.9.9"'
check "killed update: the partial bundle is not named" eval '! grep -qF 9.9.10 "$T/out"'
out_has "killed update: the image is still named" '"name":"sample C"'
expect_rc "a job runs after a kill mid-update" 0 B start --wait
check "ports hold image C after a kill mid-update" ports_equal "$T/c.img" "${P[@]}"
expect_rc "the update completes after the kill" 0 B update "$T/fw2.dfi" --json
out_has "completed update names the new bundle" '9.9.10'
out_has "the update resumed at the bytes acknowledged before the kill" "\"resumed_from\":$fwhalf,"
expect_rc "info after the completed update" 0 B info --json
out_has "the new bundle is pending" '"pending_firmware":"dartdupd-firmware sim 9.9.10"'

expect_rc "load stopped mid-transfer exits 1" 1 B load "$T/a.dfi" --max-bytes $(($(stat -c %s "$T/a.dfi") / 2))
check "daemon killed (SIGKILL) mid-load" kill_board
check "daemon restarts after a kill mid-load" start_board "${P[@]}"
expect_rc "info after a kill mid-load" 0 B info --json
out_has "killed load: the old image is still named" '"name":"sample C"'
out_has "killed load: the firmware bundle is untouched" '"pending_firmware":"dartdupd-firmware sim 9.9.10"'
expect_rc "a job runs after a kill mid-load" 0 B start --wait
check "ports hold the old image after a kill mid-load" ports_equal "$T/c.img" "${P[@]}"
expect_rc "the load completes after the kill" 0 B load "$T/a.dfi" --json
out_has "completed load names the new image" '"name":"sample A"'
expect_rc "a job with the loaded image" 0 B start --wait
check "ports hold image A" ports_equal "$T/a.img" "${P[@]}"
stop_board

# --- a store that cannot hold a package (issue 17 item 1): refused before a byte is sent --------------
mkdir -p "$T/smallstore"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=12m tmpfs "$T/smallstore" 2>/dev/null; then
	ST=$T/smallstore/store
	head -c $((6 << 20)) /dev/urandom >"$T/big.img" # random: the package stays 6 MiB
	pack "$T/big.img" "$T/big.dfi" --key "$T/depot.key" --name "big" || not_ok "pack a 6 MiB package"
	check "daemon on a 12 MiB store" start_board "$T/p1"
	expect_rc "an image that fits the store loads" 0 B load "$T/a.dfi"
	expect_rc "an image the store cannot hold is refused" 2 B load "$T/big.dfi" --json
	out_has "the refusal says the store cannot hold it" "cannot hold this image package"
	out_has "the refusal names the user's file" "$T/big.dfi: board:"
	out_has "the refusal comes before any data" '"sent":0,'
	expect_rc "info with a full store" 0 B info --json
	out_has "the stored image is still served" '"name":"sample A"'
	expect_rc "a job runs with a full store" 0 B start --wait
	check "the port holds image A" ports_equal "$T/a.img" "$T/p1"
	stop_board
	umount "$T/smallstore"
else
	ok "# SKIP a store too small for a package (needs root for a tmpfs)"
fi

# --- probe and sanitize on the board (issue 15 item 4) ------------------------------------------
# The description file's policy (the sim board's --policy takes board.conf's keys, in the same words);
# port 3 holds a counterfeit stick: 8 MiB that announce 64 MiB, offsets past 8 MiB wrap around.
ST=$T/store-policy
BOARD_EXTRA=(--policy probe=yes --policy sanitize=yes --counterfeit 3:64M)
Q=("$T/q1" "$T/q2" "$T/q3")
for p in "${Q[@]}"; do head -c $((8 << 20)) /dev/urandom >"$p"; done # returned sticks: random old files
ASIZE=$(stat -c %s "$T/a.img")
check "daemon with probe = yes and sanitize = yes" start_board "${Q[@]}"
expect_rc "load for the policy job" 0 B load "$T/a.dfi"
expect_rc "start --wait: the counterfeit port fails, the job exits 1" 1 B start --wait
check "genuine ports hold the image" ports_equal "$T/a.img" "${Q[0]}" "${Q[1]}"
check "genuine ports: every byte past the image is zero" bash -c "
	for p in ${Q[0]} ${Q[1]}; do cmp -s -i $ASIZE:0 -n $(((8 << 20) - ASIZE)) \"\$p\" /dev/zero || exit 1; done"
expect_rc "log of the policy job" 0 B log --json
check "log --json: the records with probe and sanitized follow docs/EVENTS.md" \
	python3 tests/cli/events_check.py board-log "$T/out"
check "records: two genuine sticks probed, sanitized and passed" \
	test "$(grep -c '"result":"pass".*"probe":"genuine","sanitized":true,"bytes_sanitized":'$(((8 << 20) - ASIZE)) "$T/out")" -eq 2
check "record: the counterfeit stick fails with kind counterfeit, not sanitized" \
	grep -q '"port":"sim-3".*"result":"fail".*"kind":"counterfeit","probe":"counterfeit","sanitized":false' "$T/out"
check "the counterfeit stick was not written" bash -c "! cmp -s -n $ASIZE '$T/a.img' '${Q[2]}'"
check "daemon stops (policy board)" stop_board

# START's flags (protocol version 3): a board whose description file asks nothing runs them for that job
ST=$T/store-start-flags
BOARD_EXTRA=()
for p in "${Q[@]}"; do head -c $((8 << 20)) /dev/urandom >"$p"; done
check "daemon without a policy" start_board "${Q[@]}"
expect_rc "load for START's flags" 0 B load "$T/a.dfi"
expect_rc "start --wait --probe --sanitize: every port passes" 0 B start --wait --probe --sanitize
expect_rc "log of the flagged job" 0 B log --json
check "records: probed and sanitized at START's request" \
	test "$(grep -c '"probe":"genuine","sanitized":true' "$T/out")" -eq 3
check "ports past the image: zeros" bash -c "
	for p in ${Q[*]}; do cmp -s -i $ASIZE:0 -n $(((8 << 20) - ASIZE)) \"\$p\" /dev/zero || exit 1; done"
job=$(B status --json | grep -o '"job":[0-9]*' | cut -d: -f2)
rm -f "${Q[@]}"; for p in "${Q[@]}"; do head -c $((8 << 20)) /dev/urandom >"$p"; done
kill -USR1 "$PID"
expect_rc "a button press after it" 0 B status --watch --json --job $((job + 1))
expect_rc "log of the button's job" 0 B log --json --since 4
check "the button's job runs the description file's policy only (START's flags were for one job)" \
	test "$(grep -c '"probe":null,"sanitized":false' "$T/out")" -eq 3
expect_rc "start --sanitize with a bad option" 2 B start --sanitize=yes
check "daemon stops (START flags)" stop_board
expect_rc "sim board: a bad --policy value is refused" 2 "$DARTDUPD" --board sim --socket "$S" --store "$ST" \
	--pubkey "$T/depot.pub" --port "$T/q1" --policy sanitize=maybe
out_has "says which key and what it expects" "sanitize maybe: expected yes or no"

# --- systemd's notifications (issue 14 item 4): READY=1 once serving, then WATCHDOG=1 from the loop ----
# A socket this test owns stands in for systemd's; it says when it is bound (a fifo), then waits
# for the messages (up to 60 s: a bound, not a pace).
rm -f "$T/nready"; mkfifo "$T/nready"
python3 - "$T/notify" "$T/nready" >"$T/notify.out" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
open(sys.argv[2], "w").write("bound\n")
seen = []
try:
    while seen.count("WATCHDOG=1") < 3:
        seen.append(s.recv(256).decode())
except socket.timeout:
    pass
print(" ".join(seen))
PY
NPID=$!
read -r _ <"$T/nready"
ST=$T/store-notify
NOTIFY_SOCKET=$T/notify WATCHDOG_USEC=200000 check "daemon under a (pretend) systemd" start_board "$T/p1"
wait "$NPID"
check "READY=1 first, then the watchdog pinged from the loop" \
	grep -qx 'READY=1 WATCHDOG=1 WATCHDOG=1 WATCHDOG=1' "$T/notify.out"
check "daemon stops cleanly" stop_board
