#!/usr/bin/env bash
# make install / uninstall into a staging root (DESTDIR): the binaries, the linux-gadget board's files
# (gadget set-up, example description, systemd unit with its paths filled in), the PC's udev rule
# (docs/BOARD.md "Building and installing"), man pages, docs, bash completion and the station's unit
# (docs/PACKAGING.md): exactly the expected files, and uninstall removes them. An administrator's board.conf survives a reinstall and an
# uninstall; the installed unit points at the installed programs and the installed example passes
# the board's own validation.
. tests/lib.sh

R=$T/root
inst() { make -s --no-print-directory "$@" DESTDIR="$R" PREFIX=/usr >"$T/out" 2>&1; }

check "make install into DESTDIR with PREFIX=/usr" inst install || sed 's/^/# /' "$T/out"

# exactly these files, nothing else (issue 19 item 5: every path under PREFIX and DESTDIR)
expected() {
	printf '%s\n' etc/dartdup/board.conf usr/bin/dartdup usr/bin/dartdupd usr/lib/dartdup/gadget-setup \
		usr/lib/systemd/system/dartdup-station.service usr/lib/systemd/system/dartdupd.service \
		usr/lib/udev/rules.d/70-dartdup.rules usr/share/bash-completion/completions/dartdup \
		usr/share/bash-completion/completions/dartdupd usr/share/dartdup/linux-gadget/board.conf \
		usr/share/man/man1/dartdup.1 usr/share/man/man8/dartdupd.8 usr/share/doc/dartdup/README.md
	for d in docs/*.md; do echo "usr/share/doc/dartdup/${d#docs/}"; done
}
listed() { (cd "$1" && find . \( -type f -o -type l \) -printf '%P\n'); }
expected | sort >"$T/want"
listed "$R" | sort >"$T/got"
check "make install puts exactly the expected files" cmp -s "$T/want" "$T/got" ||
	diff "$T/want" "$T/got" | sed 's/^/# /'
check "man pages are the ones in docs/man" sh -c "cmp -s docs/man/dartdup.1 '$R/usr/share/man/man1/dartdup.1' &&
	cmp -s docs/man/dartdupd.8 '$R/usr/share/man/man8/dartdupd.8'"
check "completion for dartdupd is a link to dartdup's" \
	test "$(readlink "$R/usr/share/bash-completion/completions/dartdupd")" = dartdup
S=$R/usr/lib/systemd/system/dartdup-station.service
check "station unit: ExecStart runs the installed dartdup" grep -q '^ExecStart=/usr/bin/dartdup station ' "$S"
check "station unit: no /usr/local left" test -z "$(grep -n /usr/local "$S")"
check "station unit: its documentation is the installed README" \
	grep -qx 'Documentation=file:///usr/share/doc/dartdup/README.md' "$S"
check "station unit is not enabled by install (no .wants link)" test -z "$(find "$R" -name '*.wants')"
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
check "udev rule: USB whole disks to group dartdup (write's permission hint names it)" \
	grep -q 'SUBSYSTEM=="block", ENV{DEVTYPE}=="disk", ENV{ID_BUS}=="usb", GROUP="dartdup", MODE="0660"' "$RULE"
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
check "uninstall removes everything install put but the edited board.conf" \
	test "$(listed "$R")" = etc/dartdup/board.conf || listed "$R" | sed 's/^/# left: /'
check "uninstall keeps the administrator's board.conf" grep -q "edited by the depot" "$R/etc/dartdup/board.conf"

# an untouched example is the package's own: uninstall removes it, leaving no file behind
R2=$T/root2
check "install into a second root" make -s --no-print-directory install DESTDIR="$R2" PREFIX=/usr
check "uninstall from it" make -s --no-print-directory uninstall DESTDIR="$R2" PREFIX=/usr
check "uninstall leaves no file at all" test -z "$(listed "$R2")" || listed "$R2" | sed 's/^/# left: /'

# PREFIX alone (no DESTDIR): every path under PREFIX, and /etc is not touched unasked
P=$T/prefix
{ make -n --no-print-directory install PREFIX="$P"; make -n --no-print-directory uninstall PREFIX="$P"; } >"$T/dry" 2>&1
check "make -n install / uninstall PREFIX=...: names no /etc" test -z "$(grep -n '/etc' "$T/dry")" || grep /etc "$T/dry" | sed 's/^/# /'
if ! grep -q '/etc' "$T/dry"; then
	check "make install PREFIX=... (no DESTDIR)" make -s --no-print-directory install PREFIX="$P"
	(cd "$P" && find . \( -type f -o -type l \) -printf '%P\n') | sort >"$T/got_p"
	expected | grep -v '^etc/' | sed 's|^usr/||' | sort >"$T/want_p"
	check "PREFIX install: the same files under PREFIX, no board.conf in /etc" cmp -s "$T/want_p" "$T/got_p" ||
		diff "$T/want_p" "$T/got_p" | sed 's/^/# /'
	check "PREFIX install: the unit runs PREFIX/bin/dartdupd" \
		grep -q "^ExecStart=$P/bin/dartdupd " "$P/lib/systemd/system/dartdupd.service"
	check "make uninstall PREFIX=..." make -s --no-print-directory uninstall PREFIX="$P"
	check "PREFIX uninstall: no file left" test -z "$(find "$P" \( -type f -o -type l \) -print)"
fi
# the configuration on request: install-config / uninstall-config with SYSCONFDIR (explicit targets)
check "make install-config SYSCONFDIR=...: the example" sh -c \
	"make -s --no-print-directory install-config SYSCONFDIR='$T/etc' && cmp -s boards/linux-gadget/board.conf '$T/etc/dartdup/board.conf'"
check "make uninstall-config SYSCONFDIR=...: the untouched example goes" sh -c \
	"make -s --no-print-directory uninstall-config SYSCONFDIR='$T/etc' && test ! -e '$T/etc/dartdup'"
