#!/usr/bin/env bash
# enclave doctor and enclave registry repair (SPEC §2, §4,
# docs/doctor.md): a healthy setup with a running workspace passes
# (exit 0, warnings allowed); planted damage is found and named (an
# orphaned mount under the state dir, a sandbox directory without a
# row, a workspace row whose directory is gone, a workspace marked
# running whose process is dead, a snapshot directory without a row);
# repair fixes what it may, --strict the rest; doctor is clean again.
# Repair racing a start/stop/destroy: while debug.hold_workspace holds
# the workspace's claim (as a start in flight does), repair leaves that
# workspace alone and says it is busy, a real start is refused by the
# same claim, and once the holder is gone repair fixes it.
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
ok "daemon start (with the test actions)" enc daemon start --enable-test-actions
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
is "dead workspace marked stopped" "$(sqlite3 -readonly -cmd '.timeout 5000' "$DB" "SELECT state FROM workspaces WHERE name = '$DEAD'")" "stopped"
ok "stray directory removed" test ! -e "$SBDIR/$SB/workspaces/stray$$"
is "snapshot row restored" "$(sqlite3 -readonly -cmd '.timeout 5000' "$DB" "SELECT count(*) FROM snapshots WHERE name = 's1'")" "1"
ok "snapshot itself kept" test -d "$SNAPDIR/s1"
is "ghost row still there" "$(sqlite3 -readonly -cmd '.timeout 5000' "$DB" "SELECT count(*) FROM workspaces WHERE name = '$GHOST'")" "1"

ok "strict repair" enc registry repair --strict
is "ghost row deleted" "$(sqlite3 -readonly -cmd '.timeout 5000' "$DB" "SELECT count(*) FROM workspaces WHERE name = '$GHOST'")" "0"
is "the running workspace was left alone" "$(enc --json workspace status "$SB" "$WS" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" "running"
ok "doctor clean at the end" enc doctor
ok "repair on a clean state changes nothing" enc registry repair --strict

# ---- a repair racing a start, stop or destroy ----
# hold_start WS SECONDS: hold WS's claim from a background client
# (HOLD_PID) and wait until it is held. Not in a subshell (`ok`), so
# that HOLD_PID stays known to the cleanup.
HOLD_PID=
HOLD_PY=/usr/bin/python3   # not a version-manager shim: HOLD_PID is the client itself
[ -x "$HOLD_PY" ] || HOLD_PY=python3
hold_start() {
        "$HOLD_PY" "$ENC_CALL_PY" "$ENC_SOCK" debug.hold_workspace \
                "{\"sandbox\": \"$SB\", \"workspace\": \"$1\", \"seconds\": $2}" >"$ENC_DIR/hold.out" 2>&1 &
        HOLD_PID=$!
        for _ in $(seq 200); do
                grep -q '"event"' "$ENC_DIR/hold.out" 2>/dev/null && { tap_ok "$3"; return 0; }
                kill -0 "$HOLD_PID" 2>/dev/null || break
                sleep 0.05
        done
        tap_fail "$3" "$(cat "$ENC_DIR/hold.out")"
}
on_exit '[ -n "$HOLD_PID" ] && kill $HOLD_PID'
row_state() { sqlite3 -readonly -cmd '.timeout 5000' "$DB" "SELECT state FROM workspaces WHERE name = '$1'"; }

RACE=race$$
ok "workspace for the race" enc workspace create "$SB" "$RACE"
sqlite3 "$DB" "UPDATE workspaces SET state = 'running', pid = 999999, pid_start_time = 1 WHERE name = '$RACE'"
# And a cgroup of it, as a start in flight has one: a second finding of
# the same workspace.
RACE_CG=
for d in $(enc_cgroup_dirs "$SB"); do
        RACE_CG=$d/$RACE && break
done
ok "a cgroup of the workspace" mkdir "$RACE_CG"
out=$(enc doctor 2>&1)
contains "doctor names the dead row of the workspace" "$out" "$SB/$RACE (pid 999999)"
contains "doctor names its cgroup" "$out" "$RACE_CG"
hold_start "$RACE" 600 "debug.hold_workspace holds its claim"
contains "the hold names the workspace" "$(cat "$ENC_DIR/hold.out")" "\"workspace\": \"$RACE\""
out=$(enc registry repair 2>&1); rc=$?
diag "$out"
is "repair exits 1 while the workspace is held" "$rc" 1
contains "repair says the workspace is busy" "$out" "workspace $SB/$RACE is busy"
contains "repair says to run it again" "$out" "run 'enclave registry repair' again when that is done"
lacks "repair did not clean up the held workspace" "$out" "$SB/$RACE: its process was gone"
is "the held row is still 'running'" "$(row_state "$RACE")" "running"
ok "the held workspace's cgroup is still there" test -d "$RACE_CG"
json=$(enc --json registry repair 2>/dev/null)
is "--json: both findings of the held workspace give one left line" "$(printf '%s' "$json" | python3 -c 'import json,sys
print(sum("'"$SB/$RACE"' is busy" in l for l in json.load(sys.stdin)["left"]))')" "1"
out=$(enc workspace start "$SB" "$RACE" 2>&1); rc=$?
ok "a real start of the held workspace is refused" test "$rc" -ne 0
contains "the start is refused by the same claim" "$out" "another request is starting, stopping or destroying workspace $SB/$RACE"
is "the refused start changed nothing" "$(row_state "$RACE")" "running"

# A holder that goes away (killed) is cancelled and its claim released.
kill "$HOLD_PID"; wait "$HOLD_PID" 2>/dev/null; HOLD_PID=
for _ in $(seq 100); do
        out=$(enc registry repair 2>&1) && break
        sleep 0.05
done
diag "$out"
contains "after the holder is gone repair cleans the workspace up" "$out" "workspace $SB/$RACE: its process was gone"
is "and marks it stopped" "$(row_state "$RACE")" "stopped"
ok "and its cgroup is gone" test ! -d "$RACE_CG"
ok "doctor clean after the race" enc doctor

# A hold that runs out releases the claim before its reply: a start
# right after it goes through.
hold_start "$RACE" 2 "a short hold"
out=$(enc workspace start "$SB" "$RACE" 2>&1); rc=$?
contains "start during the short hold is refused" "$out" "another request is starting"
wait "$HOLD_PID"; HOLD_PID=
contains "the hold ended with its reply" "$(cat "$ENC_DIR/hold.out")" '"held_seconds": 2'
ok "the workspace starts once the hold ended" enc workspace start "$SB" "$RACE"
is "it runs" "$(row_state "$RACE")" "running"
ok "repair leaves a started workspace alone" enc registry repair
ok "workspace stop" enc workspace stop "$SB" "$RACE"
done_testing
