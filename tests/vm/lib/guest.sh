#!/bin/bash
# Runs in the test guest, in a chroot of the host's root filesystem (read-only 9p + tmpfs overlay), started by
# lib/init with the scenario's shared folder as $1 (init has mounted /proc, /sys, /dev and /run). Starts
# systemd-udevd so udev data is real, waits until every stick plugged at boot has shown up, then
# runs the scenario's guest() with its output in the shared folder (guest.log) and says DONE.
set -u
VM_SHARE=$1 VM_SIDE=guest
. "$VM_SHARE/guest.env"
. "$VM_REPO/tests/vm/lib/common.sh"
. "$VM_REPO/tests/vm/lib/guest-lib.sh"

# udevadm ignores trigger and settle in a chroot unless told this one is meant.
export SYSTEMD_IGNORE_CHROOT=1
exec >"$VM_SHARE/boot.log" 2>&1
milestone() { echo "dartdup-vm: [$(cut -d' ' -f1 /proc/uptime)] $*" | tee /dev/console; }
milestone "chroot up, starting systemd-udevd"
/lib/systemd/systemd-udevd --daemon --resolve-names=never
# Only the subsystems disks hang off: replaying every device of the machine costs seconds under emulation, and
# devices that appear later (hot-plug) get their events from the kernel anyway.
match=(--subsystem-match=pci --subsystem-match=usb --subsystem-match=scsi --subsystem-match=block
	--subsystem-match=virtio)
udevadm trigger --type=subsystems --action=add "${match[@]}"
udevadm trigger --type=devices --action=add "${match[@]}"
milestone "triggered"
udevadm settle --timeout=60
milestone "settled"
booted=1 deadline=$((SECONDS + 90))
for s in $VM_BOOT_SERIALS; do
	wait_stick "$s" $((deadline - SECONDS)) || { milestone "stick $s never appeared"; booted=0; }
done
udevadm settle --timeout=60
lsblk -o NAME,SIZE,TRAN,RM,SERIAL,TYPE || true

cd /tmp
. "$VM_SCENARIO"
if [ "$booted" = 1 ]; then
	milestone "sticks up after $SECONDS s, running the scenario"
	say BOOTED
	guest >"$VM_SHARE/guest.log" 2>&1
	say DONE "$?"
	milestone "scenario finished"
else
	not_ok "guest boot: sticks missing (see boot.log)" >"$VM_SHARE/guest.log"
	say DONE 1
fi
sync
