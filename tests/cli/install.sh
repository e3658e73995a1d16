#!/usr/bin/env bash
# make install / uninstall into a staging root (DESTDIR): the binaries, the linux-gadget board's files
# (gadget set-up, example description, systemd unit with its paths filled in) and the PC's udev rule
# (docs/BOARD.md "Building and installing"). An administrator's board.conf survives a reinstall and an
# uninstall; the installed unit points at the installed programs and the installed example passes
# the board's own validation.
. tests/lib.sh

R=$T/root
inst() { make -s --no-print-directory "$@" DESTDIR="$R" PREFIX=/usr >"$T/out" 2>&1; }

check "make install into DESTDIR with PREFIX=/usr" inst install || sed 's/^/# /' "$T/out"
for f in usr/bin/dartdup usr/bin/dartdupd usr/lib/dartdup/gadget-setup; do
	check "installed, executable: /$f" test -x "$R/$f"
done
check "installed dartdupd is the built one" cmp -s "$R/usr/bin/dartdupd" build/bin/dartdupd
U=$R/usr/lib/systemd/system/dartdupd.service
check "systemd unit installed" test -f "$U"
check "unit: ExecStart runs the installed dartdupd" \
	grep -qx 'ExecStart=/usr/bin/dartdupd --board linux-gadget --config /etc/dartdup/board.conf' "$U"
check "unit: ExecStartPre runs the installed gadget-setup" \
	grep -qx 'ExecStartPre=/usr/lib/dartdup/gadget-setup up /etc/dartdup/board.conf' "$U"
check "unit: a stored firmware bundle is applied before dartdupd starts" \
	grep -qx 'ExecStartPre=-/usr/lib/dartdup/gadget-setup apply-firmware /etc/dartdup/board.conf /usr/bin/dartdupd' "$U"
check "unit: exit 3 (stopped to apply firmware) restarts it" grep -qx 'RestartForceExitStatus=3' "$U"
check "unit: dartdupd says when it serves and is watched (Type=notify, WatchdogSec=)" \
	sh -c "grep -qx 'Type=notify' '$U' && grep -qx 'NotifyAccess=main' '$U' && grep -qx 'WatchdogSec=60s' '$U'"
check "unit: no placeholder left" test -z "$(grep -n '@[A-Z]*@' "$U")"
if command -v systemd-analyze >/dev/null; then
	# its own syntax and directives; the programs it names live under $R, not /
	sed "s|/usr/|$R/usr/|g" "$U" >"$T/dartdupd.service"
	check "unit: systemd-analyze verify finds nothing wrong" \
		sh -c "systemd-analyze verify '$T/dartdupd.service' >'$T/sa' 2>&1 &&
			! grep -v 'connect to bus\|not been booted with systemd' '$T/sa' | grep -q ." ||
		sed 's/^/# /' "$T/sa"
fi
RULE=$R/usr/lib/udev/rules.d/70-dartdup.rules
check "udev rule installed" test -f "$RULE"
check "udev rule: the board's VID:PID 1209:0001 gets TAG+=\"uaccess\"" \
	grep -q 'ATTR{idVendor}=="1209", ATTR{idProduct}=="0001", TAG+="uaccess"' "$RULE"
check "example description in share/" cmp -s "$R/usr/share/dartdup/linux-gadget/board.conf" boards/linux-gadget/board.conf
check "example description put in /etc (there was none)" cmp -s "$R/etc/dartdup/board.conf" boards/linux-gadget/board.conf

# the administrator's steps on the board: the installed example names /etc/dartdup/depot.pub; until the
# depot key is there `dartdupd --check` says so (exit 2), then it checks out (exit 0), touching nothing
C=$R/etc/dartdup/board.conf
expect_rc "dartdupd --check: the example without its depot key: exit 2" 2 \
	"$R/usr/bin/dartdupd" --board linux-gadget --check --config "$C"
out_has "dartdupd --check names the missing key" "pubkey: /etc/dartdup/depot.pub: No such file"
"$DARTDUP" keygen -o "$T/depot" >/dev/null 2>&1
sed -i "s|^pubkey = .*|pubkey = $T/depot.pub|" "$C"
expect_rc "dartdupd --check: the example with a depot key: exit 0" 0 \
	"$R/usr/bin/dartdupd" --board linux-gadget --check --config "$C"
out_has "dartdupd --check: good" "$C: good"
out_has "dartdupd --check: the slots and lights" "slots   4, 4 with a light (gpio)"
cp "$C" "$T/good.conf"
sed -i "s|^light.2 = .*|light.2 = gpio /dev/gpiochip0 5 19|" "$C"
expect_rc "dartdupd --check: one GPIO line for two lights: exit 2" 2 \
	"$R/usr/bin/dartdupd" --board linux-gadget --check --config "$C"
out_has "dartdupd --check names both uses of the line" "light.2 green: /dev/gpiochip0 line 5 is already light.1 green"
cp "$T/good.conf" "$C"

# the administrator's description survives a reinstall and an uninstall
echo "# edited by the depot" >>"$R/etc/dartdup/board.conf"
check "make install again" inst install
check "reinstall keeps the administrator's board.conf" grep -q "edited by the depot" "$R/etc/dartdup/board.conf"

check "make uninstall" inst uninstall
for f in usr/bin/dartdup usr/bin/dartdupd usr/lib/dartdup/gadget-setup usr/lib/systemd/system/dartdupd.service \
	usr/lib/udev/rules.d/70-dartdup.rules usr/share/dartdup/linux-gadget/board.conf; do
	check "uninstall removes /$f" test ! -e "$R/$f"
done
check "uninstall keeps the administrator's board.conf" grep -q "edited by the depot" "$R/etc/dartdup/board.conf"
