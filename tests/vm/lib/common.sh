# Helpers shared by both sides of a VM scenario (sourced by rig.sh on the host and guest.sh in the guest).
# VM_SIDE is "host" or "guest"; VM_SHARE is the scenario's shared folder (the same path on both sides).

ok()     { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; }
# check NAME CMD...: one TAP line, passing when CMD succeeds
check()  { local n=$1; shift; if "$@"; then ok "$n"; else not_ok "$n"; fi; }

# say EVENT: tell the other side that EVENT happened (a file in the shared folder).
say() {
	mkdir -p "$VM_SHARE/from-$VM_SIDE"
	echo "${2:-}" >"$VM_SHARE/from-$VM_SIDE/$1.tmp" && mv "$VM_SHARE/from-$VM_SIDE/$1.tmp" "$VM_SHARE/from-$VM_SIDE/$1"
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
		sleep 0.1
	done
}

# heard EVENT: print what the other side attached to EVENT (say EVENT TEXT)
heard() {
	local other=guest
	[ "$VM_SIDE" = guest ] && other=host
	cat "$VM_SHARE/from-$other/$1"
}
