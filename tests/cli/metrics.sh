#!/usr/bin/env bash
# --metrics FILE (docs/FLEET.md): the node_exporter textfile a write, a verify and `board --all log` keep
# up to date, read back the way a depot reads it: Debian's own prometheus-node-exporter serves the test's
# folder on 127.0.0.1 (textfile collector only) and the test scrapes it with curl. Skips with one line
# when the package is missing (CI installs it: scripts/deps/fleet.txt). Synchronised on the exporter's
# "Listening on" line and the board's protocol, never on sleeps.
. tests/lib.sh

EXPORTER=$(command -v prometheus-node-exporter || true)
D=$T/textfile
mkdir -p "$D"
EPID=
cleanup() {
	[ -n "$EPID" ] && kill "$EPID" 2>/dev/null && wait "$EPID" 2>/dev/null
	stop_sim_boards
	mountpoint -q "$T/small" 2>/dev/null && umount "$T/small"
	rm -rf "$T"
}
trap cleanup EXIT

# --- the file itself (no exporter needed) ----------------------------------------------------
"$DARTDUP" keygen -o "$T/depot" >/dev/null 2>&1 || { not_ok "keygen"; exit 0; }
make_image "$T/a.img" $((3 * 1024 * 1024 + 4321)) 11
"$DARTDUP" pack "$T/a.img" -o "$T/a.dfi" --block-size 64K --key "$T/depot.key" --name "metrics sample" >/dev/null 2>&1 ||
	{ not_ok "pack"; exit 0; }
ID=$("$DARTDUP" inspect "$T/a.dfi" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["image_id"])')
for t in t1 t2 t3; do head -c $((4 << 20)) /dev/urandom >"$T/$t"; done
M=$D/dartdup.prom
expect_rc "write --metrics: three targets" 0 "$DARTDUP" write "$T/a.dfi" "$T/t1" "$T/t2" "$T/t3" --yes --metrics "$M"
check "the file is there" test -s "$M"
check "no FILE.tmp left behind" test ! -e "$M.tmp"
check "three passes" grep -qx 'dartdup_sticks_total{result="pass",kind="none"} 3' "$M"
check "the image in use" grep -qx "dartdup_image_info{image_id=\"$ID\",image_name=\"metrics sample\"} 1" "$M"
check "bytes written: three images" grep -qx "dartdup_written_bytes_total $((3 * (3 * 1024 * 1024 + 4321)))" "$M"
head -c 1000 /dev/urandom | dd of="$T/t3" bs=1 seek=100000 conv=notrunc 2>/dev/null
expect_rc "verify --metrics: one target changed" 1 "$DARTDUP" verify "$T/a.dfi" "$T/t1" "$T/t2" "$T/t3" --metrics "$M"
check "verify: two passes" grep -qx 'dartdup_sticks_total{result="pass",kind="none"} 2' "$M"
check "verify: one mismatch" grep -qx 'dartdup_sticks_total{result="fail",kind="mismatch"} 1' "$M"

# refusals: named, nothing written
expect_rc "--metrics onto the image is refused" 2 "$DARTDUP" write "$T/a.dfi" "$T/t1" --yes --metrics "$T/a.dfi"
check "the image is untouched" "$DARTDUP" inspect "$T/a.dfi" --check
expect_rc "--metrics onto a device is refused" 2 "$DARTDUP" write "$T/a.dfi" "$T/t1" --yes --metrics /dev/sda
expect_rc "--metrics in a folder that does not exist" 2 "$DARTDUP" write "$T/a.dfi" "$T/t1" --yes --metrics "$T/none/m.prom"
ln -s "$T/t2" "$D/evil.prom.tmp"
expect_rc "a symlink planted as FILE.tmp: removed, not followed" 0 "$DARTDUP" write "$T/a.dfi" "$T/t1" --yes --metrics "$D/evil.prom"
check "the symlink's target is untouched (it still passes verify)" "$DARTDUP" verify "$T/a.dfi" "$T/t2"
check "the metrics file is a file of its own" test -f "$D/evil.prom" -a ! -L "$D/evil.prom" -a ! -e "$D/evil.prom.tmp"
rm -f "$D/evil.prom"
mkdir "$D/dir.prom.tmp"
expect_rc "a folder in FILE.tmp's way: the write goes on, the metrics fail (exit 1)" 1 "$DARTDUP" write "$T/a.dfi" "$T/t1" --yes --metrics "$D/dir.prom"
out_has "it says why" "dir.prom.tmp: refused"
check "the folder is left alone" test -d "$D/dir.prom.tmp"
rmdir "$D/dir.prom.tmp"

# the station: the file is there from its start (the image in use, every counter 0), refusals before it starts
expect_rc "station --metrics onto the image is refused" 2 "$DARTDUP" station "$T/a.dfi" --metrics "$T/a.dfi"
rm -f "$M"
mkfifo "$T/station.out"
"$DARTDUP" station "$T/a.dfi" --json --metrics "$M" >"$T/station.out" 2>"$T/station.err" &
SPID=$!
exec 5<"$T/station.out"
read -r first <&5 # its start event: written after the metrics file (host/station/cmd.c)
check "station: started" grep -q '"event":"start"' <<<"$first"
check "station: the image in use from the start" grep -qx "dartdup_image_info{image_id=\"$ID\",image_name=\"metrics sample\"} 1" "$M"
check "station: no stick yet" grep -qx 'dartdup_sticks_total{result="pass",kind="none"} 0' "$M"
kill -TERM "$SPID"
wait "$SPID"
check "station: stops cleanly (exit 0)" test $? -eq 0
check "station: its summary" grep -q '"event":"summary"' <&5
exec 5<&-

# --- two boards: board --all log --metrics --------------------------------------------------
# start_board NAME SERIAL PORT...: a simulated board serving on $T/NAME.sock
start_board() {
	local name=$1 serial=$2 args=() p; shift 2
	for p in "$@"; do args+=(--port "$p"); done
	start_sim_board "$T/$name.sock" --store "$T/$name.store" --pubkey "$T/depot.pub" --serial "$serial" "${args[@]}"
}
HAVE_SMALL=0
mkdir -p "$T/small"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=1m tmpfs "$T/small" 2>/dev/null; then
	HAVE_SMALL=1
	touch "$T/small/p" # a stick too small for the image: its port fails
fi
head -c $((4 << 20)) /dev/urandom >"$T/a1"; head -c $((4 << 20)) /dev/urandom >"$T/a2"
check "board A starts" start_board A BOARD-A "$T/a1" "$T/a2"
if [ "$HAVE_SMALL" = 1 ]; then
	check "board B starts (one stick too small)" start_board B BOARD-B "$T/small/p"
else
	head -c $((4 << 20)) /dev/urandom >"$T/b1"
	check "board B starts" start_board B BOARD-B "$T/b1"
fi
export DARTDUP_BOARD_SOCKETS=$T/A.sock:$T/B.sock
for b in A B; do
	"$DARTDUP" board --sim "$T/$b.sock" load "$T/a.dfi" >/dev/null 2>&1 &&
		"$DARTDUP" board --sim "$T/$b.sock" start --wait >/dev/null 2>&1
done
expect_rc "board --all log --metrics" 0 "$DARTDUP" board --all log -o "$T/collected.jsonl" --metrics "$M"
check "board metrics: two passes (board A)" grep -qx 'dartdup_sticks_total{result="pass",kind="none"} 2' "$M"
if [ "$HAVE_SMALL" = 1 ]; then
	check "board metrics: one fail (board B)" grep -q '^dartdup_sticks_total{result="fail",kind="[a-z_]*"} 1$' "$M"
else
	ok "# SKIP a failing board stick (needs root for a tmpfs)"
fi
check "board metrics: both boards up" test "$(grep -c '^dartdup_board_up{board="BOARD-[AB]"} 1$' "$M")" -eq 2
check "board metrics: by port" grep -q '^dartdup_port_sticks_total{port="sim-1",result="pass"} ' "$M"
check "board metrics: by model" grep -q '^dartdup_model_sticks_total{vendor="dartdup",model="sim port",result="pass"} ' "$M"

# --- scraped by node_exporter -----------------------------------------------------------------
if [ -z "$EXPORTER" ]; then
	ok "# SKIP prometheus-node-exporter is not installed (scripts/deps/fleet.txt)"
	exit 0
fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkfifo "$T/exporter.err"
"$EXPORTER" --web.listen-address="127.0.0.1:$PORT" --collector.disable-defaults --collector.textfile \
	--collector.textfile.directory="$D" 2>"$T/exporter.err" &
EPID=$!
listening() { local l; while read -r l; do echo "$l" >>"$T/exporter.log"; case $l in *"Listening on"*) return 0;; esac; done; return 1; }
exec 4<"$T/exporter.err"
check "node_exporter serves" listening <&4
cat <&4 >>"$T/exporter.log" &  # keep draining its log
scrape() { curl -sf "http://127.0.0.1:$PORT/metrics" >"$T/scraped"; }
value() { # SERIES: its value in the last scrape (the exporter writes 6.3e+06: printed as an integer)
	python3 - "$1" "$T/scraped" <<'PY'
import sys
want, path = sys.argv[1], sys.argv[2]
for line in open(path):
    if line.startswith(want + " "):
        v = float(line[len(want) + 1:])
        print(int(v) if v == int(v) else v)
PY
}
check "scrape" scrape
check "node_exporter read the file without errors" test "$(value 'node_textfile_scrape_error')" = 0
check "scraped: two passes" test "$(value 'dartdup_sticks_total{kind="none",result="pass"}')" = 2
if [ "$HAVE_SMALL" = 1 ]; then
	check "scraped: one fail" test "$(awk '$1 ~ /^dartdup_sticks_total\{kind="[a-z_]+",result="fail"\}$/ { n += $2 } END { print n }' "$T/scraped")" = 1
fi
check "scraped: board A up" test "$(value 'dartdup_board_up{board="BOARD-A"}')" = 1
check "scraped: the verified bytes of the board records" \
	test "$(value 'dartdup_verified_bytes_total')" = "$(python3 -c 'import json,sys; print(sum(json.loads(l)["bytes_verified"] for l in open(sys.argv[1])))' "$T/collected.jsonl")"
check "scraped: a histogram" grep -q '^dartdup_write_speed_bytes_per_second_bucket{le="+Inf"} ' "$T/scraped"
# the verify run again, scraped: the exporter reads the file as it is now
expect_rc "verify --metrics again" 1 "$DARTDUP" verify "$T/a.dfi" "$T/t1" "$T/t2" "$T/t3" --metrics "$M"
check "scrape again" scrape
check "scraped: the verify run's mismatch" test "$(value 'dartdup_sticks_total{kind="mismatch",result="fail"}')" = 1
check "scraped: the image in use" test "$(value "dartdup_image_info{image_id=\"$ID\",image_name=\"metrics sample\"}")" = 1
