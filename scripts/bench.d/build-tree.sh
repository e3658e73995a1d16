#!/usr/bin/env bash
# make bench, build of a large tree: does `dartdup build` stay near-linear in the number of names?
# Two DaRT-style ISOs (Joliet, genisoimage), the large one with 4x the names of the small one: N long file
# names in one folder (FAT short names ~1..~N on one basis) and N folders in one folder. The figure is
# the ratio of CPU times, large / small: 4 is linear, 16 quadratic. Results: docs/PERFORMANCE.md.
#   BENCH_TREE_N=5000 (names of each kind in the small tree; the large one has 4x), BENCH_RUNS=3
set -euo pipefail
cd "$(dirname "$0")/../.."
D=${DARTDUP:-$PWD/build/bin/dartdup}
W=build/bench/build-tree
N=${BENCH_TREE_N:-5000}
RUNS=${BENCH_RUNS:-3}
mkdir -p "$W"

make_iso() { # NAMES -> path of the cached ISO
	local n=$1 iso=$W/tree2-$1.iso
	if [ ! -f "$iso" ]; then
		rm -rf "$W/add"
		python3 - "$W/add" "$n" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
os.makedirs(f"{root}/Many Files")
for i in range(n):
    # 20 characters: 2 long-name entries + the short one; 4x N = 20 000 of them fit one FAT folder
    open(f"{root}/Many Files/Long Name {i:06d}.txt", "w").write(str(i))
for i in range(n):
    os.makedirs(f"{root}/Many Folders/Folder {i:06d}")
PY
		scripts/make-sample-iso "$iso" --fs genjoliet --wim-mb 1 --add "$W/add" >/dev/null
		rm -rf "$W/add"
	fi
	echo "$iso"
}

cpu() { # ISO -> best CPU seconds (user + sys) of N builds
	local best="" TIMEFORMAT='%U %S' line c
	for _ in $(seq 1 "$RUNS"); do
		rm -f "$W/out.img"
		line=$({ time "$D" build "$1" -o "$W/out.img" --raw --quiet >/dev/null 2>"$W/err" || echo failed; } 2>&1 | tail -1)
		if [ "$line" = failed ] || [ -s "$W/err" ]; then
			echo "bench build-tree: build of $1 failed: $(cat "$W/err")" >&2
			exit 1
		fi
		c=$(python3 -c "import sys; print(f'{float(sys.argv[1]) + float(sys.argv[2]):.3f}')" $line)
		best=$(python3 -c "import sys; a=sys.argv[1:]; print(min(a, key=float))" $c $best)
	done
	rm -f "$W/out.img"
	echo "$best"
}

small=$(make_iso "$N")
large=$(make_iso $((4 * N)))
cs=$(cpu "$small")
cl=$(cpu "$large")
echo "bench build-tree: $((2 * N)) names (${N} files in one folder + ${N} folders in one folder): cpu $cs s"
echo "bench build-tree: $((8 * N)) names (4x)                                          : cpu $cl s"
echo "bench build-tree: ratio 4x / 1x  $(python3 -c "import sys; print(f'{float(sys.argv[2]) / float(sys.argv[1]):.2f}')" "$cs" "$cl") (4 = linear, 16 = quadratic), best of $RUNS, load average $(cut -d' ' -f1 /proc/loadavg)"
