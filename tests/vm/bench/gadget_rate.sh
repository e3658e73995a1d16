# The board's USB link rate (issue 21 item 5; a bench, run by scripts/bench.d/gadget.sh, not by `make test`):
# in the guest, as in scenarios/board_gadget.sh, the linux-gadget board's FunctionFS function on dummy_hcd
# and the PC side in the same guest. A signed package of GADGET_RATE_MB MiB (default 512, random bytes: it
# does not compress) is loaded with `dartdup board load`, between two raw bulk transfers of the same size over
# the same link (tests/vm/tools/raw_bulk: the board's descriptors and FunctionFS link, the PC's libusb
# link, transfers of the load's size, no protocol). Each transfer is timed from the command's start to its
# end, as a user would; the ratio is the load's rate over the better raw rate (goal >= 0.9).
# Source and store are on a tmpfs in the guest, so neither 9p nor a disk is part of the figure.
VM_TIMEOUT=1500
VM_MEM=3072
VM_SMP=2 # the PC and the board each have a CPU, as on two machines

sticks() {
	local mb=${GADGET_RATE_MB:-512} m ko list=""
	stick a 8M hub fill=random # one slot, as a board has; no job runs
	"$DARTDUP" keygen -o "$VM_SHARE/depot" >/dev/null 2>&1 || return 1
	head -c $((mb << 20)) /dev/urandom >"$VM_SHARE/rate.img"
	"$DARTDUP" pack "$VM_SHARE/rate.img" -o "$VM_SHARE/rate.dfi" --key "$VM_SHARE/depot.key" \
		--name "rate" >/dev/null 2>&1 || return 1
	rm -f "$VM_SHARE/rate.img"
	for m in udc-core dummy_hcd configfs libcomposite usb_f_fs; do
		ko=$(find "$VM_MODDIR" -name "$m.ko" | head -1)
		[ -n "$ko" ] || return 1
		list+="$ko "
	done
	export VM_X_GADGET_KO=$list VM_X_RATE_MB=$mb
}

# --- guest side ----------------------------------------------------------------------------------------
gadget_modules() {
	local ko m
	for ko in $VM_X_GADGET_KO; do
		m=$(basename "$ko" .ko)
		grep -q "^${m//-/_} " /proc/modules || insmod "$ko" || return 1
	done
}

board_usb_dev() {
	grep -l '^1209$' /sys/bus/usb/devices/*/idVendor 2>/dev/null | head -1 | xargs -r dirname
}

wait_for() { # SECONDS CMD...: poll a condition; fails only at the deadline
	local deadline=$((SECONDS + $1)); shift
	until "$@"; do [ "$SECONDS" -ge "$deadline" ] && return 1; sleep 0.1; done
}

now_ns() { date +%s%N; }

# cpu_s PID: user + system CPU seconds of a running process so far (/proc/PID/stat, clock ticks)
cpu_s() {
	local f
	read -r -a f <"/proc/$1/stat" || return 1
	# fields after "(comm)": the comm of these programs has no spaces, so utime and stime are 14 and 15
	awk -v u="${f[13]}" -v s="${f[14]}" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (u + s) / hz }'
}

# rate BYTES NS: MB/s
rate() { awk -v b="$1" -v ns="$2" 'BEGIN { printf "%.1f", b / (ns / 1e9) / 1e6 }'; }

# raw_run N: one raw bulk transfer of $bytes; sets raw_ns[N]
raw_run() {
	local tool out bpid t0 t1
	tool=$(dirname "$DARTDUP")/../vmtools/raw_bulk
	"$VM_REPO/boards/linux-gadget/gadget-setup" up "$conf" || return 1
	"$tool" board /run/dartdup/ffs /sys/kernel/config/usb_gadget/dartdup dummy_udc.0 "$bytes" >/tmp/raw-board.out \
		2>&1 &
	bpid=$!
	if ! wait_for 60 grep -q '^ready' /tmp/raw-board.out; then
		sed 's/^/# raw board: /' /tmp/raw-board.out
		kill "$bpid"
		return 1
	fi
	SERIAL=$(cat /sys/kernel/config/usb_gadget/dartdup/strings/0x409/serialnumber)
	t0=$(now_ns)
	out=$("$tool" pc "$SERIAL" "$bytes" "$chunk" 2>&1)
	t1=$(now_ns)
	wait "$bpid" || { sed 's/^/# raw board: /' /tmp/raw-board.out; echo "# raw pc: $out"; return 1; }
	[[ "$out" == "sent $bytes in "* ]] || { echo "# raw pc: $out"; return 1; }
	raw_ns[$1]=$((t1 - t0))
	# the transfer alone (the tool's own clock: from its first write to the last one taken), as data_s is
	raw_xfer_s[$1]=$(sed -n 's/^sent [0-9]* in \([0-9.]*\) s,.*/\1/p' <<<"$out")
	echo "# raw $1: pc: $out; board: $(tail -n1 /tmp/raw-board.out); $(rate "$bytes" "${raw_ns[$1]}") MB/s in all"
	"$VM_REPO/boards/linux-gadget/gadget-setup" down "$conf"
}

load_run() {
	local fifo=/tmp/ready pid out t0 t1
	"$VM_REPO/boards/linux-gadget/gadget-setup" up "$conf" || return 1
	rm -f "$fifo"
	mkfifo "$fifo"
	"$DARTDUPD" --board linux-gadget --config "$conf" --ready-fd 3 3>"$fifo" >/dev/null 2>/tmp/dartdupd.log &
	pid=$!
	[ "$(timeout 30 head -n1 "$fifo")" = READY ] || { sed 's/^/# dartdupd: /' /tmp/dartdupd.log; return 1; }
	wait_for 30 test -n "$(board_usb_dev)" || return 1
	SERIAL=$(cat /sys/kernel/config/usb_gadget/dartdup/strings/0x409/serialnumber)
	"$DARTDUP" board --serial "$SERIAL" info >/dev/null 2>&1
	local bcpu0 bcpu1
	bcpu0=$(cpu_s "$pid")
	t0=$(now_ns)
	out=$(/usr/bin/time -o /tmp/load.time -f 'pc cpu %U+%S s' "$DARTDUP" board --serial "$SERIAL" load "$src" --json 2>&1)
	t1=$(now_ns)
	bcpu1=$(cpu_s "$pid")
	load_ns=$((t1 - t0))
	echo "# load: $out; $(cat /tmp/load.time); board cpu $(awk -v a="$bcpu0" -v b="$bcpu1" 'BEGIN { printf "%.2f", b - a }') s;" \
		"$(rate "$bytes" "$load_ns") MB/s in all"
	check "dartdup board load: loaded, signature and every block verified" \
		grep -q '"event":"loaded".*"name":"rate"' <<<"$out"
	# the LOAD_DATA phase alone (LOAD_BEGIN to the last acknowledgement): the link with the protocol
	data_s=$(jq -r .data_s <<<"$out") hash_s=$(jq -r .hash_s <<<"$out") end_s=$(jq -r .end_s <<<"$out")
	kill -TERM "$pid"
	wait "$pid"
	"$VM_REPO/boards/linux-gadget/gadget-setup" down "$conf"
}

guest() {
	local conf=/tmp/board.conf dir=/tmp/rate src bytes chunk load_ns best data_s hash_s end_s
	local -a raw_ns raw_xfer_s
	check "gadget modules load" gadget_modules || return
	mkdir -p "$dir"
	mount -t tmpfs -o size=$((2 * VM_X_RATE_MB + 256))m rate "$dir" || return
	src=$dir/rate.dfi
	cp "$VM_SHARE/rate.dfi" "$src" || return
	bytes=$(stat -c %s "$src")
	# the size of one LOAD_DATA frame as the PC sends it: header (16) + xfer and offset (16) + the board's
	# chunk (firmware/store.h DD_STORE_CHUNK: 1 MiB - 16); the same transfers as the load, on the same endpoints
	chunk=$((16 + 16 + (1 << 20) - 16))
	cat >"$conf" <<-EOF
	store = $dir/store
	pubkey = $VM_SHARE/depot.pub
	slot.1 = $(stick_id_path a | sed 's/:1\.0-scsi-.*//')
	usb.udc = dummy_udc.0
	usb.product = dartdup rate board
	EOF
	echo "# $bytes bytes, raw transfers of $chunk bytes, $(nproc) CPUs"
	check "raw bulk transfer 1 ($bytes bytes)" raw_run 1 || return
	check "load over the board's link" load_run || return
	check "raw bulk transfer 2 ($bytes bytes)" raw_run 2 || return
	best=${raw_ns[1]}
	[ "${raw_ns[2]}" -lt "$best" ] && best=${raw_ns[2]}
	local ratio data_ratio data_ns best_xfer
	best_xfer=$(awk -v a="${raw_xfer_s[1]}" -v b="${raw_xfer_s[2]}" 'BEGIN { print (a < b ? a : b) }')
	data_ns=$(awk -v s="$data_s" 'BEGIN { printf "%.0f", s * 1e9 }')
	# whole command against whole command; the LOAD_DATA phase against the raw transfer alone
	ratio=$(awk -v l="$load_ns" -v r="$best" 'BEGIN { printf "%.2f", r / l }')
	data_ratio=$(awk -v l="$data_s" -v r="$best_xfer" 'BEGIN { printf "%.2f", r / l }')
	echo "# gadget rate: raw $(rate "$bytes" "${raw_ns[1]}") and $(rate "$bytes" "${raw_ns[2]}") MB/s in all" \
		"(transfer alone ${raw_xfer_s[1]} s and ${raw_xfer_s[2]} s);" \
		"load $(rate "$bytes" "$load_ns") MB/s in all ($(awk -v n="$load_ns" 'BEGIN { printf "%.1f", n / 1e9 }') s:" \
		"PC hash $hash_s s, LOAD_DATA $data_s s = $(rate "$bytes" "$data_ns") MB/s, LOAD_END $end_s s);" \
		"load / best raw: $ratio in all, $data_ratio for the LOAD_DATA phase"
	say RATE "raw1 $(rate "$bytes" "${raw_ns[1]}") raw2 $(rate "$bytes" "${raw_ns[2]}") load $(rate "$bytes" "$load_ns") data $(rate "$bytes" "$data_ns") ratio $ratio data_ratio $data_ratio"
	# a figure, not a pass/fail: a shared machine's load moves both sides (docs/PERFORMANCE.md)
	echo "# goal: the LOAD_DATA phase at >= 0.9 of the raw rate: $data_ratio; the whole command" \
		"(the PC's hash and the board's verification too): $ratio"
}
