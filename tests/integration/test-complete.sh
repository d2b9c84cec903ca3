#!/usr/bin/env bash
# Shell completion of names from the daemon (issue 19 item 7): sandbox,
# workspace and snapshot names through 'enclave __complete', which asks
# this test's daemon without ever starting one.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workspace-setup.sh"
require_root
ws_setup

comp() { "$ENCLAVE" --config "$ENC_CONFIG" __complete -- "$@" 2>&1; }
ok "create ws1" enc -q workspace create "$SB" ws1
ok "create ws2" enc -q workspace create "$SB" ws2
ok "snapshot ws1" enc -q snapshot create "$SB" ws1 --name first

contains "sandbox names" "$(comp start '')" "$SB	"
is "sandbox names by prefix" "$(comp status "${SB:0:1}" | cut -f1)" "$SB"
is "workspace names of the sandbox on the line" "$(comp workspace start "$SB" '' | cut -f1 | sort | tr '\n' ' ')" "ws1 ws2 "
is "workspace names by prefix" "$(comp workspace exec "$SB" ws2 | cut -f1)" "ws2"
is "--sandbox-id takes sandbox names" "$(comp workspace list --sandbox-id '' | cut -f1)" "$SB"
is "snapshot names of the workspace on the line" "$(comp snapshot restore "$SB" ws1 '' | cut -f1)" "first"
is "no snapshots of another workspace" "$(comp snapshot restore "$SB" ws2 '')" ""

# The daemon is never started by a completion.
ok "stop the daemon" enc daemon stop
out=$(comp start ''); rc=$?
is "daemon stopped: no names" "$out" ""
is "daemon stopped: exit 0" "$rc" 0
ok "and it was not started" test ! -S "$ENC_SOCK"
enc -q daemon start >/dev/null 2>&1
done_testing
