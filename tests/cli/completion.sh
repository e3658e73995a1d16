#!/usr/bin/env bash
# Bash completion (scripts/completion/dartdup): sourced in a plain bash, each case sets COMP_WORDS and
# COMP_CWORD as bash would, calls the function `complete -F` names, and looks at COMPREPLY. The lists come
# from the program's own --help, so a command or option added there completes without an edit.
. tests/lib.sh

F=scripts/completion/dartdup
mkdir -p "$T/dev" "$T/files"
touch "$T/dev/sda" "$T/dev/sdb" "$T/dev/sdab" "$T/dev/sda1" "$T/files/dart.dfi" "$T/files/depot.pub"

# complete WORD...: COMPREPLY, one per line, sorted, for the command line WORD... (the last is the word
# under the cursor); for dartdupd when the first word is a dartdupd
complete_line() {
	bash -c '
		_dartdup_diskdir=$1/dev
		. "$2" || exit 3
		shift 2
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		fn=$(complete -p "${1##*/}" | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
		"$fn" || exit 4
		printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$T" "$F" "$@"
}
has()  { grep -qx -- "$2" <<<"$1"; }
# expect NAME WANT... -- WORDS...: COMPREPLY holds every WANT
expect() {
	local n=$1 w=() r; shift
	while [ "$1" != -- ]; do w+=("$1"); shift; done; shift
	r=$(complete_line "$@")
	for x in "${w[@]}"; do
		has "$r" "$x" || { not_ok "$n: '$x' missing from: $(echo $r)"; return; }
	done
	ok "$n"
}
# expect_not NAME UNWANTED... -- WORDS...
expect_not() {
	local n=$1 w=() r; shift
	while [ "$1" != -- ]; do w+=("$1"); shift; done; shift
	r=$(complete_line "$@")
	for x in "${w[@]}"; do
		has "$r" "$x" && { not_ok "$n: '$x' offered: $(echo $r)"; return; }
	done
	ok "$n"
}

check "completion: bash -n" bash -n "$F"
check "completion: registers dartdup and dartdupd" \
	bash -c ". '$F' && complete -p dartdup | grep -q _dartdup && complete -p dartdupd | grep -q _dartdupd"

# every command dartdup --help lists, and the version forms
mapfile -t cmds < <("$DARTDUP" --help | sed -n '/^commands:/,/^$/{s/^  \([a-z][a-z0-9-]*\) .*/\1/p}')
expect "dartdup <TAB>: every command --help lists (${#cmds[@]})" "${cmds[@]}" --version -- "$DARTDUP" ""
r=$(complete_line "$DARTDUP" wr)
check "dartdup wr<TAB>: write, only" test "$r" = write
r=$(complete_line "$DARTDUP" s)
check "dartdup s<TAB>: station, only" test "$r" = station

# each command's options, from its own --help
expect "dartdup write --<TAB>: write's options" --all --yes --log --pubkey --unmount --probe --sanitize --retries \
	-- "$DARTDUP" write --
expect_not "dartdup write --<TAB>: not station's" --rewrite --no-eject -- "$DARTDUP" write --
expect "dartdup station --<TAB>: station's options" --ports --rewrite --existing --no-eject --sanitize --unmount \
	-- "$DARTDUP" station --
expect "dartdup build --f<TAB>: --format" --format -- "$DARTDUP" build --f
expect "dartdup build --format <TAB>: the formats" usb partition wds -- "$DARTDUP" build x.iso --format ""
for c in "${cmds[@]}"; do
	# every long option in the command's usage is offered
	mapfile -t opts < <("$DARTDUP" "$c" --help 2>&1 | grep -o -- '--[a-z][a-z0-9-]*' | sort -u)
	expect "dartdup $c --<TAB>: its ${#opts[@]} options" "${opts[@]}" -- "$DARTDUP" "$c" --
done

# board: its subcommands, then their options
expect "dartdup board <TAB>: subcommands" list info load start abort status log selftest update \
	-- "$DARTDUP" board ""
expect "dartdup board --sim S <TAB>: subcommands after the board's options" status load \
	-- "$DARTDUP" board --sim /tmp/s ""
expect "dartdup board start --<TAB>: --wait" --wait -- "$DARTDUP" board start --
# ports: its subcommands, then their options
expect "dartdup ports <TAB>: subcommands" learn check -- "$DARTDUP" ports ""
expect "dartdup ports learn --<TAB>: learn's options" --count --names --prefix --output -- "$DARTDUP" ports learn --
expect "dartdup station --port-map <TAB>: files" "$T/files/dart.dfi" -- "$DARTDUP" station x --port-map "$T/files/d"

# targets: whole disks (not partitions) after the image, for write and verify; files too
expect "dartdup write IMAGE <TAB>: the disks" "$T/dev/sda" "$T/dev/sdb" "$T/dev/sdab" \
	-- "$DARTDUP" write dart.dfi "$T/dev/sd"
expect_not "dartdup write IMAGE <TAB>: not a partition" "$T/dev/sda1" -- "$DARTDUP" write dart.dfi "$T/dev/sd"
expect "dartdup verify --json IMAGE /dev/sda <TAB>: more disks" "$T/dev/sdb" \
	-- "$DARTDUP" verify --json dart.dfi "$T/dev/sda" "$T/dev/sd"
expect "dartdup write IMAGE /dev/sda <TAB>: a name not under the disk folder: files" "$T/files/dart.dfi" \
	-- "$DARTDUP" write x "$T/dev/sda" "$T/files/"
expect "dartdup write <TAB> (the IMAGE): files" "$T/files/dart.dfi" -- "$DARTDUP" write "$T/files/d"
expect "dartdup write IMAGE --pubkey <TAB>: files" "$T/files/depot.pub" \
	-- "$DARTDUP" write x --pubkey "$T/files/dep"
r=$(complete_line "$DARTDUP" pack x --level "")
check "dartdup pack x --level <TAB>: nothing to guess" test -z "$r"

# dartdupd: its boards and options
if [ -x "$DARTDUPD" ]; then
	expect "dartdupd --board <TAB>: the boards" linux-gadget sim -- "$DARTDUPD" --board ""
	expect "dartdupd --<TAB>: its options" --board --check --selftest --apply-firmware --version \
		-- "$DARTDUPD" --
fi
