# The master stick on the real board (issue 15 item 1): `dartdup master` on the host prepares a stick image
# (MBR + FAT32, DARTDUP/ with a signed image and batch.conf); in the guest dartdupd --board linux-gadget runs with
# board.conf's `master = 2`; the emulated stick is plugged into slot 2 (QMP device_add, a real hotplug through
# udev): the board mounts it (vfat), stores the image, takes the batch file's time, exports the audit. A job
# writes slot 1 only. The board restarts with the stick in (a power cycle; QEMU drops a drive with its device,
# so the same stick cannot be plugged twice): the job's record is exported onto it before it serves. Back on
# the host, mtools reads the export from the stick's backing file and `dartdup audit verify` checks it.
VM_TIMEOUT=420
. "$VM_REPO/tests/vm/lib/board.sh"

sticks() {
	stick a 32M hub fill=random
	stick m 48M hub later
	"$DARTDUP" keygen -o "$VM_SHARE/depot" >/dev/null 2>&1 || return 1
	python3 -c 'import random,sys; r=random.Random(9); sys.stdout.buffer.write(bytes(r.getrandbits(8) for _ in range(2 << 20)) + bytes(1 << 20))' >"$VM_SHARE/a.img"
	"$DARTDUP" pack "$VM_SHARE/a.img" -o "$VM_SHARE/a.dfi" --block-size 64K --key "$VM_SHARE/depot.key" \
		--name "master sample" >/dev/null 2>&1 || return 1
	printf 'batch = WO-VM-1\noperator = vm rig\ntime = 2026-11-29T10:00:00Z\n' >"$VM_SHARE/batch.conf"
	"$DARTDUP" master "$(stick_file m)" --image "$VM_SHARE/a.dfi" --batch "$VM_SHARE/batch.conf" \
		--pubkey "$VM_SHARE/depot.pub" --size 48M >"$VM_SHARE/master.out" 2>&1 || return 1
	cp "$(stick_file m)" "$VM_SHARE/master-before.img"
	board_find_modules fat vfat nls_cp437 nls_ascii nls_utf8
}

host() {
	await BOOTED 180 || return
	await PLUG1 240 || return
	check "QMP device_add plugs the master stick into slot 2" plug m
	await DONE 300
}

# --- guest side (the board: lib/board.sh) ---------------------------------------------------------------
log_has() { grep -q -- "$1" /tmp/dartdupd.log; }
not_mounted() { ! grep -q " $store/master " /proc/mounts; }

guest() {
	local conf=/tmp/board.conf store=/tmp/store
	check "gadget and vfat modules load" board_modules || return
	board_conf "$conf" a m -- "master = 2"
	board_serve "$conf" "dartdupd --board linux-gadget serves with master = 2" || return
	check "no image before the master stick" test ! -e "$store/image.dfi"

	say PLUG1
	if ! check "the master stick is read once plugged in (udev, mount vfat)" \
		wait_for 180 log_has "audit record(s) exported"; then
		sed 's/^/# dartdupd: /' /tmp/dartdupd.log | tail -8
		dmesg | tail -8 | sed 's/^/# dmesg: /'
	fi
	check "its image is the stored image" cmp -s "$store/image.dfi" "$VM_SHARE/a.dfi"
	check "the daemon says it stored it" log_has "master stick: stored the image master sample"
	check "the clock, unset, was set from batch.conf" log_has "clock set from the master stick: 2026-11-29T10:00:00Z"
	check "the stick is unmounted again" not_mounted
	check "the first export had nothing to export" log_has "master stick: 0 audit record(s) exported"

	local out
	out=$(B start --wait 2>&1)
	check "a job writes slot 1, never the master slot: $(echo "$out" | head -1)" grep -q "started on 1 port(s)" <<<"$out"
	check "slot 1 holds the image" cmp -s -n $((3 << 20)) "$VM_SHARE/a.img" "$(stick_dev "$(stick_serial a)")"

	kill "$BOARD_PID"; wait "$BOARD_PID"
	# as the board's service restarts (dartdupd.service): gadget-setup down, up, then the program
	gadget_setup down "$conf"
	gadget_setup up "$conf"
	board_start "$conf"
	check "restarted with the master stick in: it is read before the board serves" board_ready 120
	check "the job's record is exported" log_has "master stick: 1 audit record(s) exported"
	check "the stick is unmounted after the export" not_mounted
	check "the mark advanced" test "$(cat "$store/audit.exported")" = 1
	cp "$store/audit.pub" "$VM_SHARE/board.pub"
	echo "$SERIAL" >"$VM_SHARE/serial"
	kill "$BOARD_PID"; wait "$BOARD_PID"
	gadget_setup down "$conf"
}

after() {
	local img serial rc=/tmp/dartdup-vm-mtoolsrc.$$
	img=$(stick_file m)
	serial=$(cat "$VM_SHARE/serial" 2>/dev/null) || { not_ok "after: no board serial from the guest"; return; }
	printf 'mtools_skip_check=1\ndrive x: file="%s" offset=1048576\n' "$img" >"$rc"
	MTOOLSRC=$rc mdir -b x:/DARTDUP >"$VM_OUT/mdir.out" 2>&1
	check "after: mdir lists the export files on the stick" grep -q "audit-$serial.csv" "$VM_OUT/mdir.out"
	MTOOLSRC=$rc mtype x:/DARTDUP/audit-"$serial".csv >"$VM_OUT/export.csv" 2>&1
	check "after: the CSV (mtype) has its header and the job's record" python3 - "$VM_OUT/export.csv" <<-'PY'
	import csv, sys
	rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8-sig", newline="")))
	assert len(rows) == 1 and rows[0]["result"] == "pass" and rows[0]["port_number"] == "1", rows
	PY
	MTOOLSRC=$rc mcopy -n x:/DARTDUP/audit-"$serial".jsonl "$VM_OUT/export.jsonl" >/dev/null 2>&1
	check "after: the JSONL export verifies against the board's key" \
		"$DARTDUP" audit verify "$VM_OUT/export.jsonl" --board-key "$VM_SHARE/board.pub"
	MTOOLSRC=$rc mcopy -n x:/DARTDUP/a.dfi "$VM_OUT/a.dfi" >/dev/null 2>&1
	check "after: the stick's image is untouched" cmp -s "$VM_OUT/a.dfi" "$VM_SHARE/a.dfi"
	rm -f "$rc"
}
