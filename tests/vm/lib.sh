# Shared by the VM bench scripts (sourced).
#   ENCLAVE_VM_CACHE  where images and kernels are kept (default
#                     /var/cache/enclave-vm, outside any clone)
#   ENCLAVE_VM_MIRROR Debian mirror (default http://deb.debian.org/debian)
set -euo pipefail

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_CACHE=${ENCLAVE_VM_CACHE:-/var/cache/enclave-vm}
VM_MIRROR=${ENCLAVE_VM_MIRROR:-http://deb.debian.org/debian}
VM_SECURITY_MIRROR=${ENCLAVE_VM_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

vm_log() { echo "vm: $*" >&2; }
vm_die() { echo "vm: error: $*" >&2; exit 1; }

# The host tools the bench needs, installed when missing (as root).
vm_need_host_tools() {
        local missing="" p
        for p in qemu-system-x86 debootstrap e2fsprogs busybox-static cpio kmod xz-utils zstd; do
                dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
        done
        [ -z "$missing" ] && return 0
        [ "$(id -u)" -eq 0 ] || vm_die "missing host packages:$missing (install them as root)"
        vm_log "installing$missing"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >&2 ||
                { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >&2; }
}

# vm_lock NAME: hold an exclusive lock on the cache for this shell, so
# two runs never build the same thing at once.
vm_lock() {
        mkdir -p "$VM_CACHE"
        exec {VM_LOCK_FD}>"$VM_CACHE/$1.lock"
        flock "$VM_LOCK_FD"
}
vm_unlock() { flock -u "$VM_LOCK_FD"; }

# Content hash of files (cache keys).
vm_hash() { cat "$@" | sha256sum | cut -c1-16; }
