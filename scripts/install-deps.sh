#!/bin/sh
# Install Enclave's build and runtime dependencies.
#   --if-missing   do nothing when every package is already installed
# Debian/Ubuntu (apt) is automatic. Equivalents elsewhere:
#   Fedora: dnf install gcc make pkgconf clang compiler-rt sqlite-devel jansson-devel
#           libseccomp-devel libmnl-devel nftables-devel libarchive-devel libcurl-devel
#           glibc-static debootstrap iproute nftables iptables util-linux e2fsprogs busybox
#   Arch:   pacman -S base-devel clang compiler-rt sqlite jansson libseccomp libmnl nftables
#           libarchive curl debootstrap iproute2 iptables util-linux e2fsprogs busybox
set -eu

BUILD_PKGS="build-essential pkg-config clang libclang-rt-14-dev libsqlite3-dev libjansson-dev
libseccomp-dev libmnl-dev libnftables-dev libarchive-dev libcurl4-openssl-dev"
RUNTIME_PKGS="debootstrap iproute2 nftables iptables util-linux e2fsprogs"
TEST_PKGS="busybox-static python3 hyperfine bubblewrap zstd bash-completion zsh fish"
PKGS=$(echo $BUILD_PKGS $RUNTIME_PKGS $TEST_PKGS)

if ! command -v apt-get >/dev/null 2>&1; then
        echo "install-deps: no apt-get here; install the equivalents listed at the top of $0" >&2
        [ "${1:-}" = "--if-missing" ] && exit 0
        exit 1
fi

missing=""
for p in $PKGS; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
        [ "${1:-}" = "--if-missing" ] || echo "install-deps: all packages present"
        exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps: missing packages:$missing; run as root (sudo) to install them" >&2
        exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q $missing
