#!/usr/bin/env bash
# The master stick on the simulated board (issue 15 item 1, firmware/master.h): port 3 is the master port
# (--master 3) and a directory at its path stands for the stick's mounted FAT file system. A master with a
# valid image is stored and gets the audit export (JSONL + CSV); a wrong key, a damaged package, a bad
# batch file or a bad second package are refused and change nothing; a master in another port is never
# read or written; a stick pulled mid-export keeps its old files and the mark does not move; a second
# insertion exports no duplicates. Synchronised on the protocol (--ready-fd, status --watch) and on the
# crash point's line, never on sleeps.
. tests/lib.sh

S=$T/board.sock
ST=$T/store
M=$T/m
PID=
B() { "$DARTDUP" board --sim "$S" "$@"; }

# start_board PORT3 [dartdupd sim options...]: sticks p1 p2, PORT3 the third port's path, port 3 the master
start_board() {
	local p3=$1
	shift
	start_sim_board "$S" --store "$ST" --pubkey "$T/depot.pub" --serial "SIM/M 1" --port "$T/p1" --port "$T/p2" \
		--port "$p3" "$@"
	local rc=$?
	PID=$SIM_PID
	return $rc
}
stop_board() {
	[ -n "$PID" ] || return 0
	stop_sim_board "$PID" 2>/dev/null
	PID=
}
# crash_at POINT: start with the master in port 3, let the daemon stop itself at the crash point (it says
# so on stderr, read here line by line), then cut it off as a pulled stick or a power cut would
crash_at() {
	local line= seen=
	rm -f "$T/err.fifo"; mkfifo "$T/err.fifo"
	DARTDUP_CRASHPOINT=$1 "$DARTDUPD" --board sim --socket "$S" --store "$ST" --pubkey "$T/depot.pub" \
		--serial "SIM/M 1" --port "$T/p1" --port "$T/p2" --port "$M" --master 3 >>"$T/lights" 2>"$T/err.fifo" &
	PID=$!
	while read -r line; do
		echo "$line" >>"$T/daemon.err"
		case $line in *"crash point $1 reached"*) seen=1; break ;; esac
	done <"$T/err.fifo"
	kill -9 "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
	PID=
	[ -n "$seen" ]
}
cleanup() { stop_board; rm -rf "$T"; }
trap cleanup EXIT

sticks() { head -c $((4 << 20)) /dev/urandom >"$T/p1"; head -c $((4 << 20)) /dev/urandom >"$T/p2"; }
# a button job on p1 p2 with the clock as it is (the button is handled before the PC's request)
button_job() { sticks; kill -USR1 "$PID"; B status --watch --job "$1" >/dev/null 2>&1; }
J=$M/DARTDUP/audit-SIM_M_1.jsonl
C=$M/DARTDUP/audit-SIM_M_1.csv
seqs() { python3 -c 'import json,sys; print(" ".join(str(json.loads(l)["seq"]) for l in open(sys.argv[1])))' "$1"; }
csv_seqs() { # the CSV's seq column, read the way a spreadsheet would (BOM, header, RFC 4180)
	python3 - "$1" <<'PY'
import csv, sys
raw = open(sys.argv[1], "rb").read()
assert raw.startswith(b"\xef\xbb\xbf"), "no BOM"
assert b"\n" not in raw.replace(b"\r\n", b""), "a bare LF outside a quoted cell"
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8-sig", newline="")))
print(" ".join(r["seq"] for r in rows))
PY
}
exported() { cat "$ST/audit.exported" 2>/dev/null || echo 0; }
stored_is() { cmp -s "$ST/image.dfi" "$1"; }

"$DARTDUP" keygen -o "$T/depot" >/dev/null 2>&1 && "$DARTDUP" keygen -o "$T/rogue" >/dev/null 2>&1 ||
	{ not_ok "keygen"; exit 0; }
make_image "$T/a.img" $((2 * 1024 * 1024 + 777)) 11
make_image "$T/b.img" $((1024 * 1024 + 99)) 12
for x in "a depot master-A" "b depot master-B" "r rogue rogue-image"; do
	set -- $x
	"$DARTDUP" pack "$T/${1/r/a}.img" -o "$T/$1.dfi" --block-size 64K --key "$T/$2.key" --name "$3" >/dev/null 2>&1 ||
		{ not_ok "pack $1"; exit 0; }
done
cp "$T/a.dfi" "$T/damaged.dfi"
printf '\xff' | dd of="$T/damaged.dfi" bs=1 seek=$(( $(stat -c %s "$T/a.dfi") / 2 )) conv=notrunc 2>/dev/null
sticks

# --- options ------------------------------------------------------------------------------------
mkdir -p "$M/DARTDUP"
for bad in 0 4 x; do
	expect_rc "sim --master $bad refused" 2 "$DARTDUPD" --board sim --socket "$S" --store "$ST" --pubkey "$T/depot.pub" \
		--port "$T/p1" --port "$T/p2" --port "$M" --master "$bad"
done

# --- accepted: image stored, batch and time taken, export files made ------------------------------
cp "$T/a.dfi" "$M/DARTDUP/Master-A.DFI"
printf 'batch = WO-9\r\noperator = Bo "the, op"\r\nprobe = yes\r\nsanitize = no\r\ntime = 2026-11-30T08:00:00Z\r\n' \
	>"$M/DARTDUP/batch.conf"
check "daemon starts with a master stick in the master port" start_board "$M" --master 3
check "the image is stored" stored_is "$T/a.dfi"
check "the daemon says so" grep -q "master stick: stored the image master-A" "$T/daemon.err"
check "the clock, unset, is set from batch.conf" grep -q "clock set from the master stick: 2026-11-30T08:00:00Z" "$T/daemon.err"
check "light: master accepted" grep -q "\[3 MASTER-OK\]" "$T/lights"
check "export files made (nothing to export yet)" test -f "$J" -a -f "$C" -a ! -s "$J"
check "the CSV has its header only" test "$(csv_seqs "$C")" = ""
check "no temporary file left" test -z "$(ls "$M/DARTDUP" | grep '\.tmp$')"
check "the stick's package is untouched" cmp -s "$M/DARTDUP/Master-A.DFI" "$T/a.dfi"
button_job 1
check "a job never writes the master port" test -d "$M" -a "$(ls "$M/DARTDUP" | wc -l)" -eq 4
stop_board

# the records of that job go onto the stick at its next insertion (the restart reads it again)
check "restart: the master is read again" start_board "$M" --master 3
check "JSONL: the job's two records" test "$(seqs "$J")" = "1 2"
check "CSV: the same two records" test "$(csv_seqs "$C")" = "1 2"
check "records: the batch of batch.conf" test "$(grep -c '"batch":"WO-9"' "$J")" -eq 2
check "records: the operator of batch.conf" test "$(grep -cF '"operator":"Bo \"the, op\""' "$J")" -eq 2
check "records: the clock's source is the master stick" test "$(grep -c '"time_source":"master"' "$J")" -eq 2
check "records: the master's time" grep -q '"time":"2026-11-30T08:0' "$J"
check "CSV: a cell with a quote and a comma round-trips" python3 - "$C" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8-sig", newline="")))
assert all(r["operator"] == 'Bo "the, op"' and r["time_source"] == "master" and r["result"] == "pass" for r in rows), rows
PY
check "the mark advanced to the last exported record" test "$(exported)" = 2
expect_rc "the JSONL export verifies against the board's key" 0 "$DARTDUP" audit verify "$J" --board-key "$ST/audit.pub"
out_has "both records intact" "2 record(s), seq 1..2: intact"
cp "$J" "$T/j1"; cp "$C" "$T/c1"
stop_board

# --- twice: nothing new, nothing twice -----------------------------------------------------------
check "restart: the master is read a third time" start_board "$M" --master 3
check "no duplicates in the JSONL" cmp -s "$J" "$T/j1"
check "no duplicates in the CSV" cmp -s "$C" "$T/c1"
button_job 1
stop_board

# --- pulled mid-export: before the rename the old files stand, the mark stays ------------------------
check "crash point master-export-before-rename reached" crash_at master-export-before-rename
check "pulled before the rename: the JSONL is the old one" cmp -s "$J" "$T/j1"
check "pulled before the rename: the CSV is the old one" cmp -s "$C" "$T/c1"
check "pulled before the rename: the mark did not move" test "$(exported)" = 2
check "restart after the pull" start_board "$M" --master 3
check "the records come at the next insertion, once" test "$(seqs "$J")" = "1 2 3 4"
check "CSV: once" test "$(csv_seqs "$C")" = "1 2 3 4"
check "no temporary file left after it" test -z "$(ls "$M/DARTDUP" | grep '\.tmp$')"
check "the mark is 4" test "$(exported)" = 4
button_job 1
stop_board

# after the rename, before the mark: the files are new, the mark is old; the next export adds nothing twice
check "crash point master-export-before-mark reached" crash_at master-export-before-mark
check "pulled before the mark: the files hold the new records" test "$(seqs "$J")" = "1 2 3 4 5 6"
check "pulled before the mark: the mark did not move" test "$(exported)" = 4
check "restart after the second pull" start_board "$M" --master 3
check "JSONL: still no duplicates" test "$(seqs "$J")" = "1 2 3 4 5 6"
check "CSV: still no duplicates" test "$(csv_seqs "$C")" = "1 2 3 4 5 6"
check "the mark caught up" test "$(exported)" = 6
expect_rc "the whole export verifies" 0 "$DARTDUP" audit verify "$J" --board-key "$ST/audit.pub"
stop_board

# --- refused: nothing changes --------------------------------------------------------------------
# refused_case NAME SETUP...: a fresh master folder made by SETUP; the board refuses it: the stored image,
# the mark and the store stay, nothing is written on the stick
refused_case() {
	local name=$1
	shift
	rm -rf "$M"; mkdir -p "$M/DARTDUP"
	"$@"
	find "$M" -printf '%P %s\n' | sort >"$T/before"
	: >"$T/lights"
	: >"$T/daemon.err"
	check "$name: daemon starts" start_board "$M" --master 3
	check "$name: light: master refused" grep -q "\[3 MASTER-BAD\]" "$T/lights"
	check "$name: the daemon says why" grep -q "master stick refused, nothing changed: .*$REASON" "$T/daemon.err" ||
		echo "# $(grep refused "$T/daemon.err")"
	check "$name: the stored image is unchanged" stored_is "$T/a.dfi"
	check "$name: nothing written on the stick" cmp -s "$T/before" <(find "$M" -printf '%P %s\n' | sort)
	check "$name: the mark is unchanged" test "$(exported)" = 6
	check "$name: no transfer left in the store" test -z "$(ls "$ST/incoming")"
	stop_board
}
REASON="signed by another key" refused_case "wrong key" cp "$T/r.dfi" "$M/DARTDUP/r.dfi"
REASON="block [0-9]*.*damaged" refused_case "damaged package" cp "$T/damaged.dfi" "$M/DARTDUP/a.dfi"
bad_second() { cp "$T/b.dfi" "$M/DARTDUP/b.dfi"; cp "$T/b.dfi" "$M/DARTDUP/firmware.dfi"; }
REASON="is not a firmware bundle" refused_case "a good image with a bad firmware bundle" bad_second
bad_batch() { cp "$T/b.dfi" "$M/DARTDUP/b.dfi"; echo "probe = maybe" >"$M/DARTDUP/batch.conf"; }
REASON="batch.conf:1: probe must be yes or no" refused_case "a bad batch file" bad_batch
two_images() { cp "$T/b.dfi" "$M/DARTDUP/b.dfi"; cp "$T/b.dfi" "$M/DARTDUP/c.dfi"; }
REASON="two images in DARTDUP" refused_case "two images" two_images
no_folder() { rmdir "$M/DARTDUP"; cp "$T/b.dfi" "$M/b.dfi"; }
REASON="no DARTDUP folder" refused_case "no DARTDUP folder" no_folder
"$DARTDUP" revoke -o "$T/rogue.list" --serial 5 --key "$T/rogue.key" --revoke-image "$T/a.dfi" >/dev/null 2>&1 ||
	not_ok "revoke: a list signed by a rogue key"
forged_list() { cp "$T/b.dfi" "$M/DARTDUP/b.dfi"; cp "$T/rogue.list" "$M/DARTDUP/revocation.list"; }
REASON="revocation" refused_case "a revocation list signed by an unknown key" forged_list

# --- a master in a port that is not the master port is never read nor written -------------------
rm -rf "$M"; mkdir -p "$M/DARTDUP"; cp "$T/b.dfi" "$M/DARTDUP/b.dfi"
rm -f "$T/p2" # the master port (2) is empty
find "$M" -printf '%P %s\n' | sort >"$T/before"
: >"$T/lights"
check "daemon starts with the master stick in port 3 and port 2 as the master port" start_board "$M" --master 2
check "not the master port: not read (the stored image stays)" stored_is "$T/a.dfi"
check "not the master port: nothing written on it" cmp -s "$T/before" <(find "$M" -printf '%P %s\n' | sort)
check "not the master port: no master light" test -z "$(grep MASTER "$T/lights")"
expect_rc "a job with a directory in port 3 writes p1 only" 0 B start --wait
out_has "one port in the job" "job 1 started on 1 port(s)"
check "not the master port: still nothing written on it" cmp -s "$T/before" <(find "$M" -printf '%P %s\n' | sort)
stop_board
check "without --master: not read either" start_board "$M"
check "without --master: the stored image stays" stored_is "$T/a.dfi"
stop_board

# --- a new image replaces the old --------------------------------------------------------------------
cp "$T/b.dfi" "$M/DARTDUP/b.dfi"
echo "time = 2026-01-01T00:00:00Z" >"$M/DARTDUP/batch.conf"
: >"$T/daemon.err"
check "daemon starts with master-B in the master port" start_board "$M" --master 3
check "master-B replaces master-A" stored_is "$T/b.dfi"
expect_rc "info" 0 B info
out_has "info names the new image" "master-B"
stop_board

# --- a revocation list on the master stick is taken before its image: a revoked image is refused ---------
"$DARTDUP" revoke -o "$T/depot.list" --serial 1 --key "$T/depot.key" --revoke-image "$T/a.dfi" >/dev/null 2>&1 ||
	not_ok "revoke: the depot's list"
rm -rf "$M"; mkdir -p "$M/DARTDUP"
cp "$T/a.dfi" "$M/DARTDUP/a.dfi"; cp "$T/depot.list" "$M/DARTDUP/revocation.list"
: >"$T/lights"; : >"$T/daemon.err"
check "daemon starts with a master holding a list that revokes its own image" start_board "$M" --master 3
check "revoked: master refused" grep -q "\[3 MASTER-BAD\]" "$T/lights"
check "revoked: the image it revokes is not stored" stored_is "$T/b.dfi"
expect_rc "info after the master's list" 0 B info --json
out_has "the board took the master's list (serial 1)" '"serial":1'
stop_board
