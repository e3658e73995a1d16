# dartdup build: DaRT-style ISOs made here (scripts/make-sample-iso) -> images checked with the tools
# users trust: fsck.fat, mtools (every file, same name and case, same bytes), cmp for reproducibility.
. tests/lib.sh
MKISO=$PWD/scripts/make-sample-iso

# fsck_clean NAME IMG OFFSET: fsck.fat -n finds nothing on the volume
fsck_clean() {
	dd if="$2" of="$T/vol" bs=1M skip=$(($3 / 1048576)) status=none
	if fsck.fat -n "$T/vol" >"$T/fsck" 2>&1 && ! grep -qiE 'differ|wrong|invalid|fix|free cluster summary' "$T/fsck"; then
		ok "$1"
	else
		not_ok "$1: $(tr '\n' ' ' <"$T/fsck" | head -c 300)"
	fi
	rm -f "$T/vol"
}

# --- Joliet (xorriso), the common case
"$MKISO" "$T/j.iso" --fs joliet --wim-mb 40 --tree "$T/jtree"
expect_rc "joliet: build raw image" 0 "$DARTDUP" build "$T/j.iso" -o "$T/j.img" --raw
out_has "joliet: reports Joliet" "Joliet image \"DART70\""
out_has "joliet: reports Windows PE version and name" "Windows PE 6.1.7601.17514 (Microsoft Diagnostics and Recovery Toolset)"
out_has "joliet: reports architecture and CD boot entries" "architecture x64; CD boot entries: BIOS UEFI"
out_has "joliet: reports UEFI loader" "UEFI via efi/boot/bootx64.efi"
fsck_clean "joliet: fsck.fat -n clean" "$T/j.img" 1048576
same_tree "joliet: every file, name and case on FAT32" "$T/j.img" 1048576 "$T/jtree"
check "joliet: MBR signature, partition active FAT32-LBA at 2048" python3 - "$T/j.img" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read(512)
st, typ, lba = b[446], b[450], struct.unpack_from("<I", b, 454)[0]
sys.exit(0 if b[510:512] == b"\x55\xaa" and st == 0x80 and typ == 0x0C and lba == 2048 and b[0x64] == 0xFF else 1)
PY
check "joliet: GRUB core.img from LBA 1" sh -c "dd if='$T/j.img' bs=512 skip=1 count=1 status=none | cmp -s -n 400 - /usr/lib/grub/i386-pc/diskboot.img"
expect_rc "joliet: rebuild" 0 "$DARTDUP" build "$T/j.iso" -o "$T/j2.img" --raw -q
check "joliet: rebuild is byte-identical" cmp -s "$T/j.img" "$T/j2.img"
rm -f "$T/j2.img"
expect_rc "joliet: rebuild in another time zone" 0 env TZ=America/New_York "$DARTDUP" build "$T/j.iso" -o "$T/j2.img" --raw -q
check "joliet: the time zone changes nothing" cmp -s "$T/j.img" "$T/j2.img"
rm -f "$T/j2.img"

# --- .dfi output (the default) and JSON
expect_rc "dfi: build .dfi" 0 "$DARTDUP" build "$T/j.iso" -o "$T/j.dfi" --json
out_has "dfi: JSON report" '"event":"built"'
check "dfi: package written" test -s "$T/j.dfi"
expect_rc "dfi: rebuild" 0 "$DARTDUP" build "$T/j.iso" -o "$T/j2.dfi" -q
check "dfi: rebuilt package is byte-identical" cmp -s "$T/j.dfi" "$T/j2.dfi"
rm -f "$T/j.dfi" "$T/j2.dfi"

# --- --size
expect_rc "size: --size 64M" 0 "$DARTDUP" build "$T/j.iso" -o "$T/s.img" --raw --size 64M
check "size: image is exactly 64 MiB" test "$(stat -c %s "$T/s.img")" -eq $((64 << 20))
fsck_clean "size: fsck.fat -n clean" "$T/s.img" 1048576
rm -f "$T/s.img"
expect_rc "size: too small refused" 2 "$DARTDUP" build "$T/j.iso" -o "$T/s.img" --raw --size 40M
out_has "size: says what does not fit" "the files need"
check "size: no output left behind" test ! -e "$T/s.img"
for bad in abc 12x -1 99999999999G 64MB ""; do
	expect_rc "size: --size '$bad' refused" 2 "$DARTDUP" build "$T/j.iso" -o "$T/s.img" --raw --size "$bad"
	out_has "size: --size '$bad' named" "not a size"
	check "size: --size '$bad' left nothing" test ! -e "$T/s.img"
done

# --- --format partition and wds
expect_rc "partition: build" 0 "$DARTDUP" build "$T/j.iso" -o "$T/p.img" --raw --format partition
fsck_clean "partition: fsck.fat -n clean" "$T/p.img" 0
same_tree "partition: every file on the volume" "$T/p.img" 0 "$T/jtree"
rm -f "$T/p.img"
expect_rc "wds: build" 0 "$DARTDUP" build "$T/j.iso" -o "$T/wds" --format wds
check "wds: boot.wim equals the ISO's" cmp -s "$T/wds/boot.wim" "$T/jtree/sources/boot.wim"
check "wds: SHA-256 file checks out" sh -c "cd '$T/wds' && sha256sum -c --quiet boot.wim.sha256"
out_has "wds: prints the SHA-256" "boot.wim sha256: $(sha256sum "$T/jtree/sources/boot.wim" | cut -c1-64)"
rm -rf "$T/wds" "$T/j.img"

# --- UDF + ISO 9660 bridge (genisoimage -udf): the ISO side has only 8.3 names, UDF the real ones
"$MKISO" "$T/u.iso" --fs udf --tree "$T/utree"
expect_rc "udf bridge: build" 0 "$DARTDUP" build "$T/u.iso" -o "$T/u.img" --raw
out_has "udf bridge: names come from UDF" "UDF"
fsck_clean "udf bridge: fsck.fat -n clean" "$T/u.img" 1048576
same_tree "udf bridge: every file with its long name and case" "$T/u.img" 1048576 "$T/utree"
rm -f "$T/u.img" "$T/u.iso"

# --- Windows 7-era x64: only efi/microsoft/boot -> bootmgfw.efi from boot.wim
"$MKISO" "$T/w7.iso" --no-bootx64 --tree "$T/w7tree"
expect_rc "win7 x64: build" 0 "$DARTDUP" build "$T/w7.iso" -o "$T/w7.img" --raw
out_has "win7 x64: reports bootmgfw.efi from boot.wim" "bootmgfw.efi from sources/boot.wim"
fat_of "$T/w7.img" 1048576
MTOOLSRC=$T/mtoolsrc mcopy -n "x:/efi/boot/bootx64.efi" "$T/bootx64.efi" 2>/dev/null
wimextract "$T/w7tree/sources/boot.wim" 1 /Windows/Boot/EFI/bootmgfw.efi --dest-dir="$T" >/dev/null 2>&1
check "win7 x64: efi/boot/bootx64.efi is boot.wim's bootmgfw.efi" cmp -s "$T/bootx64.efi" "$T/bootmgfw.efi"
rm -f "$T/w7.img" "$T/w7.iso" "$T/bootx64.efi" "$T/bootmgfw.efi"
"$MKISO" "$T/x86.iso" --no-bootx64 --arch x86
expect_rc "win7 x86: build" 0 "$DARTDUP" build "$T/x86.iso" -o "$T/x86.img" --raw
out_has "win7 x86: BIOS only" "BIOS only"
out_has "win7 x86: Secure Boot is moot without a UEFI loader" "secure boot: no UEFI loader: Windows PE 3.x"
rm -f "$T/x86.img" "$T/x86.iso"

# --- Secure Boot, by the Windows PE version boot.wim names (docs/BUILD.md "Secure Boot")
# Windows 7 / DaRT 7 (the joliet ISO above: 6.1.7601): cannot, and the user is told what to do
expect_rc "secure boot: PE 3.x build" 0 "$DARTDUP" build "$T/j.iso" -o "$T/sb.img" --raw
out_has "secure boot: PE 3.x named" "Windows PE 3.x (Windows 7 / DaRT 7)"
out_has "secure boot: PE 3.x cannot, turn it off" "secure boot: no: Windows PE 3.x (Windows 7 / DaRT 7) cannot boot with Secure Boot on: turn Secure Boot off"
rm -f "$T/sb.img"
expect_rc "secure boot: PE 3.x --json" 0 "$DARTDUP" build "$T/j.iso" -o "$T/sb.img" --raw --json
check "secure boot: PE 3.x JSON says no" python3 -c "import json,sys; o=json.load(open('$T/out')); sys.exit(not (o['winpe_version']=='3.x' and o['secure_boot']=='no'))"
rm -f "$T/sb.img"
# sb_case NAME VERSION PE VERDICT: an ISO whose boot.wim says VERSION reports PE and VERDICT, text and JSON
sb_case() {
	"$MKISO" "$T/sb.iso" --wim-mb 1 --winpe "$2"
	expect_rc "secure boot: $1 build" 0 "$DARTDUP" build "$T/sb.iso" -o "$T/sb.img" --raw
	out_has "secure boot: $1 text" "secure boot: $4"
	rm -f "$T/sb.img"
	expect_rc "secure boot: $1 --json" 0 "$DARTDUP" build "$T/sb.iso" -o "$T/sb.img" --raw --json
	check "secure boot: $1 JSON" python3 -c "import json,sys; o=json.load(open('$T/out')); sys.exit(not (o['winpe_version']==(None if '$3'=='null' else '$3') and o['secure_boot']=='${4%%:*}'))"
	rm -f "$T/sb.img" "$T/sb.iso"
}
sb_case "PE 4.0 (DaRT 8)" 6.2.9200.16384 4.0 "yes: Windows PE 4.0 (Windows 8 / DaRT 8) boots with Microsoft's signed bootmgfw.efi"
sb_case "PE 5.x (DaRT 8.1)" 6.3.9600.16384 5.x "yes: Windows PE 5.x"
sb_case "PE 10 (DaRT 10)" 10.0.19041.1 10 "yes: Windows PE 10"
sb_case "no version" none null "unknown: the Windows PE version is unknown; if a PC refuses the stick, turn Secure Boot off"
sb_case "a version not in the table" 7.0.1.1 null "unknown:"
sb_case "PE 2.x (Vista)" 6.0.6001.18000 2.x "no: Windows PE 2.x"

# --- bad input: one line, exit 2, nothing left behind
head -c $((4 << 20)) "$T/j.iso" >"$T/trunc.iso"
expect_rc "bad: truncated ISO" 2 "$DARTDUP" build "$T/trunc.iso" -o "$T/bad.img" --raw
out_has "bad: truncated says so" "trunc.iso"
check "bad: truncated message is one line" test "$(wc -l <"$T/out")" -eq 1
head -c $((1 << 20)) /dev/urandom >"$T/noise.iso"
expect_rc "bad: not an ISO" 2 "$DARTDUP" build "$T/noise.iso" -o "$T/bad.img" --raw
out_has "bad: not an ISO says so" "not an ISO image"
"$MKISO" "$T/nobm.iso" --no-bootmgr
expect_rc "bad: no bootmgr" 2 "$DARTDUP" build "$T/nobm.iso" -o "$T/bad.img" --raw
out_has "bad: no bootmgr says so" "not a Windows PE / DaRT image (no bootmgr)"
# a Joliet name rewritten to "../../x" (same length as "lower.txt" is 9: "../../x.x")
python3 - "$T/j.iso" "$T/trav.iso" <<'PY'
import sys
d = bytearray(open(sys.argv[1], "rb").read())
old, new = "lower.txt".encode("utf-16-be"), "../../x.x".encode("utf-16-be")
i = d.find(old)
assert i > 0
d[i:i + len(old)] = new
open(sys.argv[2], "wb").write(d)
PY
expect_rc "bad: traversal name refused" 2 "$DARTDUP" build "$T/trav.iso" -o "$T/bad.img" --raw
out_has "bad: traversal says unsafe name" "unsafe file name"
check "bad: nothing left behind" test ! -e "$T/bad.img"
expect_rc "usage: no -o" 2 "$DARTDUP" build "$T/j.iso"
expect_rc "usage: bad --format" 2 "$DARTDUP" build "$T/j.iso" -o "$T/x" --format floppy


# --- dartdup write / verify accept the ISO itself (built on the fly, temporary image removed)
"$MKISO" "$T/w.iso"
"$DARTDUP" build "$T/w.iso" -o "$T/w.img" --raw -q
mkdir -p "$T/tmp"
expect_rc "write ISO: two file targets" 0 env TMPDIR="$T/tmp" "$DARTDUP" write "$T/w.iso" "$T/t1" "$T/t2" --yes
check "write ISO: targets hold the built image" sh -c "cmp -s '$T/w.img' '$T/t1' && cmp -s '$T/w.img' '$T/t2'"
check "write ISO: no temporary image left" test -z "$(ls -A "$T/tmp")"
expect_rc "verify ISO: targets verify against the ISO" 0 env TMPDIR="$T/tmp" "$DARTDUP" verify "$T/w.iso" "$T/t1" "$T/t2"
printf 'X' | dd of="$T/t2" bs=1 seek=$((2 << 20)) conv=notrunc status=none
expect_rc "verify ISO: a damaged target fails" 1 env TMPDIR="$T/tmp" "$DARTDUP" verify "$T/w.iso" "$T/t2"
expect_rc "write ISO: a bad ISO is refused, nothing written" 2 env TMPDIR="$T/tmp" "$DARTDUP" write "$T/nobm.iso" "$T/t3" --yes
check "write ISO: no target created for a bad ISO" test ! -e "$T/t3"
rm -f "$T/t1" "$T/t2" "$T/w.img" "$T/w.iso"
