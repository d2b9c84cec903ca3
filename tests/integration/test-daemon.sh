#!/usr/bin/env bash
# The daemon and its control plane (SPEC §2 daemon commands, §4, §9):
# start/status/stop, ping, health, the pid-file guard, two daemons side by
# side, hostile clients (oversized, garbage, stalled, not reading), fd
# passing, the policy engine, rate limits and crash safety (kill -9 during
# a long action, then restart and reconcile).
. "$(dirname "$0")/lib.sh"
require_root
command -v sqlite3 >/dev/null || skip_all "sqlite3 is needed to inspect the registry"
PY=/usr/bin/python3
[ -x "$PY" ] || skip_all "$PY is needed for the raw protocol client"
enc_setup

# Every daemon of this test runs with debug.* actions and a short request
# timeout, so a stalled client is cut off quickly.
DOPTS=(--enable-test-actions --request-timeout-ms 1500)
NOBODY=65534
as_nobody() { setpriv --reuid $NOBODY --regid $NOBODY --clear-groups "$@"; }

# A raw protocol client: the CLI never sends bad requests, so this does.
CLIENT=$ENC_DIR/client.py
cat >"$CLIENT" <<'PY'
import array, json, os, socket, struct, sys, threading, time

def conn(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s

def frame(obj):
    b = json.dumps(obj).encode()
    return struct.pack(">I", len(b)) + b

def recv_msg(s, timeout=10):
    s.settimeout(timeout)
    h = b""
    while len(h) < 4:
        c = s.recv(4 - len(h))
        if not c:
            return None
        h += c
    n = struct.unpack(">I", h)[0]
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            return None
        b += c
    return json.loads(b)

def closed_within(s, secs):
    """True when the daemon closes the connection (EOF/reset) within secs."""
    end = time.time() + secs
    s.settimeout(0.2)
    while time.time() < end:
        try:
            if s.recv(65536) == b"":
                return True
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False

def out(**kw):
    print(json.dumps(kw), flush=True)

path, mode = sys.argv[1], sys.argv[2]

if mode == "call":  # call ACTION [PARAMS-JSON]: print every message
    s = conn(path)
    params = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    s.sendall(frame({"v": 1, "id": 1, "action": sys.argv[3], "params": params}))
    while True:
        m = recv_msg(s, 60)
        print(json.dumps(m), flush=True)
        if m is None or "event" not in m:
            break

elif mode == "oversized":  # a 1.5 MiB request
    s = conn(path)
    big = {"v": 1, "id": 1, "action": "daemon.ping", "params": {"x": "a" * (1536 * 1024)}}
    try:
        s.sendall(frame(big))
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        m = recv_msg(s, 5)
    except (ConnectionResetError, BrokenPipeError):
        m = None
    out(reply=m, closed=closed_within(s, 5))

elif mode == "garbage":  # bytes that are no frame at all
    s = conn(path)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        m = recv_msg(s, 5)
    except ConnectionResetError:
        m = None
    out(reply=m, closed=closed_within(s, 5))

elif mode == "badjson":  # valid frames, bad contents; the connection stays usable
    s = conn(path)
    replies = []
    for body in [b"{not json", b"[1,2]", json.dumps({"id": 2, "action": "daemon.ping"}).encode(),
                 json.dumps({"v": 9, "id": 3, "action": "daemon.ping"}).encode(),
                 json.dumps({"v": 1, "id": 4, "action": "no.such_action"}).encode(),
                 json.dumps({"v": 1, "id": 5, "action": "Bad Name!"}).encode(),
                 json.dumps({"v": 1, "id": 6, "action": "daemon.ping"}).encode()]:
        s.sendall(struct.pack(">I", len(body)) + body)
        replies.append(recv_msg(s, 5))
    out(replies=replies)

elif mode == "stall":  # half a request, then silence; SIGNAL file when sent
    s = conn(path)
    body = json.dumps({"v": 1, "id": 1, "action": "daemon.ping"}).encode()
    s.sendall(struct.pack(">I", len(body)) + body[:5])
    open(sys.argv[3], "w").write("stalled\n")
    t0 = time.time()
    closed = closed_within(s, 15)
    out(closed=closed, after=round(time.time() - t0, 2))

elif mode == "noread":  # pipeline many requests and never read a reply
    s = conn(path)
    # ~1.3 MB of replies: far more than the socket buffers hold, and
    # within the per-uid burst so they are real replies, not refusals.
    data = b"".join(frame({"v": 1, "id": i, "action": "daemon.health"}) for i in range(1500))
    s.setblocking(False)
    sent = 0
    end = time.time() + 3
    while sent < len(data) and time.time() < end:
        try:
            sent += s.send(data[sent:sent + 65536])
        except BlockingIOError:
            time.sleep(0.01)
        except (BrokenPipeError, ConnectionResetError):
            break
    open(sys.argv[3], "w").write("sent %d\n" % sent)
    time.sleep(float(sys.argv[4]))
    out(sent=sent)

elif mode == "fds":  # an fd with a request; and an fd announced but missing
    s = conn(path)
    r, w = os.pipe()
    body = json.dumps({"v": 1, "id": 1, "action": "daemon.ping", "fds": 1}).encode()
    s.sendmsg([struct.pack(">I", len(body)) + body], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [r]))])
    m1 = recv_msg(s, 5)
    os.close(r)
    os.close(w)
    s2 = conn(path)
    s2.sendall(frame({"v": 1, "id": 2, "action": "daemon.ping", "fds": 2}))
    m2 = recv_msg(s2, 5)
    out(with_fd=m1, missing=m2)

elif mode == "flood":  # pings as fast as possible; count the outcomes
    # Until SECS after the first rate-limited reply (touching MARKER
    # then), or 60 s: a slow machine takes longer to empty the bucket.
    s = conn(path)
    secs = float(sys.argv[3])
    marker = sys.argv[4]
    counts = {}
    msg = None
    end = time.time() + 60
    i = 0
    while time.time() < end:
        batch = b"".join(frame({"v": 1, "id": i + k, "action": "daemon.ping"}) for k in range(200))
        s.sendall(batch)
        for k in range(200):
            m = recv_msg(s, 10)
            kind = m["error"]["kind"] if "error" in m else "ok"
            counts[kind] = counts.get(kind, 0) + 1
            if kind == "rate_limited" and msg is None:
                msg = m["error"]["message"]
                open(marker, "w").close()
                end = time.time() + secs
        i += 200
    out(counts=counts, message=msg)

elif mode == "sleep":  # debug.sleep holding a transaction; note the first tick
    s = conn(path)
    s.sendall(frame({"v": 1, "id": 1, "action": "debug.sleep",
                     "params": {"seconds": 60, "hold_transaction": True}}))
    first = True
    while True:
        try:
            m = recv_msg(s, 90)
        except ConnectionResetError:
            m = None
        if m is None:
            out(ended="connection closed")
            break
        if first and "event" in m:
            open(sys.argv[3], "w").write("tick\n")
            first = False
        if "event" not in m:
            out(ended="reply", msg=m)
            break
PY

jq_py() { "$PY" -c "import json,sys; d=json.load(sys.stdin); $1"; }
wait_for_file() { for _ in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.05; done; return 1; }
daemon_pid() { cat "$ENC_PIDFILE" 2>/dev/null; }

# ---------------------------------------------------------------- lifecycle
out=$(enc daemon status 2>&1); rc=$?
is "status before start exits 3" "$rc" 3
contains "status says not running" "$out" "not running"

out=$(enc daemon start "${DOPTS[@]}" 2>&1); rc=$?
is "daemon start exits 0" "$rc" 0
contains "start reports the pid" "$out" "started (pid"
ok "pid file written" test -s "$ENC_PIDFILE"
PID=$(daemon_pid)
ok "daemon process runs" kill -0 "$PID"
is "daemon is its own session leader" "$(ps -o sid= -p "$PID" | tr -d ' ')" "$PID"
ok "daemon log has timestamps" grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T.*daemon ready' "$ENC_STATE/daemon.log"

out=$(enc daemon start 2>&1); rc=$?
is "second start is a no-op (exit 0)" "$rc" 0
contains "second start says already running" "$out" "already running (pid $PID)"

out=$(enc daemon status 2>&1); rc=$?
is "status exits 0 when running" "$rc" 0
contains "status shows the pid" "$out" "pid:       $PID"
contains "status shows the socket" "$out" "$ENC_SOCK"
contains "status shows the uptime" "$out" "uptime:"

out=$(enc ping 2>&1); rc=$?
is "ping exits 0" "$rc" 0
contains "ping answers" "$out" "pong from enclave daemon"

sockmode=$(stat -c '%a %U' "$ENC_SOCK")
if getent group enclave >/dev/null; then want="660 root"; else want="600 root"; fi
is "socket is root's, mode 0600 (0660 with group enclave)" "$sockmode" "$want"
is "registry is private (0600)" "$(stat -c '%a' "$ENC_STATE/registry.db")" 600
is "registry is in WAL mode" "$(sqlite3 "$ENC_STATE/registry.db" 'PRAGMA journal_mode')" wal

# ------------------------------------------------------------------- health
json=$(enc --json health 2>&1); rc=$?
is "health --json exits 0" "$rc" 0
fields=$(printf '%s' "$json" | jq_py '
print(" ".join(k for k in ["version","pid","uptime_secs","state_dir","socket","counts","cgroup","firewall","registry"] if k in d))' 2>&1)
is "health --json parses and has every field" "$fields" "version pid uptime_secs state_dir socket counts cgroup firewall registry"
is "health names this state dir" "$(printf '%s' "$json" | jq_py 'print(d["state_dir"])')" "$ENC_STATE"
is "health counts sandboxes and workspaces" "$(printf '%s' "$json" | jq_py 'c=d["counts"]; print(c["sandboxes"], c["workspaces"], c["workspaces_running"])')" "0 0 0"
cg=$(printf '%s' "$json" | jq_py 'print(d["cgroup"])')
case $cg in v1|v2|hybrid) tap_ok "health detects the cgroup mode ($cg)" ;; *) tap_fail "health detects the cgroup mode" "got '$cg'" ;; esac
if [ -d /sys/fs/cgroup/unified ] && [ "$(stat -fc %T /sys/fs/cgroup)" = tmpfs ]; then
        is "this host is reported as hybrid" "$cg" hybrid
fi
is "health shows the firewall setting" "$(printf '%s' "$json" | jq_py 'print(d["firewall"])')" auto
is "health shows the configured bridge" "$(printf '%s' "$json" | jq_py 'print(d["bridge"])')" "$ENC_BRIDGE"
out=$(enc health 2>&1)
contains "health text shows workspaces" "$out" "workspaces:  0 (0 running)"

# ---------------------------------------------------------- pid-file guard
out=$(timeout 10 "$ENCLAVE" --config "$ENC_CONFIG" daemon run --socket "$ENC_DIR/run/other.sock" \
        --pid-file "$ENC_DIR/run/other.pid" 2>&1); rc=$?
is "a second daemon on the same state dir is refused" "$rc" 1
contains "the refusal names the running daemon" "$out" "already running with state dir lock"
out=$(timeout 10 "$ENCLAVE" --config "$ENC_CONFIG" daemon run --state-dir "$ENC_DIR/other-state" \
        --socket "$ENC_DIR/run/other.sock" 2>&1); rc=$?
is "a second daemon with the same pid file is refused" "$rc" 1
contains "the refusal names the pid file" "$out" "(pid $PID) is already running with pid file"
ok "the refused daemons left no socket" test ! -e "$ENC_DIR/run/other.sock"
ok "the first daemon still answers" enc ping

# ------------------------------------------------------------ side by side
B=$ENC_DIR/b
mkdir -p "$B"
on_exit "[ -s '$B/pid' ] && kill -9 \$(cat '$B/pid') 2>/dev/null"
out=$("$ENCLAVE" --socket "$B/sock" daemon start --state-dir "$B/state" --pid-file "$B/pid" 2>&1); rc=$?
is "a second daemon with its own state dir, socket and pid file starts" "$rc" 0
ok "the first daemon answers" enc ping
ok "the second daemon answers" "$ENCLAVE" --socket "$B/sock" ping
is "the second daemon uses its own state dir (command line over config)" \
        "$("$ENCLAVE" --socket "$B/sock" --json health | jq_py 'print(d["state_dir"])')" "$B/state"
BPID=$(cat "$B/pid")
ok "the second daemon stops" "$ENCLAVE" --socket "$B/sock" daemon stop
ok "its process is gone" test ! -d "/proc/$BPID" -o "$(awk '{print $3}' /proc/$BPID/stat 2>/dev/null)" = Z
ok "the first daemon still answers" enc ping

# --------------------------------------------------------- hostile clients
res=$("$PY" "$CLIENT" "$ENC_SOCK" oversized 2>&1 & p=$!; sleep 0.2; enc ping >/dev/null 2>&1; echo "ping=$?" >"$ENC_DIR/par"; wait $p)
is "a ping in parallel with an oversized request works" "$(cat "$ENC_DIR/par")" "ping=0"
is "oversized request: error kind too_large" "$(printf '%s' "$res" | jq_py 'print(d["reply"]["error"]["kind"])' 2>&1)" too_large
is "oversized request: that connection is closed" "$(printf '%s' "$res" | jq_py 'print(d["closed"])' 2>&1)" True

res=$("$PY" "$CLIENT" "$ENC_SOCK" garbage 2>&1)
is "garbage bytes: the connection is closed" "$(printf '%s' "$res" | jq_py 'print(d["closed"])' 2>&1)" True
contains "garbage bytes: a clear error first" "$res" "not a valid frame"
ok "the daemon still answers after garbage" enc ping

res=$("$PY" "$CLIENT" "$ENC_SOCK" badjson 2>&1)
kinds=$(printf '%s' "$res" | jq_py 'print(" ".join(r["error"]["kind"] if "error" in r else "ok" for r in d["replies"]))' 2>&1)
is "malformed JSON, non-object, no version, wrong version, unknown action, bad name, then ok" \
        "$kinds" "invalid invalid version version unknown_action invalid ok"
contains "malformed JSON names the position" "$res" "malformed JSON request at line 1"
contains "wrong version says which it speaks" "$res" "unsupported protocol version 9 (this daemon speaks version 1)"
contains "reserved action names are 'not built'" "$("$PY" "$CLIENT" "$ENC_SOCK" call project.restart)" '"kind": "not_built"'

res=$("$PY" "$CLIENT" "$ENC_SOCK" fds 2>&1)
is "a request with an fd is served" "$(printf '%s' "$res" | jq_py 'print(d["with_fd"]["result"]["pong"])' 2>&1)" True
is "fds announced but not sent: invalid" "$(printf '%s' "$res" | jq_py 'print(d["missing"]["error"]["kind"])' 2>&1)" invalid

rm -f "$ENC_DIR/stalled"
"$PY" "$CLIENT" "$ENC_SOCK" stall "$ENC_DIR/stalled" >"$ENC_DIR/stall.out" 2>&1 &
stall_pid=$!
wait_for_file "$ENC_DIR/stalled"
start=$(date +%s%N)
ok "ping works while a client holds half a request" enc ping
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 1000 ] && tap_ok "that ping was not delayed (${ms} ms)" || tap_fail "that ping was not delayed" "${ms} ms"
wait $stall_pid
res=$(cat "$ENC_DIR/stall.out")
is "the stalled client is cut off" "$(printf '%s' "$res" | jq_py 'print(d["closed"])' 2>&1)" True
after=$(printf '%s' "$res" | jq_py 'print(d["after"])' 2>&1)
"$PY" -c "import sys; sys.exit(0 if 1.0 <= float('$after') <= 6 else 1)" &&
        tap_ok "cut off after the request timeout (${after}s, timeout 1.5s)" ||
        tap_fail "cut off after the request timeout" "after ${after}s"

# This test's own socket: let uid $NOBODY reach it (for the rest of the test).
chmod 0666 "$ENC_SOCK"
mkdir -m 1777 "$ENC_DIR/shared"
as_nobody "$PY" "$CLIENT" "$ENC_SOCK" noread "$ENC_DIR/shared/noread" 3 >/dev/null 2>&1 &
noread_pid=$!
wait_for_file "$ENC_DIR/shared/noread"
ok "ping works while a client never reads its replies" timeout 5 "$ENCLAVE" --socket "$ENC_SOCK" ping
ok "health works too" timeout 5 "$ENCLAVE" --socket "$ENC_SOCK" health
wait $noread_pid

# ------------------------------------------------------------------- policy
ok "root adds a uid rule" enc policy deny --uid $NOBODY 'workspace.*'
out=$(enc policy show 2>&1)
contains "policy show lists it" "$out" "uid $NOBODY  deny    workspace.*"
res=$(as_nobody "$PY" "$CLIENT" "$ENC_SOCK" call workspace.exec 2>&1)
contains "uid $NOBODY is denied workspace.exec, naming the rule" "$res" \
        "denied: rule 'deny uid $NOBODY workspace.*' matches 'workspace.exec'"
contains "the denial has kind 'denied'" "$res" '"kind": "denied"'
ok "uid $NOBODY may still ping" as_nobody "$ENCLAVE" --socket "$ENC_SOCK" ping
res=$("$PY" "$CLIENT" "$ENC_SOCK" call workspace.exec 2>&1)
lacks "root is not affected by uid $NOBODY's rule" "$res" '"kind": "denied"'
out=$(as_nobody "$ENCLAVE" --socket "$ENC_SOCK" policy default allow 2>&1); rc=$?
is "uid $NOBODY cannot change the policy (exit 1)" "$rc" 1
contains "it is told why" "$out" "may only be run by root"

ok "default deny" enc policy default deny
out=$(as_nobody "$ENCLAVE" --socket "$ENC_SOCK" ping 2>&1); rc=$?
is "uid $NOBODY ping is denied under default deny" "$rc" 1
contains "the denial names the default" "$out" "the default policy is 'deny'"
ok "root still pings under default deny" enc ping
ok "uid rule allow overrides default deny" enc policy allow --uid $NOBODY 'daemon.ping'
ok "uid $NOBODY may ping again" as_nobody "$ENCLAVE" --socket "$ENC_SOCK" ping
ok "a wildcard deny of everything" enc policy deny '*'
ok "uid rules override wildcard rules" as_nobody "$ENCLAVE" --socket "$ENC_SOCK" ping
ok "root can always change the policy, even under deny '*'" enc policy allow --uid 12345 'sandbox.*'
out=$(enc ping 2>&1); rc=$?
is "a wildcard deny applies to root's non-policy actions" "$rc" 1
contains "naming the rule" "$out" "denied: rule 'deny all *' matches 'daemon.ping'"
ok "clear --uid removes one uid's rules" enc policy clear --uid 12345
ok "clear removes every rule" enc policy clear
out=$(enc --json policy show)
is "after clear: no rules, default allow" "$(printf '%s' "$out" | jq_py 'print(len(d["rules"]), d["default"])')" "0 allow"
ok "uid $NOBODY may ping after clear" as_nobody "$ENCLAVE" --socket "$ENC_SOCK" ping
res=$(as_nobody "$PY" "$CLIENT" "$ENC_SOCK" call workspace.exec 2>&1)
lacks "workspace.exec is no longer denied for uid $NOBODY" "$res" '"kind": "denied"'
fails "an invalid pattern is refused" enc policy allow 'Workspace/../x'
ok "keep one rule to check persistence later" enc policy deny --uid 4242 'snapshot.*'

# -------------------------------------------------------------- rate limits
nfail=0
for _ in $(seq 500); do enc -q ping >/dev/null 2>&1 || nfail=$((nfail + 1)); done
is "500 back-to-back pings from one uid are all served" "$nfail" 0

mkdir "$ENC_DIR/flood" && chown "$NOBODY" "$ENC_DIR/flood"
as_nobody "$PY" "$CLIENT" "$ENC_SOCK" flood 5 "$ENC_DIR/flood/limited" >"$ENC_DIR/flood.out" 2>&1 &
flood_pid=$!
for _ in $(seq 600); do [ -e "$ENC_DIR/flood/limited" ] && break; sleep 0.1; done
limited=0 notrunning=0
for _ in $(seq 10); do
        out=$(as_nobody "$ENCLAVE" --socket "$ENC_SOCK" ping 2>&1)
        case $out in *"rate limited"*) limited=$((limited + 1)) ;; esac
        case $out in *"not running"*) notrunning=$((notrunning + 1)) ;; esac
done
ok "root is served while uid $NOBODY floods" enc ping
wait $flood_pid
res=$(cat "$ENC_DIR/flood.out")
n_limited=$(printf '%s' "$res" | jq_py 'print(d["counts"].get("rate_limited", 0))' 2>&1)
n_ok=$(printf '%s' "$res" | jq_py 'print(d["counts"].get("ok", 0))' 2>&1)
[ "${n_limited:-0}" -gt 0 ] 2>/dev/null && tap_ok "a flood is rate limited ($n_ok served, $n_limited limited)" ||
        tap_fail "a flood is rate limited" "$res"
[ "${n_ok:-0}" -ge 2000 ] 2>/dev/null && tap_ok "the flood still got its burst and rate" || tap_fail "flood served" "$res"
contains "the flood's error says rate limited" "$res" "rate limited: uid $NOBODY"
[ "$limited" -gt 0 ] && tap_ok "the CLI reports 'rate limited' ($limited of 10)" ||
        tap_fail "the CLI reports 'rate limited'" "none of 10 pings was limited"
is "a rate-limited request never reads as 'not running'" "$notrunning" 0

# ---------------------------------------------------- kill -9 mid-operation
rm -f "$ENC_DIR/tick"
"$PY" "$CLIENT" "$ENC_SOCK" sleep "$ENC_DIR/tick" >"$ENC_DIR/sleep.out" 2>&1 &
sleep_pid=$!
wait_for_file "$ENC_DIR/tick"
ok "debug.sleep streams events" test -s "$ENC_DIR/tick"
ok "other clients are served during the long action" enc ping
is "health counts the long action" "$(enc --json health | jq_py 'print(d["server"]["long_actions"])')" 1
PID=$(daemon_pid)
kill -9 "$PID"
wait $sleep_pid
contains "the client of the long action sees the connection end" "$(cat "$ENC_DIR/sleep.out")" "connection closed"
for _ in $(seq 100); do [ -d "/proc/$PID" ] && [ "$(awk '{print $3}' "/proc/$PID/stat" 2>/dev/null)" != Z ] || break; sleep 0.05; done
ok "the stale socket is left behind" test -S "$ENC_SOCK"

# A workspace the registry says runs, whose process is gone, and one that
# really runs (this shell, with its start time): only the first is reaped.
DB=$ENC_STATE/registry.db
self_start=$(awk '{sub(/.*\) /, ""); print $20}' /proc/$$/stat)
sqlite3 "$DB" "PRAGMA foreign_keys=ON;
INSERT INTO sandboxes (name, suite, mirror, bootstrap_method, state) VALUES ('sb', 'bookworm', 'http://x', 'debootstrap', 'ready');
INSERT INTO workspaces (sandbox_id, name, state, pid, pid_start_time) VALUES (1, 'dead', 'running', 999999, 1);
INSERT INTO workspaces (sandbox_id, name, state, pid, pid_start_time) VALUES (1, 'alive', 'running', $$, $self_start);"

out=$(enc daemon start "${DOPTS[@]}" 2>&1); rc=$?
is "the daemon restarts after kill -9 (locks released, stale socket removed)" "$rc" 0
ok "the new daemon answers" enc ping
ok "it logged removing the stale socket" grep -q "removing stale socket" "$ENC_STATE/daemon.log"
is "registry integrity_check ok" "$(sqlite3 "$DB" 'PRAGMA integrity_check')" ok
is "no foreign key violations" "$(sqlite3 "$DB" 'PRAGMA foreign_key_check' | wc -l)" 0
is "the uncommitted write of the killed action is gone" \
        "$(sqlite3 "$DB" "SELECT count(*) FROM policy_rules WHERE pattern = 'debug.uncommitted'")" 0
contains "committed policy survived" "$(enc --json policy show)" '"rule": "deny uid 4242 snapshot.*"'
is "the dead workspace was marked stopped" "$(sqlite3 "$DB" "SELECT state || ',' || ifnull(pid, 'null') FROM workspaces WHERE name = 'dead'")" "stopped,null"
is "the live workspace is still running" "$(sqlite3 "$DB" "SELECT state FROM workspaces WHERE name = 'alive'")" running
is "health counts them" "$(enc --json health | jq_py 'c=d["counts"]; print(c["sandboxes"], c["workspaces"], c["workspaces_running"])')" "1 2 1"
is "the schema has a version" "$(sqlite3 "$DB" 'SELECT version FROM schema_version')" 4

# kill -9 at arbitrary instants while policy changes are committed.
bad=0
for round in 1 2 3 4 5; do
        ( for i in $(seq 200); do enc -q policy deny --uid $((5000 + i)) "sandbox.r$round" >/dev/null 2>&1 || exit 0; done ) &
        writer=$!
        sleep "0.$((RANDOM % 4 + 1))"
        kill -9 "$(daemon_pid)"
        wait $writer
        for _ in $(seq 100); do enc -q daemon start "${DOPTS[@]}" >/dev/null 2>&1 && break; sleep 0.05; done
        [ "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok ] || bad=$((bad + 1))
        enc -q ping >/dev/null 2>&1 || bad=$((bad + 1))
done
is "5 kills -9 during writes: registry intact and the daemon back every time" "$bad" 0
rules=$(sqlite3 "$DB" "SELECT count(*) FROM policy_rules WHERE pattern LIKE 'sandbox.r%'")
shown=$(enc --json policy show | jq_py 'print(sum(1 for r in d["rules"] if r["pattern"].startswith("sandbox.r")))')
is "the daemon enforces exactly what was committed ($rules rules)" "$shown" "$rules"
ok "clean up those rules" enc policy clear

# --------------------------------------------------------------------- stop
PID=$(daemon_pid)
out=$(enc daemon stop 2>&1); rc=$?
is "daemon stop exits 0" "$rc" 0
contains "stop waits for the process" "$out" "stopped (pid $PID)"
ok "the daemon process is gone" test ! -d "/proc/$PID" -o "$(awk '{print $3}' /proc/$PID/stat 2>/dev/null)" = Z
ok "the socket is removed" test ! -e "$ENC_SOCK"
ok "the pid file is removed" test ! -e "$ENC_PIDFILE"
out=$(enc daemon status 2>&1); rc=$?
is "status after stop exits 3" "$rc" 3
out=$(enc daemon stop 2>&1); rc=$?
is "stop when not running exits 0" "$rc" 0
contains "and says so" "$out" "not running"
out=$(as_nobody "$ENCLAVE" --socket "$ENC_SOCK" ping 2>&1); rc=$?
contains "a non-root client is told the daemon is not running" "$out" "not running"

# ------------------------------------------------------------- auto-start
out=$(enc ping 2>&1); rc=$?
is "a root CLI command starts the daemon when it is not running" "$rc" 0
contains "and says so" "$out" "starting it"
contains "then gets its answer" "$out" "pong"
ok "the auto-started daemon stops" enc daemon stop

# ------------------------------------------------------------ untrusted socket
"$PY" - "$ENC_DIR/fake.sock" <<'PY' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); os.chown(sys.argv[1], 65534, 65534); s.listen(1); time.sleep(3)
PY
fake_pid=$!
for _ in $(seq 50); do [ -S "$ENC_DIR/fake.sock" ] && break; sleep 0.05; done
out=$("$ENCLAVE" --socket "$ENC_DIR/fake.sock" ping 2>&1); rc=$?
is "a socket not owned by root is refused (exit 1)" "$rc" 1
contains "with the reason" "$out" "not root"
kill $fake_pid 2>/dev/null; wait $fake_pid 2>/dev/null

ok "no daemon of this test is left" test -z "$(pgrep -f "daemon run --socket $ENC_DIR" || true)"
done_testing
