#!/usr/bin/env bash
# docs/security.md, "Archives and root filesystems": a snapshot archive
# is a user's, yet the daemon writes it into the state dir as host root.
# Its extended attributes must not become host-root power: a file
# capability in it becomes the importing workspace's own (revision 3,
# its root's host id, as `setcap` inside would store it), and the
# trusted.* and security.* attributes only host root could write
# (overlayfs metacopy/origin, an SELinux label, ...) are left out, while
# user.*, ACLs, overlayfs's opaque marks and a capability of the
# exporting workspace survive, moved with the owners. POSIX ACLs name
# users and groups by host id: those move like the owners into the
# importing workspace's block, and an ACL naming an id outside the
# exporting workspace is left out. An export, the
# other way, leaves behind the trusted.* attributes that mean something
# only on this host: overlayfs's origin (a file handle of the lower
# layer on the host's file system) and metacopy.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workspace-setup.sh"
require_root
ws_setup
enc_open_socket
U=$(( 62000 + RANDOM % 1000 ))
W=$ENC_DIR/user
mkdir -p "$W" && chown "$U:$U" "$W"
# The user's CLI opens the archive with the user's rights.
uenc() { as_uid "$U" sh -c 'cd "$1" && shift && exec "$@"' sh "$W" "$ENCLAVE" --config "$ENC_CONFIG" --socket "$ENC_SOCK" "$@"; }

out=$(uenc create usb --bootstrap-method cached_rootfs 2>&1) || { tap_fail "the user creates a sandbox" "$out"; done_testing; exit; }
ok "the user creates a workspace" uenc workspace create usb uw
ok "and starts it" uenc workspace start usb uw
ok "and makes a file" uenc workspace exec usb uw -- sh -c 'echo hi >/home/f'
ok "a snapshot of it" uenc snapshot create usb uw --name base
ok "exported by the user" uenc snapshot export usb uw base --output "$W/base.tar"
SNAPS=$ENC_STATE/sandboxes/usb/workspaces/uw/snapshots
base=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["uid_base"])' "$SNAPS/base/snapshot.json")
diag "the workspace's host ids start at $base"

# craft NAME: the exported snapshot plus upper/x carrying the given
# xattrs (name=hex value) and upper/d, an opaque directory.
craft() {
        python3 - "$W/base.tar" "$W/$1.tar" "$base" "${@:2}" <<'PY'
import base64, io, sys, tarfile
src, dst, base = sys.argv[1], sys.argv[2], int(sys.argv[3])
xattrs = dict(a.split("=", 1) for a in sys.argv[4:])
members = [(m, tarfile.open(src).extractfile(m.name).read() if m.isfile() else None)
           for m in tarfile.open(src).getmembers()]
with tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as t:
    meta = None
    for m, d in members:
        if m.name.endswith("snapshot.json"):
            meta = (m, d)
            continue
        t.addfile(m, io.BytesIO(d) if d is not None else None)
    def add(name, kind, xa):
        i = tarfile.TarInfo(name); i.type = kind; i.uid = i.gid = base; i.mode = 0o755
        i.pax_headers = {"LIBARCHIVE.xattr." + k: base64.b64encode(bytes.fromhex(v)).decode() for k, v in xa.items()}
        data = b"#!/bin/sh\necho run\n" if kind == tarfile.REGTYPE else b""
        i.size = len(data)
        t.addfile(i, io.BytesIO(data))
    add("./upper/x", tarfile.REGTYPE, xattrs)
    add("./upper/d", tarfile.DIRTYPE, {"trusted.overlay.opaque": b"y".hex()})
    t.addfile(meta[0], io.BytesIO(meta[1]))
PY
        chown "$U:$U" "$W/$1.tar"
}
# xattr NAME FILE KEY: the value of KEY on the imported upper/FILE, hex ("-" when absent)
xattr() {
        python3 - "$SNAPS/$1/upper/$2" "$3" <<'PY'
import os, sys
try:
    print(os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False).hex())
except OSError:
    print("-")
PY
}
le32() { python3 -c 'import struct,sys; print(struct.pack("<I", int(sys.argv[1])).hex())' "$1"; }
ALL=ffffffff00000000ffffffff00000000      # every capability, permitted and effective
CAP2=01000002$ALL                          # revision 2 with the effective bit: acts for host root
CAP3_HOSTROOT=01000003${ALL}00000000       # revision 3, root id 0
CAP3_OWN=01000003${ALL}$(le32 $((base + 0)))   # the exporting workspace's own
CAP3_OTHER=01000003${ALL}$(le32 12345)      # somebody else's id
WANT=01000003${ALL}                        # + the importing workspace's root id

# ---- positive control: what a workspace can make survives ----
craft good security.capability=$CAP3_OWN user.note=$(printf hello | xxd -p)
ok "an archive with the workspace's own capability and a user.* attribute imports" \
        uenc snapshot import usb uw --name good "$W/good.tar"
nb=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["uid_base"])' "$SNAPS/good/snapshot.json")
is "its capability is the importing workspace's (revision 3, its root)" "$(xattr good x security.capability)" "$WANT$(le32 "$nb")"
is "user.* is kept" "$(xattr good x user.note)" "$(printf hello | xxd -p)"
is "an opaque directory stays opaque" "$(xattr good d trusted.overlay.opaque)" "79"

# ---- a capability that acts for host root ----
for c in CAP2 CAP3_HOSTROOT; do
        craft "cap-$c" security.capability=${!c}
        ok "an archive with a host-root capability ($c) imports" uenc snapshot import usb uw --name "cap-$c" "$W/cap-$c.tar"
        got=$(xattr "cap-$c" x security.capability)
        is "but the capability is the workspace's, not host root's ($c)" "$got" "$WANT$(le32 "$nb")"
done
craft cap-other security.capability=$CAP3_OTHER
out=$(uenc snapshot import usb uw --name cap-other "$W/cap-other.tar" 2>&1)
contains "a capability for an id outside the exporting workspace is refused" "$out" "outside the exporting workspace"
ok "and nothing of it was kept" test ! -e "$SNAPS/cap-other"

# ---- attributes only host root may write ----
craft trusted trusted.overlay.metacopy= trusted.overlay.origin=00fb1d0001 trusted.enclave=01 \
        security.selinux=$(printf 'system_u:object_r:shadow_t:s0\0' | xxd -p)
ok "an archive with trusted.* and security.selinux attributes imports" uenc snapshot import usb uw --name trusted "$W/trusted.tar"
for k in trusted.overlay.metacopy trusted.overlay.origin trusted.enclave security.selinux; do
        is "$k is left out" "$(xattr trusted x $k)" "-"
done
is "opaque is kept beside them" "$(xattr trusted d trusted.overlay.opaque)" "79"

# ---- POSIX ACLs: ids move with the owners, or the ACL is left out ----
# acl UID GID: an access ACL (user::rwx user:UID:rw- group::r-x
# group:GID:r-- mask::r-x other::r-x, which mode 0755 leaves as it is)
# in its on-disk form, hex.
acl() {
        python3 - "$1" "$2" <<'PY'
import struct, sys
u, g = int(sys.argv[1]), int(sys.argv[2])
e = lambda tag, perm, i: struct.pack("<HHI", tag, perm, i)
print((struct.pack("<I", 2) + e(1, 7, 0xffffffff) + e(2, 6, u) + e(4, 5, 0xffffffff) + e(8, 4, g)
       + e(0x10, 5, 0xffffffff) + e(0x20, 5, 0xffffffff)).hex())
PY
}
# acl_of FILE: its access ACL, hex ("-" when it has none)
acl_of() {
        python3 - "$1" <<'PY'
import os, sys
try:
    print(os.getxattr(sys.argv[1], "system.posix_acl_access", follow_symlinks=False).hex())
except OSError:
    print("-")
PY
}
ok "a second workspace, on another id block" uenc workspace create usb uw2
ok "which starts" uenc workspace start usb uw2
SNAPS2=$ENC_STATE/sandboxes/usb/workspaces/uw2/snapshots
craft acl-in system.posix_acl_access=$(acl $((base + 5)) $((base + 7)))
ok "an archive whose ACL names ids of the exporting workspace imports" \
        uenc snapshot import usb uw2 --name acl-in "$W/acl-in.tar"
b2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["uid_base"])' "$SNAPS2/acl-in/snapshot.json")
diag "exported from ids at $base, imported into ids at $b2"
got=$(acl_of "$SNAPS2/acl-in/upper/x")
is "its ACL names the same users and groups in the importing workspace's ids" "$got" "$(acl $((b2 + 5)) $((b2 + 7)))"
craft acl-out system.posix_acl_access=$(acl 12345 $((base + 7)))
ok "an archive whose ACL names a host user's id imports" uenc snapshot import usb uw2 --name acl-out "$W/acl-out.tar"
got=$(acl_of "$SNAPS2/acl-out/upper/x")
is "but that ACL is left out" "$got" "-"
ok "the file itself is there (positive control)" test -f "$SNAPS2/acl-out/upper/x"
uenc workspace stop usb uw2 >/dev/null 2>&1

# ---- export: what means something only on this host stays behind ----
ok "the workspace changes a file of its rootfs (overlayfs copies it up)" \
        uenc workspace exec usb uw -- sh -c 'echo more >>/etc/shared-file && mkdir -p /etc/od'
ok "a snapshot of it" uenc snapshot create usb uw --name up
# Besides what overlayfs wrote (origin, where the lower file system has
# file handles), what host root alone can write, as overlayfs would.
python3 - "$SNAPS/up/upper/etc" <<'PY'
import os, sys
d = sys.argv[1]
f = d + "/shared-file"
if b"trusted.overlay.origin" not in [k.encode() for k in os.listxattr(f, follow_symlinks=False)]:
    os.setxattr(f, "trusted.overlay.origin", bytes.fromhex("00fb1d0001"), follow_symlinks=False)
os.setxattr(f, "trusted.overlay.metacopy", b"", follow_symlinks=False)
os.setxattr(f, "trusted.enclave", b"1", follow_symlinks=False)
os.setxattr(f, "user.keep", b"yes", follow_symlinks=False)
os.setxattr(d + "/od", "trusted.overlay.opaque", b"y", follow_symlinks=False)
PY
ok "exported by the user" uenc snapshot export usb uw up --output "$W/up.tar"
# member NAME: its extended attribute names in the archive
archived() {
        python3 - "$W/up.tar" "$1" <<'PY'
import sys, tarfile
for m in tarfile.open(sys.argv[1]).getmembers():
    if m.name.lstrip("./") == sys.argv[2]:
        print(" ".join(sorted(k.split("xattr.", 1)[1] for k in m.pax_headers if k.startswith("SCHILY.xattr."))))
PY
}
names=$(archived upper/etc/shared-file)
diag "attributes of upper/etc/shared-file in the archive: $names"
for k in trusted.overlay.origin trusted.overlay.metacopy trusted.enclave; do
        lacks "the archive leaves $k behind" " $names " " $k "
done
contains "user.* goes along (positive control)" " $names " " user.keep "
contains "and an opaque directory stays opaque" " $(archived upper/etc/od) " " trusted.overlay.opaque "
ok "the export imports again" uenc snapshot import usb uw --name up-again "$W/up.tar"
is "with its opaque directory" "$(xattr up-again etc/od trusted.overlay.opaque)" "79"

# ---- the workspace still runs on what was imported ----
ok "the workspace stops" uenc workspace stop usb uw
ok "the imported snapshot restores" uenc snapshot restore usb uw cap-CAP2
ok "and starts" uenc workspace start usb uw
is "the file works inside" "$(uenc workspace exec usb uw -- /x 2>&1)" "run"
uenc workspace stop usb uw >/dev/null 2>&1
uenc destroy usb --force >/dev/null 2>&1

done_testing
