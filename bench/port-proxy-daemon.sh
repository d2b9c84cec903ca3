#!/usr/bin/env bash
# Published port through the real daemon (SPEC §8: a request through a
# published port adds <= 0.5 ms; throughput >= 80 % of direct).
#
# Starts a private daemon (own state dir, socket, bridge, subnet), one
# busybox workspace running httpd on port 7000 with a small page and a
# MIB MiB file, published as 127.0.0.1:HOST, and measures side by side
# in the same run with curl (one process, URL globbing, a fresh TCP
# connection per request: "Connection: close"):
#   - per-request time of REQUESTS small GETs: through 127.0.0.1:HOST vs
#     straight to WS_IP:7000 (median / p90 / p99 in ms);
#   - download speed of the big file: through the proxy vs direct.
# bench/port-proxy.sh measures the proxy library alone (C client).
#
# Usage: sudo bench/port-proxy-daemon.sh [REQUESTS] [MIB]   (defaults 2000, 256)
set -u
cd "$(dirname "$0")/.."
requests=${1:-2000}
mib=${2:-256}
[ "$(id -u)" -eq 0 ] || { echo "port-proxy-daemon.sh: needs root" >&2; exit 1; }
for t in curl busybox jq; do command -v $t >/dev/null || { echo "$t is required" >&2; exit 1; }; done
[ -x build/enclave ] || make -s build/enclave build/enclave-init
export ENCLAVE_INIT=${ENCLAVE_INIT:-$PWD/build/enclave-init}
. tests/integration/lib.sh
enc_setup
# Workspaces outlive their daemon: destroy them before enc_setup's
# teardown stops it, on every exit path.
on_exit "enc workspace destroy sb web; enc destroy sb --force"
set -e

make_busybox_rootfs "$ENC_DIR/rootfs"
tar -C "$ENC_DIR/rootfs" -cf "$ENC_DIR/base.tar" .
enc -q daemon start
enc -q rootfs import --base "$ENC_DIR/base.tar" >/dev/null
enc -q create sb --bootstrap-method cached_rootfs >/dev/null
host_port=$(( 40000 + $$ % 20000 ))
enc -q workspace create sb web --port "127.0.0.1:$host_port:7000" \
        --run "mkdir -p /tmp/w && echo hello > /tmp/w/index.html && dd if=/dev/zero of=/tmp/w/big bs=1M count=$mib 2>/dev/null && exec httpd -f -p 7000 -h /tmp/w"
enc -q workspace start sb web
ip=$(enc --json workspace port list sb web | jq -r .ip)
set +e
# Wait until httpd serves the whole file (dd runs first).
for _ in $(seq 200); do
        [ "$(curl -s -o /dev/null -w '%{size_download}' "http://$ip:7000/big")" -ge $((mib * 1048576)) ] && break
        sleep 0.1
done

# Per-request times of N fresh connections, one curl process.
times() {
        curl -s -o /dev/null -H 'Connection: close' -w '%{time_total}\n' "$1/index.html?[1-$requests]" |
                sort -n | awk '{ a[NR] = $1 * 1000 } END { printf "median %.3f ms  p90 %.3f ms  p99 %.3f ms  (%d requests)\n", a[int(NR * 0.5) + 1], a[int(NR * 0.9) + 1], a[int(NR * 0.99) + 1], NR }'
}
speed() {
        curl -s -o /dev/null -w '%{speed_download}\n' "$1/big" | awk '{ printf "%.0f MiB/s\n", $1 / 1048576 }'
}

echo "# $(date -u +%FT%TZ) $(uname -r), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# workspace web at $ip, published as 127.0.0.1:$host_port; $mib MiB file"
curl -s -o /dev/null "http://$ip:7000/index.html"; curl -s -o /dev/null "http://127.0.0.1:$host_port/index.html"
echo "direct   WS_IP:7000      $(times "http://$ip:7000")"
echo "proxied  127.0.0.1:HOST  $(times "http://127.0.0.1:$host_port")"
for i in 1 2 3; do
        echo "download run $i: direct $(speed "http://$ip:7000"), proxied $(speed "http://127.0.0.1:$host_port")"
done
enc --json workspace port list sb web | jq -c '.ports[] | {host_port, active, connections, accepted}'
enc workspace destroy sb web
enc -q destroy sb
enc -q daemon stop
