# The board at work, in emulation (sourced by tests/board-image/suite; issue 14 item 5): the very image
# file boots under qemu-system-aarch64 -M virt (TCG) as the card, with three reused sticks (random bytes)
# on an emulated xHCI, a USB keyboard whose Enter key board.conf names as the button, and the gadget on
# dummy_hcd. The board comes up by itself; an arm64 `dartdup board` in the same guest (the test's folder
# over 9p, started from the kernel command line: tests/board-image/guest.sh) plays the PC. Four boots of
# the same card, each a phase:
#   first              load a signed image, press the button (QMP send-key), every stick passes, the log
#                      reads back; then a second load starts and the host cuts the power mid-load
#   after-load-cut     the old image is intact, the log too; the load resumes and completes; then a load
#                      stops at the crash point after the install's rename and the power is cut there
#   after-install-cut  one whole image (old or new) is served; a job stops at the crash point in the
#                      middle of an audit append (half a record on disk) and the power is cut there
#   after-audit-cut    the log reads back, whole records only; the daemon cut the torn one off
# Power cuts are SIGKILL of QEMU with the card's disk at cache=none (what the guest wrote is on the file).
# BOARD_IMAGE_WORK=0 leaves this part out; it needs `make dartdup-arm64`.

work_qemu() { # work_qemu CARD CONSOLE: start the board, its pid in $qpid
	local cmdline="console=ttyAMA0 root=PARTUUID=dda7d0b1-02 ro rootwait panic=-1 mitigations=off"
	cmdline+=" modules-load=dummy_hcd systemd.journald.forward_to_console=1 systemd.show_status=1"
	cmdline+=" systemd.unit=multi-user.target systemd.wants=kernel-command-line.service"
	cmdline+=" systemd.run=\"/bin/sh /boot/firmware/dartdup-test/run.sh\""
	cmdline+=" systemd.run_success_action=poweroff systemd.run_failure_action=poweroff"
	rm -f "$W/qmp.sock"
	qemu-system-aarch64 -machine virt -cpu cortex-a72 -accel tcg -smp 2 -m 1024 -nodefaults -no-user-config \
		-display none -no-reboot -kernel "$T/boot/vmlinuz" -initrd "$T/boot/initrd.img" -append "$cmdline" \
		-drive "if=none,id=card,file=$1,format=raw,cache=none" -device virtio-blk-pci,drive=card,addr=0x1 \
		-device qemu-xhci,id=xhci,addr=0x2 \
		-drive "if=none,id=s1,file=$W/stick1.img,format=raw" -device usb-storage,bus=xhci.0,port=1,drive=s1,removable=on,serial=WORKSTICK1 \
		-drive "if=none,id=s2,file=$W/stick2.img,format=raw" -device usb-storage,bus=xhci.0,port=2,drive=s2,removable=on,serial=WORKSTICK2 \
		-drive "if=none,id=s3,file=$W/stick3.img,format=raw" -device usb-storage,bus=xhci.0,port=3,drive=s3,removable=on,serial=WORKSTICK3 \
		-device usb-kbd,bus=xhci.0,port=4 \
		-fsdev "local,id=share,path=$VM_SHARE,security_model=none" -device virtio-9p-pci,fsdev=share,mount_tag=share,addr=0x3 \
		-qmp "unix:$W/qmp.sock,server=on,wait=off" -serial "file:$2" >"$W/qemu.log" 2>&1 &
	qpid=$!
}
vm_running() { kill -0 "$qpid" 2>/dev/null; }
cut_power() { kill -KILL "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null; }

# work_boot PHASE CARD: one boot; answers the guest's PRESS, CUT, CUT-AT and DONE; prints its TAP lines
work_boot() {
	local phase=$1 card=$2 console=$W/console.$1.log end point how=""
	echo "$phase" >"$VM_SHARE/phase"
	rm -rf "$VM_SHARE/from-guest" "$VM_SHARE/from-host"
	mkdir -p "$VM_SHARE/from-guest" "$VM_SHARE/from-host"
	: >"$VM_SHARE/tap.$phase"
	: >"$console"
	work_qemu "$card" "$console"
	end=$((SECONDS + ${BOARD_IMAGE_WORK_TIMEOUT:-900}))
	while vm_running; do
		if [ -e "$VM_SHARE/from-guest/PRESS" ] && [ ! -e "$VM_SHARE/from-host/PRESSED" ]; then
			python3 tests/vm/lib/qmp.py "$W/qmp.sock" send-key '{"keys": [{"type": "qcode", "data": "ret"}]}' >/dev/null &&
				say PRESSED
		fi
		if [ -e "$VM_SHARE/from-guest/CUT" ]; then
			cut_power; how="power cut mid-load ($(heard CUT) bytes of big.dfi on the board)"; break
		fi
		if [ -e "$VM_SHARE/from-guest/CUT-AT" ]; then
			point=$(heard CUT-AT)
			if grep -q "crash point $point reached" "$console"; then
				cut_power; how="power cut at the crash point $point"; break
			fi
		fi
		if [ -e "$VM_SHARE/from-guest/DONE" ] && [ ! -e "$VM_SHARE/from-guest/CUT-AT" ]; then
			await_exit 120 || cut_power
			how="powered off"; break
		fi
		if [ "$SECONDS" -ge "$end" ]; then cut_power; how="timed out"; break; fi
		nap 0.2
	done
	vm_running && cut_power
	cp "$console" "$OUT/work-console.$phase.log"
	WORK_HOW=${how:-QEMU exited}
	echo "# board at work, $phase: $WORK_HOW; console $OUT/work-console.$phase.log"
	cat "$VM_SHARE/tap.$phase"
	grep -q '^ok - ' "$VM_SHARE/tap.$phase" || not_ok "board at work: $phase: the guest reported nothing (see the console)"
}
await_exit() { local d=$((SECONDS + $1)); while vm_running; do [ "$SECONDS" -ge "$d" ] && return 1; nap 0.2; done; }

# work_share: the guest's folder: the arm64 tool with the libraries the image lacks, the scripts, the
# packages (signed with the key the card is provisioned with)
work_share() {
	local arm=$BUILD/arm64/bin/dartdup lib
	mkdir -p "$VM_SHARE/lib"
	cp "$arm" "$VM_SHARE/dartdup"
	# every library it needs but the C library's own (the image has those, the same release)
	LD_TRACE_LOADED_OBJECTS=1 "$arm" 2>/dev/null | awk '$2 == "=>" { print $3 }' |
		grep -vE '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\.so' | while read -r lib; do
		cp -L "$lib" "$VM_SHARE/lib/"
	done
	cp tests/vm/lib/common.sh tests/board-image/guest.sh "$VM_SHARE/"
	"$DARTDUP" keygen -o "$W/depot" >/dev/null 2>&1 || return 1
	python3 -c 'import random,sys; r=random.Random(14); sys.stdout.buffer.write(bytes(r.getrandbits(8) for _ in range(3 << 20)) + bytes(1 << 20))' >"$W/a.img"
	head -c $((64 << 20)) /dev/urandom >"$W/big.img"
	head -c $((2 << 20)) /dev/urandom >"$W/c.img"
	"$DARTDUP" pack "$W/a.img" -o "$VM_SHARE/a.dfi" --block-size 64K --key "$W/depot.key" --name "sample A" >/dev/null &&
		"$DARTDUP" pack "$W/big.img" -o "$VM_SHARE/big.dfi" --key "$W/depot.key" --name "big B" >/dev/null &&
		"$DARTDUP" pack "$W/c.img" -o "$VM_SHARE/c.dfi" --key "$W/depot.key" --name "sample C" >/dev/null
}

# work_card CARD: a copy of the image as a card 384 MiB bigger, provisioned the way a depot does it (mcopy
# onto the FAT partition: the board.conf, the key), plus the test's launcher
work_card() {
	local card=$1 off kbd=platform-4010000000.pcie-pci-0000:00:02.0-usb-0:4:1.0-event-kbd
	cp --sparse=always "$IMG" "$card"
	truncate -s $(($(stat -c %s "$IMG") + 384 * 1024 * 1024)) "$card"
	cat >"$W/board.conf" <<-CONF
		store = /var/lib/dartdup/store
		pubkey = /boot/firmware/dartdup/depot.pub
		slot.1 = platform-4010000000.pcie-pci-0000:00:02.0-usb-0:1
		slot.2 = platform-4010000000.pcie-pci-0000:00:02.0-usb-0:2
		slot.3 = platform-4010000000.pcie-pci-0000:00:02.0-usb-0:3
		button = input /dev/input/by-path/$kbd KEY_ENTER
		usb.serial = BOARDIMG0001
		usb.udc = dummy_udc.0
	CONF
	cat >"$W/run.sh" <<-'RUN'
		#!/bin/sh
		# the power-cut test's launcher (tests/board-image/at-work.sh): the test's folder over 9p, then its script
		modprobe -a 9pnet_virtio 9p
		mkdir -p /run/dartdup-test
		mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 share /run/dartdup-test || exit 1
		VM_SHARE=/run/dartdup-test exec /bin/bash /run/dartdup-test/guest.sh
	RUN
	off=$(($(part 1 start) * 512))
	MTOOLS_SKIP_CHECK=1 mcopy -o -i "$card@@$off" "$W/board.conf" ::/dartdup/board.conf &&
		MTOOLS_SKIP_CHECK=1 mcopy -o -i "$card@@$off" "$W/depot.pub" ::/dartdup/depot.pub &&
		MTOOLS_SKIP_CHECK=1 mmd -i "$card@@$off" ::/dartdup-test &&
		MTOOLS_SKIP_CHECK=1 mcopy -o -i "$card@@$off" "$W/run.sh" ::/dartdup-test/run.sh
}

# stick_holds N: stick N holds a.img byte for byte over the image's range
stick_holds() { cmp -s -n "$(stat -c %s "$W/a.img")" "$W/a.img" "$W/stick$1.img"; }

work_test() {
	if [ "${BOARD_IMAGE_WORK:-1}" = 0 ]; then ok "board at work # skip BOARD_IMAGE_WORK=0"; return; fi
	command -v qemu-system-aarch64 >/dev/null || { ok "board at work # skip no qemu-system-aarch64"; return; }
	if [ ! -x "$BUILD/arm64/bin/dartdup" ]; then
		ok "board at work # skip no $BUILD/arm64/bin/dartdup (make dartdup-arm64)"
		return
	fi
	W=$T/work
	VM_SHARE=$W/share
	VM_SIDE=host
	mkdir -p "$VM_SHARE"
	. tests/vm/lib/common.sh # say, await, heard, nap; its TAP helpers give way to the suite's names
	ok() { echo "ok - board-image: $*"; }
	not_ok() { echo "not ok - board-image: $*"; }
	check() { local n=$1; shift; if "$@"; then ok "$n"; else not_ok "$n"; fi; }
	local card=$W/card.img t0=$SECONDS i
	work_share || { not_ok "board at work: cannot make the packages and the guest's folder"; return; }
	work_card "$card" || { not_ok "board at work: cannot provision the card's FAT"; return; }
	for i in 1 2 3; do head -c $((32 << 20)) /dev/urandom >"$W/stick$i.img"; done

	work_boot first "$card"
	check "board at work: the power was cut mid-load" grep -q '^power cut mid-load' <<<"$WORK_HOW"
	for i in 1 2 3; do
		check "board at work: stick $i holds the image byte for byte (it held random bytes before)" stick_holds "$i"
	done
	check "board at work: the audit records name each stick's serial" \
		test "$(grep -oE '"serial":"WORKSTICK[123]"' "$VM_SHARE/log1.json" | sort -u | wc -l)" -eq 3
	work_boot after-load-cut "$card"
	check "board at work: the power was cut at the crash point after the install's rename" \
		test "$WORK_HOW" = "power cut at the crash point store-install-after-rename"
	work_boot after-install-cut "$card"
	check "board at work: the power was cut at the crash point in the middle of an audit append" \
		test "$WORK_HOW" = "power cut at the crash point audit-append"
	work_boot after-audit-cut "$card"
	check "board at work: after the cut mid-append every record read back is a whole JSON object" python3 -c '
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
assert lines and all(isinstance(json.loads(l), dict) for l in lines)' "$VM_SHARE/log4.json"
	check "board at work: the daemon cut the torn record off at the next start" \
		grep -q 'torn last record' "$VM_SHARE/journal4.txt"
	echo "# board at work: four boots in $((SECONDS - t0)) s"
}
