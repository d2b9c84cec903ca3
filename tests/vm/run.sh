#!/usr/bin/env bash
# Boot the bench's Debian guest and run one command in it as root.
#   run.sh [--kernel SUITE] [--timeout SECS] [--src DIR] [--] CMD...
# CMD is one shell command line (its words are joined, as ssh does).
# The guest sees DIR (default: this clone) read-only over 9p, copies it
# to its own disk (overlayfs and idmapped mounts need a real file
# system), and runs CMD there with bash. CMD's output streams here as it
# runs; run.sh exits with CMD's status (124 on timeout, 125 when the
# guest never ran it). The root disk is opened with snapshot=on: every
# boot starts from the same image. Environment: ENCLAVE_VM_ACCEL
# (auto|kvm|tcg), ENCLAVE_VM_MEMORY (MiB, 3072), ENCLAVE_VM_CPUS (2),
# ENCLAVE_VM_NET=0 (no network device), ENCLAVE_VM_KEEP=1 keeps the run
# directory (console log, logs of failed suites) for a look.
. "$(dirname "$0")/lib.sh"

suite=bookworm timeout=3600 src=$(cd "$VM_DIR/../.." && pwd)
while [ $# -gt 0 ]; do
        case $1 in
        --kernel) suite=$2; shift 2 ;;
        --timeout) timeout=$2; shift 2 ;;
        --src) src=$(cd "$2" && pwd); shift 2 ;;
        --) shift; break ;;
        -*) vm_die "unknown option $1" ;;
        *) break ;;
        esac
done
[ $# -gt 0 ] || vm_die "usage: run.sh [--kernel SUITE] [--timeout SECS] [--src DIR] [--] CMD..."
[ "$(id -u)" -eq 0 ] || vm_die "the VM bench runs as root (9p passthrough)"

vm_need_host_tools
img=$("$VM_DIR/image.sh")
kdir=$("$VM_DIR/kernel.sh" "$suite")

# KVM only where it runs a stock kernel: a PVM host (kvm_pvm) cannot.
accel=${ENCLAVE_VM_ACCEL:-auto}
if [ "$accel" = auto ]; then
        accel=tcg
        if [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then accel=kvm; fi
fi
case $accel in
kvm) accel_args=(-accel kvm -cpu host) ;;
tcg) accel_args=(-accel tcg,thread=multi -cpu max) ;;
*) vm_die "ENCLAVE_VM_ACCEL must be auto, kvm or tcg" ;;
esac

# User-mode networking reaches what the host reaches (for this project:
# Debian's mirror, for the debootstrap tests); ENCLAVE_VM_NET=0: none.
if [ "${ENCLAVE_VM_NET:-1}" = 0 ]; then nic_args=(-nic none); else nic_args=(-nic user,model=virtio-net-pci); fi

run=$(mktemp -d /tmp/enclave-vm.XXXXXX)
mkdir "$run/out"
qemu_pid=
cleanup() {
        [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null
        if [ -n "${ENCLAVE_VM_KEEP:-}" ]; then vm_log "run directory kept: $run"; else rm -rf "$run"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
printf "%s\n" "$*" >"$run/out/cmd"
: >"$run/out/output"

vm_log "booting $(cat "$kdir/version") ($suite) with $accel"
start=$SECONDS
qemu-system-x86_64 "${accel_args[@]}" -smp "${ENCLAVE_VM_CPUS:-2}" -m "${ENCLAVE_VM_MEMORY:-3072}" \
        -nodefaults -no-reboot -display none -serial "file:$run/console.log" \
        -kernel "$kdir/vmlinuz" -initrd "$kdir/initrd.img" \
        -append "console=ttyS0 apparmor=1 security=apparmor panic=-1 quiet loglevel=4 systemd.show_status=false" \
        -drive "file=$img,format=raw,if=virtio,snapshot=on" \
        -drive "file=$kdir/modules.img,format=raw,if=virtio,readonly=on" \
        -virtfs "local,path=$src,mount_tag=src,security_model=none,readonly=on" \
        -virtfs "local,path=$run/out,mount_tag=out,security_model=passthrough" \
        "${nic_args[@]}" &
qemu_pid=$!

# Stream the command's output while the guest runs.
tail -n +1 -F --pid="$qemu_pid" "$run/out/output" 2>/dev/null &
tail_pid=$!
deadline=$((SECONDS + timeout))
while kill -0 "$qemu_pid" 2>/dev/null; do
        if [ $SECONDS -ge $deadline ]; then
                vm_log "timeout after $timeout s; killing the guest"
                kill "$qemu_pid"
                break
        fi
        sleep 1
done
wait "$qemu_pid" 2>/dev/null
qemu_pid=
wait "$tail_pid" 2>/dev/null
if [ -f "$run/out/rc" ]; then
        rc=$(cat "$run/out/rc")
        vm_log "guest finished in $((SECONDS - start)) s, status $rc"
        exit "$rc"
fi
[ $SECONDS -ge $deadline ] && rc=124 || rc=125
vm_log "the guest did not finish the command (status $rc); its console:"
tail -n 40 "$run/console.log" | sed 's/^/  console: /' >&2
exit "$rc"
