#!/usr/bin/env bash
# Memory per idle workspace (SPEC §8: <= 1 MiB): start N idle workspaces
# on a busybox sandbox and report what they add on the host — the RSS and
# PSS of their enclave-init processes, the daemon's RSS growth, and the
# memory their cgroups are charged (kernel memory included).
#
#   sudo bench/workspace-memory.sh [N]     (default 50)
set -eu
n=${1:-50}
cd "$(dirname "$0")/.."
BENCH_NEEDS="" BENCH_WS_SETUP=1
. bench/daemon-lib.sh

kib() { awk -v k="$1" '$1 == k":" {print $2}' "$2"; }
daemon_pid=$(cat "$ENC_PIDFILE")
daemon_before=$(kib VmRSS /proc/$daemon_pid/status)
for i in $(seq "$n"); do enc workspace create "$SB" "m$i" >/dev/null; done
for i in $(seq "$n"); do enc workspace start "$SB" "m$i" >/dev/null; done
sleep 1
daemon_after=$(kib VmRSS /proc/$daemon_pid/status)

rss=0 pss=0 cg=0
for i in $(seq "$n"); do
        pid=$(ws_pid "$SB" "m$i")
        rss=$((rss + $(kib Rss /proc/$pid/smaps_rollup)))
        pss=$((pss + $(kib Pss /proc/$pid/smaps_rollup)))
        f=$(ls -d /sys/fs/cgroup/memory/enclave-"$ENC_BRIDGE"/"$SB"/*m$i 2>/dev/null | head -1)
        [ -n "$f" ] && cg=$((cg + $(cat "$f/memory.usage_in_bytes") / 1024))
done
echo "## $n idle workspaces (load: $(cut -d' ' -f1-3 /proc/loadavg))"
echo "enclave-init RSS per workspace: $((rss / n)) KiB (PSS $((pss / n)) KiB)"
echo "cgroup memory charged per workspace: $((cg / n)) KiB"
echo "daemon RSS growth per workspace: $(( (daemon_after - daemon_before) / n )) KiB"
enc workspace wipe --yes >/dev/null
