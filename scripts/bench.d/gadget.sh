#!/usr/bin/env bash
# The board's USB link (docs/PERFORMANCE.md "The board's USB link", issue 21 item 5): in the VM rig
# (dummy_hcd, the linux-gadget board and the PC side in one guest), `dartdup board load` of a signed
# package of BENCH_GADGET_MB MiB (default 512) between two raw bulk transfers of the same size over the same
# link (tests/vm/bench/gadget_rate.sh, tests/vm/tools/raw_bulk). Prints the rates and the ratios, load over
# raw, for the LOAD_DATA phase and for the whole command. Needs root and qemu-system-x86_64 (the VM rig,
# docs/TESTING.md); skips with one line otherwise. Takes 5-10 minutes (TCG).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ] || ! command -v qemu-system-x86_64 >/dev/null; then
	echo "bench gadget: skipped (the VM rig needs root and qemu-system-x86_64)"
	exit 0
fi
make -s all build/vmtools/raw_bulk >/dev/null
out=$(VM_JOBS=1 GADGET_RATE_MB=${BENCH_GADGET_MB:-512} tests/vm/run tests/vm/bench/gadget_rate.sh 2>&1) || true
log=build/vm/out/gadget_rate/share/guest.log
echo "bench gadget: load of ${BENCH_GADGET_MB:-512} MiB over the gadget link (VM rig, dummy_hcd) against a raw bulk transfer, same run"
grep -E '^# (raw [12]|load:|gadget rate|goal)' "$log" 2>/dev/null | sed 's/^# /  /' || true
if grep -q '^not ok' <<<"$out"; then
	grep '^not ok' <<<"$out" | sed 's/^/  /'
	echo "  (logs: build/vm/out/gadget_rate/)"
	exit 1
fi
