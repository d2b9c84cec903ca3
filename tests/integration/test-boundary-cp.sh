#!/usr/bin/env bash
# docs/security.md, "Client file descriptors and quotas": `workspace cp`
# runs its copy in a child of the daemon that enters the workspace. That
# child keeps only the descriptors of the copy: never the daemon's
# socket, registry or other clients' connections, which would travel
# into the workspace with it. And a reader that goes away ends the copy
# (before, the child's inherited copy of its relay pipe kept the pipe
# open: `cp ... - | head -c 1` hung forever, holding a worker). It is in
# all of the workspace's namespaces that a path can show, so copying out
# of /proc/sys/net lists the workspace's interfaces, not the host's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workspace-setup.sh"
require_root
ws_setup
ok "a workspace" enc workspace create "$SB" w
ok "starts" enc workspace start "$SB" w
ok "with a 64 MiB file" enc workspace exec "$SB" w -- dd if=/dev/zero of=/home/big bs=1M count=64
DPID=$(cat "$ENC_PIDFILE")

# A copy whose reader is slow: the child waits on the pipe meanwhile.
enc workspace cp "$SB/w:/home/big" - | { sleep 4; cat >/dev/null; } &
reader=$!
on_exit "kill $reader"
child=
for _ in $(seq 40); do
        child=$(pgrep -P "$DPID" -x enclave-daemon | head -1)
        [ -n "$child" ] && break
        sleep 0.1
done
if [ -n "$child" ]; then
        n=$(ls "/proc/$child/fd" 2>/dev/null | wc -l)
        diag "the copy child $child holds $n descriptors; the daemon $(ls /proc/$DPID/fd | wc -l)"
        [ "$n" -le 8 ] && tap_ok "the copy child holds only its own descriptors ($n)" ||
                tap_fail "the copy child holds only its own descriptors" "$n: $(ls -l /proc/$child/fd | awk '{print $NF}' | tr '\n' ' ')"
        sock=$(readlink "/proc/$child/fd/"* 2>/dev/null | grep -c "registry.db")
        is "and not the registry" "$sock" 0
else
        tap_fail "the copy child holds only its own descriptors" "no copy child seen"
        tap_fail "and not the registry"
fi
wait "$reader"

# A reader that goes away: the copy ends instead of hanging.
start=$SECONDS
timeout 60 sh -c "'$ENCLAVE' --config '$ENC_CONFIG' --socket '$ENC_SOCK' workspace cp '$SB/w:/home/big' - | head -c 1 >/dev/null"
rc=$?
[ "$rc" -ne 124 ] && tap_ok "a copy whose reader left ends ($((SECONDS - start)) s)" ||
        tap_fail "a copy whose reader left ends" "still running after 60 s"
sleep 1
is "no copy child is left" "$(pgrep -P "$DPID" -x enclave-daemon | wc -l)" 0
# The copy sees what the workspace sees: /proc/sys/net follows the
# reader's network namespace, so a child left in the host's listed the
# host's interfaces (this run's bridge among them).
names=$(timeout 30 sh -c "'$ENCLAVE' --config '$ENC_CONFIG' --socket '$ENC_SOCK' workspace cp '$SB/w:/proc/sys/net/ipv4/conf' - | tar -t 2>/dev/null" | cut -d/ -f2 | sort -u | tr '\n' ' ')
diag "interfaces a copy out of /proc/sys/net/ipv4/conf shows: $names"
contains "a copy shows the workspace's own interfaces (positive control)" "$names" "eth0"
lacks "and none of the host's" "$names" "$ENC_BRIDGE"
# Positive control: copies still work, both ways.
ok "a whole copy out works" sh -c "'$ENCLAVE' --config '$ENC_CONFIG' --socket '$ENC_SOCK' workspace cp '$SB/w:/home/big' - | tar -t | grep -qx big"
echo hello >"$ENC_DIR/small"
ok "and a copy in" enc workspace cp "$ENC_DIR/small" "$SB/w:/home/small"
is "which arrives" "$(enc workspace exec "$SB" w -- cat /home/small)" hello

done_testing
