#!/usr/bin/env bash
# Fault matrix rows that file targets can prove (docs/RELIABILITY.md): the PC tool killed with
# SIGKILL during the write and during the verify, a damaged package (data frame, manifest,
# truncation), a wrong or missing key. For each: the exit status, what is reported, that no target
# is reported good falsely, that an interrupted target never carries the image's first block (so
# it cannot boot a half-written image), and that nothing but the named targets was touched.
. "$(dirname "$0")/../lib.sh"
MiB=1048576
sha() { sha256sum "$1" | cut -d' ' -f1; }

# A 48 MiB image of random data (every block written) whose first block is not zeros.
IMG=$T/img
head -c $((48 * MiB)) /dev/urandom >"$IMG"
"$DARTDUP" keygen -o "$T/depot" >/dev/null
"$DARTDUP" keygen -o "$T/other" >/dev/null
"$DARTDUP" pack "$IMG" -o "$T/img.dfi" --key "$T/depot.key" --level 1 >/dev/null
mkdir -p "$T/targets"
head -c 12345 /dev/urandom >"$T/targets/canary"  # a file beside the targets: must stay untouched
CANARY=$(sha "$T/targets/canary") IMGSUM=$(sha "$IMG") PKGSUM=$(sha "$T/img.dfi")
untouched() { [ "$(sha "$T/targets/canary")" = "$CANARY" ] && [ "$(sha "$IMG")" = "$IMGSUM" ] &&
	[ "$(sha "$T/img.dfi")" = "$PKGSUM" ]; }
# not_bootable TARGET: the target's first block differs from the image's (first block is written last)
not_bootable() { [ -e "$1" ] && ! cmp -s -n $MiB "$IMG" "$1"; }

# kill_at PHASE OUT TARGET...: dartdup write --json; SIGKILL as soon as any target enters PHASE.
# OUT gets the events seen and "killed-in PHASE" or "exited RC" (the job ended first: no proof).
kill_at() {
	local phase=$1 out=$2; shift 2
	python3 - "$DARTDUP" "$phase" "$T/img.dfi" "$T/audit-$phase" "$T/depot.pub" "$@" >"$out" 2>&1 <<'PY'
import json, signal, subprocess, sys
dartdup, phase, img, log, pub, *targets = sys.argv[1:]
p = subprocess.Popen([dartdup, "write", "--json", "--yes", "--log", log, "--pubkey", pub, img, *targets],
                     stdout=subprocess.PIPE, text=True)
for line in p.stdout:
    print(line, end="")
    ev = json.loads(line)
    if ev["event"] == "phase" and ev["phase"] == phase:
        p.send_signal(signal.SIGKILL)
        p.wait()
        print("killed-in", phase)
        sys.exit(0)
print("exited", p.wait())
PY
}

# --- SIGKILL during the write ----------------------------------------------------------------------
kill_at write "$T/k1.out" "$T/targets/w1" "$T/targets/w2"
check "SIGKILL mid-write: killed while writing" grep -q '^killed-in write$' "$T/k1.out"
check "SIGKILL mid-write: no target reported good" bash -c "! grep -q '\"result\":\"pass\"' '$T/k1.out' && ! grep -qs pass '$T/audit-write'"
check "SIGKILL mid-write: neither target carries the first block" bash -c "
	$(declare -f not_bootable); IMG='$IMG' MiB=$MiB; not_bootable '$T/targets/w1' && not_bootable '$T/targets/w2'"
check "SIGKILL mid-write: image, package and the file beside the targets untouched" untouched
check "SIGKILL mid-write: nothing but the two targets created" test "$(ls "$T/targets" | sort | tr '\n' ' ')" = "canary w1 w2 "
"$DARTDUP" verify "$T/img.dfi" "$T/targets/w1" >"$T/v.out" 2>&1; rc=$?
check "SIGKILL mid-write: verify does not call the killed target good (exit $rc)" test "$rc" -ne 0
expect_rc "SIGKILL mid-write: writing again recovers the target" 0 "$DARTDUP" write "$T/img.dfi" "$T/targets/w1" --yes
check "SIGKILL mid-write: the recovered target holds the image" cmp -s "$IMG" "$T/targets/w1"

# --- SIGKILL during the verify -------------------------------------------------------------------
kill_at verify "$T/k2.out" "$T/targets/v1"
check "SIGKILL mid-verify: killed while verifying" grep -q '^killed-in verify$' "$T/k2.out"
check "SIGKILL mid-verify: not reported good" bash -c "! grep -q '\"result\":\"pass\"' '$T/k2.out' && ! grep -qs pass '$T/audit-verify'"
check "SIGKILL mid-verify: the target does not carry the first block" bash -c "
	$(declare -f not_bootable); IMG='$IMG' MiB=$MiB; not_bootable '$T/targets/v1'"
check "SIGKILL mid-verify: nothing else touched" untouched

# --- a damaged package ---------------------------------------------------------------------------
# one byte of block 5's frame (offsets from the package's own manifest: inspect --blocks --json)
"$DARTDUP" inspect "$T/img.dfi" --blocks --json >"$T/blocks.json"
off=$(python3 -c "
import json, sys
d = json.load(open('$T/blocks.json'))
b = d['block_list'][5]
print(b['frame_offset'] + b['frame_size'] // 2)" 2>/dev/null)
if [ -n "$off" ]; then
	cp "$T/img.dfi" "$T/frame.dfi"
	printf '\xa5' | dd of="$T/frame.dfi" bs=1 seek="$off" conv=notrunc status=none
	expect_rc "damaged data frame: write exits 1" 1 "$DARTDUP" write --json "$T/frame.dfi" "$T/targets/d1" "$T/targets/d2" \
		--yes --log "$T/audit-frame"
	check "damaged data frame: both targets fail, none good" bash -c "
		[ \$(grep -c '\"event\":\"done\".*\"result\":\"fail\"' '$T/out') -eq 2 ] && ! grep -q '\"result\":\"pass\"' '$T/out'"
	check "damaged data frame: the audit log says fail" test "$(grep -c '"result":"fail"' "$T/audit-frame")" -eq 2
	out_has "damaged data frame: the error names block 5" "block 5"
	check "damaged data frame: no target carries the first block" bash -c "
		$(declare -f not_bootable); IMG='$IMG' MiB=$MiB; not_bootable '$T/targets/d1' && not_bootable '$T/targets/d2'"
else
	not_ok "damaged data frame: could not read frame offsets from inspect --blocks --json: $(head -c 200 "$T/blocks.json")"
fi
size=$(stat -c %s "$T/img.dfi")
cp "$T/img.dfi" "$T/manifest.dfi"
printf '\x01' | dd of="$T/manifest.dfi" bs=1 seek=$((size - 400)) conv=notrunc status=none
expect_rc "damaged manifest: refused (exit 2)" 2 "$DARTDUP" write "$T/manifest.dfi" "$T/targets/m1" --yes
out_has "damaged manifest: says so" "manifest damaged"
check "damaged manifest: no target created" test ! -e "$T/targets/m1"
head -c $((size / 2)) "$T/img.dfi" >"$T/trunc.dfi"
expect_rc "truncated package: refused (exit 2)" 2 "$DARTDUP" write "$T/trunc.dfi" "$T/targets/t1" --yes
out_has "truncated package: says so" "truncated"
check "truncated package: no target created" test ! -e "$T/targets/t1"

# --- a wrong key ---------------------------------------------------------------------------------
expect_rc "wrong key: refused (exit 2)" 2 "$DARTDUP" write "$T/img.dfi" "$T/targets/k1" --yes --pubkey "$T/other.pub"
check "wrong key: no target created" test ! -e "$T/targets/k1"
"$DARTDUP" pack "$IMG" -o "$T/unsigned.dfi" --level 1 >/dev/null
expect_rc "unsigned package with --pubkey: refused (exit 2)" 2 "$DARTDUP" write "$T/unsigned.dfi" "$T/targets/k2" --yes \
	--pubkey "$T/depot.pub"
out_has "unsigned package: says not signed" "not signed"
check "unsigned package: no target created" test ! -e "$T/targets/k2"
check "refusals and damaged packages touched nothing else" untouched
