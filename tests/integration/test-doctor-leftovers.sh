#!/usr/bin/env bash
# doctor sees what an operation cut short leaves while the daemon runs,
# and plain `registry repair` (not only --strict) removes it (issue 17,
# docs/recovery.md "Leftovers"): a workspace left frozen (exec hangs), a
# process in the cgroup of a workspace that does not run, a loop device
# holding the disk image of a workspace that does not run, and entries of
# tmp/ that no process holds - while a staging directory in use, a
# running workspace and its cgroup are left alone.
. "$(dirname "$0")/lib.sh"
require_root
. "$(dirname "$0")/workspace-setup.sh"
ws_setup
command -v losetup >/dev/null || skip_all "losetup is needed to bind a loop device by hand"

check() { # ID: "status count" of one check in doctor --json
        enc --json doctor | python3 -c 'import json,sys
for c in json.load(sys.stdin)["checks"]:
    if c["id"] == sys.argv[1]: print(c["status"], len(c.get("items") or []))' "$1"
}
tx() { timeout "$1" "$ENCLAVE" --config "$ENC_CONFIG" --socket "$ENC_SOCK" workspace exec "$SB" "$2" -- true </dev/null >/dev/null 2>&1; }

ok "create and start w1" sh -c "$(printf %q "$ENCLAVE") --config $(printf %q "$ENC_CONFIG") --socket $(printf %q "$ENC_SOCK") workspace create $SB w1 && $(printf %q "$ENCLAVE") --config $(printf %q "$ENC_CONFIG") --socket $(printf %q "$ENC_SOCK") workspace start $SB w1"
ok "create w2 with a disk image (stopped)" enc workspace create "$SB" w2 --disk-mb 32
is "a clean state to begin with" "$(check state.frozen) $(check state.cgroups) $(check state.tmp) $(check state.loop_devices)" \
        "ok 0 ok 0 ok 0 ok 0"

# ---- frozen ----
frozen=0
for f in /sys/fs/cgroup/*/enclave-"$ENC_BRIDGE"/"$SB"/w1/cgroup.freeze; do [ -f "$f" ] && echo 1 >"$f" && frozen=1; done
if [ "$frozen" = 0 ]; then
        for f in /sys/fs/cgroup/freezer/enclave-"$ENC_BRIDGE"/"$SB"/w1/freezer.state; do [ -f "$f" ] && echo FROZEN >"$f" && frozen=1; done
fi
[ "$frozen" = 1 ] || skip_all "no freezer for the workspace's cgroup here"
fails "exec into the frozen workspace hangs (3 s)" tx 3 w1
is "doctor reports it frozen" "$(check state.frozen)" "fail 1"

# ---- a process in the cgroup of a workspace that does not run ----
for d in /sys/fs/cgroup/*/enclave-"$ENC_BRIDGE"/"$SB"; do [ -d "$d" ] && mkdir -p "$d/w2"; done
sleep 1000 &
stray=$!
on_exit "kill $stray"
for d in /sys/fs/cgroup/*/enclave-"$ENC_BRIDGE"/"$SB"/w2; do echo "$stray" >"$d/cgroup.procs" 2>/dev/null; done
out=$(enc --json doctor)
contains "doctor counts the process in w2's cgroup" "$out" "1 process(es) of a workspace that does not run"

# ---- a loop device on w2's image ----
loop=$(losetup -f --show "$ENC_STATE/sandboxes/$SB/workspaces/w2/disk.img")
on_exit "losetup -d $loop"
is "doctor reports the loop device" "$(check state.loop_devices)" "fail 1"

# ---- tmp/ ----
mkdir -p "$ENC_STATE/tmp/copy-stale/rootfs/etc"
echo x >"$ENC_STATE/tmp/copy-stale/rootfs/etc/f"
mkdir -p "$ENC_STATE/tmp/copy-held"
# One process holds it, as a staging directory in use is held.
python3 -c 'import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX)
time.sleep(1000)' "$ENC_STATE/tmp/copy-held" &
holder=$!
on_exit "kill $holder"
for _ in $(seq 100); do flock -n "$ENC_STATE/tmp/copy-held" true || break; sleep 0.05; done
is "doctor reports the unheld tmp/ entry only" "$(check state.tmp)" "fail 1"

# ---- plain repair ----
out=$(enc registry repair 2>&1)
diag "$(printf '%s\n' "$out" | head -12)"
contains "repair thawed w1" "$out" "thawed workspace $SB/w1"
ok "exec into w1 answers again" tx 10 w1
for _ in $(seq 50); do kill -0 "$stray" 2>/dev/null || break; sleep 0.1; done
kill -0 "$stray" 2>/dev/null && tap_fail "repair killed the process in w2's cgroup" || tap_ok "repair killed the process in w2's cgroup"
[ -z "$(ls -d /sys/fs/cgroup/*/enclave-"$ENC_BRIDGE"/"$SB"/w2 2>/dev/null)" ] && tap_ok "and removed the cgroup" ||
        tap_fail "and removed the cgroup"
is "the loop device was unbound" "$(losetup -j "$ENC_STATE/sandboxes/$SB/workspaces/w2/disk.img" | wc -l)" 0
[ ! -e "$ENC_STATE/tmp/copy-stale" ] && tap_ok "the unheld tmp/ entry is gone" || tap_fail "the unheld tmp/ entry is gone"
[ -d "$ENC_STATE/tmp/copy-held" ] && tap_ok "the held one stays" || tap_fail "the held one stays"
is "doctor is clean of them" "$(check state.frozen) $(check state.cgroups) $(check state.tmp) $(check state.loop_devices)" \
        "ok 0 ok 0 ok 0 ok 0"
ok "w1 still runs" tx 10 w1
ok "w2 starts (its image is free)" enc workspace start "$SB" w2
kill "$holder" 2>/dev/null
done_testing
