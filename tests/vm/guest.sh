#!/bin/bash
# Runs inside the VM bench's guest at boot (enclave-vm.service), as
# root: copy the shared tree to the guest's own disk, run the command
# the host wrote to OUT/cmd there, and leave its output and status in
# OUT. Usage: guest.sh SRC OUT
src=$1 out=$2
exec >>"$out/output" 2>&1 </dev/null
echo "vm: guest up after $(cut -d' ' -f1 /proc/uptime) s: kernel $(uname -r)," \
        "cgroup $(stat -fc %T /sys/fs/cgroup), LSMs $(cat /sys/kernel/security/lsm 2>/dev/null || echo none)"
# QEMU's user-mode network, when the host gave one: fixed addresses.
udevadm settle -t 30 2>/dev/null
nic=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
if [ -n "$nic" ]; then
        ip link set "$nic" up && ip addr add 10.0.2.15/24 dev "$nic" && ip route add default via 10.0.2.2 &&
                echo "nameserver 10.0.2.3" >/etc/resolv.conf
fi
# Somewhere every user may traverse: tests exec helpers as mapped ids.
dst=/srv/enclave
mkdir -p "$dst" && chmod 755 "$dst"
# The build trees of other configurations and object files are not needed.
tar -C "$src" --exclude=./.git --exclude=./build-asan --exclude=./build-fuzz \
        --exclude='*.o' --exclude='*.d' --exclude='*.a' -cf - . | tar -C "$dst" -xf -
cd "$dst" || exit 1
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
bash -c "$(cat "$out/cmd")"
rc=$?

# Full logs of failed suites, for the host (ENCLAVE_VM_KEEP=1 keeps them).
for d in /tmp/enclave-test-logs.*; do [ -d "$d" ] && cp -r "$d" "$out/"; done
echo "$rc" >"$out/rc"
