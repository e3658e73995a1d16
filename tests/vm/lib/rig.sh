# Host side of the QEMU rig (sourced by tests/vm/run). Boots Debian's kernel under QEMU (TCG) with emulated USB
# sticks and runs one scenario file: see docs/TESTING.md.
#
# Layout under $VM_DIR (build/vm):
#   kernel/        the linux-image package, fetched with apt-get download and unpacked with dpkg -x (cached)
#   initrd.img     busybox-static + the driver modules + lib/init (rebuilt when its inputs change)
#   out/NAME/      one scenario's run: console.log (the guest's serial console), qemu.log, host.log,
#                  after.log, qmp.sock, sticks/ID.img (backing files) and share/ (9p, read-write in the guest:
#                  guest.env, boot.log, guest.log, from-host/, from-guest/)

# Drivers in load order (FACTS.md section 3), with parameters. delay_use=0: no 1 s pause before a stick scans.
VM_MODULES="crct10dif_common crct10dif_generic crc-t10dif crc64 crc64_rocksoft_generic crc64-rocksoft t10-pi
usb-common usbcore xhci-hcd xhci-pci scsi_common scsi_mod sd_mod usb-storage:delay_use=0 virtio_ring virtio
virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk netfs fscache 9pnet 9pnet_virtio 9p overlay"
VM_XHCI_PORTS=8        # root ports of the xHCI controller; a hub, when a scenario wants one, takes the last
VM_HUB_PORTS=8

vm_log() { echo "# vm: $*" >&2; }

# vm_kernel: sets VM_KERNEL and VM_MODDIR, fetching Debian's kernel package on first use.
vm_kernel() {
	local dir=$VM_DIR/kernel pkg deb
	VM_KERNEL=$(ls "$dir"/root/boot/vmlinuz-* 2>/dev/null | head -1)
	if [ -z "$VM_KERNEL" ]; then
		mkdir -p "$dir/dl"
		pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1)
		if [ -z "$pkg" ]; then
			apt-get update -q >"$dir/apt-update.log" 2>&1
			pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1)
		fi
		[ -n "$pkg" ] || { vm_log "apt knows no linux-image-amd64 (see $dir/apt-update.log)"; return 1; }
		vm_log "fetching $pkg (once; cached in $dir)"
		(cd "$dir/dl" && apt-get download "$pkg") >"$dir/download.log" 2>&1 ||
			{ vm_log "apt-get download $pkg failed (see $dir/download.log)"; return 1; }
		deb=$(ls "$dir"/dl/"$pkg"_*.deb | head -1)
		rm -rf "$dir/root.tmp"
		dpkg -x "$deb" "$dir/root.tmp" && mv "$dir/root.tmp" "$dir/root" || return 1
		rm -f "$dir"/dl/*.deb
		VM_KERNEL=$(ls "$dir"/root/boot/vmlinuz-* 2>/dev/null | head -1)
	fi
	VM_MODDIR=$(ls -d "$dir"/root/lib/modules/*/ | head -1)
	[ -n "$VM_KERNEL" ] && [ -d "$VM_MODDIR" ] || return 1
	# Unpacked once, the kernel boots through its PVH entry: no decompression under emulation at every boot.
	[ -f "$dir/vmlinux" ] || vm_unpack_kernel "$VM_KERNEL" "$dir/vmlinux" || rm -f "$dir/vmlinux"
	[ -f "$dir/vmlinux" ] && VM_KERNEL=$dir/vmlinux
	return 0
}

# vm_unpack_kernel BZIMAGE VMLINUX: the ELF kernel inside Debian's xz-compressed bzImage (it has a PVH note)
vm_unpack_kernel() {
	python3 - "$1" "$2.tmp" <<'PY' && mv "$2.tmp" "$2"
import lzma, sys
data = open(sys.argv[1], "rb").read()
at = data.find(b"\xfd7zXZ\x00")
if at < 0:
    sys.exit(1)
elf = lzma.LZMADecompressor().decompress(data[at:])
if elf[:4] != b"\x7fELF":
    sys.exit(1)
open(sys.argv[2], "wb").write(elf)
PY
}

# vm_initrd: (re)builds $VM_DIR/initrd.img when lib/init or the module list changed.
vm_initrd() {
	local img=$VM_DIR/initrd.img stamp tmp m name args ko
	stamp=$( (cat "$VM_REPO/tests/vm/lib/init"; echo "$VM_MODULES" "$VM_KERNEL") | sha256sum | cut -c1-16)
	if [ -f "$img" ] && [ "$(cat "$img.stamp" 2>/dev/null)" = "$stamp" ]; then
		return 0
	fi
	[ -x /bin/busybox ] && file_is_static /bin/busybox ||
		{ vm_log "needs a static /bin/busybox (Debian busybox-static: scripts/install-deps)"; return 1; }
	tmp=$(mktemp -d "$VM_DIR/initrd.XXXXXX")
	mkdir -p "$tmp/bin" "$tmp/modules"
	cp /bin/busybox "$tmp/bin/busybox"
	cp "$VM_REPO/tests/vm/lib/init" "$tmp/init"
	for m in $VM_MODULES; do
		name=${m%%:*} args=
		[ "$name" != "$m" ] && args=${m#*:}
		ko=$(find "$VM_MODDIR" -name "$name.ko" | head -1)
		[ -n "$ko" ] || { vm_log "module $name.ko not in $VM_MODDIR"; rm -rf "$tmp"; return 1; }
		cp "$ko" "$tmp/modules/"
		echo "$name ${args//,/ }" >>"$tmp/modules/order"
	done
	(cd "$tmp" && find . | cpio -o -H newc --quiet -R 0:0) >"$img.tmp" || { rm -rf "$tmp"; return 1; }
	mv "$img.tmp" "$img"
	echo "$stamp" >"$img.stamp"
	rm -rf "$tmp"
}

file_is_static() { ! LC_ALL=C ldd "$1" >/dev/null 2>&1; }

# vm_prepare: kernel + initramfs + a QEMU that runs; prints why not and fails otherwise.
vm_prepare() {
	mkdir -p "$VM_DIR"
	command -v qemu-system-x86_64 >/dev/null || { vm_log "qemu-system-x86_64 missing (scripts/install-deps)"; return 1; }
	command -v cpio >/dev/null || { vm_log "cpio missing (scripts/install-deps)"; return 1; }
	vm_kernel && vm_initrd
}

# --- declaring sticks (called from a scenario's sticks() function) ----------------------------------------
# stick ID SIZE [serial=S] [hub] [port=P] [bps=N] [rbps=N] [wbps=N] [bus=NAME] [error=read:SECTOR|write:SECTOR] [later]
#       [fake=wrap:REAL|drop:REAL] [fill=random]
#   A usb-storage stick on the xHCI controller (or behind the emulated usb-hub), backed by a sparse file
#   out/NAME/sticks/ID.img of SIZE (truncate syntax). fill=random: a reused stick, its backing file filled with
#   random bytes at once (so a scenario may still put data over it, e.g. an image it already holds). bps/rbps/wbps throttle it (bytes per second). error=
#   makes every read or write touching that 512-byte sector fail with EIO (QEMU blkdebug). later: not plugged at
#   boot; plug it with `plug ID`. fake=: a counterfeit stick announcing SIZE but holding only REAL bytes (truncate
#   syntax): past REAL its writes wrap around onto [0, REAL) or are lost (reads give zeros). Served by nbdkit
#   (Debian nbdkit + nbdkit-plugin-python) with tests/vm/lib/counterfeit.py over a Unix socket.
# bus NAME wbps=N rbps=N: a shared bus (a USB 2 hub, a Pi 4's one controller): the sticks declared with
#   bus=NAME share one write and one read limit (QEMU throttle group NAME; QEMU serves its members in turn).
#   Declare it before its sticks.
# disk ID SIZE: a non-USB (virtio-blk) disk, for the "other disks are excluded" checks.
bus() {
	local name=$1 o opt=",throttling.group=$1"
	shift
	for o in "$@"; do
		case $o in
		wbps=*) opt+=",throttling.bps-write=${o#wbps=}" ;;
		rbps=*) opt+=",throttling.bps-read=${o#rbps=}" ;;
		*) vm_log "bus $name: unknown option $o"; return 1 ;;
		esac
	done
	VM_BUS[$name]=$opt
}

stick() {
	local id=$1 size=$2 o
	shift 2
	VM_STICKS+=("$id")
	VM_SIZE[$id]=$size
	VM_SERIAL[$id]="DD$(printf '%04d' ${#VM_STICKS[@]})$id"
	VM_OPT[$id]=
	VM_LATER[$id]=0
	local hub=0 port=
	for o in "$@"; do
		case $o in
		serial=*) VM_SERIAL[$id]=${o#serial=} ;;
		hub) hub=1 ;;
		port=*) port=${o#port=} ;;
		bps=*) VM_OPT[$id]+=",throttling.bps-total=${o#bps=}" ;;
		rbps=*) VM_OPT[$id]+=",throttling.bps-read=${o#rbps=}" ;;
		wbps=*) VM_OPT[$id]+=",throttling.bps-write=${o#wbps=}" ;;
		bus=*)
			[ -n "${VM_BUS[${o#bus=}]:-}" ] || { vm_log "stick $id: no bus ${o#bus=} declared"; return 1; }
			VM_OPT[$id]+=${VM_BUS[${o#bus=}]} ;;
		error=read:* | error=write:*) VM_ERROR[$id]=${o#error=} ;;
		later) VM_LATER[$id]=1 ;;
		fake=wrap:* | fake=drop:*) VM_FAKE[$id]=${o#fake=} ;;
		fill=random) vm_fill_random "$(stick_file "$id")" "$size" || return 1 ;;
		*) vm_log "stick $id: unknown option $o"; return 1 ;;
		esac
	done
	if [ -z "$port" ] && [ "$hub" = 1 ]; then
		VM_HUB_USED=$((VM_HUB_USED + 1))
		port="$VM_XHCI_PORTS.$VM_HUB_USED"
	elif [ -z "$port" ]; then
		VM_ROOT_USED=$((VM_ROOT_USED + 1))
		port=$VM_ROOT_USED
	fi
	[[ "$port" == *.* ]] && VM_NEED_HUB=1
	VM_PORT[$id]=$port
}

# vm_fill_random FILE SIZE: FILE becomes SIZE (truncate syntax) random bytes, what a reused stick holds
vm_fill_random() {
	local n
	n=$(numfmt --from=iec "$2") || return 1
	head -c "$n" /dev/urandom >"$1" && [ "$(stat -c %s "$1")" = "$n" ]
}

disk() {
	VM_DISKS+=("$1")
	VM_SIZE[$1]=$2
}

# stick_file ID: the backing file of a stick
stick_file() { echo "$VM_OUT/sticks/$1.img"; }
stick_serial() { echo "${VM_SERIAL[$1]}"; }

vm_drive_arg() { # ID
	local id=$1 f cfg
	f=$(stick_file "$id")
	if [ -n "${VM_FAKE[$id]:-}" ]; then
		echo "if=none,id=d-$id,driver=raw,file.driver=nbd,file.server.type=unix,file.server.path=$VM_OUT/nbd-$id.sock${VM_OPT[$id]}"
	elif [ -n "${VM_ERROR[$id]:-}" ]; then
		cfg=$VM_OUT/blkdebug-$id.conf
		printf '[inject-error]\nevent = "%s_aio"\niotype = "%s"\nsector = "%s"\nerrno = "5"\nonce = "off"\n' \
			"${VM_ERROR[$id]%%:*}" "${VM_ERROR[$id]%%:*}" "${VM_ERROR[$id]#*:}" >"$cfg"
		echo "if=none,id=d-$id,driver=raw,file.driver=blkdebug,file.config=$cfg,file.image.driver=file,file.image.filename=$f${VM_OPT[$id]}"
	else
		echo "if=none,id=d-$id,file=$f,format=raw${VM_OPT[$id]}"
	fi
}

# vm_fake_serve ID: starts nbdkit for a fake= stick; sets VM_FAKE_PID once its socket is up
vm_fake_serve() {
	local id=$1 sock=$VM_OUT/nbd-$1.sock bytes real deadline
	bytes=$(stat -c %s "$(stick_file "$id")")
	real=$(numfmt --from=iec "${VM_FAKE[$id]#*:}") || return 1
	command -v nbdkit >/dev/null || { vm_log "nbdkit missing (scripts/install-deps)"; return 1; }
	nbdkit -f -U "$sock" python "$VM_REPO/tests/vm/lib/counterfeit.py" file="$(stick_file "$id")" \
		size="$bytes" real="$real" mode="${VM_FAKE[$id]%%:*}" >"$VM_OUT/nbd-$id.log" 2>&1 &
	VM_FAKE_PID=$!
	deadline=$((SECONDS + 20))
	until [ -S "$sock" ]; do
		kill -0 "$VM_FAKE_PID" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

vm_device_arg() { # ID
	# ports behind the hub are addressed "HUBPORT.N" on the controller's own bus
	echo "usb-storage,id=$1,bus=xhci.0,port=${VM_PORT[$1]},drive=d-$1,removable=on,serial=${VM_SERIAL[$1]}"
}

# make_image PATH SIZE SEED: a deterministic sample disk image, 1 MiB pieces of random bytes, zeros and text
make_image() {
	python3 - "$1" "$2" "$3" <<'PY'
import random, sys
path, size, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed)
with open(path, "wb") as f:
    for at in range(0, size, 1 << 20):
        n = min(size - at, 1 << 20)
        kind = r.random() if at else 1.0
        f.write(bytes(n) if kind < 0.25 else b"DaRT" * (n // 4) if kind < 0.4 else r.randbytes(n))
PY
}

# --- the running guest (for a scenario's host() function) ------------------------------------------------
vm_running() { [ -n "${VM_PID:-}" ] && kill -0 "$VM_PID" 2>/dev/null; }

# qmp COMMAND [JSON-ARGS] [--event NAME]: one QMP command to the running QEMU
qmp() { python3 "$VM_REPO/tests/vm/lib/qmp.py" "$VM_OUT/qmp.sock" "$@"; }

# unplug ID: pull a stick out (QMP device_del), returning once QEMU reports the device gone
unplug() { qmp device_del "{\"id\": \"$1\"}" --event DEVICE_DELETED >/dev/null; }

# slow ID BPS: from now on the stick reads and writes at most BPS bytes per second (QMP block_set_io_throttle
# on its drive): a scenario that must act while a stick is still busy makes the window as wide as it needs
slow() {
	qmp block_set_io_throttle "{\"device\": \"d-$1\", \"bps\": $2, \"bps_rd\": 0, \"bps_wr\": 0,
		\"iops\": 0, \"iops_rd\": 0, \"iops_wr\": 0}" >/dev/null
}

# plug ID: plug in a stick declared with `later`
plug() {
	local id=$1
	qmp device_add "$(python3 -c 'import json,sys; d=dict(p.split("=",1) for p in sys.argv[2].split(",")[1:]); d["driver"]=sys.argv[1]; print(json.dumps(d))' \
		usb-storage "$(vm_device_arg "$id")")" >/dev/null
}

# --- running one scenario ---------------------------------------------------------------------------------
# vm_run_scenario FILE: boots a guest for the scenario and prints its TAP lines, each named "NAME: ...".
vm_run_scenario() (
	local file=$1 name
	name=$(basename "$file" .sh)
	VM_OUT=$VM_DIR/out/$name
	VM_SHARE=$VM_OUT/share
	VM_SIDE=host
	VM_TIMEOUT=240 VM_MEM=512 VM_SMP=${VM_SMP_DEFAULT:-2}
	VM_STICKS=() VM_DISKS=() VM_ROOT_USED=0 VM_HUB_USED=0 VM_NEED_HUB=0
	declare -A VM_SIZE VM_SERIAL VM_OPT VM_LATER VM_PORT VM_ERROR VM_FAKE VM_BUS
	local nbd_pids=()
	unset -f setup sticks host guest after
	rm -rf "$VM_OUT"
	mkdir -p "$VM_OUT/sticks" "$VM_SHARE/from-host" "$VM_SHARE/from-guest"
	. "$file"
	if declare -F setup >/dev/null && ! (setup) >"$VM_OUT/setup.log" 2>&1; then
		not_ok "$name: setup failed: $(tail -1 "$VM_OUT/setup.log")"
		return
	fi
	declare -F sticks >/dev/null && { sticks || { not_ok "$name: bad stick declarations"; return; }; }

	local args=() id boot_serials="" env
	args+=(-accel tcg -machine pc -m "$VM_MEM" -smp "$VM_SMP" -nodefaults -no-user-config -display none
		-no-reboot -kernel "$VM_KERNEL" -initrd "$VM_DIR/initrd.img"
		-append "console=ttyS0 loglevel=${VM_LOGLEVEL:-4} panic=-1 mitigations=off tsc=reliable no_timer_check usbcore.autosuspend=-1 ddshare=$VM_SHARE ddguest=$VM_REPO/tests/vm/lib/guest.sh"
		-serial "file:$VM_OUT/console.log" -qmp "unix:$VM_OUT/qmp.sock,server=on,wait=off"
		-virtfs "local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap"
		-virtfs "local,path=$VM_SHARE,mount_tag=share,security_model=none,multidevs=remap"
		-device "qemu-xhci,id=xhci,addr=05,p2=$VM_XHCI_PORTS,p3=$VM_XHCI_PORTS")
	[ "$VM_NEED_HUB" = 1 ] && args+=(-device "usb-hub,id=hub,bus=xhci.0,port=$VM_XHCI_PORTS,ports=$VM_HUB_PORTS")
	for id in "${VM_STICKS[@]}"; do
		truncate -s "${VM_SIZE[$id]}" "$(stick_file "$id")"
		if [ -n "${VM_FAKE[$id]:-}" ]; then
			vm_fake_serve "$id" || { not_ok "$name: cannot serve counterfeit stick $id (see $VM_OUT/nbd-$id.log)"; return; }
			nbd_pids+=("$VM_FAKE_PID")
		fi
		args+=(-drive "$(vm_drive_arg "$id")")
		if [ "${VM_LATER[$id]}" = 0 ]; then
			args+=(-device "$(vm_device_arg "$id")")
			boot_serials+=" ${VM_SERIAL[$id]}"
		fi
	done
	for id in "${VM_DISKS[@]}"; do
		truncate -s "${VM_SIZE[$id]}" "$VM_OUT/sticks/$id.img"
		args+=(-drive "if=none,id=d-$id,file=$VM_OUT/sticks/$id.img,format=raw"
			-device "virtio-blk-pci,drive=d-$id,serial=VIRT$id")
	done

	env=$VM_SHARE/guest.env
	{
		printf 'VM_REPO=%q VM_SCENARIO=%q VM_NAME=%q VM_OUT=%q\n' "$VM_REPO" "$(readlink -f "$file")" "$name" "$VM_OUT"
		printf 'DARTDUP=%q DARTDUPD=%q\n' "$DARTDUP" "$DARTDUPD"
		printf 'VM_BOOT_SERIALS=%q\n' "$boot_serials"
		printf 'VM_STICKS=%q\n' "${VM_STICKS[*]}"
		for id in "${VM_STICKS[@]}"; do
			printf 'VM_SERIAL_%s=%q VM_PORT_%s=%q\n' "$id" "${VM_SERIAL[$id]}" "$id" "${VM_PORT[$id]}"
		done
		declare -p | grep -E '^declare -x (VM_X_|DD_)' || true
	} >"$env"

	local t0=$SECONDS rc
	printf '%q ' qemu-system-x86_64 "${args[@]}" >"$VM_OUT/qemu.cmd"
	echo >>"$VM_OUT/qemu.cmd"
	timeout -k 10 "$VM_TIMEOUT" qemu-system-x86_64 "${args[@]}" >"$VM_OUT/qemu.log" 2>&1 &
	VM_PID=$!
	if declare -F host >/dev/null; then
		(host) >"$VM_OUT/host.log" 2>&1
	fi
	wait "$VM_PID"
	rc=$?
	VM_PID=
	for id in "${nbd_pids[@]}"; do kill "$id" 2>/dev/null; wait "$id" 2>/dev/null; done
	if declare -F after >/dev/null; then
		(after) >"$VM_OUT/after.log" 2>&1
	fi

	local prefix="s/^\(not ok\|ok\) - /\1 - $name: /"
	[ -f "$VM_SHARE/guest.log" ] && grep -E '^(ok|not ok) ' "$VM_SHARE/guest.log" | sed "$prefix"
	[ -f "$VM_OUT/host.log" ] && grep -E '^(ok|not ok) ' "$VM_OUT/host.log" | sed "$prefix"
	[ -f "$VM_OUT/after.log" ] && grep -E '^(ok|not ok) ' "$VM_OUT/after.log" | sed "$prefix"
	if [ ! -e "$VM_SHARE/from-guest/DONE" ]; then
		if [ "$rc" = 124 ]; then
			not_ok "$name: guest did not finish within $VM_TIMEOUT s (console: $VM_OUT/console.log)"
		else
			not_ok "$name: guest stopped early, QEMU status $rc (console: $VM_OUT/console.log, $VM_OUT/qemu.log)"
		fi
	fi
	echo "# $name: $((SECONDS - t0)) s, logs in $VM_OUT"
)
