#!/usr/bin/env bash
# `exec -- /bin/true` in a running workspace through the runtime library,
# against a full bwrap sandbox start and unshare with all namespaces, in
# one hyperfine run (SPEC §8: exec <= 5 ms, no slower than bwrap).
#
#   sudo bench/workspace-exec.sh [RUNS]      (default 300; needs hyperfine, bwrap, make)
#
# "enclave runtime exec" is a whole process: enclave-bench-runtime
# adopts the workspace by pid + start time, joins it, runs /bin/true and
# waits; the CLI adds its socket round trip to the daemon on top. The
# in-process figure (one exec without process start-up) follows.
. "$(dirname "$0")/workspace-lib.sh"
runs=${1:-300}
bench_setup
command -v bwrap >/dev/null || { echo "bwrap is required" >&2; exit 1; }
bench_start bench-exec 3900000000
hyperfine -N --warmup 20 --runs "$runs" \
        -n "enclave runtime exec /bin/true" "$TOOL exec $WS_PID $WS_START /bin/true" \
        -n "bwrap --unshare-all /bin/true" "bwrap --unshare-all --ro-bind $BENCH_ROOTFS / /bin/true" \
        -n "unshare (user,pid,mount,net,uts,ipc) /bin/true" \
        "unshare --user --map-root-user --pid --fork --mount --net --uts --ipc /bin/true"
"$TOOL" loop-exec "$WS_PID" "$WS_START" 1000
