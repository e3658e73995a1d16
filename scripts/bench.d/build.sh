#!/usr/bin/env bash
# make bench, build: `dartdup build --raw` of a large DaRT-style ISO against what a user would do otherwise
# on Linux without root: extract the ISO with xorriso, make an image file with a FAT32 volume (mkfs.fat) and
# copy the files in (mcopy). Same ISO, same run, alternating, best of N. Results: docs/PERFORMANCE.md.
#   BENCH_ISO_MB=600 (size of boot.wim stand-in + extras), BENCH_RUNS=3
set -euo pipefail
cd "$(dirname "$0")/../.."
D=${DARTDUP:-$PWD/build/bin/dartdup}
W=build/bench/build
MB=${BENCH_ISO_MB:-600}
RUNS=${BENCH_RUNS:-3}
mkdir -p "$W"
iso=$W/dart-$MB.iso
if [ ! -f "$iso" ]; then
	echo "bench build: making a $MB MiB sample ISO (once, cached in $W)"
	# boot.wim of ~70% of the size, the rest as 1 MiB files: a WinPE-like mix of one big and many small files
	wim=$((MB * 7 / 10))
	scripts/make-sample-iso "$iso" --wim-mb "$wim" --extra-mb $((MB - wim - 8))
fi
size=$(stat -c %s "$iso")

t_now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$2"; }

run_dartdup() {
	rm -f "$W/out.img"
	"$D" build "$iso" -o "$W/out.img" --raw --quiet
}
run_tools() {
	local x=$W/extract img=$W/tools.img bytes
	rm -rf "$x" "$img"
	xorriso -osirrox on -indev "$iso" -extract / "$x" >/dev/null 2>&1
	chmod -R u+w "$x"
	bytes=$(du -sb "$x" | cut -f1)
	# the same size rule as dartdup: content + 10% + 16 MiB, at least 34 MiB
	bytes=$(( (bytes + bytes / 10 + (16 << 20) + (1 << 20) - 1) / (1 << 20) ))
	[ "$bytes" -lt 34 ] && bytes=34
	truncate -s "${bytes}M" "$img"
	mkfs.fat -F 32 -n DART70 "$img" >/dev/null
	MTOOLS_SKIP_CHECK=1 mcopy -s -Q -i "$img" "$x"/* ::/
	rm -rf "$x"
}

best_d="" best_t=""
for i in $(seq 1 "$RUNS"); do
	sync
	a=$(t_now); run_dartdup; b=$(t_now); d=$(elapsed "$a" "$b")
	sync
	a=$(t_now); run_tools; b=$(t_now); t=$(elapsed "$a" "$b")
	best_d=$(python3 -c "import sys; v=[float(x) for x in sys.argv[1:] if x]; print(f'{min(v):.3f}')" $best_d $d)
	best_t=$(python3 -c "import sys; v=[float(x) for x in sys.argv[1:] if x]; print(f'{min(v):.3f}')" $best_t $t)
done
ratio=$(python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$best_d" "$best_t")
echo "bench build: ISO $((size >> 20)) MiB, best of $RUNS"
echo "bench build: dartdup build --raw        ${best_d} s"
echo "bench build: xorriso + mkfs.fat + mcopy ${best_t} s"
echo "bench build: ratio dartdup / tools      ${ratio} (lower is better; the tools' image does not boot)"
rm -f "$W/out.img" "$W/tools.img"
