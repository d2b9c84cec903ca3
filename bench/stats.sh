#!/usr/bin/env bash
# `enclave stats --no-stream` across N running workspaces (SPEC §8:
# stats <= 20 ms; the reference implementation's `workspace stats` of ONE
# workspace took 204 ms), against a daemon of its own, in one hyperfine run
# with the CLI's own floor beside it:
#
#   enclave stats --no-stream           every running workspace   (target <= 20 ms)
#   enclave workspace stats sb ws0      one workspace
#   enclave ping                        a round trip with no work
#   enclave --version                   the CLI's start-up only
#
#   sudo bench/stats.sh [RUNS] [WORKSPACES]   (defaults 200, 10; needs hyperfine, busybox, python3)
#
# The daemon side alone (daemon.stats's own elapsed_ms, no CLI start-up,
# no socket) is printed at the end.
set -eu
runs=${1:-200}
n_ws=${2:-10}
cd "$(dirname "$0")/.."
BENCH_NEEDS="hyperfine busybox python3" BENCH_WS_SETUP=1
. bench/daemon-lib.sh
E="$ENCLAVE --config $ENC_CONFIG --socket $ENC_SOCK"
for i in $(seq 0 $((n_ws - 1))); do
        enc workspace create "$SB" "ws$i" --memory-mb 256 --run 'sleep 100000' >/dev/null
        enc workspace start "$SB" "ws$i" >/dev/null
done
rows=$(enc stats --no-stream | tail -n +2 | wc -l)
[ "$rows" -eq "$n_ws" ] || { echo "expected $n_ws rows, got $rows" >&2; exit 1; }

echo "## stats with $n_ws running workspaces (load: $(cut -d' ' -f1-3 /proc/loadavg))"
hyperfine -N --warmup 20 --runs "$runs" \
        -n "enclave stats --no-stream ($n_ws workspaces)" "$E stats --no-stream" \
        -n "enclave workspace stats (1 workspace)" "$E workspace stats $SB ws0" \
        -n "enclave ping" "$E ping" \
        -n "enclave --version (CLI start-up only)" "$E --version"

echo "## daemon side of daemon.stats ($n_ws workspaces; the action's own elapsed_ms)"
python3 - "$ENC_SOCK" 300 <<'PY'
import json, socket, struct, sys
sock, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_UNIX)
s.connect(sock)
ts = []
for i in range(n):
    body = json.dumps({"v": 1, "id": i, "action": "daemon.stats", "params": {}}).encode()
    s.sendall(struct.pack(">I", len(body)) + body)
    m = json.loads(s.recv(struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))[0], socket.MSG_WAITALL))
    ts.append(m["result"]["elapsed_ms"])
ts.sort()
print("daemon.stats: median %.3f ms, best %.3f ms, p90 %.3f ms over %d requests"
      % (ts[n // 2], ts[0], ts[int(n * 0.9)], n))
PY
