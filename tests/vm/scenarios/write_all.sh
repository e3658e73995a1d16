# `dartdup write --all --yes` onto 8 emulated sticks (5 on root ports, 3 behind the hub): all pass, the audit
# log has one passing record per stick with its serial and port, and after the guest powered off every backing
# file equals the image (checked from outside, byte for byte over the image's length). The sticks are reused
# ones (random bytes before the guest starts) and the image has zero MiBs, so a PASS that skipped the image's
# zero blocks leaves the old bytes there and fails the comparison.

IMAGE_SIZE=$((24 << 20))

sticks() {
	local i
	for i in 1 2 3 4 5; do stick "s$i" 32M fill=random; done
	for i in 6 7 8; do stick "s$i" 32M hub fill=random; done
	disk sys 32M
}

setup() {
	make_image "$VM_OUT/image.img" "$IMAGE_SIZE" 8
}

guest() {
	local rc id s
	"$DARTDUP" write "$VM_OUT/image.img" --all --yes --json --log /tmp/audit.jsonl >/tmp/events.jsonl 2>/tmp/write.err
	rc=$?
	cp /tmp/events.jsonl /tmp/audit.jsonl /tmp/write.err "$VM_SHARE/" 2>/dev/null
	[ "$rc" = 0 ] && ok "write --all --yes exits 0" || not_ok "write --all --yes: exit $rc: $(tail -c 300 /tmp/write.err)"
	[ "$(jq -s '[.[] | select(.event == "summary")][0] | [.targets, .pass] | @csv' /tmp/events.jsonl)" = '"8,8"' ] &&
		ok "the summary counts 8 targets, 8 passed" || not_ok "summary: $(grep '"summary"' /tmp/events.jsonl)"
	[ "$(wc -l </tmp/audit.jsonl)" = 8 ] && ok "8 audit records" || not_ok "$(wc -l </tmp/audit.jsonl) audit records"
	for id in s1 s2 s3 s4 s5 s6 s7 s8; do
		s=$(stick_serial "$id")
		jhas /tmp/audit.jsonl '.serial == $s and .port == $p and .result == "pass"' --arg s "$s" --arg p "$(stick_id_path "$id")" && ok "audit: $id ($s) passed at its port" ||
			not_ok "audit: no passing record for $id ($s, $(stick_id_path "$id"))"
	done
}

after() {
	local id out
	for id in s1 s2 s3 s4 s5 s6 s7 s8; do
		out=$(cmp -n "$IMAGE_SIZE" "$VM_OUT/image.img" "$(stick_file "$id")" 2>&1) &&
			ok "backing file of $id (random before) equals the image" ||
			not_ok "backing file of $id (random before) differs from the image: ${out##*: }"
	done
	cmp -s "$VM_OUT/sticks/sys.img" <(head -c $((32 << 20)) /dev/zero) && ok "the virtio disk is untouched" ||
		not_ok "the virtio disk was written to"
	# the event lines and audit records as docs/EVENTS.md specifies them
	out=$(python3 "$VM_REPO/tests/cli/events_check.py" write "$VM_SHARE/events.jsonl" 2>&1) &&
		ok "write --json lines as docs/EVENTS.md says" || not_ok "write --json lines: ${out//$'\n'/; }"
	out=$(python3 "$VM_REPO/tests/cli/events_check.py" audit "$VM_SHARE/audit.jsonl" 2>&1) &&
		ok "audit records as docs/EVENTS.md says" || not_ok "audit records: ${out//$'\n'/; }"
}
