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

# ---- the workspace's own cgroup at /sys/fs/cgroup, read-only ----
ok "create cgw (memory 96 MiB, 50 % CPU, 50 procs)" enc workspace create "$SB" cgw --memory-mb 96 --cpu-percent 50 --max-procs 50
ok "start cgw" enc workspace start "$SB" cgw
is "/proc/self/cgroup shows the namespace root" "$(wx cgw cat /proc/self/cgroup | grep -vc ':/$')" 0
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
        # cgroup v2 host: the v2 form.
        is "memory.max is visible" "$(wx cgw cat /sys/fs/cgroup/memory.max)" $((96 << 20))
        is "pids.max is visible" "$(wx cgw cat /sys/fs/cgroup/pids.max)" 50
        contains "cpu.max is visible" "$(wx cgw cat /sys/fs/cgroup/cpu.max)" " 100000"
        fails "it is read-only" enc workspace exec "$SB" cgw -- sh -c 'echo 1000000000 >/sys/fs/cgroup/memory.max'
else
        # v1 or hybrid host: the v1 form (plus the v2 tree at unified/).
        is "memory.limit_in_bytes is visible" "$(wx cgw cat /sys/fs/cgroup/memory/memory.limit_in_bytes)" $((96 << 20))
        is "pids.max is visible" "$(wx cgw cat /sys/fs/cgroup/pids/pids.max)" 50
        quota=$(wx cgw cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)
        [ "$quota" -gt 0 ] 2>/dev/null && tap_ok "cpu.cfs_quota_us is visible ($quota)" || tap_fail "cpu.cfs_quota_us is visible" "$quota"
        fails "it is read-only" enc workspace exec "$SB" cgw -- sh -c 'echo 1000000000 >/sys/fs/cgroup/memory/memory.limit_in_bytes'
        lacks "no other group is visible" "$(wx cgw ls /sys/fs/cgroup/memory)" "$SB"
fi
contains "/sys/fs/cgroup is read-only in mountinfo" "$(wx cgw grep ' /sys/fs/cgroup' /proc/self/mountinfo)" " ro,"
is "the limit stays what it was" "$(cat "$(ws_cgroup_dirs "$SB" cgw | grep -E '/memory/|^/sys/fs/cgroup/enclave' | head -1)/memory.limit_in_bytes" 2>/dev/null || cat "$(ws_cgroup_dirs "$SB" cgw | head -1)/memory.max")" $((96 << 20))

# ---- nproc follows cpu_percent ----
n=$(nproc)
want=$(( (50 * n + 99) / 100 ))
is "nproc in a 50 % workspace is ceil(50 % of $n)" "$(wx cgw nproc)" "$want"
is "exec'd commands run on init's CPUs" "$(wx cgw sh -c 'grep Cpus_allowed_list /proc/1/status | cut -f2')" \
        "$(wx cgw sh -c 'grep Cpus_allowed_list /proc/self/status | cut -f2')"
if [ "$want" -lt "$n" ]; then
        is "/sys/devices/system/cpu/online lists the same CPUs" "$(wx cgw cat /sys/devices/system/cpu/online)" \
                "$(wx cgw sh -c 'grep Cpus_allowed_list /proc/self/status | cut -f2')"
else
        tap_skip "/sys/devices/system/cpu/online lists the same CPUs" "one CPU only"
fi
is "a workspace without cpu_percent sees every CPU" "$(wx hosty nproc)" "$n"

# ---- block I/O in stats (cgroup v1: blkio) ----
# On a disk of its own that no group has configured yet (a fresh loop
# device over a file in /dev/shm, so its I/O reaches no other disk),
# with an ext4 on it as the workspace_dir: synced writes in the
# workspace must show up as block_write.
loop_new() {
        python3 - "$1" <<'PY'
import fcntl, os, sys
fd = os.open("/dev/loop-control", os.O_RDWR)
n = int(sys.argv[1])
print(fcntl.ioctl(fd, 0x4C80, n) if n >= 0 else fcntl.ioctl(fd, 0x4C82))  # LOOP_CTL_ADD / GET_FREE
PY
}
loop_remove() { python3 -c "import fcntl,os; fcntl.ioctl(os.open('/dev/loop-control', os.O_RDWR), 0x4C81, $1)" 2>/dev/null; }
io_img=/dev/shm/enctest-io-$$.img
io_n=
for try in 1 2 3 4 5; do
        cand=$(( 1000 + (RANDOM % 8000) ))
        [ -e /sys/block/loop$cand ] && continue
        io_n=$(loop_new $cand 2>/dev/null) && break
        io_n=
done
if [ -n "$io_n" ] && truncate -s 64M "$io_img" && losetup "/dev/loop$io_n" "$io_img" &&
        mkfs.ext4 -q "/dev/loop$io_n" && mkdir -p "$ENC_DIR/iodisk" && mount "/dev/loop$io_n" "$ENC_DIR/iodisk"; then
        on_exit "umount -l '$ENC_DIR/iodisk'; losetup -d /dev/loop$io_n; loop_remove $io_n; rm -f '$io_img'"
        # A user's disk: host root's directories are read-only inside.
        chown 1000:1000 "$ENC_DIR/iodisk"
        ok "create io on the fresh disk" enc workspace create "$SB" io --workspace-dir "$ENC_DIR/iodisk"
        ok "start io" enc workspace start "$SB" io
        ok "write 16 MiB and sync" wx io dd if=/dev/zero of=/home/f bs=1M count=16 conv=fsync
        bw=$(enc --json workspace stats "$SB" io | python3 -c 'import json,sys; print(json.load(sys.stdin)["block_write"])')
        [ "$bw" -ge $((16 << 20)) ] 2>/dev/null && tap_ok "stats count the block writes ($bw bytes)" ||
                tap_fail "stats count the block writes" "block_write = $bw"
        ok "stop io" enc workspace stop "$SB" io
else
        [ -n "$io_n" ] && { losetup -d "/dev/loop$io_n" 2>/dev/null; loop_remove "$io_n"; }
        rm -f "$io_img"
        tap_skip "stats count the block writes" "cannot make a loop device with ext4 here"
fi

# ---- restart policy ----
st() { enc --json workspace status "$SB" "$1" | python3 -c "import json,sys; d=json.load(sys.stdin); print(d.get('$2'))"; }
wait_for() { # wait_for WS KEY VALUE-REGEX [tries]
        local v
        for _ in $(seq "${4:-100}"); do v=$(st "$1" "$2"); [[ $v =~ ^($3)$ ]] && return 0; sleep 0.1; done
        echo "$1 $2 = $v" >&2; return 1
}
ok "create crashy (exit 3, restart = on-failure)" enc workspace create "$SB" crashy --run 'echo run-$$; exit 3' --restart on-failure
ok "start crashy" enc workspace start "$SB" crashy
ok "its run command is started again (3 restarts)" wait_for crashy restarts '[3-9]|[1-9][0-9]+'
is "it stays running" "$(st crashy state)" running
is "status shows the policy" "$(st crashy restart)" on-failure
is "status shows the last run's status" "$(st crashy last_run_status)" 3
contains "status says when it starts next" "$(enc workspace status "$SB" crashy)" "restart:      on-failure ("
is "exec works while it restarts" "$(wx crashy echo inside)" inside
contains "the log says why it starts again" "$(enc workspace logs "$SB" crashy 2>&1)" "exited with status 3; starting it again in"
n1=$(st crashy restarts); sleep 1; n2=$(st crashy restarts)
[ "$((n2 - n1))" -le 3 ] && tap_ok "restarts back off ($n1 -> $n2 in 1 s)" || tap_fail "restarts back off" "$n1 -> $n2 in 1 s"
t0=$(date +%s%N); ok "stop during a back-off" enc workspace stop "$SB" crashy; t1=$(date +%s%N)
[ $(( (t1 - t0) / 1000000 )) -lt 2000 ] && tap_ok "the stop is immediate" || tap_fail "the stop is immediate" "$(( (t1 - t0) / 1000000 )) ms"
is "a stopped workspace is stopped, not failed" "$(st crashy state)" stopped

# Restarts go on without the daemon (init restarts, not the daemon).
ok "create slowcrash (exit 4 after 0.3 s)" enc workspace create "$SB" slowcrash --run 'sleep 0.3; exit 4' --restart on-failure
ok "start slowcrash" enc workspace start "$SB" slowcrash
ok "it restarted once" wait_for slowcrash restarts '[1-9][0-9]*'
dpid=$(cat "$ENC_PIDFILE")
kill -9 "$dpid"; for _ in $(seq 50); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.1; done
before=$(cut -d' ' -f1 "$ENC_STATE/sandboxes/$SB/workspaces/slowcrash/run-state" 2>/dev/null || echo 0)
for _ in $(seq 100); do
        after=$(cut -d' ' -f1 "$ENC_STATE/sandboxes/$SB/workspaces/slowcrash/run-state" 2>/dev/null || echo 0)
        [ "$after" -gt "$before" ] && break
        sleep 0.1
done
[ "$after" -gt "$before" ] && tap_ok "restarts go on while no daemon runs ($before -> $after)" ||
        tap_fail "restarts go on while no daemon runs" "$before -> $after"
ok "the daemon starts again" enc daemon start
is "the adopted workspace is running" "$(st slowcrash state)" running
ok "its restarts are shown after adoption" wait_for slowcrash restarts '[1-9][0-9]*'
ok "stop slowcrash" enc workspace stop "$SB" slowcrash

ok "create always0 (exit 0, restart = always)" enc workspace create "$SB" always0 --run 'exit 0' --restart always
ok "start always0" enc workspace start "$SB" always0
ok "always restarts a run that succeeded" wait_for always0 restarts '[2-9]|[1-9][0-9]+'
ok "stop always0" enc workspace stop "$SB" always0
ok "create fine (exit 0, restart = on-failure)" enc workspace create "$SB" fine --run 'exit 0' --restart on-failure
ok "start fine" enc workspace start "$SB" fine
ok "on-failure leaves a run that succeeded stopped" wait_for fine state stopped
ok "create plain (exit 3, no restart policy)" enc workspace create "$SB" plain --run 'exit 3'
ok "start plain" enc workspace start "$SB" plain
ok "without a policy it stays failed" wait_for plain state failed
is "its policy is no" "$(st plain restart)" no
contains "exec into it says how to start it again" "$(wx plain true)" "start it again with 'enclave workspace start $SB plain'"
fails "an unknown policy is refused" enc workspace create "$SB" bad --run true --restart sometimes

# The same from an Enclavefile with `enclave up`.
mkdir -p "$ENC_DIR/proj"
cat >"$ENC_DIR/proj/Enclavefile" <<EOF
[sandbox]
name = "$SB"
bootstrap_method = "cached_rootfs"

[workspace.agent]
run = "echo agent-up; sleep 0.2; exit 7"
restart = "on-failure"
EOF
contains "validate shows the policy" "$(enc validate "$ENC_DIR/proj/Enclavefile")" "on-failure"
ok "up" sh -c "cd '$ENC_DIR/proj' && '$ENCLAVE' --config '$ENC_CONFIG' --socket '$ENC_SOCK' up"
ok "a crashed run comes back under restart = \"on-failure\"" wait_for agent restarts '[2-9]|[1-9][0-9]+'
is "the agent workspace stays running" "$(st agent state)" running
sed -i 's/"on-failure"/"sometimes"/' "$ENC_DIR/proj/Enclavefile"
contains "a bad policy is an error with its position" "$(enc validate "$ENC_DIR/proj/Enclavefile" 2>&1)" \
        "Enclavefile:7:11: 'restart' must be \"no\", \"on-failure\" or \"always\""
sed -i 's/"sometimes"/"no"/' "$ENC_DIR/proj/Enclavefile"
ok "up with restart = \"no\" applies the change" sh -c "cd '$ENC_DIR/proj' && '$ENCLAVE' --config '$ENC_CONFIG' --socket '$ENC_SOCK' up"
ok "the agent then stays failed" wait_for agent state failed 50
ok "down" sh -c "cd '$ENC_DIR/proj' && '$ENCLAVE' --config '$ENC_CONFIG' --socket '$ENC_SOCK' down"

done_testing
