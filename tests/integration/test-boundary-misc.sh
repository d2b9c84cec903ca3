#!/usr/bin/env bash
# docs/security.md, "Smaller things": the host descriptors of an `exec`
# cannot be used by another workspace process after the exec ended; `ps`
# prints workspace command lines with control characters escaped; kernel
# build information (/proc/config.gz, /sys/kernel/vmcoreinfo, ...) is
# masked inside.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workspace-setup.sh"
require_root
PROBE=$(cd "$(dirname "$0")/../.." && pwd)/${BUILD:-build}/tests/helpers/boundary-probe
[ -x "$PROBE" ] || skip_all "boundary-probe is not built (make)"
ws_setup

ok "create a workspace" enc -q workspace create "$SB" w
ok "start it" enc -q workspace start "$SB" w
ok "copy the probe in" sh -c "'$ENCLAVE' --config '$ENC_CONFIG' --socket '$ENC_SOCK' workspace exec -i $SB w -- sh -c 'cat >/tmp/probe && chmod 755 /tmp/probe && cp /tmp/probe /tmp/victim' <'$PROBE'"

# ---- host descriptors of an exec ----
# A thief in the workspace waits for the victim (a command a user runs
# with its stdout on a host file), takes that fd with pidfd_getfd and
# writes into it 2.5 s later, long after the victim's exec returned.
OUT=$ENC_DIR/victim.out
THIEF=$ENC_DIR/thief.out
enc workspace exec "$SB" w -- sh -c \
        'p=$(/tmp/probe wait-comm victim 20000) && exec /tmp/probe steal-fd "$p" 1 INJECTED-BY-THIEF 2500' \
        </dev/null >"$THIEF" 2>&1 &
thief=$!
sleep 0.5
ok "the victim exec runs with its stdout on a host file" sh -c \
        "'$ENCLAVE' --config '$ENC_CONFIG' --socket '$ENC_SOCK' workspace exec $SB w -- /tmp/victim sleep-echo 1000 victim-output </dev/null >'$OUT'"
wait "$thief"
diag "thief: $(tr '\n' ';' <"$THIEF")"
contains "positive control: the thief did take the victim's fd" "$(cat "$THIEF")" "stolen"
is "the victim's output arrived" "$(head -1 "$OUT")" "victim-output"
lacks "nothing reached the host file after the exec ended" "$(cat "$OUT")" "INJECTED"
# A pipe the user's shell made is no way in either.
enc workspace exec "$SB" w -- sh -c \
        'p=$(/tmp/probe wait-comm victim 20000) && exec /tmp/probe steal-fd "$p" 1 INJECTED-BY-THIEF 2500' \
        </dev/null >"$THIEF" 2>&1 &
thief=$!
sleep 0.5
piped=$(enc workspace exec "$SB" w -- /tmp/victim sleep-echo 1000 piped-output </dev/null | { cat; sleep 3; })
wait "$thief"
is "through a pipe: only the victim's own output" "$piped" "piped-output"
# Pipes and redirections still behave like a local command.
is "stdin from a pipe" "$(printf 'a\nb\n' | enc workspace exec "$SB" w -- wc -l)" 2
is "stdout and stderr apart" "$(enc workspace exec "$SB" w -- sh -c 'echo out; echo err >&2' 2>/dev/null </dev/null)" out
is "a large output arrives whole" "$(enc workspace exec "$SB" w -- sh -c 'head -c 20000000 /dev/zero' </dev/null | wc -c)" 20000000
is "the exit status comes through" "$(enc workspace exec "$SB" w -- sh -c 'exit 7' </dev/null >/dev/null; echo $?)" 7

# ---- ps: escape sequences from workspace command lines ----
ok "a process with a hostile command line" enc workspace exec "$SB" w -- sh -c \
        "(sh -c 'sleep 300; :' \"\$(printf 'evil\\033]0;pwned\\007\\033[2J')\" >/dev/null 2>&1 &)" </dev/null
sleep 0.3
out=$(enc ps 2>&1)
lacks "ps prints no escape character" "$out" $'\033'
lacks "and no bell" "$out" $'\007'
contains "it shows them escaped" "$out" 'evil\e]0;pwned\x07\e[2J'
is "ps --json keeps the real command line" \
        "$(enc --json ps | python3 -c 'import json,sys; print(any("evil\x1b]0;pwned\x07" in p["cmd"] for p in json.load(sys.stdin)))')" True

# ---- kernel build information ----
for f in /proc/config.gz /sys/kernel/vmcoreinfo /sys/kernel/notes; do
        [ -e "$f" ] || { tap_skip "$f is masked" "this kernel has no $f"; continue; }
        n=$(enc workspace exec "$SB" w -- sh -c "cat $f 2>/dev/null | wc -c" </dev/null)
        is "$f reads empty inside" "$n" 0
done
for d in /sys/kernel/btf /sys/kernel/slab; do
        [ -e "$d" ] || { tap_skip "$d is masked" "this kernel has no $d"; continue; }
        is "$d is empty inside" "$(enc workspace exec "$SB" w -- ls "$d" </dev/null | wc -l)" 0
done
ok "positive control: the host can read vmcoreinfo" test -s /sys/kernel/vmcoreinfo

done_testing
