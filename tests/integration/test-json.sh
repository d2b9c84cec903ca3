#!/usr/bin/env bash
# --json (issue 19 item 2): every reporting command prints the shape
# docs/json.md documents, with every key its table row lists, and
# --json works anywhere on the line.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workspace-setup.sh"
require_root
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DOC=$ROOT/docs/json.md
ws_setup

# The row of docs/json.md for a command: "SHAPE KEY KEY ...".
doc_row() {
        grep -F "| \`enclave $1\` |" "$DOC" | head -1 |
                awk -F'|' '{gsub(/ /, "", $3); printf "%s", $3; n = split($4, k, "`"); for (i = 2; i <= n; i += 2) printf " %s", k[i]}'
}

# check NAME OUTPUT: OUTPUT has the shape and the keys of NAME's row.
check() {
        local name=$1 out=$2 row
        row=$(doc_row "$name")
        if [ -z "$row" ]; then
                tap_fail "$name: no row in docs/json.md"
                return
        fi
        local problem
        problem=$(python3 - "$row" "$out" <<'PY'
import json, sys
shape, *keys = sys.argv[1].split()
text = sys.argv[2]
try:
    if shape == "lines":
        docs = [json.loads(l) for l in text.splitlines() if l.strip()]
        if not docs: raise ValueError("no lines")
    else:
        v = json.loads(text)
        if shape == "object" and not isinstance(v, dict): raise ValueError("not an object")
        if shape == "array" and not isinstance(v, list): raise ValueError("not an array")
        docs = v if shape == "array" else [v]
except ValueError as e:
    print(f"not {shape} JSON ({e}): {text[:300]}"); sys.exit()
for d in docs:
    missing = [k for k in keys if k not in d]
    if missing:
        print(f"missing {missing} in {json.dumps(d)[:300]}"); sys.exit()
PY
)
        if [ -z "$problem" ]; then tap_ok "$name --json: $(cut -d' ' -f1 <<<"$row") with its documented keys"
        else tap_fail "$name --json" "$problem"; fi
}
j() { enc "$@" --json 2>/dev/null; }
# At the front, in the middle and at the end.
is "--json anywhere: list" "$(enc --json list)" "$(enc list --json)"
is "--json anywhere: workspace list" "$(enc workspace --json list)" "$(enc workspace list --json)"

check "version" "$(j version)"
check "ping" "$(j ping)"
check "health" "$(j health)"
check "daemon status" "$(j daemon status)"
check "daemon start" "$(j daemon start)"
check "doctor" "$(j doctor)"
check "registry repair" "$(j registry repair)"
check "status" "$(j status "$SB")"
check "list" "$(j list)"
check "workspace create" "$(j workspace create "$SB" w1 \
        --run 'echo one; echo two >&2; while :; do [ -f /tmp/tick ] && echo tick && rm /tmp/tick; sleep 0.05; done')"
check "workspace start" "$(j workspace start "$SB" w1)"
check "workspace status" "$(j workspace status "$SB" w1)"
check "workspace list" "$(j workspace list)"
check "workspace stats" "$(j workspace stats "$SB" w1)"
check "stats" "$(j stats)"
check "ps" "$(j ps)"
check "workspace port publish" "$(j workspace port publish "$SB" w1 127.0.0.1:0:80 2>/dev/null || j workspace port publish "$SB" w1 "127.0.0.1:$((20000 + RANDOM % 12000)):80")"
check "workspace port list" "$(j workspace port list "$SB" w1)"
hp=$(enc --json workspace port list "$SB" w1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["ports"][0]["host_port"])')
check "workspace port unpublish" "$(j workspace port unpublish "$SB" w1 "127.0.0.1:$hp")"
for _ in $(seq 50); do enc workspace logs "$SB" w1 | grep -q two && break; sleep 0.1; done
logs=$(j workspace logs "$SB" w1)
check "workspace logs" "$logs"
is "logs --json: one line per log line, with its stream and a time when read back" \
        "$(python3 -c 'import json,sys; print([(d["line"], d["stream"], d["time"] is not None) for d in map(json.loads, sys.stdin)])' <<<"$logs")" \
        "[('one', 'stdout', True), ('two', 'stderr', True)]"
# Following: a line written meanwhile carries its time.
enc workspace logs "$SB" w1 --follow --json >"$ENC_DIR/follow.json" 2>/dev/null &
fpid=$!
sleep 0.5
enc workspace exec "$SB" w1 -- touch /tmp/tick >/dev/null 2>&1
for _ in $(seq 50); do grep -q tick "$ENC_DIR/follow.json" && break; sleep 0.1; done
kill "$fpid" 2>/dev/null; wait "$fpid" 2>/dev/null
check "workspace logs" "$(cat "$ENC_DIR/follow.json")"
tick=$(grep tick "$ENC_DIR/follow.json")
diag "followed: $tick"
python3 -c 'import json,sys,datetime,time
d = json.loads(sys.argv[1]); t = datetime.datetime.strptime(d["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
sys.exit(0 if abs(t.timestamp() - time.time()) < 60 else 1)' "$tick" 2>/dev/null &&
        tap_ok "logs --follow --json: a line written meanwhile carries its time" ||
        tap_fail "logs --follow --json: a line written meanwhile carries its time" "$tick"
check "workspace cp" "$(j workspace cp "$SB/w1:/etc/passwd" "$ENC_DIR/passwd-copy")"
check "snapshot create" "$(j snapshot create "$SB" w1 --name s1)"
check "snapshot list" "$(j snapshot list "$SB" w1)"
check "workspace snapshot-gc" "$(j workspace snapshot-gc "$SB" w1 --keep 5)"
check "snapshot export" "$(j snapshot export "$SB" w1 s1 --output "$ENC_DIR/s1.tar")"
check "snapshot import" "$(j snapshot import "$SB" w1 --name s2 "$ENC_DIR/s1.tar")"
check "workspace stop" "$(j workspace stop "$SB" w1)"
check "snapshot restore" "$(j snapshot restore "$SB" w1 s1)"
check "snapshot delete" "$(j snapshot delete "$SB" w1 s2)"
check "workspace destroy" "$(j workspace destroy "$SB" w1)"
check "workspace wipe" "$(j workspace wipe --yes)"
check "rootfs export" "$(j rootfs export --base --output "$ENC_DIR/base.tar")"
check "rootfs import" "$(j rootfs import --suite bookworm "$ENC_DIR/base.tar")"
check "auth list" "$(j auth list)"
check "auth logout" "$(j auth logout npm)"
check "policy show" "$(j policy show)"
check "stop" "$(j stop "$SB")"
check "start" "$(j start "$SB")"
check "create" "$(j create sb2 --bootstrap-method cached_rootfs)"
check "destroy" "$(j destroy sb2)"

# The project commands, in a directory of their own.
mkdir -p "$ENC_DIR/proj"
cd "$ENC_DIR/proj" || exit 1
check "init" "$(j init)"
cat >Enclavefile <<TOML
[sandbox]
name = "pj$ENC_TAG"
bootstrap_method = "cached_rootfs"
[workspace.a]
TOML
check "validate" "$(j validate)"
check "up" "$(j up)"
check "down" "$(j down)"
enc destroy --force "pj$ENC_TAG" >/dev/null 2>&1
cd "$ROOT" || exit 1
check "wipe" "$(j wipe --yes)"
check "daemon stop" "$(j daemon stop)"
done_testing
