#!/usr/bin/env bash
# dartdup pack / inspect / keygen from the command line: exit codes, `zstd -dc` giving the image back,
# signatures, damaged packages, one-line errors naming the file.
. tests/lib.sh
D=$DARTDUP
export SOURCE_DATE_EPOCH=1700000000

# one_line NAME: the last command's output is one line (an error message) naming $2
one_line() {
	if [ "$(wc -l <"$T/out")" -eq 1 ] && grep -qF -- "$2" "$T/out"; then ok "$1"; else not_ok "$1: $(head -c 300 "$T/out")"; fi
}

for c in pack inspect keygen; do
	expect_rc "$c --help" 0 "$D" "$c" --help
	out_has "$c --help shows usage" "usage: dartdup $c"
done
expect_rc "pack without arguments is a usage error" 2 "$D" pack
expect_rc "inspect with an unknown option is a usage error" 2 "$D" inspect --frobnicate x.dfi
expect_rc "keygen without -o is a usage error" 2 "$D" keygen

# keys
expect_rc "keygen" 0 "$D" keygen -o "$T/depot"
check "private key is mode 0600" test "$(stat -c %a "$T/depot.key")" = 600
check "public key is PEM" grep -q "BEGIN PUBLIC KEY" "$T/depot.pub"
expect_rc "keygen refuses to overwrite" 2 "$D" keygen -o "$T/depot"
"$D" keygen -o "$T/other" >/dev/null

# pack and decode with the standard tool
make_image "$T/disk.img" $((5 * 1048576 + 12345)) 1
expect_rc "pack signed" 0 "$D" pack "$T/disk.img" -o "$T/disk.dfi" --key "$T/depot.key"
check "zstd -dc gives the image byte for byte" sh -c "zstd -qdc '$T/disk.dfi' | cmp -s - '$T/disk.img'"
check "zstd -t accepts the package" zstd -qt "$T/disk.dfi"
expect_rc "pack is reproducible" 0 "$D" pack "$T/disk.img" -o "$T/disk2.dfi" --key "$T/depot.key" --threads 1
check "same input, same bytes (1 thread vs all)" cmp -s "$T/disk.dfi" "$T/disk2.dfi"
zstd -q -3 "$T/disk.img" -o "$T/disk.img.zst"
expect_rc "pack a .zst image" 0 "$D" pack "$T/disk.img.zst" -o "$T/fromzst.dfi" --key "$T/depot.key" --name disk.img
check "a .zst input gives the same package as the raw image" cmp -s "$T/disk.dfi" "$T/fromzst.dfi"
expect_rc "pack with options" 0 "$D" pack "$T/disk.img" -o "$T/small.dfi" --block-size 64K --level 1 --name "DaRT 7"
check "64K blocks decode too" sh -c "zstd -qdc '$T/small.dfi' | cmp -s - '$T/disk.img'"
: >"$T/empty.img"
expect_rc "an empty image is refused" 2 "$D" pack "$T/empty.img" -o "$T/empty.dfi"
out_has "empty: says so" "empty (0 bytes): not an image"
check "empty: no package, no temporary left" sh -c "! ls '$T'/empty.dfi* 2>/dev/null"
head -c 1 "$T/disk.img" >"$T/one.img"
expect_rc "pack a 1-byte image" 0 "$D" pack "$T/one.img" -o "$T/one.dfi"
check "1 byte decodes" sh -c "zstd -qdc '$T/one.dfi' | cmp -s - '$T/one.img'"
head -c 3000000 /dev/zero >"$T/zeros.img"
expect_rc "pack all zeros" 0 "$D" pack "$T/zeros.img" -o "$T/zeros.dfi" --json
out_has "all blocks are zero blocks" '"zero_blocks":3'

# inspect
expect_rc "inspect" 0 "$D" inspect "$T/small.dfi"
out_has "inspect shows the name" "DaRT 7"
expect_rc "inspect --json" 0 "$D" inspect "$T/disk.dfi" --json --check
check "inspect --json is JSON with the image size" python3 -c "
import json,sys; d=json.load(open('$T/out')); sys.exit(0 if d['image_size']==$((5 * 1048576 + 12345)) and d['check']['ok'] else 1)"
expect_rc "inspect --check" 0 "$D" inspect "$T/disk.dfi" --check
expect_rc "inspect --blocks" 0 "$D" inspect "$T/disk.dfi" --blocks
out_has "blocks listed" "block 5  offset 5242880"
expect_rc "right public key verifies" 0 "$D" inspect "$T/disk.dfi" --pubkey "$T/depot.pub" --check
out_has "signature reported verified" "signature   verified"
expect_rc "one of several keys verifies" 0 "$D" inspect "$T/disk.dfi" --pubkey "$T/other.pub" --pubkey "$T/depot.pub"
expect_rc "foreign-signed package refused" 2 "$D" inspect "$T/disk.dfi" --pubkey "$T/other.pub"
one_line "foreign signature: one line naming the file" "disk.dfi: signed by another key"
expect_rc "unsigned package refused when a key is given" 2 "$D" inspect "$T/small.dfi" --pubkey "$T/depot.pub"
one_line "unsigned: one line naming the file" "small.dfi: not signed"
expect_rc "missing public key file" 2 "$D" inspect "$T/disk.dfi" --pubkey "$T/nope.pub"
one_line "missing key: one line naming the key" "nope.pub"

# flip FILE OFFSET: invert one byte in place
flip() { python3 -c "
import sys; f=open(sys.argv[1],'r+b'); f.seek(int(sys.argv[2])); b=f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0]^0xff]))" "$1" "$2"; }

# damage
size=$(stat -c %s "$T/disk.dfi")
cp "$T/disk.dfi" "$T/bad-data.dfi"
# a byte inside the frame of block 3 (frame offsets from inspect --blocks --json)
at=$("$D" inspect "$T/disk.dfi" --blocks --json | python3 -c "
import json,sys; b=json.load(sys.stdin)['block_list'][3]; print(b['frame_offset'] + b['frame_size'] // 2)")
flip "$T/bad-data.dfi" "$at"
expect_rc "damaged data frame: inspect without --check still reads the manifest" 0 "$D" inspect "$T/bad-data.dfi"
expect_rc "damaged data frame: --check fails with 1" 1 "$D" inspect "$T/bad-data.dfi" --check
out_has "the failing block's offset is named" "(image offset 3145728)"
cp "$T/disk.dfi" "$T/bad-manifest.dfi"
flip "$T/bad-manifest.dfi" $((size - 72 - 130 - 100))
expect_rc "damaged manifest refused" 2 "$D" inspect "$T/bad-manifest.dfi"
one_line "damaged manifest: one line naming the file" "bad-manifest.dfi: manifest damaged"
cp "$T/disk.dfi" "$T/bad-header.dfi"
flip "$T/bad-header.dfi" 9
expect_rc "damaged header refused" 2 "$D" inspect "$T/bad-header.dfi"
one_line "damaged header: one line naming the file" "bad-header.dfi: not a .dfi package"
head -c $((size - 1000)) "$T/disk.dfi" >"$T/trunc.dfi"
expect_rc "truncated package refused" 2 "$D" inspect "$T/trunc.dfi"
one_line "truncated: one line naming the file" "trunc.dfi: truncated"
expect_rc "missing package" 2 "$D" inspect "$T/absent.dfi"
one_line "missing package: one line naming it" "absent.dfi"
expect_rc "inspect of a raw image shows what write would make of it" 0 "$D" inspect "$T/disk.img"
out_has "raw image: its format" "format      raw"

# pack errors
expect_rc "pack of a missing image" 2 "$D" pack "$T/absent.img" -o "$T/x.dfi"
one_line "missing image: one line naming it" "absent.img"
expect_rc "pack with a bad block size" 2 "$D" pack "$T/disk.img" -o "$T/x.dfi" --block-size 1000
# numbers are checked (common/util/number.h): not a number, negative or out of range is refused, never 0
for bad in abc -1 "" 4x 1KB; do
	expect_rc "pack --block-size '$bad' refused" 2 "$D" pack "$T/disk.img" -o "$T/x.dfi" --block-size "$bad"
done
for bad in abc -1 0 65 " 2"; do
	expect_rc "pack --threads '$bad' refused" 2 "$D" pack "$T/disk.img" -o "$T/x.dfi" --threads "$bad"
done
out_has "pack --threads: names the value" "--threads  2: must be from 1 to 64"
for bad in abc 0 -0 1001 -1001 1.5 +3 --3; do
	expect_rc "pack --level '$bad' refused" 2 "$D" pack "$T/disk.img" -o "$T/x.dfi" --level="$bad"
done
check "refused numbers: no package written" test ! -e "$T/x.dfi"
expect_rc "pack --level -1 (a fast level) and --block-size 1m" 0 "$D" pack "$T/disk.img" -o "$T/fast.dfi" --level=-1 --block-size 1m --threads 2
expect_rc "pack with a missing key" 2 "$D" pack "$T/disk.img" -o "$T/x.dfi" --key "$T/nokey.key"
one_line "missing key: one line naming it" "nokey.key"
check "a failed pack leaves no output" test ! -e "$T/x.dfi"
check "a failed pack leaves no temporary file" sh -c "! ls '$T'/x.dfi.* 2>/dev/null | grep -q ."
printf '\x28\xb5\x2f\xfd\x04\x00' >"$T/broken.zst"
expect_rc "pack of a damaged .zst" 2 "$D" pack "$T/broken.zst" -o "$T/x.dfi"
one_line "damaged .zst: one line naming it" "broken.zst"
