#!/usr/bin/env bash
# Workspace logs keep each line's time and stream (issue 19 item 2):
# init's log writer stamps every line of the run command's stdout and
# stderr (runtime/log-record.h); `logs` prints the text exactly as
# before, `logs --json` gives {"time","stream","line"} for lines read
# back as well as for lines followed live. A line that pauses midway or
# is longer than a record is joined again, and a log written before
# stamps existed still reads.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workspace-setup.sh"
require_root
ws_setup

json_fields() { # the (line, stream) pairs of JSON lines, and whether every time is within a minute
        python3 -c '
import json, sys, datetime, time
rows = [json.loads(l) for l in sys.stdin if l.strip()]
def recent(t):
    if t is None: return False
    d = datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return abs(d.timestamp() - time.time()) < 60
print([(r["line"], r["stream"]) for r in rows], all(recent(r["time"]) for r in rows))'
}

ok "create a workspace writing to both streams" enc workspace create "$SB" lw \
        --run 'echo out-1; echo err-1 >&2; printf "half-"; sleep 1.5; echo line; head -c 20000 /dev/zero | tr "\0" x; echo; echo done; sleep 1000'
ok "start it" enc workspace start "$SB" lw
for _ in $(seq 80); do enc workspace logs "$SB" lw 2>/dev/null | grep -q '^done$' && break; sleep 0.1; done

plain=$(enc workspace logs "$SB" lw)
long=$(printf '%20000s' '' | tr ' ' x)
is "plain logs print the output as written" "$plain" "$(printf 'out-1\nerr-1\nhalf-line\n%s\ndone' "$long")"
is "--tail 1 is the last line" "$(enc workspace logs "$SB" lw --tail 1)" "done"

j=$(enc workspace logs "$SB" lw --json | json_fields)
is "logs --json: lines read back carry their stream and a time" "$j" \
        "[('out-1', 'stdout'), ('err-1', 'stderr'), ('half-line', 'stdout'), ('$long', 'stdout'), ('done', 'stdout')] True"

LOGS=$ENC_STATE/sandboxes/$SB/workspaces/lw/logs
f=$LOGS/$(($(cat "$LOGS/active") % 2)).log
contains "the log file holds stamped records" "$(head -c 200 "$f")" " o out-1"
contains "a pause midway logs a partial record" "$(cat "$f")" " O half-"
lacks "the output never reaches the log file unstamped" "$(grep -v '^[0-9]*\.[0-9]\{6\} [oeOE] ' "$f" | head -c 100)" "x"

# A workspace whose log was written by an older init: bare lines.
ok "create a second workspace" enc workspace create "$SB" old
OLD=$ENC_STATE/sandboxes/$SB/workspaces/old/logs
mkdir -p "$OLD"
printf 'bare one\nbare two\n' >"$OLD/0.log"
echo 0 >"$OLD/active"
is "a log of bare lines reads as before" "$(enc workspace logs "$SB" old)" "$(printf 'bare one\nbare two')"
is "its --json lines have no time and stream output" \
        "$(enc workspace logs "$SB" old --json | python3 -c 'import json,sys; print([(d["line"], d["time"], d["stream"]) for d in map(json.loads, sys.stdin)])')" \
        "[('bare one', None, 'output'), ('bare two', None, 'output')]"

ok "stop" enc workspace stop "$SB" lw
done_testing
