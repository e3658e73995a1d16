# The station's `upgraded` end to end (docs/BOARD.md "Upgraded sticks"): version 2.0 of an image is written
# with `--known` version 1.0 of the same name (the two share their first block and differ in the second, so
# recognising 1.0 takes the block where the versions differ). A stick holding 1.0 passes "upgraded from
# version 1.0" (the JSON result event, the audit record, and in a second station without --json its result
# line); a reused stick holding neither passes, not upgraded; a stick already holding 2.0 is kept ("already"),
# not upgraded. Afterwards every written stick equals 2.0 byte for byte.
IMG_MIB=3

sticks() {
	# 1.0: random MiBs; 2.0: the same but for its second MiB
	python3 - "$VM_SHARE" "$IMG_MIB" <<-'PY' || return 1
	import random, sys
	d, n = sys.argv[1], int(sys.argv[2])
	r = random.Random(11)
	v1 = r.randbytes(n << 20)
	v2 = v1[:1 << 20] + r.randbytes(1 << 20) + v1[2 << 20:]
	open(d + "/v1.img", "wb").write(v1)
	open(d + "/v2.img", "wb").write(v2)
	PY
	"$DARTDUP" pack "$VM_SHARE/v1.img" -o "$VM_SHARE/v1.dfi" --name "dart sample" --version 1.0 >/dev/null || return 1
	"$DARTDUP" pack "$VM_SHARE/v2.img" -o "$VM_SHARE/v2.dfi" --name "dart sample" --version 2.0 >/dev/null || return 1
	stick old 16M port=1 fill=random   # written with 1.0 last month
	stick fresh 16M port=2 fill=random # a reused stick holding neither
	stick same 16M port=3 fill=random  # already holds 2.0
	stick old2 16M port=4 fill=random  # 1.0 too, for the station without --json
	dd if="$VM_SHARE/v1.img" of="$(stick_file old)" conv=notrunc status=none
	dd if="$VM_SHARE/v1.img" of="$(stick_file old2)" conv=notrunc status=none
	dd if="$VM_SHARE/v2.img" of="$(stick_file same)" conv=notrunc status=none
}

# result FILE ID: the JSON result event of that stick ("" if none yet)
result() { grep -F '"event":"result"' "$1" | grep -F "\"serial\":\"$(stick_serial "$2")\"" | tail -1; }
has_result() { [ -n "$(result "$1" "$2")" ]; }
# record ID: the stick's audit record
record() { grep -F "\"serial\":\"$(stick_serial "$1")\"" "$VM_SHARE/audit.jsonl" | tail -1; }

guest() {
	local ev=/tmp/events.jsonl text=/tmp/station.txt pj pt r id
	"$DARTDUP" station "$VM_SHARE/v2.dfi" --known "$VM_SHARE/v1.dfi" --json --existing --no-eject \
		--log "$VM_SHARE/audit.jsonl" --ports "$(stick_port_path old)" "$(stick_port_path fresh)" \
		"$(stick_port_path same)" >"$ev" 2>/tmp/events.err &
	pj=$!
	"$DARTDUP" station "$VM_SHARE/v2.dfi" --known "$VM_SHARE/v1.dfi" --existing --no-eject \
		--ports "$(stick_port_path old2)" >"$text" 2>&1 &
	pt=$!
	for id in old fresh same; do
		check "station --json: a result for stick $id" wait_for 120 has_result "$ev" "$id" ||
			sed 's/^/# station: /' /tmp/events.err
	done
	check "station (lines): a result for stick old2" wait_for 120 grep -q "$(stick_serial old2): " "$text"
	kill -INT "$pj" "$pt"
	wait "$pj"
	wait "$pt"
	sed 's/^/# lines: /' "$text"

	r=$(result "$ev" old)
	echo "# $r"
	check "the stick holding 1.0: pass, upgraded from 1.0 (JSON)" \
		jis "$r" '.result == "pass" and .good and .upgraded == true and .upgraded_from == "1.0"'
	check "...and rewritten (a write phase)" grep -q "\"serial\":\"$(stick_serial old)\".*\"phase\":\"write\"" "$ev"
	check "...its audit record says upgraded_from 1.0" \
		jis "$(record old)" '.result == "pass" and .upgraded_from == "1.0"'
	r=$(result "$ev" fresh)
	echo "# $r"
	check "a stick holding neither: pass, not upgraded" \
		jis "$r" '.result == "pass" and .upgraded == false and .upgraded_from == null'
	check "...no upgraded_from in its audit record" \
		jis "$(record fresh)" '.result == "pass" and (has("upgraded_from") | not)'
	r=$(result "$ev" same)
	echo "# $r"
	check "a stick already holding 2.0: kept (already), not upgraded" \
		jis "$r" '.result == "already" and .upgraded == false'
	check "the station's line for the stick holding 1.0 says upgraded from version 1.0" \
		grep -q "$(stick_serial old2): pass, upgraded from version 1.0 in " "$text"
}

after() {
	local id n
	n=$((IMG_MIB << 20))
	for id in old fresh same old2; do
		check "after: stick $id holds 2.0" cmp -s -n "$n" "$VM_SHARE/v2.img" "$(stick_file "$id")"
	done
}
