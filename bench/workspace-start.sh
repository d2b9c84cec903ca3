#!/usr/bin/env bash
# Workspace start + stop of an idle workspace through the runtime library
# (namespaces, idmapped overlay root, /home, /proc, /sys, /dev, init from
# a sealed memfd; stop = SIGTERM to init and waiting on its pidfd), next
# to bwrap and unshare starting a command in the same namespaces.
#
#   sudo bench/workspace-start.sh [RUNS]     (default 100; needs hyperfine, bwrap, make)
#
# No networking or cgroups here (they belong to the daemon's prepare
# hook); SPEC §8's start target (<= 20 ms) includes them.
. "$(dirname "$0")/workspace-lib.sh"
runs=${1:-100}
bench_setup
command -v bwrap >/dev/null || { echo "bwrap is required" >&2; exit 1; }
hyperfine -N --warmup 5 --runs "$runs" \
        -n "enclave runtime start+stop (idle)" \
        "$TOOL startstop $BENCH_ROOTFS $BENCH_DIR/ws-start bench-start 3900065536" \
        -n "bwrap --unshare-all /bin/true" "bwrap --unshare-all --ro-bind $BENCH_ROOTFS / /bin/true" \
        -n "unshare (user,pid,mount,net,uts,ipc) /bin/true" \
        "unshare --user --map-root-user --pid --fork --mount --net --uts --ipc /bin/true"
# Stop alone, idle and with a run command that handles SIGTERM.
for i in 1 2 3; do
        bench_start "bench-stop$i" $((3900131072 + i * 65536))
        s=$(date +%s%N); "$TOOL" stop "$WS_PID" "$WS_START"; e=$(date +%s%N)
        echo "idle stop $i: $(( (e - s) / 1000 )) us (including process start of the tool)"
done
