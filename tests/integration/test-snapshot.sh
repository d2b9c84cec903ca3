#!/usr/bin/env bash
# Snapshots through the CLI and the daemon (SPEC §2, docs/snapshots.md):
# create on a running workspace (frozen), change files inside, restore
# after a stop and find the old files back and deletions undone;
# restore refused while running; export to .tar.zst and import under
# another name and into another workspace; traversal and invalid names
# refused with nothing created; gc --keep 2 keeps the two newest; the
# legacy aliases; the registry's snapshots rows follow.
. "$(dirname "$0")/lib.sh"
require_root
. "$(dirname "$0")/workspace-setup.sh"
command -v sqlite3 >/dev/null || skip_all "sqlite3 is needed to inspect the registry"
ws_setup
DB=$ENC_STATE/registry.db
WS=snap$$
WS2=other$$
WSDIR=$ENC_STATE/sandboxes/$SB/workspaces/$WS

inside() { enc workspace exec "$SB" "$WS" -- sh -c "$1"; }
snap_rows() {
        sqlite3 -readonly -cmd '.timeout 5000' "$DB" "SELECT s.name FROM snapshots s JOIN workspaces w ON w.id = s.workspace_id WHERE w.name = '$1' ORDER BY s.name" | tr '\n' ' '
}

ok "workspace create" enc workspace create "$SB" "$WS"
ok "workspace start" enc workspace start "$SB" "$WS"
ok "write the first state" inside 'echo one > /root/keep; echo gone-later > /root/victim; echo home-v1 > /home/h; rm /etc/shared-file'

# ---- create on a running workspace ----
out=$(enc snapshot create "$SB" "$WS" --name first 2>&1)
ok "snapshot create (running)" test $? -eq 0
contains "running workspace was frozen" "$out" "frozen"
ok "snapshot directory exists" test -f "$WSDIR/snapshots/first/snapshot.json"
is "registry row recorded" "$(snap_rows "$WS")" "first "
fails "duplicate name refused" enc snapshot create "$SB" "$WS" --name first
# The daemon flushes after its reply; the next snapshot request of the
# workspace waits for that, so afterwards nothing is left unsettled.
ok "snapshot list after create" enc snapshot list "$SB" "$WS"
is "create settled (no unsettled note)" "$(ls -A "$WSDIR/snapshots" | tr '\n' ' ')" "first "

# ---- modify ----
ok "modify inside" inside 'echo two > /root/keep; rm /root/victim; echo extra > /root/added; echo home-v2 > /home/h; echo back > /etc/shared-file'
out=$(enc snapshot restore "$SB" "$WS" first 2>&1)
ok "restore refused while running" test $? -ne 0
contains "refusal says to stop" "$out" "enclave workspace stop $SB $WS"
is "state untouched by the refused restore" "$(inside 'cat /root/keep')" "two"

# ---- restore ----
ok "workspace stop" enc workspace stop "$SB" "$WS"
ok "snapshot restore" enc snapshot restore "$SB" "$WS" first
ok "workspace start again" enc workspace start "$SB" "$WS"
is "changed file back" "$(inside 'cat /root/keep')" "one"
is "deleted file back" "$(inside 'cat /root/victim')" "gone-later"
is "added file gone" "$(inside 'test -e /root/added && echo present || echo absent')" "absent"
is "managed /home restored" "$(inside 'cat /home/h')" "home-v1"
is "whiteout restored (shared file deleted again)" "$(inside 'test -e /etc/shared-file && echo present || echo absent')" "absent"
is "shared rootfs untouched" "$(cat "$SB_ROOTFS/etc/shared-file")" "shared-$$"
ok "snapshot list after restore" enc snapshot list "$SB" "$WS"
ok "restore settled: the replaced state is gone" test ! -e "$WSDIR/.restore-tmp"

# ---- export / import ----
ARCH=$ENC_DIR/first.tar.zst
ok "snapshot export .tar.zst" enc snapshot export "$SB" "$WS" first --output "$ARCH"
ok "archive written" test -s "$ARCH"
is "archive is zstd" "$(head -c4 "$ARCH" | od -An -tx1 | tr -d ' ')" "28b52ffd"
fails "export onto an existing file refused" enc snapshot export "$SB" "$WS" first --output "$ARCH"
ok "snapshot import under another name" enc snapshot import "$SB" "$WS" --name copy "$ARCH"
fails "import onto an existing name refused" enc snapshot import "$SB" "$WS" --name copy "$ARCH"
ok "import --replace" enc snapshot import "$SB" "$WS" --name copy --replace "$ARCH"
tree() { (cd "$1" && find . -printf '%y %m %U %s %p\n' | sort); }
is "imported tree equals the original" "$(tree "$WSDIR/snapshots/copy/upper")" "$(tree "$WSDIR/snapshots/first/upper")"
is "registry rows after import" "$(snap_rows "$WS")" "copy first "

head -c 4096 /dev/urandom >"$ENC_DIR/junk.tar"
out=$(enc snapshot import "$SB" "$WS" --name junk "$ENC_DIR/junk.tar" 2>&1)
ok "a broken archive is refused" test $? -ne 0
diag "refusal: $out"
is "a refused import leaves nothing" "$(ls -A "$WSDIR/snapshots" | tr '\n' ' ')" "copy first "
mkdir -p "$ENC_DIR/evil/upper"
echo x >"$ENC_DIR/evil/upper/f"
tar -C "$ENC_DIR/evil" -cf "$ENC_DIR/evil.tar" upper
fails "an archive that is not a snapshot is refused" enc snapshot import "$SB" "$WS" --name evil "$ENC_DIR/evil.tar"
is "still nothing left behind" "$(ls -A "$WSDIR/snapshots" | tr '\n' ' ')" "copy first "
ok "second workspace" enc workspace create "$SB" "$WS2"
ok "import into another workspace" enc snapshot import "$SB" "$WS2" --name moved "$ARCH"
W2DIR=$ENC_STATE/sandboxes/$SB/workspaces/$WS2
base2=$(stat -c %u "$W2DIR/upper")
is "owners moved into the importing workspace's ids" "$(stat -c %u "$W2DIR/snapshots/moved/upper/root/keep")" "$base2"
ok "restore the imported snapshot there" enc snapshot restore "$SB" "$WS2" moved
ok "start it" enc workspace start "$SB" "$WS2"
is "imported state visible in the other workspace" \
        "$(enc workspace exec "$SB" "$WS2" -- cat /root/keep)" "one"

# ---- names ----
for bad in ../evil ../../x a/b .hidden -dash "" .. "$(printf 'n%.0s' $(seq 64))"; do
        fails "name '$bad' refused (create)" enc snapshot create "$SB" "$WS" --name "$bad"
done
fails "traversal refused (restore)" enc snapshot restore "$SB" "$WS" ../first
fails "traversal refused (export)" enc snapshot export "$SB" "$WS" ../../x --output "$ENC_DIR/x.tar"
fails "traversal refused (import)" enc snapshot import "$SB" "$WS" --name ../x "$ARCH"
ok "nothing escaped the snapshots dir" test ! -e "$ENC_STATE/sandboxes/$SB/workspaces/evil" -a ! -e "$ENC_DIR/x.tar"

# The daemon checks names itself, whatever a client sends.
for action in snapshot.create snapshot.restore snapshot.delete; do
        out=$(enc_call "$action" "{\"sandbox\": \"$SB\", \"workspace\": \"$WS\", \"name\": \"../../../escape\"}")
        contains "daemon refuses a traversal name ($action)" "$out" '"error"'
done
ok "no snapshot escaped" test ! -e "$ENC_STATE/sandboxes/escape" -a ! -e "$ENC_STATE/escape" -a ! -e "$WSDIR/escape"
fails "unknown snapshot" enc snapshot restore "$SB" "$WS" nosuch
fails "unknown workspace" enc snapshot list "$SB" nosuch$$

# ---- aliases and gc ----
ok "alias: workspace snapshot" enc workspace snapshot "$SB" "$WS" --name alias1
ok "create a timestamp-named snapshot" enc snapshot create "$SB" "$WS"
ok "create another" enc snapshot create "$SB" "$WS" --name newest
list=$(enc workspace snapshot-list "$SB" "$WS")
contains "alias: workspace snapshot-list" "$list" "alias1"
n_before=$(enc --json snapshot list "$SB" "$WS" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["snapshots"]))')
is "five snapshots before gc" "$n_before" "5"
ok "gc --keep 2" enc workspace snapshot-gc "$SB" "$WS" --keep 2
names=$(enc --json snapshot list "$SB" "$WS" | python3 -c 'import json,sys; print(" ".join(s["name"] for s in json.load(sys.stdin)["snapshots"]))')
ts=$(ls "$WSDIR/snapshots" | grep -E '^[0-9]{8}-[0-9]{6}' | head -1)
is "gc kept the two newest" "$names" "$ts newest"
is "registry rows follow gc" "$(snap_rows "$WS")" "$(printf '%s\n' "$ts" newest | sort | tr '\n' ' ')"
ok "workspace stop for alias restore" enc workspace stop "$SB" "$WS"
ok "alias: workspace restore" enc workspace restore "$SB" "$WS" newest
ok "snapshot delete" enc snapshot delete "$SB" "$WS" newest
ok "gc default keep" enc workspace snapshot-gc "$SB" "$WS"

# ---- workspace_dir is never captured ----
HOSTDIR=$ENC_DIR/project
mkdir -p "$HOSTDIR" && echo mine >"$HOSTDIR/file"
ok "workspace with a workspace_dir" enc workspace create "$SB" "dir$$" --workspace-dir "$HOSTDIR"
out=$(enc snapshot create "$SB" "dir$$" --name s 2>&1)
contains "note says workspace_dir is not captured" "$out" "workspace_dir"
ok "snapshot has no home" test ! -e "$ENC_STATE/sandboxes/$SB/workspaces/dir$$/snapshots/s/home"
is "host dir untouched" "$(cat "$HOSTDIR/file")" "mine"

ok "doctor is clean afterwards" enc doctor
done_testing
