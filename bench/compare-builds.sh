#!/usr/bin/env bash
# Before and after: one benchmark script run against two builds of the tree,
# in alternating rounds (old, new, old, new, ...) so that the machine's load
# drifts over both alike. Each build is a detached worktree of its revision,
# built with its own Makefile and benchmarked with its own copy of SCRIPT.
#
#   sudo bench/compare-builds.sh OLD_REV [NEW_REV] [SCRIPT] [ROUNDS] [RUNS]
#        NEW_REV default HEAD, SCRIPT default workspace-cli.sh,
#        ROUNDS default 3, RUNS (passed to SCRIPT) default 60
#
# Prints every round's mean per command, then the median of the rounds'
# means for each build side by side.
set -eu
[ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; exit 1; }
[ $# -ge 1 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
old=$1 new=${2:-HEAD} script=${3:-workspace-cli.sh} rounds=${4:-3} runs=${5:-60}
cd "$(dirname "$0")/.."
repo=$PWD
work=$(mktemp -d /var/tmp/enclave-compare.XXXXXX)

cleanup() {
        local t
        for t in old new; do
                [ -d "$work/$t" ] && git -C "$repo" worktree remove --force "$work/$t" >/dev/null 2>&1
        done
        rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for t in old new; do
        rev=$old; [ $t = new ] && rev=$new
        git -C "$repo" worktree add --detach "$work/$t" "$rev" >/dev/null 2>&1
        echo "building $t = $(git -C "$work/$t" log --oneline -1)"
        make -C "$work/$t" -j"$(nproc)" >"$work/$t.build.log" 2>&1 ||
                { tail -20 "$work/$t.build.log"; exit 1; }
done

# "Benchmark 2: name" then "Time (mean ± σ):  1.7 ms ± ..." -> "name<TAB>ms"
means() {
        awk '/^Benchmark [0-9]+:/ { sub(/^Benchmark [0-9]+: /, ""); name = $0 }
             /Time \(mean/ { v = $5; u = $6
                             if (u == "s") v *= 1000; else if (u == "µs") v /= 1000
                             printf "%s\t%.3f\n", name, v }' "$1"
}

for r in $(seq 1 "$rounds"); do
        for t in old new; do
                echo "== round $r: $t (load $(cut -d' ' -f1-3 /proc/loadavg))"
                (cd "$work/$t" && bench/"$script" "$runs") >"$work/$t.$r.out" 2>&1 ||
                        { tail -20 "$work/$t.$r.out"; exit 1; }
                means "$work/$t.$r.out" | tee "$work/$t.$r.tsv" | sed 's/^/   /'
        done
done

echo "== median of $rounds rounds' means [ms]: old $(git -C "$work/old" log --format=%h -1), new $(git -C "$work/new" log --format=%h -1)"
cat "$work"/old.*.tsv | cut -f1 | awk '!seen[$0]++' | while IFS= read -r name; do
        med() { cat "$work"/$1.*.tsv | awk -F'\t' -v n="$name" '$1 == n { print $2 }' |
                sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }'; }
        printf '%-55s %8s %8s\n' "$name" "$(med old)" "$(med new)"
done
