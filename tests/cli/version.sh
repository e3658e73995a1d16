#!/usr/bin/env bash
# The version, asked the ways a Debian admin tries: dartdup --version, -V, version; dartdupd --version.
# One line "PROGRAM VERSION" on stdout, the VERSION file's number, exit 0; extra words are bad usage.
. tests/lib.sh

V=$(cat VERSION)
for a in --version -V version; do
	expect_rc "dartdup $a: exit 0" 0 "$DARTDUP" $a
	check "dartdup $a prints exactly 'dartdup $V'" test "$(cat "$T/out")" = "dartdup $V"
done
expect_rc "dartdup version extra: exit 2" 2 "$DARTDUP" version extra
out_has "dartdup version extra: says it takes no arguments" "dartdup: version: takes no arguments"
expect_rc "dartdup -V -V: exit 2" 2 "$DARTDUP" -V -V
expect_rc "dartdup --help mentions --version" 0 "$DARTDUP" --help
out_has "dartdup --help: the version line" "dartdup --version | -V | version"
if [ -x "$DARTDUPD" ]; then
	expect_rc "dartdupd --version: exit 0" 0 "$DARTDUPD" --version
	check "dartdupd --version prints 'dartdupd VERSION'" grep -qx "dartdupd [0-9][0-9.]*[^ ]*" "$T/out"
fi
