#!/usr/bin/env bash
# `create --bootstrap-method cached_rootfs` copies a cached rootfs: the
# library's tree copy against `cp -a` on the same Debian bookworm minbase
# tree, in one hyperfine run (warm page cache, same file system).
#
#   sudo bench/rootfs-copy.sh [RUNS]     (default 10; needs hyperfine, make)
#
# The tree comes from /var/cache/enclave-tests/bookworm.tar.zst, which
# the debootstrap integration test leaves behind
# (tests/run.sh itest-storage-debootstrap), or from ENCLAVE_BENCH_ROOTFS.
set -eu
cd "$(dirname "$0")/.."
runs=${1:-10}
TOOL=${TOOL:-$PWD/build/enclave-bench-storage}
ARCHIVE=${ENCLAVE_BENCH_ARCHIVE:-/var/cache/enclave-tests/bookworm.tar.zst}
[ "$(id -u)" -eq 0 ] || { echo "run as root (ownership and xattrs are copied)" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "hyperfine is required" >&2; exit 1; }
[ -x "$TOOL" ] || make -s "build/enclave-bench-storage"
dir=$(mktemp -d /tmp/enctest-bench-rootfs.XXXXXX)
trap 'rm -rf "$dir"' EXIT
src=${ENCLAVE_BENCH_ROOTFS:-}
if [ -z "$src" ]; then
        [ -r "$ARCHIVE" ] || { echo "no $ARCHIVE: run tests/run.sh itest-storage-debootstrap first" >&2; exit 1; }
        src=$dir/src
        "$TOOL" import "$ARCHIVE" "$src"
fi
echo "source: $src ($(du -sh "$src" | cut -f1), $(find "$src" | wc -l) entries, file system $(stat -f -c %T "$dir"))"
hyperfine --warmup 1 --runs "$runs" --prepare "rm -rf $dir/dst" \
        -n "enclave tree_copy" "$TOOL copy $src $dir/dst" \
        -n "cp -a" "cp -a $src $dir/dst"
