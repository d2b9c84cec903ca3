#!/usr/bin/env bash
# Port proxy benchmark (SPEC §8: a request through a published port adds
# <= 0.5 ms; proxy throughput >= 80 % of a direct connection).
#
# Runs build/enclave-bench-proxy, which builds the real stack (bridge,
# veth, nftables firewall, port proxy) in a private network namespace of
# its own and measures, side by side in the same run:
#   - latency of an HTTP-sized request on a fresh connection, through
#     127.0.0.1:HOST vs straight to WS_IP:PORT (median/p90/p99);
#   - throughput of an upload and a download of MIB MiB, through the proxy
#     vs direct.
# Nothing on the host is touched; the namespace dies with the process.
#
# Each run is made twice: with the host's default TCP congestion control
# for the client and servers, and with CUBIC (the kernel's default). A
# host that made BBR its default paces the client's or server's leg.
#
# Usage: sudo bench/port-proxy.sh [REQUESTS] [MIB] [RUNS]
#        (defaults: 5000 requests, 1024 MiB, 3 runs)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
requests=${1:-5000}
mib=${2:-1024}
runs=${3:-3}

[ "$(id -u)" -eq 0 ] || { echo "port-proxy.sh: needs root" >&2; exit 1; }
[ -x "$BUILD/enclave-bench-proxy" ] || make -s "$BUILD/enclave-bench-proxy"

echo "# $(date -u +%FT%TZ) $(uname -r), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$runs"); do
        echo "## run $i"
        "$BUILD/enclave-bench-proxy" "$requests" "$mib"
        "$BUILD/enclave-bench-proxy" "$requests" "$mib" cubic
done
