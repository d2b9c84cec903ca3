#!/usr/bin/env bash
# Fetch (once) Debian's own kernel for a suite and prepare it for the VM
# bench; prints the directory holding vmlinuz, initrd.img (a busybox
# initramfs that loads virtio and ext4 and mounts the root disk) and
# modules.img (an ext4 disk with /lib/modules/<version> for the guest).
#   kernel.sh [SUITE]    bookworm (default, 6.1), bookworm-backports,
#                        trixie, bullseye (5.10), ...
# The package comes from the Debian mirror through apt with a private
# state directory, so the host's own apt configuration is never touched.
# Cached in $ENCLAVE_VM_CACHE/kernels/SUITE; ENCLAVE_VM_REFRESH=1 looks
# for a newer kernel.
. "$(dirname "$0")/lib.sh"

suite=${1:-bookworm}
case $suite in *[!a-z-]*|"") vm_die "bad suite name '$suite'" ;; esac
kdir=$VM_CACHE/kernels/$suite
key=$(vm_hash "$VM_DIR/kernel.sh")
if [ -f "$kdir/ready" ] && [ "$(cat "$kdir/ready")" = "$key" ] && [ -z "${ENCLAVE_VM_REFRESH:-}" ]; then
        echo "$kdir"; exit 0
fi
vm_need_host_tools
vm_lock "kernel-$suite"

# A private apt for this suite alone (and its security updates), so the
# candidate is that suite's kernel whatever pins backports have.
apt_dir=$VM_CACHE/apt/$suite
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$apt_dir/cache"
: >"$apt_dir/status"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
{
        echo "deb [signed-by=$keyring] $VM_MIRROR $suite main"
        case $suite in
        *-backports|sid|unstable|experimental) ;;
        *) echo "deb [signed-by=$keyring] $VM_SECURITY_MIRROR $suite-security main" ;;
        esac
} >"$apt_dir/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=/nonexistent"
        -o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=/nonexistent"
        -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::State::Status=$apt_dir/status"
        -o "Dir::Cache=$apt_dir/cache" -o "Dir::Cache::Archives=$apt_dir/archives"
        -o "APT::Architecture=amd64" -o "Debug::NoLocking=1" -o "Acquire::Languages=none")
vm_log "looking up linux-image-amd64 in $suite"
apt-get "${apt_opts[@]}" -q update >"$apt_dir/update.log" 2>&1 || vm_die "apt update for $suite failed (see $apt_dir/update.log)"
pkg=$(apt-cache "${apt_opts[@]}" depends linux-image-amd64 2>/dev/null |
        awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$pkg" ] || vm_die "no linux-image-amd64 in $suite"

work=$(mktemp -d "$VM_CACHE/kernel.XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get "${apt_opts[@]}" -q download "$pkg" >/dev/null 2>&1) || vm_die "downloading $pkg failed"
dpkg-deb -x "$work"/*.deb "$work/pkg"
vmlinuz=$(ls "$work"/pkg/boot/vmlinuz-* | head -n 1)
kver=${vmlinuz##*/vmlinuz-}
mods=$work/pkg/lib/modules/$kver
[ -d "$mods" ] || mods=$work/pkg/usr/lib/modules/$kver
[ -d "$mods" ] || vm_die "$pkg has no modules directory"
mkdir -p "$work/root/lib/modules"
mv "$mods" "$work/root/lib/modules/$kver"
depmod -b "$work/root" "$kver"
mods=$work/root/lib/modules/$kver

# The initramfs: busybox, the modules the root disk needs (with their
# dependencies, in load order, decompressed for busybox's insmod).
ird=$work/initrd
mkdir -p "$ird"/{bin,dev,proc,sys,newroot,mods}
cp /bin/busybox "$ird/bin/busybox"
mknod -m 600 "$ird/dev/console" c 5 1
declare -A loaded=()
order=()
dep_line() { awk -v m="$1" -F: '{ n = $1; sub(/.*\//, "", n); sub(/\.ko.*/, "", n); gsub(/-/, "_", n) } n == m { print; exit }' "$mods/modules.dep"; }
add_module() {
        local name=${1//-/_} line path deps d
        [ -n "${loaded[$name]:-}" ] && return 0
        loaded[$name]=1
        line=$(dep_line "$name")
        if [ -z "$line" ]; then
                grep -q "/$1.ko\$\|/${1//_/-}.ko\$" "$mods/modules.builtin" 2>/dev/null || vm_log "warning: module $1 not found in $kver"
                return 0
        fi
        path=${line%%:*}; deps=${line#*:}
        for d in $deps; do d=${d##*/}; add_module "${d%%.ko*}"; done
        local base=${path##*/}
        case $base in
        *.ko.xz) xz -dc "$mods/$path" >"$ird/mods/${base%.xz}" ;;
        *.ko.zst) zstd -qdc "$mods/$path" >"$ird/mods/${base%.zst}" ;;
        *.ko.gz) gzip -dc "$mods/$path" >"$ird/mods/${base%.gz}" ;;
        *) cp "$mods/$path" "$ird/mods/$base" ;;
        esac
        order+=("${base%%.ko*}.ko")
}
for m in virtio_pci virtio_blk crc32c_generic ext4; do add_module "$m"; done
printf '%s\n' "${order[@]}" >"$ird/modules.order"
cat >"$ird/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules.order); do insmod /mods/$m 2>/dev/null; done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
if ! mount -t ext4 -o rw /dev/vda /newroot; then
        echo "initramfs: cannot mount the root disk /dev/vda"; poweroff -f
fi
# The kernel's modules come on a second disk.
mkdir -p /newroot/lib/modules
[ -b /dev/vdb ] && mount -t ext4 -o ro /dev/vdb /newroot/lib/modules
umount /proc /sys
umount /dev 2>/dev/null
exec switch_root /newroot /sbin/init
INIT
chmod 755 "$ird/init"
(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.img"

mkfs.ext4 -q -F -L enclave-mods -d "$work/root/lib/modules" "$work/modules.img" \
        $(( $(du -sm "$work/root/lib/modules" | cut -f1) * 13 / 10 + 64 ))M

rm -rf "$kdir"
mkdir -p "$kdir"
mv "$vmlinuz" "$kdir/vmlinuz"
mv "$work/initrd.img" "$work/modules.img" "$kdir/"
echo "$kver" >"$kdir/version"
echo "$pkg" >"$kdir/package"
echo "$key" >"$kdir/ready"
vm_log "kernel $kver ($pkg) ready in $kdir"
echo "$kdir"
