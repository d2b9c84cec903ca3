#!/usr/bin/env bash
# enclave up / down / restart / ps end to end (SPEC §2, §3, §7;
# docs/lifecycle.md), on a busybox sandbox made from an imported base
# rootfs (bootstrap_method = "cached_rootfs"):
#   - a missing or invalid Enclavefile is refused before the daemon
#   - up creates the sandbox, runs setup and starts 3 workspaces
#   - an unchanged re-up changes nothing and does not run setup again
#   - a changed setup list runs setup again
#   - a changed env restarts only that workspace (pids compared)
#   - workspaces the file drops are reported, removed only with
#     --remove-orphans
#   - down stops all, restart brings them back, --rebuild recreates the
#     sandbox (the setup marker starts over)
#   - ps lists workspace processes (all, --local, --json)
#   - tokens: only the declaring workspace sees GITHUB_TOKEN and
#     /run/enclave/auth/github.token (0400); the token string is nowhere
#     else on disk, in the daemon log or in any process's arguments
. "$(dirname "$0")/lib.sh"
require_root
command -v busybox >/dev/null || skip_all "busybox is needed for a tiny rootfs"
command -v sqlite3 >/dev/null || skip_all "sqlite3 is needed to inspect the registry"
enc_setup
DB=$ENC_STATE/registry.db
SB=up$ENC_TAG
PROJ=$ENC_DIR/proj
MARKER=$ENC_STATE/sandboxes/$SB/rootfs/setup-marker
TOKEN="enctest-token-$$-$RANDOM$RANDOM"

if ! out=$(enc daemon start 2>&1); then
        echo "1..0 # SKIP the daemon does not start here: $out"
        exit 0
fi
# Workspaces outlive the daemon: take them down before enc_teardown;
# should the daemon fail at that, end what is left in its cgroups.
on_exit 'for c in $(enc_cgroup_dirs); do find "$c" -name cgroup.procs -exec cat {} + | xargs -r kill -9; done; sleep 0.2; for c in $(enc_cgroup_dirs); do find "$c" -depth -type d -exec rmdir {} +; done'
on_exit "enc destroy --force $SB"
diag "bridge $ENC_BRIDGE, sandbox $SB"

q() { sqlite3 -readonly -cmd '.timeout 5000' "$DB" "$1"; }
pid_of() { q "SELECT w.pid FROM workspaces w JOIN sandboxes s ON s.id = w.sandbox_id WHERE s.name = '$SB' AND w.name = '$1' AND w.state = 'running'"; }
state_of() { q "SELECT w.state FROM workspaces w JOIN sandboxes s ON s.id = w.sandbox_id WHERE s.name = '$SB' AND w.name = '$1'"; }
marker_lines() { if [ -f "$MARKER" ]; then wc -l <"$MARKER" | tr -d ' '; else echo 0; fi; }
up() { (cd "$PROJ" && enc up "$@"); }

# enclavefile SETUP_EXTRA A_ENV [WITH_C]: the test project.
enclavefile() {
        cat >"$PROJ/Enclavefile" <<EOF
[sandbox]
name = "$SB"
bootstrap_method = "cached_rootfs"
setup = ["echo ran >> /setup-marker"$1]

[workspace.a]
env = { ROLE = "$2" }
auth = ["github"]

[workspace.b]
max_procs = 64
EOF
        if [ "${3:-yes}" = yes ]; then
                printf '\n[workspace.c]\nrun = "sleep 1000"\n' >>"$PROJ/Enclavefile"
        fi
}

mkdir -p "$PROJ"
make_busybox_rootfs "$ENC_DIR/rootfs" || { tap_fail "busybox rootfs"; done_testing; exit; }
tar -C "$ENC_DIR/rootfs" -cf "$ENC_DIR/base.tar" .
ok "rootfs import --base" enc rootfs import --base "$ENC_DIR/base.tar"

# ---- no Enclavefile / an invalid one: refused before anything changes ----
out=$(up 2>&1); rc=$?
is "up without an Enclavefile fails" "$rc" 1
contains "it points at enclave init" "$out" "no Enclavefile in $PROJ; create one with 'enclave init'"
printf '[sandbox]\nname = "%s"\nmemroy_mb = 5\n[workspace.x]\nmemory_mb = 1\n' "$SB" >"$PROJ/Enclavefile"
out=$(up 2>&1); rc=$?
is "up with an invalid Enclavefile fails" "$rc" 1
contains "every problem with FILE:LINE:COL (typo)" "$out" "Enclavefile:3:1"
contains "every problem with FILE:LINE:COL (range)" "$out" "Enclavefile:5:"
is "nothing was created" "$(q "SELECT count(*) FROM sandboxes")" 0

# ---- first up ----
enclavefile "" dev
out=$(up 2>&1); rc=$?
is "up creates and starts" "$rc" 0
[ $rc -eq 0 ] || printf '%s\n' "$out" | sed 's/^/#   /' | head -30
contains "up reports the sandbox" "$out" "created sandbox $SB"
is "sandbox ready" "$(q "SELECT state FROM sandboxes WHERE name = '$SB'")" ready
is "project recorded" "$(q "SELECT project FROM sandboxes WHERE name = '$SB'")" "$PROJ/Enclavefile"
for w in a b c; do is "workspace $w running" "$(state_of $w)" running; done
is "setup ran once" "$(marker_lines)" 1
pa=$(pid_of a); pb=$(pid_of b); pc=$(pid_of c)

# ---- unchanged re-up ----
out=$(up 2>&1); rc=$?
is "re-up succeeds" "$rc" 0
contains "re-up changes nothing" "$out" "nothing changed"
is "re-up does not run setup" "$(marker_lines)" 1
is "re-up keeps pids" "$(pid_of a) $(pid_of b) $(pid_of c)" "$pa $pb $pc"

# ---- changed setup list ----
enclavefile ', "true"' dev
ok "up after a setup change" up
is "changed setup runs again" "$(marker_lines)" 2
for w in a b c; do is "workspace $w running after setup" "$(state_of $w)" running; done
ok "re-up after setup change" up
is "setup not run a third time" "$(marker_lines)" 2

# ---- changed env of one workspace ----
pa=$(pid_of a); pb=$(pid_of b); pc=$(pid_of c)
enclavefile ', "true"' prod
out=$(up 2>&1)
contains "env change reported" "$out" "updated workspace a (env)"
pa2=$(pid_of a)
[ -n "$pa2" ] && [ "$pa2" != "$pa" ] && tap_ok "changed workspace restarted" || tap_fail "changed workspace restarted" "pid $pa -> $pa2"
is "unchanged workspaces keep their pids" "$(pid_of b) $(pid_of c)" "$pb $pc"
is "setup not run for an env change" "$(marker_lines)" 2

# ---- ps ----
out=$(cd "$PROJ" && enc ps 2>&1)
contains "ps shows the header" "$out" "SANDBOX"
contains "ps shows the run command" "$out" "sleep 1000"
out=$(cd "$PROJ" && enc --json ps --local 2>&1)
contains "ps --local --json" "$out" "\"workspace\": \"c\""
contains "ps user as seen inside" "$out" "\"user\": \"root\""
out=$(cd / && enc ps --local 2>&1); rc=$?
is "ps --local needs an Enclavefile" "$rc" 1

# ---- orphans ----
enclavefile ', "true"' prod no
out=$(up 2>&1)
contains "orphan reported" "$out" "not in the Enclavefile (kept): c"
is "orphan kept without the flag" "$(state_of c)" running
out=$(up --remove-orphans 2>&1)
contains "orphan removed with --remove-orphans" "$out" "removed (not in the Enclavefile): c"
is "orphan gone" "$(state_of c)" ""
enclavefile ', "true"' prod

# ---- down, restart ----
ok "up brings c back" up
out=$(cd "$PROJ" && enc down 2>&1)
contains "down reports" "$out" "is down: 3 workspace(s) stopped"
for w in a b c; do is "workspace $w stopped" "$(state_of $w)" stopped; done
is "sandbox stopped" "$(q "SELECT state FROM sandboxes WHERE name = '$SB'")" stopped
out=$(cd "$PROJ" && enc down 2>&1); rc=$?
is "down twice is fine" "$rc" 0
ok "restart" sh -c "cd '$PROJ' && '$ENCLAVE' --config '$ENC_CONFIG' --socket '$ENC_SOCK' restart"
for w in a b c; do is "workspace $w running after restart" "$(state_of $w)" running; done
is "restart does not run setup" "$(marker_lines)" 2

# ---- tokens ----
printf '%s\n' "$TOKEN" | enc auth login github >/dev/null 2>&1
ok "restart picks up the token" sh -c "cd '$PROJ' && '$ENCLAVE' --config '$ENC_CONFIG' --socket '$ENC_SOCK' restart"
contains "declaring workspace sees GITHUB_TOKEN" "$(enc workspace exec "$SB" a -- env 2>&1)" "GITHUB_TOKEN=$TOKEN"
out=$(enc workspace exec "$SB" b -- env 2>&1)
case "$out" in *"$TOKEN"*|*GITHUB_TOKEN*) tap_fail "other workspace has no token" ;; *) tap_ok "other workspace has no token" ;; esac
is "token file mode inside" "$(enc workspace exec "$SB" a -- stat -c %a /run/enclave/auth/github.token 2>&1)" 400
fails "other workspace has no token file" enc workspace exec "$SB" b -- test -e /run/enclave/auth/github.token
[ -s "$ENC_STATE/daemon.log" ] && tap_ok "the daemon log is searched too" || tap_fail "the daemon log is searched too" "no $ENC_STATE/daemon.log"
leaks=$(grep -rlaF --exclude-dir=auth "$TOKEN" "$ENC_STATE" 2>/dev/null | tr '\n' ' ')
is "token nowhere in the state dir (registry, log, workspaces; but auth/)" "$leaks" ""
leaks=$(for f in /proc/[0-9]*/cmdline; do grep -laF "$TOKEN" "$f" 2>/dev/null; done | tr '\n' ' ')
is "token in no process's arguments" "$leaks" ""

# ---- a failure midway: reported by step, finished by the next up ----
enclavefile ', "true", "exit 7"' prod
out=$(up 2>&1); rc=$?
is "failing setup fails up" "$rc" 1
contains "the error names the setup step" "$out" "setup of sandbox $SB"
contains "the error names the command" "$out" "exit 7"
is "no digest recorded after a failed setup" "$(q "SELECT ifnull(setup_digest, 'none') FROM sandboxes WHERE name = '$SB'")" none
enclavefile ', "true"' prod
ok "the next up completes" up
is "setup ran again after the failure" "$(marker_lines)" 4
for w in a b c; do is "workspace $w running after recovery" "$(state_of $w)" running; done
PORT=$(( 20000 + 0x$ENC_TAG % 20000 ))
/usr/bin/python3 -c 'import socket,sys,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(60)' "$PORT" &
holder=$!
on_exit "kill $holder"
# Until it listens (python starts slowly on a slow machine).
for _ in $(seq 300); do [ -n "$(ss -ltnH "sport = :$PORT" 2>/dev/null)" ] && break; sleep 0.1; done
enclavefile ', "true"' prod
printf '\n[workspace.d]\nports = ["127.0.0.1:%s:80"]\n' "$PORT" >>"$PROJ/Enclavefile"
out=$(up 2>&1); rc=$?
is "a workspace that cannot start fails up" "$rc" 1
contains "the error names the workspace" "$out" "workspace d"
for w in a b c; do is "workspace $w still running" "$(state_of $w)" running; done
kill $holder 2>/dev/null; wait $holder 2>/dev/null
ok "the next up starts it" up
is "workspace d running" "$(state_of d)" running
ok "up --remove-orphans drops d again" sh -c "cd '$PROJ' && sed -i '/workspace.d/,\$d' Enclavefile && '$ENCLAVE' --config '$ENC_CONFIG' --socket '$ENC_SOCK' up --remove-orphans"
is "workspace d gone" "$(state_of d)" ""

# ---- --rebuild ----
out=$(up --rebuild 2>&1); rc=$?
is "up --rebuild" "$rc" 0
contains "rebuild destroys first" "$out" "destroyed sandbox $SB"
is "rebuild made a fresh rootfs (marker starts over)" "$(marker_lines)" 1
for w in a b c; do is "workspace $w running after rebuild" "$(state_of $w)" running; done

# ---- cleanup leaves nothing ----
ok "destroy" enc destroy --force "$SB"
is "no workspace process left" "$(pgrep -f 'sleep 1000' | while read -r p; do [ "$(readlink /proc/$p/root 2>/dev/null)" != / ] && echo "$p"; done | wc -l)" 0
is "no mount left" "$(grep -c "$ENC_STATE/sandboxes/$SB" /proc/self/mountinfo)" 0
is "no cgroup left" "$(enc_cgroup_dirs | wc -l)" 0

done_testing
