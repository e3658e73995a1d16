#!/usr/bin/env bash
# dartdupd --board linux-gadget --selftest (boards/linux-gadget/selftest.c, docs/ACCEPTANCE.md) over a
# made-up /sys (DARTDUP_SYSFS): a board in order passes; each fault a real board can have (no device
# controller, a controller in host mode, two controllers and usb.udc = auto, undervoltage, an over-current
# on a hub port, a store that takes no writes, a damaged stored image) fails that check alone, names it,
# and exits 1; a bad description file exits 2 with nothing checked; --json gives one object per check.
. tests/lib.sh

S=$T/sys
ST=$T/store
"$DARTDUP" keygen -o "$T/depot" >/dev/null 2>&1
conf() { # conf STORE [UDC]
	cat >"$T/board.conf" <<-CONF
		store = $1
		pubkey = $T/depot.pub
		slot.1 = platform-fd500000.pcie-pci-0000:01:00.0-usb-0:1.1
		slot.2 = platform-fd500000.pcie-pci-0000:01:00.0-usb-0:1.2
		usb.udc = ${2:-auto}
	CONF
}
good_sys() {
	rm -rf "$S"
	mkdir -p "$S/class/udc/fe980000.usb/device/of_node" "$S/class/hwmon/hwmon0" "$S/class/hwmon/hwmon1" \
		"$S/bus/usb/devices/usb1/1-0:1.0/usb1-port1" "$S/bus/usb/devices/1-1/1-1:1.0/1-1-port1" \
		"$S/bus/usb/devices/1-1/1-1:1.0/1-1-port2"
	printf 'peripheral\0' >"$S/class/udc/fe980000.usb/device/of_node/dr_mode" # device tree strings end in NUL
	echo configured >"$S/class/udc/fe980000.usb/state"
	echo cpu_thermal >"$S/class/hwmon/hwmon0/name"
	echo rpi_volt >"$S/class/hwmon/hwmon1/name"
	echo 0 >"$S/class/hwmon/hwmon1/in0_lcrit_alarm"
	for p in usb1/1-0:1.0/usb1-port1 1-1/1-1:1.0/1-1-port1 1-1/1-1:1.0/1-1-port2; do
		echo 0 >"$S/bus/usb/devices/$p/over_current_count"
	done
}
st() { DARTDUP_SYSFS=$S "$DARTDUPD" --board linux-gadget --selftest --config "$T/board.conf" "$@"; }
line() { grep -qE "^$1 +$2 " "$T/out"; } # line VERDICT CHECK: the report's line for CHECK says VERDICT

conf "$ST"
good_sys
expect_rc "a board in order: exit 0" 0 st
check "gadget: the one controller, peripheral, a PC attached" line PASS gadget
out_has "gadget: names the controller, its mode and state" "fe980000.usb: dr_mode peripheral, state configured"
check "power: no undervoltage (rpi_volt)" line PASS power
check "usb: three ports, no over-current" line PASS usb
out_has "usb: counts the ports" "3 USB ports, no over-current since boot"
check "slots: empty ones are a warning that says so" line WARN slot.1
out_has "slots: names the slot's port path" "empty (platform-fd500000.pcie-pci-0000:01:00.0-usb-0:1.1)"
check "store: takes a durable write" line PASS store
check "image: none stored yet is a warning" line WARN image
check "store: the test's write left nothing behind" test -z "$(ls -A "$ST" | grep selftest)"
out_has "a summary line" "failed"
check "the summary counts no failure" grep -q ', 0 failed$' "$T/out"

good_sys
echo 1 >"$S/class/hwmon/hwmon1/in0_lcrit_alarm"
expect_rc "undervoltage since boot: exit 1" 1 st
check "undervoltage: the power check fails" line FAIL power
check "undervoltage: the other checks still pass" line PASS gadget

good_sys
echo 2 >"$S/bus/usb/devices/1-1/1-1:1.0/1-1-port2/over_current_count"
expect_rc "an over-current on a hub port: exit 1" 1 st
check "over-current: the usb check fails, naming the port" grep -q 'FAIL  usb .*1-1-port2/over_current_count: over-current 2 time' "$T/out"

good_sys
rm -rf "$S/class/udc"
expect_rc "no device controller at all: exit 1" 1 st
out_has "no controller: says no driver is loaded" "no USB device controller driver (dwc2) is loaded"

good_sys
rm -rf "$S/class/udc/fe980000.usb"
expect_rc "an empty /sys/class/udc: exit 1" 1 st
out_has "empty udc: points at the overlay" "dtoverlay=dartdup-dwc2"

good_sys
printf 'host\0' >"$S/class/udc/fe980000.usb/device/of_node/dr_mode"
expect_rc "a controller in host mode: exit 1" 1 st
check "host mode: the gadget check fails" grep -q 'FAIL  gadget .*dr_mode is "host"' "$T/out"

good_sys
printf 'otg\0' >"$S/class/udc/fe980000.usb/device/of_node/dr_mode"
expect_rc "a controller in otg mode: a warning, exit 0" 0 st
check "otg: the gadget check warns" line WARN gadget

good_sys
mkdir -p "$S/class/udc/dummy_udc.0"
expect_rc "two controllers and usb.udc = auto: exit 1" 1 st
out_has "two controllers: says to name one" "2 device controllers"
conf "$ST" dummy_udc.0
expect_rc "two controllers, usb.udc names one: exit 0" 0 st
out_has "the named controller is the one checked" "dummy_udc.0: dr_mode (not in the device tree)"
conf "$ST" dwc2-missing
expect_rc "usb.udc names a controller that is not there: exit 1" 1 st
out_has "a missing named controller: named" "usb.udc = dwc2-missing: no such device controller"

good_sys
: >"$T/notadir"
conf "$T/notadir/store"
expect_rc "a store that takes no writes: exit 1" 1 st
check "store: fails, naming the folder" grep -q "FAIL  store .*$T/notadir/store" "$T/out"

# a damaged stored image: the board serves nothing from it, and the self-test says so
conf "$ST"
head -c 300000 /dev/urandom >"$T/img"
"$DARTDUP" pack "$T/img" -o "$ST/image.dfi" --key "$T/depot.key" --name "sample" >/dev/null 2>&1
expect_rc "a good stored image: exit 0" 0 st
check "image: named, trusted, every block read again" \
	grep -q 'PASS  image .*"sample", 300000 bytes, signed by a trusted key, every block verified' "$T/out"
# a bit flipped in a block's data (the card went bad): only reading every block again sees it
python3 - "$ST/image.dfi" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(1000); b = f.read(1); f.seek(1000); f.write(bytes([b[0] ^ 0x10]))
PY
expect_rc "a stored image with a bit flipped in a block: exit 1" 1 st
check "image: the damage fails the image check, naming the file" grep -q 'FAIL  image .*image.dfi' "$T/out"
rm -f "$ST/image.dfi"

expect_rc "--json: exit 0" 0 st --json
check "--json: one object per check, schema first, a result of pass/warn/fail" python3 -c '
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(objs) >= 7, objs
for o in objs:
    assert list(o)[0] == "schema" and o["schema"] == 1, o
    assert o["result"] in ("pass", "warn", "fail") and o["check"] and "detail" in o, o
assert {o["check"] for o in objs} >= {"config", "gadget", "power", "usb", "store", "image", "audit"}, objs' "$T/out"

printf 'store = %s\nbogus = 1\n' "$ST" >"$T/bad.conf"
expect_rc "a bad description file: exit 2, nothing checked" 2 \
	env DARTDUP_SYSFS="$S" "$DARTDUPD" --board linux-gadget --selftest --config "$T/bad.conf"
out_has "bad file: names the file and line" "$T/bad.conf:2"
check "bad file: no check was reported" sh -c "! grep -qE '^(PASS|WARN|FAIL) ' '$T/out'"
expect_rc "the sim board has no self-test: exit 2" 2 "$DARTDUPD" --board sim --selftest
