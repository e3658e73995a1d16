# The linux-gadget board in a scenario's guest, set up as the board's service does it (dartdupd.service:
# gadget-setup up, then dartdupd --board linux-gadget, serving once it says READY). Sourced by the scenario
# file (so on both sides): `. "$VM_REPO/tests/vm/lib/board.sh"`. Used by scenarios/board_gadget.sh,
# board_master.sh (and fit for bench/gadget_rate.sh). Files in the guest: the description file the scenario
# writes (board_conf), /tmp/dartdupd.log (the daemon's stderr, appended over restarts), /tmp/ready (the
# fifo of its --ready-fd).

BOARD_MODULES="udc-core dummy_hcd configfs libcomposite usb_f_fs" # FunctionFS on dummy_hcd (FACTS.md 3)
BOARD_LOG=/tmp/dartdupd.log
BOARD_FIFO=/tmp/ready
BOARD_STORE=/tmp/store # board_conf's store (a bench may put it on a tmpfs of its own)

# --- host side (a scenario's sticks()) ---------------------------------------------------------------------
# board_find_modules [MODULE...]: the gadget modules and the MODULEs the scenario needs as well, found here in
# the kernel package (a find over 9p in the emulated guest takes minutes); the guest gets them as
# VM_X_GADGET_KO.
board_find_modules() {
	local m ko list=""
	for m in $BOARD_MODULES "$@"; do
		ko=$(find "$VM_MODDIR" -name "$m.ko" | head -1)
		[ -n "$ko" ] || { vm_log "module $m.ko not in $VM_MODDIR"; return 1; }
		list+="$ko "
	done
	export VM_X_GADGET_KO=$list
}

# --- guest side ----------------------------------------------------------------------------------------
# board_modules: loads the modules board_find_modules found (those loaded already are left)
board_modules() {
	local ko m
	for ko in $VM_X_GADGET_KO; do
		m=${ko##*/}
		m=${m%.ko}
		grep -q "^${m//-/_} " /proc/modules || insmod "$ko" || return 1
	done
}

# board_conf FILE STICK... [-- LINE...]: a description file for the test board: the store in $BOARD_STORE,
# the depot's key $VM_SHARE/depot.pub, slot N on the socket of the Nth STICK, the UDC dummy_udc.0, then the
# LINEs as given (button, lights, master, ...)
board_conf() {
	local file=$1 n=0
	shift
	{
		echo "store = $BOARD_STORE"
		echo "pubkey = $VM_SHARE/depot.pub"
		while [ $# -gt 0 ] && [ "$1" != -- ]; do
			n=$((n + 1))
			echo "slot.$n = $(stick_port_path "$1")"
			shift
		done
		[ $# -gt 0 ] && shift
		echo "usb.udc = dummy_udc.0"
		[ $# -gt 0 ] && printf '%s\n' "$@"
	} >"$file"
}

# gadget_setup up|down|apply-firmware CONF...: the board's own set-up script
gadget_setup() { "$VM_REPO/boards/linux-gadget/gadget-setup" "$@"; }

# board_start CONF [PROGRAM]: starts dartdupd (default $DARTDUPD) as the service does; sets BOARD_PID.
# Its READY comes on $BOARD_FIFO: board_ready.
board_start() {
	[ -p "$BOARD_FIFO" ] || mkfifo "$BOARD_FIFO"
	"${2:-$DARTDUPD}" --board linux-gadget --config "$1" --ready-fd 3 3>"$BOARD_FIFO" >/dev/null 2>>"$BOARD_LOG" &
	BOARD_PID=$!
}

# board_ready [SECONDS]: the daemon said READY within SECONDS (default 30)
board_ready() { [ "$(timeout "${1:-30}" head -n1 "$BOARD_FIFO")" = READY ]; }

# board_serve CONF NAME [PROGRAM]: gadget-setup up, then the daemon, until it serves: two TAP lines
# ("gadget-setup up", NAME; the daemon's log in the failing one). Sets SERIAL (the gadget's) and BOARD_PID.
board_serve() {
	check "gadget-setup up" gadget_setup up "$1" || return
	SERIAL=$(cat /sys/kernel/config/usb_gadget/dartdup/strings/0x409/serialnumber)
	board_start "$1" "${3:-}"
	if ! board_ready; then
		not_ok "$2: $(head -c 400 "$BOARD_LOG")"
		return 1
	fi
	ok "$2"
}

# B ARGS...: `dartdup board` on this guest's board
B() { "$DARTDUP" board --serial "$SERIAL" "$@"; }

# board_usb_dev: the board's USB device as the PC side sees it (sysfs), empty if none
board_usb_dev() {
	grep -l '^1209$' /sys/bus/usb/devices/*/idVendor 2>/dev/null | head -1 | xargs -r dirname
}

board_on_bus() { test -n "$(board_usb_dev)"; }
