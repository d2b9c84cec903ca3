# Shared by bench/workspace-*.sh: a scratch dir with a busybox rootfs,
# removed (with every workspace started in it) on exit.
#   bench_setup            sets BENCH_DIR, BENCH_ROOTFS, TOOL
#   bench_start NAME BASE  starts a workspace, sets WS_PID and WS_START
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
TOOL=$BUILD/enclave-bench-runtime
export ENCLAVE_INIT=${ENCLAVE_INIT:-$PWD/$BUILD/enclave-init}
_bench_ws=()

bench_cleanup() {
        local w
        for w in "${_bench_ws[@]}"; do "$TOOL" stop $w 100 >/dev/null 2>&1 || true; done
        [ -n "${BENCH_DIR:-}" ] && rm -rf "$BENCH_DIR"
}

bench_setup() {
        [ "$(id -u)" -eq 0 ] || { echo "workspace benchmarks need root" >&2; exit 1; }
        command -v hyperfine >/dev/null || { echo "hyperfine is required" >&2; exit 1; }
        [ -x "$TOOL" ] && [ -x "$ENCLAVE_INIT" ] || { echo "$TOOL or $ENCLAVE_INIT not built (run make)" >&2; exit 1; }
        BENCH_DIR=$(mktemp -d /tmp/enctest-bench-ws.XXXXXX)
        chmod 755 "$BENCH_DIR"
        trap bench_cleanup EXIT
        trap 'exit 130' INT TERM
        BENCH_ROOTFS=$BENCH_DIR/rootfs
        # As make_busybox_rootfs in tests/integration/lib.sh, without the
        # "busybox -> busybox" self-link that busybox --list would add.
        local d=$BENCH_ROOTFS bb a
        bb=$(command -v busybox)
        mkdir -p "$d"/{bin,sbin,etc,proc,sys,dev,tmp,home,root,run,usr/bin,usr/sbin,var}
        cp "$bb" "$d/bin/busybox"
        for a in $("$d/bin/busybox" --list); do
                [ "$a" = busybox ] || ln -sf busybox "$d/bin/$a"
        done
        echo 'root:x:0:0:root:/root:/bin/sh' >"$d/etc/passwd"
        echo 'root:x:0:' >"$d/etc/group"
        chmod 1777 "$d/tmp"
}

# Host id blocks far from anything real (no /etc/subuid change needed).
bench_start() {
        local out
        out=$("$TOOL" start "$BENCH_ROOTFS" "$BENCH_DIR/ws-$1" "$1" "$2")
        WS_PID=${out% *}
        WS_START=${out#* }
        _bench_ws+=("$WS_PID $WS_START")
}
