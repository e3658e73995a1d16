# `dartdup ports learn` as a technician runs it at a hub (docs/PORTS.md): learn prompts for socket A1, A2,
# A3 and the host hot-plugs one emulated stick into a socket of the hub for each prompt (QMP device_add, in the
# order 8.3, 8.1, 8.2: the map follows the plugging, not the bus order). On the way A1's stick is pulled and a
# stick plugged into the same socket again: learn says the socket is A1 already and keeps waiting for A2 (no
# port under two names). The written map names each socket's real port path (udev's ID_PATH and the kernel's
# USB device of the stick). `dartdup ports check` with the map passes with the three sticks in; a stick in a
# socket the map does not name (8.5) makes it report that stick, exit 1. Then a learn that waits for a second
# socket in vain ends at its --timeout: says which socket, writes the one it learned, exit 1.
VM_TIMEOUT=420
LEARN_TIMEOUT=20 # seconds learn waits for each socket in the time-out case (a plug takes a few under TCG)

sticks() {
	local h=$VM_XHCI_PORTS # the hub's root port
	stick s1 8M port=$h.3 later
	stick again 8M port=$h.3 later # a second plug into A1's socket
	stick s2 8M port=$h.1 later
	stick s3 8M port=$h.2 later
	stick stray 8M port=$h.5 later # a socket the map will not name
	stick t1 8M port=$h.6 later    # the time-out case
}

# The guest asks (ask1, ask2, ...: "plug ID", "unplug ID"), the host does it and answers (did1, ...).
host() {
	await BOOTED 180 || return
	local i=1 cmd id
	while await "ask$i" 300; do
		read -r cmd id <<<"$(heard "ask$i")"
		case $cmd in
		plug) check "QMP device_add plugs stick $id" plug "$id" ;;
		unplug) check "QMP device_del pulls stick $id" unplug "$id" ;;
		*) break ;;
		esac
		say "did$i"
		i=$((i + 1))
	done
}

# --- guest side ----------------------------------------------------------------------------------------
asked=0
ask() { # plug|unplug ID: the host does it; status 1 if it never answered
	asked=$((asked + 1))
	say "ask$asked" "$*"
	await "did$asked" 120
}

# learn_start OUT ARGS...: `dartdup ports learn -o OUT ARGS` in the background, no terminal; its status lands
# in /tmp/learn.rc, its output in /tmp/learn.out and /tmp/learn.err
learn_start() {
	local out=$1
	shift
	rm -f /tmp/learn.rc /tmp/learn.out /tmp/learn.err
	( "$DARTDUP" ports learn -o "$out" "$@" </dev/null >/tmp/learn.out 2>/tmp/learn.err; echo $? >/tmp/learn.rc ) &
}
said() { grep -qF -- "$1" /tmp/learn.out; }
learn_ended() { test -e /tmp/learn.rc; }
learn_show() { sed 's/^/# learn: /' /tmp/learn.out /tmp/learn.err; }

# the kernel's name of a stick's USB device ("2-8.3"): the last N-P.P folder above its disk in sysfs
usb_name() {
	local p
	p=$(readlink -f "/sys/block/${1#/dev/}/device")
	p=${p%%:1.0/*}
	echo "${p##*/}"
}

# plugged ID SOCKET: the host plugs stick ID; learn names it SOCKET with its real port path and USB name
plugged() {
	local id=$1 name=$2 d path want
	ask plug "$id" || return 1
	if ! wait_stick "$(stick_serial "$id")" 60; then
		not_ok "stick $id appears in the guest"
		return 1
	fi
	d=$(stick_dev "$(stick_serial "$id")")
	path=$(udev_prop "$d" ID_PATH)
	path=${path%%:1.0-scsi-*}
	check "stick $id sits at the socket it was plugged into ($path)" test "$path" = "$(stick_port_path "$id")"
	want="$name = $path ($(usb_name "$d"))"
	check "learn: $want" wait_for 60 said "$want" || learn_show
}

guest() {
	local map=/tmp/bench.conf rc d out

	# --- three sockets, one plugged twice ------------------------------------------------------------
	learn_start "$map" --count 3 --timeout 120
	check "learn prompts for the first socket" wait_for 30 said "plug a stick into socket A1 (1 of 3)" ||
		{ learn_show; return; }
	plugged s1 A1 || return
	check "learn prompts for the second socket" wait_for 30 said "plug a stick into socket A2 (2 of 3)"
	# the same socket again: the stick pulled and one plugged back into it
	ask unplug s1 && check "stick s1 is gone" wait_stick_gone "$(stick_serial s1)" 60
	ask plug again && wait_stick "$(stick_serial again)" 60
	check "the same socket plugged twice: learn says it is A1 already" \
		wait_for 60 said "that socket is A1 already: plug the stick into the next socket" || learn_show
	check "...and names it nothing else" test "$(grep -c "= $(stick_port_path again) " /tmp/learn.out)" = 1
	check "...and still waits for A2 (learn runs on)" test ! -e /tmp/learn.rc
	plugged s2 A2 || return
	plugged s3 A3 || return
	check "learn ends after the third socket" wait_for 30 learn_ended || { learn_show; return; }
	learn_show
	check "learn: exit 0" test "$(cat /tmp/learn.rc)" = 0
	check "learn says what it wrote" said "wrote 3 socket(s) to $map"
	cp "$map" "$VM_SHARE/bench.conf"
	sed 's/^/# map: /' "$map"
	out=$(grep -v '^#' "$map" | grep -v '^$')
	check "the map names the sockets in the order plugged, each its real port path, each once" test "$out" = \
		"$(printf 'port.A1 = %s\nport.A2 = %s\nport.A3 = %s' "$(stick_port_path s1)" "$(stick_port_path s2)" \
			"$(stick_port_path s3)")"

	# --- the map against the bench ---------------------------------------------------------------------
	out=$("$DARTDUP" ports check --port-map "$map" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/# check: /'
	check "ports check with a stick in each named socket: exit 0" test "$rc" = 0
	check "ports check: every socket found" grep -q "^$map: 3 socket(s), 0 not found on this machine$" <<<"$out"
	check "ports check: A1 found at its port" grep -q "^A1  *found  *$(stick_port_path s1)$" <<<"$out"
	out=$("$DARTDUP" list --port-map "$map" --json 2>&1)
	check "list --port-map names the stick in A1's socket A1" \
		jis "$out" '[.disks[] | select((.port // "") | startswith($p + ":")) | .label] == ["A1"]' \
		--arg p "$(stick_port_path again)"
	ask plug stray && wait_stick "$(stick_serial stray)" 60
	d=$(stick_dev "$(stick_serial stray)")
	out=$("$DARTDUP" ports check --port-map "$map" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/# check: /'
	check "ports check with a stick in a socket the map does not name: exit 1" test "$rc" = 1
	check "ports check names that stick: its port path, USB name and disk" \
		grep -q "^-  *no name  *$(stick_port_path stray) ($(usb_name "$d"), $d)$" <<<"$out"
	check "ports check counts it" grep -q "^1 stick(s) in a socket the map does not name" <<<"$out"
	check "ports check: the named sockets are still all found" grep -q "3 socket(s), 0 not found" <<<"$out"

	# --- nobody plugs the next stick: --timeout ends learn ---------------------------------------------
	learn_start /tmp/part.conf --count 2 --timeout "$LEARN_TIMEOUT"
	check "learn (time-out case) prompts for A1" wait_for 30 said "plug a stick into socket A1 (1 of 2)" ||
		{ learn_show; return; }
	plugged t1 A1
	check "learn ends by itself when no stick comes for A2" wait_for $((LEARN_TIMEOUT + 60)) learn_ended ||
		{ learn_show; return; }
	learn_show
	check "learn at its time-out: exit 1 (short of --count)" test "$(cat /tmp/learn.rc)" = 1
	check "learn says which socket it waited for, how long, and how far it got" grep -qF \
		"no stick plugged into socket A2 within $LEARN_TIMEOUT s: stopping with 1 of 2 socket(s)" /tmp/learn.err
	check "the socket it learned is written" test "$(grep -v '^#' /tmp/part.conf | grep -v '^$')" = \
		"port.A1 = $(stick_port_path t1)"
	say "ask$((asked + 1))" end
}
