#!/usr/bin/env bash
# Bench of dartdup write (docs/PERFORMANCE.md, section "write and verify"): write + verify of one
# image onto 1, 4 and 8 targets at once, against what a user would otherwise run, in the same run:
#   (a) zstd -dc IMG.zst | dd oflag=direct   per target, then  dd iflag=direct | sha256sum  per target
#   (b) bmaptool copy --bmap (bmap from bmaptool create) per target, then the same read-back hash
#   (c) dcfldd if=IMG of=T1 of=T2 ... , then dcfldd vf=T per target (its compare)
# Every tool drives all targets at once (one process per target, in parallel, where it cannot
# drive several itself). Targets are loop devices over files in /dev/shm, so that every tool can
# use O_DIRECT and the numbers show the tools' own cost rather than one slow disk's.
# The peers run first, so dartdup's targets already hold the image there (its zero blocks are read,
# found zero, not written). Then the write policy on its own (engine/policy.h), 1 and 4 targets: the
# default (zero blocks read first, zeros written only where the target is not zero) against --full
# (every block written, no read first), on fresh all-zero targets and on reused ones full of random
# data, in the same run.
# Also: peak memory (max RSS, /usr/bin/time -v) of dartdup with 16 file targets, and its CPU
# seconds per GiB written and verified. Needs root (loop devices). BENCH_WRITE_MB sets the image
# size (default 512).
set -euo pipefail
cd "$(dirname "$0")/../.."
D=$PWD/build/bin/dartdup
W=$PWD/build/bench/write
mb=${BENCH_WRITE_MB:-512}
if [ "$(id -u)" -ne 0 ]; then
	echo "bench write: skipped (needs root for loop devices)"
	exit 0
fi
mkdir -p "$W"
SHM=$(mktemp -d /dev/shm/dartdup-bench-XXXXXX)
LOOPS=()
cleanup() {
	local l
	for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null || true; done
	rm -rf "$SHM" "$W"/t16-*
}
trap cleanup EXIT

img=$W/image-$mb.img
if [ ! -f "$img" ]; then
	scripts/make-bench-image "$img" "$mb"
	fallocate -d "$img" # zero runs become holes: bmaptool maps only the data, as on a real image
fi
[ -f "$img.dfi" ] || "$D" pack "$img" -o "$img.dfi" >/dev/null
[ -f "$img.zst" ] || zstd -q -3 -T0 "$img" -o "$img.zst"
[ -f "$img.bmap" ] || bmaptool -q create "$img" -o "$img.bmap"
want=$(sha256sum <"$img" | cut -d' ' -f1)

for i in $(seq 1 8); do
	truncate -s "${mb}M" "$SHM/t$i" # exactly the image's size: dcfldd vf= compares to the end
	LOOPS+=("$(losetup -f --show "$SHM/t$i")")
done

now() { date +%s%N; }
secs() { awk -v n="$1" 'BEGIN { printf "%.2f", n / 1e9 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# readback_ok T...: every target's first mb MiB hashes to the image's (in parallel)
readback_ok() {
	local t pids=() bad=0
	for t in "$@"; do
		( [ "$(dd if="$t" bs=1M count="$mb" iflag=direct status=none | sha256sum | cut -d' ' -f1)" = "$want" ] ) &
		pids+=($!)
	done
	for t in "${pids[@]}"; do wait "$t" || bad=1; done
	return $bad
}
run_dd() {
	local t pids=()
	for t in "$@"; do
		( zstd -qdc "$img.zst" | dd of="$t" bs=1M iflag=fullblock oflag=direct status=none ) &
		pids+=($!)
	done
	for t in "${pids[@]}"; do wait "$t"; done
	readback_ok "$@"
}
run_bmap() {
	local t pids=()
	for t in "$@"; do
		bmaptool -q copy --bmap "$img.bmap" "$img" "$t" &
		pids+=($!)
	done
	for t in "${pids[@]}"; do wait "$t"; done
	readback_ok "$@"
}
run_dcfldd() {
	local t of=() pids=()
	for t in "$@"; do of+=("of=$t"); done
	dcfldd if="$img" "${of[@]}" bs=1M status=off 2>/dev/null
	# its verification: vf= compares one file with the input (it takes one vf per run)
	for t in "$@"; do
		( dcfldd if="$img" vf="$t" bs=1M status=off 2>&1 | grep -q "Total: Match" ) &
		pids+=($!)
	done
	for t in "${pids[@]}"; do wait "$t" || return 1; done
}
run_dartdup() {
	"$D" write "$img.dfi" "$@" --yes --allow-non-usb >/dev/null
}
# time_of CMD...: wall nanoseconds of one run; a failed run is fatal (a fast wrong tool proves nothing)
time_of() {
	local t0
	t0=$(now)
	"$@" || { echo "bench write: $1 failed" >&2; exit 1; }
	echo $(($(now) - t0))
}

echo "bench write: image $mb MiB (.dfi $(($(stat -c %s "$img.dfi") >> 20)) MiB), $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg), targets: loop devices on tmpfs"
printf '  %-8s %10s %10s %10s %10s   %s\n' targets dartdup "zstd|dd" bmaptool dcfldd "dartdup / best other"
for n in 1 4 8; do
	set -- "${LOOPS[@]:0:$n}"
	t_dd=$(time_of run_dd "$@")
	t_dart=$(time_of run_dartdup "$@")
	readback_ok "$@" || { echo "bench write: dartdup left a target wrong" >&2; exit 1; }
	t_bmap=$(time_of run_bmap "$@")
	t_dcf=$(time_of run_dcfldd "$@")
	readback_ok "$@" || { echo "bench write: dcfldd left a target wrong" >&2; exit 1; }
	best=$t_dd
	for t in "$t_bmap" "$t_dcf"; do [ "$t" -lt "$best" ] && best=$t; done
	printf '  %-8s %9ss %9ss %9ss %9ss   %s\n' "$n" "$(secs "$t_dart")" "$(secs "$t_dd")" "$(secs "$t_bmap")" \
		"$(secs "$t_dcf")" "$(ratio "$t_dart" "$best")"
done

# The policy: default vs --full, on fresh (all zero) and reused (random old content) targets
head -c $((mb << 20)) /dev/urandom >"$SHM/old"
fresh() { local t; for t in "$@"; do blkdiscard "$t" 2>/dev/null || dd if=/dev/zero of="$t" bs=1M count="$mb" oflag=direct status=none; done; }
used() { local t; for t in "$@"; do dd if="$SHM/old" of="$t" bs=1M oflag=direct status=none; done; }
# policy_run FILL [OPTION]: the wall seconds of a write onto the targets filled by FILL (the best of
# BENCH_POLICY_RUNS, default 3: a shared machine's noise only ever adds), then the MiB per target the
# engine found already zero (bytes_skipped)
policy_run() {
	local fill=$1 t0 t1 best= k; shift
	for k in $(seq 1 "${BENCH_POLICY_RUNS:-3}"); do
		"$fill" "${TG[@]}"
		t0=$(now)
		"$D" write --json "$img.dfi" "${TG[@]}" --yes --allow-non-usb "$@" >"$W/policy.json" ||
			{ echo "bench write: dartdup $* on $fill targets failed" >&2; exit 1; }
		t1=$(now)
		readback_ok "${TG[@]}" || { echo "bench write: dartdup $* left a $fill target wrong" >&2; exit 1; }
		[ -z "$best" ] || [ $((t1 - t0)) -lt "$best" ] && best=$((t1 - t0))
	done
	printf '%s %s' "$(secs "$best")" "$(python3 -c "
import json
s = [json.loads(l)['bytes_skipped'] for l in open('$W/policy.json') if json.loads(l)['event'] == 'done']
print(min(s) >> 20)")"
}
echo "  write policy (zero blocks: read first, written where not zero | --full: written, no read):"
printf '  %-8s %16s %16s %16s %16s\n' targets "fresh default" "fresh --full" "reused default" "reused --full"
for n in 1 4; do
	TG=("${LOOPS[@]:0:$n}")
	read -r fd fds <<<"$(policy_run fresh)"
	read -r ff _ <<<"$(policy_run fresh --full)"
	read -r ud uds <<<"$(policy_run used)"
	read -r uf _ <<<"$(policy_run used --full)"
	printf '  %-8s %16s %16s %16s %16s\n' "$n" "${fd}s (${fds} MiB in place)" "${ff}s" "${ud}s (${uds} MiB)" "${uf}s"
done
rm -f "$SHM/old"

# 16 file targets: peak memory and CPU per GiB
tv=$W/time16.txt
targets=()
for i in $(seq 1 16); do targets+=("$W/t16-$i"); done
/usr/bin/time -v "$D" write --json "$img.dfi" "${targets[@]}" --yes >"$W/json16.txt" 2>"$tv"
rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tv")
cpu=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { print u + s }' "$tv")
gib=$(python3 -c "
import json
w = v = 0
for l in open('$W/json16.txt'):
    e = json.loads(l)
    if e['event'] == 'done': w += e['bytes_written']; v += e['bytes_verified']
print(w / 2**30, v / 2**30)")
read -r gw gv <<<"$gib"
echo "  16 file targets: peak memory $((rss / 1024)) MiB (target <= 64), CPU $(awk -v c="$cpu" -v w="$gw" -v v="$gv" 'BEGIN { printf "%.2f s per GiB written and verified (%.1f GiB written, %.1f GiB verified, %.1f CPU s in all)", c / w, w, v, c }')"
