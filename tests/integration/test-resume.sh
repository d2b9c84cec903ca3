#!/usr/bin/env bash
# enclave start after enclave stop brings back the workspaces the stop
# stopped, and only those (issue 19 item 4), as docker compose stop /
# start do: the set is kept in the registry, so a daemon restart in
# between loses nothing, a second stop keeps the set of the first, and
# a second start starts nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workspace-setup.sh"
require_root
ws_setup

state() { enc --json workspace status "$SB" "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
states() { echo "$(state w1) $(state w2) $(state w3)"; }
names() { python3 -c "import json,sys; print(' '.join(json.load(sys.stdin)['$1']))"; }

for w in w1 w2 w3; do ok "create $w" enc -q workspace create "$SB" $w; done
ok "start w1" enc -q workspace start "$SB" w1
ok "start w2" enc -q workspace start "$SB" w2
out=$(enc stop "$SB")
contains "stop names what it stopped" "$out" "its workspaces w1, w2; 'enclave start $SB' starts them again"
is "all stopped" "$(states)" "stopped stopped created"
contains "a second stop changes nothing" "$(enc stop "$SB")" "already stopped"

# The set is in the registry: it survives the daemon.
ok "daemon stop" enc daemon stop
ok "daemon start" enc -q daemon start
json=$(enc --json start "$SB")
is "start brings back w1 and w2" "$(names started <<<"$json")" "w1 w2"
is "and only them" "$(states)" "running running created"
is "a second start starts nothing" "$(enc --json start "$SB" | names started)" ""

# A workspace stopped on its own before the sandbox stop stays stopped.
ok "stop w2 alone" enc -q workspace stop "$SB" w2
is "stop --json lists w1" "$(enc --json stop "$SB" | names stopped)" "w1"
ok "w3 started by hand while stopped is refused" bash -c "! '$ENCLAVE' --config '$ENC_CONFIG' -q workspace start '$SB' w3"
contains "start names what it started" "$(enc start "$SB")" "its workspaces w1"
is "w1 only" "$(states)" "running stopped created"

# After 'down'-like stops of every workspace, start has nothing to bring back.
ok "stop w1 alone" enc -q workspace stop "$SB" w1
ok "stop the sandbox" enc -q stop "$SB"
is "nothing ran: nothing comes back" "$(enc --json start "$SB" | names started)" ""
is "all stopped still" "$(states)" "stopped stopped created"
done_testing
