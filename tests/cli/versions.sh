#!/usr/bin/env bash
# Versions, downgrades, revocation and identify (issue 15 items 5 and 6), end to end: dartdup pack/inspect
# --version, the simulated board refusing an older image or firmware unless --allow-downgrade, revocation
# lists made by dartdup revoke and loaded by dartdup board revoke (forged, older, unknown key, a revoked
# key's image, a stored image revoked: the button writes nothing), and dartdup identify on stick files.
# Synchronised on the protocol (--ready-fd, replies, start --wait), never on sleeps.
. tests/lib.sh

S=$T/board.sock
ST=$T/store
PID=
B() { "$DARTDUP" board --sim "$S" "$@"; }
start_board() {
	local args=() p
	for p in "$@"; do args+=(--port "$p"); done
	start_sim_board "$S" --store "$ST" --pubkey "$T/depot.pub" --pubkey "$T/second.pub" "${args[@]}"
	local rc=$?
	PID=$SIM_PID
	return $rc
}
stop_board() { [ -n "$PID" ] || return 0; stop_sim_board "$PID"; PID=; }

for k in depot second stranger; do "$DARTDUP" keygen -o "$T/$k" >/dev/null 2>&1 || { not_ok "keygen $k"; exit 0; }; done
pack() { local raw=$1 out=$2; shift 2; "$DARTDUP" pack "$raw" -o "$out" --block-size 64K "$@" >/dev/null 2>&1; }
make_image "$T/v1.img" $((2 * 1024 * 1024 + 333)) 1
cp "$T/v1.img" "$T/v2.img"
# version 2 differs from version 1 past its first block only: the sticks' block 0 is shared
printf 'version two' | dd of="$T/v2.img" bs=1 seek=$((1536 * 1024)) conv=notrunc 2>/dev/null
pack "$T/v1.img" "$T/v1.dfi" --key "$T/depot.key" --name "DaRT" --version 1.2 &&
	pack "$T/v2.img" "$T/v2.dfi" --key "$T/depot.key" --name "DaRT" --version 1.10 &&
	pack "$T/v1.img" "$T/unversioned.dfi" --key "$T/depot.key" --name "DaRT" &&
	pack "$T/v1.img" "$T/by-second.dfi" --key "$T/second.key" --name "Second" --version 1 &&
	pack "$T/v1.img" "$T/fw-old.dfi" --key "$T/depot.key" --name "dartdupd-firmware sim 0.0.9" &&
	pack "$T/v1.img" "$T/fw-new.dfi" --key "$T/depot.key" --name "dartdupd-firmware sim 9.9.9" ||
	{ not_ok "pack the sample packages"; exit 0; }

# --- a package's version ------------------------------------------------------------------------
expect_rc "inspect shows the version" 0 "$DARTDUP" inspect "$T/v2.dfi"
out_has "inspect: version 1.10" "version     1.10"
expect_rc "inspect --json: the version" 0 "$DARTDUP" inspect "$T/v2.dfi" --json
out_has "inspect --json: \"version\":\"1.10\"" '"version":"1.10"'
expect_rc "inspect of a package without a version" 0 "$DARTDUP" inspect "$T/unversioned.dfi"
out_has "inspect: version none" "version     none"
expect_rc "pack --version 1.02 refused" 2 "$DARTDUP" pack "$T/v1.img" -o "$T/bad.dfi" --version 1.02
out_has "pack names the bad version" 'version "1.02": not a version'
check "nothing written for a refused version" test ! -e "$T/bad.dfi"
expect_rc "build --version x refused before the build" 2 "$DARTDUP" build "$T/none.iso" -o "$T/b.dfi" --version x

# --- downgrades on the board -----------------------------------------------------------------------
P=("$T/p1" "$T/p2")
for p in "${P[@]}"; do head -c $((3 << 20)) /dev/urandom >"$p"; done
check "daemon starts" start_board "${P[@]}"
expect_rc "load version 1.10" 0 B load "$T/v2.dfi"
expect_rc "load version 1.2 of the same name: refused" 2 B load "$T/v1.dfi"
out_has "the refusal says older and how to force it" "version 1.2 is older than the stored image of that name (1.10)"
out_has "the refusal names --allow-downgrade" "--allow-downgrade"
expect_rc "a package without a version is older too" 2 B load "$T/unversioned.dfi"
expect_rc "info: the version 1.10 image is still stored" 0 B info --json
out_has "info names the stored image" '"name":"DaRT"'
expect_rc "load 1.2 with --allow-downgrade" 0 B load "$T/v1.dfi" --allow-downgrade
expect_rc "the job writes version 1.2" 0 B start --wait
check "the ports hold version 1.2" cmp -s -n "$(stat -c %s "$T/v1.img")" "$T/v1.img" "$T/p1"
expect_rc "an older firmware bundle is refused" 2 B update "$T/fw-old.dfi"
out_has "the refusal names the running firmware" "older than the running firmware"
expect_rc "info: nothing pending" 0 B info --json
out_has "no bundle pending after the refusal" '"pending_firmware":null'
expect_rc "an older firmware with --allow-downgrade is stored" 0 B update "$T/fw-old.dfi" --allow-downgrade
expect_rc "a newer firmware is stored" 0 B update "$T/fw-new.dfi"

# --- revocation lists ----------------------------------------------------------------------------
ID1=$("$DARTDUP" inspect "$T/v1.dfi" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["image_id"])')
expect_rc "revoke: a list revoking the stored image" 0 "$DARTDUP" revoke -o "$T/l2" --serial 2 --key "$T/depot.key" \
	--revoke-image "$T/v1.dfi"
out_has "revoke reports the list" "revocation list serial 2, 0 key(s), 1 image(s), signed"
grep -q "^image $ID1\$" "$T/l2" && ok "the list names the image id" || not_ok "the list names the image id: $(cat "$T/l2")"
"$DARTDUP" revoke -o "$T/l1" --serial 1 --key "$T/depot.key" --revoke-image "$ID1" >/dev/null 2>&1 &&
	"$DARTDUP" revoke -o "$T/l3" --serial 3 --key "$T/depot.key" --revoke-image "$ID1" --revoke-key "$T/second.pub" \
		>/dev/null 2>&1 &&
	"$DARTDUP" revoke -o "$T/l9-stranger" --serial 9 --key "$T/stranger.key" >/dev/null 2>&1 &&
	"$DARTDUP" revoke -o "$T/l9-second" --serial 9 --key "$T/second.key" >/dev/null 2>&1 ||
	not_ok "revoke: the other lists"
sed 's/^serial 2$/serial 7/' "$T/l2" >"$T/forged"
expect_rc "revoke without --serial" 2 "$DARTDUP" revoke -o "$T/x" --key "$T/depot.key"
expect_rc "revoke --serial 0" 2 "$DARTDUP" revoke -o "$T/x" --serial 0 --key "$T/depot.key"
expect_rc "revoke --revoke-image of a missing file" 2 "$DARTDUP" revoke -o "$T/x" --serial 4 --key "$T/depot.key" \
	--revoke-image "$T/none.dfi"
expect_rc "revoke -o onto its own key is refused" 2 "$DARTDUP" revoke -o "$T/depot.key" --serial 4 --key "$T/depot.key"
expect_rc "info before any list" 0 B info
out_has "info: nothing revoked" "revoked   nothing"
expect_rc "a forged list is refused" 2 B revoke "$T/forged"
out_has "the forged list's refusal names the file" "$T/forged: board: revocation list"
expect_rc "a list signed by a key the board does not trust is refused" 2 B revoke "$T/l9-stranger"
expect_rc "a list of another file kind is refused" 2 B revoke "$T/v1.img"
expect_rc "the list is taken" 0 B revoke "$T/l2"
out_has "revoke: the board's list now" "list serial 2"
expect_rc "the same list again is fine" 0 B revoke "$T/l2"
expect_rc "an older list is refused" 2 B revoke "$T/l1"
out_has "the older list's refusal says so" "serial 1 is not newer than the board's (serial 2)"
expect_rc "revoke without LIST shows the list" 0 B revoke --json
out_has "revoke --json: serial and counts" '"revocation":{"serial":2,"keys":0,"images":1,'
expect_rc "info --json: the list" 0 B info --json
out_has "info --json: the list's serial" '"revocation":{"serial":2'
for p in "${P[@]}"; do head -c $((3 << 20)) /dev/urandom >"$p"; done
sha_before=$(sha256sum "${P[@]}")
expect_rc "start with a revoked stored image is refused" 2 B start
out_has "start says why" "the stored image is not used: image"
out_has "start names the revocation" "is revoked (revocation list serial 2)"
check "nothing was written to the sticks" test "$sha_before" = "$(sha256sum "${P[@]}")"
expect_rc "status after the refusal" 0 B status --json
out_has "the ports say attention" '"state":"attention"'
out_has "the ports say why" "not written: image"
expect_rc "a revoked image cannot be loaded again" 2 B load "$T/v1.dfi" --allow-downgrade
out_has "the load's refusal says revoked" "is revoked"
expect_rc "another image is loaded" 0 B load "$T/by-second.dfi"
expect_rc "a newer list revoking a key" 0 B revoke "$T/l3"
expect_rc "start: the stored image's key is revoked" 2 B start
out_has "start names the revoked key" "which is revoked"
expect_rc "an image signed by the revoked key is refused at load" 2 B load "$T/by-second.dfi"
expect_rc "a list signed by the revoked key is refused" 2 B revoke "$T/l9-second"
out_has "the refusal says the signer is revoked" "which the board's list revokes"
expect_rc "load version 1.10 (not revoked)" 0 B load "$T/v2.dfi"
stop_board
check "the board restarts" start_board "${P[@]}"
expect_rc "the list survives a restart" 0 B revoke
out_has "after the restart: serial 3" "list serial 3"
expect_rc "the job runs with an image that is not revoked" 0 B start --wait
stop_board

# --- identify ----------------------------------------------------------------------------------
head -c $((4 << 20)) /dev/urandom >"$T/stick"
dd if="$T/v1.img" of="$T/stick" conv=notrunc 2>/dev/null
sum=$(sha256sum <"$T/stick")
expect_rc "identify: version 1.2, intact" 0 "$DARTDUP" identify "$T/stick" --known "$T/v2.dfi" --known "$T/v1.dfi"
out_has "identify names the image and version" "intact \"DaRT\" version 1.2, image id $ID1"
expect_rc "identify --json" 0 "$DARTDUP" identify "$T/stick" --known "$T/v2.dfi" --known "$T/v1.dfi" --json
out_has "identify --json: state and version" '"state":"intact","package":"'"$T/v1.dfi"'"'
dd if="$T/v2.img" of="$T/stick" conv=notrunc 2>/dev/null
expect_rc "identify: version 1.10 (block 0 shared with 1.2)" 0 "$DARTDUP" identify "$T/stick" --known "$T/v1.dfi" \
	--known "$T/v2.dfi" --pubkey "$T/depot.pub"
out_has "identify tells 1.10 from 1.2" 'intact "DaRT" version 1.10'
printf 'damage' | dd of="$T/stick" bs=1 seek=$((2 * 1024 * 1024)) conv=notrunc 2>/dev/null
sum=$(sha256sum <"$T/stick")
expect_rc "identify: a damaged copy exits 1" 1 "$DARTDUP" identify "$T/stick" --known "$T/v1.dfi" --known "$T/v2.dfi"
out_has "identify says damaged" 'damaged "DaRT" version 1.10'
check "identify wrote nothing" test "$sum" = "$(sha256sum <"$T/stick")"
head -c $((4 << 20)) /dev/urandom >"$T/other"
expect_rc "identify: an unknown stick exits 3" 3 "$DARTDUP" identify "$T/other" --known "$T/v1.dfi"
out_has "identify says unknown" "unknown: none of the 1 known image(s)"
expect_rc "identify: a known package signed by another key is refused" 2 "$DARTDUP" identify "$T/stick" \
	--known "$T/by-second.dfi" --pubkey "$T/depot.pub"
expect_rc "identify: --known of a raw image is refused" 2 "$DARTDUP" identify "$T/stick" --known "$T/v1.img"
expect_rc "identify: a missing stick" 2 "$DARTDUP" identify "$T/none" --known "$T/v1.dfi"
expect_rc "identify: a folder" 2 "$DARTDUP" identify "$T" --known "$T/v1.dfi"
expect_rc "identify without a stick" 2 "$DARTDUP" identify
expect_rc "station --known of a raw image is refused" 2 "$DARTDUP" station "$T/v2.dfi" --known "$T/v1.img"
