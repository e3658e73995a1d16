# dartdup station in a real kernel: sticks hot-added over QMP while the station runs are written, verified and
# ejected; a stick pulled mid-write fails and its slot takes the next stick; a stick that already holds the image
# is recognised without rewriting; with --probe a counterfeit stick (nbdkit: 64 MiB announced, writes past
# 16 MiB wrap around) is caught and a genuine one passes. Every result is in the audit log. The sticks are
# reused ones (random bytes before the guest starts) and the image has a zero MiB: a stick holding the image
# except that zero MiB is rewritten, not taken as "already"; after the guest stopped, every stick that
# passed (or already held the image) equals the image byte for byte over its range. A stick too small for the
# image is refused, and its audit record still names it (port, serial, capacity from sysfs) with the reason.

VM_TIMEOUT=300   # under a loaded 2-core host the guest crawls; it takes ~100 s when alone

IMG_MIB=4

sticks() {
	# the image, made on the host in the shared folder (same path in the guest)
	# random MiBs with one zero MiB (a whole 1 MiB block of the package) before the last
	python3 -c 'import random,sys; r=random.Random(8); n=int(sys.argv[1]) - 2; sys.stdout.buffer.write(r.randbytes(n << 20) + bytes(1 << 20) + r.randbytes(1 << 20))' \
		"$IMG_MIB" >"$VM_SHARE/image.img"
	"$DARTDUP" pack "$VM_SHARE/image.img" -o "$VM_SHARE/image.dfi" >/dev/null || return 1
	stick a 32M later port=1 fill=random
	stick b 32M later port=2 wbps=100000 fill=random
	stick c 32M later port=2 fill=random
	stick d 32M later port=3 fill=random
	stick e 64M later port=4 fake=wrap:16M
	stick f 64M later port=5 fill=random
	# g is too small for the image: refused, and its record still names it (serial, port, capacity)
	stick g 2M later port=6 fill=random
	# d already holds the image (as a stick written yesterday would), random bytes after it
	dd if="$VM_SHARE/image.img" of="$(stick_file d)" conv=notrunc status=none
	# c held the image once, then its zero MiB got other bytes: not "already", it must be rewritten
	dd if="$VM_SHARE/image.img" of="$(stick_file c)" conv=notrunc status=none
	dd if=/dev/urandom of="$(stick_file c)" bs=1M seek=$((IMG_MIB - 2)) count=1 conv=notrunc status=none
}

host() {
	await BOOTED 180 || return
	await STATIONS 60 || return
	check "host: plug b (slow)" plug b
	await B_WRITING 90 || return
	check "host: pull b mid-write" unplug b
	# at once: b's job may still be winding down when c arrives; c then waits for the slot
	check "host: plug c into b's port" plug c
	# the rest without waiting: each stick goes at its own pace
	check "host: plug a, d, e (counterfeit), f and g (too small)" eval 'plug a && plug d && plug e && plug f && plug g'
	await DONE 150
}

# wait_result SERIAL [SECONDS]: waits for the station's result event of that stick; prints the line
wait_result() {
	local deadline=$((SECONDS + ${2:-90})) line
	while :; do
		line=$(grep -F '"event":"result"' "$EV" 2>/dev/null | grep -F "\"serial\":\"$1\"" | tail -1)
		[ -n "$line" ] && { echo "$line"; return 0; }
		[ "$SECONDS" -ge "$deadline" ] && return 1
		kill -0 "$ST_PID" 2>/dev/null || { echo "# station died: $(cat "$EV.err")" >&2; return 1; }
		sleep 0.2
	done
}

# wait_phase SERIAL PHASE [SECONDS]
wait_phase() {
	local deadline=$((SECONDS + ${3:-60}))
	until grep -F "\"serial\":\"$1\"" "$EV" 2>/dev/null | grep -qF "\"phase\":\"$2\""; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		kill -0 "$ST_PID" 2>/dev/null || return 1
		sleep 0.1
	done
}

# stop_station [PID]: Ctrl-C, then wait for it to print its summary and exit (ST_RC)
stop_station() {
	local pid=${1:-$ST_PID}
	kill -INT "$pid" 2>/dev/null
	wait "$pid"
	ST_RC=$?
}

PORT=pci-0000:00:05.0-usb-0

field() { sed -n "s/.*\"$1\":\\([^,}]*\\).*/\\1/p"; }

guest() {
	local img=$VM_SHARE/image.dfi log=$VM_SHARE/audit.jsonl r sa sb sc ev1 ev2 pid1 pid2
	# two stations side by side, each on its own ports: the plain one on ports 1-3, --probe on 4-5
	ev1=$VM_SHARE/events1.jsonl ev2=$VM_SHARE/events2.jsonl
	"$DARTDUP" station "$img" --json --log "$log" --ports $PORT:1 $PORT:2 $PORT:3 $PORT:6 >"$ev1" 2>"$ev1.err" &
	pid1=$!
	"$DARTDUP" station "$img" --json --probe --log "$log" --ports $PORT:4 $PORT:5 >"$ev2" 2>"$ev2.err" &
	pid2=$!
	EV=$ev1 ST_PID=$pid1
	until grep -q '"event":"start"' "$ev1" 2>/dev/null && grep -q '"event":"start"' "$ev2" 2>/dev/null; do
		kill -0 $pid1 2>/dev/null && kill -0 $pid2 2>/dev/null || { not_ok "stations start: $(cat "$ev1.err" "$ev2.err")"; return; }
		sleep 0.1
	done
	say STATIONS

	wait_phase "$(stick_serial b)" write 60 || not_ok "stick b never reached the write phase"
	say B_WRITING
	r=$(wait_result "$(stick_serial b)" 60) || { not_ok "stick b: no result after the pull"; stop_station $pid1; stop_station $pid2; return; }
	echo "$r" | grep -q '"result":"pulled"' && ok "stick pulled mid-write is reported pulled" || not_ok "stick b: $r"
	echo "$r" | grep -q '"good":false' && ok "pulled stick is not good" || not_ok "stick b: $r"
	sb=$(echo "$r" | field slot)

	r=$(wait_result "$(stick_serial a)") || not_ok "stick a: no result"
	echo "$r" | grep -q '"result":"pass"' && ok "hot-added stick a written and verified" || not_ok "stick a: $r"
	sa=$(echo "$r" | field slot)
	if wait_stick_gone "$(stick_serial a)" 30; then ok "stick a ejected after its pass"; else not_ok "stick a still attached"; fi

	r=$(wait_result "$(stick_serial d)") || not_ok "stick d: no result"
	echo "$r" | grep -q '"result":"already"' && ok "stick already holding the image is recognised" ||
		not_ok "stick d: $r"
	grep -F "\"serial\":\"$(stick_serial d)\"" "$EV" | grep -qF '"phase":"write"' &&
		not_ok "stick d was rewritten" || ok "stick d was not rewritten"

	r=$(wait_result "$(stick_serial c)") || not_ok "stick c: no result"
	echo "$r" | grep -q '"result":"pass"' && ok "next stick in the freed slot passes" || not_ok "stick c: $r"
	grep -F "\"serial\":\"$(stick_serial c)\"" "$EV" | grep -qF '"phase":"write"' &&
		ok "stick c (the image but stale bytes in its zero MiB) is rewritten, not taken as already" ||
		not_ok "stick c (stale bytes in the image's zero MiB) was not rewritten"
	sc=$(echo "$r" | field slot)
	[ "$sc" = "$sb" ] && [ "$sc" = 2 ] && [ "$sa" = 1 ] && ok "--ports order is the slot order; same port, same slot" ||
		not_ok "slots: a=$sa b=$sb c=$sc"

	r=$(wait_result "$(stick_serial g)") || not_ok "stick g: no result"
	echo "$r" | grep -q '"result":"refused"' && ok "a stick too small for the image is refused" || not_ok "stick g: $r"

	EV=$ev2 ST_PID=$pid2
	r=$(wait_result "$(stick_serial e)" 120) || not_ok "stick e: no result"
	echo "$r" | grep -q '"result":"counterfeit"' && ok "--probe catches the counterfeit stick" || not_ok "stick e: $r"
	echo "$r" | grep -q 'holds 16.00 MiB of the announced 64.00 MiB' && ok "probe reports real 16 MiB of 64 MiB" ||
		not_ok "stick e: $r"
	r=$(wait_result "$(stick_serial f)" 120) || not_ok "stick f: no result"
	echo "$r" | grep -q '"result":"pass"' && ok "a genuine stick passes the probe and is written" || not_ok "stick f: $r"
	grep -F "\"serial\":\"$(stick_serial f)\"" "$EV" | grep -qF '"phase":"probe"' && ok "stick f was probed" ||
		not_ok "stick f: no probe phase"

	stop_station $pid1
	[ "$ST_RC" = 1 ] && ok "station exits 1 after a failed stick" || not_ok "station 1 exit status $ST_RC"
	tail -1 "$ev1" | grep -q '"event":"summary".*"done":3,"passed":2,"already":1,"failed":1' &&
		ok "totals: 3 done (2 written, 1 already), 1 failed" || not_ok "summary: $(tail -1 "$ev1")"
	[ "$(grep -c '"event":"stick"' "$ev1")" = 5 ] && ok "each stick was taken once, only on its own ports" ||
		not_ok "station 1 stick events: $(grep -c '"event":"stick"' "$ev1")"
	stop_station $pid2
	[ "$(grep -c '"event":"stick"' "$ev2")" = 2 ] && ok "a failed stick left in is not taken again" ||
		not_ok "station 2 stick events: $(grep -c '"event":"stick"' "$ev2")"

	for id in a b c d e f g; do
		grep -F "\"serial\":\"$(stick_serial $id)\"" "$log" >/dev/null || not_ok "audit log lacks stick $id"
	done
	[ "$(wc -l <"$log")" = 7 ] && ok "audit log: one record per stick" || not_ok "audit log: $(wc -l <"$log") lines"
	grep -F "\"serial\":\"$(stick_serial e)\"" "$log" | grep -q '"result":"fail".*counterfeit' &&
		ok "audit record of the counterfeit stick" || not_ok "audit e: $(grep -F "$(stick_serial e)" "$log")"
	r=$(grep -F "\"serial\":\"$(stick_serial g)\"" "$log")
	echo "$r" | grep -q "\"port\":\"$PORT:6[:\"].*\"capacity\":2097152,\"result\":\"refused\",\"reason\":\"[^\"]" &&
		ok "audit record of the refused stick: its port, serial, capacity and reason from sysfs" ||
		not_ok "audit g: $r"
}

after() {
	local n=$((IMG_MIB << 20)) id out
	for id in a c d f; do
		out=$(cmp -n "$n" "$VM_SHARE/image.img" "$(stick_file "$id")" 2>&1) &&
			ok "after: stick $id (random before) holds the image" ||
			not_ok "after: stick $id (random before) differs from the image: ${out##*: }"
	done
	# the event lines and audit records as docs/EVENTS.md specifies them
	for id in events1 events2; do
		out=$(python3 "$VM_REPO/tests/cli/events_check.py" station "$VM_SHARE/$id.jsonl" 2>&1) &&
			ok "after: station --json lines ($id) as docs/EVENTS.md says" || not_ok "after: $id: ${out//$'\n'/; }"
	done
	out=$(python3 "$VM_REPO/tests/cli/events_check.py" audit "$VM_SHARE/audit.jsonl" 2>&1) &&
		ok "after: audit records as docs/EVENTS.md says" || not_ok "after: audit records: ${out//$'\n'/; }"
}
