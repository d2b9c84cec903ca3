#!/usr/bin/env bash
# Real programs run unchanged (issue 16): what a workspace looks like to
# the runtimes and test suites people run in it, checked on a busybox
# sandbox through the CLI. bench/compat.sh does the same at scale with
# CPython's regression suite and Node on a Debian rootfs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workspace-setup.sh"
require_root
ws_setup

wx() { local ws=$1; shift; enc workspace exec "$SB" "$ws" -- "$@" </dev/null 2>&1; }

# ---- memory_mb is the cgroup's, not an address-space limit ----
ok "create a workspace with memory_mb = 64" enc workspace create "$SB" mem --memory-mb 64
ok "start it" enc workspace start "$SB" mem
is "init has no address-space limit" \
        "$(wx mem sh -c "grep 'Max address space' /proc/1/limits | awk '{print \$4}'")" unlimited
is "exec'd commands have no address-space limit" \
        "$(wx mem sh -c "grep 'Max address space' /proc/self/limits | awk '{print \$4}'")" unlimited
# Reserving more address space than memory_mb (as V8, the JVM and Go
# do) works: dd allocates its 256 MiB buffer and copies nothing.
ok "a 256 MiB reservation under memory_mb = 64 works" wx mem dd if=/dev/zero of=/dev/null bs=256M count=0
[ -d "$(ws_cgroup_dirs "$SB" mem | grep /memory/ | head -1)" ] &&
        is "the cgroup still bounds memory (64 MiB)" \
                "$(cat "$(ws_cgroup_dirs "$SB" mem | grep /memory/ | head -1)/memory.limit_in_bytes")" $((64 << 20))
ok "stop it" enc workspace stop "$SB" mem

# ---- /etc/hosts and /etc/hostname ----
rm -f "$SB_ROOTFS/etc/hosts" "$SB_ROOTFS/etc/hostname"
ok "create hosty" enc workspace create "$SB" hosty
ok "start hosty" enc workspace start "$SB" hosty
hosts=$(wx hosty cat /etc/hosts)
contains "/etc/hosts exists with localhost (IPv4)" "$hosts" "127.0.0.1	localhost"
contains "/etc/hosts has localhost for ::1" "$hosts" "::1	localhost"
contains "/etc/hosts names the workspace" "$hosts" "127.0.1.1	hosty"
is "/etc/hostname is the workspace name" "$(wx hosty cat /etc/hostname)" hosty
is "the shared rootfs got no /etc/hosts" "$(ls "$SB_ROOTFS/etc/hosts" 2>/dev/null)" ""
is "the shared rootfs got no /etc/hostname" "$(ls "$SB_ROOTFS/etc/hostname" 2>/dev/null)" ""
ok "restart hosty" sh -c "'$ENCLAVE' --config '$ENC_CONFIG' --socket '$ENC_SOCK' workspace stop $SB hosty && '$ENCLAVE' --config '$ENC_CONFIG' --socket '$ENC_SOCK' workspace start $SB hosty"
is "a restart does not repeat the name in /etc/hosts" "$(wx hosty grep -c hosty /etc/hosts)" 1
# A rootfs that has its own /etc/hosts keeps it, with the name added.
printf '127.0.0.1 localhost\n10.9.9.9 intranet\n' >"$SB_ROOTFS/etc/hosts"
ok "create hosty2" enc workspace create "$SB" hosty2
ok "start hosty2" enc workspace start "$SB" hosty2
hosts=$(wx hosty2 cat /etc/hosts)
contains "the rootfs's own entries stay" "$hosts" "10.9.9.9 intranet"
contains "the name is added" "$hosts" "127.0.1.1	hosty2"
is "the shared rootfs's /etc/hosts is untouched" "$(cat "$SB_ROOTFS/etc/hosts")" "$(printf '127.0.0.1 localhost\n10.9.9.9 intranet')"
rm -f "$SB_ROOTFS/etc/hosts"

# ---- IPv6 on loopback, not on eth0 ----
inet6=$(wx hosty cat /proc/net/if_inet6)
contains "lo has ::1" "$inet6" "00000000000000000000000000000001"
lacks "eth0 has no IPv6 address (not even link-local)" "$inet6" "eth0"
enc workspace exec "$SB" hosty -- sh -c 'mkdir -p /tmp/www && echo v6-ok >/tmp/www/i && httpd -p "[::1]:8086" -h /tmp/www' </dev/null
is "a server bound to [::1] answers on [::1]" "$(wx hosty wget -q -O - 'http://[::1]:8086/i')" v6-ok

# ---- HOME is the workspace's own directory ----
ok "create homey" enc workspace create "$SB" homey --run 'echo "run-home=$HOME"; sleep 1000'
ok "start homey" enc workspace start "$SB" homey
is "exec gets HOME=/home" "$(wx homey sh -c 'echo $HOME')" /home
ok "dotfiles land in /home" wx homey sh -c 'cd && echo x >.tool-rc && test -f /home/.tool-rc'
for _ in $(seq 50); do enc workspace logs "$SB" homey 2>/dev/null | grep -q run-home && break; sleep 0.1; done
contains "the run command gets HOME=/home" "$(enc workspace logs "$SB" homey 2>&1)" "run-home=/home"
ok "create roothome with env HOME=/root" enc workspace create "$SB" roothome --env HOME=/root
ok "start roothome" enc workspace start "$SB" roothome
is "env HOME overrides the default" "$(wx roothome sh -c 'echo $HOME')" /root
is "exec -e HOME overrides it for one command" "$(enc workspace exec "$SB" homey -e HOME=/tmp -- sh -c 'echo $HOME' </dev/null)" /tmp

done_testing
