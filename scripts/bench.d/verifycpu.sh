#!/usr/bin/env bash
# Bench of the verification's CPU (docs/PERFORMANCE.md, "verification CPU against the number of
# targets", issue 21 item 2): the user CPU of a whole `dartdup write --yes --full` job per GiB of
# image, with the portable SHA-256 forced (DARTDUP_SHA256=portable, as on a Pi 4 with no SHA
# instructions), at 1, 4, 8 and 16 file targets in memory (tmpfs) filled with random data, and the ratio
# 16 targets / 1 target (goal: at most 2). Each figure is the lowest of BENCH_VCPU_RUNS runs (default
# 3: a shared machine's noise only ever adds). BENCH_VCPU_MB sets the image size (default 128);
# DARTDUP_BIN another binary (to measure an older build the same way; scripts/bench.d/arm64.sh: the arm64
# build under qemu-aarch64); BENCH_VCPU_TARGETS the target counts (default "1 4 8 16"; 1 and 16 give the ratio). The targets live on a tmpfs
# mounted for the run (as root: the safety check refuses files under /dev, /dev/shm included), else
# in build/bench (the page cache: the user CPU is the same, only the system time differs).
set -euo pipefail
cd "$(dirname "$0")/../.."
D=${DARTDUP_BIN:-$PWD/build/bin/dartdup}
W=$PWD/build/bench/verifycpu
mb=${BENCH_VCPU_MB:-128}
runs=${BENCH_VCPU_RUNS:-3}
counts=${BENCH_VCPU_TARGETS:-1 4 8 16}
mkdir -p "$W"
SHM=$W/targets
mkdir -p "$SHM"
mounted=
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=$(((mb * 17 + 64) << 20)) dartdup-vcpu "$SHM"; then
	mounted=1
fi
cleanup() {
	rm -rf "${SHM:?}"/*
	[ -z "$mounted" ] || umount "$SHM"
}
trap cleanup EXIT

img=$W/image-$mb.img
[ -f "$img" ] || scripts/make-bench-image "$img" "$mb"
[ -f "$img.dfi" ] || "$D" pack "$img" -o "$img.dfi" >/dev/null
want=$(sha256sum <"$img" | cut -d' ' -f1)
head -c $((mb << 20)) /dev/urandom >"$SHM/old"

# user_cpu N: the lowest user CPU seconds of a whole write --full job onto N fresh random targets
user_cpu() {
	local n=$1 best= k i u targets=()
	for i in $(seq 1 "$n"); do targets+=("$SHM/t$i"); done
	for k in $(seq 1 "$runs"); do
		for i in "${targets[@]}"; do cp "$SHM/old" "$i"; done
		DARTDUP_SHA256=portable /usr/bin/time -f %U -o "$W/time.txt" \
			"$D" write "$img.dfi" "${targets[@]}" --yes --full >/dev/null ||
			{ echo "bench verifycpu: dartdup write onto $n targets failed" >&2; exit 1; }
		for i in "${targets[@]}"; do
			[ "$(head -c $((mb << 20)) "$i" | sha256sum | cut -d' ' -f1)" = "$want" ] ||
				{ echo "bench verifycpu: $i does not hold the image" >&2; exit 1; }
		done
		u=$(tail -n1 "$W/time.txt")
		[ -z "$best" ] || awk -v a="$u" -v b="$best" 'BEGIN { exit !(a < b) }' && best=$u
	done
	rm -f "${targets[@]}"
	echo "$best"
}

echo "bench verifycpu: write --full, image $mb MiB, DARTDUP_SHA256=portable, file targets on $([ -n "$mounted" ] && echo tmpfs || echo disk), $(nproc) CPUs, best of $runs"
printf '  %-8s %12s %14s\n' targets "user CPU" "per GiB"
declare -A cpu
for n in $counts; do
	cpu[$n]=$(user_cpu "$n")
	printf '  %-8s %11ss %13ss\n' "$n" "${cpu[$n]}" "$(awk -v u="${cpu[$n]}" -v m="$mb" 'BEGIN { printf "%.2f", u * 1024 / m }')"
done
if [ -n "${cpu[1]:-}" ] && [ -n "${cpu[16]:-}" ]; then
	echo "  user CPU 16 targets / 1 target: $(awk -v a="${cpu[16]}" -v b="${cpu[1]}" 'BEGIN { printf "%.2f", a / b }') (goal <= 2)"
fi
