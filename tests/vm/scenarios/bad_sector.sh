# Sticks whose backing fails at one sector (QEMU blkdebug, EIO in the guest's kernel): one fails writes there,
# one fails reads there. Each target fails alone, naming the offset of the 1 MiB block holding that sector in
# its audit record and JSON event; the good stick passes; the exit status is 1.

IMAGE_SIZE=$((12 << 20))
BLOCK=$((1 << 20))
WSECTOR=$((5 * 2048 + 77))     # inside block 5
RSECTOR=$((9 * 2048 + 1500))   # inside block 9

setup() {
	make_image "$VM_OUT/image.img" "$IMAGE_SIZE" 5
	# both blocks must hold data, or the engine would skip them as zero blocks
	python3 - "$VM_OUT/image.img" <<'PY'
import sys
f = open(sys.argv[1], "r+b")
for blk in (5, 9):
    f.seek(blk << 20)
    f.write(bytes((blk * 7 + i) % 251 + 1 for i in range(1 << 20)))
PY
}

sticks() {
	stick good 32M
	stick werr 32M error=write:$WSECTOR
	stick rerr 32M hub error=read:$RSECTOR
}

guest() {
	local rc
	"$DARTDUP" write "$VM_OUT/image.img" --all --yes --json --log /tmp/audit.jsonl >/tmp/events.jsonl 2>/tmp/write.err
	rc=$?
	cp /tmp/events.jsonl /tmp/audit.jsonl /tmp/write.err "$VM_SHARE/" 2>/dev/null
	[ "$rc" = 1 ] && ok "write exits 1" || not_ok "write: exit $rc, expected 1: $(tail -c 300 /tmp/write.err)"
	expect_bad werr $((WSECTOR * 512 / BLOCK * BLOCK))
	expect_bad rerr $((RSECTOR * 512 / BLOCK * BLOCK))
	jhas /tmp/audit.jsonl '.serial == $s and .result == "pass"' --arg s "$(stick_serial good)" &&
		ok "audit: the good stick passed" || not_ok "audit: the good stick did not pass"
}

# expect_bad ID OFFSET: the stick's audit record and "done" event say fail at OFFSET
expect_bad() {
	local s
	s=$(stick_serial "$1")
	jhas /tmp/audit.jsonl '.serial == $s and .result == "fail" and .first_bad_offset == $o' --arg s "$s" --argjson o "$2" && ok "audit: $1 failed at offset $2" ||
		not_ok "audit: $1 expected fail at $2: $(grep -- "$s" /tmp/audit.jsonl)"
	jhas /tmp/events.jsonl '.event == "done" and .serial == $s and .result == "fail" and .first_bad_offset == $o' --arg s "$s" --argjson o "$2" && ok "JSON done event: $1 failed at offset $2" ||
		not_ok "JSON done event: $1 expected fail at $2: $(grep -- "$s" /tmp/events.jsonl | grep '"done"')"
}
