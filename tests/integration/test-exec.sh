#!/usr/bin/env bash
# `workspace exec/run/enter` through the CLI (SPEC §2, §5): the command's
# own exit status, 126/127 from the runtime and 125 from Enclave; stdin
# piping, stdout/stderr redirection, -e, --cwd (and its escape refused),
# a terminal replaced by a pty made inside the workspace (window size,
# input, `enter` with the root's shell, the terminal restored), many
# execs at once, and a command killed when its CLI goes away.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workspace-setup.sh"
require_root
ws_setup
WS=ex
ok "create" enc workspace create "$SB" $WS --env FROM_CREATE=created
ok "start" enc workspace start "$SB" $WS
x() { enc workspace exec "$SB" $WS "$@"; }

# ---- exit statuses ----
x -- /bin/true </dev/null
is "true exits 0" "$?" 0
x -- sh -c 'exit 7' </dev/null
is "the command's own status" "$?" 7
x -- sh -c 'kill -TERM $$' </dev/null
is "death by a signal is 128+N" "$?" 143
out=$(x -- no-such-command 2>&1 </dev/null); rc=$?
is "a missing command exits 127" "$rc" 127
contains "and says why" "$out" "no-such-command"
x -- sh -c 'printf "#!/bin/sh\necho no\n" > /home/noexec; chmod 644 /home/noexec' </dev/null
out=$(x -- /home/noexec 2>&1 </dev/null); rc=$?
is "a non-executable file exits 126" "$rc" 126
out=$(x --cwd /etc -- pwd 2>&1 </dev/null); rc=$?
is "--cwd outside /home exits 125" "$rc" 125
contains "--cwd outside /home is refused with a reason" "$out" "outside /home"
out=$(x --cwd /home/../etc -- pwd 2>&1 </dev/null); rc=$?
is "--cwd escaping with .. exits 125" "$rc" 125
x -- sh -c 'mkdir -p /home/sub && ln -sfn /etc /home/link' </dev/null
is "--cwd below /home works" "$(x --cwd /home/sub -- pwd </dev/null)" /home/sub
out=$(x --cwd /home/link -- pwd 2>&1 </dev/null); rc=$?
[ "$rc" -ne 0 ] || [ "$out" != /etc ] && tap_ok "a symlink out of /home is not followed as cwd ($rc)" || tap_fail "symlink cwd escape" "$out"
out=$(enc workspace exec "$SB" nosuch -- true 2>&1 </dev/null); rc=$?
is "an unknown workspace exits 125" "$rc" 125
contains "and names it" "$out" "no workspace 'nosuch'"

# ---- stdio ----
is "stdin is piped in" "$(echo hi | x -- cat)" hi
is "a large stdin goes through" "$(head -c 3000000 /dev/zero | x -- wc -c | tr -d ' ')" 3000000
x -- sh -c 'echo to-stdout; echo to-stderr >&2' >"$ENC_DIR/out.txt" 2>"$ENC_DIR/err.txt" </dev/null
is "stdout redirected to a file" "$(cat "$ENC_DIR/out.txt")" to-stdout
is "stderr redirected to another file" "$(cat "$ENC_DIR/err.txt")" to-stderr
is "stdout of a pipeline" "$(x -- sh -c 'seq 1 5' </dev/null | tail -1)" 5
is "stdin is /dev/null without input" "$(x -- cat </dev/null | wc -c | tr -d ' ')" 0
is "-e sets a variable" "$(x -e A=1 -e B=two -- sh -c 'echo $A$B' </dev/null)" 1two
is "-e overrides the create env" "$(x -e FROM_CREATE=over -- sh -c 'echo $FROM_CREATE' </dev/null)" over
is "the create env is there" "$(x -- sh -c 'echo $FROM_CREATE' </dev/null)" created
is "run is exec" "$(enc workspace run "$SB" $WS -- echo ran </dev/null)" ran
is "no terminal without one" "$(x -- sh -c 'tty || true' </dev/null)" "not a tty"
# Its cgroup namespace's root: the memory line on v1/hybrid, "0::" on v2.
is "the command runs in the workspace's cgroup" "$(x -- sh -c 'l=$(grep ":memory:" /proc/self/cgroup || grep "^0::" /proc/self/cgroup); echo "${l##*:}"' </dev/null)" /
# Seen from the host: the command is in the workspace's directory of
# every hierarchy (v1 ones and the unified tree), not just one.
x -- sleep 9$$ </dev/null & cli=$!
spid=
for _ in $(seq 100); do
        spid=$(pgrep -x -f "sleep 9$$" | head -1)
        [ -n "$spid" ] && break
        sleep 0.05
done
if [ -n "$spid" ]; then
        dirs=$(ws_cgroup_dirs "$SB" $WS)
        missing=
        for d in $dirs; do
                grep -qx "$spid" "$d/cgroup.procs" || missing="$missing $d"
        done
        [ -n "$dirs" ] && [ -z "$missing" ] && tap_ok "an exec'd process is in every cgroup directory of the workspace" ||
                tap_fail "an exec'd process is in every cgroup directory of the workspace" "not in:$missing"
        n_dirs=$(for d in $dirs; do readlink -f "$d"; done | sort -u | wc -l)
        n_lines=$(grep -c "/$SB/$WS\$" "/proc/$spid/cgroup")
        is "/proc/PID/cgroup names the workspace's group in each of its hierarchies" "$n_lines" "$n_dirs"
        kill "$spid"
else
        tap_fail "an exec'd process is in every cgroup directory of the workspace" "sleep never appeared"
        tap_fail "/proc/PID/cgroup names the workspace's group in each of its hierarchies" "sleep never appeared"
fi
wait "$cli" 2>/dev/null

# ---- a pty ----
if command -v script >/dev/null; then
        out=$(script -qec "$ENCLAVE --config $ENC_CONFIG --socket $ENC_SOCK workspace exec $SB $WS -- tty" /dev/null </dev/null 2>&1)
        contains "a terminal gets a pty inside the workspace" "$out" "/dev/pts/"
        out=$(script -qec "stty rows 33 cols 101; $ENCLAVE --config $ENC_CONFIG --socket $ENC_SOCK workspace exec $SB $WS -- stty size" /dev/null </dev/null 2>&1)
        contains "the pty has the terminal's size" "$out" "33 101"
        out=$(script -qec "$ENCLAVE --config $ENC_CONFIG --socket $ENC_SOCK workspace exec $SB $WS -- sh -c 'exit 5'" /dev/null </dev/null 2>&1); rc=$?
        is "exit status through a pty" "$rc" 5
        out=$(script -qec "$ENCLAVE --config $ENC_CONFIG --socket $ENC_SOCK workspace exec -t $SB $WS -- sh -c 'echo \$TERM'" /dev/null </dev/null 2>&1)
        contains "TERM reaches the pty command" "$out" "${TERM:-xterm}"
else
        tap_skip "pty tests" "script(1) is not installed"
fi

# enter: a shell on a pty, driven through a pty of our own (python's
# pty module): it answers a command, exits with the given status, and
# the terminal is back in its original mode afterwards.
cat >"$ENC_DIR/enter.py" <<'PY'
import os, pty, sys, termios, time, select
argv = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
before = None
out = b""
def read_for(seconds, until=None):
    global out
    end = time.time() + seconds
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return False
            if not chunk:
                return False
            out += chunk
            if until and until in out:
                return True
    return True
read_for(1.5, b"#")
os.write(fd, b"echo inside-$((6*7)) $(hostname)\r")
read_for(3, b"inside-42")
os.write(fd, b"exit 3\r")
read_for(3)
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
print("\nEXIT=%d" % os.waitstatus_to_exitcode(status))
PY
out=$(python3 "$ENC_DIR/enter.py" "$ENCLAVE" --config "$ENC_CONFIG" --socket "$ENC_SOCK" workspace enter "$SB" $WS 2>&1)
contains "enter runs a shell in the workspace" "$out" "inside-42 $WS"
contains "enter exits with the shell's status" "$out" "EXIT=3"
if command -v script >/dev/null; then
        out=$(printf 'exit 0\n' | script -qec "stty -g; $ENCLAVE --config $ENC_CONFIG --socket $ENC_SOCK workspace enter $SB $WS; stty -g" /dev/null 2>&1 | tr -d '\r' | grep -E '^[0-9a-f]+(:[0-9a-f]+)+$')
        first=$(printf '%s\n' "$out" | head -1)
        last=$(printf '%s\n' "$out" | tail -1)
        [ -n "$first" ] && [ "$first" = "$last" ] && tap_ok "the terminal mode is restored after enter" \
                || tap_fail "the terminal mode is restored after enter" "$out"
fi

# ---- many at once, and in a tight loop ----
pids=()
for i in $(seq 20); do
        (x -- sh -c "echo par-$i" </dev/null >"$ENC_DIR/par-$i.out" 2>&1) &
        pids+=($!)
done
fails_n=0
for p in "${pids[@]}"; do wait "$p" || fails_n=$((fails_n + 1)); done
good=0
for i in $(seq 20); do [ "$(cat "$ENC_DIR/par-$i.out")" = "par-$i" ] && good=$((good + 1)); done
is "20 concurrent execs all succeed" "$good/$fails_n" "20/0"
t0=$(date +%s%N)
loop_fail=0
for i in $(seq 100); do x -- /bin/true </dev/null || loop_fail=$((loop_fail + 1)); done
is "100 back-to-back execs all succeed" "$loop_fail" 0
diag "exec -- /bin/true (whole CLI, mean of 100): $(( ($(date +%s%N) - t0) / 100000000 )).$(( ( ($(date +%s%N) - t0) / 1000000 ) % 100 / 10 )) ms"

# ---- a command dies with its CLI ----
# The CLI itself in the background (not a subshell around it).
"$ENCLAVE" --config "$ENC_CONFIG" --socket "$ENC_SOCK" workspace exec "$SB" $WS -- sleep 1000 </dev/null &
cli=$!
sleep 0.5
is "the command runs" "$(x -- sh -c 'ps -o comm | grep -c "^sleep"' </dev/null)" 1
kill -TERM "$cli"; wait "$cli" 2>/dev/null
gone=no
for _ in $(seq 30); do
        [ "$(x -- sh -c 'ps -o comm | grep -c "^sleep"' </dev/null)" = 0 ] && { gone=yes; break; }
        sleep 0.1
done
is "killing the CLI ends the command" "$gone" yes

# ---- exec keeps stop fast: a stop while an exec runs ----
x -- sleep 1000 </dev/null >/dev/null 2>&1 &
cli=$!
sleep 0.3
ok "stop while an exec runs" enc workspace stop "$SB" $WS
wait "$cli"
rc=$?
is "the exec'd command ended with the workspace (SIGKILL)" "$rc" 137
is "no process of the workspace remains" "$(ws_cgroup_dirs "$SB" $WS | wc -l)" 0

done_testing
