#!/usr/bin/env bash
# Compressed and archived IMAGEs (host/image.c, the one door; common/source/magic.c, the detector):
# every form the PC decodes is written, verified, packed and inspected as the decoded image; the
# name never matters, only the content; what is not one image (several files, tar, 7z, a damaged
# .dfi, a truncated stream) is refused with one line naming the file, before any target is touched.
. tests/lib.sh
D=$DARTDUP
MiB=1048576
export SOURCE_DATE_EPOCH=1700000000
sha() { sha256sum "$1" | cut -d' ' -f1; }
# one_line NAME FILE: the last command's output is one line naming FILE
one_line() {
	if [ "$(wc -l <"$T/out")" -eq 1 ] && grep -qF -- "$2" "$T/out"; then ok "$1"; else not_ok "$1: $(head -c 300 "$T/out")"; fi
}
# fresh_targets: two file targets larger than the image, full of random bytes
fresh_targets() {
	head -c $((ISIZE + MiB)) /dev/urandom >"$T/t1"
	head -c $((ISIZE + 3 * MiB)) /dev/urandom >"$T/t2"
}
# holds NAME TARGET: TARGET holds the image over the image's range
holds() { check "$1" cmp -s -n "$ISIZE" "$IMG" "$2"; }
# json_field KEY: a string or number field of the JSON object in the last output (flat keys only)
json_field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p" "$T/out" | head -1; }

# an odd-sized image: random, an all-zero block (a hole in the decoded copy), patterns, zero runs
IMG=$T/disk.img
make_image "$T/part" $((2 * MiB + 12345)) 11
{ head -c $MiB /dev/urandom; head -c $MiB /dev/zero; cat "$T/part"; } >"$IMG"
ISIZE=$(stat -c %s "$IMG")
expect_rc "inspect the raw image" 0 "$D" inspect --json "$IMG"
RAW_ID=$(json_field image_id)

# --- every form: write, verify, pack, inspect ---------------------------------------------------
xz -T1 -c "$IMG" >"$T/disk.img.xz"
gzip -c "$IMG" >"$T/disk.img.gz"
bzip2 -c "$IMG" >"$T/disk.img.bz2"
lz4 -q -c "$IMG" >"$T/disk.img.lz4"
lz4 -q -l -c "$IMG" >"$T/disk.img.lz4-legacy"
zstd -q -c "$IMG" >"$T/disk.img.zst"
(cd "$T" && zip -q disk.zip disk.img)
"$D" pack "$IMG" -o "$T/raw.dfi" --name disk.img >/dev/null 2>&1 || not_ok "pack the raw image"

for f in xz:disk.img.xz gzip:disk.img.gz bzip2:disk.img.bz2 lz4:disk.img.lz4 lz4:disk.img.lz4-legacy \
	 zst:disk.img.zst zip:disk.zip; do
	fmt=${f%%:*} file=$T/${f#*:} n=${f#*:}
	fresh_targets
	expect_rc "$n: write onto random-filled targets" 0 "$D" write --yes "$file" "$T/t1" "$T/t2"
	holds "$n: first target holds the decoded image" "$T/t1"
	holds "$n: second target holds the decoded image" "$T/t2"
	expect_rc "$n: verify passes" 0 "$D" verify "$file" "$T/t1" "$T/t2"
	expect_rc "$n: pack" 0 "$D" pack "$file" -o "$T/p.dfi" --name disk.img
	check "$n: zstd -dc of the package is the decoded image" bash -c "zstd -dc '$T/p.dfi' | cmp -s - '$IMG'"
	check "$n: the same package as from the raw image" cmp -s "$T/p.dfi" "$T/raw.dfi"
	expect_rc "$n: inspect" 0 "$D" inspect --json "$file"
	check "$n: inspect names the format ($fmt)" test "$(json_field format)" = "$fmt"
	check "$n: inspect gives the decoded size" test "$(json_field image_size)" = "$ISIZE"
	check "$n: the image id of the raw image" test "$(json_field image_id)" = "$RAW_ID"
	rm -f "$T/p.dfi"
done
expect_rc "inspect text names the format" 0 "$D" inspect "$T/disk.img.xz"
out_has "inspect text: format line" "format      xz"
expect_rc "inspect --check --blocks of a decoded image" 0 "$D" inspect --check --blocks "$T/disk.img.bz2"
out_has "inspect --blocks shows the zero block" "block 1  offset $MiB  zero"
out_has "inspect --check reads every block again" "check       all $(((ISIZE + MiB - 1) / MiB)) blocks read again"

# --- by content, never by name ------------------------------------------------------------------
cp "$T/disk.img.xz" "$T/named.img"
fresh_targets
expect_rc "an xz stream named .img is decoded" 0 "$D" write --yes "$T/named.img" "$T/t1"
holds "an xz stream named .img: the target holds the decoded image" "$T/t1"
expect_rc "inspect: an xz stream named .img" 0 "$D" inspect --json "$T/named.img"
check "inspect: named .img, format xz" test "$(json_field format)" = xz
cp "$IMG" "$T/raw.xz"
fresh_targets
expect_rc "a raw image named .xz is written as it is" 0 "$D" write --yes "$T/raw.xz" "$T/t1"
holds "a raw image named .xz: the target holds it" "$T/t1"
expect_rc "inspect: a raw image named .xz" 0 "$D" inspect --json "$T/raw.xz"
check "inspect: named .xz, format raw" test "$(json_field format)" = raw
cp "$T/disk.img.gz" "$T/gz.zip"
expect_rc "a gzip stream named .zip is packed by content" 0 "$D" pack "$T/gz.zip" -o "$T/p.dfi" --name disk.img
check "a gzip stream named .zip: the same package" cmp -s "$T/p.dfi" "$T/raw.dfi"

# --- refusals: exit 2, one line naming the file, targets untouched ------------------------------
cp "$IMG" "$T/other.img"
(cd "$T" && zip -q two.zip disk.img other.img)
mkdir -p "$T/d" && cp "$IMG" "$T/d/" && (cd "$T" && zip -q -r dir.zip d)
printf 'PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0' >"$T/empty.zip"  # an empty archive: its end record
tar -C "$T" -cf "$T/disk.tar" disk.img
tar -C "$T" -czf "$T/disk.tar.gz" disk.img
(cd "$T" && zip -q xz.zip disk.img.xz)
printf '7z\xbc\xaf\x27\x1c\x00\x04' >"$T/disk.7z"; head -c 4096 /dev/urandom >>"$T/disk.7z"
printf 'QFI\xfb\x00\x00\x00\x03' >"$T/disk.qcow2"; head -c 4096 /dev/zero >>"$T/disk.qcow2"
cp "$T/raw.dfi" "$T/bad-header.dfi"
printf 'XXXX' | dd of="$T/bad-header.dfi" bs=1 seek=8 conv=notrunc status=none   # the "DFIH" tag
cp "$T/raw.dfi" "$T/bad-version.dfi"
printf '\x09' | dd of="$T/bad-version.dfi" bs=1 seek=12 conv=notrunc status=none
printf '\x1f\x8b\x08' >"$T/fake.gz"; head -c 4096 /dev/zero | tr '\0' 'Z' >>"$T/fake.gz"  # fixed bytes: random ones may read as a damaged stream instead
head -c $(($(stat -c %s "$T/disk.img.xz") / 2)) "$T/disk.img.xz" >"$T/trunc.img.xz"
for f in disk.img.gz disk.img.bz2 disk.img.lz4 disk.zip; do
	head -c $(($(stat -c %s "$T/$f") / 2)) "$T/$f" >"$T/trunc-$f"
done
xz -T1 -c /dev/null >"$T/empty.xz"

for f in "two.zip:several files" "dir.zip:directory" "empty.zip:no file" "disk.tar:tar archive" \
	 "disk.tar.gz:holds a tar archive" "xz.zip:holds an xz stream" "disk.7z:7z archive" \
	 "disk.qcow2:qcow" "bad-header.dfi:not a valid one" "bad-version.dfi:unsupported format version" \
	 "fake.gz:not a valid one" "trunc.img.xz:truncated" "trunc-disk.img.gz:truncated" \
	 "trunc-disk.img.bz2:truncated" "trunc-disk.img.lz4:truncated" "trunc-disk.zip:disk.zip" \
	 "empty.xz:empty image"; do
	n=${f%%:*} why=${f#*:}
	fresh_targets
	before1=$(sha "$T/t1") before2=$(sha "$T/t2")
	expect_rc "$n: write refused" 2 "$D" write --yes "$T/$n" "$T/t1" "$T/t2" "$T/never"
	one_line "$n: one line naming the file" "$n"
	out_has "$n: says why ($why)" "$why"
	check "$n: targets untouched" test "$(sha "$T/t1") $(sha "$T/t2")" = "$before1 $before2"
	check "$n: no target created" test ! -e "$T/never"
	expect_rc "$n: verify refused" 2 "$D" verify "$T/$n" "$T/t1"
	expect_rc "$n: pack refused" 2 "$D" pack "$T/$n" -o "$T/never.dfi"
	one_line "$n: pack: one line naming the file" "$n"
	check "$n: pack left no package" sh -c "! ls '$T'/never.dfi* 2>/dev/null | grep -q ."
	expect_rc "$n: inspect refused" 2 "$D" inspect "$T/$n"
done
# entry names from the archive are shown with control bytes replaced: the message stays one line
python3 -c "
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    z.writestr('evil\n\x1b[2Jname.img', b'x' * 5000)
    z.writestr('second.img', b'y' * 5000)" "$T/names.zip"
expect_rc "a zip with a newline in an entry name refused" 2 "$D" write --yes "$T/names.zip" "$T/t1"
one_line "an entry name with a newline: still one line" "names.zip: a zip archive holding several files (evil??[2Jname.img, second.img"
expect_rc "a decoded image carries no signature: --pubkey refused" 2 "$D" write --yes --pubkey "$T/none.pem" \
	"$T/disk.img.xz" "$T/t1"
one_line "--pubkey with an xz stream: one line" "disk.img.xz: a decoded xz image carries no signature"

# --- an ISO: built by write, refused by pack (build makes its package), refused inside a stream ---
if scripts/make-sample-iso "$T/s.iso" --wim-mb 1 >/dev/null 2>&1; then
	"$D" build "$T/s.iso" -o "$T/s.img" --raw --quiet >/dev/null 2>&1
	expect_rc "pack of a DaRT ISO refused" 2 "$D" pack "$T/s.iso" -o "$T/never.dfi"
	one_line "pack of a DaRT ISO points at dartdup build" "dartdup build"
	expect_rc "inspect of a DaRT ISO shows the built image" 0 "$D" inspect --json "$T/s.iso"
	check "inspect of an ISO: format iso" test "$(json_field format)" = iso
	check "inspect of an ISO: the built image's size" test "$(json_field image_size)" = "$(stat -c %s "$T/s.img")"
	# build: the output's name says what it holds
	expect_rc "build -o NAME.img without --raw refused" 2 "$D" build "$T/s.iso" -o "$T/b.img"
	one_line "build -o NAME.img: one line with the hint" "b.img: without --raw, build writes a .dfi package"
	check "build -o NAME.img: nothing written" sh -c "! ls '$T'/b.img* 2>/dev/null | grep -q ."
	expect_rc "build --raw -o NAME.dfi refused" 2 "$D" build "$T/s.iso" -o "$T/b.dfi" --raw
	check "build --raw -o NAME.dfi: nothing written" sh -c "! ls '$T'/b.dfi* 2>/dev/null | grep -q ."
	expect_rc "build -o NAME.DFI (any case) packs" 0 "$D" build "$T/s.iso" -o "$T/b.DFI" --quiet
	check "build -o NAME.DFI: a package of the raw build" bash -c "zstd -dc '$T/b.DFI' | cmp -s - '$T/s.img'"
	gzip -c "$T/s.iso" >"$T/s.iso.gz"
	expect_rc "a gzip of an ISO refused" 2 "$D" write --yes "$T/s.iso.gz" "$T/t1"
	one_line "a gzip of an ISO: one line, decompress it first" "s.iso.gz: the gzip stream holds an ISO"
else
	echo "ok - DaRT ISO cases # SKIP no sample ISO tools"
fi

# --- station: opens its IMAGE through the same door ---------------------------------------------
# station_start IMAGE: start a station with --json, wait (bounded) for its start event, stop it
station_start() {
	local pid deadline
	# the last run's start line must not be taken for this one's (the child truncates st.out only
	# once it runs: a SIGTERM sent before that lands in the middle of its start-up)
	rm -f "$T/st.out" "$T/st.err"
	"$D" station "$1" --json >"$T/st.out" 2>"$T/st.err" &
	pid=$!
	deadline=$((SECONDS + 60))
	until grep -q '"event":"start"' "$T/st.out" 2>/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
			kill "$pid" 2>/dev/null
			wait "$pid"
			return 1
		fi
		sleep 0.05
	done
	kill -TERM "$pid"
	# bounded: a station that ignores SIGTERM fails this suite instead of hanging it
	deadline=$((SECONDS + 60))
	while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.05; done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		not_ok "station stops on SIGTERM"
	fi
	wait "$pid"
}
start_field() { head -1 "$T/st.out" | sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p"; }
if station_start "$T/disk.img.xz"; then
	check "station with an xz image: the decoded size" test "$(start_field image_size)" = "$ISIZE"
else
	not_ok "station with an xz image starts: $(head -c 300 "$T/st.err")"
fi
expect_rc "station with a truncated xz image: refused before it listens" 2 "$D" station "$T/trunc.img.xz"
one_line "station: one line naming the file" "trunc.img.xz"
if [ -e "$T/s.img" ]; then
	if station_start "$T/s.iso"; then
		check "station with a DaRT ISO: the built image's size" test "$(start_field image_size)" = "$(stat -c %s "$T/s.img")"
	else
		not_ok "station with a DaRT ISO starts: $(head -c 300 "$T/st.err")"
	fi
fi

# --- one pass, bounded memory whatever the size ---------------------------------------------------
truncate -s $((256 * MiB)) "$T/big.img"
head -c $MiB /dev/urandom | dd of="$T/big.img" bs=1M seek=100 conv=notrunc status=none
xz -0 -T1 -c "$T/big.img" >"$T/big.img.xz"
rm -f "$T/big.img"
rss=$(python3 - "$D" "$T/big.img.xz" <<'PY'
import resource, subprocess, sys
r = subprocess.run([sys.argv[1], "inspect", sys.argv[2]], capture_output=True, text=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if r.returncode == 0 else -1)
PY
)
check "a 256 MiB xz image decodes in under 64 MiB of memory (max RSS ${rss} KiB)" test "$rss" -gt 0 -a "$rss" -lt 65536

check "on a terminal, decoding shows how far it got" bash -c "script -qc '$D inspect $T/big.img.xz' /dev/null | tr '\\r' '\\n' | grep -q '^reading the image: [0-9]* MiB'"
expect_rc "not on a terminal: no progress line" 0 "$D" inspect "$T/big.img.xz"
check "not on a terminal: no progress line (output)" bash -c "! grep -q 'reading the image' '$T/out'"

# --- no room to decode: nothing was done, so exit 2 (as root: a 1 MiB tmpfs as TMPDIR) -------------
if [ "$(id -u)" -eq 0 ] && mkdir -p "$T/smalltmp" && mount -t tmpfs -o size=1m tmpfs "$T/smalltmp" 2>/dev/null; then
	fresh_targets
	before=$(sha "$T/t1")
	TMPDIR=$T/smalltmp expect_rc "a full TMPDIR while decoding: exit 2" 2 "$D" write --yes "$T/disk.img.xz" "$T/t1"
	one_line "a full TMPDIR: one line naming the file" "disk.img.xz"
	check "a full TMPDIR: the target is untouched" test "$(sha "$T/t1")" = "$before"
	umount "$T/smalltmp"
else
	echo "ok - a full TMPDIR while decoding # SKIP needs root and tmpfs"
fi
