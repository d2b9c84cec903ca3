#!/usr/bin/env bash
# enclave workspace cp (issue 19 item 6), both ways, through a tar
# stream: modes kept; owners mapped (a copy-in belongs to the
# workspace's root, i.e. to the owner of its workspace_dir on disk; a
# copy-out belongs to the caller, without setuid bits); symlinks are
# copied as symlinks and never followed on the host; neither a symlink
# in the workspace nor one in the host target leads a copy out of where
# it belongs. Also '-' streams, the errors, and the project short form.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workspace-setup.sh"
require_root
ws_setup
x() { enc workspace exec "$SB" w1 -- "$@" </dev/null; }

HOMEDIR=$ENC_DIR/home1
mkdir -p "$HOMEDIR"
chown 1000:1000 "$HOMEDIR"
ok "create w1 with a workspace_dir of uid 1000" enc -q workspace create "$SB" w1 --workspace-dir "$HOMEDIR"
ok "start w1" enc -q workspace start "$SB" w1
H=$ENC_DIR/host
mkdir -p "$H/src/sub" "$ENC_DIR/outside"
echo hello >"$H/src/file"
chmod 640 "$H/src/file"
echo deep >"$H/src/sub/deep"
ln -s /etc/shadow "$H/src/link"
ln -s /etc/shadow "$H/shadow-link"

# ---- into the workspace ----
ok "cp a directory in" enc -q workspace cp "$H/src" "$SB/w1:/home"
is "its files arrive" "$(x cat /home/src/file) $(x cat /home/src/sub/deep)" "hello deep"
is "modes are kept" "$(x stat -c %a /home/src/file)" 640
is "owned by the workspace's root inside" "$(x stat -c %u:%g /home/src/file)" 0:0
is "and by the workspace_dir's owner on disk" "$(stat -c %u:%g "$HOMEDIR/src/file")" 1000:1000
is "a symlink arrives as a symlink" "$(x readlink /home/src/link)" /etc/shadow
ok "cp a host symlink in" enc -q workspace cp "$H/shadow-link" "$SB/w1:/home/"
is "it stays a symlink: the host file behind it is never read" "$(x readlink /home/shadow-link)" /etc/shadow
ok "cp a file in under a new name (a path relative to /home)" enc -q workspace cp "$H/src/file" "$SB/w1:renamed"
is "renamed" "$(x cat /home/renamed)" hello
# A symlink made inside the workspace resolves inside it.
x sh -c 'ln -s / /home/esc'
ok "cp through a symlink of the workspace" enc -q workspace cp "$H/src/file" "$SB/w1:/home/esc/tmp/landed-$ENC_TAG"
is "it lands in the workspace's own /tmp" "$(x cat /tmp/landed-$ENC_TAG)" hello
ok "not the host's" test ! -e "/tmp/landed-$ENC_TAG"

# ---- out of the workspace ----
x sh -c 'echo from-ws > /home/out.txt; chmod 600 /home/out.txt; cp /bin/busybox /home/suid; chmod 4755 /home/suid'
ok "cp a file out" enc -q workspace cp "$SB/w1:/home/out.txt" "$H/got.txt"
is "its content" "$(cat "$H/got.txt")" from-ws
is "its mode" "$(stat -c %a "$H/got.txt")" 600
is "owned by the caller, not by the workspace's ids" "$(stat -c %u "$H/got.txt")" "$(id -u)"
ok "cp a setuid file out into a directory" enc -q workspace cp "$SB/w1:/home/suid" "$H/"
is "it lands without its setuid bit" "$(stat -c %a "$H/suid")" 755
x sh -c 'mkdir -p /home/tree/d && echo t > /home/tree/d/f && ln -s /etc/passwd /home/tree/pw && ln -s ../../../../../.. /home/tree/up'
ok "cp a tree with symlinks out" enc -q workspace cp "$SB/w1:/home/tree" "$H/tree-out"
is "the tree" "$(cat "$H/tree-out/d/f")" t
ok "a symlink stays a symlink" test -L "$H/tree-out/pw"
is "pointing where it pointed" "$(readlink "$H/tree-out/up")" ../../../../../..
# The host target holds a symlink out of it: the copy must not write
# through it.
mkdir -p "$H/dst"
ln -s "$ENC_DIR/outside" "$H/dst/trap"
x sh -c 'mkdir -p /home/trap && echo gotcha > /home/trap/planted'
enc -q workspace cp "$SB/w1:/home/trap" "$H/dst" >/dev/null 2>&1
ok "a host symlink in the way is not followed" test ! -e "$ENC_DIR/outside/planted"
ok "it is replaced by what was copied" test -d "$H/dst/trap" -a ! -L "$H/dst/trap"
# ... and one deeper down makes the copy fail.
mkdir -p "$H/dst2/trap"
ln -s "$ENC_DIR/outside" "$H/dst2/trap/sub"
x sh -c 'mkdir -p /home/trap/sub && echo gotcha > /home/trap/sub/planted2'
enc -q workspace cp "$SB/w1:/home/trap" "$H/dst2" >/dev/null 2>&1
ok "nor one deeper down" test ! -e "$ENC_DIR/outside/planted2"
ok "which is replaced too" test -d "$H/dst2/trap/sub" -a ! -L "$H/dst2/trap/sub"

# ---- tar streams ----
is "cp out to '-' is a tar stream" "$(enc workspace cp "$SB/w1:/home/src" - | tar -tf - | sort | tr '\n' ' ')" \
        "src/ src/file src/link src/sub/ src/sub/deep "
tar -C "$H" -cf "$ENC_DIR/in.tar" got.txt
ok "cp in from '-'" enc -q workspace cp - "$SB/w1:/home" <"$ENC_DIR/in.tar"
is "unpacked" "$(x cat /home/got.txt)" from-ws
json=$(enc --json workspace cp "$H/src/file" "$SB/w1:/home/j")
is "--json" "$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["direction"], d["path"])' <<<"$json")" \
        "in /home/j"

# ---- errors ----
out=$(enc workspace cp "$H/src" "$H/x" 2>&1); rc=$?
is "two host paths are a usage error" "$rc" 2
contains "saying what one side must be" "$out" "SANDBOX/WORKSPACE:PATH"
out=$(enc workspace cp "$H/nonexistent" "$SB/w1:/home" 2>&1)
contains "a missing host source" "$out" "no such file or directory on the host"
out=$(enc workspace cp "$SB/w1:/home/none" "$H/none" 2>&1)
contains "a missing workspace source" "$out" "/home/none"
out=$(enc workspace cp "$H/src/file" nosuch/w1:/home 2>&1)
contains "a missing sandbox" "$out" "no sandbox named 'nosuch'"
ok "stop w1" enc -q workspace stop "$SB" w1
out=$(enc workspace cp "$H/src/file" "$SB/w1:/home" 2>&1)
contains "a stopped workspace" "$out" "is not running"
contains "says what to do" "$out" "start it with 'enclave workspace start $SB w1'"

# ---- the short form in a project directory ----
mkdir -p "$ENC_DIR/proj"
printf '[sandbox]\nname = "%s"\n[workspace.w1]\n' "$SB" >"$ENC_DIR/proj/Enclavefile"
ok "start w1 again" enc -q workspace start "$SB" w1
ok "enclave cp WORKSPACE:PATH" bash -c "cd '$ENC_DIR/proj' && '$ENCLAVE' --config '$ENC_CONFIG' -q cp w1:/home/out.txt ./short.txt"
is "copied" "$(cat "$ENC_DIR/proj/short.txt")" from-ws
done_testing
