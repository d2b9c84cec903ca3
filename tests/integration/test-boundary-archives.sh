#!/usr/bin/env bash
# docs/security.md, "Archives and root filesystems": a rootfs import
# leaves device nodes out and says how many (overlayfs's 0:0 whiteout
# stays), refuses an archive that expands beyond a cap or beyond the free
# space of the state dir's file system before writing it (a few KB of
# zstd must not become gigabytes), and every mount of a workspace except
# Enclave's own /dev is nodev (setup's: test-boundary-setup.sh).
#
# The state dir is a 256 MiB tmpfs of this test's own, so "the free space"
# is small and known.
. "$(dirname "$0")/lib.sh"
require_root
command -v busybox >/dev/null || skip_all "busybox is needed for a tiny rootfs"
command -v zstd >/dev/null || skip_all "zstd is needed to make the archives"
enc_setup
mount -t tmpfs -o size=256m,nr_inodes=20000,mode=0700 enctest-state "$ENC_STATE" || skip_all "cannot mount a tmpfs"
on_exit "umount -l '$ENC_STATE'"
if ! out=$(enc daemon start 2>&1); then
        echo "1..0 # SKIP the daemon does not start here: $out"
        exit 0
fi
on_exit "ENC_CONFIG=$ENC_CONFIG ENC_SOCK=$ENC_SOCK; enc -q workspace wipe --yes; enc -q wipe --yes; enc daemon stop"
A=$ENC_DIR/archives
mkdir -p "$A"

# ---- device nodes ----
python3 - "$A/nodes.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    def add(name, **kw):
        i = tarfile.TarInfo(name)
        for k, v in kw.items():
            setattr(i, k, v)
        t.addfile(i)
    add("bin", type=tarfile.DIRTYPE, mode=0o755)
    add("etc", type=tarfile.DIRTYPE, mode=0o755)
    add("dev", type=tarfile.DIRTYPE, mode=0o755)
    add("etc/mem", type=tarfile.CHRTYPE, devmajor=1, devminor=1, mode=0o666)
    add("etc/disk", type=tarfile.BLKTYPE, devmajor=8, devminor=0, mode=0o666)
    add("dev/null", type=tarfile.CHRTYPE, devmajor=1, devminor=3, mode=0o666)
    add("etc/whiteout", type=tarfile.CHRTYPE, devmajor=0, devminor=0, mode=0)
    add("etc/fifo", type=tarfile.FIFOTYPE, mode=0o644)
    f = tarfile.TarInfo("etc/hostname"); data = b"nodes\n"; f.size = len(data)
    t.addfile(f, io.BytesIO(data))
PY
out=$(enc rootfs import --base "$A/nodes.tar" 2>&1)
diag "$out"
contains "an archive with device nodes imports" "$out" "imported the base rootfs cache"
contains "and says how many device nodes it left out" "$out" "left out 3 device node(s)"
CACHE=$ENC_STATE/sandboxes/rootfs-cache/base
is "no block device is in the cache" "$(find "$CACHE" -type b | wc -l)" 0
is "the only character device is the 0:0 whiteout" "$(find "$CACHE" -type c -printf '%P\n')" "etc/whiteout"
[ "$(stat -c %t:%T "$CACHE/etc/whiteout" 2>/dev/null)" = 0:0 ] && tap_ok "and it is 0:0" || tap_fail "and it is 0:0"
ok "files and fifos are kept" test -f "$CACHE/etc/hostname" -a -p "$CACHE/etc/fifo"
is "the JSON says it too" "$(enc --json rootfs import --base --replace "$A/nodes.tar" | python3 -c 'import json,sys; print(json.load(sys.stdin)["skipped_devices"])')" 3

# ---- size: a few KB of zstd that expand beyond the disk ----
python3 - "$A/bomb.tar" <<'PY'
import sys, tarfile
class Zeros:
    def __init__(self, n): self.n = n
    def read(self, k=-1):
        k = self.n if k < 0 else min(k, self.n)
        self.n -= k
        return bytes(k)
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    i = tarfile.TarInfo("zeros"); i.size = 1 << 30
    t.addfile(i, Zeros(i.size))
PY
zstd -q -f --rm "$A/bomb.tar" -o "$A/bomb.tar.zst"
diag "bomb: $(stat -c %s "$A/bomb.tar.zst") bytes of zstd for 1 GiB"
out=$(enc rootfs import --suite bookworm "$A/bomb.tar.zst" 2>&1)
diag "$out"
contains "an archive expanding beyond the free space is refused" "$out" "expands to more than"
contains "naming why" "$out" "space left"
used=$(df -k --output=used "$ENC_STATE" | tail -1)
[ "$used" -lt $((32 * 1024)) ] && tap_ok "and it was refused before it filled the disk (${used} KiB used)" ||
        tap_fail "and it was refused before it filled the disk" "${used} KiB used"
ok "no bookworm cache was made" test ! -e "$ENC_STATE/sandboxes/rootfs-cache/bookworm"

# Inodes: more members than the file system has inodes left.
python3 - "$A/many.tar" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    for n in range(30000):
        t.addfile(tarfile.TarInfo("f%05d" % n))
PY
out=$(enc rootfs import --suite bullseye "$A/many.tar" 2>&1)
contains "more members than inodes left is refused" "$out" "members"
ok "no bullseye cache was made" test ! -e "$ENC_STATE/sandboxes/rootfs-cache/bullseye"

# Positive control: a real (small) rootfs fits and imports.
make_busybox_rootfs "$ENC_DIR/rootfs" || skip_all "cannot build a busybox rootfs"
tar -C "$ENC_DIR/rootfs" -cf - . | zstd -q -o "$A/busybox.tar.zst"
ok "positive control: a busybox rootfs imports into the same file system" \
        enc -q rootfs import --base --replace "$A/busybox.tar.zst"

# ---- nodev on every workspace mount but Enclave's own /dev ----
ok "create a sandbox" enc -q create sb --bootstrap-method cached_rootfs
ok "create a workspace" enc -q workspace create sb w
ok "start it" enc -q workspace start sb w
# Fields: mount point, per-mount options, file system type. /dev, its
# nodes (devtmpfs binds; the masks of /proc files are /dev/null too) and
# devpts are Enclave's own /dev.
bad=$(enc workspace exec sb w -- cat /proc/self/mountinfo </dev/null | awk '
        { for (i = 7; $i != "-"; i++); fstype = $(i + 1) }
        $5 == "/dev" || $5 ~ /^\/dev\// || fstype == "devtmpfs" || fstype == "devpts" { next }
        $6 !~ /(^|,)nodev(,|$)/ { print $5 }')
is "every other mount is nodev" "$bad" ""

done_testing
