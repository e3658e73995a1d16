# Helpers shared by both sides of a VM scenario (sourced by rig.sh on the host and guest.sh in the guest).
# VM_SIDE is "host" or "guest"; VM_SHARE is the scenario's shared folder (the same path on both sides).

ok()     { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; }
# check NAME CMD...: one TAP line, passing when CMD succeeds; returns 1 when it fails (check ... || return)
check()  { local n=$1; shift; if "$@"; then ok "$n"; else not_ok "$n"; return 1; fi; }

# Only shell builtins here: in the emulated guest every program started costs tens of milliseconds.

# nap SECONDS: a pause between two polls of a condition (builtin read on a pipe nobody writes to)
nap() {
	[ -n "${VM_NAP_FD:-}" ] || exec {VM_NAP_FD}<> <(:) || VM_NAP_FD=none
	if [ "$VM_NAP_FD" = none ]; then sleep "$1"; else read -r -t "$1" -u "$VM_NAP_FD" || true; fi
}

# say EVENT [TEXT]: tell the other side that EVENT happened, with an optional line of text (files in the
# shared folder: the text first, then the event's own file, which is what the other side waits for).
say() {
	echo "${2:-}" >"$VM_SHARE/from-$VM_SIDE/$1.text"
	: >"$VM_SHARE/from-$VM_SIDE/$1"
}

# await EVENT [SECONDS]: wait until the other side said EVENT; status 1 on time-out (default 120 s) or when
# the other side is gone (on the host: QEMU exited). Polls a file; never guesses with a fixed sleep.
await() {
	local other=guest file deadline
	[ "$VM_SIDE" = guest ] && other=host
	file="$VM_SHARE/from-$other/$1"
	deadline=$((SECONDS + ${2:-120}))
	while [ ! -e "$file" ]; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "# await $1: timed out after ${2:-120} s" >&2
			return 1
		fi
		if [ "$VM_SIDE" = host ] && ! vm_running; then
			echo "# await $1: the guest is gone" >&2
			return 1
		fi
		nap 0.1
	done
}

# heard EVENT: print what the other side attached to EVENT (say EVENT TEXT)
heard() {
	local other=guest
	[ "$VM_SIDE" = guest ] && other=host
	local line
	while IFS= read -r line; do echo "$line"; done <"$VM_SHARE/from-$other/$1.text"
}
