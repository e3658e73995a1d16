# Screens as a person sees them (issue 19 item 6): tmux runs `dartdup write` and `dartdup station` on a small
# (80x24) and a large (200x50) terminal, three reused sticks (random bytes) behind the emulated hub. Each
# screen is captured with `tmux capture-pane -p -J` (wrapped lines joined, so a line that wrapped shows longer
# than the terminal) while the sticks are being written and once they are done, and judged by
# screen_checks below: nothing wider than the terminal, no more lines than it has, the counters visible, every
# stick's port there. The captures are kept in out/screens/share/screens/; one of each is in docs/screens/.
# Synchronised by polling the pane (tmux display/capture) with a bound, never by a fixed sleep.

VM_TIMEOUT=420   # four runs of three throttled sticks under TCG

IMG_MIB=4
SIZES="80x24 200x50"

sticks() {
	# throttled writes (1 MB/s each) so a screen in the middle of the job can be captured
	stick a 32M hub fill=random wbps=1000000
	stick b 32M hub fill=random wbps=1000000
	stick c 32M hub fill=random wbps=1000000
}

setup() {
	make_image "$VM_SHARE/image.img" $((IMG_MIB << 20)) 19
}

# --- the assertions, all in one place (the lead adjusts them here when the views change) -----------------
# port_label ID: what must appear on a screen for stick ID: the hub's port chain ("8.1"), which the kernel's
# port path ("1-8.1") and udev's ID_PATH ("usb-0:8.1:1.0") both contain, after '-' or ':' and not followed by
# a digit or a dot (so " 8.1 MB/s" does not count).
port_label() { local v="VM_PORT_$1"; echo "${!v}"; }
has_port() { grep -qE "[-:]${2//./\\.}([^0-9.]|\$)" "$1"; }

# screen_checks NAME FILE COLS ROWS COUNTERS_REGEX: one TAP line per property of one captured screen.
# FILE is a `capture-pane -J` capture: rows tmux marked as wrapped are joined, so a line that wrapped (now or
# in an earlier frame that was drawn over without clearing the row's wrap mark) is longer than COLS.
screen_checks() {
	local name=$1 f=$2 cols=$3 rows=$4 counters=$5 line n=0 widest=0 id missing=
	while IFS= read -r line; do
		line=${line%"${line##*[! ]}"}   # trailing blanks are the terminal's, not the program's
		[ "${#line}" -gt "$widest" ] && widest=${#line}
		n=$((n + 1))
	done <"$f"
	[ "$widest" -le "$cols" ] && ok "$name: no line wider than $cols columns (widest $widest)" ||
		not_ok "$name: a line of $widest columns on a $cols-column terminal (it wrapped): see $f"
	[ "$n" -le "$rows" ] && ok "$name: fits in $rows rows" || not_ok "$name: $n rows on a $rows-row terminal"
	grep -qE "$counters" "$f" && ok "$name: the counters are visible" ||
		not_ok "$name: no line matches '$counters': see $f"
	for id in a b c; do has_port "$f" "$(port_label "$id")" || missing+=" $id($(port_label "$id"))"; done
	[ -z "$missing" ] && ok "$name: every stick's port is shown" || not_ok "$name: ports missing:$missing: see $f"
}
WRITE_PROGRESS='[0-9]+(\.[0-9])?%'                  # write: no counters line mid-job today, the percentages
WRITE_DONE='^write: 3 passed, 0 failed, 0 incomplete'
STATION_COUNTERS='^done [0-9]+ .*failed [0-9]+'
STATION_DONE='^done 3 \(written 3, already held it 0\) +failed 0'

# --- tmux -------------------------------------------------------------------------------------------------
T() { tmux -L dd -f "$VM_SHARE/tmux.conf" "$@"; }

# pane_until SESSION SECONDS REGEX OUT: capture the pane until it shows a line matching REGEX (bounded)
pane_until() {
	local deadline=$(($2 + SECONDS))
	while :; do
		T capture-pane -p -J -t "$1" >"$4" 2>/dev/null && grep -qE "$3" "$4" && return 0
		[ "$SECONDS" -ge "$deadline" ] && return 1
		nap 0.2
	done
}

# run_in SESSION COLSxROWS RCFILE CMD...: CMD in a new tmux session of that size; its exit status lands in
# RCFILE when it ends (the guest's tmux does not learn its panes' exit status: it never reaps them). The
# wrapper's no-op INT trap keeps it alive through a Ctrl-C meant for CMD (a handler, unlike an ignored
# signal, is not inherited through exec).
run_in() {
	local s=$1 size=$2 rc=$3
	shift 3
	rm -f "$rc"
	T new-session -d -s "$s" -x "${size%x*}" -y "${size#*x}" bash -c 'trap : INT; "$@"; echo $? >"$0.tmp" && mv "$0.tmp" "$0"' "$rc" "$@"
}

# ended RCFILE SECONDS: wait until the program has ended (its exit status is in RCFILE)
ended() {
	local deadline=$(($2 + SECONDS))
	until [ -s "$1" ]; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		nap 0.2
	done
}

screen_write() { # COLSxROWS DEV...
	local size=$1 cols=${1%x*} rows=${1#*x} dir=$VM_SHARE/screens s=w$1
	shift
	run_in "$s" "$size" "$dir/write-$size.rc" "$DARTDUP" write "$VM_SHARE/image.img" "$@" --yes
	if pane_until "$s" 120 "$WRITE_PROGRESS" "$dir/write-$size-progress.txt"; then
		screen_checks "write $size, mid-job" "$dir/write-$size-progress.txt" "$cols" "$rows" "$WRITE_PROGRESS"
	else
		not_ok "write $size: no progress seen: $(head -c 300 "$dir/write-$size-progress.txt")"
	fi
	ended "$dir/write-$size.rc" 180 || not_ok "write $size: still running after 180 s"
	T capture-pane -p -J -t "$s" >"$dir/write-$size.txt"
	T capture-pane -p -t "$s" >"$dir/write-$size.screen"   # as the eye sees it (docs/screens/)
	[ "$(cat "$dir/write-$size.rc" 2>/dev/null)" = 0 ] && ok "write $size: exit 0" ||
		not_ok "write $size: exit $(cat "$dir/write-$size.rc" 2>/dev/null)"
	screen_checks "write $size, done" "$dir/write-$size.txt" "$cols" "$rows" "$WRITE_DONE"
	T kill-session -t "$s"
}

screen_station() { # COLSxROWS
	local size=$1 cols=${1%x*} rows=${1#*x} dir=$VM_SHARE/screens s=s$1
	# --existing: the sticks are in already; --rewrite: they hold the image from the write runs;
	# --no-eject: the next run finds them again
	run_in "$s" "$size" "$dir/station-$size.rc" "$DARTDUP" station "$VM_SHARE/image.img" --existing --rewrite --no-eject
	if pane_until "$s" 120 '[0-9]+%' "$dir/station-$size-progress.txt"; then
		screen_checks "station $size, mid-job" "$dir/station-$size-progress.txt" "$cols" "$rows" "$STATION_COUNTERS"
	else
		not_ok "station $size: no progress seen: $(head -c 300 "$dir/station-$size-progress.txt")"
	fi
	if pane_until "$s" 180 "$STATION_DONE" "$dir/station-$size.txt"; then
		T capture-pane -p -t "$s" >"$dir/station-$size.screen"
		screen_checks "station $size, done" "$dir/station-$size.txt" "$cols" "$rows" "$STATION_DONE"
	else
		not_ok "station $size: the three sticks not done: $(head -c 400 "$dir/station-$size.txt")"
	fi
	T send-keys -t "$s" C-c
	ended "$dir/station-$size.rc" 60 || not_ok "station $size: still running 60 s after Ctrl-C"
	[ "$(cat "$dir/station-$size.rc" 2>/dev/null)" = 0 ] && ok "station $size: exit 0 after Ctrl-C" ||
		not_ok "station $size: exit $(cat "$dir/station-$size.rc" 2>/dev/null) after Ctrl-C"
	T capture-pane -p -J -t "$s" >"$dir/station-$size-stopped.txt"
	grep -q '^station stopped after .* 3 done' "$dir/station-$size-stopped.txt" &&
		ok "station $size: Ctrl-C prints the totals" || not_ok "station $size: totals: $(tail -c 300 "$dir/station-$size-stopped.txt")"
	T kill-session -t "$s"
}

guest() {
	local devs=() id size
	printf 'set -g remain-on-exit on\nset -g status off\n' >"$VM_SHARE/tmux.conf"
	mkdir -p "$VM_SHARE/screens"
	command -v tmux >/dev/null || { not_ok "tmux is not installed (scripts/deps/vm.txt)"; return; }
	for id in a b c; do devs+=("$(stick_dev "$(stick_serial "$id")")"); done
	export LANG=C.UTF-8
	for size in $SIZES; do screen_write "$size" "${devs[@]}"; done
	for size in $SIZES; do screen_station "$size"; done
	T kill-server 2>/dev/null
}

after() {
	local n=$((IMG_MIB << 20)) id out
	for id in a b c; do
		out=$(cmp -n "$n" "$VM_SHARE/image.img" "$(stick_file "$id")" 2>&1) &&
			ok "after: stick $id (random before) holds the image" ||
			not_ok "after: stick $id differs from the image: ${out##*: }"
	done
}
