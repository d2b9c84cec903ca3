#!/bin/bash
# Runs inside the VM bench's guest at boot (enclave-vm.service), as
# root: copy the shared tree to the guest's own disk, run the command
# the host wrote to OUT/cmd there, and leave its output and status in
# OUT. Usage: guest.sh SRC OUT
src=$1 out=$2
exec >>"$out/output" 2>&1 </dev/null
echo "vm: guest up after $(cut -d' ' -f1 /proc/uptime) s: kernel $(uname -r)," \
        "cgroup $(stat -fc %T /sys/fs/cgroup), LSMs $(cat /sys/kernel/security/lsm 2>/dev/null || echo none)"
dst=/root/enclave
mkdir -p "$dst"
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
