#!/usr/bin/env bash
# dartdup write / verify / list: file targets, loop devices and a small tmpfs (as root), signals,
# refusals. Everything this suite creates (mounts, loop devices) is removed on exit, even on failure.
. "$(dirname "$0")/../lib.sh"

LOOPS=() MOUNTS=()
cleanup() {
	local m l
	for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
	for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
ROOT=0; [ "$(id -u)" -eq 0 ] && ROOT=1
skip() { echo "ok - $1 # SKIP $2"; }
MiB=1048576
sha() { sha256sum "$1" | cut -d' ' -f1; }
# rnd FILE BYTES: a reused target: random old content (a PASS must leave none of it in the image's range)
rnd() { head -c "$2" /dev/urandom >"$1"; }

# an odd-sized image with a zero block in the middle
IMG=$T/odd.img
make_image "$T/part" $((MiB + 12345)) 7
{ head -c $MiB /dev/urandom; head -c $MiB /dev/zero; cat "$T/part"; } >"$IMG"
ISIZE=$(stat -c %s "$IMG")

# --- several file targets, odd size, json, audit log ---------------------------------------------
rnd "$T/a" "$ISIZE"; rnd "$T/b" $((ISIZE + 5000)); rnd "$T/c" 100 # as long, longer, shorter than the image
expect_rc "write three file targets" 0 "$DARTDUP" write "$IMG" "$T/a" "$T/b" "$T/c" --yes --log "$T/audit.log"
check "targets identical to the image" bash -c "cmp -s '$IMG' '$T/a' && cmp -s -n $ISIZE '$IMG' '$T/b' && cmp -s '$IMG' '$T/c'"
check "the zero MiB of the image is zero on the reused targets" bash -c "
	for t in a b c; do cmp -s -n $MiB -i $MiB:0 '$T/'\$t /dev/zero || exit 1; done"
out_has "summary line" "write: 3 passed, 0 failed, 0 incomplete"
check "audit log has one record per target" test "$(grep -c '"result":"pass"' "$T/audit.log")" -eq 3
check "a passed record has no failure kind" test "$(grep -c '"result":"pass".*"kind":null' "$T/audit.log")" -eq 3
check "audit record fields" grep -q '"image_id":"[0-9a-f]\{64\}".*"target":".*/a".*"capacity":[0-9]*,"result":"pass","bytes_written":[0-9]*' "$T/audit.log"

rnd "$T/j1" "$ISIZE"; rnd "$T/j2" "$ISIZE"
expect_rc "json events" 0 "$DARTDUP" write --json --yes "$IMG" "$T/j1" "$T/j2"
check "json: one start, two done, one summary" bash -c "
	[ \$(grep -c '^{\"schema\":1,\"event\":\"start\"' '$T/out') -eq 1 ] &&
	[ \$(grep -c '^{\"schema\":1,\"event\":\"done\".*\"result\":\"pass\"' '$T/out') -eq 2 ] &&
	grep -q '^{\"schema\":1,\"event\":\"summary\".*\"pass\":2,\"fail\":0,\"incomplete\":0,\"result\":\"pass\"}' '$T/out'"
check "json: every line parses" python3 -c "
import json, sys
for l in open('$T/out'): json.loads(l)"

# --- the screens: colour on a terminal only (never with NO_COLOR), views that fit, port maps ------------
rnd "$T/k1" "$ISIZE"; rnd "$T/k2" "$ISIZE"
expect_rc "not a terminal: write" 0 "$DARTDUP" write --yes "$IMG" "$T/k1" "$T/k2"
check "not a terminal: no escape codes" bash -c "! grep -q $'\\x1b' '$T/out'"
out_has "not a terminal: the phase that writes block 0 last is named for what it does" "k1: first block"
check "summary columns aligned (header and rows)" python3 - "$T/out" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
head = next(i for i, l in enumerate(lines) if l.startswith('TARGET '))
rows = lines[head:head + 3]
cols = [r.index('PASS') if 'PASS' in r else r.index('RESULT') for r in rows]
sys.exit(0 if len(set(cols)) == 1 else 1)
PY
out_has "sizes in binary units" "PASS  verified 3.0 MiB"
# tty_write NAME COLS ROWS ENV...: write on a pseudo-terminal (script(1)) of that size; output in $T/tty.out
tty_write() {
	rnd "$T/k1" "$ISIZE"; rnd "$T/k2" "$ISIZE"
	env "${@:4}" script -qfec "stty cols $2 rows $3; '$DARTDUP' write --yes '$IMG' '$T/k1' '$T/k2'" "$T/tty.out" \
		>/dev/null 2>&1 </dev/null
}
if command -v script >/dev/null; then
	check "on a terminal: write passes" tty_write "tty" 80 24 TERM=xterm
	check "on a terminal: PASS in green" grep -q $'\x1b\\[32mPASS\x1b\\[0m' "$T/tty.out"
	check "on a terminal: the counters line" grep -q 'write: 0 running, 2 passed, 0 failed, 0 incomplete' "$T/tty.out"
	check "NO_COLOR: write passes" tty_write "no colour" 80 24 TERM=xterm NO_COLOR=1
	check "NO_COLOR: no colour codes" bash -c "! grep -q $'\\x1b\\[[0-9;]*m' '$T/tty.out'"
	check "40x12: write passes" tty_write "small" 40 12 TERM=xterm
	check "40x12: no view line wider than the screen" python3 - "$T/tty.out" <<'PY'
import re, sys
text = open(sys.argv[1], 'rb').read().decode('utf-8', 'replace')
frames = [l for l in re.split(r'\r?\n', text) if l.endswith('\x1b[K')]
plain = [re.sub(r'\x1b\[[0-9;]*[A-Za-z]', '', l.split('\x1b[J')[-1]) for l in frames]
sys.exit(0 if frames and max(len(l) for l in plain) <= 40 else 1)
PY
else
	skip "write on a terminal" "no script(1)"
fi
printf 'port.A1 = pci-0000:00:14.0-usb-0:1\nport.A1 = pci-0000:00:14.0-usb-0:2\n' >"$T/dup.conf"
cp "$T/k1" "$T/k1.before"
expect_rc "a bad port map: refused" 2 "$DARTDUP" write --yes --port-map "$T/dup.conf" "$IMG" "$T/k1"
out_has "a bad port map: file:line and the problem" "dup.conf:2: port.A1 given twice (first on line 1)"
check "a bad port map: nothing written" cmp -s "$T/k1" "$T/k1.before"
expect_rc "list with a bad port map: refused" 2 "$DARTDUP" list --port-map "$T/dup.conf"

# --- verify ---------------------------------------------------------------------------------------
expect_rc "verify good targets" 0 "$DARTDUP" verify "$IMG" "$T/a" "$T/b"
python3 - "$T/b" $((2 * MiB + 4321)) <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
with open(p, 'r+b') as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0xff]))
PY
expect_rc "verify catches a changed byte" 1 "$DARTDUP" verify "$IMG" "$T/a" "$T/b"
out_has "verify names the first bad offset" "FAIL at offset $((2 * MiB))"
out_has "the untouched target still passes" "verify: 1 passed, 1 failed"
# the image's all-zero MiB at [1 MiB, 2 MiB): stale bytes there are a difference like any other
python3 -c "f=open('$T/a','r+b'); f.seek($((MiB + 4242))); f.write(b'old')"
expect_rc "verify catches stale bytes in a zero block" 1 "$DARTDUP" verify "$IMG" "$T/a"
out_has "verify names the zero block's offset" "FAIL at offset $MiB"
expect_rc "verify --full is the same check" 1 "$DARTDUP" verify --full "$IMG" "$T/a"
expect_rc "verify a missing target" 2 "$DARTDUP" verify "$IMG" "$T/nonexistent"

# --- refusals: nothing written anywhere ----------------------------------------------------------
expect_rc "no confirmation without a terminal" 2 "$DARTDUP" write "$IMG" "$T/noconfirm"
out_has "asks for --yes" "--yes"
check "unconfirmed target not created" test ! -e "$T/noconfirm"
# on a terminal (script(1) gives it one) only the word yes confirms; any other answer: "nothing written",
# exit 2, the (random-filled) target unchanged. Blanks around yes do not matter; its case does.
if command -v script >/dev/null; then
	rnd "$T/prompt" $((5 * MiB))
	before=$(sha "$T/prompt")
	# the last: yes, blanks past the 64-byte line buffer, then more: not a whole line of yes
	for answer in y YES Yes "yes please" no "" "yes$(printf '%70s' '')x"; do
		printf '%s\n' "$answer" | script -qec "'$DARTDUP' write '$IMG' '$T/prompt'" /dev/null >"$T/out" 2>&1
		rc=$?
		check "prompt: '$answer' does not confirm: exit 2" test "$rc" -eq 2
		out_has "prompt: '$answer' says nothing written" "only yes confirms): nothing written"
		check "prompt: '$answer' leaves the target unchanged" test "$(sha "$T/prompt")" = "$before"
	done
	script -qec "'$DARTDUP' write '$IMG' '$T/prompt'" /dev/null </dev/null >"$T/out" 2>&1
	check "prompt: end of input does not confirm" test "$(sha "$T/prompt")" = "$before"
	printf ' yes \n' | script -qec "'$DARTDUP' write '$IMG' '$T/prompt'" /dev/null >"$T/out" 2>&1
	check "prompt: yes confirms: exit 0" test "$?" -eq 0
	check "prompt: yes wrote the image" cmp -s -n "$ISIZE" "$IMG" "$T/prompt"
else
	skip "the confirmation prompt" "no script(1)"
fi
expect_rc "this machine's disk refused" 2 "$DARTDUP" write "$IMG" "$T/beside" /dev/vda --yes
out_has "says why" "holds /"
check "the other target untouched when one is refused" test ! -e "$T/beside"
expect_rc "this machine's disk refused even with --allow-non-usb" 2 "$DARTDUP" write "$IMG" /dev/vda --yes --allow-non-usb
expect_rc "the image itself refused" 2 "$DARTDUP" write "$IMG" "$IMG" --yes
expect_rc "a target given twice" 2 "$DARTDUP" write "$IMG" "$T/a" "$T/./a" --yes
# a new file named twice (t.img ./t.img): one file, never written twice with two "pass" records
(cd "$T" && expect_rc "a new file given twice" 2 "$DARTDUP" write "$IMG" twice.img ./twice.img --yes --log "$T/twice.log")
out_has "a new file given twice: says so" "given twice"
check "a new file given twice: not created" test ! -e "$T/twice.img"
check "a new file given twice: one refused and one skipped record, no pass" bash -c "
	[ \$(grep -c '\"result\":\"refused\".*\"kind\":\"refused\"' '$T/twice.log') -eq 1 ] &&
	[ \$(grep -c '\"result\":\"skipped\"' '$T/twice.log') -eq 1 ] && ! grep -q '\"result\":\"pass\"' '$T/twice.log'"
expect_rc "a directory refused" 2 "$DARTDUP" write "$IMG" "$T" --yes
expect_rc "bad usage" 2 "$DARTDUP" write "$IMG"
expect_rc "bad retries" 2 "$DARTDUP" write "$IMG" "$T/x" --retries=-1 --yes
for bad in abc "" 101 1x " 1" +1; do
	expect_rc "write --retries '$bad' refused" 2 "$DARTDUP" write "$IMG" "$T/x" --retries="$bad" --yes
done
expect_rc "verify --retries abc refused" 2 "$DARTDUP" verify "$IMG" "$T/x" --retries abc
out_has "--retries: says what it expects" "--retries abc: expected a number from 0 to 100"
check "refused retries: nothing written" test ! -e "$T/x"
expect_rc "missing image" 2 "$DARTDUP" write "$T/none.img" "$T/x" --yes
# a failed download leaves an empty file: "writing" it would pass every stick while changing nothing
: >"$T/empty.img"; rnd "$T/old" $MiB; cp "$T/old" "$T/old.before"
expect_rc "empty image refused" 2 "$DARTDUP" write "$T/empty.img" "$T/old" --yes
out_has "empty image: says so" "empty (0 bytes): not an image"
check "empty image: the target is untouched" cmp -s "$T/old" "$T/old.before"
expect_rc "empty image: verify refuses it too" 2 "$DARTDUP" verify "$T/empty.img" "$T/old"
expect_rc "empty image: pack refuses it" 2 "$DARTDUP" pack "$T/empty.img" -o "$T/empty.dfi"
check "empty image: no package" test ! -e "$T/empty.dfi"
expect_rc "unsigned image with --pubkey refused" 2 "$DARTDUP" write "$IMG" "$T/x" --pubkey "$T/none.pub" --yes
check "refused runs created nothing" test ! -e "$T/x"
expect_rc "list" 0 "$DARTDUP" list --json
out_has "list shows the machine's disk as not writable" '"device":"/dev/vda"'
out_has "list gives the reason" '"reason":"holds /'

# --- .zst image, --full ---------------------------------------------------------------------------
zstd -q -3 "$IMG" -o "$T/odd.img.zst"
rnd "$T/z1" "$ISIZE"
expect_rc "write a plain .zst image" 0 "$DARTDUP" write "$T/odd.img.zst" "$T/z1" --yes
check "zst target identical" cmp -s "$IMG" "$T/z1"
rnd "$T/dirty" "$ISIZE"
expect_rc "write over a random-filled target" 0 "$DARTDUP" write --json "$IMG" "$T/dirty" --yes
check "its zero blocks were rewritten: identical" cmp -s "$IMG" "$T/dirty"
check "nothing reported skipped on random old content" grep -q '"event":"done".*"bytes_skipped":0,' "$T/out"
expect_rc "write again over the same target" 0 "$DARTDUP" write --json "$IMG" "$T/dirty" --yes
check "zero blocks already zero: read, reported skipped" grep -q "\"event\":\"done\".*\"bytes_skipped\":$MiB," "$T/out"
check "still identical" cmp -s "$IMG" "$T/dirty"
rnd "$T/dirty" "$ISIZE"
expect_rc "write --full over a random-filled target" 0 "$DARTDUP" write --full --json "$IMG" "$T/dirty" --yes
check "--full: identical" cmp -s "$IMG" "$T/dirty"
check "--full: every byte written" grep -q "\"event\":\"done\".*\"bytes_written\":$ISIZE,.*\"bytes_skipped\":0," "$T/out"

# --- --sanitize: the whole target past the image zeroed and read back (a returned stick's files gone) ----
rnd "$T/returned" $((2 * ISIZE + 4321)) # a file target twice the image: its size is its capacity
expect_rc "write --sanitize over a random-filled target 2x the image" 0 \
	"$DARTDUP" write --sanitize --json "$IMG" "$T/returned" --yes --log "$T/sanitize.log"
check "sanitize: the image's range holds the image" cmp -s -n "$ISIZE" "$IMG" "$T/returned"
check "sanitize: the target keeps its size" test "$(stat -c %s "$T/returned")" -eq $((2 * ISIZE + 4321))
check "sanitize: every byte past the image is zero" \
	cmp -s -i "$ISIZE:0" -n $((ISIZE + 4321)) "$T/returned" /dev/zero
check "sanitize: the phase ran before the write" \
	bash -c "grep -o '\"phase\":\"[a-z]*\"' '$T/out' | uniq | head -2 | tr '\n' ' ' | grep -qx '\"phase\":\"sanitize\" \"phase\":\"write\" '"
check "sanitize: JSON says sanitized, and how many bytes" \
	grep -q "\"event\":\"done\".*\"result\":\"pass\".*\"sanitized\":true,\"bytes_sanitized\":$((ISIZE + 4321))" "$T/out"
check "sanitize: --json lines follow docs/EVENTS.md" python3 tests/cli/events_check.py write "$T/out"
check "sanitize: the audit record says sanitized" grep -q '"sanitized":true' "$T/sanitize.log"
check "sanitize: the audit record follows docs/EVENTS.md" python3 tests/cli/events_check.py audit "$T/sanitize.log"
rnd "$T/returned2" $((2 * ISIZE))
expect_rc "write --sanitize, terminal output" 0 "$DARTDUP" write --sanitize "$IMG" "$T/returned2" --yes
out_has "the result line says sanitized" "PASS  verified $(awk "BEGIN{printf \"%.1f\", $ISIZE / 1048576}") MiB, sanitized to the end"
rnd "$T/plain" $((2 * ISIZE))
expect_rc "write without --sanitize" 0 "$DARTDUP" write --json "$IMG" "$T/plain" --yes
check "without --sanitize: JSON says not sanitized, no probe" grep -q '"probe":null,"sanitized":false,"bytes_sanitized":0' "$T/out"
check "without --sanitize: past the image untouched (not zero)" \
	bash -c "! cmp -s -i '$ISIZE:0' -n $ISIZE '$T/plain' /dev/zero"
expect_rc "verify has no --sanitize" 2 "$DARTDUP" verify "$IMG" "$T/plain" --sanitize
out_has "verify --sanitize: says why" "--sanitize writes: it belongs to dartdup write"

# --- a DaRT ISO is built on the fly (the builder's hook) ------------------------------------------
if [ -x scripts/make-sample-iso ] && scripts/make-sample-iso "$T/s.iso" --wim-mb 1 >/dev/null 2>&1; then
	expect_rc "write a DaRT ISO" 0 "$DARTDUP" write "$T/s.iso" "$T/iso1" --yes
	"$DARTDUP" build "$T/s.iso" -o "$T/s.img" --raw --quiet >/dev/null 2>&1
	check "the ISO's stick equals the built image" cmp -s "$T/s.img" "$T/iso1"
else
	skip "write a DaRT ISO" "no sample ISO tools"
fi

# --- interruption: nothing reported good, first block not written ---------------------------------
BIG=$T/big.img
head -c $((192 * MiB)) /dev/urandom >"$BIG"
python3 - "$DARTDUP" "$BIG" "$T/i1" "$T/i2" "$T/intr.log" >"$T/intr.out" 2>&1 <<'PY'
import json, signal, subprocess, sys
dartdup, img, t1, t2, log = sys.argv[1:]
p = subprocess.Popen([dartdup, "write", "--json", "--yes", "--log", log, img, t1, t2],
                     stdout=subprocess.PIPE, text=True)
lines = []
for line in p.stdout:
    lines.append(line)
    ev = json.loads(line)
    if ev["event"] == "phase" and ev["phase"] == "write":
        p.send_signal(signal.SIGINT)   # the job is writing: interrupt it now
        break
lines += p.stdout.readlines()
rc = p.wait()
print("rc", rc)
sys.stdout.writelines(lines)
PY
check "SIGINT: exit 1" grep -q '^rc 1$' "$T/intr.out"
check "SIGINT: no target reported good" bash -c "! grep -q '\"result\":\"pass\"' '$T/intr.out'"
check "SIGINT: targets reported incomplete" grep -q '"event":"summary".*"incomplete":2' "$T/intr.out"
check "SIGINT: audit records written" test "$(grep -c '"result":"incomplete"' "$T/intr.log")" -eq 2
check "SIGINT: kind interrupted" test "$(grep -c '"result":"incomplete".*"kind":"interrupted"' "$T/intr.log")" -eq 2
check "SIGINT: first block not written" bash -c "! cmp -s -n $MiB '$BIG' '$T/i1' && ! cmp -s -n $MiB '$BIG' '$T/i2'"
rm -f "$BIG" "$T/i1" "$T/i2"

# --- root: tmpfs and loop devices -----------------------------------------------------------------
if [ $ROOT -ne 1 ]; then
	skip "tmpfs and loop device cases" "not root"
	exit 0
fi
RND=$T/rnd.img
head -c $((4 * MiB)) /dev/urandom >"$RND"

mkdir -p "$T/tiny" "$T/small"
mount -t tmpfs -o size=1m tiny "$T/tiny" && MOUNTS+=("$T/tiny")
expect_rc "a target too small refused" 2 "$DARTDUP" write "$RND" "$T/ok1" "$T/tiny/t" --yes --log "$T/tiny.log"
out_has "says too small" "too small"
check "too small: the record's kind says so, as data" grep -q '"result":"refused".*"kind":"too_small"' "$T/tiny.log"
check "too small: nothing written anywhere" bash -c "[ ! -e '$T/ok1' ] && [ ! -e '$T/tiny/t' ]"

# two 4 MiB targets on a 6 MiB tmpfs: each fits alone, together they fill it midway
mount -t tmpfs -o size=6m small "$T/small" && MOUNTS+=("$T/small")
expect_rc "a target filling up midway fails alone" 1 "$DARTDUP" write --json "$RND" "$T/good" "$T/small/f1" "$T/small/f2" --yes
check "the target beside it passed and is identical" bash -c "grep -q '\"index\":0,\"target\":\"$T/good\".*\"result\":\"pass\"' '$T/out' && cmp -s '$RND' '$T/good'"
check "the full file system's target failed with an offset" grep -q '"result":"fail".*"first_bad_offset":[0-9]' "$T/out"
check "a tmpfs target reported good is really good" python3 -c "
import json
for l in open('$T/out'):
    e = json.loads(l)
    if e['event'] == 'done' and e['result'] == 'pass':
        assert open(e['target'], 'rb').read() == open('$RND', 'rb').read(), e['target']"

# loop devices
truncate -s $((8 * MiB)) "$T/loopfile"
python3 -c "open('$T/loopfile','r+b').write(b'\xab' * $((8 * MiB)))"
L=$(losetup -f --show "$T/loopfile") && LOOPS+=("$L")
before=$(sha "$T/loopfile")
expect_rc "loop device refused without --allow-non-usb" 2 "$DARTDUP" write "$RND" "$L" --yes
out_has "says not USB" "not a USB stick"
check "refused loop device untouched" test "$(sha "$T/loopfile")" = "$before"
expect_rc "list shows the loop device" 0 "$DARTDUP" list
out_has "list: loop not writable, with the reason" "not a USB stick (loop device)"
# the stick's previous life: a GPT's backup header in its last sector
python3 -c "f=open('$T/loopfile','r+b'); f.seek($((8 * MiB - 512))); f.write(b'EFI PART' + bytes(504))"
expect_rc "loop device and files in one run" 0 "$DARTDUP" write "$RND" "$L" "$T/lf1" "$T/lf2" --yes --allow-non-usb
check "loop device holds the image" cmp -s -n $((4 * MiB)) "$RND" "$L"
check "the old backup GPT at the disk's end is gone: the last MiB reads zeros" \
	cmp -s -n $((1 * MiB)) <(tail -c $((1 * MiB)) "$L") /dev/zero
check "between the image and the last MiB: the old content, untouched" \
	cmp -s -n $((3 * MiB)) <(tail -c +$((4 * MiB + 1)) "$L") <(python3 -c "import sys; sys.stdout.buffer.write(b'\xab' * $((3 * MiB)))")
check "a file target's size stays the image's (nothing cleared past it)" test "$(stat -c %s "$T/lf1")" = "$(stat -c %s "$RND")"
check "files beside it too" bash -c "cmp -s '$RND' '$T/lf1' && cmp -s '$RND' '$T/lf2'"
expect_rc "verify the loop device" 0 "$DARTDUP" verify "$RND" "$L"

# reused loop devices (random old content) and an image with an all-zero MiB
truncate -s $((8 * MiB)) "$T/rloop1" "$T/rloop2"
rnd "$T/rloop1" $((8 * MiB)); rnd "$T/rloop2" $((8 * MiB))
R1=$(losetup -f --show "$T/rloop1") && LOOPS+=("$R1")
R2=$(losetup -f --show "$T/rloop2") && LOOPS+=("$R2")
expect_rc "write random-filled loop devices" 0 "$DARTDUP" write "$IMG" "$R1" "$R2" --yes --allow-non-usb
check "random-filled loop devices hold the image byte for byte" \
	bash -c "cmp -s -n $ISIZE '$IMG' '$R1' && cmp -s -n $ISIZE '$IMG' '$R2'"
expect_rc "verify the reused loop devices" 0 "$DARTDUP" verify "$IMG" "$R1" "$R2"
python3 -c "f=open('$R2','r+b'); f.seek($((MiB + 512))); f.write(b'stale'); f.flush()"
expect_rc "verify a loop device with stale bytes in a zero block" 1 "$DARTDUP" verify "$IMG" "$R1" "$R2"
out_has "loop: names the zero block's offset" "FAIL at offset $MiB"

truncate -s $((2 * MiB)) "$T/smallloop"
L2=$(losetup -f --show "$T/smallloop") && LOOPS+=("$L2")
expect_rc "a too small loop device refused" 2 "$DARTDUP" write "$RND" "$L2" --yes --allow-non-usb
out_has "loop: says too small" "too small"

# permission: a user who may not open a disk (or file) is told what to do before any prompt, one line
# naming the udev rule and its group; list's ACCESS column says the same beforehand
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
expect_rc "list as root: the loop device's access is ok" 0 "$DARTDUP" list --json --allow-non-usb
check "list --json: access ok" python3 -c "import json,sys; d=[x for x in json.load(open('$T/out'))['disks'] if x['device']=='$L']; sys.exit(not (d and d[0]['access']=='ok'))"
if "${NOBODY[@]}" true 2>/dev/null; then
	chmod o+x "$T"
	mkdir -p "$T/pub" && chmod 0755 "$T/pub" && cp "$RND" "$T/pub/img" && chmod 0644 "$T/pub/img"
	rnd "$T/pub/ro" $((5 * MiB)) && chmod 0644 "$T/pub/ro"
	before=$(sha "$T/loopfile") ro_before=$(sha "$T/pub/ro")
	ls -l "$L" >"$T/loopmode"
	expect_rc "permission: a disk this user may not open refused" 2 "${NOBODY[@]}" "$DARTDUP" write "$T/pub/img" "$L" --yes --allow-non-usb
	out_has "permission: says what to do" "$L: refused: this user may not open it for writing: run as root, or install the udev rule 70-dartdup.rules (it gives USB disks to group dartdup) and join group dartdup"
	check "permission: one line" test "$(wc -l <"$T/out")" -eq 1
	check "permission: the disk untouched" test "$(sha "$T/loopfile")" = "$before"
	expect_rc "permission: verify says so too" 2 "${NOBODY[@]}" "$DARTDUP" verify "$T/pub/img" "$L"
	out_has "permission: verify: for reading" "this user may not open it for reading"
	expect_rc "permission: a file this user may not write refused" 2 "${NOBODY[@]}" "$DARTDUP" write "$T/pub/img" "$T/pub/ro" --yes
	out_has "permission: the file's line" "$T/pub/ro: refused: this user may not write this file (its permissions)"
	check "permission: the file untouched" test "$(sha "$T/pub/ro")" = "$ro_before"
	expect_rc "permission: list as that user" 0 "${NOBODY[@]}" "$DARTDUP" list --json --allow-non-usb
	check "permission: list --json: access root" python3 -c "import json,sys; d=[x for x in json.load(open('$T/out'))['disks'] if x['device']=='$L']; sys.exit(not (d and d[0]['access']=='root'))"
	# a disk the group disk may write (Debian's default for disks): list names the group to join
	mode=$(stat -c %a "$L") group=$(stat -c %G "$L")
	if chgrp disk "$L" && chmod 0660 "$L"; then
		expect_rc "permission: list (node of group disk)" 0 "${NOBODY[@]}" "$DARTDUP" list --allow-non-usb
		check "permission: list: ACCESS says group disk" grep -qE "^$L .* group disk +(yes|no)" "$T/out"
	fi
	chgrp "$group" "$L"; chmod "$mode" "$L"
else
	skip "permission refusals" "cannot run as nobody (setpriv)"
fi

# a mounted disk: refused, or unmounted with --unmount
if command -v mkfs.ext2 >/dev/null; then
	mkfs.ext2 -q -F "$L" >/dev/null 2>&1
	mkdir -p "$T/mnt" && mount "$L" "$T/mnt" && MOUNTS+=("$T/mnt")
	expect_rc "a mounted loop device refused" 2 "$DARTDUP" write "$RND" "$L" --yes --allow-non-usb
	out_has "says mounted" "mounted"
	expect_rc "--unmount unmounts and writes" 0 "$DARTDUP" write "$RND" "$L" --yes --allow-non-usb --unmount
	check "no longer mounted" bash -c "! grep -q ' $T/mnt ' /proc/self/mountinfo"
	check "written after unmounting" cmp -s -n $((4 * MiB)) "$RND" "$L"
else
	skip "mounted loop device" "no mkfs.ext2"
fi
