#!/usr/bin/env bash
# `enclave stats` across all workspaces (SPEC §2, §5) against this test's
# own daemon: one sample with --no-stream and when stdout is a pipe (a
# row per running workspace, memory above zero, process counts equal to
# the kernel's cgroup.procs), --json, network counters, CPU % of a busy
# workspace above zero on the second sample, samples taken while a
# workspace starts and stops (never an error, the daemon survives), and
# the live mode on a pseudo-terminal:
# cursor hidden, the table redrawn in place, Ctrl-C ends it with status
# 0 and the cursor shown again (also when the daemon goes away).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workspace-setup.sh"
require_root
command -v python3 >/dev/null || skip_all "python3 is not installed"
ws_setup

json_field() { # json_field PYTHON-EXPR  (stdin: JSON as d)
        python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}
# The sample of workspace $2 in the --json output $1, as a Python expression on w.
ws_field() {
        printf '%s' "$1" | python3 -c "
import json,sys
w=[x for x in json.load(sys.stdin) if x['sandbox']=='$SB' and x['workspace']=='$2']
print($3 if len(w)==1 else 'missing')"
}
# Processes in the workspace's cgroup according to the kernel (v1 pids
# or memory hierarchy, or v2): the ground truth for the PIDS column.
cgroup_procs() {
        local d
        for d in $(ws_cgroup_dirs "$SB" "$1"); do
                [ -f "$d/cgroup.procs" ] && { grep -c . "$d/cgroup.procs"; return; }
        done
        echo none
}

# ---- setup: an idle workspace, one with 2 sleeping children, one busy ----
ok "create idle" enc workspace create "$SB" idle --memory-mb 128
ok "create sleepers" enc workspace create "$SB" sleepers --run 'sleep 1000 & sleep 1000 & wait'
ok "create busy" enc workspace create "$SB" busy --run 'yes >/dev/null'
ok "create a workspace that stays stopped" enc workspace create "$SB" stopped
for w in idle sleepers busy; do
        ok "start $w" enc workspace start "$SB" "$w"
done
# Let the run commands fork their children.
for _ in $(seq 50); do
        [ "$(cgroup_procs sleepers)" = 5 ] && [ "$(cgroup_procs busy)" -ge 2 ] 2>/dev/null && break
        sleep 0.1
done

# ---- --no-stream ----
out=$(enc stats --no-stream 2>&1)
rc=$?
is "stats --no-stream exits 0" "$rc" 0
contains "the first line is the header" "$(printf '%s' "$out" | head -1)" "SANDBOX"
for col in WORKSPACE "CPU %" "MEM USAGE / LIMIT" "MEM %" "NET RX / TX" "BLOCK I/O" PIDS THREADS; do
        contains "column $col" "$(printf '%s' "$out" | head -1)" "$col"
done
is "one row per running workspace" "$(printf '%s\n' "$out" | tail -n +2 | awk -v sb="$SB" '$1 == sb {print $2}' | sort | tr '\n' ' ')" \
        "busy idle sleepers "
lacks "the stopped workspace has no row" "$out" " stopped "
idle_row=$(printf '%s\n' "$out" | awk -v sb="$SB" '$1 == sb && $2 == "idle"')
contains "the idle workspace's row shows its memory limit" "$idle_row" "/ 128.0MiB"
diag "$out"

# ---- not a terminal: one sample, no escape sequences ----
out2=$(timeout 10 "$ENCLAVE" --config "$ENC_CONFIG" --socket "$ENC_SOCK" stats | cat)
is "stats on a pipe prints one table and exits" "$(printf '%s\n' "$out2" | grep -c '^SANDBOX')" 1
lacks "no escape sequences on a pipe" "$out2" $'\033'

# ---- --json ----
js=$(enc stats --json)
is "--json is a JSON array of the 3 running workspaces" "$(printf '%s' "$js" | json_field 'len(d)')" 3
js2=$(enc --json stats --no-stream)
is "the global --json works too" "$(printf '%s' "$js2" | json_field 'type(d).__name__')" list
for w in idle sleepers busy; do
        is "$w: memory used > 0" "$(ws_field "$js" "$w" "w[0]['memory_used'] > 0")" True
        is "$w: processes equal the cgroup's (kernel) count" "$(ws_field "$js" "$w" "w[0]['processes']")" \
                "$(cgroup_procs "$w")"
        is "$w: has its init pid, threads and network counters" \
                "$(ws_field "$js" "$w" "w[0]['pid'] > 0 and w[0]['threads'] >= w[0]['processes'] and w[0]['net_rx'] is not None")" True
done
is "idle: 1 process (its init)" "$(ws_field "$js" idle "w[0]['processes']")" 1
is "sleepers: init, its log writer, sh and 2 sleeps" "$(ws_field "$js" sleepers "w[0]['processes']")" 5
is "idle: memory_limit is 128 MiB" "$(ws_field "$js" idle "w[0]['memory_limit']")" $((128 * 1024 * 1024))
is "sleepers: no memory limit is null" "$(ws_field "$js" sleepers "w[0]['memory_limit']")" None

# ---- network counters: a connection attempt to the bridge's address ----
gw=${ENC_SUBNET%.0/24}.1
tx0=$(ws_field "$js" sleepers "w[0]['net_tx']")
enc workspace exec "$SB" sleepers -- nc -w 1 "$gw" 9 </dev/null >/dev/null 2>&1
tx1=$(ws_field "$(enc stats --json)" sleepers "w[0]['net_tx']")
[ "$tx1" -gt "$tx0" ] 2>/dev/null && tap_ok "NET TX grows after traffic from the workspace ($tx0 -> $tx1 bytes)" ||
        tap_fail "NET TX grows after traffic from the workspace" "$tx0 -> $tx1"

# ---- CPU % from two samples ----
enc stats --no-stream >/dev/null
sleep 1
js=$(enc stats --json)
cpu_busy=$(ws_field "$js" busy "w[0]['cpu_percent']")
cpu_idle=$(ws_field "$js" idle "w[0]['cpu_percent']")
python3 -c "import sys; sys.exit(0 if float('$cpu_busy') > 0 else 1)" &&
        tap_ok "busy (yes >/dev/null): CPU % > 0 on the second sample ($cpu_busy)" ||
        tap_fail "busy: CPU % > 0 on the second sample" "got $cpu_busy"
python3 -c "import sys; sys.exit(0 if float('$cpu_busy') > float('$cpu_idle') else 1)" &&
        tap_ok "busy uses more CPU than idle ($cpu_busy > $cpu_idle)" ||
        tap_fail "busy uses more CPU than idle" "busy $cpu_busy, idle $cpu_idle"
out=$(enc stats --no-stream)
busy_row=$(printf '%s\n' "$out" | awk -v sb="$SB" '$1 == sb && $2 == "busy" {print $3}')
python3 -c "import sys; sys.exit(0 if float('${busy_row%\%}' or 0) > 0 else 1)" 2>/dev/null &&
        tap_ok "the table's CPU % column of busy is above zero ($busy_row)" ||
        tap_fail "the table's CPU % column of busy is above zero" "got '$busy_row'"

# ---- usage errors ----
out=$(enc stats --bogus 2>&1)
is "an unknown option is a usage error (exit 2)" "$?" 2
contains "the usage error names the option" "$out" "--bogus"
contains "stats --help explains the columns" "$(enc stats --help)" "CPU %"

# ---- live mode on a pseudo-terminal ----
# live.py END: run `enclave stats` on a pty (40x160) for 2.6 s, then end
# it with END ("ctrl-c": ^C typed on the terminal; "daemon-stop": the
# daemon goes away) and report what the terminal got.
cat >"$ENC_DIR/live.py" <<'PY'
import fcntl, os, pty, select, signal, struct, subprocess, sys, termios, time
exe, cfg, sock, end = sys.argv[1:5]
cli = [exe, "--config", cfg, "--socket", sock]
pid, fd = pty.fork()
if pid == 0:
    os.execv(exe, cli + ["stats"])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
def read_for(secs):
    buf, until = b"", time.time() + secs
    while time.time() < until:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
    return buf
out = read_for(2.6)
frames = out.count(b"\033[H")
if end == "ctrl-c":
    os.write(fd, b"\x03")  # through the terminal: SIGINT to the foreground group
else:
    subprocess.run(cli + ["daemon", "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
t0 = time.time()
rest, status = b"", None
while time.time() - t0 < 5:
    rest += read_for(0.2)
    p, st = os.waitpid(pid, os.WNOHANG)
    if p:
        status = st
        break
if status is None:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
rest += read_for(0.2)
whole = out + rest
last_show, last_hide = whole.rfind(b"\033[?25h"), whole.rfind(b"\033[?25l")
print("frames=%d" % frames)
print("hidden_first=%s" % whole.startswith(b"\033[?25l"))
print("rows=%s" % all(w in out for w in (b"busy", b"idle", b"sleepers")))
print("cursor_restored=%s" % (last_show > last_hide and last_show > whole.rfind(b"\033[H")))
print("exit=%s" % (os.waitstatus_to_exitcode(status) if status is not None else "hung"))
print("says_why=%s" % (b"enclave" in rest and b"daemon" in rest))
print("tail=%r" % rest[-160:])
PY
live=$(python3 "$ENC_DIR/live.py" "$ENCLAVE" "$ENC_CONFIG" "$ENC_SOCK" ctrl-c)
diag "$(printf '%s' "$live" | tr '\n' ' ')"
frames=$(printf '%s\n' "$live" | sed -n 's/^frames=//p')
[ "${frames:-0}" -ge 2 ] && tap_ok "live mode redraws in place ($frames frames in 2.6 s)" ||
        tap_fail "live mode redraws in place" "$live"
contains "live mode hides the cursor first" "$live" "hidden_first=True"
contains "live mode shows every running workspace" "$live" "rows=True"
contains "Ctrl-C ends live mode with status 0" "$live" "exit=0"
contains "the cursor is shown again after Ctrl-C" "$live" "cursor_restored=True"

diag "enclave stats --no-stream with 3 running workspaces: $(ms_of enc stats --no-stream) ms (never asserted; bench/stats.sh)"

# ---- samples while a workspace starts and stops over and over ----
# The daemon is asked straight on its socket, as often as it answers, so
# samples land in every phase of a start and a stop.
enc workspace create "$SB" cycle >/dev/null 2>&1
( for _ in $(seq 30); do enc workspace start "$SB" cycle; enc workspace stop "$SB" cycle --timeout 1; done ) \
        >"$ENC_DIR/cycle.log" 2>&1 &
cycler=$!
on_exit "kill $cycler"
res=$(python3 - "$ENC_SOCK" "$cycler" <<'PY'
import json, os, socket, struct, sys
sock, cycler = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_UNIX)
s.connect(sock)
n = bad = with_cycle = 0
first_bad = ""
while os.path.exists("/proc/%d" % cycler):
    body = json.dumps({"v": 1, "id": n, "action": "daemon.stats", "params": {}}).encode()
    s.sendall(struct.pack(">I", len(body)) + body)
    m = json.loads(s.recv(struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))[0], socket.MSG_WAITALL))
    n += 1
    ws = m.get("result", {}).get("workspaces")
    if ws is None or any("error" in w for w in ws):
        bad += 1
        first_bad = first_bad or json.dumps(m)[:300]
    elif any(w["workspace"] == "cycle" for w in ws):
        with_cycle += 1
print(n, bad, with_cycle, first_bad)
PY
)
wait "$cycler"
read -r n bad with_cycle first_bad <<<"$res"
diag "cycle: $(grep -c '^started' "$ENC_DIR/cycle.log") starts, $(grep -c '^stopped' "$ENC_DIR/cycle.log") stops; $n samples, $with_cycle with it running"
is "$n samples while a workspace started and stopped 30 times: none failed or lacked numbers" "$bad" 0
[ -n "$first_bad" ] && diag "first bad sample: $first_bad"
[ "${with_cycle:-0}" -gt 0 ] && tap_ok "some samples caught it running ($with_cycle)" ||
        tap_fail "some samples caught it running" "$res"
ok "the daemon still answers" enc ping

# ---- nothing running ----
for w in idle sleepers busy; do
        enc workspace stop "$SB" "$w" >/dev/null 2>&1
done
is "with nothing running --json is an empty list" "$(enc stats --json | json_field 'd')" "[]"
is "with nothing running the table is only the header" "$(enc stats --no-stream | wc -l)" 1

# ---- live mode when the daemon goes away: an error, and the cursor back ----
live=$(python3 "$ENC_DIR/live.py" "$ENCLAVE" "$ENC_CONFIG" "$ENC_SOCK" daemon-stop)
diag "$(printf '%s' "$live" | tr '\n' ' ')"
contains "the daemon stopping ends live mode with status 1" "$live" "exit=1"
contains "it says what failed" "$live" "says_why=True"
contains "the cursor is shown again after the error" "$live" "cursor_restored=True"

done_testing
