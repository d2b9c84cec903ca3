#!/usr/bin/env bash
# `rootfs export` and `rootfs import` of a Debian bookworm minbase tree:
# the library against GNU tar with the same content (numeric owners,
# xattrs), in one hyperfine run per direction (warm page cache).
#
#   sudo bench/rootfs-archive.sh [RUNS]     (default 5; needs hyperfine, zstd, make)
#
# The tree comes from /var/cache/enclave-tests/bookworm.tar.zst (left
# by tests/run.sh itest-storage-debootstrap) or ENCLAVE_BENCH_ROOTFS.
set -eu
cd "$(dirname "$0")/.."
runs=${1:-5}
TOOL=${TOOL:-$PWD/build/enclave-bench-storage}
ARCHIVE=${ENCLAVE_BENCH_ARCHIVE:-/var/cache/enclave-tests/bookworm.tar.zst}
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "hyperfine is required" >&2; exit 1; }
[ -x "$TOOL" ] || make -s "build/enclave-bench-storage"
dir=$(mktemp -d /tmp/enctest-bench-archive.XXXXXX)
trap 'rm -rf "$dir"' EXIT
src=${ENCLAVE_BENCH_ROOTFS:-}
if [ -z "$src" ]; then
        [ -r "$ARCHIVE" ] || { echo "no $ARCHIVE: run tests/run.sh itest-storage-debootstrap first" >&2; exit 1; }
        src=$dir/src
        "$TOOL" import "$ARCHIVE" "$src"
fi
echo "source: $src ($(du -sh "$src" | cut -f1), $(find "$src" | wc -l) entries)"
tar_flags="--xattrs --xattrs-include=* --numeric-owner --acls"
hyperfine --warmup 1 --runs "$runs" --prepare "rm -f $dir/out.tar.zst $dir/out.tar" \
        -n "enclave export .tar.zst" "$TOOL export $src $dir/out.tar.zst" \
        -n "tar --zstd -c" "tar -C $src $tar_flags --zstd -cf $dir/out.tar.zst ." \
        -n "enclave export .tar" "$TOOL export $src $dir/out.tar" \
        -n "tar -c" "tar -C $src $tar_flags -cf $dir/out.tar ."
"$TOOL" export "$src" "$dir/in.tar.zst"
echo "archive: $(du -h "$dir/in.tar.zst" | cut -f1)"
hyperfine --warmup 1 --runs "$runs" --prepare "rm -rf $dir/dst" \
        -n "enclave import .tar.zst" "$TOOL import $dir/in.tar.zst $dir/dst" \
        -n "tar --zstd -x" "mkdir $dir/dst && tar -C $dir/dst $tar_flags --zstd -xpf $dir/in.tar.zst"
