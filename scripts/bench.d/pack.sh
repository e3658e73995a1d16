#!/usr/bin/env bash
# Bench of the .dfi format (docs/PERFORMANCE.md, section "pack and inspect"):
#   pack            vs  zstd -T0 -3 of the same image          (target: ratio <= 1.3)
#   inspect --check vs  zstd -dc FILE | sha256sum              (target: ratio < 1)
#   SHA-256 MB/s per core of each implementation (CPU time, so other load does not count)
# Wall times are the best of 3 runs, the two sides of a ratio run alternately in the same run.
# BENCH_MB sets the image size (default 256).
set -euo pipefail
cd "$(dirname "$0")/../.."
D=$PWD/build/bin/dartdup
W=build/bench/pack
mb=${BENCH_MB:-256}
mkdir -p "$W"
make -s build/tests/test_sha256_paths >/dev/null

if [ ! -f "$W/image-$mb.img" ]; then
	scripts/make-bench-image "$W/image-$mb.img" "$mb"
fi
img=$W/image-$mb.img

# best WALL CPU: best wall time and best CPU time (user+sys of the command and its children), in
# seconds, of 3 runs of the shell command $1. CPU time is printed too because on a shared machine
# wall time swings with other load while CPU time does not.
best() {
	python3 - "$1" <<'PY'
import os, resource, subprocess, sys, time
walls, cpus = [], []
for _ in range(3):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    subprocess.run(sys.argv[1], shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    walls.append(time.monotonic() - t0)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpus.append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
print("%.3f %.3f" % (min(walls), min(cpus)))
PY
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

read -r w_pack c_pack <<<"$(best "'$D' pack '$img' -o '$W/image.dfi'")"
read -r w_zstd c_zstd <<<"$(best "zstd -q -f -T0 -3 '$img' -o '$W/image.zst'")"
read -r w_check c_check <<<"$(best "'$D' inspect '$W/image.dfi' --check")"
read -r w_sw c_sw <<<"$(best "DARTDUP_SHA256=portable '$D' inspect '$W/image.dfi' --check")"
read -r w_dc c_dc <<<"$(best "zstd -qdc '$W/image.dfi' | sha256sum")"
read -r -a sha <<<"$(build/tests/test_sha256_paths bench | tr '\n' ' ')"
# OpenSSL's software SHA-256 on the same machine, its hardware and SIMD paths masked (OPENSSL_ia32cap: the
# second word clears CPUID.7 (SHA extensions, AVX2), the first SSSE3 and AVX): the scalar code a CPU without
# SHA instructions runs, to compare our portable path with (MB/s per core: `openssl speed` divides by CPU time)
ossl_sw=$(OPENSSL_ia32cap="~0x1000020000000000:0" openssl speed -seconds 2 -bytes 16384 -evp sha256 2>/dev/null |
	awk '/^sha256/ { sub(/k$/, "", $NF); printf "%.0f", $NF * 1000 / 1e6 }')

line() { # label, wall, cpu, ref label, ref wall, ref cpu, target
	printf '  %-28s %7ss (cpu %6ss)  %-22s %7ss (cpu %6ss)  ratio %s (cpu %s) %s\n' "$1" "$2" "$3" "$4" "$5" "$6" \
		"$(ratio "$2" "$5")" "$(ratio "$3" "$6")" "$7"
}
echo "bench pack: image $mb MiB, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
line "pack" "$w_pack" "$c_pack" "zstd -T0 -3" "$w_zstd" "$c_zstd" "(target <= 1.3)"
line "inspect --check" "$w_check" "$c_check" "zstd -dc | sha256sum" "$w_dc" "$c_dc" "(target < 1)"
line "inspect --check, portable" "$w_sw" "$c_sw" "zstd -dc | sha256sum" "$w_dc" "$c_dc" ""
echo "  sizes: .dfi $(stat -c %s "$W/image.dfi") bytes, .zst $(stat -c %s "$W/image.zst") bytes"
for ((i = 0; i < ${#sha[@]}; i += 2)); do
	echo "  sha256 ${sha[i]}: ${sha[i+1]} MB/s per core"
	if [ "${sha[i]}" = portable ] && [ -n "$ossl_sw" ]; then
		echo "  sha256 OpenSSL software path (SHA-NI, AVX, SSSE3 masked): $ossl_sw MB/s per core; portable / OpenSSL $(ratio "${sha[i+1]}" "$ossl_sw")"
	fi
done
