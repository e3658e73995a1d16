# Mixed speeds: two free sticks and two throttled to 1.5 MB/s (reads and writes). In the JSON events each free
# stick finishes before either slow one (no slow stick holds the others back), and the whole run takes about one
# slow stick's own time, not the sum of them (the sticks run in parallel).

IMAGE_SIZE=$((8 << 20))

setup() {
	make_image "$VM_OUT/image.img" "$IMAGE_SIZE" 4
}

sticks() {
	stick fast1 32M
	stick slow1 32M bps=1500000
	stick fast2 32M hub
	stick slow2 32M hub bps=1500000
}

guest() {
	local rc ev=/tmp/events.jsonl
	"$DARTDUP" write "$VM_OUT/image.img" --all --yes --json >"$ev" 2>/tmp/write.err
	rc=$?
	cp "$ev" /tmp/write.err "$VM_SHARE/" 2>/dev/null
	[ "$rc" = 0 ] && ok "write exits 0" || { not_ok "write: exit $rc: $(tail -c 300 /tmp/write.err)"; return; }
	local f1 f2 s1 s2 total slowest
	done_t() { jq -r --arg s "$(stick_serial "$1")" 'select(.event == "done" and .serial == $s) | .t' "$ev"; }
	f1=$(done_t fast1) f2=$(done_t fast2) s1=$(done_t slow1) s2=$(done_t slow2)
	echo "# done at: fast1 $f1 s, fast2 $f2 s, slow1 $s1 s, slow2 $s2 s"
	if awk -v a="$f1" -v b="$f2" -v c="$s1" -v d="$s2" 'BEGIN { exit !(a != "" && b != "" && c != "" && d != "" &&
		(a > b ? a : b) < (c < d ? c : d)) }'; then
		ok "both free sticks finish before either throttled one"
	else
		not_ok "finish order: fast1 $f1, fast2 $f2, slow1 $s1, slow2 $s2"
	fi
	total=$(jq -r 'select(.event == "summary") | .t' "$ev")
	slowest=$(jq -s '[.[] | select(.event == "done") | .write_seconds + .verify_seconds] | max' "$ev")
	echo "# whole run $total s; slowest stick's own write+verify $slowest s"
	# in series the two slow sticks alone would take twice the slowest one's time
	if awk -v t="$total" -v s="$slowest" 'BEGIN { exit !(t != "" && s > 0 && t < 1.5 * s) }'; then
		ok "the whole run takes less than 1.5 x the slowest stick's own time"
	else
		not_ok "the whole run took $total s; the slowest stick's own time $slowest s"
	fi
}
