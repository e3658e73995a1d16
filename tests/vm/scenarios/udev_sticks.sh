# The rig itself, kernel and udev only: every emulated stick appears with its own serial (ID_SERIAL_SHORT), a
# USB transport and the port path it is plugged into (ID_PATH, also behind the hub); the virtio disk is no USB
# disk; a stick pulled out over QMP disappears and one plugged in later appears.

sticks() {
	stick a 32M
	stick b 32M
	stick c 32M hub
	stick d 32M hub
	stick late 32M hub later
	disk sys 32M
}

host() {
	await BOOTED 180 || return
	await SEEN 120 || return
	check "QMP device_del pulls stick b" unplug b
	say UNPLUGGED
	await GONE 60 || return
	check "QMP device_add plugs stick 'late'" plug late
	say PLUGGED
	await DONE 120
}

guest() {
	local id s d
	for id in a b c d; do
		s=$(stick_serial "$id")
		if ! d=$(stick_dev "$s"); then
			not_ok "stick $id ($s) has a block device"
			continue
		fi
		ok "stick $id ($s) is $d"
		[ "$(udev_prop "$d" ID_BUS)" = usb ] && ok "stick $id: ID_BUS=usb" || not_ok "stick $id: ID_BUS=$(udev_prop "$d" ID_BUS)"
		[ "$(udev_prop "$d" ID_PATH)" = "$(stick_id_path "$id")" ] && ok "stick $id: ID_PATH $(stick_id_path "$id")" ||
			not_ok "stick $id: ID_PATH=$(udev_prop "$d" ID_PATH), expected $(stick_id_path "$id")"
		[ "$(cat "/sys/block/${d#/dev/}/removable")" = 1 ] && ok "stick $id: removable" || not_ok "stick $id: not removable"
		[ "$(blockdev --getsize64 "$d")" = $((32 << 20)) ] && ok "stick $id: 32 MiB" || not_ok "stick $id: size $(blockdev --getsize64 "$d")"
	done
	[ "$(ls /sys/block | grep -c '^sd')" = 4 ] && ok "exactly 4 USB disks at boot" || not_ok "USB disks at boot: $(ls /sys/block)"
	[ -e /sys/block/vda ] && [ "$(udev_prop /dev/vda ID_BUS)" != usb ] && ok "virtio disk vda is not on USB" ||
		not_ok "virtio disk: $(ls /sys/block)"
	say SEEN
	await UNPLUGGED 120 || { not_ok "host never unplugged b"; return; }
	check "stick b is gone after device_del" wait_stick_gone "$(stick_serial b)" 60
	check "the other sticks stay" stick_dev "$(stick_serial a)"
	say GONE
	await PLUGGED 120 || { not_ok "host never plugged 'late'"; return; }
	if wait_stick "$(stick_serial late)" 60; then
		d=$(stick_dev "$(stick_serial late)")
		[ "$(udev_prop "$d" ID_PATH)" = "$(stick_id_path late)" ] && ok "hot-plugged stick appears at its port" ||
			not_ok "hot-plugged stick: ID_PATH=$(udev_prop "$d" ID_PATH), expected $(stick_id_path late)"
	else
		not_ok "hot-plugged stick never appeared"
	fi
}
