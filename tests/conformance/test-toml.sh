#!/usr/bin/env bash
# The TOML parser against the whole toml-test corpus (tests/toml-test),
# with no exclusions:
#   valid/*.toml   must decode (exit 0) to the value in the .json beside it;
#   invalid/*.toml must be rejected: exit 1 and one "line:col: message"
#                  on stderr (anything else, a crash included, fails).
# One TAP line per case.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
decoder=$BUILD/toml-decoder
corpus=tests/toml-test
compare=tests/conformance/toml-compare.py

if [ ! -x "$decoder" ]; then
        echo "1..0 # SKIP $decoder not built"
        exit 0
fi

tmp=$(mktemp -d /tmp/enctest-toml-$$.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

n=0
fail=0
report() { # ok? name [diagnostic...]
        local ok=$1 name=$2
        shift 2
        n=$((n + 1))
        if [ "$ok" = ok ]; then
                echo "ok $n - $name"
        else
                fail=$((fail + 1))
                echo "not ok $n - $name"
                for line in "$@"; do
                        printf '%s\n' "$line" | head -c 600 | sed 's/^/# /'
                done
        fi
}

while IFS= read -r -d '' file; do
        name=${file#"$corpus"/}
        name=${name%.toml}
        timeout 10 "$decoder" <"$file" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        if [ "$rc" -ne 0 ]; then
                report fail "$name" "decoder exited $rc: $(cat "$tmp/err")"
        elif ! python3 "$compare" "${file%.toml}.json" "$tmp/out" 2>"$tmp/cmp"; then
                report fail "$name" "$(cat "$tmp/cmp")"
        else
                report ok "$name"
        fi
done < <(find "$corpus/valid" -name '*.toml' -print0 | sort -z)

while IFS= read -r -d '' file; do
        name=${file#"$corpus"/}
        name=${name%.toml}
        timeout 10 "$decoder" <"$file" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        lines=$(wc -l <"$tmp/err")
        if [ "$rc" -ne 1 ]; then
                report fail "$name" "expected rejection (exit 1), decoder exited $rc" "$(head -c 300 "$tmp/out")"
        elif [ "$lines" -ne 1 ] || ! grep -qE '^[0-9]+:[0-9]+: .+' "$tmp/err"; then
                report fail "$name" "expected one 'line:col: message' on stderr, got: $(cat "$tmp/err")"
        elif [ -s "$tmp/out" ]; then
                report fail "$name" "rejected input must not produce output"
        else
                report ok "$name"
        fi
done < <(find "$corpus/invalid" -name '*.toml' -print0 | sort -z)

echo "1..$n"
[ "$fail" -eq 0 ]
