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

# cpus (a DECIMAL row) reaches the cgroup: quota = cpus x period, in the
# v1 cpu controller (cpu.cfs_quota_us) or v2 cpu.max, whichever the host has.
# cpu_quota PATH: "QUOTA PERIOD" of the run's cgroup PATH, or "none".
cpu_quota() {
        local d
        for d in $(enc_cgroup_dirs "$1"); do
                if [ -f "$d/cpu.cfs_quota_us" ]; then
                        echo "$(cat "$d/cpu.cfs_quota_us") $(cat "$d/cpu.cfs_period_us")"; return
                elif [ -f "$d/cpu.max" ]; then
                        cat "$d/cpu.max"; return
                fi
        done
        echo none
}
# quota_of PATH: the quota as a share of one period, three decimals ("1.500").
quota_of() { cpu_quota "$1" | awk '$1 == "none" || $1 == "max" || $1 < 0 { print "unset"; next } { printf "%.3f\n", $1 / $2 }'; }

if ! command -v busybox >/dev/null; then
        tap_skip "cpus reaches the cgroup" "busybox is needed for a tiny rootfs"
elif [ "$(cpu_quota "")" = none ] && ! grep -qw cpu /proc/cgroups; then
        tap_skip "cpus reaches the cgroup" "no cpu cgroup controller on this host"
else
        make_busybox_rootfs "$ENC_DIR/rootfs" && tar -C "$ENC_DIR/rootfs" -cf "$ENC_DIR/rootfs.tar" .
        ok "the base rootfs is imported" enc -q rootfs import --base "$ENC_DIR/rootfs.tar"
        ok "a sandbox with --cpus 2.5" enc -q create cpusb --bootstrap-method cached_rootfs --cpus 2.5
        is "its cgroup gets 2.5 CPUs' time per period" "$(quota_of cpusb)" 2.500
        ok "a workspace with --cpus 1.5" enc -q workspace create cpusb w --cpus 1.5
        ok "it starts" enc -q workspace start cpusb w
        is "its cgroup gets 1.5 CPUs' time per period" "$(quota_of cpusb/w)" 1.500
        contains "status shows cpus = 1.5" "$(enc workspace status cpusb w)" "cpus=1.5"
        contains "the sandbox lists cpus = 2.5" "$(enc --json status cpusb)" '"cpus": 2.5'

        # The same key in an Enclavefile, and a change of it through `up`.
        printf '[sandbox]\nname = "cpuup"\nbootstrap_method = "cached_rootfs"\n[workspace.w]\ncpus = 0.25\n' \
                >"$PROJ/Enclavefile"
        ok "up with cpus = 0.25" sh -c "cd '$PROJ' && '$ENCLAVE' --config '$ENC_CONFIG' --socket '$ENC_SOCK' -q up"
        is "the workspace runs with a quarter CPU" "$(quota_of cpuup/w)" 0.250
        sed -i 's/^cpus = 0.25$/cpus = 2/' "$PROJ/Enclavefile"
        ok "up after cpus = 2" sh -c "cd '$PROJ' && '$ENCLAVE' --config '$ENC_CONFIG' --socket '$ENC_SOCK' -q up"
        is "the running workspace got the new quota" "$(quota_of cpuup/w)" 2.000
        sed -i '/^cpus = 2$/d' "$PROJ/Enclavefile"
        ok "up without cpus" sh -c "cd '$PROJ' && '$ENCLAVE' --config '$ENC_CONFIG' --socket '$ENC_SOCK' -q up"
        is "the quota is removed" "$(quota_of cpuup/w)" unset
fi
done_testing
