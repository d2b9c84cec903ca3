#!/usr/bin/env bash
# A project directory (issue 19 item 6): env_file per workspace (read
# by the CLI at validate and up; the env table wins; problems as
# FILE:LINE:COL), the short forms 'enclave exec WORKSPACE -- CMD' and
# 'enclave enter WORKSPACE' in ./Enclavefile's sandbox, and 'enclave
# logs [--follow]' over every workspace of the file with a name prefix.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workspace-setup.sh"
require_root
ws_setup
P=$ENC_DIR/proj
PSB=pj$ENC_TAG
mkdir -p "$P"
on_exit "enc destroy --force $PSB"
cat >"$P/Enclavefile" <<TOML
[sandbox]
name = "$PSB"
bootstrap_method = "cached_rootfs"

[workspace.alpha]
run = "echo alpha-one; sleep 100000"
env_file = ".env"
env = { GREETING = "from-table" }

[workspace.beta]
run = "echo beta-one; while :; do if [ -f /tmp/go ]; then echo beta-two; rm -f /tmp/go; fi; sleep 0.05; done"
TOML
cat >"$P/.env" <<'ENV'
# the project's variables
FROMFILE=from-file
GREETING=overridden
export QUOTED="two words"
ENV
p() { (cd "$P" && "$ENCLAVE" --config "$ENC_CONFIG" --socket "$ENC_SOCK" "$@"); }

# ---- env_file ----
out=$(p validate)
contains "validate shows the env_file" "$out" ".env"
contains "and its variables, the env table winning" "$out" "FROMFILE=from-file"
contains "  (the table's value)" "$out" "GREETING=from-table"
printf 'BAD LINE\nGITHUB_TOKEN=x\n' >"$P/bad.env"
sed 's/env_file = ".env"/env_file = "bad.env"/' "$P/Enclavefile" >"$P/Enclavefile.bad"
mkdir -p "$P/bad" && cp "$P/Enclavefile.bad" "$P/bad/Enclavefile" && cp "$P/bad.env" "$P/bad/"
out=$(cd "$P/bad" && "$ENCLAVE" validate 2>&1); rc=$?
is "a bad env_file fails validate" "$rc" 1
contains "with its file and line" "$out" "bad.env:1:1: 'BAD LINE' has no '='"
contains "every problem" "$out" "bad.env:2:1: 'GITHUB_TOKEN' is a token variable"
out=$(cd "$P/bad" && rm bad.env && "$ENCLAVE" validate 2>&1)
contains "a missing env_file points at its key" "$out" "Enclavefile:7:12: env_file 'bad.env': No such file or directory"
ok "up" p -q up

# ---- short forms ----
is "exec WORKSPACE -- CMD sees the env_file" "$(p exec alpha -- sh -c 'echo $FROMFILE' </dev/null)" from-file
is "and the env table over it" "$(p exec alpha -- sh -c 'echo $GREETING' </dev/null)" from-table
is "quoted values, and the command without --" "$(p exec alpha sh -c 'echo $QUOTED' </dev/null)" "two words"
is "exec runs in the project's sandbox" "$(p exec beta -- hostname </dev/null)" beta
p exec alpha -- sh -c 'exit 7' </dev/null; is "exec passes the exit status" "$?" 7
out=$(p exec nosuch -- true 2>&1 </dev/null); rc=$?
is "an undeclared workspace exits 125" "$rc" 125
contains "naming the declared ones" "$out" "declares no workspace 'nosuch' (it declares alpha, beta)"
out=$(cd "$ENC_DIR" && "$ENCLAVE" --config "$ENC_CONFIG" exec alpha -- true 2>&1); rc=$?
is "outside a project it exits 125" "$rc" 125
contains "and says there is no Enclavefile" "$out" "no Enclavefile in"
cat >"$ENC_DIR/enter.py" <<'PY'
import os, pty, sys, time, select
pid, fd = pty.fork()
if pid == 0:
    os.chdir(sys.argv[1])
    os.execv(sys.argv[2], sys.argv[2:])
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
                return
            if not chunk:
                return
            out += chunk
            if until and until in out:
                return
read_for(1.5, b"#")
os.write(fd, b"echo inside-$((6*7)) $(hostname)\r")
read_for(3, b"inside-42")
os.write(fd, b"exit 0\r")
read_for(3)
os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
PY
out=$(python3 "$ENC_DIR/enter.py" "$P" "$ENCLAVE" --config "$ENC_CONFIG" --socket "$ENC_SOCK" enter beta 2>&1)
contains "enter WORKSPACE opens its shell" "$out" "inside-42 beta"

# ---- logs ----
for _ in $(seq 50); do p logs 2>/dev/null | grep -q beta-one && p logs 2>/dev/null | grep -q alpha-one && break; sleep 0.1; done
out=$(p logs)
contains "logs prefixes alpha's lines" "$out" "alpha | alpha-one"
contains "and beta's, aligned" "$out" "beta  | beta-one"
lacks "no colour off a terminal" "$out" $'\033'
is "logs WORKSPACE: only that one" "$(p logs beta | cut -d'|' -f1 | sort -u | tr -d ' ')" beta
is "logs --json carries the workspace" "$(p logs --json alpha | python3 -c 'import json,sys; d=json.loads(sys.stdin.readline()); print(d["workspace"], d["line"], d["stream"])')" \
        "alpha alpha-one stdout"
p logs --follow >"$ENC_DIR/follow.out" 2>&1 &
fpid=$!
sleep 0.5
p exec beta -- touch /tmp/go </dev/null
for _ in $(seq 50); do grep -q beta-two "$ENC_DIR/follow.out" && break; sleep 0.1; done
kill "$fpid" 2>/dev/null; wait "$fpid" 2>/dev/null
contains "logs --follow shows a new line as it comes" "$(cat "$ENC_DIR/follow.out")" "beta  | beta-two"
contains "while following every workspace" "$(cat "$ENC_DIR/follow.out")" "alpha | alpha-one"
out=$(p logs nosuch 2>&1); rc=$?
is "logs of an undeclared workspace fails" "$rc" 1
contains "naming the declared ones" "$out" "it declares alpha, beta"
ok "down" p -q down
done_testing
