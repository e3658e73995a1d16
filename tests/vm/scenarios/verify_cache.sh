# `dartdup verify` reads the stick, not the guest's page cache: after a write, the guest reads the sticks
# through the page cache and keeps them open (so the cache stays), the host changes a few bytes of one stick's
# backing file, and `dartdup verify` must report that stick bad at the right block, the other one good.

IMAGE_SIZE=$((8 << 20))
BLOCK=$((1 << 20))
AT=$((3 * BLOCK + 4242))      # inside block 3

setup() {
	make_image "$VM_OUT/image.img" "$IMAGE_SIZE" 6
	python3 - "$VM_OUT/image.img" <<'PY'
import sys
f = open(sys.argv[1], "r+b")
f.seek(3 << 20)
f.write(bytes(range(1, 256)) * 4112)
PY
}

sticks() {
	stick good 32M
	stick bent 32M hub
}

host() {
	await WRITTEN 240 || return
	printf 'DaRTbent' | dd of="$(stick_file bent)" bs=1 seek="$AT" conv=notrunc status=none
	check "the host changed 8 bytes of a backing file while the guest runs" \
		cmp -s <(printf 'DaRTbent') <(dd if="$(stick_file bent)" bs=1 skip="$AT" count=8 status=none)
	say CHANGED
	await DONE 240
}

guest() {
	local rc g b
	g=$(stick_dev "$(stick_serial good)") b=$(stick_dev "$(stick_serial bent)")
	"$DARTDUP" write "$VM_OUT/image.img" "$g" "$b" --yes >/tmp/write.out 2>&1
	rc=$?
	[ "$rc" = 0 ] && ok "write onto both sticks exits 0" || { not_ok "write: exit $rc: $(tail -c 300 /tmp/write.out)"; return; }
	# hold both open and pull their contents into the page cache (once udev is done with the change events
	# of the write's close, whose partition table re-read would drop the cache)
	udevadm settle --timeout=60
	exec 3<"$g" 4<"$b"
	cat "$g" "$b" >/dev/null
	local before
	before=$(dd if="$b" bs=1 skip="$AT" count=8 status=none | od -An -tx1)
	say WRITTEN
	await CHANGED 120 || { not_ok "the host never changed the backing file"; return; }
	[ "$(dd if="$b" bs=1 skip="$AT" count=8 status=none | od -An -tx1)" = "$before" ] &&
		ok "a buffered read still returns the old bytes (the cache trap is set)" ||
		not_ok "a buffered read already sees the change: the scenario proves nothing"

	"$DARTDUP" verify "$VM_OUT/image.img" "$g" "$b" --json >/tmp/verify.jsonl 2>/tmp/verify.err
	rc=$?
	cp /tmp/verify.jsonl /tmp/verify.err "$VM_SHARE/" 2>/dev/null
	[ "$rc" = 1 ] && ok "verify exits 1" || not_ok "verify: exit $rc, expected 1: $(tail -c 300 /tmp/verify.err)"
	jhas /tmp/verify.jsonl '.event == "done" and .serial == $s and .result == "fail" and .first_bad_offset == $o' \
		--arg s "$(stick_serial bent)" --argjson o $((AT / BLOCK * BLOCK)) && ok "verify reports the changed stick bad at offset $((AT / BLOCK * BLOCK))" ||
		not_ok "verify on the changed stick: $(grep '"done"' /tmp/verify.jsonl | grep -- "$(stick_serial bent)")"
	jhas /tmp/verify.jsonl '.event == "done" and .serial == $s and .result == "pass"' --arg s "$(stick_serial good)" && ok "verify passes the untouched stick" ||
		not_ok "verify on the untouched stick: $(grep '"done"' /tmp/verify.jsonl | grep -- "$(stick_serial good)")"
	exec 3<&- 4<&-
}
