#!/bin/sh
# Install a built package where it can do no harm and run enclave doctor:
#   pkg/deb/test-install.sh enclave_VERSION_ARCH.deb [ROOTFS.tar[.zst]]
# The rootfs (a Debian bookworm tree, by default the test suite's cached
# debootstrap) is unpacked into a scratch directory; apt installs the
# package and its dependencies there from Debian's mirror, in a mount
# namespace of its own. Then, in fresh mount, network and PID
# namespaces (so no bridge, rule or daemon of the host is touched), the
# daemon is started by the CLI with a config of its own and 'enclave
# doctor' runs. Last, the package is purged and what it made is checked
# gone. Needs root. Leaves nothing behind.
set -eu
DEB=$(realpath "$1")
TAR=${2:-/var/cache/enclave-tests/bookworm.tar.zst}
[ "$(id -u)" -eq 0 ] || { echo "test-install: run as root" >&2; exit 1; }
[ -f "$TAR" ] || { echo "test-install: no rootfs tarball at $TAR (give one: a debootstrapped bookworm)" >&2; exit 1; }
D=$(mktemp -d /tmp/enclave-debtest.XXXXXX)
TAG=$(printf '%04x' $(( ($$ + $(date +%s)) % 65536 )))
cleanup() {
        for cg in /sys/fs/cgroup/*/enclave-encdeb$TAG /sys/fs/cgroup/unified/enclave-encdeb$TAG; do
                [ -d "$cg" ] && find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
        done
        rm -rf "$D"
}
trap cleanup EXIT INT TERM

echo "== unpacking $TAR into $D"
case $TAR in
*.zst) zstd -dc "$TAR" | tar -C "$D" -xf - ;;
*) tar -C "$D" -xf "$TAR" ;;
esac
cp "$DEB" "$D/tmp/enclave.deb"
cp /etc/resolv.conf "$D/etc/resolv.conf"

# chroot_run: a command in the tree, with /proc, /sys and /dev, in a
# mount namespace of its own (extra unshare flags first). The tree
# becomes the namespace's root with pivot_root, not chroot: the kernel
# refuses new user namespaces to a chrooted process, and the daemon
# makes one for every workspace.
chroot_run() {
        flags=$1; shift
        unshare --mount $flags --fork --propagation private sh -c '
                d=$1; shift
                mount --bind "$d" "$d"
                mount -t proc proc "$d/proc"
                mount --rbind /sys "$d/sys"
                mount --rbind /dev "$d/dev"
                mount -t tmpfs tmpfs "$d/run"
                mkdir -p "$d/.old-root"
                cd "$d" && pivot_root . .old-root && umount -l /.old-root && rmdir /.old-root
                exec "$@"' sh "$D" "$@"
}

echo "== apt-get install ./enclave.deb"
chroot_run "" env DEBIAN_FRONTEND=noninteractive apt-get -q update >/dev/null
chroot_run "" env DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends /tmp/enclave.deb
chroot_run "" dpkg -s enclave | grep -E '^(Status|Version):'
chroot_run "" getent group enclave

echo "== enclave doctor (own network and PID namespaces)"
mkdir -p "$D/etc/enclave"
cat >"$D/etc/enclave/config.toml" <<TOML
bridge = "encdeb$TAG"
subnet = "10.250.$(( 0x$TAG % 250 )).0/24"
TOML
# A busybox tree for a workspace, when the host has busybox-static.
if bb=$(command -v busybox); then
        mkdir -p "$D/tmp/bb/bin" "$D/tmp/bb/etc" "$D/tmp/bb/home" "$D/tmp/bb/tmp" "$D/tmp/bb/proc" "$D/tmp/bb/dev"
        cp "$bb" "$D/tmp/bb/bin/busybox"
        for a in sh echo cat hostname; do ln -s busybox "$D/tmp/bb/bin/$a"; done
        echo 'root:x:0:0:root:/root:/bin/sh' >"$D/tmp/bb/etc/passwd"
        tar -C "$D/tmp/bb" -cf "$D/tmp/bb.tar" .
fi
chroot_run "--net --pid" sh -c '
        set -e
        enclave version
        enclave doctor || { echo "== enclave doctor found problems (above)"; enclave daemon stop; exit 1; }
        if [ -f /tmp/bb.tar ]; then
                echo "== a workspace from the package"
                enclave -q rootfs import --base /tmp/bb.tar
                enclave -q create pkgtest --bootstrap-method cached_rootfs
                enclave -q workspace create pkgtest w
                enclave -q workspace start pkgtest w
                enclave workspace exec pkgtest w -- sh -c "echo hello from \$(hostname) in the package"
                enclave -q destroy --force pkgtest
        fi
        enclave daemon stop'

chroot_run "" sh -c 'ls /usr/share/man/man1/enclave*.1.gz | wc -l | sed "s/$/ man pages installed/"'
chroot_run "" sh -c 'test -f /usr/share/bash-completion/completions/enclave && echo "bash completion installed"'

echo "== dpkg --purge enclave"
chroot_run "" dpkg --purge enclave
if chroot_run "" getent group enclave >/dev/null; then
        echo "test-install: the enclave group is still there after purge" >&2
        exit 1
fi
[ ! -e "$D/usr/bin/enclave" ] || { echo "test-install: /usr/bin/enclave left after purge" >&2; exit 1; }
echo "== installed, ran and purged cleanly"
