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

# seconds "wall cpu" of one run (cpu = user + sys of the command and its children): the machine is shared,
# so CPU time is the steadier figure
measure() { # FUNCTION
	local TIMEFORMAT='%R %U %S' line
	line=$({ time "$1" >/dev/null; } 2>&1 | tail -1)
	python3 -c "import sys; r,u,s=map(float,sys.argv[1:4]); print(f'{r:.3f} {u+s:.3f}')" $line
}
min() { python3 -c "import sys; print(f'{min(float(x) for x in sys.argv[1:]):.3f}')" "$@"; }
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

dw=() dc=() tw=() tc=()
for i in $(seq 1 "$RUNS"); do
	sync
	read -r w c < <(measure run_dartdup); dw+=("$w"); dc+=("$c")
	sync
	read -r w c < <(measure run_tools); tw+=("$w"); tc+=("$c")
done
bdw=$(min "${dw[@]}") bdc=$(min "${dc[@]}") btw=$(min "${tw[@]}") btc=$(min "${tc[@]}")
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }
echo "bench build: ISO $((size >> 20)) MiB, best of $RUNS, load average $(cut -d' ' -f1 /proc/loadavg)"
echo "bench build: dartdup build --raw         wall ${bdw} s  cpu ${bdc} s"
echo "bench build: xorriso + mkfs.fat + mcopy  wall ${btw} s  cpu ${btc} s"
echo "bench build: ratio dartdup / tools       wall $(ratio "$bdw" "$btw")  cpu $(ratio "$bdc" "$btc") (lower is better; the tools' image does not boot)"
