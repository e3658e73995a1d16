# dartdup build, the ISO reader's corners (issue 17 items 5-7): names FAT and Windows take for one
# (case beyond ASCII), Joliet / Rock Ridge entries named "." or "..", names Windows cannot hold, and a
# big tree read by directory extent, checked file by file against what went into the ISO.
. tests/lib.sh
MKISO=$PWD/scripts/make-sample-iso

# patch IN OUT OLD NEW: replace the one occurrence of bytes OLD (Python literal) by NEW
patch_iso() {
	python3 - "$@" <<'PY'
import ast, sys
src, dst, old, new = sys.argv[1], sys.argv[2], ast.literal_eval(sys.argv[3]), ast.literal_eval(sys.argv[4])
d = bytearray(open(src, "rb").read())
assert d.count(old) == 1, f"{old!r} found {d.count(old)} times"
i = d.find(old)
d[i:i + len(new)] = new
open(dst, "wb").write(d)
PY
}
# refused NAME ISO TEXT: exit 2, one line holding TEXT, no output left behind
refused() {
	expect_rc "$1: refused" 2 "$DARTDUP" build "$2" -o "$T/bad.img" --raw
	out_has "$1: says why" "$3"
	check "$1: one line" test "$(wc -l <"$T/out")" -eq 1
	check "$1: nothing left behind" test ! -e "$T/bad.img"
}

# --- item 6: a directory "zz" and a file "z" that the patches below rename to "..", "." (with Joliet:
# the names come from Joliet; without: from Rock Ridge)
x=$T/x; mkdir -p "$x/zz/deeper"
printf 'inside zz' >"$x/zz/deeper/file.txt"
printf 'one letter' >"$x/z"
"$MKISO" "$T/j.iso" --wim-mb 1 --add "$x" --tree "$T/jtree"
expect_rc "dots: the unpatched ISO builds" 0 "$DARTDUP" build "$T/j.iso" -o "$T/j.img" --raw -q
same_tree "dots: the unpatched stick holds zz/ and z" "$T/j.img" 1048576 "$T/jtree" rr_moved
rm -f "$T/j.img"
# Joliet directory record: identifier length 4, "zz" in UTF-16 big-endian
patch_iso "$T/j.iso" "$T/j-dotdot.iso" "b'\x04\x00z\x00z'" "b'\x04\x00.\x00.'"
refused "joliet dir named .." "$T/j-dotdot.iso" 'unsafe file name ".."'
patch_iso "$T/j.iso" "$T/j-dot.iso" "b'\x02\x00z'" "b'\x02\x00.'"
refused "joliet file named ." "$T/j-dot.iso" 'unsafe file name "."'
rm -f "$T"/j-*.iso
"$MKISO" "$T/r.iso" --fs iso --wim-mb 1 --add "$x"
expect_rc "rock ridge: the unpatched ISO builds" 0 "$DARTDUP" build "$T/r.iso" -o "$T/r.img" --raw -q
fat_of "$T/r.img" 1048576
check "rock ridge: the stick holds zz/deeper/file.txt" sh -c "MTOOLSRC='$T/mtoolsrc' mtype x:/zz/deeper/file.txt | grep -q 'inside zz'"
rm -f "$T/r.img"
# Rock Ridge NM entry: "NM", length 7, version 1, flags 0, "zz"
patch_iso "$T/r.iso" "$T/r-dotdot.iso" "b'NM\x07\x01\x00zz'" "b'NM\x07\x01\x00..'"
refused "rock ridge dir named .." "$T/r-dotdot.iso" 'unsafe file name ".."'
# the same entry with the NM flag "parent" (bit 2): it names itself ".." whatever its bytes say
patch_iso "$T/r.iso" "$T/r-parent.iso" "b'NM\x07\x01\x00zz'" "b'NM\x07\x01\x04zz'"
refused "rock ridge NM flag parent" "$T/r-parent.iso" 'unsafe file name ".."'
rm -f "$T"/r*.iso "$T/r.img"

# --- Rock Ridge deep relocation (genisoimage -R): folders past 8 levels live under rr_moved, reached
# through CL links; the stick has them in their place (and rr_moved left empty)
rm -rf "$x"; mkdir -p "$x/a/b/c/d/e/f/g/h/i/j"
printf 'deep' >"$x/a/b/c/d/e/f/g/h/i/j/deep.txt"; printf 'h' >"$x/a/b/c/d/e/f/g/h/at-h.txt"
"$MKISO" "$T/r.iso" --fs genrr --wim-mb 1 --add "$x" --tree "$T/rtree"
expect_rc "rock ridge relocation: builds" 0 "$DARTDUP" build "$T/r.iso" -o "$T/r.img" --raw -q
same_tree "rock ridge relocation: deep folders in their place" "$T/r.img" 1048576 "$T/rtree" rr_moved
rm -f "$T/r.img"
# the link renamed away: the relocated folder would be missing from the stick
patch_iso "$T/r.iso" "$T/r-nolink.iso" "b'CL\x0c\x01'" "b'XL\x0c\x01'"
refused "rock ridge relocated folder linked from nowhere" "$T/r-nolink.iso" "linked from nowhere"
rm -f "$T"/r*.iso

# --- item 5: names equal on FAT once upcased beyond ASCII, in Joliet, Rock Ridge and UDF
rm -rf "$x"; mkdir -p "$x/Obst"
printf 'A' >"$x/Obst/Äpfel.txt"; printf 'a' >"$x/Obst/äpfel.txt"
"$MKISO" "$T/c.iso" --wim-mb 1 --add "$x"
refused "joliet Äpfel/äpfel" "$T/c.iso" '/Obst: two entries named "Äpfel.txt" and "äpfel.txt" (FAT ignores case)'
"$MKISO" "$T/c.iso" --fs udf --wim-mb 1 --add "$x"
refused "udf Äpfel/äpfel" "$T/c.iso" '/Obst: two entries named "Äpfel.txt" and "äpfel.txt"'
rm -rf "$x"; mkdir -p "$x"
printf 'S' >"$x/Σigma"; printf 's' >"$x/σigma"
"$MKISO" "$T/c.iso" --fs iso --wim-mb 1 --add "$x"
refused "rock ridge Σigma/σigma" "$T/c.iso" '/: two entries named "Σigma" and "σigma" (FAT ignores case)'
# names that differ in a way FAT keeps apart still build: ß is not SS, accents are not case
rm -rf "$x"; mkdir -p "$x"
printf '1' >"$x/Straße.txt"; printf '2' >"$x/STRASSE.txt"; printf '3' >"$x/resume.txt"; printf '4' >"$x/résumé.txt"
"$MKISO" "$T/c.iso" --wim-mb 1 --add "$x" --tree "$T/ctree"
expect_rc "distinct names: builds" 0 "$DARTDUP" build "$T/c.iso" -o "$T/c.img" --raw -q
same_tree "distinct names: every one on the stick" "$T/c.img" 1048576 "$T/ctree" rr_moved
rm -f "$T/c.img"

# --- names Windows cannot hold: device names
rm -rf "$x"; mkdir -p "$x/tools"; printf 'n' >"$x/tools/nul.txt"
"$MKISO" "$T/c.iso" --wim-mb 1 --add "$x"
refused "device name nul.txt" "$T/c.iso" 'file name "nul.txt" is a device name on Windows'
rm -f "$T/c.iso"

# --- item 7: a big tree, read by directory extent: 3000 long names in one folder (short names ~1 to
# ~3000 on one basis), 40 x 40 nested folders, each with a file; Joliet (xorriso), Rock Ridge only
# (xorriso), Joliet from genisoimage. Every file, name and byte compared, fsck.fat clean.
rm -rf "$x"; mkdir -p "$x/Many Files"
python3 - "$x" <<'PY'
import os, sys
root = sys.argv[1]
for i in range(3000):
    open(f"{root}/Many Files/A Long File Name Number {i:04d}.txt", "w").write(str(i))
for i in range(40):
    for j in range(40):
        d = f"{root}/Tree/Branch {i:02d}/Leaf {j:02d}"
        os.makedirs(d)
        open(f"{d}/f{i}-{j}.dat", "w").write(f"{i} {j}")
PY
for fs in joliet iso genjoliet; do
	"$MKISO" "$T/big.iso" --fs "$fs" --wim-mb 1 --add "$x" --tree "$T/bigtree"
	expect_rc "big tree ($fs): builds" 0 "$DARTDUP" build "$T/big.iso" -o "$T/big.img" --raw -q
	same_tree "big tree ($fs): every file, name and byte on the stick" "$T/big.img" 1048576 "$T/bigtree" rr_moved
	dd if="$T/big.img" of="$T/vol" bs=1M skip=1 status=none
	check "big tree ($fs): fsck.fat -n clean (short names unique)" sh -c "fsck.fat -n '$T/vol' >'$T/fsck' 2>&1 && ! grep -qiE 'duplicate|differ|wrong|invalid' '$T/fsck'"
	rm -f "$T/big.img" "$T/big.iso" "$T/vol"
done
