#!/usr/bin/env bash
# docs/security.md, "Host paths": the daemon never follows a symlink in
# a workspace_dir, re-checks at every start that it is the directory
# recorded at create, and refuses a workspace_dir nested with another
# workspace's, inside its state dir, or a system directory; `validate`
# refuses a relative workspace_dir or env_file that leaves the project.
#
# The attacks of issue 14: a user swaps her workspace_dir for a symlink
# to a root-only directory between create and start; a workspace whose
# /home holds the parent of another workspace's workspace_dir replaces it
# from inside. Each has a positive control. The user is uid 61011 in the
# socket's group (setpriv).
. "$(dirname "$0")/lib.sh"
require_root
command -v busybox >/dev/null || skip_all "busybox is needed for a tiny rootfs"
command -v setpriv >/dev/null || skip_all "setpriv is needed to act as another uid"
enc_setup

GROUP=61010
ALICE=61011
ua() { setpriv --reuid $ALICE --regid $ALICE --groups $GROUP "$ENCLAVE" --config "$ENC_CONFIG" --socket "$ENC_SOCK" "$@"; }
as_alice() { setpriv --reuid $ALICE --regid $ALICE --groups $GROUP "$@"; }

if ! out=$(enc daemon start 2>&1); then
        echo "1..0 # SKIP the daemon does not start here: $out"
        exit 0
fi
chgrp "$GROUP" "$ENC_SOCK" && chmod 0660 "$ENC_SOCK"
chmod 0644 "$ENC_CONFIG"
make_busybox_rootfs "$ENC_DIR/rootfs" || skip_all "cannot build a busybox rootfs"
tar -C "$ENC_DIR/rootfs" -cf "$ENC_DIR/rootfs.tar" .
ok "root imports the base rootfs" enc -q rootfs import --base "$ENC_DIR/rootfs.tar"
ok "alice makes a sandbox" ua -q create asb --bootstrap-method cached_rootfs
ok "root makes a sandbox" enc -q create rsb --bootstrap-method cached_rootfs
on_exit "ENC_CONFIG=$ENC_CONFIG ENC_SOCK=$ENC_SOCK; enc -q workspace wipe --yes; ua -q workspace wipe --yes; enc -q wipe --yes; ua -q wipe --yes"

# A root-only secret, and alice's own tree.
SECRET=$ENC_DIR/rootonly
mkdir -m 0700 "$SECRET" && echo "root-secret-$$" >"$SECRET/secret"
A=$ENC_DIR/alice
mkdir -p "$A" && chown $ALICE:$ALICE "$A"
as_alice mkdir "$A/proj"
as_alice sh -c "echo alice-file >'$A/proj/file'"

# ---- 1. swapping the directory for a symlink between create and start ----
ok "alice creates a workspace on her directory" ua -q workspace create asb w1 --workspace-dir "$A/proj"
as_alice mv "$A/proj" "$A/proj.real"
as_alice ln -s "$SECRET" "$A/proj"
out=$(ua workspace start asb w1 2>&1)
contains "a workspace_dir swapped for a symlink is refused at start" "$out" "symbolic link"
out=$(ua workspace exec asb w1 -- cat /home/secret </dev/null 2>&1)
lacks "and the root-only file is not reachable" "$out" "root-secret"
# A symlink higher up the path is refused the same way.
as_alice rm "$A/proj"
as_alice mv "$A/proj.real" "$A/proj"
mv "$A" "$ENC_DIR/alice.real" && ln -s "$ENC_DIR/alice.real" "$A"
out=$(ua workspace start asb w1 2>&1)
contains "a symlink in a parent component is refused too" "$out" "symbolic link"
rm "$A" && mv "$ENC_DIR/alice.real" "$A"
# Positive control: the real directory back in place works.
ok "with the real directory back, it starts" ua -q workspace start asb w1
is "and /home is alice's directory" "$(ua workspace exec asb w1 -- cat /home/file </dev/null 2>&1)" "alice-file"
ok "stop it" ua -q workspace stop asb w1

# ---- 2. another directory moved into its place ----
as_alice mv "$A/proj" "$A/proj.orig"
as_alice mkdir "$A/proj"
out=$(ua workspace start asb w1 2>&1)
contains "a different directory at the same path is refused at start" "$out" "not the directory it was"
as_alice rmdir "$A/proj"
as_alice mv "$A/proj.orig" "$A/proj"
ok "the original back: it starts again" ua -q workspace start asb w1
ok "stop it again" ua -q workspace stop asb w1

# ---- 3. nesting: a workspace's /home holding another's workspace_dir ----
# Root's workspaces (root may hand in any directory) on directories alice
# owns: the outer workspace is root inside its /home.
SECRET2=$ENC_DIR/rootonly2
mkdir -p -m 0700 "$SECRET2/inner" && echo "root-secret2-$$" >"$SECRET2/inner/secret"
as_alice mkdir -p "$A/outer/sub/inner" "$A/side"
as_alice sh -c "echo inner-file >'$A/outer/sub/inner/file'"
ok "root creates the outer workspace" enc -q workspace create rsb outer --workspace-dir "$A/outer"
if out=$(enc workspace create rsb inner --workspace-dir "$A/outer/sub/inner" 2>&1); then
        tap_fail "a workspace_dir inside another workspace's workspace_dir is refused" "$out"
        # The attack of issue 14 against the nested workspace.
        enc -q workspace start rsb outer
        enc workspace exec rsb outer -- sh -c "mv /home/sub /home/x && ln -s '$SECRET2' /home/sub" </dev/null
        enc -q workspace start rsb inner
        lacks "the outer workspace cannot redirect the inner one" \
                "$(enc workspace exec rsb inner -- cat /home/secret </dev/null 2>&1)" "root-secret2"
        enc -q workspace stop rsb outer
        enc -q workspace destroy rsb inner
        as_alice rm -f "$A/outer/sub"
        as_alice mv "$A/outer/x" "$A/outer/sub"
else
        tap_ok "a workspace_dir inside another workspace's workspace_dir is refused"
        contains "and the message names the other workspace" "$out" "rsb/outer"
fi
fails "a workspace_dir containing another workspace's is refused" enc -q workspace create rsb around --workspace-dir "$A"
out=$(ua workspace create asb nested --workspace-dir "$A/outer/sub" 2>&1)
contains "alice is refused too, without being told whose workspace it is" "$out" "another user's workspace"
ok "positive control: a sibling directory is fine" ua -q workspace create asb side --workspace-dir "$A/side"
ok "and two workspaces may share one directory" enc -q workspace create rsb same --workspace-dir "$A/outer"
enc -q workspace destroy rsb same
enc -q workspace destroy rsb outer

# ---- 4. state dir, system directories, non-canonical paths ----
mkdir -p "$ENC_STATE/sandboxes/rsb/evil"
out=$(enc workspace create rsb st --workspace-dir "$ENC_STATE/sandboxes/rsb/evil" 2>&1)
contains "a workspace_dir in the state dir is refused" "$out" "state dir"
out=$(enc workspace create rsb st --workspace-dir "$ENC_DIR" 2>&1)
contains "one containing the state dir is refused" "$out" "state dir"
for d in /etc /usr/bin /proc/self /root /home /; do
        out=$(enc workspace create rsb sys --workspace-dir "$d" 2>&1)
        contains "the system directory $d is refused" "$out" "system directory"
done
out=$(enc_call workspace.create "{\"sandbox\": \"rsb\", \"workspace\": \"nc\", \"workspace_dir\": \"$A/side/../outer\"}" 2>&1)
contains "a non-canonical path in a raw request is refused" "$out" "not a canonical path"
out=$(enc_call workspace.create "{\"sandbox\": \"rsb\", \"workspace\": \"nc\", \"workspace_dir\": \"$A/outer/\"}" 2>&1)
contains "a trailing slash is not canonical either" "$out" "not a canonical path"
is "none of the refused creates left a workspace" \
        "$(enc --json workspace list --sandbox-id rsb | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 0

# ---- 5. validate: a relative workspace_dir stays in the project ----
P=$ENC_DIR/project
mkdir -p "$P/app" "$ENC_DIR/elsewhere"
ln -s "$ENC_DIR/elsewhere" "$P/link"
vf() {
        printf '[sandbox]\nname = "v"\n[workspace.w]\nworkspace_dir = "%s"\n' "$1" >"$P/Enclavefile"
        (cd "$P" && "$ENCLAVE" validate 2>&1)
}
out=$(vf "../../../../../../../etc")
contains "validate refuses ../../etc" "$out" "leaves the project directory"
out=$(vf "./link")
contains "validate refuses a relative path through a symlink out of the project" "$out" "leaves the project directory"
out=$(vf "/etc")
contains "validate refuses an absolute system directory" "$out" "system directory"
ok "positive control: ./app validates" sh -c "cd '$P' && printf '[sandbox]\nname = \"v\"\n[workspace.w]\nworkspace_dir = \"./app\"\n' >Enclavefile && '$ENCLAVE' validate"
ok "and so does an explicit absolute path" sh -c "cd '$P' && printf '[sandbox]\nname = \"v\"\n[workspace.w]\nworkspace_dir = \"$ENC_DIR/elsewhere\"\n' >Enclavefile && '$ENCLAVE' validate"

# ---- 6. validate and up: a relative env_file stays in the project ----
# The CLI reads env_file itself, as whoever runs it: root bringing up a
# project someone else wrote must not read root's files for it.
echo 'SECRET=root-only-value' >"$ENC_DIR/elsewhere/secret.env"
chmod 600 "$ENC_DIR/elsewhere/secret.env"
mkdir -p "$P/conf"
echo 'FROM_PROJECT=yes' >"$P/conf/app.env"
ln -sf "$ENC_DIR/elsewhere/secret.env" "$P/secret-link.env"
ln -sf conf/app.env "$P/inside-link.env"
ef() {
        printf '[sandbox]\nname = "v"\n[workspace.w]\nenv_file = "%s"\n' "$1" >"$P/Enclavefile"
        (cd "$P" && "$ENCLAVE" --json validate 2>&1)
}
out=$(ef "../elsewhere/secret.env")
contains "validate refuses an env_file ../ out of the project" "$out" "leaves the project directory"
lacks "and does not read it" "$out" "root-only-value"
out=$(ef "./secret-link.env")
contains "validate refuses an env_file symlinked out of the project" "$out" "leaves the project directory"
lacks "and does not read that either" "$out" "root-only-value"
contains "positive control: conf/app.env is read" "$(ef conf/app.env)" "\"FROM_PROJECT\": \"yes\""
contains "and so is a symlink that stays inside" "$(ef ./inside-link.env)" "\"FROM_PROJECT\": \"yes\""
contains "and an explicit absolute path, on purpose" "$(ef "$ENC_DIR/elsewhere/secret.env")" "root-only-value"

done_testing
