#!/bin/bash
# Runs in the test guest, in a chroot of the host's root filesystem (read-only 9p + tmpfs overlay), started by
# lib/init with the scenario's shared folder as $1. Brings up the /proc, /sys, /dev, /run and /tmp a system
# needs, starts systemd-udevd so udev data is real, waits until every stick plugged at boot has shown up, then
# runs the scenario's guest() with its output in the shared folder (guest.log) and says DONE.
set -u
VM_SHARE=$1 VM_SIDE=guest
. "$VM_SHARE/guest.env"
. "$VM_REPO/tests/vm/lib/common.sh"
. "$VM_REPO/tests/vm/lib/guest-lib.sh"

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
# No tmpfs on /tmp: the overlay already makes it writable, and a tmpfs would hide a checkout (and the
# shared folder inside it) that lives under /tmp, as CI's fresh clones may.
for d in /run /dev/shm; do mount -t tmpfs tmpfs "$d"; done

# udevadm ignores trigger and settle in a chroot unless told this one is meant.
export SYSTEMD_IGNORE_CHROOT=1
exec >"$VM_SHARE/boot.log" 2>&1
milestone() { echo "dartdup-vm: $*" | tee /dev/console; }
milestone "chroot up, starting systemd-udevd"
/lib/systemd/systemd-udevd --daemon --resolve-names=never
udevadm trigger --type=subsystems --action=add
udevadm trigger --type=devices --action=add
udevadm settle --timeout=60
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
