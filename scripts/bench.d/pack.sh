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
	# a disk-like image: 30% zeros, 40% incompressible, 30% text-like
	python3 - "$W/image-$mb.img" "$mb" <<'PY'
import random, sys
r = random.Random(1)
with open(sys.argv[1], "wb") as f:
    for i in range(int(sys.argv[2])):
        k = r.random()
        f.write(bytes(1 << 20) if k < 0.3 else r.randbytes(1 << 20) if k < 0.7 else
                (b"Windows PE recovery file %d " % i * 40000)[:1 << 20])
PY
fi
img=$W/image-$mb.img

best() { # best wall time in seconds of 3 runs of "$@" (output discarded)
	local b=0 t0 t
	for _ in 1 2 3; do
		t0=$(date +%s%N); "$@" >/dev/null 2>&1; t=$(($(date +%s%N) - t0))
		if [ "$b" -eq 0 ] || [ "$t" -lt "$b" ]; then b=$t; fi
	done
	awk -v n="$b" 'BEGIN { printf "%.3f", n / 1e9 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

t_pack=$(best "$D" pack "$img" -o "$W/image.dfi")
t_zstd=$(best zstd -q -f -T0 -3 "$img" -o "$W/image.zst")
t_check=$(best "$D" inspect "$W/image.dfi" --check)
t_check_sw=$(best env DARTDUP_SHA256=portable "$D" inspect "$W/image.dfi" --check)
t_dc=$(best sh -c "zstd -qdc '$W/image.dfi' | sha256sum")
read -r -a sha <<<"$(build/tests/test_sha256_paths bench | tr '\n' ' ')"

echo "bench pack: image $mb MiB, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
echo "  pack                 ${t_pack}s   zstd -T0 -3          ${t_zstd}s   ratio $(ratio "$t_pack" "$t_zstd") (target <= 1.3)"
echo "  inspect --check      ${t_check}s   zstd -dc | sha256sum ${t_dc}s   ratio $(ratio "$t_check" "$t_dc") (target < 1)"
echo "  inspect --check, portable SHA-256 ${t_check_sw}s  ratio $(ratio "$t_check_sw" "$t_dc") to zstd -dc | sha256sum"
echo "  sizes                .dfi $(stat -c %s "$W/image.dfi") bytes, .zst $(stat -c %s "$W/image.zst") bytes"
for ((i = 0; i < ${#sha[@]}; i += 2)); do
	echo "  sha256 ${sha[i]}: ${sha[i+1]} MB/s per core"
done
