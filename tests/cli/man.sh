#!/usr/bin/env bash
# The manual pages (docs/man): man-db formats each without a warning, and dartdup(1) has a section
# (.SS NAME) for every command `dartdup --help` lists, so a new command without its page fails here.
# Needs man-db and groff-base (scripts/deps/base.txt).
. tests/lib.sh

for f in docs/man/dartdup.1 docs/man/dartdupd.8; do
	check "$f exists" test -s "$f" || continue
	# man-db runs groff with -ww: every troff warning (bad macro, bad escape, line too long...) lands on stderr
	man --warnings -E UTF-8 -l -Tutf8 "$f" >"$T/man.out" 2>"$T/man.err"
	rc=$?
	check "man --warnings $f: exit 0" test "$rc" -eq 0
	check "man --warnings $f: no warning" test ! -s "$T/man.err" || sed 's/^/# /' "$T/man.err"
	# bold and underline come as overstrikes (X\bX): drop them before looking at the text
	check "$f: formats to text" sh -c "sed 's/.\x08//g' '$T/man.out' | grep -q '^SYNOPSIS'"
done

# the commands as the program lists them: the lines after "commands:", "  NAME  summary"
"$DARTDUP" --help >"$T/help" 2>&1
mapfile -t cmds < <(sed -n '/^commands:/,/^$/{s/^  \([a-z][a-z0-9-]*\) .*/\1/p}' "$T/help")
check "dartdup --help lists commands" test "${#cmds[@]}" -ge 5
missing() { # PAGE: the listed commands PAGE has no ".SS NAME" for
	for c in "${cmds[@]}"; do grep -qx "\.SS $c" "$1" || echo "$c"; done
}
for c in "${cmds[@]}"; do
	check "dartdup.1 has a section for '$c'" grep -qx "\.SS $c" docs/man/dartdup.1
done
# the check is not vacuous: a page lacking one command's section is caught, naming it
sed '/^\.SS station$/d' docs/man/dartdup.1 >"$T/lacking.1"
check "a page without a 'station' section is caught" test "$(missing "$T/lacking.1")" = station
check "the real page misses none" test -z "$(missing docs/man/dartdup.1)"
# and man --warnings speaks up on a broken page
printf '.TH X 1\n.SH NAME\nx \\- y\n.BOGUS\n\\*[nosuchstring]\n' >"$T/bad.1"
man --warnings -E UTF-8 -l -Tutf8 "$T/bad.1" >/dev/null 2>"$T/bad.err"
check "man --warnings reports a broken page" test -s "$T/bad.err"
