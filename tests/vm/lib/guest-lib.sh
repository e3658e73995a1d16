# Guest-side helpers for scenarios (sourced by guest.sh). Sticks are found by their serial, the way a depot
# operator would recognise them, never by a guessed /dev/sdX name.

# These read udev's database (/run/udev/data) with shell builtins only: under emulation every program started
# costs tens of milliseconds, and udevadm far more.

# udev_prop DEV KEY: print one udev property of a block device (/dev/sdX or sdX); status 1 if unset
udev_prop() {
	local name=${1#/dev/} devno line
	{ read -r devno <"/sys/class/block/$name/dev"; } 2>/dev/null || return 1
	[ -r "/run/udev/data/b$devno" ] || return 1
	while IFS= read -r line; do
		if [[ "$line" == "E:$2="* ]]; then
			echo "${line#E:"$2"=}"
			return 0
		fi
	done <"/run/udev/data/b$devno"
	return 1
}

# stick_dev SERIAL: print the whole-disk device node of the USB stick with that serial; status 1 if none
stick_dev() {
	local b
	for b in /sys/block/sd*; do
		[ -e "$b" ] || continue
		if [ "$(udev_prop "${b##*/}" ID_SERIAL_SHORT)" = "$1" ]; then
			echo "/dev/${b##*/}"
			return 0
		fi
	done
	return 1
}

# wait_for SECONDS CMD...: poll a condition (not a timing assumption: it fails only at the deadline)
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		nap 0.1
	done
}

# wait_stick SERIAL [SECONDS]: wait until the stick shows up with its udev data complete
wait_stick() {
	local deadline=$((SECONDS + ${2:-60})) d
	while :; do
		d=$(stick_dev "$1") && [ -n "$(udev_prop "$d" ID_PATH)" ] && [ -b "$d" ] && return 0
		[ "$SECONDS" -ge "$deadline" ] && return 1
		nap 0.1
	done
}

# wait_stick_gone SERIAL [SECONDS]: wait until no block device carries that serial any more
wait_stick_gone() {
	local deadline=$((SECONDS + ${2:-60}))
	while stick_dev "$1" >/dev/null; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		nap 0.1
	done
}

# stick_id_path ID: the udev ID_PATH a stick declared in the scenario must have in the guest
stick_id_path() {
	local v="VM_PORT_$1"
	echo "pci-0000:00:05.0-usb-0:${!v}:1.0-scsi-0:0:0:0"
}

# stick_port_path ID: its socket as a port map or board.conf names it (ID_PATH cut after the USB port)
stick_port_path() {
	local p
	p=$(stick_id_path "$1")
	echo "${p%%:1.0-scsi-*}"
}

# stick_serial ID: the serial a stick declared in the scenario has
stick_serial() { local v="VM_SERIAL_$1"; echo "${!v}"; }

# jhas FILE COND [JQ-OPTIONS...]: some JSON value in FILE (e.g. one of its JSON lines) satisfies the jq
# condition COND. (jq -e alone would judge only the file's last value.)
jhas() {
	local f=$1 c=$2
	shift 2
	jq -e -s "$@" "any(.[]; $c)" "$f" >/dev/null 2>&1
}

# jis TEXT COND [JQ-OPTIONS...]: the JSON value TEXT (a string, e.g. one event line) satisfies the jq condition
jis() {
	local t=$1 c=$2
	shift 2
	jq -e "$@" "$c" <<<"$t" >/dev/null 2>&1
}
