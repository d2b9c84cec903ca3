#!/usr/bin/env bash
# Crash safety at every step (issue 17, docs/recovery.md):
# for every crash point listed in src/base/crashpoint.h, the daemon is
# started with ENCLAVE_CRASH_POINT naming it (a test daemon only:
# --enable-test-actions), the operation that reaches it is run, the
# daemon dies there on the spot (_exit, like kill -9), and a plain
# restart must leave nothing behind: doctor finds no problem, no cgroup
# is frozen, nothing is left in tmp/, no mount under the state dir, no
# cgroup, veth, address lease, loop device or host id lease that no
# running workspace owns, no row in a state between two others, and the
# workspace that ran all along ("keeper") is adopted and answers. Then
# the workspace the operation was about must work again (start, exec,
# destroy).
. "$(dirname "$0")/lib.sh"
require_root
. "$(dirname "$0")/workspace-setup.sh"
command -v sqlite3 >/dev/null || skip_all "sqlite3 is needed to inspect the registry"
ws_setup
DB=$ENC_STATE/registry.db
LEASES=/var/lib/enclave-ids
STATE_REAL=$(realpath "$ENC_STATE")
POINTS_H=$(cd "$(dirname "$0")/../.." && pwd)/src/base/crashpoint.h
POINTS=${CRASH_POINTS:-}
[ -n "$POINTS" ] || POINTS=$(sed -n 's/.*X([A-Z_]*, *"\([a-z-]*\)").*/\1/p' "$POINTS_H")
PROJ=$ENC_DIR/proj
mkdir -p "$PROJ"
cat >"$PROJ/Enclavefile" <<EOF
[sandbox]
name = "$SB"
bootstrap_method = "cached_rootfs"

[workspace.p1]

[workspace.p2]
disk_mb = 32
EOF

q() { sqlite3 -readonly -cmd '.timeout 5000' "$DB" "$1" 2>/dev/null; }
# A restart recovers what the crash left before it answers; on a loaded
# machine that can take longer than the default 10 s wait. The start's
# own message goes to the TAP log when it fails.
daemon_up() { # [CRASH_POINT]
        enc -q daemon stop >/dev/null 2>&1
        local out
        out=$(ENCLAVE_CRASH_POINT="${1:-}" enc daemon start --enable-test-actions --wait-secs 90 2>&1) && return 0
        printf '%s\n' "$out" | sed 's/^/# daemon start: /'
        tail -5 "$ENC_STATE/daemon.log" 2>/dev/null | sed 's/^/# daemon.log: /'
        return 1
}
daemon_gone() {
        local pid; pid=$(cat "$ENC_PIDFILE" 2>/dev/null)
        [ -z "$pid" ] && return 0
        for _ in $(seq 100); do
                [ -d "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 0
                sleep 0.05
        done
        return 1
}
wsq() { timeout 60 "$ENCLAVE" --config "$ENC_CONFIG" --socket "$ENC_SOCK" "$@" </dev/null >/dev/null 2>&1; }
# A frozen workspace makes exec hang: every exec here has a deadline.
tenc() { timeout 20 "$ENCLAVE" --config "$ENC_CONFIG" --socket "$ENC_SOCK" "$@" </dev/null; }
lenc() { timeout 120 "$ENCLAVE" --config "$ENC_CONFIG" --socket "$ENC_SOCK" "$@" </dev/null; }

# The keeper runs through every crash and restart.
ok "daemon with test actions" daemon_up
ok "keeper created" enc workspace create "$SB" keeper
ok "keeper started" enc workspace start "$SB" keeper
KEEPER_PID=$(ws_pid "$SB" keeper)

# Everything a crash could leave, after the restart; prints what it found.
leftovers() {
        local json probs
        json=$(enc --json doctor 2>/dev/null)
        probs=$(printf '%s' "$json" | python3 -c 'import json,sys
d = json.load(sys.stdin)
print(" ".join("%s(%s)" % (c["id"], "; ".join(c.get("items") or [])) for c in d["checks"] if c["status"] == "fail"))' 2>&1)
        [ -n "$probs" ] && echo "doctor: $probs"
        local f
        for f in /sys/fs/cgroup/*/enclave-"$ENC_BRIDGE"/*/*/cgroup.freeze; do
                [ -f "$f" ] && [ "$(cat "$f")" = 1 ] && echo "frozen: $f"
        done
        for f in /sys/fs/cgroup/freezer/enclave-"$ENC_BRIDGE"/*/*/freezer.state; do
                [ -f "$f" ] && [ "$(cat "$f")" != THAWED ] && echo "frozen: $f"
        done
        [ -n "$(ls -A "$ENC_STATE/tmp" 2>/dev/null)" ] && echo "tmp/: $(ls -A "$ENC_STATE/tmp" | tr '\n' ' ')"
        grep -F " $STATE_REAL/" /proc/self/mountinfo | awk '{print "mount: " $5}'
        local running; running=$(q "SELECT s.name || '/' || w.name FROM workspaces w JOIN sandboxes s ON s.id = w.sandbox_id WHERE w.state = 'running'")
        local d
        for d in /sys/fs/cgroup/*/enclave-"$ENC_BRIDGE"/*/*/; do
                [ -d "$d" ] || continue
                local n; n=$(basename "$(dirname "$d")")/$(basename "$d")
                grep -qx "$n" <<<"$running" || echo "cgroup: $d"
        done
        local n_run n_veth
        n_run=$(printf '%s\n' "$running" | grep -c .)
        n_veth=$(ws_veths | grep -c .)
        [ "$n_veth" = "$n_run" ] || echo "veths: $n_veth for $n_run running workspace(s)"
        for f in /sys/block/loop*/loop/backing_file; do
                [ -f "$f" ] || continue
                local b; b=$(cat "$f")
                case $b in "$STATE_REAL"/*)
                        local ws; ws=$(sed -n 's|.*/sandboxes/\([^/]*\)/workspaces/\([^/]*\)/.*|\1/\2|p' <<<"$b")
                        grep -qx "$ws" <<<"$running" || echo "loop: $f -> $b" ;;
                esac
        done
        local rows own
        rows=$(q "SELECT count(*) FROM workspaces")
        own=$(grep -lx "state_dir=$STATE_REAL" "$LEASES"/[0-9]* 2>/dev/null | wc -l)
        [ "$own" = "$rows" ] || echo "id leases: $own for $rows workspace row(s)"
        local stale_ip; stale_ip=$(q "SELECT count(*) FROM ip_leases l JOIN workspaces w ON w.id = l.workspace_id WHERE w.state != 'running'")
        [ "${stale_ip:-0}" = 0 ] || echo "address leases of workspaces that do not run: $stale_ip"
        local odd; odd=$(q "SELECT name || ':' || state FROM workspaces WHERE state NOT IN ('created', 'running', 'stopped', 'failed')")
        [ -n "$odd" ] && echo "rows between states: $odd"
        find "$ENC_STATE/sandboxes" -maxdepth 5 \( -name '.create-*' -o -name '.restore-tmp' -o -name '.import-*' -o -name '.delete-*' -o -name 'disk.img.new' \) 2>/dev/null | sed 's/^/half-built: /'
        [ "$(ws_pid "$SB" keeper)" = "$KEEPER_PID" ] || echo "keeper: not adopted (pid $(ws_pid "$SB" keeper), was $KEEPER_PID)"
        tenc workspace exec "$SB" keeper -- true >/dev/null 2>&1 ||
                echo "keeper: exec does not answer"
        return 0
}

# What each point needs before the daemon that dies is started.
prepare() {
        case $1 in
        workspace-start-* | workspace-destroy-* | snapshot-restore-*)
                wsq workspace create "$SB" v --disk-mb 32 ;;
        workspace-stop-* | snapshot-create-*)
                wsq workspace create "$SB" v --disk-mb 32
                wsq workspace start "$SB" v
                wsq workspace exec "$SB" v -- sh -c 'dd if=/dev/zero of=/var/data bs=1k count=2048' ;;
        repair-*)
                mkdir -p "$ENC_STATE/sandboxes/$SB/workspaces/stray1" "$ENC_STATE/sandboxes/$SB/workspaces/stray2" ;;
        esac
        case $1 in
        workspace-destroy-*) wsq workspace start "$SB" v ;;
        snapshot-restore-*)
                wsq workspace start "$SB" v
                wsq workspace exec "$SB" v -- sh -c 'echo one > /etc/marker'
                wsq snapshot create "$SB" v --name s1
                wsq workspace exec "$SB" v -- sh -c 'echo two > /etc/marker'
                wsq workspace stop "$SB" v ;;
        esac
        return 0
}

# The operation that reaches the point.
trigger() {
        case $1 in
        sandbox-create-*) lenc create sb2 --bootstrap-method cached_rootfs ;;
        workspace-create-*) lenc workspace create "$SB" v --disk-mb 32 ;;
        workspace-start-*) lenc workspace start "$SB" v ;;
        workspace-stop-*) lenc workspace stop "$SB" v ;;
        workspace-destroy-*) lenc workspace destroy "$SB" v ;;
        snapshot-create-*) lenc snapshot create "$SB" v --name s2 ;;
        snapshot-restore-*) lenc snapshot restore "$SB" v s1 ;;
        project-up-*) (cd "$PROJ" && lenc up) ;;
        repair-*) lenc registry repair ;;
        esac
}

# After the restart: what the operation was about works again.
afterwards() {
        local out
        case $1 in
        workspace-* | snapshot-*)
                if enc --json workspace status "$SB" v >/dev/null 2>&1; then
                        out=$(tenc workspace start "$SB" v 2>&1) || { echo "start v again: $out"; return; }
                        out=$(tenc workspace exec "$SB" v -- sh -c 'echo ok' 2>&1)
                        [ "$out" = ok ] || echo "exec in v: $out"
                        out=$(tenc workspace exec "$SB" v -- df -m /home 2>&1)
                        case $out in *" 2"[0-9]" "* | *" 3"[0-9]" "*) ;; *) echo "v lost its disk quota: $out" ;; esac
                fi ;;
        esac
        case $1 in
        snapshot-restore-*)
                out=$(tenc workspace exec "$SB" v -- cat /etc/marker 2>&1)
                [ "$out" = one ] || [ "$out" = two ] || echo "restore left /etc/marker as '$out'" ;;
        sandbox-create-*)
                [ -z "$(q "SELECT name FROM sandboxes WHERE name = 'sb2'")" ] || echo "sandbox sb2 still has a row" ;;
        esac
}

cleanup_point() {
        wsq workspace destroy "$SB" v
        wsq workspace destroy "$SB" p1
        wsq workspace destroy "$SB" p2
        wsq destroy sb2 --force
        rm -rf "$ENC_STATE/sandboxes/$SB/workspaces/stray1" "$ENC_STATE/sandboxes/$SB/workspaces/stray2"
}

n_points=0
for p in $POINTS; do
        n_points=$((n_points + 1))
        prepare "$p"
        if ! daemon_up "$p"; then
                tap_fail "$p: daemon starts armed"
                continue
        fi
        out=$(trigger "$p" 2>&1)
        if daemon_gone && grep -q "crash point $p reached" "$ENC_STATE/daemon.log"; then
                tap_ok "$p: the daemon died there"
        else
                tap_fail "$p: the daemon died there" "$(printf '%s' "$out" | tail -3)"
        fi
        if ! daemon_up; then
                tap_fail "$p: daemon restarts"
                continue
        fi
        # A repair cut short left what it had not fixed yet (the planted
        # damage is no crash's doing): the next repair finishes it.
        case $p in repair-*) enc -q registry repair >/dev/null 2>&1 ;; esac
        found=$(leftovers)
        is "$p: nothing left after the restart" "$found" ""
        is "$p: the workspace works again" "$(afterwards "$p")" ""
        cleanup_point
        found=$(leftovers)
        is "$p: and nothing after cleaning up" "$found" ""
done
[ -n "${CRASH_POINTS:-}" ] || [ "$n_points" -ge 15 ] && tap_ok "every crash point ran ($n_points)" || tap_fail "every crash point ran" "$n_points"

enc -q daemon stop >/dev/null 2>&1
ENCLAVE_CRASH_POINT=workspace-create-leased enc daemon start >/dev/null 2>&1
ok "a production daemon ignores the variable: a create goes through" enc workspace create "$SB" after
contains "it said so in its log" "$(cat "$ENC_STATE/daemon.log")" "ignoring ENCLAVE_CRASH_POINT"
out=$(ENCLAVE_CRASH_POINT=no-such-point enc daemon stop >/dev/null 2>&1; ENCLAVE_CRASH_POINT=no-such-point enc daemon start --enable-test-actions 2>&1); rc=$?
[ "$rc" -ne 0 ] && tap_ok "an unknown crash point is refused" || tap_fail "an unknown crash point is refused" "$out"
ok "daemon back" daemon_up
done_testing
