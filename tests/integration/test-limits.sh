#!/usr/bin/env bash
# One range everywhere (issue 18): every limit of the table in
# src/spec/limits.h, as `enclave __gen limits` lists it, has the same
# range in an Enclavefile, on the command line and in a request to the
# daemon, in each scope it belongs to, and is refused in a scope it does
# not belong to. The rows come from the table itself, so a new limit is
# covered without a change here.
. "$(dirname "$0")/lib.sh"
require_root
enc_setup
enc daemon start >/dev/null
PROJ=$ENC_DIR/proj
mkdir -p "$PROJ"

# One line per limit: KEY FLAG MIN MAX BELOW ABOVE SANDBOX WORKSPACE
rows=$("$ENCLAVE" __gen limits | python3 -c '
import sys
from decimal import Decimal
for line in sys.stdin:
    if not line.startswith("| `"):
        continue
    c = [x.strip() for x in line.strip().strip("|").split("|")]
    key, flag = c[0].strip("`"), c[1].strip("`").split()[0][2:]
    lo, hi = (Decimal(x) for x in c[3].split(" – "))
    step = Decimal("0.001") if "." in c[2] or "decimal" in c[2] else Decimal(1)
    below = lo - step if lo - step > 0 else Decimal(0)
    print(key, flag, lo, hi, below, hi + step, c[4] == "yes", c[5] == "yes")
')
n=$(printf '%s\n' "$rows" | wc -l)
[ "$n" -ge 6 ] && tap_ok "the table has $n limits" || tap_fail "the table has $n limits"

# validate KEY=VALUE in TABLE ([sandbox] or [workspace.w]): the output.
validate() {
        if [ "$1" = sandbox ]; then
                printf '[sandbox]\nname = "lim"\n%s = %s\n' "$2" "$3" >"$PROJ/Enclavefile"
        else
                printf '[sandbox]\nname = "lim"\n[workspace.w]\n%s = %s\n' "$2" "$3" >"$PROJ/Enclavefile"
        fi
        (cd "$PROJ" && enc validate 2>&1)
}

while read -r key flag lo hi below above in_sb in_ws; do
        for scope in sandbox workspace; do
                [ "$scope" = sandbox ] && belongs=$in_sb || belongs=$in_ws
                if [ "$scope" = sandbox ]; then
                        cli() { enc create limtest "$@"; }
                        call() { enc_call sandbox.create "{\"name\": \"limtest\", \"bootstrap_method\": \"cached_rootfs\", $1}"; }
                else
                        cli() { enc workspace create nosuch limtest "$@"; }
                        call() { enc_call workspace.create "{\"sandbox\": \"nosuch\", \"workspace\": \"limtest\", $1}"; }
                fi
                if [ "$belongs" != True ]; then
                        contains "$key is unknown in [$scope]" "$(validate "$scope" "$key" "$lo")" "unknown key '$key'"
                        out=$(cli "--$flag" "$lo" 2>&1); rc=$?
                        is "--$flag is no option of the $scope command" "$rc" 2
                        contains "the daemon refuses $key for a $scope" "$(call "\"$key\": $lo")" "\"error\""
                        continue
                fi
                out=$(validate "$scope" "$key" "$lo")
                lacks "$key = $lo ($scope, the minimum) is valid" "$out" "must be"
                out=$(validate "$scope" "$key" "$hi")
                lacks "$key = $hi ($scope, the maximum) is valid" "$out" "must be"
                for bad in $below $above; do
                        [ "$bad" = 0 ] && continue
                        contains "Enclavefile: $key = $bad ($scope) is out of range" "$(validate "$scope" "$key" "$bad")" \
                                "'$key' must be between $lo and $hi"
                        out=$(cli "--$flag" "$bad" 2>&1); rc=$?
                        is "CLI: --$flag $bad ($scope) is a usage error" "$rc" 2
                        contains "CLI: ... with the same range" "$out" "from $lo to $hi"
                        contains "daemon: $key $bad ($scope) is refused with the same range" \
                                "$(call "\"$key\": $bad")" "$key must be between $lo and $hi"
                done
        done
done <<<"$rows"
is "nothing was created" "$(enc --json list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 0
done_testing
