#!/usr/bin/env bash
# The CLI names actions only through proto/actions.h, the list the
# daemon's tables use too (tests/unit/test-action-names.c checks those):
# no literal "area.verb" in src/cli/ for any area of that list, so a
# request cannot name an action the daemon does not serve. TAP.
set -u
cd "$(dirname "$0")/../.."

areas=$(grep -oE '^#define PROTO_ACTION_[A-Z_]+ +"[a-z_]+\.' src/proto/actions.h | grep -oE '"[a-z_]+' | tr -d '"' |
        sort -u | paste -sd '|')
n=0 failed=0
if [ -z "$areas" ]; then
        echo "not ok 1 - src/proto/actions.h lists action names"; echo "1..1"; exit 1
fi
n=$((n + 1)); echo "ok $n - src/proto/actions.h lists action names ($areas)"

hits=$(grep -nE "\"($areas)\.[a-z0-9_.]+\"" src/cli/*.[ch])
n=$((n + 1))
if [ -z "$hits" ]; then
        echo "ok $n - src/cli writes no action name of its own"
else
        failed=1
        echo "not ok $n - src/cli writes action names of its own (use PROTO_ACTION_* of proto/actions.h)"
        sed 's/^/# /' <<<"$hits"
fi

# Each name the CLI uses is defined there (a misspelt macro does not
# build; this also catches one defined elsewhere).
n=$((n + 1))
missing=
for m in $(grep -ohE '\bPROTO_ACTION_[A-Z_]+' src/cli/*.[ch] | sort -u); do
        grep -qE "^#define $m " src/proto/actions.h || missing+=" $m"
done
if [ -z "$missing" ]; then echo "ok $n - every PROTO_ACTION_* the CLI uses is in src/proto/actions.h"
else failed=1; echo "not ok $n - not in src/proto/actions.h:$missing"; fi

# The list and proto_action_names[] hold the same names.
n=$((n + 1))
defined=$(grep -oE '^#define PROTO_ACTION_[A-Z_]+' src/proto/actions.h | awk '{print $2}' | sort)
listed=$(grep -oE '^[[:space:]]+PROTO_ACTION_[A-Z_]+,' src/proto/actions.c | tr -d ' ,' | sort)
if [ "$defined" = "$listed" ]; then echo "ok $n - proto_action_names[] lists every name of proto/actions.h"
else failed=1; echo "not ok $n - proto_action_names[] and the #defines of proto/actions.h differ"
        diff <(echo "$defined") <(echo "$listed") | sed 's/^/# /'; fi

echo "1..$n"
[ "$failed" -eq 0 ]
