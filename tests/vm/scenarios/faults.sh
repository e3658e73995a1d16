# The rig's fault plumbing, kernel only (what the dartdup scenarios rely on): a blkdebug stick fails writes or
# reads touching its bad sector with EIO in the guest and nowhere else; a throttled stick is slower than a free
# one; bytes changed in a backing file while the guest runs are what an O_DIRECT read returns, while a buffered
# read still returns the guest's cached copy (the trap `dartdup verify` must avoid).

sticks() {
	stick w 32M error=write:8192      # byte 4 MiB
	stick r 32M error=read:4096       # byte 2 MiB
	stick c 32M
	stick fast 32M
	stick slow 32M wbps=1000000
}

host() {
	await WRITTEN 180 || return
	# change 4 bytes at 1 MiB + 100 behind the guest's back
	printf 'XXXX' | dd of="$(stick_file c)" bs=1 seek=$(((1 << 20) + 100)) conv=notrunc status=none
	say CHANGED
	await DONE 120
}

# ddo DEV OFFSET_BYTES COUNT_4K [read|write]: one O_DIRECT transfer, status of dd
ddo() {
	if [ "$4" = write ]; then
		dd if=/dev/zero bs=4096 count="$3" seek=$(($2 / 4096)) of="$1" oflag=direct conv=notrunc status=none 2>/dev/null
	else
		dd if="$1" bs=4096 count="$3" skip=$(($2 / 4096)) iflag=direct of=/dev/null status=none 2>/dev/null
	fi
}

guest() {
	local w r c f s
	w=$(stick_dev "$(stick_serial w)") r=$(stick_dev "$(stick_serial r)") c=$(stick_dev "$(stick_serial c)")
	f=$(stick_dev "$(stick_serial fast)") s=$(stick_dev "$(stick_serial slow)")

	check "write error stick: writes before the bad sector work" ddo "$w" 0 256 write
	if ddo "$w" $((4 << 20)) 1 write; then not_ok "write error stick: write at sector 8192 succeeded"
	else ok "write error stick: write at sector 8192 fails"; fi
	check "write error stick: reads work" ddo "$w" $((4 << 20)) 1 read
	check "read error stick: reads before the bad sector work" ddo "$r" 0 256 read
	if ddo "$r" $((2 << 20)) 1 read; then not_ok "read error stick: read at sector 4096 succeeded"
	else ok "read error stick: read at sector 4096 fails"; fi
	check "read error stick: writes work" ddo "$r" $((2 << 20)) 1 write

	# throttling: 4 MiB to both at once; the free stick must finish first
	dd if=/dev/zero of="$s" bs=1M count=4 oflag=direct status=none & local ps=$!
	dd if=/dev/zero of="$f" bs=1M count=4 oflag=direct status=none & local pf=$!
	wait -n -p first "$ps" "$pf"
	wait
	[ "$first" = "$pf" ] && ok "the free stick finishes before the throttled one" ||
		not_ok "the throttled stick finished first"

	# the cache trap: the page cache of a block device lives while someone holds it open (the last close
	# drops it), so hold it open the way a desktop's disk monitor or a second tool might
	exec 3<"$c"
	printf 'AAAA' | dd of="$c" bs=1 seek=$(((1 << 20) + 100)) conv=notrunc status=none && sync
	# closing a disk after writing makes udev re-read its partition table, which drops the disk's page
	# cache: let that happen now, then read the bytes back into the cache
	udevadm settle --timeout=60
	[ "$(dd if="$c" bs=1 skip=$(((1 << 20) + 100)) count=4 status=none)" = AAAA ] &&
		ok "cache stick: buffered read after write" || not_ok "cache stick: buffered read after write"
	say WRITTEN
	await CHANGED 120 || { not_ok "host never changed the backing file"; return; }
	[ "$(dd if="$c" bs=1 skip=$(((1 << 20) + 100)) count=4 status=none)" = AAAA ] &&
		ok "cache stick: a buffered read still returns the cached bytes" ||
		not_ok "cache stick: a buffered read saw the host's change (no cache to be fooled by?)"
	[ "$(dd if="$c" bs=4096 skip=256 count=1 iflag=direct status=none | dd bs=1 skip=100 count=4 status=none)" = XXXX ] &&
		ok "cache stick: an O_DIRECT read returns the bytes changed on the host" ||
		not_ok "cache stick: an O_DIRECT read missed the host's change"
	exec 3<&-
}
