#!/usr/bin/env bash
# docs/security.md, "Host resources": what every workspace together, or
# the daemon's own standing, must not take from the host.
#
# - pids: max_procs defaults to none per workspace (SPEC), so Enclave's
#   top cgroup carries a host-wide cap, max_procs_total (automatic: 3/4
#   of the smaller of kernel.pid_max and kernel.threads-max). Before, a
#   workspace without max_procs could fork until the host had no pid
#   left.
# - oom_score_adj: a daemon that systemd shields from the OOM killer
#   (OOMScoreAdjust=) used to hand that to every workspace process;
#   init and exec'd commands now get 0, and cannot lower it themselves.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workspace-setup.sh"
require_root
ws_setup

pid_max=$(cat /proc/sys/kernel/pid_max)
threads_max=$(cat /proc/sys/kernel/threads-max)
host=$((pid_max < threads_max ? pid_max : threads_max))
want=$((host / 4 * 3))
diag "kernel.pid_max $pid_max, kernel.threads-max $threads_max: automatic cap $want"

# The root's pids.max in every hierarchy that has the pids controller.
root_pids_max() {
        local d
        for d in $(enc_cgroup_dirs); do
                [ -f "$d/pids.max" ] && cat "$d/pids.max"
        done | sort -u | tr '\n' ' ' | sed 's/ $//'
}
root_pids_current() {
        local d
        for d in $(enc_cgroup_dirs); do
                [ -f "$d/pids.current" ] && cat "$d/pids.current"
        done | sort -n | tail -1
}

ok "a workspace without max_procs" enc workspace create "$SB" w --run "sleep 600"
ok "starts" enc workspace start "$SB" w
have_pids=
for d in $(enc_cgroup_dirs); do [ -f "$d/pids.max" ] && have_pids=1; done
if [ -z "$have_pids" ]; then
        tap_skip "the top cgroup's pids.max" "no pids controller for Enclave's cgroup root on this host"
else
        is "Enclave's top cgroup caps the pids of all workspaces at 3/4 of the host's" "$(root_pids_max)" "$want"
fi
out=$(enc doctor 2>&1)
contains "doctor shows the cap" "$out" "pids of all workspaces capped at $want"
contains "and where it comes from" "$out" "automatic: 3/4 of the host's $host"

# A configured cap, and a workspace that forks past it.
ok "the daemon stops" enc daemon stop
echo "max_procs_total = 40" >>"$ENC_CONFIG"
ok "and starts with max_procs_total = 40" enc daemon start
ok "a workspace without max_procs" enc workspace create "$SB" forker --run "sleep 600"
ok "starts" enc workspace start "$SB" forker
if [ -n "$have_pids" ]; then
        is "the top cgroup's pids.max follows config.toml" "$(root_pids_max)" 40
        out=$(enc workspace exec "$SB" forker -- sh -c \
                'n=0; while [ $n -lt 100 ]; do sleep 600 >/dev/null 2>&1 </dev/null & n=$((n + 1)); done; echo started' 2>&1)
        cur=$(root_pids_current)
        diag "after forking 100: all workspaces hold $cur pids; the exec said: $(echo "$out" | tail -2 | tr '\n' ' ')"
        ok "100 forks stop at the cap of all workspaces together ($cur)" test "$cur" -le 40
        lacks "the fork loop did not get through" "$out" "started"
        out=$(enc doctor 2>&1)
        contains "doctor shows the configured cap" "$out" "pids of all workspaces capped at 40"
        contains "and what is in use" "$out" "in use: "
        ok "stopping the forker frees them" enc workspace stop "$SB" forker
        ok "and the other workspace execs again (positive control)" enc workspace exec "$SB" w -- true
else
        tap_skip "max_procs_total" "no pids controller here"
fi

# oom_score_adj: the daemon shielded the way systemd's OOMScoreAdjust=-500
# does. That needs CAP_SYS_RESOURCE (the VM bench has it); a root without
# it may only raise a value, so there the daemon runs at +300 instead and
# the workspace still must not inherit it.
DPID=$(cat "$ENC_PIDFILE")
daemon_adj=-500
if ! echo "$daemon_adj" >"/proc/$DPID/oom_score_adj" 2>/dev/null; then
        daemon_adj=300
        echo "$daemon_adj" >"/proc/$DPID/oom_score_adj"
        diag "no CAP_SYS_RESOURCE here: the daemon runs at +300, not shielded at -500"
fi
is "the daemon runs at oom_score_adj $daemon_adj" "$(cat "/proc/$DPID/oom_score_adj")" "$daemon_adj"
ok "a workspace under it" enc workspace create "$SB" oom --run "sleep 600"
ok "starts" enc workspace start "$SB" oom
p=$(ws_pid "$SB" oom)
is "its init's oom_score_adj is 0, not the daemon's" "$(cat "/proc/$p/oom_score_adj" 2>/dev/null)" 0
is "an exec'd command's is 0" "$(enc workspace exec "$SB" oom -- cat /proc/self/oom_score_adj 2>&1)" 0
fails "the workspace cannot lower itself below 0" \
        enc workspace exec "$SB" oom -- sh -c 'echo -100 >/proc/self/oom_score_adj'
ok "but may raise itself (positive control)" \
        enc workspace exec "$SB" oom -- sh -c 'echo 100 >/proc/self/oom_score_adj'
is "the daemon itself is left as it was" "$(cat "/proc/$DPID/oom_score_adj")" "$daemon_adj"

done_testing
