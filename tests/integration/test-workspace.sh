#!/usr/bin/env bash
# Workspace lifecycle through the CLI against this test's own daemon
# (SPEC §2, §5): create/start/status/list/stop/start/destroy; hostname,
# PID isolation, an id range of its own per workspace, writes isolated
# between workspaces and from the shared rootfs (the tree on disk is
# fingerprinted before and after), /home from a --workspace-dir owned by
# uid 1000, logs of a run command (also --follow), stop leaving no
# process, cgroup or veth, the upper layer kept across a restart, and
# destroy/wipe leaving nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workspace-setup.sh"
require_root
ws_setup

fingerprint() {
        (cd "$1" && find . -printf '%p %m %U:%G %s %l\n' | sort && find . -type f -exec md5sum {} + | sort) | md5sum
}
rootfs_before=$(fingerprint "$SB_ROOTFS")

# ---- create ----
HOMEDIR=$ENC_DIR/project
mkdir -p "$HOMEDIR"
chown 1000:1000 "$HOMEDIR"
ok "create ws1" enc workspace create "$SB" ws1 --memory-mb 256 --max-procs 200 --env GREETING=hello
ok "create ws2 with a workspace dir and a run command" enc workspace create "$SB" ws2 --workspace-dir "$HOMEDIR" \
        --run 'echo first-line-$HOSTNAME; while :; do if [ -f /tmp/go ]; then echo second-line; rm -f /tmp/go; fi; sleep 0.05; done'
out=$(enc workspace create "$SB" ws1 2>&1)
contains "a duplicate name is refused" "$out" "already exists"
out=$(enc workspace create "$SB" 'bad/name' 2>&1)
contains "an invalid name is refused" "$out" "invalid workspace name"
out=$(enc workspace create "$SB" ws3 --workspace-dir "$HOMEDIR" --disk-mb 64 2>&1)
contains "disk_mb with workspace_dir is refused" "$out" "cannot be combined"
out=$(enc workspace create "$SB" ws3 --memory-mb 1 2>&1); rc=$?
is "an out-of-range limit is a usage error" "$rc" 2
contains "... naming the range of the Enclavefile" "$out" "--memory-mb wants a whole number from 16 to 16777216"
out=$(enc_call workspace.create "{\"sandbox\": \"$SB\", \"workspace\": \"ws3\", \"memory_mb\": 1}")
contains "the daemon refuses it with the same range" "$out" "memory_mb must be between 16 and 16777216"
out=$(enc workspace create "$SB" ws3 --env GITHUB_TOKEN=x 2>&1)
contains "a token variable in env is refused" "$out" "token variable"
is "refused creates left no workspace" "$(enc --json workspace list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 2
is "state is created" "$(enc --json workspace status "$SB" ws1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" created

# ---- start ----
t0=$(date +%s%N)
ok "start ws1" enc workspace start "$SB" ws1
diag "workspace start (whole CLI, first one sets up the bridge): $(( ($(date +%s%N) - t0) / 1000000 )) ms"
ok "start ws2" enc workspace start "$SB" ws2
out=$(enc workspace start "$SB" ws1 2>&1)
contains "starting a running workspace says so" "$out" "already running"
pid1=$(ws_pid "$SB" ws1)
pid2=$(ws_pid "$SB" ws2)
[ -n "$pid1" ] && kill -0 "$pid1" 2>/dev/null && tap_ok "ws1 init runs on the host (pid $pid1)" || tap_fail "ws1 init runs"
status=$(enc workspace status "$SB" ws1 2>&1)
contains "status shows running" "$status" "running"
contains "status shows the pid" "$status" "$pid1"
contains "status shows the memory limit" "$status" "memory_mb=256"
list=$(enc workspace list 2>&1)
contains "list has the header" "$list" "SANDBOX  NAME  STATE    PID"
contains "list shows ws1 running" "$(printf '%s\n' "$list" | grep ' ws1 ')" "running"
is "list --sandbox-id filters" "$(enc --json workspace list --sandbox-id "$SB" | python3 -c 'import json,sys; print(sorted(w["name"] for w in json.load(sys.stdin)))')" "['ws1', 'ws2']"
contains "list --sandbox-id of an unknown sandbox fails" "$(enc workspace list --sandbox-id nosuch 2>&1)" "no sandbox named"

# ---- isolation ----
is "hostname is the workspace name" "$(enc workspace exec "$SB" ws1 -- hostname </dev/null)" ws1
ps_out=$(enc workspace exec "$SB" ws1 -- ps -o pid,comm </dev/null)
is "only the workspace's processes are visible" "$(printf '%s\n' "$ps_out" | tail -n +2 | wc -l)" 2
contains "its init is pid 1" "$(printf '%s\n' "$ps_out" | awk '$1 == 1')" "enclave-i"
uid1=$(awk '/^Uid:/ {print $2}' /proc/"$pid1"/status)
uid2=$(awk '/^Uid:/ {print $2}' /proc/"$pid2"/status)
base1=$(enc --json workspace status "$SB" ws1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["uid_base"])')
is "ws1 root is its own host uid base" "$uid1" "$base1"
[ "$uid1" != 0 ] && [ "$uid2" != 0 ] && [ "$uid1" != "$uid2" ] && [ $(( uid1 > uid2 ? uid1 - uid2 : uid2 - uid1 )) -ge 65536 ] \
        && tap_ok "two workspaces have disjoint host id ranges ($uid1, $uid2)" || tap_fail "disjoint host id ranges" "$uid1 $uid2"
is "the env of create reaches exec" "$(enc workspace exec "$SB" ws1 -- sh -c 'echo $GREETING' </dev/null)" hello

enc workspace exec "$SB" ws1 -- sh -c 'echo one > /etc/ws1-file; echo changed >> /etc/shared-file; rm /bin/vi; mkdir -p /root && echo keep > /root/keep' </dev/null
is "ws1 sees its own write" "$(enc workspace exec "$SB" ws1 -- cat /etc/ws1-file </dev/null)" one
fails "ws2 does not see ws1's file" enc workspace exec "$SB" ws2 -- cat /etc/ws1-file
is "ws2 sees the shared file unchanged" "$(enc workspace exec "$SB" ws2 -- cat /etc/shared-file </dev/null)" "shared-$$"
[ ! -e "$SB_ROOTFS/etc/ws1-file" ] && [ -e "$SB_ROOTFS/bin/vi" ] && tap_ok "the write did not reach the rootfs on disk" \
        || tap_fail "the write did not reach the rootfs on disk"
is "the rootfs on disk is byte-identical" "$(fingerprint "$SB_ROOTFS")" "$rootfs_before"

# ---- /home from a workspace dir ----
enc workspace exec "$SB" ws2 -- sh -c 'echo mine > /home/made-inside' </dev/null
is "a file root made in /home is owned by the dir's owner on the host" "$(stat -c %u:%g "$HOMEDIR/made-inside" 2>&1)" "1000:1000"
echo from-host >"$HOMEDIR/from-host"
chown 1000:1000 "$HOMEDIR/from-host"
is "host files appear in /home owned by root" "$(enc workspace exec "$SB" ws2 -- stat -c %u /home/from-host </dev/null)" 0
is "the default cwd is /home" "$(enc workspace exec "$SB" ws2 -- pwd </dev/null)" /home

# ---- logs ----
for _ in $(seq 50); do enc workspace logs "$SB" ws2 2>/dev/null | grep -q first-line && break; sleep 0.1; done
contains "logs show the run command's output" "$(enc workspace logs "$SB" ws2 2>&1)" "first-line-ws2"
contains "logs without a sandbox when the name is unique" "$(enc workspace logs ws2 --tail 1 2>&1)" "first-line-ws2"
FOLLOW=$ENC_DIR/follow.out
enc workspace logs "$SB" ws2 --follow >"$FOLLOW" 2>&1 &
follow_pid=$!
on_exit "kill $follow_pid"
sleep 0.3
enc workspace exec "$SB" ws2 -- touch /tmp/go </dev/null
for _ in $(seq 50); do grep -q second-line "$FOLLOW" && break; sleep 0.1; done
contains "a follower sees the new line" "$(cat "$FOLLOW")" "second-line"
kill "$follow_pid" 2>/dev/null; wait "$follow_pid" 2>/dev/null

# ---- stats ----
stats=$(enc workspace stats "$SB" ws1 2>&1)
contains "stats has the columns" "$stats" "CPU %"
contains "stats shows the memory limit" "$stats" "256.0MiB"
is "stats --json has pids" "$(enc --json workspace stats ws1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["pids"] >= 1)')" True

# ---- stop ----
cg_before=$(ws_cgroup_dirs "$SB" ws1 | wc -l)
[ "$cg_before" -gt 0 ] && tap_ok "ws1 has cgroup directories while running ($cg_before)" || tap_fail "ws1 has cgroups"
veths_before=$(ws_veths | wc -l)
is "each running workspace has a veth on the bridge" "$veths_before" 2
t0=$(date +%s%N)
ok "stop ws1" enc workspace stop "$SB" ws1
diag "idle stop (whole CLI): $(( ($(date +%s%N) - t0) / 1000000 )) ms"
kill -0 "$pid1" 2>/dev/null && tap_fail "ws1 init is gone after stop" || tap_ok "ws1 init is gone after stop"
is "no cgroup of ws1 remains" "$(ws_cgroup_dirs "$SB" ws1 | wc -l)" 0
is "its veth is gone" "$(ws_veths | wc -l)" 1
is "state is stopped" "$(enc --json workspace status "$SB" ws1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" stopped
contains "stop of a stopped workspace says so" "$(enc workspace stop "$SB" ws1 2>&1)" "was not running"
contains "exec in a stopped workspace fails with a hint" "$(enc workspace exec "$SB" ws1 -- true 2>&1 </dev/null)" "enclave workspace start"
enc workspace exec "$SB" ws1 -- true </dev/null >/dev/null 2>&1
is "exec in a stopped workspace exits 125" "$?" 125

# A run command that handles SIGTERM stops as fast as it exits; one
# that ignores it is killed after --timeout.
t0=$(date +%s%N)
ok "stop ws2 (run command)" enc workspace stop "$SB" ws2
diag "stop with a run command: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
is "no process of ws2 remains" "$(kill -0 "$pid2" 2>/dev/null && echo alive || echo gone)" gone

# ---- restart keeps the upper layer ----
ok "start ws1 again" enc workspace start "$SB" ws1
is "the upper layer survived the restart" "$(enc workspace exec "$SB" ws1 -- cat /root/keep </dev/null)" keep
fails "a deleted rootfs file stays deleted" enc workspace exec "$SB" ws1 -- test -e /bin/vi

# ---- start/stop timing (diagnostics) ----
for i in 1 2 3; do
        s=$(ms_of enc workspace stop "$SB" ws1)
        t=$(ms_of enc workspace start "$SB" ws1)
        diag "round $i: stop ${s} ms, start ${t} ms (whole CLI)"
done

# ---- destroy ----
ws1_dir=$ENC_STATE/sandboxes/$SB/workspaces/ws1
pid1=$(ws_pid "$SB" ws1)
ok "destroy a running ws1" enc workspace destroy "$SB" ws1
kill -0 "$pid1" 2>/dev/null && tap_fail "destroy stopped it" || tap_ok "destroy stopped it"
[ ! -e "$ws1_dir" ] && tap_ok "its directory is gone" || tap_fail "its directory is gone"
is "no cgroup of ws1 remains after destroy" "$(ws_cgroup_dirs "$SB" ws1 | wc -l)" 0
is "no mount mentions it" "$(grep -c "workspaces/ws1" /proc/self/mountinfo)" 0
contains "it is gone from the registry" "$(enc workspace status "$SB" ws1 2>&1)" "no workspace 'ws1'"
ok "create ws1 again after destroy" enc workspace create "$SB" ws1
fails "a new workspace of the same name starts empty" sh -c "enc workspace start $SB ws1 >/dev/null && enc workspace exec $SB ws1 -- test -e /root/keep </dev/null"
ok "remove is destroy" enc workspace remove "$SB" ws1

# ---- wipe ----
out=$(enc workspace wipe 2>&1 </dev/null)
contains "wipe without --yes and no terminal is refused" "$out" "not confirmed"
ok "ws2 survived the refused wipe" enc workspace status "$SB" ws2
ok "wipe --yes" enc workspace wipe --yes
is "no workspace left" "$(enc --json workspace list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 0
[ -z "$(ls -A "$ENC_STATE/sandboxes/$SB/workspaces" 2>/dev/null)" ] && tap_ok "no workspace directory left" || tap_fail "no workspace directory left"
is "no veth left" "$(ws_veths | wc -l)" 0
is "no process of this run's workspaces left" "$(ps -eo args | grep -c "[l]og-fds=3,4,5.*first-line")" 0

done_testing
