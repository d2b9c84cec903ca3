#!/usr/bin/env bash
# Runs every test suite and prints one total line:
#   N passed, N failed, N skipped
# Suites: unit test programs ($BUILD/tests/test-*), conformance scripts
# (tests/conformance/test-*.sh) and root integration scripts
# (tests/integration/test-*.sh). Every suite speaks TAP.
# Usage: tests/run.sh [PATTERN...]   (run only suites whose name contains
# one of the PATTERNs; a PATTERN ending in $ must end the name)
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
export ENCLAVE_BIN=${ENCLAVE_BIN:-$PWD/$BUILD/enclave}
# Root's daemon ignores ENCLAVE_INIT (docs/security.md "What root
# runs"): lib.sh's enc_setup writes it into each test's config.toml as
# init_binary; the C integration tests that start init themselves read it.
export ENCLAVE_INIT=${ENCLAVE_INIT:-$PWD/$BUILD/enclave-init}
patterns=("$@")

passed=0 failed=0 skipped=0
failed_names=()
log_dir=$(mktemp -d /tmp/enclave-test-logs.XXXXXX)

run_suite() {
        local name=$1; shift
        if [ ${#patterns[@]} -gt 0 ]; then
                local p match=
                for p in "${patterns[@]}"; do
                        if [[ $p == *'$' ]]; then [[ $name == *"${p%'$'}" ]] && match=1
                        else [[ $name == *"$p"* ]] && match=1; fi
                done
                [ -n "$match" ] || return
        fi
        local out="$log_dir/$(echo "$name" | tr '/' '_').log"
        local start=$SECONDS
        "$@" >"$out" 2>&1 </dev/null
        local rc=$?
        local p f s
        p=$(grep -cE '^ok ' "$out" | tr -d ' ')
        s=$(grep -cE '^ok .*# SKIP' "$out" | tr -d ' ')
        f=$(grep -cE '^not ok ' "$out" | tr -d ' ')
        p=$((p - s))
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
                # A suite that died without reporting a failure still failed.
                f=1
                echo "not ok - $name exited with status $rc" >>"$out"
        fi
        passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
        printf '%-48s %4d passed %3d failed %3d skipped  (%ds)\n' "$name" "$p" "$f" "$s" $((SECONDS - start))
        if [ "$f" -gt 0 ]; then
                failed_names+=("$name")
                grep -E '^(not ok|#)' "$out" | head -40 | sed 's/^/    /'
        fi
}

for t in "$BUILD"/tests/test-* "$BUILD"/tests/itest-*; do
        [ -x "$t" ] || continue
        case $t in */itest-*) kind=integration ;; *) kind=unit ;; esac
        run_suite "$kind/$(basename "$t")" "$t"
done
for t in tests/conformance/test-*.sh; do
        [ -f "$t" ] && run_suite "conformance/$(basename "$t" .sh)" bash "$t"
done
for t in tests/integration/test-*.sh; do
        [ -f "$t" ] && run_suite "integration/$(basename "$t" .sh)" bash "$t"
done

echo
if [ ${#failed_names[@]} -gt 0 ]; then
        echo "Failed suites (full logs in $log_dir): ${failed_names[*]}"
else
        rm -rf "$log_dir"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
