#!/usr/bin/env bash
# make soak: CYCLES create/start/exec/stop/destroy cycles from CLIENTS
# clients at once against a daemon of its own (every tenth workspace with
# a disk_mb image, so loop devices are exercised too), with the counts
# that show a leak before and after: the daemon's fds, threads and RSS,
# mounts below the state dir, this daemon's cgroups, veths on its bridge, nftables rules and set elements, loop devices, host id
# leases and files in the state dir. Exits 1 when a count that must come
# back did not, or a cycle failed. Figures: docs/performance.md, "Soak".
#   tests/soak.sh [CYCLES] [CLIENTS]
set -u
cd "$(dirname "$0")/.."
CYCLES=${1:-1000}
CLIENTS=${2:-4}
BUILD=${BUILD:-build}
export ENCLAVE_BIN=${ENCLAVE_BIN:-$PWD/$BUILD/enclave}
. tests/integration/lib.sh
require_root
. tests/integration/workspace-setup.sh
ws_setup >/dev/null
STATE_REAL=$(realpath "$ENC_STATE")

daemon_pid() { cat "$ENC_PIDFILE"; }
counts() {
        local pid; pid=$(daemon_pid)
        local fds threads rss mounts cgroups veths nft loops leases files
        fds=$(ls /proc/"$pid"/fd | wc -l)
        threads=$(awk '/^Threads:/ {print $2}' /proc/"$pid"/status)
        rss=$(awk '/^VmRSS:/ {print $2}' /proc/"$pid"/status)
        mounts=$(grep -c " $STATE_REAL/" /proc/self/mountinfo)
        cgroups=$(find /sys/fs/cgroup/*/enclave-"$ENC_BRIDGE" -mindepth 1 -type d 2>/dev/null | wc -l)
        veths=$(ip -o link show master "$ENC_BRIDGE" 2>/dev/null | wc -l)
        nft=$(for fam in inet bridge; do nft -j list table "$fam" "$ENC_BRIDGE" 2>/dev/null; echo; done | python3 -c 'import json,sys
n = 0
for line in sys.stdin:
    if not line.strip(): continue
    for o in json.loads(line).get("nftables", []):
        n += 1 if "rule" in o else len(o["set"].get("elem", [])) if "set" in o else 0
print(n)')
        loops=$(grep -l "^$STATE_REAL/" /sys/block/loop*/loop/backing_file 2>/dev/null | wc -l)
        leases=$(grep -lx "state_dir=$STATE_REAL" /var/lib/enclave-ids/[0-9]* 2>/dev/null | wc -l)
        files=$(find "$ENC_STATE" -xdev | wc -l)
        printf '%s %s %s %s %s %s %s %s %s %s\n' "$fds" "$threads" "$rss" "$mounts" "$cgroups" "$veths" "$nft" \
                "$loops" "$leases" "$files"
}

# One running workspace keeps the network up, as on a real host.
enc workspace create "$SB" anchor >/dev/null && enc workspace start "$SB" anchor >/dev/null || exit 1
# Warm-up, CLIENTS at once as below: the first cycles allocate what the
# daemon keeps (a registry connection per worker thread, caches); the
# baseline is taken after them.
warm() {
        enc workspace create "$SB" "warm$1" --disk-mb 32 >/dev/null && enc workspace start "$SB" "warm$1" >/dev/null &&
                enc workspace exec "$SB" "warm$1" -- true </dev/null && enc workspace stop "$SB" "warm$1" >/dev/null &&
                enc workspace destroy "$SB" "warm$1" >/dev/null
}
for round in 1 2; do
        for c in $(seq "$CLIENTS"); do warm "$c" & done
        wait
done
sleep 1
before=$(counts)

client() { # N: its share of the cycles; prints failures
        local c=$1 n=$(( CYCLES / CLIENTS + (c <= CYCLES % CLIENTS ? 1 : 0) )) i ws disk out
        for i in $(seq "$n"); do
                ws=c$c-$i
                disk=()
                [ $((i % 10)) -eq 0 ] && disk=(--disk-mb 32)
                out=$( { enc workspace create "$SB" "$ws" "${disk[@]}" && enc workspace start "$SB" "$ws" &&
                        [ "$(enc workspace exec "$SB" "$ws" -- echo hi </dev/null)" = hi ] &&
                        enc workspace stop "$SB" "$ws" && enc workspace destroy "$SB" "$ws"; } 2>&1 >/dev/null) ||
                        echo "client $c cycle $i: ${out:-failed}"
        done
}
t0=$SECONDS
failures=$(for c in $(seq "$CLIENTS"); do client "$c" & done; wait)
secs=$((SECONDS - t0))
sleep 1 # loop devices unbind and cgroups go asynchronously after a stop
after=$(counts)

names=(daemon_fds daemon_threads daemon_rss_kib state_mounts cgroups bridge_veths nft_rules loop_devices id_leases state_files)
read -ra b <<<"$before"
read -ra a <<<"$after"
echo "soak: $CYCLES cycles (create, start, exec, stop, destroy; every 10th with disk_mb 32) from $CLIENTS clients in $secs s"
printf '%-16s %10s %10s\n' count before after
bad=0
for i in "${!names[@]}"; do
        printf '%-16s %10s %10s\n' "${names[$i]}" "${b[$i]}" "${a[$i]}"
        case ${names[$i]} in
        daemon_rss_kib | daemon_threads) ;; # may settle higher; shown, judged by eye
        *) [ "${a[$i]}" -le "${b[$i]}" ] || { echo "  ${names[$i]} grew"; bad=$((bad + 1)); } ;;
        esac
done
n_fail=$(printf '%s\n' "$failures" | grep -c .)
[ "$n_fail" -gt 0 ] && printf '%s\n' "$failures" | head -20
echo "$((CYCLES - n_fail)) passed, $((n_fail + bad)) failed"
[ "$n_fail" -eq 0 ] && [ "$bad" -eq 0 ]
