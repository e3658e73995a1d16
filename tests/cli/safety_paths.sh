#!/usr/bin/env bash
# The door (common/safety/door.c, docs/SECURITY.md): every path dartdup writes is judged before it is
# opened. Write targets under /dev must be existing whole-disk block devices that pass the safety
# rules; outputs of build/pack/keygen are never devices, never under /dev, never an input. Refusals
# exit 2, name the path and the reason, and touch nothing: pre-existing files keep their bytes, no file
# appears anywhere, device nodes stay device nodes with their content. Refused targets still get one
# audit record each ("refused" + reason + sysfs identity); the others of that run get "skipped".
# As root: loop devices filled with random data (removed on exit, even on failure).
. "$(dirname "$0")/../lib.sh"

LOOPS=()
cleanup() {
	local l
	for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null; done
	# a regression would leave regular files in /dev: remove them (never a device node: -f)
	for l in "${MISSING:-}" "${MISSING:-}.sha256"; do [ -n "${MISSING:-}" ] && [ -f "$l" ] && rm -f "$l"; done
	rm -rf "$T"
}
trap cleanup EXIT
ROOT=0; [ "$(id -u)" -eq 0 ] && ROOT=1
skip() { echo "ok - $1 # SKIP $2"; }
MiB=1048576
sha() { sha256sum "$1" | cut -d' ' -f1; }
# snapshot DIR: names, types and hashes of everything in DIR (to prove a refusal touched nothing)
snapshot() { (cd "$1" && find . -printf '%p %y %s\n' | sort && find . -type f -exec sha256sum {} + | sort); }
# a /dev name that does not exist (a typo'd stick)
MISSING=/dev/sdz
[ -e "$MISSING" ] && MISSING=/dev/dartdup-no-such-disk-$$

W=$T/work
mkdir -p "$W"
make_image "$W/img" $((3 * MiB + 777)) 11
head -c $((5 * MiB)) /dev/urandom >"$W/old"   # a pre-existing file target, random
IMGSUM=$(sha "$W/img") OLDSUM=$(sha "$W/old")

# --- write: targets under /dev ----------------------------------------------------------------------
snapshot "$W" >"$T/before"
expect_rc "write to a missing $MISSING refused" 2 "$DARTDUP" write "$W/img" "$MISSING" --yes
out_has "says no such device" "$MISSING: refused: no such device"
check "no $MISSING was created" test ! -e "$MISSING"
for c in /dev/null /dev/zero /dev/full; do
	expect_rc "write to $c refused" 2 "$DARTDUP" write "$W/img" "$c" --yes
	out_has "$c: named with the reason" "$c: refused: a character device in /dev, not a disk"
	check "$c is still a character device" test -c "$c"
done
ln -s /dev/null "$T/to-null"
expect_rc "write through a symlink to /dev/null refused" 2 "$DARTDUP" write "$W/img" "$T/to-null" --yes
check "the symlink still points to a character device" test -c "$T/to-null"
ln -s "$MISSING" "$T/to-missing"
expect_rc "write through a dangling symlink into /dev refused" 2 "$DARTDUP" write "$W/img" "$T/to-missing" --yes
out_has "says why" "a symbolic link to a missing file"
check "nothing created through the dangling link" test ! -e "$MISSING"
expect_rc "write to a path in a missing directory refused" 2 "$DARTDUP" write "$W/img" "$T/nodir/x" --yes
mkfifo "$T/fifo"
expect_rc "write to a fifo refused" 2 "$DARTDUP" write "$W/img" "$T/fifo" --yes
out_has "the fifo named as such" "a fifo"
snapshot "$W" >"$T/after"
check "refused writes touched nothing in the work folder" cmp -s "$T/before" "$T/after"

# --- a refused target among good ones: exit 2, nothing written, one record per target -------------
expect_rc "a refused target among good ones" 2 "$DARTDUP" write "$W/img" "$W/old" "$T/new1" /dev/null "$MISSING" \
	--yes --log "$T/mixed.log"
check "the good targets were not written" bash -c "[ '$(sha "$W/old")' = '$OLDSUM' ] && [ ! -e '$T/new1' ]"
check "audit: one record per target" test "$(wc -l <"$T/mixed.log")" -eq 4
check "audit: two refused, two skipped" bash -c "
	[ \$(grep -c '\"result\":\"refused\"' '$T/mixed.log') -eq 2 ] &&
	[ \$(grep -c '\"result\":\"skipped\"' '$T/mixed.log') -eq 2 ]"
check "audit: refused records carry the reason" bash -c "
	grep '\"target\":\"/dev/null\"' '$T/mixed.log' | grep -q '\"result\":\"refused\".*\"error\":\"a character device in /dev, not a disk\"' &&
	grep '\"target\":\"$MISSING\"' '$T/mixed.log' | grep -q '\"result\":\"refused\".*\"error\":\"no such device\"'"
check "audit: a skipped file target's capacity is its size" \
	grep -q "\"target\":\"$W/old\".*\"capacity\":$((5 * MiB)),\"result\":\"skipped\".*\"error\":\"not started: another target was refused\"" "$T/mixed.log"
check "audit: every record parses" python3 -c "
import json
for l in open('$T/mixed.log'): json.loads(l)"

# --- the audit log: a file or a stream, never a disk, never the image --------------------------------
expect_rc "--log the image itself refused" 2 "$DARTDUP" write "$W/img" "$T/l1" --yes --log "$W/img"
out_has "--log: says why" "$W/img: refused: the same file as the input"
check "--log: the image unchanged, the target not written" bash -c "[ '$(sha "$W/img")' = '$IMGSUM' ] && [ ! -e '$T/l1' ]"
expect_rc "--log a missing name under /dev refused" 2 "$DARTDUP" write "$W/img" "$T/l1" --yes --log "$MISSING"
check "--log: nothing created in /dev" test ! -e "$MISSING"
expect_rc "--log /dev/zero (a device that is no terminal) refused" 2 "$DARTDUP" write "$W/img" "$T/l0" --yes --log /dev/zero
out_has "--log /dev/zero: the reason" "a character device is never a log"
check "--log /dev/zero: no target written" test ! -e "$T/l0"
expect_rc "--log /dev/null is fine" 0 "$DARTDUP" write "$W/img" "$T/l0" --yes --log /dev/null
expect_rc "--log /dev/stdout (a stream) is fine" 0 "$DARTDUP" write "$W/img" "$T/l2" --yes --log /dev/stdout
out_has "--log /dev/stdout: the record on stdout" '"result":"pass"'

# --- a file target's capacity is its size, not its size plus free space ------------------------------
expect_rc "write a pre-existing random file target" 0 "$DARTDUP" write "$W/img" "$W/old" --yes --log "$T/file.log"
check "the target holds the image" cmp -n "$(stat -c %s "$W/img")" "$W/img" "$W/old"
check "audit: capacity = the file's size" grep -q "\"capacity\":$((5 * MiB)),\"result\":\"pass\"" "$T/file.log"
expect_rc "write a new file target" 0 "$DARTDUP" write "$W/img" "$T/fresh" --yes --log "$T/fresh.log"
check "audit: a new file's capacity is its size after the write" \
	grep -q "\"capacity\":$(stat -c %s "$W/img"),\"result\":\"pass\"" "$T/fresh.log"
mkdir -p "$T/tiny"
if [ $ROOT -eq 1 ] && mount -t tmpfs -o size=1m tmpfs "$T/tiny" 2>/dev/null; then
	expect_rc "a file target on a too small file system refused (free space counts)" 2 \
		"$DARTDUP" write "$W/img" "$T/tiny/x" --yes
	out_has "says too small" "too small"
	check "nothing created on it" test -z "$(ls -A "$T/tiny")"
	umount "$T/tiny"
else
	skip "too small file system" "needs root (tmpfs)"
fi

# --- block devices (root): loop devices filled with random data ---------------------------------------
if [ $ROOT -ne 1 ]; then
	skip "loop device cases" "needs root"
else
	head -c $((16 * MiB)) /dev/urandom >"$T/loopfile"
	L=$(losetup -f --show "$T/loopfile") && LOOPS+=("$L")
	LSUM=$(sha "$L")
	# a loop device over the package itself: writing it would overwrite the package while reading it
	"$DARTDUP" pack "$W/img" -o "$T/self.dfi" >/dev/null 2>&1
	PSUM=$(sha "$T/self.dfi")
	SL=$(losetup -f --show "$T/self.dfi") && LOOPS+=("$SL")
	expect_rc "a loop device over the package itself refused, even with --allow-non-usb" 2 \
		"$DARTDUP" write "$T/self.dfi" "$SL" --yes --allow-non-usb
	out_has "the loop device over the package: the reason" "$SL: refused: a loop device over the image file itself"
	check "the package is intact" test "$(sha "$T/self.dfi")" = "$PSUM"
	loop_intact() { check "$1: $L unchanged and still a block device" bash -c "[ -b '$L' ] && [ \"\$(sha256sum <'$L' | cut -d' ' -f1)\" = '$LSUM' ]"; }

	expect_rc "write to a loop device without --allow-non-usb refused" 2 "$DARTDUP" write "$W/img" "$L" \
		--yes --log "$T/loop.log"
	out_has "says it is no USB stick" "$L: refused: not a USB stick (loop device)"
	loop_intact "refused write"
	expect_rc "--log onto a loop device refused" 2 "$DARTDUP" write "$W/img" "$T/l3" --yes --log "$L"
	out_has "--log: a block device is never a log" "a block device is never a log"
	loop_intact "--log"
	check "audit: the refused loop device with its sysfs capacity" \
		grep -q "\"target\":\"$L\".*\"capacity\":$((16 * MiB)),\"result\":\"refused\".*\"error\":\"not a USB stick" "$T/loop.log"
	expect_rc "write the random-filled loop device with --allow-non-usb" 0 "$DARTDUP" write "$W/img" "$L" \
		--yes --allow-non-usb
	check "the loop device holds the image" cmp -n "$(stat -c %s "$W/img")" "$W/img" "$L"
	head -c $((16 * MiB)) /dev/urandom >"$L"
	sync
	LSUM=$(sha "$L")

	# outputs: a block device is never one, however it is named
	ln -s "$L" "$T/to-loop"
	read -r MAJ MIN < <(stat -c '%t %T' "$L" | while read -r a b; do echo $((16#$a)) $((16#$b)); done)
	mknod "$T/blk" b "$MAJ" "$MIN"
	make_image "$W/small.img" $((2 * MiB)) 5
	snapshot "$W" >"$T/before"
	for o in "$L" "$T/to-loop" "$T/blk"; do
		expect_rc "pack -o $o refused" 2 "$DARTDUP" pack "$W/small.img" -o "$o"
		out_has "pack -o $o: one line with the reason" "$o: refused:"
		loop_intact "pack -o $o"
	done
	check "the device node made outside /dev is still one" test -b "$T/blk"
	check "the symlink still points to the device" test -b "$T/to-loop"
	expect_rc "keygen -o onto a device path refused" 2 "$DARTDUP" keygen -o "$L"
	out_has "keygen says under /dev" "under /dev"
	check "no key files in /dev" bash -c "[ ! -e '$L.key' ] && [ ! -e '$L.pub' ]"
	ln -s "$L" "$W/k.key"
	expect_rc "keygen -o NAME with NAME.key a link to a device refused" 2 "$DARTDUP" keygen -o "$W/k"
	check "no NAME.pub written" test ! -e "$W/k.pub"
	rm "$W/k.key"
	loop_intact "keygen"
	snapshot "$W" >"$T/after"
	check "refused pack/keygen touched nothing" cmp -s "$T/before" "$T/after"
fi

# --- outputs equal to an input: refused before anything is opened -------------------------------------
mkdir -p "$W/d"
cp "$W/img" "$W/d/in.img"
ln -s in.img "$W/d/link.img"
ln "$W/d/in.img" "$W/d/hard.img"
mkdir -p "$W/d/sub"
snapshot "$W" >"$T/before"
for o in "$W/d/in.img" "$W/d/link.img" "$W/d/hard.img" "$W/d/sub/../in.img" "$W/d/./in.img"; do
	expect_rc "pack -o the input itself ($o)" 2 "$DARTDUP" pack "$W/d/in.img" -o "$o"
	out_has "pack names it ($o)" "$o: refused: the same file as the input"
done
expect_rc "write onto the image itself (hard link)" 2 "$DARTDUP" write "$W/d/in.img" "$W/d/hard.img" --yes
out_has "write says it is the image" "this is the image itself"
snapshot "$W" >"$T/after"
check "the input unchanged, no new file (not even a temporary one)" cmp -s "$T/before" "$T/after"
check "the input still holds the image" test "$(sha "$W/d/in.img")" = "$IMGSUM"

if ! command -v xorriso >/dev/null; then
	skip "build output cases" "xorriso missing"
else
	"$PWD/scripts/make-sample-iso" "$W/x.iso" --fs joliet --wim-mb 4 >/dev/null 2>&1 ||
		not_ok "make the sample ISO"
	ln -s x.iso "$W/x-link.iso"
	ln "$W/x.iso" "$W/x-hard.iso"
	ln "$W/x.iso" "$W/y.raw.tmp"
	echo "keep me" >"$W/out.wim"
	mkdir "$W/wds"
	ln -s /dev/null "$W/wds/boot.wim.sha256"
	snapshot "$W" >"$T/before"
	for o in "$W/x.iso" "$W/x-link.iso" "$W/x-hard.iso" "$W/d/../x.iso"; do
		for f in "" "--raw" "--format wds" "--format partition --raw"; do
			# shellcheck disable=SC2086
			expect_rc "build -o the ISO itself ($o $f)" 2 "$DARTDUP" build "$W/x.iso" -o "$o" $f -q
		done
	done
	out_has "build names the input" "refused: the same file as the input"
	expect_rc "build -o NAME whose NAME.raw.tmp (its temporary file) is the ISO refused" 2 \
		"$DARTDUP" build "$W/y.raw.tmp" -o "$W/y" -q
	out_has "names the temporary file" "$W/y.raw.tmp: refused: the same file as the input"
	expect_rc "build --format wds whose boot.wim.sha256 is a link to /dev/null refused" 2 \
		"$DARTDUP" build "$W/x.iso" -o "$W/wds" --format wds -q
	out_has "names the .sha256" "$W/wds/boot.wim.sha256: refused"
	expect_rc "build --format wds -o a regular file refused" 2 "$DARTDUP" build "$W/x.iso" -o "$W/out.wim" --format wds -q
	out_has "says it is not a folder" "$W/out.wim: not a folder"
	snapshot "$W" >"$T/after"
	check "refused builds: the ISO and every other file unchanged, nothing new" cmp -s "$T/before" "$T/after"
	check "/dev/null is still a character device" test -c /dev/null
	expect_rc "build -o /dev/null refused" 2 "$DARTDUP" build "$W/x.iso" -o /dev/null --raw -q
	expect_rc "build -o $MISSING refused" 2 "$DARTDUP" build "$W/x.iso" -o "$MISSING" --format wds -q
	check "no $MISSING created (nor its .sha256)" bash -c "[ ! -e '$MISSING' ] && [ ! -e '$MISSING.sha256' ]"
	if [ $ROOT -eq 1 ]; then
		for f in "" "--raw" "--format wds" "--format partition --raw"; do
			# shellcheck disable=SC2086
			expect_rc "build -o $L $f refused" 2 "$DARTDUP" build "$W/x.iso" -o "$L" $f -q
			out_has "build -o $L $f: the reason" "$L: refused: under /dev: a device is never an output"
			# shellcheck disable=SC2086
			expect_rc "build -o a device node outside /dev $f refused" 2 "$DARTDUP" build "$W/x.iso" -o "$T/blk" $f -q
			out_has "build -o $T/blk $f: the reason" "a block device is never an output"
		done
		loop_intact "build"
		check "no $L.sha256 created" test ! -e "$L.sha256"
	fi
	rm "$W/wds/boot.wim.sha256"
	echo "old" >"$W/wds/boot.wim"
	expect_rc "build --format wds over a folder's old files still works" 0 "$DARTDUP" build "$W/x.iso" -o "$W/wds" --format wds -q
	check "the .sha256 matches the WIM" bash -c "cd '$W/wds' && sha256sum -c --quiet boot.wim.sha256"
fi
