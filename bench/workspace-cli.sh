#!/usr/bin/env bash
# Whole CLI commands against a daemon of its own (SPEC §8), side by side
# with bwrap and unshare in the same hyperfine run:
#
#   exec:       enclave workspace exec sb ws -- /bin/true     (target <= 5 ms)
#               bwrap --unshare-all --ro-bind ROOTFS / /bin/true
#               unshare -Urpf --mount --net --uts --ipc /bin/true
#               enclave --version                              (the CLI's own start-up)
#   start/stop: enclave workspace start / stop of an idle workspace with
#               networking                                     (targets <= 20 ms each)
#               and of one with disk_mb 64 (the overlay's upper layer, /home
#               and /tmp in a loop-mounted image)
#
#   sudo bench/workspace-cli.sh [RUNS]     (default 200; needs hyperfine, bwrap, busybox, make)
#
# The daemon side of an exec alone (socket round trip, no CLI start-up)
# is printed at the end from a small Python client.
set -eu
runs=${1:-200}
cd "$(dirname "$0")/.."
BENCH_NEEDS="hyperfine bwrap busybox python3" BENCH_WS_SETUP=1
. bench/daemon-lib.sh
E="$ENCLAVE --config $ENC_CONFIG --socket $ENC_SOCK"
enc workspace create "$SB" bench >/dev/null
enc workspace create "$SB" cycle >/dev/null
enc workspace create "$SB" cycledisk --disk-mb 64 >/dev/null
enc workspace start "$SB" bench >/dev/null

echo "## exec -- /bin/true (whole commands; load: $(cut -d' ' -f1-3 /proc/loadavg))"
hyperfine -N --warmup 20 --runs "$runs" \
        -n "enclave workspace exec -- /bin/true" "$E workspace exec $SB bench -- /bin/true" \
        -n "bwrap --unshare-all /bin/true" "bwrap --unshare-all --ro-bind $ENC_DIR/rootfs / /bin/true" \
        -n "unshare -Urpf --mount --net --uts --ipc /bin/true" "unshare -Urpf --mount --net --uts --ipc /bin/true" \
        -n "enclave --version (CLI start-up only)" "$E --version"

echo "## start / stop of an idle workspace with networking"
enc workspace start "$SB" cycle >/dev/null
hyperfine -N --warmup 3 --runs "$(( runs / 4 > 10 ? runs / 4 : 10 ))" \
        --prepare "$E workspace start $SB cycle" -n "enclave workspace stop" "$E workspace stop $SB cycle" \
        --prepare "$E workspace stop $SB cycle" -n "enclave workspace start" "$E workspace start $SB cycle"
enc workspace stop "$SB" cycle >/dev/null 2>&1 || true
echo "## start / stop of an idle workspace with networking and disk_mb 64"
enc workspace start "$SB" cycledisk >/dev/null
hyperfine -N --warmup 3 --runs "$(( runs / 4 > 10 ? runs / 4 : 10 ))" \
        --prepare "$E workspace start $SB cycledisk" -n "enclave workspace stop (disk_mb)" "$E workspace stop $SB cycledisk" \
        --prepare "$E workspace stop $SB cycledisk" -n "enclave workspace start (disk_mb)" "$E workspace start $SB cycledisk"
enc workspace stop "$SB" cycledisk >/dev/null 2>&1 || true

echo "## daemon side of exec (socket round trip from one client process, no CLI start-up)"
python3 - "$ENC_SOCK" "$SB" bench 300 <<'PY'
import array, json, os, socket, struct, sys, time
sock, sb, ws, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def call(s, action, params, fds=()):
    body = json.dumps({"v": 1, "id": 1, "action": action, "params": params, "fds": len(fds)}).encode()
    data = struct.pack(">I", len(body)) + body
    s.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else [])
    while True:
        n = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))[0]
        m = json.loads(s.recv(n, socket.MSG_WAITALL))
        if "event" not in m:
            return m
null = os.open("/dev/null", os.O_RDWR)
ts = []
for _ in range(n):
    t = time.perf_counter()
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    m = call(s, "workspace.exec", {"sandbox": sb, "workspace": ws, "argv": ["/bin/true"]}, [null] * 3)
    s.close()
    assert m["result"]["exit_status"] == 0, m
    ts.append((time.perf_counter() - t) * 1000)
ts.sort()
print("workspace.exec /bin/true: median %.2f ms, best %.2f ms, p90 %.2f ms over %d runs"
      % (ts[n // 2], ts[0], ts[int(n * 0.9)], n))
PY
