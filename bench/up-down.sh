#!/usr/bin/env bash
# `enclave up` and `enclave down` of 26 idle workspaces on an existing
# busybox sandbox (SPEC §8: targets <= 1 s / <= 0.5 s; the reference
# implementation documents 6.93 s / 4.20 s), whole CLI commands against
# a private daemon:
#   up    from all 26 stopped (sandbox stopped): one request, sandbox
#         made ready, 26 workspaces started with networking and cgroups
#   down  from all 26 running: one request, SIGTERM to all, one shared wait
# plus an unchanged re-up (everything already running: the plan is
# empty) for the "re-running up is fast" promise.
#
#   sudo bench/up-down.sh [RUNS]     (default 20; needs hyperfine, busybox, make)
set -eu
cd "$(dirname "$0")/.."
runs=${1:-20}
n=${UP_DOWN_WORKSPACES:-26}
[ "$(id -u)" -eq 0 ] || { echo "this benchmark needs root" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "hyperfine is required" >&2; exit 1; }
command -v busybox >/dev/null || { echo "busybox is required" >&2; exit 1; }
[ -x build/enclave ] && [ -x build/enclave-init ] || { echo "run make first" >&2; exit 1; }

# A private daemon world (socket, state dir, bridge, subnet), removed on exit.
set +u
. tests/integration/lib.sh
set -u
enc_setup
SB=bench$ENC_TAG
# Workspaces outlive the daemon: take them down before enc_teardown;
# should the daemon fail at that, end what is left in its cgroups.
on_exit "for f in /sys/fs/cgroup/pids/enclave-$ENC_BRIDGE/*/*/cgroup.procs; do xargs -r kill -9 <\$f; done; sleep 0.2; for c in /sys/fs/cgroup/*/enclave-$ENC_BRIDGE; do find \$c -depth -type d -exec rmdir {} +; done"
on_exit "enc destroy --force $SB"
enc daemon start >/dev/null
make_busybox_rootfs "$ENC_DIR/rootfs"
tar -C "$ENC_DIR/rootfs" -cf "$ENC_DIR/base.tar" .
enc rootfs import --base "$ENC_DIR/base.tar" >/dev/null 2>&1

PROJ=$ENC_DIR/proj
mkdir -p "$PROJ"
{
        printf '[sandbox]\nname = "%s"\nbootstrap_method = "cached_rootfs"\n' "$SB"
        for i in $(seq 1 "$n"); do printf '\n[workspace.w%02d]\n' "$i"; done
} >"$PROJ/Enclavefile"
cd "$PROJ"
E="$ENCLAVE --config $ENC_CONFIG --socket $ENC_SOCK -q"

# The sandbox and its workspaces exist before anything is timed.
$E up
$E down
echo "$n idle workspaces in sandbox $SB (busybox rootfs, cached_rootfs), $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"

hyperfine -N --warmup 2 --runs "$runs" --export-markdown "$ENC_DIR/up.md" \
        --prepare "$E down" -n "enclave up ($n workspaces, all stopped)" "$E up" \
        --prepare "$E up" -n "enclave down ($n workspaces, all running)" "$E down"
hyperfine -N --warmup 2 --runs "$runs" --export-markdown "$ENC_DIR/reup.md" \
        --prepare "$E up" -n "enclave up (unchanged, all running)" "$E up"
cat "$ENC_DIR/up.md" "$ENC_DIR/reup.md"
$E down
