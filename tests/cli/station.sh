# dartdup station on the host (no sticks here: the QEMU rig's station scenario writes real ones): usage, bad
# input, and a clean stop on SIGINT/SIGTERM with the session's totals.
. tests/lib.sh

expect_rc "station --help" 0 "$DARTDUP" station --help
out_has "station --help names --probe" "--probe"
out_has "station --help names --sanitize" "--sanitize"
expect_rc "station without IMAGE" 2 "$DARTDUP" station
expect_rc "station with an unknown option" 2 "$DARTDUP" station img --frobnicate
expect_rc "station --ports without a port" 2 "$DARTDUP" station img --ports
expect_rc "station with a missing image" 2 "$DARTDUP" station "$T/none.dfi"
# --unmount (as write's, docs/STATION.md): a plain switch; the judgement and the unmounting are the door's
expect_rc "station --help names --unmount" 0 "$DARTDUP" station --help
out_has "station --help: --unmount as write's" "as write --unmount"
expect_rc "station --unmount takes no value" 2 "$DARTDUP" station img --unmount=yes
out_has "station --unmount=yes: named" "unknown option --unmount=yes"
expect_rc "station --unmount with a missing image: the image's error, nothing else" 2 "$DARTDUP" station "$T/none.dfi" --unmount
out_has "station --unmount: the image is named" "none.dfi"
expect_rc "station --unmount is not a port" 2 "$DARTDUP" station img --ports --unmount
out_has "station --ports --unmount: no port given" "--ports needs at least one port"
make_image "$T/raw.img" $((3 << 20)) 4
"$DARTDUP" pack "$T/raw.img" -o "$T/img" >/dev/null 2>&1 || not_ok "pack the sample image"

# stop_with SIGNAL [ARGS...]: start a station, wait (bounded) for its ready line, signal it, check it ends
stop_with() {
	local sig=$1 args=("${@:2}") pid rc
	"$DARTDUP" station "$T/img" "${args[@]}" >"$T/st.out" 2>"$T/st.err" &
	pid=$!
	if ! poll_until "$pid" 20 grep -sqE 'Ctrl-C stops|"event":"start"' "$T/st.out"; then
		kill "$pid" 2>/dev/null
		not_ok "station ready ($sig ${args[*]}): $(head -c 300 "$T/st.err")"
		return 1
	fi
	kill -"$sig" "$pid"
	wait "$pid"
	rc=$?
	if [ "$rc" -eq 0 ]; then ok "station stops on SIG$sig ${args[*]}"; else not_ok "station on SIG$sig: exit $rc"; fi
}

if stop_with INT; then
	out_has_file() { if grep -qF -- "$2" "$T/st.out"; then ok "$1"; else not_ok "$1: $(head -c 300 "$T/st.out")"; fi; }
	out_has_file "station prints its totals" "station stopped after"
	out_has_file "totals count nothing done" "0 done (0 written, 0 already held the image), 0 failed"
fi
stop_with INT --unmount
if stop_with TERM --json --probe --sanitize; then
	check "station --json: the start line states probe and sanitize" \
		grep -q '"event":"start".*"probe":true,"sanitize":true' "$T/st.out"
	check "station --json lines follow docs/EVENTS.md" python3 tests/cli/events_check.py station "$T/st.out"
	if tail -1 "$T/st.out" | grep -q '^{"schema":1,"event":"summary".*"done":0.*"failed":0'; then
		ok "station --json ends with a summary event"
	else
		not_ok "station --json summary: $(tail -1 "$T/st.out")"
	fi
fi

# --- port maps: a socket the map names but this machine lacks is reported at start -------------------
printf 'port.A1 = pci-0000:7f:1f.7-usb-0:1.1\nport.B7 = pci-0000:7f:1f.7-usb-0:2.7 pci-0000:7f:1f.7-usb-0:3.7\n' >"$T/ports.conf"
if stop_with INT --port-map "$T/ports.conf" --json; then
	if grep -q '^dartdup: station: 2 port(s) not found on this machine: A1 B7$' "$T/st.err"; then
		ok "station: map sockets that match no port are named on stderr"
	else
		not_ok "station: not-found warning: $(head -c 300 "$T/st.err")"
	fi
	check "station --json start: the map and the sockets not found" \
		grep -q "\"port_map\":\"$T/ports.conf\",\"not_found\":\\[\"A1\",\"B7\"\\]" "$T/st.out"
	check "station --json events match docs/EVENTS.md" python3 tests/cli/events_check.py station "$T/st.out"
fi
if stop_with INT --ports pci-0000:7f:1f.7-usb-0:4; then
	check "station: a --ports entry that matches no port is named" grep -q "not found on this machine: pci-0000:7f:1f.7-usb-0:4" "$T/st.err"
fi
printf 'port.A1 = pci-0000:7f:1f.7-usb-0:1.1\nport.A2 = pci-0000:7f:1f.7-usb-0:1.1\n' >"$T/dup.conf"
expect_rc "station: a port map with a path given twice" 2 "$DARTDUP" station "$T/img" --port-map "$T/dup.conf"
out_has "station: names the file, the line and the path" "dup.conf:2: port.A2: path pci-0000:7f:1f.7-usb-0:1.1 already names port.A1"
expect_rc "station: a missing port map" 2 "$DARTDUP" station "$T/img" --port-map "$T/none.conf"

# --- the screen: colour on a terminal only, never with NO_COLOR; fits a 40x12 terminal ---------------
# not a terminal (stop_with's runs above): plain lines, no escape codes
check "station, not a terminal: no escape codes" bash -c "! grep -q $'\\x1b' '$T/st.out'"
# tty_drawn: the station on the pseudo-terminal drew its view and said its pid
tty_drawn() { grep -sq 'done 0' "$T/tty.out" && [ -s "$T/tty.pid" ]; }
# tty_station NAME ENV...: the station on a pseudo-terminal (script(1)) of 40x12, stopped once it drew its view
tty_station() {
	local name=$1 pid
	rm -f "$T/tty.out" "$T/tty.pid"
	env "${@:2}" script -qfc "stty cols 40 rows 12; echo \$\$ >'$T/tty.pid'; exec '$DARTDUP' station '$T/img' --port-map '$T/ports.conf'" \
		"$T/tty.out" >/dev/null 2>&1 </dev/null &
	pid=$!
	if ! poll_until "$pid" 20 tty_drawn; then
		kill "$pid" 2>/dev/null
		not_ok "$name: no view: $(head -c 300 "$T/tty.out" | cat -v)"
		return 1
	fi
	kill -INT "$(cat "$T/tty.pid")"
	wait "$pid"
}
if tty_station "station on a terminal" TERM=xterm; then
	check "station on a terminal: colour" grep -q $'\x1b\\[1mdartdup station\x1b\\[0m' "$T/tty.out"
	# every frame line (they end with ESC[K) fits 40 columns once the escape codes are out
	check "station at 40x12: no line wider than the screen" python3 - "$T/tty.out" <<'PY'
import re, sys
text = open(sys.argv[1], 'rb').read().decode('utf-8', 'replace')
frames = [l for l in re.split(r'\r?\n', text) if l.endswith('\x1b[K')]
plain = [re.sub(r'\x1b\[[0-9;]*[A-Za-z]', '', l) for l in frames]
sys.exit(0 if frames and max(len(l) for l in plain) <= 40 else 1)
PY
	check "station at 40x12: the counters and the sockets not found are shown" \
		bash -c "grep -q 'done 0  failed 0  refused 0' '$T/tty.out' && grep -q 'not found on this machine' '$T/tty.out'"
	check "station at 40x12: the map's sockets by name, in order" grep -q 'A1   empty.*B7   empty' <(tr -d '\r\n' <"$T/tty.out")
fi
if tty_station "station, NO_COLOR" TERM=xterm NO_COLOR=1; then
	check "station with NO_COLOR: no colour codes" bash -c "! grep -q $'\\x1b\\[[0-9;]*m' '$T/tty.out'"
fi
