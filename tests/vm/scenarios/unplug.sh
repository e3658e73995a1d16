# A stick pulled out (QMP device_del) in the middle of `dartdup write`: that target fails with a reason, the
# others pass, the exit status is 1 and the audit log says which stick failed and why.

IMAGE_SIZE=$((16 << 20))

sticks() {
	stick a 32M
	stick b 32M hub
	stick c 32M
	stick victim 32M wbps=1000000    # slow enough (16 s of writing) to be pulled out mid-write
}

setup() {
	make_image "$VM_OUT/image.img" "$IMAGE_SIZE" 3
}

host() {
	await WRITING 240 || return
	check "QMP device_del pulls the victim out mid-write" unplug victim
	say UNPLUGGED
	await DONE 240
}

guest() {
	local v pid rc id
	v=$(stick_serial victim)
	"$DARTDUP" write "$VM_OUT/image.img" --all --yes --json --log /tmp/audit.jsonl >/tmp/events.jsonl 2>/tmp/write.err &
	pid=$!
	# pull it once the victim has written something: its progress events show bytes written
	local deadline=$((SECONDS + 180))
	until jhas /tmp/events.jsonl '.event == "progress" and .serial == $s and .bytes_written > 0' --arg s "$v"; do
		if ! kill -0 "$pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
			not_ok "the victim never reported progress"
			break
		fi
		nap 0.5
	done
	say WRITING
	await UNPLUGGED 120 || not_ok "the host never pulled the victim"
	wait "$pid"
	rc=$?
	cp /tmp/events.jsonl /tmp/audit.jsonl /tmp/write.err "$VM_SHARE/" 2>/dev/null
	[ "$rc" = 1 ] && ok "write exits 1" || not_ok "write: exit $rc, expected 1: $(tail -c 300 /tmp/write.err)"
	jhas /tmp/audit.jsonl '.serial == $s and .result == "fail" and (.error | length) > 0' --arg s "$v" &&
		ok "audit: the victim failed: $(jq -r --arg s "$v" 'select(.serial == $s) | .error' /tmp/audit.jsonl)" ||
		not_ok "audit: no failing record with an error for the victim: $(grep -- "$v" /tmp/audit.jsonl)"
	for id in a b c; do
		jhas /tmp/audit.jsonl '.serial == $s and .result == "pass"' --arg s "$(stick_serial "$id")" &&
			ok "audit: stick $id passed" || not_ok "audit: stick $id did not pass"
	done
	[ "$(wc -l </tmp/audit.jsonl)" = 4 ] && ok "4 audit records" || not_ok "$(wc -l </tmp/audit.jsonl) audit records"
}

after() {
	local id
	for id in a b c; do
		cmp -n "$IMAGE_SIZE" "$VM_OUT/image.img" "$(stick_file "$id")" >/dev/null &&
			ok "backing file of $id equals the image" || not_ok "backing file of $id differs from the image"
	done
	# the first block goes last: an interrupted stick must never look bootable
	if cmp -n 512 "$VM_OUT/image.img" "$(stick_file victim)" >/dev/null; then
		not_ok "the pulled stick got the image's first block"
	else
		ok "the pulled stick did not get the first block"
	fi
}
