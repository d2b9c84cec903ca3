#!/usr/bin/env bash
# Crash safety (SPEC §4): workspaces keep running while the daemon is
# killed with SIGKILL; a restarted daemon adopts those whose pid + start
# time still match (status, exec, logs and stop work on them) and
# cleans up after one that died meanwhile (marked stopped, its cgroup
# and veth removed); an OOM kill is counted and reported.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workspace-setup.sh"
require_root
ws_setup
DAEMON_LOG=$ENC_STATE/daemon.log

for w in keep dies; do
        ok "create $w" enc workspace create "$SB" $w
        ok "start $w" enc workspace start "$SB" $w
done
enc workspace exec "$SB" keep -- sh -c 'echo before-crash > /root/mark' </dev/null
keep_pid=$(ws_pid "$SB" keep)
dies_pid=$(ws_pid "$SB" dies)
daemon_pid=$(cat "$ENC_PIDFILE")

# ---- kill -9 the daemon ----
kill -9 "$daemon_pid"
for _ in $(seq 50); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$daemon_pid" 2>/dev/null && tap_fail "the daemon is dead" || tap_ok "the daemon is dead"
sleep 0.3
kill -0 "$keep_pid" 2>/dev/null && tap_ok "workspace keep still runs without the daemon" || tap_fail "keep still runs"
kill -0 "$dies_pid" 2>/dev/null && tap_ok "workspace dies still runs without the daemon" || tap_fail "dies still runs"
is "keep still has its veth" "$(ws_veths | wc -l)" 2

# One of them dies while no daemon watches.
kill -9 "$dies_pid"
for _ in $(seq 50); do kill -0 "$dies_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$dies_pid" 2>/dev/null && tap_fail "dies is gone" || tap_ok "dies is gone"
[ "$(ws_cgroup_dirs "$SB" dies | wc -l)" -gt 0 ] && tap_ok "it left its cgroup behind" || tap_fail "it left its cgroup"

# ---- restart ----
ok "the daemon starts again" enc daemon start
is "keep is running after the restart" "$(enc --json workspace status "$SB" keep | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" running
is "keep has the same pid" "$(ws_pid "$SB" keep)" "$keep_pid"
contains "the log says it was adopted" "$(cat "$DAEMON_LOG")" "workspace $SB/keep adopted (pid $keep_pid)"
is "exec works in the adopted workspace" "$(enc workspace exec "$SB" keep -- cat /root/mark </dev/null)" before-crash
is "exec status in the adopted workspace" "$(enc workspace exec "$SB" keep -- sh -c 'exit 4' </dev/null; echo $?)" 4
contains "stats work on the adopted workspace" "$(enc workspace stats "$SB" keep 2>&1)" "CPU %"
is "dies is marked stopped" "$(enc --json workspace status "$SB" dies | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" stopped
is "its cgroup is removed" "$(ws_cgroup_dirs "$SB" dies | wc -l)" 0
is "its veth is removed" "$(ws_veths | wc -l)" 1
contains "the log says it was cleaned up" "$(cat "$DAEMON_LOG")" "workspace $SB/dies: its process $dies_pid is gone"

ok "dies starts again" enc workspace start "$SB" dies
ok "stop the adopted workspace" enc workspace stop "$SB" keep
# Not our child any more (the killed daemon was its parent): the host's
# pid 1 reaps it, so a zombie may linger there for a moment.
pstate=$(awk '{print $3}' /proc/"$keep_pid"/stat 2>/dev/null)
[ -z "$pstate" ] || [ "$pstate" = Z ] && tap_ok "the adopted init has ended after stop (${pstate:-gone})" \
        || tap_fail "the adopted init has ended after stop" "state $pstate"
is "no cgroup of keep remains" "$(ws_cgroup_dirs "$SB" keep | wc -l)" 0
is "keep's state is stopped" "$(enc --json workspace status "$SB" keep | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" stopped

# ---- an init that exits on its own is noticed at once ----
ok "create a run command that fails" enc workspace create "$SB" quits --run 'exit 3'
ok "start it" enc workspace start "$SB" quits
state=
for _ in $(seq 50); do
        state=$(enc --json workspace status "$SB" quits | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["state"], d["exit_status"])')
        [ "$state" = "failed 3" ] && break
        sleep 0.1
done
is "a run command that exits 3 leaves the workspace failed with status 3" "$state" "failed 3"
is "its cgroup is gone" "$(ws_cgroup_dirs "$SB" quits | wc -l)" 0

# ---- OOM ----
# A tmpfs file is charged to the workspace's cgroup, so filling
# /dev/shm past the cgroup limit needs the OOM killer.
ok "create a workspace with 32 MiB" enc workspace create "$SB" oom --memory-mb 32 --run 'sleep 1000'
ok "start it" enc workspace start "$SB" oom
enc workspace exec "$SB" oom -- sh -c 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=96' </dev/null >/dev/null 2>&1
oom=$(enc --json workspace status "$SB" oom | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["oom_kills"] + ((d.get("usage") or {}).get("oom_kills") or 0))')
[ "$oom" -ge 1 ] && tap_ok "status counts the OOM kill ($oom)" || tap_fail "status counts the OOM kill" "$oom"
enc workspace stop "$SB" oom >/dev/null 2>&1
contains "the daemon log names the workspace and the OOM kill" "$(cat "$DAEMON_LOG")" "workspace $SB/oom: the kernel's OOM killer ended"
oom=$(enc --json workspace status "$SB" oom | python3 -c 'import json,sys; print(json.load(sys.stdin)["oom_kills"])')
[ "$oom" -ge 1 ] && tap_ok "the OOM count is recorded in the registry ($oom)" || tap_fail "OOM count recorded" "$oom"
is "no cgroup of oom remains" "$(ws_cgroup_dirs "$SB" oom | wc -l)" 0

done_testing
