# The real board end to end through the kernel's USB stack: in the guest, dartdupd --board linux-gadget
# shows its FunctionFS gadget through dummy_hcd (UDC dummy_udc.0), its slots are emulated usb-storage sticks
# behind the emulated hub, and `dartdup board --serial` in the same guest drives it over libusb. The PC side
# reads the Microsoft OS descriptors (what Windows reads to bind WinUSB by itself). A signed
# image is loaded; the button (QMP send-key: a real key event on the guest's AT keyboard, read by the board
# from its input device) runs a job where every slot passes; the log is read back. Then the faults: a stick
# pulled mid-job (QMP device_del) fails alone while the other slots pass, and the PC dropping the board in the
# middle of a load (the port's authorized=0: the board sees DISABLE) leaves the board serving its old image;
# the next load resumes where the broken one stopped. The sticks are reused ones (random bytes before the guest
# starts; the image ends with a zero MiB): after each passing job they equal the image byte for byte.
VM_TIMEOUT=420
. "$VM_REPO/tests/vm/lib/board.sh"

sticks() {
	stick a 32M hub fill=random
	stick b 32M hub fill=random
	stick c 32M hub wbps=700000 fill=random
	# keys and packages are made on the host (fast), the guest only moves them
	"$DARTDUP" keygen -o "$VM_SHARE/depot" >/dev/null 2>&1 || return 1
	python3 -c 'import random,sys; r=random.Random(7); sys.stdout.buffer.write(bytes(r.getrandbits(8) for _ in range(3 << 20)) + bytes(1 << 20))' >"$VM_SHARE/a.img"
	"$DARTDUP" pack "$VM_SHARE/a.img" -o "$VM_SHARE/a.dfi" --block-size 64K --key "$VM_SHARE/depot.key" \
		--name "sample A" >/dev/null 2>&1 || return 1
	# firmware bundles: this dartdupd with its version strings made another (FW_VERSION, the same length),
	# and a program that never serves (/bin/true: an executable for this CPU that exits at once)
	FW_VERSION=$(python3 - "$DARTDUPD" "$VM_SHARE/fw.bin" "$(cat "$VM_REPO/VERSION")" <<-'PY'
	import sys
	exe, out, v = sys.argv[1], sys.argv[2], sys.argv[3]
	new = "".join(("9" if c != "9" else "8") if c.isdigit() else c for c in v)
	b = open(exe, "rb").read()
	assert b.count(v.encode() + b"\0") >= 1, "version string not found"
	open(out, "wb").write(b.replace(v.encode() + b"\0", new.encode() + b"\0"))
	print(new)
	PY
	) || return 1
	echo "FW_VERSION=$FW_VERSION" >"$VM_SHARE/fw.env"
	"$DARTDUP" pack "$VM_SHARE/fw.bin" -o "$VM_SHARE/fw.dfi" --key "$VM_SHARE/depot.key" \
		--name "dartdupd-firmware linux-gadget $FW_VERSION" >/dev/null 2>&1 || return 1
	"$DARTDUP" pack /bin/true -o "$VM_SHARE/fw-dead.dfi" --key "$VM_SHARE/depot.key" \
		--name "dartdupd-firmware linux-gadget 7.7.7" >/dev/null 2>&1 || return 1
	head -c $((64 << 20)) /dev/urandom >"$VM_SHARE/big.img"
	"$DARTDUP" pack "$VM_SHARE/big.img" -o "$VM_SHARE/big.dfi" --key "$VM_SHARE/depot.key" \
		--name "big B" >/dev/null 2>&1 || return 1
	board_find_modules evdev ledtrig-timer
}

host() {
	await BOOTED 180 || return
	await PRESS 150 || return
	check "QMP send-key presses the board's button" qmp send-key '{"keys": [{"type": "qcode", "data": "ret"}]}'
	await PRESS_STALLED 150 || return
	check "QMP send-key presses the button while a PC reads nothing" \
		qmp send-key '{"keys": [{"type": "qcode", "data": "ret"}]}'
	await PULL 150 || return
	# slot 3 is busy now; under load device_del can take seconds, more than what is left of its job:
	# slowed to a crawl first, the stick is still mid-job when it goes
	check "QMP block_set_io_throttle slows stick c to a crawl" slow c 4096
	check "QMP device_del pulls stick c mid-job" unplug c
	say PULLED
	await DONE 240
}

# --- guest side (the board: lib/board.sh) ---------------------------------------------------------------
led() { cat "/sys/class/leds/$1/brightness"; } # 0 off; max_brightness (1 for a keyboard LED) on

# --- a PC that stops reading its replies (issue 17): the board never waits for it ---------------------
# tests/vm/tools/slow_pc sends 2000 INFO requests in one go and reads none of the replies until told; the
# daemon queues what the gadget's free TX slots take, stops reading that PC once 64 KiB of replies wait,
# and goes on with the button and the job. The old blocking send waited 10 s for the PC, then dropped it.
stalled_pc() {
	local spid in=/tmp/slowpc.in log=/tmp/slowpc.out n=2000 passes tool
	tool=$(dirname "$DARTDUP")/../vmtools/slow_pc
	mkfifo "$in"
	"$tool" "$SERIAL" "$n" <"$in" >"$log" 2>&1 &
	spid=$!
	exec 7>"$in" # slow_pc reads its replies when a line comes here
	check "a PC sends $n requests and reads no reply" wait_for 120 grep -q "^sent $n" "$log" ||
		sed 's/^/# slow_pc: /' "$log"
	# every stick gets other bytes first: the job's pass must be this job's
	local s
	for s in a b c; do
		head -c $((4 << 20)) /dev/urandom | dd of="$(stick_dev "$(stick_serial $s)")" bs=1M oflag=direct \
			status=none
	done
	passes=$(grep -c '"result":"pass"' "$store/audit.log")
	say PRESS_STALLED
	check "with that PC stalled, the button's job writes every slot (3 more pass records)" \
		wait_for 240 sh -c "test \$(grep -c '\"result\":\"pass\"' '$store/audit.log') -ge $((passes + 3))"
	local ok_all=1
	for s in a b c; do
		cmp -s -n $((4 << 20)) "$VM_SHARE/a.img" "$(stick_dev "$(stick_serial $s)")" || ok_all=0
	done
	check "every stick holds the image again (the job ran while the PC read nothing)" test "$ok_all" = 1
	echo go >&7
	exec 7>&-
	wait "$spid"
	check "the stalled PC then gets all $n replies, in order (the board kept its link)" test $? -eq 0
	job=$((job + 1)) # the button ran one more job (faults counts from it)
	sed 's/^/# slow_pc: /' "$log"
	check "dartdupd never gave up on the PC" test -z "$(grep 'not reading' /tmp/dartdupd.log)"
	out=$(B info 2>&1)
	check "the next PC is served as usual" grep -q "linux-gadget $SERIAL" <<<"$out" || echo "# $out"
}

faults() {
	# --- a stick pulled mid-job fails alone ------------------------------------------------------
	B start >/dev/null 2>&1
	job=$((job + 2))
	# slot 3 is throttled: wait until it is writing (its green light blinks: the LED's timer trigger),
	# then have the host pull it
	check "slot 3 writes (busy)" wait_for 60 sh -c "\"$DARTDUP\" board --serial $SERIAL status --json |
		grep -q '\"port\":3,\"state\":\"busy\"'"
	check "slot 3's light while it writes: green blinks (timer trigger), red off" \
		test "$(grep -o '\[timer\]' "/sys/class/leds/$led_green/trigger")$(led "$led_red")" = "[timer]0"
	say PULL
	await PULLED 60
	out=$(B status --watch --json --job "$job" 2>&1)
	echo "$out" | tail -n1 | sed 's/^/# /'
	check "pulled stick: slot 3 fails" grep -q '{"port":3,"state":"fail"' <<<"$(tail -n1 <<<"$out")"
	check "pulled stick: slots 1 and 2 pass" test "$(tail -n1 <<<"$out" | grep -o '"state":"pass"' | wc -l)" -eq 2
	check "slot 3's light after the failure: red on, green off" \
		test "$(led "$led_green")$(led "$led_red")" = 01

	# --- the PC side disconnects during a load: the board keeps its old image ----------------------
	local dev
	dev=$(board_usb_dev)
	B load "$VM_SHARE/big.dfi" >/tmp/load.log 2>&1 &
	local lpid=$! part total
	total=$(stat -c %s "$VM_SHARE/big.dfi")
	part_size() { stat -c %s "$store"/incoming/*.part 2>/dev/null | head -1; }
	# a tight poll of builtins only (a load over dummy_hcd is fast; a program started per poll would
	# miss it), bounded by a deadline
	local deadline=$((SECONDS + 60)) f
	until [ "$SECONDS" -ge "$deadline" ]; do
		for f in "$store"/incoming/image-*.part; do [ -s "$f" ] && break 2; done
	done
	# the PC stops in the middle of the load (so the disconnect cannot come after its end)...
	kill -STOP "$lpid"
	part=$(part_size)
	echo "# disconnect with ${part:-0} of $total bytes on the board"
	check "the disconnect comes mid-load (some bytes, not all, on the board)" \
		test "${part:-0}" -gt 0 -a "${part:-0}" -lt "$total"
	echo 0 >"$dev/authorized" # ...and drops the device: the board sees DISABLE
	kill -CONT "$lpid"
	wait "$lpid"
	check "the interrupted load fails on the PC side" test $? -ne 0
	echo 1 >"$dev/authorized"
	check "the board comes back on the bus" wait_for 30 test -e "$dev/product"
	out=$(wait_for 30 B info >/dev/null 2>&1; B info --json 2>&1)
	check "after the disconnect the board still has its old image" grep -q '"name":"sample A"' <<<"$out" ||
		echo "# $out"
	check "dartdupd survived the disconnect" kill -0 "$BOARD_PID"
	out=$(B load "$VM_SHARE/big.dfi" 2>&1)
	check "the next load resumes where the broken one stopped" grep -q "^resumed at [1-9]" <<<"$out" ||
		echo "# $out"
	check "the resumed load completes, every block verified" grep -q "every block verified" <<<"$out"
	out=$(B info --json 2>&1)
	check "the board now serves the new image" grep -q '"name":"big B"' <<<"$out" || echo "# $out"
}

# --- firmware updates over USB, applied as the board's service does (dartdupd.service) ---------------
# service_restart: what systemd does when dartdupd exits: ExecStopPost gadget-setup down; ExecStartPre
# gadget-setup apply-firmware, gadget-setup up; ExecStart. Sets BOARD_PID; what --apply-firmware said is in
# $applied.
service_restart() {
	gadget_setup down "$conf"
	applied=$(gadget_setup apply-firmware "$conf" /tmp/bin/dartdupd 2>&1)
	echo "# apply: $applied"
	gadget_setup up "$conf"
	board_start "$conf" /tmp/bin/dartdupd
}

firmware_update() {
	local rc upid applied
	. "$VM_SHARE/fw.env"
	B update "$VM_SHARE/fw.dfi" --wait --timeout 120 >/tmp/update.log 2>&1 &
	upid=$!
	wait "$BOARD_PID"
	rc=$?
	check "after an update dartdupd stops with status 3 to have it applied (status $rc)" test "$rc" = 3
	check "dartdupd says why it stopped" \
		grep -q "firmware \"dartdupd-firmware linux-gadget $FW_VERSION\" stored; stopping" /tmp/dartdupd.log
	service_restart
	check "--apply-firmware installs it over the program" cmp -s /tmp/bin/dartdupd "$VM_SHARE/fw.bin"
	check "the previous program is kept as .prev" cmp -s /tmp/bin/dartdupd.prev "$DARTDUPD"
	check "the new program serves" board_ready
	check "serving, the new program ended its trial (no roll-back at the next start)" \
		test ! -e "$store/firmware.trial"
	wait "$upid"
	rc=$?
	sed 's/^/# update: /' /tmp/update.log
	check "dartdup board update --wait: exit 0 once the board serves firmware $FW_VERSION" test "$rc" = 0
	check "update --wait names the firmware the board runs" grep -q "running firmware $FW_VERSION" /tmp/update.log
	out=$(B info --json 2>&1)
	check "after the update the board still serves its image, no firmware pending" \
		grep -q '"name":"big B".*"pending_firmware":null' <<<"$out" || echo "# $out"

	# a bundle whose program never serves (it exits at once): rolled back at the next restart. Its 7.7.7 is
	# older than the running $FW_VERSION: the board takes it only when the PC forces the downgrade
	refused_downgrade() {
		! B update "$VM_SHARE/fw-dead.dfi" >/tmp/update.log 2>&1 &&
			grep -q 'older than the running firmware' /tmp/update.log
	}
	check "an older firmware bundle is refused without --allow-downgrade" refused_downgrade
	B update "$VM_SHARE/fw-dead.dfi" --allow-downgrade --wait --timeout 120 >/tmp/update.log 2>&1 &
	upid=$!
	wait "$BOARD_PID"
	service_restart
	check "the dead program is installed (on trial)" cmp -s /tmp/bin/dartdupd /bin/true
	check "it never serves" test -z "$(timeout 30 head -n1 "$BOARD_FIFO")"
	wait "$BOARD_PID"
	service_restart # systemd's Restart=on-failure
	check "the next start rolls it back" grep -q '"dartdupd-firmware linux-gadget 7.7.7" never served: rolled back' <<<"$applied"
	check "the program is the one that served before" cmp -s /tmp/bin/dartdupd "$VM_SHARE/fw.bin"
	check "it serves again" board_ready
	wait "$upid"
	rc=$?
	sed 's/^/# update: /' /tmp/update.log
	check "update --wait: exit 1, the board runs $FW_VERSION, not 7.7.7" test "$rc" = 1
	check "update --wait says it was refused or rolled back" \
		grep -q "runs firmware $FW_VERSION, not 7.7.7: the bundle was refused or rolled back" /tmp/update.log
}

guest() {
	local conf=/tmp/board.conf store=/tmp/store job out
	check "gadget modules load (udc-core dummy_hcd configfs libcomposite usb_f_fs evdev ledtrig-timer)" \
		board_modules || return
	local kbd=/dev/input/by-path/platform-i8042-serio-0-event-kbd
	wait_for 20 test -e "$kbd" || kbd=$(ls /dev/input/event* | head -1)
	local led_green led_red
	led_green=$(basename "$(ls -d /sys/class/leds/input*::numlock | head -1)")
	led_red=$(basename "$(ls -d /sys/class/leds/input*::capslock | head -1)")
	check "the keyboard's LEDs are in /sys/class/leds ($led_green, $led_red)" test -n "$led_green" -a -n "$led_red"
	# the test board: three slots behind the hub, the AT keyboard's Enter as the button, its Num Lock
	# and Caps Lock LEDs (input-leds: /sys/class/leds) as slot 3's green and red light
	board_conf "$conf" a b c -- "button = input $kbd KEY_ENTER" "light.3 = led $led_green $led_red" \
		"usb.product = dartdup test board"
	# the board's program lives in a writable place: a firmware update replaces it
	mkdir -p /tmp/bin && cp "$DARTDUPD" /tmp/bin/dartdupd
	board_serve "$conf" "dartdupd --board linux-gadget serves" /tmp/bin/dartdupd || return
	if ! check "the gadget enumerates on the PC side (VID 1209)" wait_for 30 board_on_bus; then
		dmesg | tail -20 | sed 's/^/# dmesg: /'
		sed 's/^/# dartdupd: /' /tmp/dartdupd.log | tail -10
	fi
	out=$(B info 2>&1)
	echo "$out" | sed 's/^/# /'
	check "dartdup board info over USB names the linux-gadget board" grep -q "linux-gadget $SERIAL" <<<"$out"
	check "the board has 3 slots" grep -q '3 port(s)' <<<"$out"

	# --- what a Windows PC reads before it binds a driver: the Microsoft OS 1.0 descriptors ----------
	check "dartdupd gave the kernel its Microsoft OS descriptors (none refused)" \
		test -z "$(grep 'refused the Microsoft OS' /tmp/dartdupd.log)"
	out=$(python3 "$VM_REPO/tests/vm/lib/usbctl.py" "$(board_usb_dev)" 0x80 6 0x03ee 0 18 2>&1)
	echo "# OS string descriptor: $out"
	# bLength 18, STRING, "MSFT100" in UTF-16LE, bMS_VendorCode 0xcd (gadget-setup's b_vendor_code)
	check "the board answers the OS string descriptor 0xEE: MSFT100, vendor code 0xcd" \
		test "$out" = 12034d00530046005400310030003000cd00
	out=$(python3 "$VM_REPO/tests/vm/lib/usbctl.py" "$(board_usb_dev)" 0xc0 0xcd 0 4 40 2>&1)
	echo "# Extended Compat ID: $out"
	# dwLength 40, bcdVersion 1.00, wIndex 4, bCount 1; then interface 0, 1, "WINUSB", 8+6 zero bytes
	check "the board's Extended Compat ID names WINUSB for interface 0 (Windows binds WinUSB itself)" \
		test "$out" = 28000000000104000100000000000000000157494e55534200000000000000000000000000000000

	# --- load, button, every slot passes, log read back -------------------------------------------
	out=$(B load "$VM_SHARE/a.dfi" 2>&1)
	check "load a signed image over USB" grep -q "every block verified" <<<"$out" || echo "# $out"
	job=$(B status --json | grep -o '"job":[0-9]*' | head -1 | cut -d: -f2)
	say PRESS
	out=$(B status --watch --json --job $((job + 1)) 2>&1)
	check "the button (a key on the input device) ran a job" test $? -eq 0
	check "button job: every slot passes" test "$(tail -n1 <<<"$out" | grep -o '"state":"pass"' | wc -l)" -eq 3
	local s ok_all=1
	for s in a b c; do
		cmp -s -n $((4 << 20)) "$VM_SHARE/a.img" "$(stick_dev "$(stick_serial $s)")" || ok_all=0
	done
	check "every stick (random before) holds the image (read back in the guest)" test "$ok_all" = 1
	check "slot 3's light after a pass: green on, red off" \
		test "$(led "$led_green")$(led "$led_red")" = 10
	out=$(B log --json 2>&1)
	check "log read back: one pass record per slot" test "$(grep -c '"result":"pass"' <<<"$out")" -eq 3
	check "log records carry the board serial" grep -q "\"board\":\"$SERIAL\"" <<<"$out"
	check "log records carry the stick's port path" grep -q "$(stick_port_path c)" <<<"$out"
	# the board's self-test over the link (docs/ACCEPTANCE.md): the controller is dummy_udc.0, a PC is
	# attached (this guest), the three slots hold sticks, the store takes a durable write
	out=$(B selftest --json 2>&1)
	check "board selftest: the gadget check passes on dummy_udc.0, configured" \
		grep -q '"check":"gadget","result":"pass","detail":"dummy_udc.0: .*state configured' <<<"$out" || echo "# $out"
	check "board selftest: each slot reports its stick's serial and speed" \
		test "$(grep -c '"check":"slot.[123]","result":"[a-z]*","detail":"/dev/sd[a-z]* serial .* Mbit/s' <<<"$out")" -eq 3
	check "board selftest: the store and the image it serves" \
		grep -q '"check":"image","result":"pass","detail":"\\"sample A\\"' <<<"$out"

	stalled_pc
	faults
	firmware_update
	kill -TERM "$BOARD_PID"
	wait "$BOARD_PID"
	check "dartdupd stops cleanly on SIGTERM" test $? -eq 0
	check "gadget-setup down" gadget_setup down "$conf"
	sed 's/^/# dartdupd: /' /tmp/dartdupd.log | tail -20
}

after() {
	# slots 1 and 2 passed the second job too (slot 3 was pulled in it); no job ran after it
	local id out
	for id in a b; do
		out=$(cmp -n $((4 << 20)) "$VM_SHARE/a.img" "$(stick_file "$id")" 2>&1) &&
			ok "after: stick $id (random before) holds the image" ||
			not_ok "after: stick $id (random before) differs from the image: ${out##*: }"
	done
}
