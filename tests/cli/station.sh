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
	local sig=$1 args=("${@:2}") pid rc deadline
	"$DARTDUP" station "$T/img" "${args[@]}" >"$T/st.out" 2>"$T/st.err" &
	pid=$!
	deadline=$((SECONDS + 20))
	until grep -qE 'Ctrl-C stops|"event":"start"' "$T/st.out" 2>/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
			kill "$pid" 2>/dev/null
			not_ok "station ready ($sig ${args[*]}): $(head -c 300 "$T/st.err")"
			return 1
		fi
		sleep 0.05
	done
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
