#!/usr/bin/env bash
# The daemon's cgroup tree on this host's hierarchies (v1, hybrid or v2):
# one root per daemon (enclave-<bridge>), located once at startup, with
# one group per sandbox holding the leaves of its workspaces; nothing
# nests deeper however many operations run, nobody else's processes are
# moved, and destroy leaves no directory. Under systemd (the VM bench),
# a daemon started as a service with Delegate=yes keeps everything in
# its delegated subtree and moves itself into a leaf.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workspace-setup.sh"
require_root
ws_setup

v2_line() { sed -n 's/^0:://p' "$1"; }
self_before=$(cat /proc/self/cgroup)
daemon_pid=$(cat "$ENC_PIDFILE")
daemon_before=$(cat "/proc/$daemon_pid/cgroup")

ok "workspace a starts" enc workspace create "$SB" a --run "sleep 600"
ok "workspace b starts" enc workspace create "$SB" b --run "sleep 600"
ok "start a" enc workspace start "$SB" a
ok "start b" enc workspace start "$SB" b
# Operations that used to re-resolve (and deepen) the root each time.
for _ in 1 2 3; do enc status "$SB" >/dev/null 2>&1; enc workspace status "$SB" a >/dev/null 2>&1; done
ok "stop b" enc workspace stop "$SB" b
ok "start b again" enc workspace start "$SB" b

pa=$(ws_pid "$SB" a) pb=$(ws_pid "$SB" b)
ok "both workspaces run" test -n "$pa" -a -n "$pb"
roots=$(enc_cgroup_dirs)
ok "the root exists" test -n "$roots"
for d in $roots; do
        is "one sandbox group below $d" "$(ls -d "$d"/*/ 2>/dev/null | wc -l)" 1
        is "nothing deeper than sandbox/workspace below $d" \
                "$(find "$d" -mindepth 3 -type d | wc -l)" 0
        is "no process in the sandbox group $d/$SB" "$(cat "$d/$SB/cgroup.procs" | wc -l)" 0
        contains "a's init in $d/$SB/a" "$(cat "$d/$SB/a/cgroup.procs")" "$pa"
        contains "b's init in $d/$SB/b" "$(cat "$d/$SB/b/cgroup.procs")" "$pb"
done
# The unified tree (v2 and hybrid): one root, at one place.
v2=$(v2_line "/proc/$pa/cgroup")
case $v2 in
*/enclave-"$ENC_BRIDGE"/"$SB"/a) tap_ok "a's v2 group is <root>/$SB/a ($v2)" ;;
*) tap_fail "a's v2 group is <root>/$SB/a" "got '$v2'" ;;
esac
is "a and b share one sandbox group" "$(dirname "$(v2_line "/proc/$pb/cgroup")")" "$(dirname "$v2")"
is "exactly one enclave-$ENC_BRIDGE in the unified tree" \
        "$(find /sys/fs/cgroup -name "enclave-$ENC_BRIDGE" -type d 2>/dev/null | grep -c .)" "$(echo "$roots" | wc -l)"
is "the test's own cgroup did not change" "$(cat /proc/self/cgroup)" "$self_before"
is "the daemon stayed where it was started (it shares that group)" "$(cat "/proc/$daemon_pid/cgroup")" "$daemon_before"
out=$(enc status "$SB" 2>&1)
contains "status names the sandbox's cgroup" "$out" "enclave-$ENC_BRIDGE/$SB"
lacks "status does not say none" "$out" "cgroups:     none"

# The sandbox's caps cover its workspaces together (v2 pids controller).
for d in $roots; do
        if [ -f "$d/$SB/pids.current" ]; then
                n=$(cat "$d/$SB/pids.current")
                ok "the sandbox's pids.current counts both workspaces ($n)" test "$n" -ge 4
        fi
done

ok "destroy the sandbox" enc destroy "$SB" --force
is "no cgroup of the daemon is left" "$(enc_cgroup_dirs)" ""
is "nothing named after the bridge anywhere" "$(find /sys/fs/cgroup -name "*$ENC_BRIDGE*" 2>/dev/null)" ""

# ---- under systemd: a service with Delegate=yes ----
if [ "$(cat /proc/1/comm 2>/dev/null)" != systemd ] || ! command -v systemd-run >/dev/null; then
        tap_skip "daemon as a delegated systemd service" "pid 1 is not systemd here"
        done_testing
        exit
fi
enc daemon stop >/dev/null 2>&1
for _ in $(seq 100); do [ -e "$ENC_PIDFILE" ] || break; sleep 0.1; done
unit=enclave-test-$ENC_BRIDGE
# Stopping the unit kills all of it (KillMode=control-group), workspaces too.
on_exit "systemctl stop $unit.service; systemctl reset-failed $unit.service"
ok "the daemon runs as a transient service with Delegate=yes" \
        systemd-run --unit="$unit" -p Delegate=yes "$ENCLAVE" daemon run --config "$ENC_CONFIG"
# enc_call never starts a daemon of its own, as the CLI would.
for _ in $(seq 150); do enc_call daemon.ping >/dev/null 2>&1 && break; sleep 0.2; done
if ! systemctl is-active --quiet "$unit.service"; then
        tap_fail "the service runs" "$(journalctl -u "$unit.service" --no-pager 2>&1 | tail -n 5)"
        done_testing
        exit
fi
cgpath=$(systemctl show -p ControlGroup --value "$unit.service")
svc=/sys/fs/cgroup$cgpath
ok "the service has its own cgroup ($cgpath)" test -n "$cgpath" -a -d "$svc"
ok "sandbox create under the service" enc create sd --bootstrap-method cached_rootfs
ok "workspace starts under the service" enc workspace create sd w --run "sleep 600"
ok "start w" enc workspace start sd w
pw=$(ws_pid sd w)
is "the service group holds no process itself" "$(cat "$svc/cgroup.procs" | wc -l)" 0
spid=$(systemctl show -p MainPID --value "$unit.service")
is "the daemon moved into its own leaf" "$(v2_line "/proc/$spid/cgroup")" "$cgpath/enclave-$ENC_BRIDGE-daemon"
is "the workspace is in the delegated subtree" "$(v2_line "/proc/$pw/cgroup")" "$cgpath/enclave-$ENC_BRIDGE/sd/w"
contains "controllers are handed down to the sandbox" "$(cat "$svc/enclave-$ENC_BRIDGE/cgroup.subtree_control")" pids
ok "destroy under the service" enc destroy sd --force
is "only the daemon's leaf is left in the service group" "$(cd "$svc" && ls -d */ 2>/dev/null)" "enclave-$ENC_BRIDGE-daemon/"
done_testing
