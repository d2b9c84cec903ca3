#!/usr/bin/env bash
# Build (once) the Debian 12 guest image of the VM bench and print its
# path. The image is a plain ext4 file made from a debootstrap tree with
# `mkfs.ext4 -d` (no loop mount): systemd, AppArmor, the libraries the
# host-built binaries link against and the tools the tests call. It has
# no kernel: kernel.sh fetches those, so one image boots them all.
# It is cached in $ENCLAVE_VM_CACHE under a hash of this file, so a
# change here builds a new one and everything else reuses it.
. "$(dirname "$0")/lib.sh"

SUITE=bookworm
PACKAGES="systemd systemd-sysv udev dbus kmod procps apparmor
iproute2 nftables iptables util-linux bsdextrautils e2fsprogs xz-utils zstd file
busybox-static python3 sqlite3 curl jq iputils-ping netcat-openbsd debootstrap
libsqlite3-0 libjansson4 libseccomp2 libmnl0 libnftables1 libarchive13 libcurl4"

key=$(vm_hash "$VM_DIR/image.sh")
img=$VM_CACHE/image-$SUITE-$key.raw
if [ -f "$img" ]; then echo "$img"; exit 0; fi

vm_need_host_tools
vm_lock image
if [ -f "$img" ]; then echo "$img"; exit 0; fi

tree=$(mktemp -d "$VM_CACHE/tree.XXXXXX")
trap 'rm -rf "$tree" "$img.tmp"' EXIT
start=$SECONDS
vm_log "debootstrap $SUITE into $tree (a few minutes)"
debootstrap --variant=minbase --include="$(echo $PACKAGES | tr ' ' ',')" "$SUITE" "$tree" "$VM_MIRROR" \
        >"$VM_CACHE/debootstrap.log" 2>&1 || vm_die "debootstrap failed, see $VM_CACHE/debootstrap.log"

# The guest: root on /dev/vda, a root login on the console for
# debugging, and one service that runs the test command at boot.
echo enclave-vm >"$tree/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 enclave-vm\n::1 localhost ip6-localhost\n' >"$tree/etc/hosts"
echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' >"$tree/etc/fstab"
chroot "$tree" passwd -d root >/dev/null
for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \
        man-db.timer dpkg-db-backup.timer getty@tty1.service systemd-networkd-wait-online.service; do
        ln -sf /dev/null "$tree/etc/systemd/system/$u"
done
cat >"$tree/etc/systemd/system/enclave-vm.service" <<'UNIT'
[Unit]
Description=Enclave VM bench: run the test command from the host
After=local-fs.target apparmor.service systemd-modules-load.service
Wants=apparmor.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/enclave-vm-run
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/enclave-vm.service "$tree/etc/systemd/system/multi-user.target.wants/enclave-vm.service"
# The runner only mounts the shares and hands over to tests/vm/guest.sh
# of the shared tree, so changing what the guest does needs no new image.
cat >"$tree/usr/local/sbin/enclave-vm-run" <<'RUN'
#!/bin/sh
modprobe -q 9pnet_virtio; modprobe -q 9p
mkdir -p /mnt/src /mnt/out
opts=trans=virtio,version=9p2000.L,msize=262144
if mount -t 9p -o $opts out /mnt/out && mount -t 9p -o $opts,ro src /mnt/src; then
        bash /mnt/src/tests/vm/guest.sh /mnt/src /mnt/out
else
        echo "enclave-vm-run: cannot mount the 9p shares" >/dev/console
fi
sync
systemctl poweroff --force
RUN
chmod 755 "$tree/usr/local/sbin/enclave-vm-run"
# Root needs a subordinate id range, as on a configured host.
echo 'root:1073741824:67108864' >>"$tree/etc/subuid"
echo 'root:1073741824:67108864' >>"$tree/etc/subgid"
rm -rf "$tree"/var/cache/apt/archives/*.deb "$tree"/var/lib/apt/lists/*

vm_log "making the ext4 image"
mkfs.ext4 -q -F -L enclave-root -d "$tree" "$img.tmp" 6G
mv "$img.tmp" "$img"
for old in "$VM_CACHE"/image-$SUITE-*.raw; do [ "$old" = "$img" ] || rm -f "$old"; done
vm_log "image ready in $((SECONDS - start)) s: $img"
echo "$img"
