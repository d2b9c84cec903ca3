#!/usr/bin/env bash
# Errors name the object, the reason and the next step (issue 19 item
# 9). A missing sandbox is "no sandbox", never "no workspace"; each
# message below says what to run or what to give instead.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workspace-setup.sh"
require_root
ws_setup
ok "create ws1" enc -q workspace create "$SB" ws1

# err NAME WANT_RC WANT_TEXT CMD...: the exit status and the message.
err() {
        local name=$1 rc_want=$2 text=$3; shift 3
        local out rc
        out=$("$@" 2>&1 </dev/null); rc=$?
        if [ "$rc" = "$rc_want" ] && [[ $out == *"$text"* ]]; then tap_ok "$name"
        else tap_fail "$name" "rc $rc (want $rc_want): $(head -c 400 <<<"$out")"; fi
}

# ---- which object is missing ----
err "exec in a missing sandbox says no sandbox" 125 \
        "no sandbox named 'nosuch'; 'enclave list' shows the sandboxes" enc workspace exec nosuch ws1 -- true
lacks "and not no workspace" "$(enc workspace exec nosuch ws1 -- true 2>&1)" "no workspace"
err "exec of a missing workspace names it and its sandbox" 125 \
        "no workspace 'nosuch' in sandbox '$SB'; 'enclave workspace list $SB' shows its workspaces" \
        enc workspace exec "$SB" nosuch -- true
for cmd in "workspace start" "workspace stop" "workspace status" "workspace destroy" "workspace logs" \
        "snapshot create" "snapshot list" "workspace port list"; do
        # shellcheck disable=SC2086
        err "$cmd in a missing sandbox says no sandbox" 1 "no sandbox named 'nosuch'" enc $cmd nosuch ws1
done
err "workspace create in a missing sandbox" 1 "no sandbox named 'nosuch'" enc workspace create nosuch w9
err "a missing sandbox" 1 "no sandbox named 'nosuch'; 'enclave list' shows the sandboxes" enc status nosuch

# ---- why, and what to do ----
err "exec in a workspace that does not run" 125 "is not running (it is created); start it with 'enclave workspace start $SB ws1'" \
        enc workspace exec "$SB" ws1 -- true
err "stats of a workspace that does not run" 1 "start it with 'enclave workspace start $SB ws1'" \
        enc workspace stats "$SB" ws1
err "a missing snapshot points at snapshot list" 1 "there is no snapshot nosnap; 'enclave snapshot list $SB ws1' shows its snapshots" \
        enc snapshot restore "$SB" ws1 nosnap
err "a missing rootfs cache says how to fill it" 1 "there is no cached rootfs trixie" \
        enc rootfs export --suite trixie --output "$ENC_DIR/out.tar"
contains "  ... with import or fetch" "$(enc rootfs export --suite trixie --output "$ENC_DIR/out.tar" 2>&1)" \
        "fill it with 'enclave rootfs import'"
err "a missing archive" 1 "give the path of a .tar, .tar.gz or .tar.zst archive" \
        enc snapshot import "$SB" ws1 "$ENC_DIR/none.tar"
err "a missing --workspace-dir" 2 "give an existing directory" \
        enc workspace create "$SB" w2 --workspace-dir "$ENC_DIR/none"
err "policy default takes allow or deny" 2 "'maybe' is not a decision; use 'enclave policy default allow'" \
        enc policy default maybe
err "destroy of a sandbox with workspaces says what to do" 1 "add --force" enc destroy "$SB"
err "a sandbox name that exists" 1 "remove it first with 'enclave destroy $SB'" \
        enc create "$SB" --bootstrap-method cached_rootfs
ok "start ws1" enc -q workspace start "$SB" ws1
err "--cwd outside /home says what to give" 125 "give --cwd /home or a directory below it" \
        enc workspace exec "$SB" ws1 --cwd /etc -- true
err "restore of a running workspace" 1 "stop it first: enclave workspace stop $SB ws1" \
        enc snapshot restore "$SB" ws1 any

# ---- usage errors: the command, what is wrong, how to call it ----
err "a missing argument names it and shows the usage" 2 "missing WORKSPACE; usage: enclave workspace start SANDBOX WORKSPACE" \
        enc workspace start "$SB"
err "an extra argument" 2 "too many arguments ('x'); usage: enclave status SANDBOX" enc status "$SB" x
err "an unknown option suggests one" 2 "unknown option '--forse' for 'enclave destroy'; did you mean '--force'?" \
        enc destroy "$SB" --forse
err "an option without its value" 2 "option '--tail' needs a value (N)" enc workspace logs "$SB" ws1 --tail
err "a bad number names the option and its range" 2 "--memory-mb wants a whole number from 16 to 16777216" \
        enc create x --memory-mb lots
err "exec usage errors exit 125" 125 "no command given; usage: enclave workspace exec" enc workspace exec "$SB" ws1
done_testing
