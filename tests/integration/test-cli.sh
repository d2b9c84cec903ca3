#!/usr/bin/env bash
# The CLI front end: help, version, usage errors, suggestions.
. "$(dirname "$0")/lib.sh"

out=$("$ENCLAVE" --help)
for group in init validate up down restart ps daemon ping health doctor version create start stop \
        destroy status remove list wipe stats rootfs workspace snapshot auth policy registry; do
        contains "--help lists '$group'" "$out" "  $group "
done
contains "version" "$("$ENCLAVE" --version)" "enclave "
"$ENCLAVE" frobnicate >/dev/null 2>&1; is "unknown command exits 2" "$?" 2
contains "suggests closest command" "$("$ENCLAVE" workspac 2>&1)" "did you mean 'workspace'"
contains "suggests closest subcommand" "$("$ENCLAVE" workspace strat 2>&1)" "did you mean 'workspace start'"
"$ENCLAVE" --bogus >/dev/null 2>&1; is "unknown global option exits 2" "$?" 2
"$ENCLAVE" >/dev/null 2>&1; is "no command exits 2" "$?" 2
out=$("$ENCLAVE" workspace --help)
for sub in create start stop destroy status remove list wipe enter exec run port logs stats snapshot-gc; do
        contains "workspace --help lists '$sub'" "$out" "  $sub "
done
ok "port group has help" "$ENCLAVE" workspace port --help

# Global options anywhere on the line (issue 19 item 2).
is "version --json" "$("$ENCLAVE" version --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')" \
        "$("$ENCLAVE" --version | cut -d' ' -f2)"
is "--json before and after the command agree" "$("$ENCLAVE" --json version)" "$("$ENCLAVE" version --json)"
contains "--help after a command's arguments" "$("$ENCLAVE" validate x --help)" "Usage: enclave validate"
contains "help COMMAND" "$("$ENCLAVE" help registry repair)" "--strict"
out=$("$ENCLAVE" registry repair --strcit 2>&1); rc=$?
is "an unknown option exits 2" "$rc" 2
contains "and suggests the closest one" "$out" "did you mean '--strict'?"
"$ENCLAVE" workspace >/dev/null 2>&1; is "a group without a command exits 2" "$?" 2
done_testing
