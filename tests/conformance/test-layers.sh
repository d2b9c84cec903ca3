#!/usr/bin/env bash
# The layers point one way: every `#include "<folder>/..."` in src/<X>/
# names a folder that the "Folders" table of docs/architecture.md lists
# for X, and every folder a row lists lies below it in the table. A new
# folder needs a row. So the layering cannot drift back, and the table
# stays the tree as it is. TAP.
set -u
cd "$(dirname "$0")/../.."

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }

# The rows of the Folders table of $1: "folder allowed,allowed,..."
# (bottom up, as the table lists them).
table_rows() {
        awk '
                /^## Folders/ { in_section = 1; next }
                /^## / { in_section = 0 }
                in_section && /^\| `src\/[a-z]+\/` \|/ {
                        n = split($0, col, "|")
                        folder = col[2]; gsub(/[ `]|src\/|\//, "", folder)
                        deps = col[n - 1]; gsub(/[ —]/, "", deps)
                        print folder, deps
                }' "$1"
}

# Check the tree below $1 (its src/) against the table in $2; prints one
# line per violation.
check_tree() {
        local root=$1 doc=$2
        local -A allowed=() rank=()
        local i=0 folder deps
        while read -r folder deps; do
                rank[$folder]=$i
                allowed[$folder]=",$deps,"
                i=$((i + 1))
        done < <(table_rows "$doc")
        [ $i -gt 0 ] || { echo "$doc has no Folders table"; return; }

        for folder in "${!allowed[@]}"; do
                local d
                for d in $(tr ',' ' ' <<<"${allowed[$folder]}"); do
                        if [ -z "${rank[$d]+x}" ]; then
                                echo "the row of $folder names $d, which has no row"
                        elif [ "${rank[$d]}" -ge "${rank[$folder]}" ]; then
                                echo "the row of $folder names $d, which is not below it in the table"
                        fi
                done
        done

        local dir
        for dir in "$root"/src/*/; do
                folder=$(basename "$dir")
                if [ -z "${rank[$folder]+x}" ]; then
                        echo "src/$folder/ has no row in the table"
                        continue
                fi
                local file line target
                while IFS=: read -r file line target; do
                        [ "$target" = "$folder" ] && continue
                        [ -d "$root/src/$target" ] || continue
                        [[ ${allowed[$folder]} == *",$target,"* ]] && continue
                        echo "${file#"$root"/}:$line includes $target/, which the row of $folder does not allow"
                done < <(grep -HnoE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[a-z]+/' "$dir"*.[ch] 2>/dev/null |
                         sed -E 's/:[^:]*"([a-z]+)\/$/:\1/')
        done
}

# The real tree.
out=$(check_tree . docs/architecture.md)
if [ -z "$out" ]; then
        ok "every include of src/ follows the Folders table of docs/architecture.md"
else
        not_ok "the includes of src/ and the Folders table of docs/architecture.md disagree"
        sed 's/^/# /' <<<"$out"
        echo "# (fix the include, or, when the dependency is right, its row in the table)"
fi

# Inside src/daemon/ the request machinery points one way too
# (docs/architecture.md, "The daemon's modules"): a call knows nothing of
# the server or the daemon, a worker only calls; the worker slots know
# nothing of the rest; a connection knows its call; admission knows
# connections, calls, workers and slots; the server knows all of those
# but not the daemon or the action tables.
module_out=$(while read -r module forbidden; do
        for f in src/daemon/"$module".[ch]; do
                [ -f "$f" ] || continue
                for m in $forbidden; do
                        grep -HnE "^[[:space:]]*#[[:space:]]*include[[:space:]]+\"daemon/$m\.h\"" "$f" |
                                cut -d: -f1,2 | sed "s|\$| includes daemon/$m.h|"
                done
        done
done <<'EOF'
action server daemon call worker worker-slots conn admission
call server daemon worker worker-slots conn admission
worker server daemon worker-slots conn admission
worker-slots server daemon action call worker conn admission
conn server daemon worker worker-slots admission
admission server daemon
server daemon
EOF
)
if [ -z "$module_out" ]; then
        ok "src/daemon: action.h < call < worker < worker-slots < conn < admission < server < daemon.c, one way"
else
        not_ok "src/daemon: a module includes one above it"
        sed 's/^/# /' <<<"$module_out"
fi
below_server="src/daemon/call.c src/daemon/worker.c src/daemon/worker-slots.c src/daemon/conn.c src/daemon/admission.c"
# No name of the server or the daemon below the server; the action
# tables only through the ServerContext's functions (ad->find_action()).
for sym in server_ daemon_ actions_find action_is_reserved; do
        case $sym in
        *_) re="\b$sym" ;;
        *) re="(^|[^._>[:alnum:]])$sym\(" ;;
        esac
        # shellcheck disable=SC2086
        if grep -qE "$re" $below_server; then
                not_ok "call, worker, worker-slots, conn and admission use no $sym"
                grep -nE "$re" $below_server | sed 's/^/# /'
        else ok "call, worker, worker-slots, conn and admission use no $sym"; fi
done
if grep -qE '(^|[^._>[:alnum:]])(actions_find|action_is_reserved|daemon_[a-z_]+)\(' src/daemon/server.c; then
        not_ok "server.c calls nothing of daemon.c or actions.c"
else ok "server.c calls nothing of daemon.c or actions.c"; fi

# Rows the tree does not need (informative: a row may name a layer
# that a change is about to use).
while read -r folder deps; do
        for d in $(tr ',' ' ' <<<"$deps"); do
                grep -qsE "^[[:space:]]*#[[:space:]]*include[[:space:]]+\"$d/" src/"$folder"/*.[ch] ||
                        echo "# note: the row of $folder names $d, but nothing in src/$folder/ includes it"
        done
done < <(table_rows docs/architecture.md)

# The checker itself finds each kind of drift, in a scratch tree.
tmp=$(mktemp -d /tmp/enclave-test-layers.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/base" "$tmp/src/spec" "$tmp/src/cli"
cat >"$tmp/doc.md" <<'EOF'
## Folders

| folder | what it is | includes from |
|---|---|---|
| `src/base/` | errors | — |
| `src/spec/` | values | base |
| `src/cli/` | the command | base, spec |

## Next
EOF
echo '#include "base/error.h"' >"$tmp/src/spec/values.c"
echo '#include "spec/values.h"' >"$tmp/src/cli/main.c"
if [ -z "$(check_tree "$tmp" "$tmp/doc.md")" ]; then ok "a tree that follows its table passes"
else not_ok "a tree that follows its table passes"; fi

echo '  #  include "cli/cli.h"' >"$tmp/src/base/str.c"
out=$(check_tree "$tmp" "$tmp/doc.md")
if grep -q 'src/base/str.c:1 includes cli/' <<<"$out"; then ok "an include pointing up is found"
else not_ok "an include pointing up is found"; echo "# got: $out"; fi
rm "$tmp/src/base/str.c"

mkdir "$tmp/src/extra"
if grep -q 'src/extra/ has no row' <<<"$(check_tree "$tmp" "$tmp/doc.md")"; then ok "a folder without a row is found"
else not_ok "a folder without a row is found"; fi
rmdir "$tmp/src/extra"

sed -i 's/| `src\/spec\/` | values | base |/| `src\/spec\/` | values | base, cli |/' "$tmp/doc.md"
if grep -q 'row of spec names cli, which is not below it' <<<"$(check_tree "$tmp" "$tmp/doc.md")"; then
        ok "a row naming a folder above it is found"
else not_ok "a row naming a folder above it is found"; fi

echo "1..$n"
[ "$failed" -eq 0 ]
