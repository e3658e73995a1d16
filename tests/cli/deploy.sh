# dartdup build --format winre|wds|release and dartdup verify-release (docs/BUILD.md "Recovery partition",
# "Remote partition", "One signed release"): the partition image read back with Debian's ntfs-3g tools and
# placed on GPT and MBR disk images with sfdisk, winre.wim and boot.wim against the ISO's, the scripts'
# exact paths and ids, byte-identical rebuilds, the signed release intact / changed / foreign-signed,
# and the refusals (typo'd ISO, a file as the folder, no sources/boot.wim, no mkntfs, --size).
. tests/lib.sh
MKISO=$PWD/scripts/make-sample-iso
D=$DARTDUP
WINRE_GPT=de94bba4-06d1-4d40-a16a-bfd50179d6ac

if ! command -v ntfsinfo >/dev/null || ! [ -x /usr/sbin/mkntfs ]; then
	not_ok "ntfs-3g missing: run scripts/install-deps"
	exit 0
fi
"$MKISO" "$T/j.iso" --fs joliet --tree "$T/jtree" >/dev/null 2>&1 || not_ok "make the sample ISO"
WIMSUM=$(sha256sum "$T/jtree/sources/boot.wim" | cut -c1-64)
ISOSUM=$(sha256sum "$T/j.iso" | cut -c1-64)
# crlf FILE: every line of a file for Windows ends in CR LF
crlf() { [ "$(grep -c $'\r$' "$1")" -eq "$(wc -l <"$1")" ]; }
# has FILE LINE: FILE holds exactly LINE (its CR dropped)
has() { tr -d '\r' <"$1" | grep -qxF -- "$2"; }

# --- winre
expect_rc "winre: build" 0 "$D" build "$T/j.iso" --format winre -o "$T/w"
out_has "winre: reports the partition" "partition: NTFS, 500 MiB, holding Recovery/WindowsRE/winre.wim"
for f in winre.wim winre-partition.img diskpart-mbr.txt diskpart-gpt.txt setup-winre.cmd README.txt RELEASE.txt; do
	check "winre: wrote $f" test -s "$T/w/$f"
done
check "winre: winre.wim is the ISO's sources/boot.wim, byte for byte" cmp -s "$T/w/winre.wim" "$T/jtree/sources/boot.wim"
P=$T/w/winre-partition.img
check "winre: partition image is 500 MiB (DaRT 8's size; the ISO is smaller)" test "$(stat -c %s "$P")" -eq $((500 << 20))
ntfsinfo -m "$P" >"$T/ntfsinfo" 2>&1
check "winre: ntfsinfo reads an NTFS 3.1 volume" grep -q "Volume Version: 3.1" "$T/ntfsinfo"
check "winre: volume label Windows RE tools" grep -q "Volume Name: Windows RE tools" "$T/ntfsinfo"
ntfsls -R -l "$P" >"$T/ntfsls" 2>&1
check "winre: ntfsls finds Recovery/WindowsRE/winre.wim" bash -c "grep -qx '/Recovery/WindowsRE:' '$T/ntfsls' && grep -q ' winre.wim\$' '$T/ntfsls'"
check "winre: nothing else on the volume" test "$(grep '^ *[0-9]' "$T/ntfsls" | awk '{print $NF}' | grep -vx '\.\.\?' | sort | tr '\n' ' ')" = "Recovery WindowsRE winre.wim "
check "winre: the volume's winre.wim equals boot.wim" bash -c "ntfscat '$P' /Recovery/WindowsRE/winre.wim | cmp -s - '$T/jtree/sources/boot.wim'"
check "winre: ntfsfix -n finds the volume consistent" bash -c "ntfsfix -n '$P' | grep -q 'processed successfully'"
for e in /Recovery /Recovery/WindowsRE /Recovery/WindowsRE/winre.wim; do
	ntfsinfo -F "$e" "$P" 2>/dev/null | grep -E 'Time:' | sed 's/.*:\t *//' | sort -u >"$T/times"
	check "winre: $e: every time is the ISO's (2010-01-01), none the clock's" \
		test "$(cat "$T/times")" = "Fri Jan  1 00:00:00 2010 UTC"
done
check "winre: volume serial = bytes 8..15 of the ISO's SHA-256 (boot sector and backup)" python3 - "$P" "$ISOSUM" <<'PY'
import sys
p, h = sys.argv[1], bytes.fromhex(sys.argv[2])
with open(p, "rb") as f:
    bs = f.read(512)
    n = int.from_bytes(bs[0x28:0x30], "little")
    f.seek(n * 512); bak = f.read(512)
sys.exit(0 if bs[0x48:0x50] == h[8:16] and bak[0x48:0x50] == h[8:16] and bak[3:11] == b"NTFS    " else 1)
PY

# the scripts: exact ids and paths, CRLF
G=$T/w/diskpart-gpt.txt M=$T/w/diskpart-mbr.txt S=$T/w/setup-winre.cmd
check "gpt: type id of Windows RE tools" has "$G" "set id=\"$WINRE_GPT\""
check "gpt: attributes required + no drive letter" has "$G" "gpt attributes=0x8000000000000001"
check "gpt: partition size = image size" has "$G" "create partition primary size=500"
check "gpt: NTFS, quick, labelled" has "$G" 'format quick fs=ntfs label="Windows RE tools"'
check "mbr: type 0x27" has "$M" "set id=27"
check "mbr: partition size = image size" has "$M" "create partition primary size=500"
check "mbr: no GPT line" bash -c "! grep -q gpt '$M'"
check "setup: copies winre.wim to the folder reagentc is given" has "$S" 'copy /b /y "%~dp0winre.wim" R:\Recovery\WindowsRE\winre.wim || exit /b 1'
check "setup: reagentc /setreimage" has "$S" 'W:\Windows\System32\reagentc /setreimage /path R:\Recovery\WindowsRE /target W:\Windows || exit /b 1'
check "setup: reagentc /info check" has "$S" 'W:\Windows\System32\reagentc /info /target W:\Windows'
check "setup: the path is where the partition image holds winre.wim" bash -c "grep -qx '/Recovery/WindowsRE:' '$T/ntfsls'"
for f in "$G" "$M" "$S" "$T/w/README.txt"; do check "CRLF line ends: $(basename "$f")" crlf "$f"; done
check "README: names the DaRT size rule" grep -q "at least 300 MB" "$T/w/README.txt"

# the ids the scripts name, given to sfdisk on disk images holding the partition image
SECT=$(( (500 << 20) / 512 ))
truncate -s $(( (500 << 20) + (2 << 20) )) "$T/gpt.img"
printf 'label: gpt\nstart=2048, size=%s, type=%s, attrs="RequiredPartition,GUID:63"\n' "$SECT" "$WINRE_GPT" |
	sfdisk -q "$T/gpt.img" >"$T/sfdisk.log" 2>&1
dd if="$P" of="$T/gpt.img" bs=1M seek=1 conv=notrunc,sparse status=none
sfdisk --json "$T/gpt.img" >"$T/gpt.json" 2>/dev/null
check "sfdisk: GPT partition of type Windows RE tools" grep -qi "\"type\": *\"$WINRE_GPT\"" "$T/gpt.json"
check "sfdisk: attributes 0x8000000000000001 (RequiredPartition, GUID:63)" bash -c \
	"grep -q 'RequiredPartition' '$T/gpt.json' && grep -q 'GUID:63' '$T/gpt.json'"
check "sfdisk: the partition's bytes are the image" bash -c \
	"dd if='$T/gpt.img' bs=1M skip=1 count=500 status=none | cmp -s - '$P'"
rm -f "$T/gpt.img"
truncate -s $(( (500 << 20) + (2 << 20) )) "$T/mbr.img"
printf 'label: dos\nstart=2048, size=%s, type=27\n' "$SECT" | sfdisk -q "$T/mbr.img" >"$T/sfdisk.log" 2>&1
check "sfdisk: MBR partition of type 0x27" bash -c "sfdisk --part-type '$T/mbr.img' 1 | grep -qx 27"
rm -f "$T/mbr.img"

# reproducible: same ISO and options, same bytes, in another time zone too
expect_rc "winre: rebuild (TZ=America/New_York)" 0 env TZ=America/New_York "$D" build "$T/j.iso" --format winre -o "$T/w2" -q
for f in winre.wim winre-partition.img diskpart-mbr.txt diskpart-gpt.txt setup-winre.cmd README.txt RELEASE.txt; do
	check "winre: rebuilt $f is byte-identical" cmp -s "$T/w/$f" "$T/w2/$f"
done
rm -rf "$T/w2"

# --size (the DaRT rule: whole MiB, at least 300 MiB and the ISO)
expect_rc "size: --size 300M" 0 "$D" build "$T/j.iso" --format winre -o "$T/s" --size 300M -q
check "size: partition image is 300 MiB" test "$(stat -c %s "$T/s/winre-partition.img")" -eq $((300 << 20))
check "size: diskpart asks for 300 MB" has "$T/s/diskpart-gpt.txt" "create partition primary size=300"
rm -rf "$T/s"
expect_rc "size: 299M refused" 2 "$D" build "$T/j.iso" --format winre -o "$T/s" --size 299M
out_has "size: states the rule" "at least 300 MiB"
check "size: nothing made" test ! -e "$T/s"
expect_rc "size: not whole MiB refused" 2 "$D" build "$T/j.iso" --format winre -o "$T/s" --size 314572801
check "size: nothing made (odd size)" test ! -e "$T/s"

# --- wds
expect_rc "wds: build" 0 "$D" build "$T/j.iso" --format wds -o "$T/d"
check "wds: boot.wim equals the ISO's" cmp -s "$T/d/boot.wim" "$T/jtree/sources/boot.wim"
check "wds: boot.wim.sha256 checks out" bash -c "cd '$T/d' && sha256sum -c --quiet boot.wim.sha256"
C=$T/d/wds-add-image.cmd
check "wds: wdsutil /Add-Image of boot.wim as a boot image" bash -c \
	"tr -d '\r' <'$C' | grep -q '^wdsutil /Verbose /Progress /Add-Image /ImageFile:\"%~dp0boot.wim\" /ImageType:Boot /Name:\"DART70\" '"
check "wds: stored under a name of its own (the WIM's hash)" grep -q "/Filename:\"dart-${WIMSUM:0:8}.wim\"" "$C"
check "wds: the check names the architecture from the WIM's XML (x64)" grep -q "/Get-Image /Image:\"DART70\" /ImageType:Boot /Architecture:x64 " "$C"
check "wds: CRLF" crlf "$C"
"$MKISO" "$T/x86.iso" --fs joliet --arch x86 --no-bootx64 >/dev/null 2>&1
expect_rc "wds: x86 ISO" 0 "$D" build "$T/x86.iso" --format wds -o "$T/d86" -q
check "wds: x86 from the WIM's XML" grep -q "/Architecture:x86 " "$T/d86/wds-add-image.cmd"
expect_rc "wds: rebuild" 0 "$D" build "$T/j.iso" --format wds -o "$T/d2" -q
for f in boot.wim boot.wim.sha256 wds-add-image.cmd README.txt RELEASE.txt; do
	check "wds: rebuilt $f is byte-identical" cmp -s "$T/d/$f" "$T/d2/$f"
done
rm -rf "$T/d2" "$T/d86"

# --- the signed release
"$D" keygen -o "$T/depot" >/dev/null
"$D" keygen -o "$T/other" >/dev/null
expect_rc "release: build --format release --key" 0 "$D" build "$T/j.iso" --format release -o "$T/r" --key "$T/depot.key"
out_has "release: says it is signed" "(signed)"
R=$T/r
for f in stick.dfi winre.wim winre-partition.img boot.wim wds-add-image.cmd setup-winre.cmd; do
	check "release: lists $f with its SHA-256" grep -q "^file $(sha256sum "$R/$f" | cut -c1-64) $(stat -c %s "$R/$f") $f\$" "$R/RELEASE.txt"
done
check "release: source is the ISO's SHA-256" grep -qx "source-sha256 $ISOSUM" "$R/RELEASE.txt"
IMGID=$("$D" inspect "$R/stick.dfi" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["image_id"])')
check "release: records stick.dfi's image id" grep -qx "dfi-image-id $IMGID stick.dfi" "$R/RELEASE.txt"
check "release: stick.dfi signed by the depot key" bash -c "'$D' inspect '$R/stick.dfi' --pubkey '$T/depot.pub' >/dev/null"
check "release: the .dfi records the ISO as its source" bash -c "'$D' inspect '$R/stick.dfi' --json | grep -q '$ISOSUM'"
expect_rc "verify-release: intact folder" 0 "$D" verify-release "$R" --pubkey "$T/depot.pub"
out_has "verify-release: counts the files" "10 files intact"
expect_rc "verify-release: --json" 0 "$D" verify-release "$R" --pubkey "$T/depot.pub" --json
out_has "verify-release: JSON" '"event":"release_verified"'
expect_rc "verify-release: the wrong key" 2 "$D" verify-release "$R" --pubkey "$T/other.pub"
out_has "verify-release: says another key signed it" "signed by another key"
cp -r "$R" "$T/r2"
printf 'X' | dd of="$T/r2/winre.wim" bs=1 seek=4096 conv=notrunc status=none
expect_rc "verify-release: one byte of winre.wim changed" 1 "$D" verify-release "$T/r2" --pubkey "$T/depot.pub"
out_has "verify-release: names the changed file" "$T/r2/winre.wim: changed"
rm "$T/r2/boot.wim"
expect_rc "verify-release: boot.wim missing" 1 "$D" verify-release "$T/r2" --pubkey "$T/depot.pub"
out_has "verify-release: names the missing file" "$T/r2/boot.wim: missing"
rm -rf "$T/r2"; cp -r "$R" "$T/r2"
echo "rem added" >>"$T/r2/setup-winre.cmd"
sed -i "s/^file [0-9a-f]* [0-9]* setup-winre.cmd\$/file $(sha256sum "$T/r2/setup-winre.cmd" | cut -c1-64) $(stat -c %s "$T/r2/setup-winre.cmd") setup-winre.cmd/" "$T/r2/RELEASE.txt"
expect_rc "verify-release: a changed file with a re-written manifest" 2 "$D" verify-release "$T/r2" --pubkey "$T/depot.pub"
out_has "verify-release: the signature no longer verifies" "signature does not verify"
rm -rf "$T/r2"; cp -r "$R" "$T/r2"
rm "$T/r2/winre-partition.img"; ln -s ../r/winre-partition.img "$T/r2/winre-partition.img"
expect_rc "verify-release: a symbolic link in place of a file" 1 "$D" verify-release "$T/r2" --pubkey "$T/depot.pub"
out_has "verify-release: names it" "winre-partition.img: not a regular file"
rm -rf "$T/r2"
expect_rc "release: unsigned build" 0 "$D" build "$T/j.iso" --format wds -o "$T/u" -q
expect_rc "verify-release: unsigned folder refused" 2 "$D" verify-release "$T/u" --pubkey "$T/depot.pub"
out_has "verify-release: says unsigned" "not signed"
expect_rc "verify-release: a folder without RELEASE.txt" 2 "$D" verify-release "$T/jtree" --pubkey "$T/depot.pub"
expect_rc "verify-release: a typo'd folder" 2 "$D" verify-release "$T/no-such-folder" --pubkey "$T/depot.pub"
expect_rc "verify-release: no --pubkey" 2 "$D" verify-release "$R"
printf 'dartdup-release 1\nsource-sha256 zz\n' >"$T/u/RELEASE.txt"
expect_rc "verify-release: a damaged manifest" 2 "$D" verify-release "$T/u" --pubkey "$T/depot.pub"
rm -rf "$R" "$T/u"

# --- refusals: exit 2, one line, nothing made
expect_rc "refused: a typo'd ISO" 2 "$D" build "$T/no-such.iso" --format winre -o "$T/n"
check "refused: typo'd ISO: no folder made" test ! -e "$T/n"
echo "keep me" >"$T/afile"
expect_rc "refused: the output is a file" 2 "$D" build "$T/j.iso" --format winre -o "$T/afile"
out_has "refused: says it is not a folder" "$T/afile: not a folder"
check "refused: the file is untouched" test "$(cat "$T/afile")" = "keep me"
expect_rc "refused: the output folder's parent is missing" 2 "$D" build "$T/j.iso" --format wds -o "$T/nodir/sub"
mkdir -p "$T/nowim"; cp -r "$T/jtree/." "$T/nowim/"; rm "$T/nowim/sources/boot.wim"
xorriso -as mkisofs -quiet -J -V NOWIM -o "$T/nowim.iso" "$T/nowim" 2>/dev/null
expect_rc "refused: an ISO without sources/boot.wim" 2 "$D" build "$T/nowim.iso" --format winre -o "$T/n"
out_has "refused: names sources/boot.wim" "no sources/boot.wim"
check "refused: no boot.wim: no folder made" test ! -e "$T/n"
expect_rc "refused: --raw with a folder format" 2 "$D" build "$T/j.iso" --format winre -o "$T/n" --raw
expect_rc "refused: a key that is not one" 2 "$D" build "$T/j.iso" --format winre -o "$T/n" --key "$T/afile"
check "refused: bad key: no folder made" test ! -e "$T/n"
expect_rc "mkntfs missing: exit 2" 2 env DARTDUP_MKNTFS=/nonexistent/mkntfs "$D" build "$T/j.iso" --format winre -o "$T/n"
out_has "mkntfs missing: says what to install" "install Debian's ntfs-3g"
check "mkntfs missing: the new folder is removed again" test ! -e "$T/n"

mkdir "$T/lk"; ln -s /dev/null "$T/lk/README.txt"
expect_rc "refused: a name in the folder links to a device" 2 "$D" build "$T/j.iso" --format winre -o "$T/lk"
out_has "refused: names that file" "$T/lk/README.txt: refused"
check "refused: nothing written before the refusal" test "$(ls "$T/lk")" = "README.txt"
check "refused: /dev/null is still a character device" test -c /dev/null

# text from the ISO never becomes a command in the scripts
cp -r "$T/jtree" "$T/evil"
xorriso -as mkisofs -quiet -J -V 'A&del x|"%' -o "$T/evil.iso" "$T/evil" 2>/dev/null
expect_rc "hostile volume id: build" 0 "$D" build "$T/evil.iso" --format wds -o "$T/e" -q
check "hostile volume id: no & | \" % of it in the script" grep -q '/Name:"A_del x___" ' "$T/e/wds-add-image.cmd"
