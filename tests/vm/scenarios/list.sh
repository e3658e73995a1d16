# `dartdup list` in the guest: exactly the emulated sticks are eligible, each with its serial and USB port path
# (also behind the hub); the guest's virtio disk is listed as excluded with a reason, and `write` refuses it
# (exit 2) without touching a byte.

sticks() {
	stick a 32M
	stick b 64M
	stick c 32M hub
	disk sys 64M
}

setup() {
	make_image "$VM_OUT/image.img" $((8 << 20)) 1
}

guest() {
	local json=/tmp/list.json id s d
	if "$DARTDUP" list --json >"$json" 2>/tmp/list.err; then ok "dartdup list --json exits 0"
	else not_ok "dartdup list --json: exit $?: $(head -c 300 /tmp/list.err)"; return; fi
	cp "$json" "$VM_SHARE/list.json"

	for id in a b c; do
		s=$(stick_serial "$id") d=$(stick_dev "$s")
		jq -e --arg s "$s" --arg d "$d" '.disks[] | select(.serial == $s and .device == $d and .eligible == true and .usb == true)' \
			"$json" >/dev/null && ok "stick $id ($s, $d) is listed eligible" || not_ok "stick $id ($s, $d) not listed eligible"
		jq -e --arg s "$s" --arg p "$(stick_id_path "$id")" '.disks[] | select(.serial == $s and .port == $p)' \
			"$json" >/dev/null && ok "stick $id has port $(stick_id_path "$id")" ||
			not_ok "stick $id: port $(jq -r --arg s "$s" '.disks[] | select(.serial == $s) | .port' "$json"), expected $(stick_id_path "$id")"
	done
	[ "$(jq '[.disks[] | select(.eligible)] | length' "$json")" = 3 ] && ok "exactly the 3 sticks are eligible" ||
		not_ok "eligible: $(jq -c '[.disks[] | select(.eligible) | .device]' "$json")"
	jq -e '.disks[] | select(.device == "/dev/vda" and .eligible == false and (.reason | length) > 0)' "$json" >/dev/null &&
		ok "the virtio disk is excluded: $(jq -r '.disks[] | select(.device == "/dev/vda") | .reason' "$json")" ||
		not_ok "the virtio disk is not listed as excluded with a reason"

	"$DARTDUP" list >/tmp/list.txt 2>&1
	local missing=
	for id in a b c; do grep -q -- "$(stick_serial "$id")" /tmp/list.txt || missing+=" $id"; done
	grep -q '^/dev/vda.*no: ' /tmp/list.txt || missing+=" vda-reason"
	[ -z "$missing" ] && ok "the text listing shows every serial and the excluded disk's reason" ||
		not_ok "text listing lacks:$missing"

	"$DARTDUP" write "$VM_OUT/image.img" /dev/vda --yes >/tmp/refused.txt 2>&1
	local rc=$?
	[ "$rc" = 2 ] && ok "write onto the virtio disk is refused with exit 2" ||
		not_ok "write onto /dev/vda: exit $rc: $(head -c 300 /tmp/refused.txt)"
}

after() {
	# untouched: the virtio disk's backing file is still all zeros (and sparse)
	if cmp -s "$VM_OUT/sticks/sys.img" <(head -c $((64 << 20)) /dev/zero); then ok "the refused virtio disk is untouched"
	else not_ok "the refused virtio disk was written to"; fi
}
