#!/usr/bin/env bash
# disk_mb covers everything a workspace writes (issue 17 item 5,
# docs/disk-quota.md): the overlay's upper layer lives in the disk image
# with /home and /tmp, so a write to /var, /etc or /usr counts against the
# same quota and fails with ENOSPC once it is used up; nothing lands on
# the host's file system beside the image. Snapshots of such a workspace
# capture its upper layer and /home from the image (running or stopped)
# and a restore puts them back into it.
. "$(dirname "$0")/lib.sh"
require_root
. "$(dirname "$0")/workspace-setup.sh"
ws_setup
WS_DIR=$ENC_STATE/sandboxes/$SB/workspaces/dq

x() { timeout 60 "$ENCLAVE" --config "$ENC_CONFIG" --socket "$ENC_SOCK" workspace exec "$SB" dq -- "$@" </dev/null 2>&1; }

ok "create with --disk-mb 50" enc workspace create "$SB" dq --disk-mb 50
ok "start" enc workspace start "$SB" dq
lacks "the overlay took its upper layer from the image" "$(grep -h 'outside disk_mb' "$ENC_STATE"/daemon.log 2>/dev/null)" "outside disk_mb"
out=$(x sh -c 'dd if=/dev/zero of=/var/big bs=1M count=100 2>&1; echo rc=$?')
contains "100 MiB to /var does not fit into 50 MiB" "$out" "No space left on device"
used=$(x sh -c 'rm -f /var/big; sync; df -m /home | awk "NR == 2 {print \$3}"')
out=$(x sh -c 'dd if=/dev/zero of=/home/a bs=1M count=30 2>&1 && dd if=/dev/zero of=/etc/b bs=1M count=30 2>&1; echo rc=$?')
contains "/home and /etc share the 50 MiB" "$out" "No space left on device"
x sh -c 'rm -f /home/a /etc/b' >/dev/null
host_upper=$(du -sk "$WS_DIR/upper" 2>/dev/null | cut -f1)
[ "${host_upper:-0}" -lt 64 ] && tap_ok "nothing was written to the host's upper dir (${host_upper:-0} KiB)" ||
        tap_fail "nothing was written to the host's upper dir" "${host_upper} KiB"
diag "used in the image after cleaning up: ${used:-?} MiB"

# ---- snapshots read the image ----
x sh -c 'echo one > /etc/marker; echo home-one > /home/file' >/dev/null
ok "snapshot of the running workspace" enc snapshot create "$SB" dq --name s1
x sh -c 'echo two > /etc/marker; echo home-two > /home/file' >/dev/null
ok "stop" enc workspace stop "$SB" dq
ok "snapshot of the stopped workspace" enc snapshot create "$SB" dq --name s2
is "snapshot s1 holds the upper layer" "$(cat "$WS_DIR/snapshots/s1/upper/etc/marker" 2>&1)" one
is "snapshot s1 holds /home" "$(cat "$WS_DIR/snapshots/s1/home/file" 2>&1)" home-one
is "snapshot s2 holds the later state" "$(cat "$WS_DIR/snapshots/s2/upper/etc/marker" 2>&1)" two
ok "restore s1 into the image" enc snapshot restore "$SB" dq s1
[ ! -e "$WS_DIR/.restore-in-image" ] && tap_ok "the restore finished (no marker left)" || tap_fail "the restore finished"
ok "start after the restore" enc workspace start "$SB" dq
is "/etc/marker is restored" "$(x cat /etc/marker)" one
is "/home/file is restored" "$(x cat /home/file)" home-one
out=$(x sh -c 'dd if=/dev/zero of=/usr/big bs=1M count=100 2>&1; echo rc=$?')
contains "the quota still holds after the restore" "$out" "No space left on device"
ok "stop" enc workspace stop "$SB" dq
ok "destroy" enc workspace destroy "$SB" dq
done_testing
