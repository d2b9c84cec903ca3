#!/usr/bin/env bash
# enclave doctor and enclave registry repair (SPEC §2, §4,
# docs/doctor.md): a healthy setup with a running workspace passes
# (exit 0, warnings allowed); planted damage is found and named (an
# orphaned mount under the state dir, a sandbox directory without a
# row, a workspace row whose directory is gone, a workspace marked
# running whose process is dead, a snapshot directory without a row);
# repair fixes what it may, --strict the rest; doctor is clean again.
. "$(dirname "$0")/lib.sh"
require_root
. "$(dirname "$0")/workspace-setup.sh"
command -v sqlite3 >/dev/null || skip_all "sqlite3 is needed to damage the registry"
ws_setup
DB=$ENC_STATE/registry.db
WS=doc$$
SBDIR=$ENC_STATE/sandboxes

check_status() { # ID: the status of one check in `doctor --json`
        enc --json doctor | python3 -c 'import json,sys
for c in json.load(sys.stdin)["checks"]:
    if c["id"] == sys.argv[1]: print(c["status"])' "$1"
}

ok "workspace create" enc workspace create "$SB" "$WS"
ok "workspace start" enc workspace start "$SB" "$WS"

# ---- healthy ----
out=$(enc doctor 2>&1); rc=$?
is "doctor passes on a healthy setup" "$rc" 0
contains "host checks shown" "$out" "user namespaces"
contains "a check line has a mark" "$out" "✓"
diag "$(printf '%s\n' "$out" | grep -v '✓' | head -20)"
json=$(enc --json doctor)
is "--json is valid and ok" "$(printf '%s' "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ok"])')" "True"
is "doctor --json (after the command) too" "$(enc doctor --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["problems"])')" "0"
is "the running workspace is not stale (veths)" "$(check_status state.veths)" "ok"
is "the running workspace is not stale (cgroups)" "$(check_status state.cgroups)" "ok"

# ---- an orphaned mount ----
LEAK=$SBDIR/x$$/leak
mkdir -p "$LEAK"
on_exit "umount -l '$LEAK'"
ok "plant a tmpfs mount under the state dir" mount -t tmpfs enctest-leak "$LEAK"
out=$(enc doctor 2>&1); rc=$?
is "doctor exits 1 with the orphaned mount" "$rc" 1
contains "doctor names the mount" "$out" "$LEAK"
contains "doctor names the directory without a row" "$out" "$SBDIR/x$$"
contains "doctor gives a fix" "$out" "registry repair --strict"
is "mount check fails in --json" "$(check_status state.mounts)" "fail"

out=$(enc registry repair 2>&1); rc=$?
is "plain repair leaves the mount (exit 1)" "$rc" 1
contains "plain repair says --strict is needed" "$out" "--strict"
ok "the mount is still there" grep -qF " $LEAK " /proc/self/mountinfo

out=$(enc registry repair --strict 2>&1); rc=$?
is "strict repair succeeds" "$rc" 0
contains "strict repair detached the mount" "$out" "detached the mount on $LEAK"
ok "the mount is gone" bash -c "! grep -qF ' $LEAK ' /proc/self/mountinfo"
ok "the directory without a row is gone" test ! -e "$SBDIR/x$$"
ok "doctor is clean again" enc doctor

# ---- registry damage ----
# Stop the daemon for the edits: it owns the registry while it runs.
ok "daemon stop" enc daemon stop
GHOST=ghost$$
GHOST_ID=$(sqlite3 "$DB" "INSERT INTO workspaces (sandbox_id, name, state) SELECT id, '$GHOST', 'stopped' FROM sandboxes WHERE name = '$SB'; SELECT last_insert_rowid();")
ok "a workspace row without a directory" test -n "$GHOST_ID"
mkdir -p "$SBDIR/$SB/workspaces/stray$$/upper"
ok "daemon start" enc daemon start
# A workspace marked running whose process is dead: made while the
# daemon runs, so startup reconciliation does not fix it first.
DEAD=dead$$
ok "workspace for the dead row" enc workspace create "$SB" "$DEAD"
sqlite3 "$DB" "UPDATE workspaces SET state = 'running', pid = 999999, pid_start_time = 1 WHERE name = '$DEAD'"
SNAPDIR=$SBDIR/$SB/workspaces/$WS/snapshots
ok "a snapshot" enc snapshot create "$SB" "$WS" --name s1
sqlite3 "$DB" "DELETE FROM snapshots WHERE name = 's1'"

out=$(enc doctor 2>&1); rc=$?
is "doctor exits 1 with registry damage" "$rc" 1
contains "names the row without a directory" "$out" "$SBDIR/$SB/workspaces/$GHOST"
contains "names the directory without a row" "$out" "$SBDIR/$SB/workspaces/stray$$"
contains "names the dead running workspace" "$out" "$SB/$DEAD (pid 999999)"
contains "names the snapshot without a row" "$out" "$SB/$WS: s1"

out=$(enc registry repair 2>&1); rc=$?
diag "$out"
is "plain repair leaves the row without a directory (exit 1)" "$rc" 1
is "dead workspace marked stopped" "$(sqlite3 -readonly "$DB" "SELECT state FROM workspaces WHERE name = '$DEAD'")" "stopped"
ok "stray directory removed" test ! -e "$SBDIR/$SB/workspaces/stray$$"
is "snapshot row restored" "$(sqlite3 -readonly "$DB" "SELECT count(*) FROM snapshots WHERE name = 's1'")" "1"
ok "snapshot itself kept" test -d "$SNAPDIR/s1"
is "ghost row still there" "$(sqlite3 -readonly "$DB" "SELECT count(*) FROM workspaces WHERE name = '$GHOST'")" "1"

ok "strict repair" enc registry repair --strict
is "ghost row deleted" "$(sqlite3 -readonly "$DB" "SELECT count(*) FROM workspaces WHERE name = '$GHOST'")" "0"
is "the running workspace was left alone" "$(enc --json workspace status "$SB" "$WS" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" "running"
ok "doctor clean at the end" enc doctor
ok "repair on a clean state changes nothing" enc registry repair --strict
done_testing
