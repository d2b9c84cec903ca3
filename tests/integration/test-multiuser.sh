#!/usr/bin/env bash
# The multi-user model (SPEC §4, docs/security.md "Multi-user model"):
# two users in the socket's group (uids 61001 and 61002, run through
# setpriv) and root share this test's own daemon. A user sees and
# changes only its own sandboxes, workspaces and snapshots (another's
# are "not found", with the message a missing one gets), its tokens are
# its own and reach only its workspaces, its workspace_dir must be its
# own (checked again at start), host ports below 1024 and the shared
# rootfs caches are root's, and root's Enclavefile never lands in a
# user's sandbox. The policy engine still applies on top.
. "$(dirname "$0")/lib.sh"
require_root
command -v busybox >/dev/null || skip_all "busybox is needed for a tiny rootfs"
command -v setpriv >/dev/null || skip_all "setpriv is needed to act as another uid"
enc_setup

ALICE=61001
BOB=61002
ua() { enc_as $ALICE "$@"; }
ub() { enc_as $BOB "$@"; }
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

if ! out=$(enc daemon start 2>&1); then
        echo "1..0 # SKIP the daemon does not start here: $out"
        exit 0
fi
# The socket is group-accessible, as with a group 'enclave' on a host.
enc_open_socket

RF=$ENC_DIR/rootfs
make_busybox_rootfs "$RF" || skip_all "cannot build a busybox rootfs"
tar -C "$RF" -cf "$ENC_DIR/rootfs.tar" .
ok "root imports the base rootfs cache" enc -q rootfs import --base "$ENC_DIR/rootfs.tar"
ok "root makes its sandbox" enc -q create rootsb --bootstrap-method cached_rootfs
ROOT_TOKEN="root-tok-$$-$RANDOM"
ALICE_TOKEN="alice-tok-$$-$RANDOM"
printf '%s\n' "$ROOT_TOKEN" | enc -q auth login github >/dev/null
ok "root makes a workspace with its github token" enc -q workspace create rootsb rw --auth github --env SECRET=rootonly
ok "root starts it" enc -q workspace start rootsb rw

ok "alice reaches the daemon through the group" ua ping
ok "bob too" ub ping

# ---------------------------------------------------------- visibility
is "alice lists no sandbox of root's" "$(ua --json list | jq_py 'print([s["name"] for s in d])')" "[]"
is "alice lists no workspace of root's" "$(ua --json workspace list | jq_py 'print(len(d))')" 0
missing=$(ua status nosuch 2>&1)
other=$(ua status rootsb 2>&1)
is "root's sandbox is 'not found' for alice, word for word as a missing one" \
        "${other//rootsb/X}" "${missing//nosuch/X}"
missing=$(ua workspace status rootsb nosuch 2>&1)
other=$(ua workspace status rootsb rw 2>&1)
is "root's workspace is 'not found' for alice, word for word as a missing one" \
        "${other//rw/X}" "${missing//nosuch/X}"
contains "and the message says not found: no such sandbox, for alice" "$other" "no sandbox named 'rootsb'"
fails "alice cannot find root's workspace by its name alone" ua workspace status rw
is "alice's health counts only her objects" \
        "$(ua --json health | jq_py 'c=d["counts"]; print(c["sandboxes"], c["workspaces"], c["workspaces_running"])')" "0 0 0"

# ---------------------------------------------- no action on root's objects
fails "alice cannot exec in root's workspace" ua workspace exec rootsb rw -- true </dev/null
out=$(ua workspace exec rootsb rw -- sh -c 'echo $SECRET' </dev/null 2>&1)
lacks "so she never sees its environment" "$out" "rootonly"
fails "alice cannot stop root's workspace" ua workspace stop rootsb rw
fails "alice cannot destroy root's workspace" ua workspace destroy rootsb rw
fails "alice cannot read root's workspace logs" ua workspace logs rootsb rw
fails "alice cannot snapshot root's workspace" ua snapshot create rootsb rw
fails "alice cannot publish a port for root's workspace" ua workspace port publish rootsb rw 127.0.0.1:18501:80
fails "alice cannot add a workspace to root's sandbox" ua workspace create rootsb mine
fails "alice cannot stop root's sandbox" ua stop rootsb
fails "alice cannot destroy root's sandbox" ua destroy rootsb --force
ok "alice's wipe runs" ua -q wipe --yes
ok "alice's workspace wipe runs" ua -q workspace wipe --yes
is "root's workspace still runs after all that" \
        "$(enc --json workspace status rootsb rw | jq_py 'print(d["state"])')" running
ok "root's sandbox is still there" enc status rootsb

# ------------------------------------------------- alice's own objects
ok "alice makes her own sandbox from root's cache" ua -q create asb --bootstrap-method cached_rootfs
is "it is hers" "$(enc --json status asb | jq_py 'print(d["owner_uid"])')" "$ALICE"
ok "alice makes a workspace asking for github and GITHUB_TOKEN" \
        ua -q workspace create asb aw --auth github --env-token GITHUB_TOKEN
ok "alice starts it" ua -q workspace start asb aw
out=$(ua workspace exec asb aw -- sh -c 'echo "[$GITHUB_TOKEN] [$GH_TOKEN]"; cat /run/enclave/auth/github.token /run/enclave/env/GITHUB_TOKEN 2>&1' </dev/null 2>&1)
lacks "root's token never reaches alice's workspace (environment, files)" "$out" "$ROOT_TOKEN"
contains "alice's workspace gets no github token while she has none" "$out" "[] []"
out=$(printf '%s\n' "$ALICE_TOKEN" | ua auth login github 2>&1); rc=$?
is "alice stores a github token of her own" "$rc" 0
is "it is in her own store, root's, 0600" \
        "$(stat -c '%U %a' "$ENC_STATE/auth/users/$ALICE/github.token" 2>&1)" "root 600"
is "root's token is untouched" "$(cat "$ENC_STATE/auth/github.token")" "$ROOT_TOKEN"
out=$(ua workspace exec asb aw -- sh -c 'echo "[$GITHUB_TOKEN]"' </dev/null 2>&1)
is "alice's workspace gets alice's token" "$out" "[$ALICE_TOKEN]"
out=$(enc workspace exec rootsb rw -- sh -c 'echo "[$GITHUB_TOKEN]"' </dev/null 2>&1)
is "root's workspace still gets root's token" "$out" "[$ROOT_TOKEN]"
out=$(enc workspace exec asb aw -- sh -c 'echo "[$GITHUB_TOKEN]"' </dev/null 2>&1)
is "root's exec in alice's workspace gets alice's token, not root's" "$out" "[$ALICE_TOKEN]"
contains "alice's auth list shows her github token" "$(ua auth list 2>&1 | grep '^github')" "yes"
contains "bob's auth list shows none" "$(ub auth list 2>&1 | grep '^github')" "no"
ok "bob's logout of github leaves the others' tokens" ub -q auth logout github
is "root's token is still there" "$(cat "$ENC_STATE/auth/github.token")" "$ROOT_TOKEN"
ok "alice's token is still there" test -s "$ENC_STATE/auth/users/$ALICE/github.token"

# ------------------------------------------------------------------- bob
is "bob lists no sandbox of alice's" "$(ub --json list | jq_py 'print([s["name"] for s in d])')" "[]"
fails "bob cannot exec in alice's workspace" ub workspace exec asb aw -- true </dev/null
fails "bob cannot destroy alice's sandbox" ub destroy asb --force
ok "bob's wipe leaves alice alone" ub -q wipe --yes
ok "alice's workspace still runs" ua workspace exec asb aw -- true
ps_out=$(ub ps 2>&1)
lacks "bob's ps shows none of alice's processes" "$ps_out" "asb"
lacks "nor root's" "$ps_out" "rootsb"

# -------------------------------------------------------- root sees all
contains "root lists alice's sandbox" "$(enc --json list | jq_py 'print([s["name"] for s in d])')" "asb"
out=$(enc workspace create asb fromroot 2>&1); rc=$?
is "root does not add workspaces to alice's sandbox" "$rc" 1
contains "and says whose it is" "$out" "belongs to uid $ALICE"

# ------------------------------------------------------ privileged ports
out=$(ua workspace port publish asb aw 127.0.0.1:79:80 2>&1); rc=$?
is "alice cannot publish host port 79" "$rc" 1
contains "and is told why" "$out" "below 1024"
fails "nor host port 1023 at create" ua workspace create asb aw2 --port 127.0.0.1:1023:80
ok "alice may publish host port 18502" ua -q workspace port publish asb aw 127.0.0.1:18502:80
ok "root may publish host port 79" enc -q workspace port publish rootsb rw 127.0.0.1:79:80
ok "root unpublishes it again" enc -q workspace port unpublish rootsb rw 127.0.0.1:79

# -------------------------------------------------------- workspace_dir
mkdir -p "$ENC_DIR/adir" "$ENC_DIR/bdir"
chown $ALICE:$ALICE "$ENC_DIR/adir"
chown $BOB:$BOB "$ENC_DIR/bdir"
out=$(ua workspace create asb wb --workspace-dir "$ENC_DIR/bdir" 2>&1); rc=$?
is "alice cannot use bob's directory as workspace_dir" "$rc" 1
contains "and is told whose it is" "$out" "belongs to uid $BOB"
ok "alice may use her own" ua -q workspace create asb wa --workspace-dir "$ENC_DIR/adir"
chown 0:0 "$ENC_DIR/adir"
out=$(ua workspace start asb wa 2>&1); rc=$?
is "a workspace_dir that changed owner after create is refused at start" "$rc" 1
contains "naming the owner" "$out" "belongs to uid 0"
chown $ALICE:$ALICE "$ENC_DIR/adir"

# ------------------------------------------------------- the rootfs cache
tar -C "$RF" -cf "$ENC_DIR/evil.tar" ./etc
before=$(find "$ENC_STATE/sandboxes/rootfs-cache/base" | sort | md5sum)
out=$(ua rootfs import --base --replace "$ENC_DIR/evil.tar" 2>&1); rc=$?
is "alice cannot replace the rootfs cache" "$rc" 1
contains "the daemon says it is root's" "$out" "may only be run by root"
fails "nor import a new suite cache" ua rootfs import --suite bookworm "$ENC_DIR/evil.tar"
fails "nor fetch into one" ua rootfs fetch --suite bookworm --replace http://127.0.0.1:9/x.tar
is "the cache is unchanged" "$(find "$ENC_STATE/sandboxes/rootfs-cache/base" | sort | md5sum)" "$before"
fails "no bookworm cache appeared" test -e "$ENC_STATE/sandboxes/rootfs-cache/bookworm"
out=$(ua create dsb --mirror http://127.0.0.1:9/debian 2>&1); rc=$?
is "alice cannot debootstrap from a mirror of her choice" "$rc" 1
contains "the mirror rule is named" "$out" "user_mirrors"

# ------------------------------------------------------------ Enclavefile
mkdir -p "$ENC_DIR/proj" && chown $ALICE:$ALICE "$ENC_DIR/proj"
cat >"$ENC_DIR/proj/Enclavefile" <<'EOF'
[sandbox]
name = "rootsb"
bootstrap_method = "cached_rootfs"
[workspace.sneak]
EOF
out=$(cd "$ENC_DIR/proj" && ua up 2>&1); rc=$?
is "alice's up cannot take root's sandbox name" "$rc" 1
contains "the name is taken" "$out" "taken"
is "root's sandbox got no workspace from it" \
        "$(enc --json workspace list --sandbox rootsb | jq_py 'print([w["name"] for w in d])')" "['rw']"
cat >"$ENC_DIR/proj/Enclavefile" <<'EOF'
[sandbox]
name = "asb"
bootstrap_method = "cached_rootfs"
[workspace.web]
ports = ["127.0.0.1:81:80/tcp"]
EOF
out=$(cd "$ENC_DIR/proj" && ua up 2>&1); rc=$?
is "alice's up cannot publish host port 81" "$rc" 1
contains "and says why" "$out" "below 1024"
out=$(cd "$ENC_DIR/proj" && enc up 2>&1); rc=$?
is "root's up of alice's sandbox name is refused" "$rc" 1
contains "naming the owner" "$out" "belongs to uid $ALICE"

# ---------------------------------------------------------- policy on top
ok "root denies alice workspace.exec" enc -q policy deny --uid $ALICE workspace.exec
out=$(ua workspace exec asb aw -- true </dev/null 2>&1)
contains "alice's exec in her own workspace is denied by the policy" "$out" "denied: rule 'deny uid $ALICE workspace.exec'"
ok "root denies bob sandbox.*" enc -q policy deny --uid $BOB 'sandbox.*'
lacks "alice's policy show does not list bob's rules" "$(ua policy show 2>&1)" "uid $BOB"
ok "root clears the policy" enc -q policy clear

# -------------------------------------------------------------- cleanup
ok "root can destroy alice's sandbox" enc -q destroy asb --force
ok "root destroys its own" enc -q destroy rootsb --force
enc daemon stop >/dev/null 2>&1
done_testing
