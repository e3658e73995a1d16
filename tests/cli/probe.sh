#!/usr/bin/env bash
# dartdup write --probe: a genuine (loop) disk passes the counterfeit-capacity probe and is then written and
# verified; file targets are refused with --probe (a file has no capacity to fake) and left untouched. Counterfeit
# sticks are caught in the QEMU rig (tests/vm/scenarios/station.sh) and by tests/unit/test_probe.c.
. "$(dirname "$0")/../lib.sh"

LOOPS=()
cleanup() {
	local l
	for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
MiB=1048576

make_image "$T/img" $((3 * MiB)) 11
printf 'keep me' >"$T/file"
expect_rc "--probe refuses a file target" 2 "$DARTDUP" write "$T/img" "$T/file" --yes --probe
out_has "says why" "--probe checks block devices"
check "refused file untouched" test "$(cat "$T/file")" = "keep me"
expect_rc "--probe refuses a new file target" 2 "$DARTDUP" write "$T/img" "$T/new" --yes --probe
check "no file created" test ! -e "$T/new"
expect_rc "verify has no --probe" 2 "$DARTDUP" verify "$T/img" "$T/file" --probe

if [ "$(id -u)" -ne 0 ]; then
	echo "ok - genuine loop disk passes the probe # SKIP needs root for losetup"
	exit 0
fi
head -c $((64 * MiB)) /dev/urandom >"$T/disk" # a used disk: random old content
L=$(losetup -f --show "$T/disk") && LOOPS+=("$L")
expect_rc "genuine loop disk: probe, write, verify" 0 "$DARTDUP" write "$T/img" "$L" --yes --allow-non-usb --probe --json
out_has "the probe phase ran" '"phase":"probe"'
out_has "then it was written and passed" '"result":"pass"'
check "the disk holds the image" cmp -s -n $((3 * MiB)) "$T/img" "$L"
