#!/usr/bin/env bash
# Many concurrent workspaces (SPEC §8: 1000 on one host with flat
# per-workspace start time). Starts N idle workspaces with networking on
# a busybox sandbox, one `enclave workspace start` at a time through the
# real daemon, and reports the start time (whole CLI command) per batch
# of 100 while the count grows, then what the host holds and how long
# stopping them all takes.
#
#   sudo bench/many-workspaces.sh [N]      (default 1000)
#
# Private world as the tests make it (lib.sh): own state dir, socket,
# bridge and nftables table; the subnet is a /20 (room for 4094) in
# 10.246.0.0/16. Everything is removed on exit.
set -eu
n=${1:-1000}
batch=100
cd "$(dirname "$0")/.."
BENCH_NEEDS="busybox" BENCH_WS_SETUP=0
. bench/daemon-lib.sh

enc_setup
sed -i "s|^subnet = .*|subnet = \"10.246.$(( (0x$ENC_TAG % 16) * 16 )).0/20\"|" "$ENC_CONFIG"
enc daemon start >/dev/null
make_busybox_rootfs "$ENC_DIR/rootfs"
tar -C "$ENC_DIR/rootfs" -cf "$ENC_DIR/rootfs.tar" .
enc -q rootfs import --base "$ENC_DIR/rootfs.tar" >/dev/null
enc -q create "$SB" --bootstrap-method cached_rootfs >/dev/null
on_exit "ws_teardown"

mem_used_kib() { awk '$1 == "MemTotal:" {t = $2} $1 == "MemAvailable:" {a = $2} END {print t - a}' /proc/meminfo; }
# Where the kernel keeps it: /proc/meminfo fields, in KiB.
meminfo() { awk '{sub(":", "", $1); printf "%s=%s ", $1, $2}' /proc/meminfo; }
meminfo_delta() { # BEFORE AFTER N: per-workspace growth of the big kernel fields
        local f b a
        for f in Slab SUnreclaim KernelStack PageTables Cached Shmem AnonPages Percpu; do
                b=$(printf '%s\n' $1 | awk -F= -v k="$f" '$1 == k {print $2}')
                a=$(printf '%s\n' $2 | awk -F= -v k="$f" '$1 == k {print $2}')
                printf '%s %d KiB, ' "$f" $(( (a - b) / $3 ))
        done
        echo
}
now_ns() { date +%s%N; }

echo "# $(date -u +%FT%TZ) $(uname -r), $(nproc) cores, $n workspaces, load $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(now_ns)
for i in $(seq "$n"); do enc workspace create "$SB" "w$i" >/dev/null; done
echo "create: $(( ($(now_ns) - t0) / 1000000 / n )) ms per workspace (sequential CLI calls)"

mem0=$(mem_used_kib)
info0=$(meminfo)
echo "| workspaces running | start median (ms) | p90 (ms) | max (ms) |"
echo "|---:|---:|---:|---:|"
times=()
for i in $(seq "$n"); do
        t=$(now_ns)
        enc workspace start "$SB" "w$i" >/dev/null
        times+=($(( ($(now_ns) - t) / 1000 )))
        if [ $(( i % batch )) -eq 0 ] || [ "$i" -eq "$n" ]; then
                printf '%s\n' "${times[@]}" | sort -n | awk -v upto="$i" '
                        { v[NR] = $1 }
                        END { p = int(NR * 0.9); if (p < 1) p = 1
                              printf "| %d | %.1f | %.1f | %.1f |\n", upto, v[int((NR + 1) / 2)] / 1000,
                                     v[p] / 1000, v[NR] / 1000 }'
                times=()
        fi
done
sleep 1
mem1=$(mem_used_kib)
info1=$(meminfo)
running=$(enc --json workspace list | python3 -c 'import json,sys; d=json.load(sys.stdin); ws=d["workspaces"] if isinstance(d,dict) else d; print(sum(1 for w in ws if w.get("state")=="running"))')
veths=$(ip -o link show master "$ENC_BRIDGE" | wc -l)
daemon_pid=$(cat "$ENC_PIDFILE")
echo "running: $running, veths on the bridge: $veths, daemon fds: $(ls /proc/$daemon_pid/fd | wc -l), daemon RSS: $(awk '$1 == "VmRSS:" {print $2}' /proc/$daemon_pid/status) KiB"
echo "host memory in use grew by $(( (mem1 - mem0) / 1024 )) MiB ($(( (mem1 - mem0) / n )) KiB per workspace, page cache included)"
echo "per workspace: $(meminfo_delta "$info0" "$info1" "$n")"

t=$(now_ns)
enc workspace exec "$SB" "w$n" -- /bin/true
echo "exec -- /bin/true in the last one: $(( ($(now_ns) - t) / 1000000 )) ms"
t=$(now_ns)
enc workspace wipe --yes >/dev/null
echo "wipe (stop and destroy all $n): $(( ($(now_ns) - t) / 1000000 )) ms"
