#!/usr/bin/env bash
# The board's own numbers (docs/PERFORMANCE.md "The board's CPU under qemu-aarch64", issue 21 item 4): the
# arm64 build of dartdup (make dartdup-arm64, the engine the board runs) under user-mode QEMU, with the
# portable SHA-256 forced (DARTDUP_SHA256=portable: a Pi 4 has no SHA instructions).
#   1. the user CPU of a whole `write --full` job onto 1 and 16 file targets (scripts/bench.d/verifycpu.sh
#      with the arm64 binary), and their ratio;
#   2. decode against hash: the CPU of decoding every data block of the package (zstd), of the portable
#      SHA-256 of the same bytes and of a memcmp of them (`test_dfi bench`), arm64 under QEMU and this
#      machine's own build (QEMU translates NEON poorly: its memcmp is far slower against the rest).
# Under qemu-user absolute times mean nothing (every arm64 instruction is translated): only the ratios
# within one run (16 targets : 1, hash : decode) say something about the board. BENCH_ARM64_MB (default
# 64) sets the image size, BENCH_ARM64_RUNS (default 2) the runs per figure (the lowest counts).
# Skips with one line when qemu-aarch64 or the cross compiler is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
if [ -z "$qemu" ]; then
	echo "bench arm64: skipped (no qemu-aarch64: Debian's qemu-user-static, scripts/deps/arm64.txt)"
	exit 0
fi
if ! command -v aarch64-linux-gnu-gcc >/dev/null; then
	echo "bench arm64: skipped (no aarch64-linux-gnu-gcc: make deps)"
	exit 0
fi
# ARM_HOST_RETRY=1: say what is missing instead of installing it in the middle of a bench
if ! out=$(make -s ARM_HOST_RETRY=1 dartdup-arm64 build/arm64/tests/test_dfi build/tests/test_dfi 2>&1); then
	if grep -q '^dartdup-arm64: needs\|^firmware-arm64: needs' <<<"$out"; then
		echo "bench arm64: skipped ($(grep -m1 'needs' <<<"$out"))"
		exit 0
	fi
	printf '%s\n' "$out" >&2
	echo "bench arm64: the arm64 build failed" >&2
	exit 1
fi
mb=${BENCH_ARM64_MB:-64}
W=$PWD/build/bench/arm64
mkdir -p "$W"
# verifycpu.sh times DARTDUP_BIN with /usr/bin/time: exec keeps QEMU the timed process
printf '#!/bin/sh\nexec %q %q "$@"\n' "$qemu" "$PWD/build/arm64/bin/dartdup" >"$W/dartdup"
chmod +x "$W/dartdup"
file -b build/arm64/bin/dartdup | grep -q 'ARM aarch64' ||
	{ echo "bench arm64: build/arm64/bin/dartdup is not an arm64 program" >&2; exit 1; }

echo "bench arm64: arm64 dartdup under $(basename "$qemu") ($("$qemu" --version | head -1)); ratios only"
DARTDUP_BIN=$W/dartdup BENCH_VCPU_MB=$mb BENCH_VCPU_RUNS=${BENCH_ARM64_RUNS:-2} BENCH_VCPU_TARGETS="1 16" \
	bash scripts/bench.d/verifycpu.sh | sed 's/^bench verifycpu:/  verifycpu, arm64:/'
dfi=build/bench/verifycpu/image-$mb.img.dfi
echo "  decode, portable SHA-256, memcmp (what each more target costs), one thread, MB/s of image bytes (zero blocks skipped, as the engine does), $dfi:"
for side in arm64 native; do
	if [ $side = arm64 ]; then r=$("$qemu" build/arm64/tests/test_dfi bench "$dfi"); else r=$(build/tests/test_dfi bench "$dfi"); fi
	awk -v side="$side" '{ v[$1] = $2 } END { printf "  %-7s decode %7.1f  sha256 %7.1f  memcmp %8.1f  hash:decode (CPU per byte) %.2f  hash:memcmp %.3f\n", side, v["decode"], v["sha256"], v["memcmp"], v["sha256/decode"], v["memcmp"] ? v["sha256"] / v["memcmp"] : 0 }' <<<"$r"
done
