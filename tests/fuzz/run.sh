#!/usr/bin/env bash
# Run every libFuzzer target for a fixed time from its committed seed
# corpus (tests/fuzz/corpus/<target>/, only read: what the run finds new
# goes to a scratch directory). A crash, leak, sanitizer report or
# timeout fails the target; its reproducer is copied to
# $BUILD/fuzz-artifacts/. Prints "N passed, N failed".
#   tests/fuzz/run.sh BUILD_DIR SECONDS_PER_TARGET
set -u
cd "$(dirname "$0")/../.."
build=${1:-build-fuzz}
secs=${2:-60}
passed=0 failed=0
artifacts=$build/fuzz-artifacts
mkdir -p "$artifacts"
for src in tests/fuzz/fuzz-*.c; do
        name=$(basename "$src" .c)
        bin=$build/$name
        corpus=tests/fuzz/corpus/$name
        if [ ! -x "$bin" ] || [ ! -d "$corpus" ]; then
                echo "not ok - $name: $([ -x "$bin" ] && echo "no seed corpus $corpus" || echo "not built ($bin)")"
                failed=$((failed + 1))
                continue
        fi
        scratch=$(mktemp -d /tmp/enclave-fuzz.XXXXXX)
        start=$SECONDS
        "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
                -artifact_prefix="$scratch/" "$scratch" "$corpus" >"$scratch.log" 2>&1
        rc=$?
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch.log" | tail -1)
        cov=$(grep -o 'cov: [0-9]*' "$scratch.log" | tail -1)
        if [ "$rc" -eq 0 ]; then
                echo "ok - $name: ${runs:-?} runs in $((SECONDS - start)) s, ${cov:-cov: ?}, seeds $(ls "$corpus" | wc -l)"
                passed=$((passed + 1))
        else
                echo "not ok - $name: exit $rc"
                grep -E 'ERROR|SUMMARY|Test unit written' "$scratch.log" | head -10 | sed 's/^/#   /'
                cp "$scratch"/crash-* "$scratch"/leak-* "$scratch"/timeout-* "$scratch"/oom-* "$artifacts"/ 2>/dev/null
                failed=$((failed + 1))
        fi
        rm -rf "$scratch" "$scratch.log"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
