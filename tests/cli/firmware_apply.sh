#!/usr/bin/env bash
# dartdupd --board linux-gadget --apply-firmware (firmware/apply.h): a stored firmware bundle is verified
# again and installed over the running program's file, the previous one kept as .prev; every refusal
# (foreign key, another board's bundle, an image, a payload that is no executable for this machine, a
# damaged bundle) leaves the program untouched, exits 2 naming the problem, and retires the bundle so a
# bad one is not tried at every start. Runs on a copy of dartdupd in a temporary folder (the program
# replaces its own file: /proc/self/exe).
. tests/lib.sh

B=$T/bin/dartdupd
ST=$T/store
mkdir -p "$T/bin" "$ST"
"$DARTDUP" keygen -o "$T/depot" >/dev/null 2>&1
"$DARTDUP" keygen -o "$T/foreign" >/dev/null 2>&1
cat >"$T/board.conf" <<CONF
store = $ST
pubkey = $T/depot.pub
slot.1 = pci-0000:00:05.0-usb-0:1
CONF
fresh() { cp "$DARTDUPD" "$B"; cp "$B" "$T/before"; rm -f "$ST"/firmware*.dfi "$ST"/firmware.trial "$B".prev; }
apply() { "$B" --board linux-gadget --apply-firmware --config "$T/board.conf"; }
# the payload: this dartdupd with a marker appended (still an ELF executable that runs)
cp "$DARTDUPD" "$T/new"
printf 'dartdupd-firmware-test-marker' >>"$T/new"
bundle() { # PAYLOAD NAME KEY -> $ST/firmware.dfi
	"$DARTDUP" pack "$1" -o "$ST/firmware.dfi" --key "$3" --name "$2" --block-size 64K >/dev/null 2>&1
}

fresh
expect_rc "nothing pending: exit 0" 0 apply
out_has "nothing pending: says so" "no firmware bundle pending"
check "nothing pending: the program is untouched" cmp -s "$B" "$T/before"

bundle "$T/new" "dartdupd-firmware linux-gadget 9.9.9" "$T/depot.key"
expect_rc "a good bundle is applied: exit 0" 0 apply
out_has "applied: names the bundle and the program" "applied \"dartdupd-firmware linux-gadget 9.9.9\" to $B"
check "the program's file is now the payload" cmp -s "$B" "$T/new"
check "the previous program is kept as .prev" cmp -s "$B.prev" "$T/before"
check "the bundle is retired as firmware.applied.dfi" test ! -e "$ST/firmware.dfi" -a -f "$ST/firmware.applied.dfi"
check "the new program runs" sh -c "'$B' --version | grep -q '^dartdupd '"
check "the new program is on trial until it serves" test -f "$ST/firmware.trial"

# it never serves (it crashed, or refused its set-up): the next apply (the service's next start) puts
# the previous program back
expect_rc "a program on trial that never served: rolled back, exit 0" 0 apply
out_has "the roll-back names the bundle" "\"dartdupd-firmware linux-gadget 9.9.9\" never served: rolled back"
check "rolled back: the program is the previous one again" cmp -s "$B" "$T/before"
check "rolled back: the trial is over" test ! -e "$ST/firmware.trial"

# applied again; this time the new program serves (the sim board's daemon on the same store), which
# confirms it: the next apply keeps it
fresh; bundle "$T/new" "dartdupd-firmware linux-gadget 9.9.9" "$T/depot.key"
expect_rc "applied again" 0 apply
mkfifo "$T/ready"
"$B" --board sim --socket "$T/sock" --store "$ST" --pubkey "$T/depot.pub" --port "$T/port1" \
	--ready-fd 3 3>"$T/ready" >/dev/null 2>"$T/daemon.err" &
pid=$!
read -r line <"$T/ready"
kill "$pid"; wait "$pid"
check "the new program served (READY)" test "$line" = READY
check "serving ended its trial" test ! -e "$ST/firmware.trial"
expect_rc "applying after it served: nothing to do" 0 apply
out_has "applying after it served: says so" "no firmware bundle pending"
check "a program that served is kept" cmp -s "$B" "$T/new"

refused() { # NAME WANT: the bundle in place is refused, the program untouched, the bundle retired
	expect_rc "$1: exit 2" 2 apply
	out_has "$1: says why" "$2"
	check "$1: the program is untouched" cmp -s "$B" "$T/before"
	check "$1: no .prev made" test ! -e "$B.prev"
	check "$1: retired as firmware.refused.dfi" test ! -e "$ST/firmware.dfi" -a -f "$ST/firmware.refused.dfi"
}
fresh; bundle "$T/new" "dartdupd-firmware linux-gadget 9.9.9" "$T/foreign.key"
refused "a bundle signed by a foreign key" "signed by another key"
fresh; bundle "$T/new" "dartdupd-firmware sim 9.9.9" "$T/depot.key"
refused "another board's bundle" "is firmware for another board (this is linux-gadget)"
fresh; bundle "$T/new" "sample image" "$T/depot.key"
refused "an image, not a bundle" "is not a firmware bundle"
fresh; printf '#!/bin/sh\necho not really\n' >"$T/script"; bundle "$T/script" "dartdupd-firmware linux-gadget 9.9.9" "$T/depot.key"
refused "a payload that is no ELF executable" "the payload is not an ELF executable"
# an ELF for another machine: the same header with another e_machine
python3 - "$T/new" "$T/foreign-elf" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[18:20] = (183 if b[18:20] != bytes([183, 0]) else 62).to_bytes(2, "little")  # EM_AARCH64 <-> EM_X86_64
open(sys.argv[2], "wb").write(b)
PY
fresh; bundle "$T/foreign-elf" "dartdupd-firmware linux-gadget 9.9.9" "$T/depot.key"
refused "an executable for another machine" "the payload is not a 64-bit executable for"
fresh; bundle "$T/new" "dartdupd-firmware linux-gadget 9.9.9" "$T/depot.key"
python3 -c "f=open('$ST/firmware.dfi','r+b'); f.seek(200000); b=f.read(1); f.seek(200000); f.write(bytes([b[0]^0xff]))"
refused "a damaged bundle" "firmware.dfi"

# a bundle whose program never serves (here /bin/true: an executable for this CPU that exits at once),
# applied the way the board's service does it (gadget-setup apply-firmware: the previous program, when there
# is one, runs the apply, because the newest may not run at all)
GS=$PWD/boards/linux-gadget/gadget-setup
fresh; bundle /bin/true "dartdupd-firmware linux-gadget 7.7.7" "$T/depot.key"
expect_rc "gadget-setup apply-firmware installs it" 0 "$GS" apply-firmware "$T/board.conf" "$B"
check "the program is now the one on trial" cmp -s "$B" /bin/true
check "the one before is kept as .prev" cmp -s "$B.prev" "$T/before"
check "it cannot serve (its --apply-firmware does nothing either)" sh -c "'$B' --board linux-gadget --apply-firmware; test -f '$ST/firmware.trial'"
expect_rc "the next start (gadget-setup apply-firmware): exit 0" 0 "$GS" apply-firmware "$T/board.conf" "$B"
out_has "the previous program rolled the dead one back" "\"dartdupd-firmware linux-gadget 7.7.7\" never served: rolled back to $B.prev"
check "rolled back: the program is the previous one" cmp -s "$B" "$T/before"
check "rolled back: no trial left" test ! -e "$ST/firmware.trial"

# the new program cannot be written beside the old one (its .new name is taken by a folder): nothing is
# half done, and the bundle stays pending for the next start
fresh; bundle "$T/new" "dartdupd-firmware linux-gadget 9.9.9" "$T/depot.key"
mkdir "$B.new"
expect_rc "cannot write the new program: exit 2" 2 apply
out_has "cannot write the new program: names it" "$B.new"
check "cannot write the new program: the program is untouched" cmp -s "$B" "$T/before"
check "cannot write the new program: the bundle stays pending" test -f "$ST/firmware.dfi"
rmdir "$B.new"
expect_rc "once it can: applied" 0 apply
check "once it can: the program is the payload" cmp -s "$B" "$T/new"
