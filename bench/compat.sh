#!/usr/bin/env bash
# Do real programs run unchanged in a workspace? CPython's regression
# suite (Debian's libpython3.11-testsuite) inside an Enclave workspace and
# under `bwrap --unshare-all` on the same rootfs, compared module by
# module and test by test; then a Node check (npm install from the npm
# registry, worker threads) and a Python thread check under
# memory_mb = 512. Results and their reasons: docs/compat.md.
#
#   sudo bench/compat.sh [all|python|node|report]      (default all; needs make, bwrap)
#
# Long-running (tens of minutes on 2 cores): run it in the background.
# The bench has a daemon of its own (own socket, state, bridge, subnet),
# whose state is kept in $ENCLAVE_COMPAT_CACHE (default
# /var/cache/enclave-compat, outside the clone): the sandbox made from
# the real bookworm rootfs with python3, the test suite, nodejs and npm
# installed by its setup command is made once and reused. Its rootfs
# comes from /var/cache/enclave-tests/bookworm.tar.zst when present (made
# by tests/run.sh itest-storage-debootstrap), else from debootstrap.
# Each run's results go to $ENCLAVE_COMPAT_OUT (default
# $ENCLAVE_COMPAT_CACHE/results/<time>): junit XML, console logs and
# report.txt. Network traffic: deb.debian.org (setup) and the npm
# registry (npm install), from the workspace through the bench's NAT.
# bwrap gets a bind-mounted /etc/hosts (the rootfs has none; Enclave
# writes one into the workspace), so the comparison is about the
# sandbox, not about the rootfs.
set -eu
cd "$(dirname "$0")/.."
what=${1:-all}
ROOT=$PWD
BUILD=${BUILD:-build}
ENCLAVE=${ENCLAVE_BIN:-$ROOT/$BUILD/enclave}
export ENCLAVE_INIT=${ENCLAVE_INIT:-$ROOT/$BUILD/enclave-init}
CACHE=${ENCLAVE_COMPAT_CACHE:-/var/cache/enclave-compat}
ARCHIVE=${ENCLAVE_COMPAT_ARCHIVE:-/var/cache/enclave-tests/bookworm.tar.zst}
OUT=${ENCLAVE_COMPAT_OUT:-$CACHE/results/$(date +%Y%m%d-%H%M%S)}
JOBS=${ENCLAVE_COMPAT_JOBS:-2}
TIMEOUT=${ENCLAVE_COMPAT_TIMEOUT:-1200}   # per test module, seconds
SB=compat
BRIDGE=enccompat0
SUBNET=10.246.251.0/24

[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
# A host behind a TLS-intercepting egress proxy trusts its CA through
# /usr/local/share/ca-certificates; the node workspace gets the same
# public certificates (in its workspace_dir, NODE_EXTRA_CA_CERTS), as a
# user there would hand them to any sandbox. Nothing else of the host.
CA_DIR=${ENCLAVE_COMPAT_CA_DIR:-/usr/local/share/ca-certificates}
command -v bwrap >/dev/null || { echo "bwrap is required (apt-get install bubblewrap)" >&2; exit 1; }
[ -x "$ENCLAVE" ] && [ -x "$ENCLAVE_INIT" ] || make -s
mkdir -p "$CACHE/run" "$CACHE/state" "$CACHE/project" "$CACHE/node-home" "$OUT"
node_env=
if ls "$CA_DIR"/*.crt >/dev/null 2>&1; then
        cat "$CA_DIR"/*.crt >"$CACHE/node-home/.host-ca.crt"
        node_env='env = { NODE_EXTRA_CA_CERTS = "/home/.host-ca.crt" }'
fi
chmod 755 "$CACHE"
CONFIG=$CACHE/config.toml
SOCK=$CACHE/run/enclave.sock
cat >"$CONFIG" <<CONF
socket = "$SOCK"
pid_file = "$CACHE/run/enclave.pid"
state_dir = "$CACHE/state"
bridge = "$BRIDGE"
subnet = "$SUBNET"
wait_secs = 30
CONF
enc() { "$ENCLAVE" --config "$CONFIG" --socket "$SOCK" "$@"; }

cleanup() {
        set +e
        # Workspaces are made anew each run (their host id blocks are
        # leased host-wide only while they exist); the sandbox stays.
        enc -q workspace destroy "$SB" py >/dev/null 2>&1
        enc -q workspace destroy "$SB" node >/dev/null 2>&1
        enc -q daemon stop >/dev/null 2>&1
        # The sandbox's cgroups, named after the bridge, in every hierarchy.
        local d
        for d in /sys/fs/cgroup/*/enclave-$BRIDGE /sys/fs/cgroup/enclave-$BRIDGE; do
                [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
        done
        ip link del "$BRIDGE" 2>/dev/null
        nft delete table inet "$BRIDGE" 2>/dev/null
        nft delete table ip "$BRIDGE" 2>/dev/null
        nft delete table bridge "$BRIDGE" 2>/dev/null
        return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the sandbox: bookworm + python3 tests + node, made once ----
method=debootstrap
if [ -r "$ARCHIVE" ] && [ ! -d "$CACHE/state/sandboxes/rootfs-cache/bookworm" ]; then
        enc daemon start
        enc rootfs import --suite bookworm "$ARCHIVE"
fi
[ -d "$CACHE/state/sandboxes/rootfs-cache/bookworm" ] && method=cached_rootfs
cat >"$CACHE/project/Enclavefile" <<EOF
[sandbox]
name = "$SB"
suite = "bookworm"
bootstrap_method = "$method"
setup = ["""
set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3 libpython3.11-testsuite netbase nodejs npm ca-certificates
"""]

[workspace.py]
memory_mb = 8192

[workspace.node]
memory_mb = 512
workspace_dir = "$CACHE/node-home"
$node_env
EOF
enc -q workspace destroy "$SB" py >/dev/null 2>&1 || true
enc -q workspace destroy "$SB" node >/dev/null 2>&1 || true
(cd "$CACHE/project" && enc up)
ROOTFS=$CACHE/state/sandboxes/$SB/rootfs
echo "rootfs: $ROOTFS ($(chroot "$ROOTFS" python3 --version), node $(chroot "$ROOTFS" node --version))"
echo "results: $OUT"

# ---- CPython's regression suite, twice ----
REGRTEST="python3 -m test -j$JOBS --timeout $TIMEOUT --junit-xml"

run_python() {
        echo "== CPython regrtest in an Enclave workspace ($(date +%T))"
        enc workspace exec "$SB" py -- sh -c "rm -rf /home/regrtest && mkdir /home/regrtest && cd /home/regrtest && $REGRTEST /home/regrtest/junit.xml" \
                </dev/null >"$OUT/enclave.log" 2>&1 || true
        enc workspace exec "$SB" py -- cat /home/regrtest/junit.xml </dev/null >"$OUT/enclave.xml" 2>/dev/null || true
        tail -3 "$OUT/enclave.log"

        echo "== CPython regrtest under bwrap --unshare-all ($(date +%T))"
        # The /etc/hosts every container runtime writes (the rootfs has
        # none), so that what differs is Enclave, not a missing file.
        local home=$OUT/bwrap-home
        mkdir -p "$home"
        printf '127.0.0.1\tlocalhost\n127.0.1.1\tbwrap\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$OUT/bwrap-hosts"
        bwrap --unshare-all --die-with-parent --ro-bind "$ROOTFS" / --proc /proc --dev /dev \
                --ro-bind "$OUT/bwrap-hosts" /etc/hosts \
                --tmpfs /tmp --tmpfs /run --bind "$home" /home --chdir /home --hostname bwrap \
                --setenv HOME /home --setenv PATH /usr/local/bin:/usr/bin:/bin \
                sh -c "$REGRTEST /home/junit.xml" </dev/null >"$OUT/bwrap.log" 2>&1 || true
        cp "$home/junit.xml" "$OUT/bwrap.xml" 2>/dev/null || true
        rm -rf "$home"
        tail -3 "$OUT/bwrap.log"
}

report_python() {
        python3 "$ROOT/bench/compat-report.py" "$OUT/enclave.log" "$OUT/enclave.xml" "$OUT/bwrap.log" "$OUT/bwrap.xml" \
                | tee "$OUT/report.txt"
}

# ---- Node and Python threads under memory_mb = 512 ----
run_node() {
        echo "== Node and threads under memory_mb = 512 ($(date +%T))"
        local ws=node
        check() {
                local name=$1; shift
                local out
                if out=$(enc workspace exec "$SB" $ws -- sh -c "$*" </dev/null 2>&1); then
                        echo "ok    $name: $(printf '%s' "$out" | tail -1)"
                else
                        echo "FAIL  $name: $(printf '%s' "$out" | tail -3 | tr '\n' ' ')"
                fi
        }
        {
                check "npm --version" npm --version
                check "npm install (express, 60+ packages)" \
                        'rm -rf /home/app && mkdir /home/app && cd /home/app && npm init -y >/dev/null && npm install --no-audit --no-fund express >/dev/null && node -e "require(\"express\"); console.log(require(\"fs\").readdirSync(\"node_modules\").length + \" packages\")"'
                check "node: 8 worker threads" \
                        'node -e "const {Worker}=require(\"worker_threads\"); let n=0; for (let i=0;i<8;i++) new Worker(\"require(\\\"worker_threads\\\").parentPort.postMessage(1)\",{eval:true}).on(\"message\",()=>{ if(++n==8) console.log(\"8 workers answered\") })"'
                check "python: 64 threads" \
                        'python3 -c "import threading; t=[threading.Thread(target=sum, args=([1],)) for _ in range(64)]; [x.start() for x in t]; [x.join() for x in t]; print(len(t), \"threads\")"'
                check "the cgroup memory limit is visible" \
                        'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes'
                check "getent hosts localhost" 'getent hosts localhost | head -1'
        } | tee "$OUT/node.txt"
}

case $what in
        all) run_python; report_python; run_node ;;
        python) run_python; report_python ;;
        node) run_node ;;
        report) report_python ;;
        *) echo "usage: $0 [all|python|node|report]" >&2; exit 2 ;;
esac
