#!/usr/bin/env bash
# docs/security.md, "Ownership mapping": nothing a workspace makes in its
# workspace_dir is setuid/setgid root or carries file capabilities for
# host root; host root's uid and gid are never mapped into a workspace;
# the whole id range is mapped (the directory's owner and group <-> the
# workspace's root, every other id to the workspace's own host range), so
# chown inside works; /home is nosuid,nodev inside.
#
# The attack of issue 14: a workspace_dir owned by host root (the
# quickstart's app dir after `sudo make up`) made workspace root equal
# host uid 0 there: cp + chmod 4755, or a security.capability xattr, gave
# host euid 0 to any host user.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workspace-setup.sh"
require_root
PROBE=$(cd "$(dirname "$0")/../.." && pwd)/${BUILD:-build}/tests/helpers/boundary-probe
[ -x "$PROBE" ] || skip_all "boundary-probe is not built (make)"
ws_setup

USER_ID=61021
put_probe() { enc workspace exec -i "$SB" "$1" -- sh -c 'cat >/tmp/probe && chmod 755 /tmp/probe' <"$PROBE"; }
in_ws() { local w=$1; shift; enc workspace exec "$SB" "$w" -- "$@" </dev/null; }
# Does the host file $1 give host root power (setuid/setgid root, or
# file capabilities whose root id is host root)?
root_power() {
        local f=$1
        [ -e "$f" ] || return 1
        if [ "$(stat -c %u "$f")" = 0 ] && [ -u "$f" ]; then echo "setuid root"; return 0; fi
        if [ "$(stat -c %g "$f")" = 0 ] && [ -g "$f" ]; then echo "setgid root"; return 0; fi
        python3 - "$f" <<'PY'
import os, struct, sys
try:
    v = os.getxattr(sys.argv[1], "security.capability")
except OSError:
    sys.exit(1)
magic = struct.unpack_from("<I", v)[0]
rootid = struct.unpack_from("<I", v, 20)[0] if len(v) >= 24 else 0
# revision 2 caps act in every namespace; revision 3 only where rootid is root
if (magic >> 24) == 2 or rootid == 0:
    print("file capabilities for host root (rev %d, rootid %d)" % (magic >> 24, rootid))
    sys.exit(0)
sys.exit(1)
PY
}

# ---- 1. a workspace_dir owned by host root (the quickstart case) ----
RD=$ENC_DIR/rootdir
mkdir -p "$RD" && echo "<h1>hello</h1>" >"$RD/index.html"
out=$(enc workspace create "$SB" rootws --workspace-dir "$RD" 2>&1 && enc workspace start "$SB" rootws 2>&1)
ok "a root-owned workspace_dir still starts (quickstart)" enc workspace status "$SB" rootws
contains "with a warning that says why it is read-only" "$out" "host root is never root inside"
is "positive control: the workspace reads its files (http.server's case)" "$(in_ws rootws cat /home/index.html)" "<h1>hello</h1>"
is "root's files show as nobody inside" "$(in_ws rootws stat -c %u /home/index.html)" 65534
ok "copy the probe in" put_probe rootws
in_ws rootws sh -c 'cp /bin/busybox /home/rootsh; chmod 4755 /home/rootsh' >/dev/null 2>&1
in_ws rootws /tmp/probe setfcap /home/index.html >/dev/null 2>&1
for f in "$RD/rootsh" "$RD/index.html"; do
        why=$(root_power "$f") && tap_fail "no file in it gives host root power: $f" "$why" ||
                tap_ok "no file in it gives host root power: ${f##*/}"
done

# World-writable root-owned directory: the workspace may create files
# (the mode allows), but as its own ids, never as host root.
WW=$ENC_DIR/worldwritable
mkdir -p "$WW" && chmod 1777 "$WW"
ok "a world-writable root-owned workspace_dir" enc -q workspace create "$SB" wwws --workspace-dir "$WW"
ok "starts" enc -q workspace start "$SB" wwws
ok "copy the probe in (2)" put_probe wwws
in_ws wwws sh -c 'cp /bin/busybox /home/rootsh && chmod 6755 /home/rootsh && /tmp/probe setfcap /home/rootsh' >/dev/null 2>&1
[ -e "$WW/rootsh" ] && tap_ok "positive control: the workspace could create a file there" ||
        tap_fail "positive control: the workspace could create a file there"
is "it is owned by the workspace's own host id, not root" "$(stat -c %u "$WW/rootsh")" \
        "$(awk '{print $2}' /proc/"$(ws_pid "$SB" wwws)"/uid_map)"
why=$(root_power "$WW/rootsh") && tap_fail "setuid/setgid/file capabilities of it are not host root's" "$why" ||
        tap_ok "setuid/setgid/file capabilities of it are not host root's"

# ---- 2. a user's directory: the whole range is mapped ----
UD=$ENC_DIR/userdir
mkdir -p "$UD" && chown $USER_ID:$USER_ID "$UD"
echo rootfile >"$UD/from-root" # a root-owned file in the user's directory
ok "a user-owned workspace_dir" enc -q workspace create "$SB" userws --workspace-dir "$UD"
ok "starts" enc -q workspace start "$SB" userws
base=$(awk '{print $2}' /proc/"$(ws_pid "$SB" userws)"/uid_map)
gbase=$(awk '{print $2}' /proc/"$(ws_pid "$SB" userws)"/gid_map)
is "the directory's owner and group are root inside" "$(in_ws userws stat -c %u:%g /home)" "0:0"
ok "chown 5:5 works inside" in_ws userws sh -c 'echo x >/home/x && chown 5:5 /home/x'
is "and the file belongs to the workspace's own range on the host" "$(stat -c %u:%g "$UD/x")" "$((base + 5)):$((gbase + 5))"
is "a file root makes belongs to the directory's owner on the host" \
        "$(in_ws userws sh -c 'echo y >/home/y' && stat -c %u:%g "$UD/y")" "$USER_ID:$USER_ID"
is "a host root file in it shows as nobody" "$(in_ws userws stat -c %u:%g /home/from-root)" "65534:65534"
fails "and cannot be changed from inside" in_ws userws sh -c 'echo changed >/home/from-root'
fails "or given away" in_ws userws chown 0:0 /home/from-root
is "it is unchanged on the host" "$(cat "$UD/from-root")" rootfile
in_ws userws sh -c 'cp /bin/busybox /home/sh4 && chmod 6755 /home/sh4' >/dev/null 2>&1
is "a setuid file made inside is the owner's, never root's" "$(stat -c %u:%g "$UD/sh4")" "$USER_ID:$USER_ID"

# ---- 3. /home is nosuid,nodev inside ----
for w in rootws userws; do
        opts=$(in_ws "$w" awk '$5 == "/home" {print $6}' /proc/self/mountinfo)
        contains "$w: /home is nosuid" "$opts" nosuid
        contains "$w: /home is nodev" "$opts" nodev
done

done_testing
