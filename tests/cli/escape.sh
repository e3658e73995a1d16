#!/usr/bin/env bash
# Untrusted text never reaches the terminal raw (docs/SECURITY.md "Terminal escapes", util/escape.h):
# names with ESC sequences, newlines, C1 controls and invalid UTF-8 in a package's name, an ISO's file
# names and volume id, a file's own name and a board's strings come out escaped (\xNN), one line stays one
# line, JSON stays valid JSON, and a .dfi name that is not UTF-8 text is refused at pack and at read time.
. tests/lib.sh
D=$DARTDUP
MKISO=$PWD/scripts/make-sample-iso
PID=

# inert NAME [LINES]: the last output ($T/out) holds no byte a terminal acts on (C0 but newline, DEL, C1, bidi
# or line-separator marks) and is valid UTF-8; with LINES, it is exactly that many lines
inert() {
	local why
	why=$(python3 - "$T/out" "${2:-}" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
try:
    s = b.decode("utf-8")  # strict: no overlong forms, no surrogates
except UnicodeDecodeError as e:
    sys.exit(print("not UTF-8: %s" % e) or 0)
bad = [c for c in s if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F
       or c in "\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"]
if bad:
    print("raw control characters: %r" % bad[:5])
elif sys.argv[2] and s.count("\n") != int(sys.argv[2]):
    print("%d lines, expected %s" % (s.count("\n"), sys.argv[2]))
PY
)
	if [ -z "$why" ]; then ok "$1"; else not_ok "$1: $why: $(head -c 300 "$T/out" | od -c | head -5 | tr '\n' ' ')"; fi
}
# json_lines NAME: every line of the last output is a JSON object
json_lines() {
	if python3 -c 'import json, sys
for l in open(sys.argv[1], "rb"):
    assert isinstance(json.loads(l.decode("utf-8")), dict)' "$T/out" 2>"$T/json.err"; then
		ok "$1"
	else
		not_ok "$1: $(tail -1 "$T/json.err")"
	fi
}
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID"
	stop_sim_boards
	rm -rf "$T"
}
trap cleanup EXIT

# the hostile parts: a screen clear, a forged line, CSI as a C1 control, a right-to-left override,
# a Latin-1 byte
ESC=$'\e[2J' NL=$'\nforged: ok' C1=$'\xc2\x9b2J' RLO=$'\xe2\x80\xae' BAD=$'\xe9'

# --- .dfi names: refused when given, made text when derived, refused when read --------------------
make_image "$T/a.img" $((300 * 1024)) 1
for n in esc:"a${ESC}b" newline:"a${NL}" c1:"a${C1}" latin1:"caf${BAD}"; do
	what=${n%%:*} name=${n#*:}
	expect_rc "pack --name with $what: refused" 2 "$D" pack "$T/a.img" -o "$T/n.dfi" --name "$name"
	out_has "pack --name with $what: says why" "not UTF-8 text"
	inert "pack --name with $what: the message is inert and one line" 1
	check "pack --name with $what: no package written" test ! -e "$T/n.dfi"
done
expect_rc "pack --name with a bidi override: accepted (it is text; escaped when shown)" 0 \
	"$D" pack "$T/a.img" -o "$T/rlo.dfi" --name "evil${RLO}txt.exe"
expect_rc "inspect of a package named with a bidi override" 0 "$D" inspect "$T/rlo.dfi"
out_has "inspect shows the override escaped" 'evil\xe2\x80\xaetxt.exe'
inert "inspect with a bidi override: inert"

# a file whose own name holds ESC, BEL and a Latin-1 byte: packed under a name made text ('?')
evil=$T/$'a\e]0;title\a\xe9.img'
cp "$T/a.img" "$evil"
derived=$T/$'derived\e[1m.dfi'
expect_rc "pack of a file named with controls: packed" 0 "$D" pack "$evil" -o "$derived"
inert "pack of a file named with controls: the report is inert" 2
out_has "pack names its output escaped" 'derived\x1b[1m.dfi'
expect_rc "inspect of the derived name" 0 "$D" inspect "$derived"
out_has "the derived name: each control or stray byte a '?'" "name        a?]0;title??.img"
inert "inspect: inert"
expect_rc "inspect --json of the derived name" 0 "$D" inspect "$derived" --json
json_lines "inspect --json: valid JSON"
inert "inspect --json: inert" 1
expect_rc "inspect of a raw image named with controls" 0 "$D" inspect "$evil"
out_has "inspect of a raw image: the path escaped" 'a\x1b]0;title\x07\xe9.img'
inert "inspect of a raw image: inert"

# packages crafted with such names (the manifest's hash fixed, so only the name is wrong): refused on read
"$D" pack "$T/a.img" -o "$T/base.dfi" --name NAMEXYZ --block-size 64K >/dev/null 2>&1
craft() { # OUT NAME7: base.dfi with its 7-byte name replaced, the trailer's image id recomputed
	python3 - "$T/base.dfi" "$1" "$2" <<'PY'
import hashlib, struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
new = sys.argv[3].encode("utf-8", "surrogateescape")
assert len(new) == 7
i = d.find(b"NAMEXYZ")
d[i:i + 7] = new
t = len(d) - 72
mo, = struct.unpack_from("<Q", d, t + 16)
ms, = struct.unpack_from("<I", d, t + 24)
d[t + 40:t + 72] = hashlib.sha256(d[mo + 8:mo + ms]).digest()
open(sys.argv[2], "wb").write(d)
PY
}
for n in esc:$'ab\e[2Jc' newline:$'abc\ndef' c1:$'ab\xc2\x9b2Jc' latin1:$'caf\xe9xyz' \
	overlong:$'ab\xc0\xafxyz' surrogate:$'ab\xed\xa0\x80yz' del:$'abc\x7fdef'; do
	what=${n%%:*}
	craft "$T/$what.dfi" "${n#*:}"
	expect_rc "a package named with $what: refused on read" 2 "$D" inspect "$T/$what.dfi"
	out_has "a package named with $what: says why" "name is not UTF-8 text"
	inert "a package named with $what: inert and one line" 1
done
craft "$T/good.dfi" "NAMEabc"
expect_rc "the crafting itself keeps a package readable" 0 "$D" inspect "$T/good.dfi" --check

# error messages naming a file: escaped whole
expect_rc "a missing package named with controls" 2 "$D" inspect "$T/"$'no\e[31mne\n\xc2\x9b.dfi'
inert "a missing package: the message is inert and one line" 1
expect_rc "a missing package: --json error" 2 "$D" inspect "$T/"$'no\e[31mne\n.dfi' --json
inert "a missing package with --json: inert"

# --- ISOs: file names and the volume id ------------------------------------------------------------
"$MKISO" "$T/j.iso" --wim-mb 1 >/dev/null 2>&1 || { not_ok "make a sample ISO"; exit 0; }
python3 - "$T/j.iso" "$T/names.iso" "$T/vol.iso" <<'PY'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
# a Joliet name (UTF-16) with ESC, a newline and CSI as a C1 control, same length as "lower.txt"
old, new = "lower.txt".encode("utf-16-be"), "\x1b[2J\n\x9b.tx".encode("utf-16-be")
e = bytearray(d)
i = e.find(old)
assert i > 0
e[i:i + len(old)] = new
open(sys.argv[2], "wb").write(e)
# the volume id: ESC and a Latin-1 byte in the primary descriptor, ESC and CSI in the Joliet one
v = bytearray(d)
for old, new in ((b"DART70", b"D\x1b[2J\xe9"), ("DART70".encode("utf-16-be"), "D\x1b[2J\x9b".encode("utf-16-be"))):
    i = v.find(old)
    assert i > 0
    v[i:i + len(old)] = new
open(sys.argv[3], "wb").write(v)
PY
expect_rc "ISO: a file name with ESC, newline and C1: refused" 2 "$D" build "$T/names.iso" -o "$T/x.img" --raw
out_has "ISO: the name is shown escaped" '\x1b[2J\x0a\xc2\x9b.tx'
inert "ISO: the refusal is inert and one line" 1
expect_rc "ISO: --json refusal" 2 "$D" build "$T/names.iso" -o "$T/x.img" --raw --json
inert "ISO: the --json refusal is inert"
expect_rc "ISO: write of that ISO refused" 2 "$D" write --yes "$T/names.iso" "$T/t1"
inert "ISO: write's refusal is inert and one line" 1
expect_rc "ISO: a volume id with controls: built" 0 "$D" build "$T/vol.iso" -o "$T/v.dfi"
out_has "ISO: the volume id shown escaped" 'image "D\x1b[2J'
inert "ISO: the report is inert"
expect_rc "ISO: --json report" 0 "$D" build "$T/vol.iso" -o "$T/v2.dfi" --json
json_lines "ISO: --json report is JSON"
inert "ISO: --json report is inert"
expect_rc "ISO: the package of that ISO" 0 "$D" inspect "$T/v.dfi"
out_has "ISO: the package's name is the volume id made text" "name        D?[2J?"
expect_rc "ISO: build --name with controls refused before building" 2 \
	"$D" build "$T/j.iso" -o "$T/n.dfi" --name "x${ESC}"
inert "ISO: build --name refusal inert" 1
check "ISO: build --name refusal wrote nothing" test ! -e "$T/n.dfi" -a ! -e "$T/n.dfi.raw.tmp"
# an ISO file whose own name holds controls, truncated: the message names it, escaped
head -c $((2 << 20)) "$T/j.iso" >"$T/"$'t\e[2J\n\xe9.iso'
expect_rc "ISO: a truncated ISO named with controls" 2 "$D" build "$T/"$'t\e[2J\n\xe9.iso' -o "$T/x.img" --raw
out_has "ISO: its name escaped" 't\x1b[2J\x0a\xe9.iso'
inert "ISO: inert and one line" 1

# --- the board's strings (the simulated board with a hostile serial and port path) ---------------
"$D" keygen -o "$T/depot" >/dev/null 2>&1 &&
	"$D" pack "$T/a.img" -o "$T/s.dfi" --key "$T/depot.key" --block-size 64K --name "sample" >/dev/null 2>&1 ||
	{ not_ok "keygen and pack for the board"; exit 0; }
PORT=$T/$'p\e[2J\n\xc2\x9b1'
: >"$PORT"
check "board: the sim board serves" start_sim_board "$T/b.sock" --store "$T/"$'st\e[31more' --pubkey "$T/depot.pub" \
	--serial $'SIM\e[2J\nforged\xc2\x9b\xe9X' --port "$PORT"
PID=$SIM_PID
B() { "$D" board --sim "$T/b.sock" "$@"; }
expect_rc "board info" 0 B info
out_has "board info: the serial escaped" 'SIM\x1b[2J\x0aforged\xc2\x9b\xe9X'
inert "board info: inert, eleven lines (board, image, key, revoked, clock, audit, board key and its PEM)" 11
expect_rc "board info --json" 0 B info --json
json_lines "board info --json: valid JSON"
inert "board info --json: inert" 1
expect_rc "board load" 0 B load "$T/s.dfi"
expect_rc "board start --wait" 0 B start --wait
inert "board start: inert"
expect_rc "board status" 0 B status
inert "board status: inert, a line per port and two more" 3
expect_rc "board log" 0 B log
inert "board log: inert"
expect_rc "board log --json" 0 B log --json
json_lines "board log --json: valid JSON"
inert "board log --json: inert"
out_has "board log --json: the target path, escaped as JSON" 'p\u001b[2J\u000a\u009b1'
expect_rc "board: an unsigned package refused" 2 B load "$derived"
inert "board: the refusal (the board's message) inert and one line" 1

# --- write and verify: a target named with controls (plain lines, --json, the summary, a refusal) ------
tgt=$T/$'t\e[2J\nforged\xc2\x9b\xe9'
head -c $((1 << 20)) /dev/urandom >"$tgt"
expect_rc "write onto a target named with controls" 0 "$D" write --yes "$T/s.dfi" "$tgt"
out_has "write: the target's name escaped" 't\x1b[2J\x0aforged\xc2\x9b\xe9'
inert "write: inert"
expect_rc "verify of that target" 0 "$D" verify "$T/s.dfi" "$tgt"
inert "verify: inert"
expect_rc "write --json onto that target" 0 "$D" write --yes --json "$T/s.dfi" "$tgt"
json_lines "write --json: JSON"
inert "write --json: inert"
expect_rc "write into a missing folder named with controls: refused" 2 \
	"$D" write --yes "$T/s.dfi" "$T/"$'no\e[2J\ndir/t'
out_has "write's refusal: the path escaped" 'no\x1b[2J\x0adir/t: refused'
inert "write's refusal: inert and one line" 1

# --- a board that lies in every string (tests/cli/hostile_board.py): the port's serial and error, the audit
# record's fields (raw control bytes, not even valid JSON), an ERROR reply's message
kill "$PID" 2>/dev/null && wait "$PID"
PID=
rm -f "$T/ready" && mkfifo "$T/ready"
python3 tests/cli/hostile_board.py "$T/h.sock" >"$T/ready" &
PID=$!
read -r line <"$T/ready"
check "hostile board: serves" test "$line" = READY
H() { "$D" board --sim "$T/h.sock" "$@"; }
expect_rc "hostile board: info" 0 H info
out_has "hostile board: info shows the serial escaped" 'SER\x1b[2J\x0aforged: PASS\xc2\x9b31m\xe2\x80\xae\xe9\x7f'
inert "hostile board: info inert, four lines (no key: the state line says not ready)" 4
out_has "hostile board: no key, so not ready" "state     not ready: it trusts no depot key"
expect_rc "hostile board: status" 0 H status
out_has "hostile board: the port's error escaped" 'E\x1b[2J\x0aforged: PASS'
inert "hostile board: status inert, three lines" 3
expect_rc "hostile board: status --json" 0 H status --json
json_lines "hostile board: status --json is JSON"
inert "hostile board: status --json inert" 1
expect_rc "hostile board: log" 0 H log
inert "hostile board: log inert, three lines" 3
expect_rc "hostile board: log --json" 0 H log --json
json_lines "hostile board: log --json: the raw record made valid JSON"
inert "hostile board: log --json inert" 1
out_has "hostile board: log --json keeps the record's meaning" '"serial":"s\u001b[2J\u000aforged: PASS\u009b31m\u202e\u00e9\u007f"'
expect_rc "hostile board: start refused by the board" 2 H start
out_has "hostile board: the board's message escaped" 'port 1: \x1b[2J\x0aforged'
inert "hostile board: the refusal inert and one line" 1
