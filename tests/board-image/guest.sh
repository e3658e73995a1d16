# The emulated board's own side of tests/board-image/suite ("the board at work"): runs inside the booted
# image (bash, started by systemd from the kernel command line once the board is up by itself), with the
# test's folder over 9p at $VM_SHARE. The arm64 `dartdup` there plays the PC: it drives the board's gadget
# through dummy_hcd and the guest's own USB host side, exactly as a PC would over the USB-C cable.
# One boot is one phase (the host writes it to $VM_SHARE/phase before it starts QEMU); TAP lines go to
# $VM_SHARE/tap.PHASE, which the host prints. The host cuts the power (SIGKILL of QEMU, disks with
# cache=none) when the guest says CUT.
set -u
VM_SIDE=guest
. "$VM_SHARE/common.sh"
PHASE=$(cat "$VM_SHARE/phase")
exec >>"$VM_SHARE/tap.$PHASE" 2>&1
export LD_LIBRARY_PATH=$VM_SHARE/lib
DARTDUP=$VM_SHARE/dartdup
STORE=/var/lib/dartdup/store
B() { "$DARTDUP" board --serial BOARDIMG0001 "$@"; }
# check NAME CMD...: common.sh's, with the suite's prefix
t() { local n=$1; shift; check "board-image: board at work: $n" "$@"; }
wait_for() { # SECONDS CMD...: poll a condition (fails only at the deadline)
	local deadline=$((SECONDS + $1)); shift
	until "$@"; do [ "$SECONDS" -ge "$deadline" ] && return 1; nap 0.2; done
}
board_up() { B info --json >"$VM_SHARE/info.$PHASE.json" 2>/dev/null; }
info_has() { B info --json 2>&1 | tee -a "$VM_SHARE/info.$PHASE.json" | grep -q "$1"; }
job_now() { B status --json 2>/dev/null | tail -n 1 | sed -n 's/.*"job":\([0-9]*\).*/\1/p'; }
# the daemon with a crash point armed (docs/RELIABILITY.md "Power cuts"): the manager's environment, so
# nothing is written to the read-only root
arm() {
	systemctl set-environment "DARTDUP_CRASHPOINT=$1" && systemctl restart dartdupd.service &&
		wait_for 60 board_up
}
# press: the host presses the button (QMP send-key of the Enter key on the emulated USB keyboard that
# board.conf names as the button); prints the number of the job it started
job_after() { local n; n=$(job_now); [ "${n:-0}" -gt "$1" ]; }
press() {
	local before
	before=$(job_now)
	say PRESS
	await PRESSED 60 && wait_for 60 job_after "${before:-0}" && job_now
}
load() { B load "$VM_SHARE/$1" >"$VM_SHARE/load-$2.out" 2>&1; }
passes() { grep -c '"result":"pass"' "$VM_SHARE/$1"; }
# hold: the power is about to be cut: never exit (an exit powers the machine off cleanly)
hold() { while :; do nap 60; done; }
# the store makes a partial durable every 8 MiB (DD_STORE_SYNC_EVERY) and takes the next chunk (<= 1 MiB) only
# after that sync returned: past 9 MiB, a power cut leaves at least 8 MiB to resume from (cutting at the
# first byte, as this once did, left nothing durable when the cut came early: "resumed" never showed)
part_durable() { [ "$(part_bytes)" -gt $((9 << 20)) ]; }
part_bytes() { local f; for f in "$STORE"/incoming/image-*.part; do [ -s "$f" ] && stat -c %s "$f" && return; done; echo 0; }

t "the board comes up by itself and answers the PC (dartdup board info)" wait_for 180 board_up || { say DONE; exit 0; }
case $PHASE in
first)
	t "provisioning said ready" grep -qx ready /run/dartdup/status
	t "a signed image loads (every block verified on the board)" load a.dfi a
	t "the board serves the image" info_has '"name":"sample A"'
	job=$(press)
	t "the button (a key of the emulated keyboard) starts a job" test -n "$job"
	B status --watch --json --job "${job:-1}" >"$VM_SHARE/job1.json" 2>&1
	t "every stick passed" grep -q '"port":1,"state":"pass".*"port":2,"state":"pass".*"port":3,"state":"pass"' \
		<(tail -n 1 "$VM_SHARE/job1.json")
	B log --json >"$VM_SHARE/log1.json" 2>&1
	t "the audit log reads back: three passes" test "$(passes log1.json)" -eq 3
	# power cut in the middle of a load: the host kills the machine once part of big.dfi is on the board
	load big.dfi big1 &
	t "a second load is under way (over 9 MiB in the store's incoming/)" wait_for 180 part_durable
	say CUT "$(part_bytes)"
	hold
	;;
after-load-cut)
	t "after the cut mid-load the board still serves the old image" info_has '"name":"sample A"'
	B log --json >"$VM_SHARE/log2.json" 2>&1
	t "after the cut the audit log still holds job 1's three passes" test "$(passes log2.json)" -eq 3
	load big.dfi big2
	t "the load resumes where the cut stopped it" grep -q '^resumed at [1-9]' "$VM_SHARE/load-big2.out"
	t "the resumed load completes, every block verified" grep -q 'every block verified' "$VM_SHARE/load-big2.out"
	t "the board serves the new image" info_has '"name":"big B"'
	# power cut in the middle of the install: after the rename, before the directories are synced
	t "the daemon restarts with the crash point store-install-after-rename" arm store-install-after-rename
	load c.dfi c &
	say CUT-AT store-install-after-rename
	hold
	;;
after-install-cut)
	B info --json >"$VM_SHARE/info3.json" 2>&1
	t "after the cut mid-install the board serves one whole image, old or new" \
		grep -Eq '"name":"(big B|sample C)"' "$VM_SHARE/info3.json"
	# power cut in the middle of an audit append
	t "the daemon restarts with the crash point audit-append" arm audit-append
	# the job's first record (a pass, or a refusal: these sticks are smaller than big B) stops the daemon
	say PRESS
	await PRESSED 60
	say CUT-AT audit-append
	hold
	;;
after-audit-cut)
	B log --json >"$VM_SHARE/log4.json" 2>&1
	t "after the cut mid-append the audit log reads back" test "$(grep -c '"seq"' "$VM_SHARE/log4.json")" -ge 3
	journalctl -b -u dartdupd.service --no-pager >"$VM_SHARE/journal4.txt" 2>&1
	;;
esac
say DONE
