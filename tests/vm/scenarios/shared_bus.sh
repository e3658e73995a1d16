# Sticks that share a bus (issue 21): eight reused sticks (random bytes) behind the emulated hub in one QEMU
# throttle group, as USB 2 sticks behind one hub share its bandwidth: one write and one read limit for all of
# them. `dartdup write --all` writes and verifies them; every one must pass and hold the image, and the run is
# measured against the bus: utilisation = (bytes written / the group's write limit + bytes read back / its read
# limit) / the time the sticks were busy (first write to last verify). 1.0 is as fast as the bus allows when
# writes come before reads; the figure is printed and recorded in docs/PERFORMANCE.md, not asserted (timing).
IMAGE_SIZE=$((6 << 20))
BUS_WBPS=3000000 BUS_RBPS=6000000
VM_TIMEOUT=420

setup() {
	make_image "$VM_OUT/image.img" "$IMAGE_SIZE" 21
}

sticks() {
	bus hub1 wbps=$BUS_WBPS rbps=$BUS_RBPS || return 1
	local i
	for i in 1 2 3 4 5 6 7 8; do
		stick "s$i" 16M hub bus=hub1 fill=random || return 1
	done
}

guest() {
	local rc ev=/tmp/events.jsonl
	"$DARTDUP" write "$VM_OUT/image.img" --all --yes --json >"$ev" 2>/tmp/write.err
	rc=$?
	cp "$ev" /tmp/write.err "$VM_SHARE/" 2>/dev/null
	[ "$rc" = 0 ] && ok "write to 8 sticks on one shared bus exits 0" ||
		{ not_ok "write: exit $rc: $(tail -c 300 /tmp/write.err)"; return; }
	check "all 8 sticks pass" test "$(jq -s '[.[] | select(.event == "done" and .result == "pass")] | length' "$ev")" = 8
	local s ok_all=1
	for s in 1 2 3 4 5 6 7 8; do
		cmp -s -n "$IMAGE_SIZE" "$VM_OUT/image.img" "$(stick_dev "$(stick_serial "s$s")")" || ok_all=0
	done
	check "every stick (random before) holds the image" test "$ok_all" = 1
	local w r span util
	w=$(jq -s '[.[] | select(.event == "done") | .bytes_written] | add' "$ev")
	r=$(jq -s '[.[] | select(.event == "done") | .bytes_verified] | add' "$ev")
	span=$(jq -s '[.[] | select(.event == "done")] | (map(.t) | max) - (map(.t - .write_seconds - .verify_seconds) | min)' "$ev")
	util=$(awk -v w="$w" -v r="$r" -v s="$span" -v wl="$BUS_WBPS" -v rl="$BUS_RBPS" \
		'BEGIN { if (s > 0) printf "%.2f", (w / wl + r / rl) / s }')
	echo "# shared bus: $w bytes written, $r read back in $span s; limits $BUS_WBPS B/s write, $BUS_RBPS B/s read"
	echo "# shared bus: utilisation $util"
	check "the bus numbers are there (bytes written and read, a time span)" test -n "$util"
	echo "BUS_UTILISATION=$util" >"$VM_SHARE/bus.env"
}
