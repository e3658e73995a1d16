# dartdup build reads UDF written by the Linux kernel (mkudffs + mount + cp), the layouts libudf 2.1.0 gets
# wrong (FACTS 1): a directory of 150 entries spanning several blocks, and small directories whose entries the
# kernel embeds in the directory's own file entry. This host's kernel has no UDF: the guest writes the volume
# onto a stick, the host builds a stick image from the stick's backing file and compares every file.
VM_TIMEOUT=420   # copying over 9p under TCG is slow on a loaded machine

sticks() {
	stick u 96M
	# the files to copy: the DaRT-style sample tree, plus the layouts that matter
	"$VM_REPO/scripts/make-sample-iso" "$VM_OUT/sample.iso" --tree "$VM_SHARE/tree" --wim-mb 2 || return 1
	rm -f "$VM_OUT/sample.iso"
	mkdir -p "$VM_SHARE/tree/Big Directory" "$VM_SHARE/tree/tiny" "$VM_SHARE/tree/tiny/nested small"
	local i
	for i in $(seq 1 150); do
		printf 'file %d\n' "$i" >"$VM_SHARE/tree/Big Directory/A fairly long file name number $i.txt"
	done
	echo one >"$VM_SHARE/tree/tiny/only.txt"
	echo two >"$VM_SHARE/tree/tiny/nested small/x"
	ls -d "$VM_MODDIR" >"$VM_SHARE/moddir"
}

guest() {
	local moddir d m
	moddir=$(cat "$VM_SHARE/moddir")
	for m in lib/crc-itu-t drivers/cdrom/cdrom fs/udf/udf; do
		insmod "$moddir/kernel/$m.ko" 2>&1 | grep -v "File exists" | sed "s/^/# /" || true
	done
	if ! grep -qw udf /proc/filesystems; then not_ok "kernel has UDF"; return; fi
	ok "kernel has UDF"
	d=$(stick_dev "$(stick_serial u)") || { not_ok "stick u present"; return; }
	check "mkudffs (UDF 1.02, 2048-byte blocks)" mkudffs -b 2048 --media-type=hd --udfrev=0x0102 --label=DART70 "$d"
	mkdir -p /mnt/udf
	if ! mount -t udf -o bs=2048 "$d" /mnt/udf; then not_ok "mount -t udf"; return; fi
	ok "mount -t udf"
	check "copy the tree in with cp" cp -r "$VM_SHARE/tree/." /mnt/udf/
	check "umount" umount /mnt/udf
	sync
}

after() {
	local img=$VM_OUT/udf.img out=$VM_OUT/readback rc layouts
	# a guest that did not finish is reported by the rig; its half-written volume proves nothing
	[ -e "$VM_SHARE/from-guest/DONE" ] || return 0
	# prove the volume has the layouts in question: directory file entries (tag 261, ICB file type 4) with
	# embedded data (allocation type 3), and one longer than a block
	layouts=$(python3 - "$(stick_file u)" <<'PY'
import struct, sys
emb = big = 0
with open(sys.argv[1], "rb") as f:
    data = f.read()
for off in range(0, len(data), 2048):
    b = data[off:off + 2048]
    if len(b) < 64 or struct.unpack_from("<H", b)[0] != 261 or b[27] != 4:
        continue
    emb += (struct.unpack_from("<H", b, 34)[0] & 7) == 3
    big += struct.unpack_from("<Q", b, 56)[0] > 2048
print(emb, big)
PY
)
	[ "${layouts%% *}" -gt 0 ] && ok "the volume has directories embedded in their ICB (${layouts%% *})" ||
		not_ok "no embedded directory on the volume ($layouts)"
	[ "${layouts##* }" -gt 0 ] && ok "the volume has multi-block directories (${layouts##* })" ||
		not_ok "no multi-block directory on the volume ($layouts)"
	"$DARTDUP" build "$(stick_file u)" -o "$img" --raw >"$VM_OUT/build.log" 2>&1
	rc=$?
	[ "$rc" = 0 ] && ok "build from kernel-written UDF" || { not_ok "build from kernel-written UDF: $(head -c 300 "$VM_OUT/build.log")"; return; }
	grep -q "UDF 1.02" "$VM_OUT/build.log" && ok "names read from UDF 1.02" || not_ok "file system: $(head -1 "$VM_OUT/build.log")"
	printf 'mtools_skip_check=1\ndrive x: file="%s" offset=1048576\n' "$img" >"$VM_OUT/mtoolsrc"
	rm -rf "$out"; mkdir -p "$out"
	MTOOLSRC=$VM_OUT/mtoolsrc mcopy -s -n -m -Q "x:/*" "$out/" >/dev/null 2>&1
	if diff -r "$VM_SHARE/tree" "$out" >"$VM_OUT/diff" 2>&1; then
		ok "every file of the kernel-written UDF is on the stick, same names and bytes"
	else
		not_ok "UDF files differ: $(head -c 300 "$VM_OUT/diff")"
	fi
	[ "$(ls "$out/Big Directory" | wc -l)" = 150 ] && ok "multi-block directory: all 150 entries" ||
		not_ok "multi-block directory: $(ls "$out/Big Directory" | wc -l) entries"
	[ -f "$out/tiny/nested small/x" ] && ok "directories embedded in their ICB are read" || not_ok "embedded directory lost"
	rm -rf "$out" "$img"
}
