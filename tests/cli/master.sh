#!/usr/bin/env bash
# `dartdup master` (issue 15 item 1): a master stick image, MBR + FAT32 at 1 MiB holding DARTDUP/ with the
# image, firmware.dfi and batch.conf, read back with mtools; every package checked first (a damaged or
# foreign one, a bundle given as the image, a bad batch.conf: exit 2, nothing written); the output judged
# by the door (never /dev). Then the stick's files, as the board sees them mounted, go through the sim
# board: the image is stored, and the export files written back onto the FAT are read with mtools.
. tests/lib.sh

M() { "$DARTDUP" master "$@"; }
fat() { printf 'mtools_skip_check=1\ndrive x: file="%s" offset=1048576\n' "$1" >"$T/mtoolsrc"; }
mt() { MTOOLSRC=$T/mtoolsrc "$@"; }

"$DARTDUP" keygen -o "$T/depot" >/dev/null 2>&1 && "$DARTDUP" keygen -o "$T/rogue" >/dev/null 2>&1 ||
	{ not_ok "keygen"; exit 0; }
make_image "$T/a.img" $((3 * 1024 * 1024 + 5)) 21
"$DARTDUP" pack "$T/a.img" -o "$T/depot-image.dfi" --block-size 64K --key "$T/depot.key" --name "depot image" \
	>/dev/null 2>&1 || { not_ok "pack"; exit 0; }
"$DARTDUP" pack "$T/a.img" -o "$T/rogue.dfi" --block-size 64K --key "$T/rogue.key" --name "rogue" >/dev/null 2>&1
head -c 100000 /dev/urandom >"$T/payload"
"$DARTDUP" pack "$T/payload" -o "$T/fw.dfi" --block-size 64K --key "$T/depot.key" \
	--name "dartdupd-firmware sim 9.9.9" >/dev/null 2>&1 || { not_ok "pack bundle"; exit 0; }
cp "$T/depot-image.dfi" "$T/damaged.dfi"
printf '\x00\xff' | dd of="$T/damaged.dfi" bs=1 seek=$(( $(stat -c %s "$T/damaged.dfi") - 70000 )) conv=notrunc 2>/dev/null
printf 'batch = WO-77\noperator = Cy\nprobe = no\ntime = 2026-12-01T07:00:00Z\n' >"$T/batch.conf"

# --- a stick image --------------------------------------------------------------------------------
expect_rc "master: image, bundle and batch" 0 M "$T/stick.img" --image "$T/depot-image.dfi" --firmware "$T/fw.dfi" \
	--batch "$T/batch.conf" --pubkey "$T/depot.pub"
out_has "says what it wrote" "DARTDUP/depot-image.dfi, firmware.dfi, batch.conf"
check "an MBR with one FAT32 (LBA) partition at 1 MiB" python3 - "$T/stick.img" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read(512)
assert d[510:512] == b"\x55\xaa"
boot, ptype, lba, n = d[446], d[446 + 4], *struct.unpack("<II", d[446 + 8:446 + 16])
assert ptype == 0x0C and lba == 2048 and n > 0 and boot == 0, (ptype, lba, n)
assert all(b == 0 for b in d[446 + 16:510]), "one partition only"
PY
fat "$T/stick.img"
expect_rc "mdir lists the folder" 0 mt mdir -b x:/DARTDUP
check "the folder holds the three files" test "$(sed 's|.*/||' "$T/out" | sort | tr '\n' ' ')" = "batch.conf depot-image.dfi firmware.dfi "
expect_rc "mtype batch.conf" 0 mt mtype x:/DARTDUP/batch.conf
check "batch.conf as given" cmp -s "$T/out" "$T/batch.conf"
mt mcopy -n x:/DARTDUP/depot-image.dfi "$T/back.dfi" >/dev/null 2>&1
check "the image reads back byte for byte" cmp -s "$T/back.dfi" "$T/depot-image.dfi"
mt mcopy -n x:/DARTDUP/firmware.dfi "$T/back-fw.dfi" >/dev/null 2>&1
check "the bundle reads back byte for byte" cmp -s "$T/back-fw.dfi" "$T/fw.dfi"
expect_rc "the same inputs make the same bytes" 0 M "$T/stick2.img" --image "$T/depot-image.dfi" --firmware "$T/fw.dfi" \
	--batch "$T/batch.conf" --pubkey "$T/depot.pub"
check "deterministic" cmp -s "$T/stick.img" "$T/stick2.img"
expect_rc "--size" 0 M "$T/big.img" --image "$T/depot-image.dfi" --pubkey "$T/depot.pub" --size 64M
check "--size: the image is that size" test "$(stat -c %s "$T/big.img")" -eq $((64 << 20))

# --- refused: nothing written ---------------------------------------------------------------------
refused() { # NAME TEXT ARGS...: exit 2, one line with TEXT, no output file
	local name=$1 text=$2
	shift 2
	rm -f "$T/x.img"
	expect_rc "$name: exit 2" 2 M "$T/x.img" "$@"
	out_has "$name: says why" "$text"
	check "$name: nothing written" test ! -e "$T/x.img"
}
refused "a damaged package" "damaged" --image "$T/damaged.dfi" --pubkey "$T/depot.pub"
refused "a foreign key" "signed by another key" --image "$T/rogue.dfi" --pubkey "$T/depot.pub"
refused "a bundle as the image" "a firmware bundle, not an image" --image "$T/fw.dfi" --pubkey "$T/depot.pub"
refused "an image as the bundle" "not a firmware bundle" --image "$T/depot-image.dfi" --firmware "$T/depot-image.dfi" \
	--pubkey "$T/depot.pub"
echo "sanitize = maybe" >"$T/bad.conf"
refused "a bad batch.conf" "bad.conf:1: sanitize must be yes or no" --image "$T/depot-image.dfi" --batch "$T/bad.conf" \
	--pubkey "$T/depot.pub"
refused "not a package" "" --image "$T/batch.conf" --pubkey "$T/depot.pub"
refused "--size too small" "--size: at least" --image "$T/depot-image.dfi" --pubkey "$T/depot.pub" --size 2M
expect_rc "--size not a size" 2 M "$T/x.img" --image "$T/depot-image.dfi" --pubkey "$T/depot.pub" --size 12Q
expect_rc "no --pubkey: usage" 2 M "$T/x.img" --image "$T/depot-image.dfi"
expect_rc "no --image: usage" 2 M "$T/x.img" --pubkey "$T/depot.pub"
for dev in /dev/vda /dev/sda /dev/null; do
	expect_rc "$dev refused" 2 M "$dev" --image "$T/depot-image.dfi" --pubkey "$T/depot.pub"
	out_has "$dev: refused by the door" "refused"
done
cp "$T/depot-image.dfi" "$T/in.dfi"
expect_rc "an input as OUT refused" 2 M "$T/in.dfi" --image "$T/in.dfi" --pubkey "$T/depot.pub"
check "the input is untouched" cmp -s "$T/in.dfi" "$T/depot-image.dfi"
expect_rc "a folder as OUT refused" 2 M "$T" --image "$T/depot-image.dfi" --pubkey "$T/depot.pub"

# --- the board takes the stick: its files, as the board mounts them, on the sim board ----------------
mkdir -p "$T/mnt"
mt mcopy -s -n x:/DARTDUP "$T/mnt/" >/dev/null 2>&1
rm -f "$T/mnt/DARTDUP/firmware.dfi" # a bundle for the sim board would restart nothing here; the image is the point
head -c $((4 << 20)) /dev/urandom >"$T/p1"
start_sim_board "$T/s" --store "$T/store" --pubkey "$T/depot.pub" --serial B7 --port "$T/p1" --port "$T/mnt" \
	--master 2
check "the board takes the master stick" grep -q "\[2 MASTER-OK\]" "$T/lights"
check "its image is the stored image" cmp -s "$T/store/image.dfi" "$T/depot-image.dfi"
stop_sim_board "$SIM_PID"
mt mcopy -n "$T/mnt/DARTDUP/audit-B7.csv" "$T/mnt/DARTDUP/audit-B7.jsonl" x:/DARTDUP/ >/dev/null 2>&1
expect_rc "the export reads back with mtools (mtype)" 0 mt mtype x:/DARTDUP/audit-B7.csv
out_has "the CSV's header" "seq,board,time,time_source,port_number"
expect_rc "mdir lists the export files" 0 mt mdir -b x:/DARTDUP
out_has "the JSONL export" "audit-B7.jsonl"
