# Shared helpers for the CLI test scripts (sourced). Each check prints one TAP line.
set -u
: "${DARTDUP:=$PWD/build/bin/dartdup}"
: "${DARTDUPD:=$PWD/build/bin/dartdupd}"
T=$(mktemp -d "${TMPDIR:-/tmp}/dartdup-cli-XXXXXX")
trap 'stop_sim_boards; rm -rf "$T"' EXIT # a script with its own EXIT trap calls stop_sim_boards in it

ok()     { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; }
# check NAME CMD...: passes when CMD succeeds
check()  { local n=$1; shift; if "$@"; then ok "$n"; else not_ok "$n"; return 1; fi; }
# expect_rc NAME RC CMD...: runs CMD (stdout+stderr in $T/out), passes when its exit status is RC
expect_rc() {
	local n=$1 want=$2 rc; shift 2
	"$@" >"$T/out" 2>&1; rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$n"; else not_ok "$n: exit $rc, expected $want: $(head -c 300 "$T/out")"; fi
}
# out_has NAME TEXT: the last expect_rc output contains TEXT
out_has() { if grep -qF -- "$2" "$T/out"; then ok "$1"; else not_ok "$1: output lacks '$2': $(head -c 300 "$T/out")"; fi; }
# poll_until PID SECONDS CMD...: CMD every 50 ms until it succeeds (0), or PID is gone or SECONDS have
# passed (1): a bounded poll on what the test waits for, never a sleep standing in for it
poll_until() {
	local pid=$1 deadline=$((SECONDS + $2))
	shift 2
	until "$@"; do
		kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}
# make_image PATH SIZE_BYTES SEED: a deterministic sample image with some zero runs
make_image() {
	python3 - "$1" "$2" "$3" <<'PY'
import sys, random
path, size, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed)
with open(path, "wb") as f:
    left = size
    while left > 0:
        n = min(left, 1 << 20)
        kind = r.random()
        f.write(bytes(n) if kind < 0.3 else r.randbytes(n) if kind < 0.7 else (b"DaRT" * (n // 4 + 1))[:n])
        left -= n
PY
}
# fat_of IMG OFFSET -> $T/mtoolsrc pointing drive x: at the FAT volume OFFSET bytes into IMG
fat_of() { printf 'mtools_skip_check=1\ndrive x: file="%s" offset=%s\n' "$1" "$2" >"$T/mtoolsrc"; }
# same_tree NAME IMG OFFSET TREE [EXCLUDE...]: the FAT volume holds exactly TREE (names, case, bytes), but
# for boot.catalog (genisoimage shows its El Torito catalog as a file; the stick may carry it, the tree has
# none) and each EXCLUDE (a name diff -x leaves out)
same_tree() {
	local name=$1 img=$2 off=$3 tree=$4 out=$T/readback x=(-x boot.catalog) e
	shift 4
	for e in "$@"; do x+=(-x "$e"); done
	rm -rf "$out"; mkdir -p "$out"
	fat_of "$img" "$off"
	if MTOOLSRC=$T/mtoolsrc mcopy -s -n -m -Q "x:/*" "$out/" >"$T/mcopy.log" 2>&1 &&
	   diff -r "${x[@]}" "$tree" "$out" >"$T/diff" 2>&1; then
		ok "$name"
	else
		not_ok "$name: $(head -c 300 "$T/diff" "$T/mcopy.log" | tr '\n' ' ')"
	fi
	rm -rf "$out"
}

# --- simulated boards -----------------------------------------------------------------------------------
SIM_PID=
SIM_PIDS=()
# start_sim_board SOCKET [dartdupd args...]: dartdupd --board sim serving SOCKET in the background, its
# stdout appended to $T/lights and its stderr to $T/daemon.err, its pid in SIM_PID, stopped at exit if it
# still runs. Returns once the daemon says READY on --ready-fd (a fifo: the wait is on the daemon, never a
# sleep, and a daemon that dies closes its end); else 1 and a # line saying why.
start_sim_board() {
	local sock=$1 line=
	shift
	rm -f "$T/ready" && mkfifo "$T/ready" || return 1
	"$DARTDUPD" --board sim --socket "$sock" "$@" --ready-fd 3 3>"$T/ready" >>"$T/lights" 2>>"$T/daemon.err" &
	SIM_PID=$!
	SIM_PIDS+=("$SIM_PID")
	read -r line <"$T/ready"
	[ "$line" = READY ] && return 0
	echo "# daemon did not start: $(tail -n 3 "$T/daemon.err" | tr '\n' ' ')"
	return 1
}
# stop_sim_board PID: SIGTERM, then its exit status (0: it stopped cleanly)
stop_sim_board() { kill "$1" 2>/dev/null; wait "$1"; }
# stop_sim_boards: every board start_sim_board started that is still a job of this shell (one already
# waited for is not: its pid may be another process's by now)
stop_sim_boards() {
	local p live
	live=" $(jobs -p | tr '\n' ' ') "
	for p in "${SIM_PIDS[@]}"; do
		[[ $live == *" $p "* ]] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	SIM_PIDS=()
}
