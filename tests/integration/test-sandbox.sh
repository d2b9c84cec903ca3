#!/usr/bin/env bash
# Sandboxes end to end (SPEC §1, §2 create/start/stop/destroy/status/
# remove/list/wipe, §3 setup, §4): create from a cached busybox rootfs
# with aggregate caps, list/status (table and --json), every kind of bad
# input refused with nothing changed, a failing and a cancelled
# bootstrap that leave nothing behind, a daemon killed during create,
# setup through the daemon protocol (output streamed, digest recorded,
# the first failure reported), stop/start, destroy leaving no mount,
# directory or cgroup, and wipe with and without confirmation.
#
# setup is driven by a small python3 client of docs/protocol.md: the CLI
# reaches it only through `enclave up` (project area), and this test
# checks the action itself.
#
# With /var/cache/enclave-tests/bookworm.tar.zst (made by the storage
# tests) a real Debian sandbox is made from the cache and set up;
# ENCLAVE_TEST_DEBOOTSTRAP=1 also runs a real debootstrap (network).
. "$(dirname "$0")/lib.sh"
require_root
command -v sqlite3 >/dev/null || skip_all "sqlite3 is needed to inspect the registry"
command -v busybox >/dev/null || skip_all "busybox is needed for a tiny rootfs"
PY=/usr/bin/python3
[ -x "$PY" ] || skip_all "$PY is needed for the protocol client"
enc_setup
DB=$ENC_STATE/registry.db
CGROOT=enclave-$ENC_BRIDGE
# Whatever a failed run leaves in the cgroup trees of this daemon.
on_exit 'for d in $(enc_cgroup_dirs); do find "$d" -depth -type d -exec rmdir {} \; ; done'

# debootstrap stand-in: trixie fails like a broken mirror, bullseye
# hangs (for cancellation); anything else is the real debootstrap.
FAKE=$ENC_DIR/debootstrap
# The hanging one sleeps for a duration unique to this run, so its
# process is found by that and nothing else.
HANG=60.$$
cat >"$FAKE" <<SH
#!/bin/sh
case "\$2" in
trixie) echo "I: Retrieving InRelease"; echo "E: Failed getting release file enctest-mirror-broken"; exit 1 ;;
bullseye) echo "I: Retrieving InRelease"; exec sleep $HANG ;;
*) exec debootstrap "\$@" ;;
esac
SH
chmod 755 "$FAKE"
echo "debootstrap_binary = \"$FAKE\"" >>"$ENC_CONFIG"

if ! out=$(enc daemon start 2>&1); then
        echo "1..0 # SKIP the daemon does not start here: $out"
        exit 0
fi

api() { "$PY" "$ENC_CALL_PY" "$ENC_SOCK" "$@"; }
jget() { "$PY" -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d = d[int(k)] if isinstance(d, list) else d.get(k)
print("null" if d is None else d)' "$1"; }
# Read-only: a read-write sqlite3 that closes last may checkpoint and
# delete the daemon's WAL (see the report on registry_open).
q() { sqlite3 -readonly -cmd '.timeout 5000' "$DB" "$1"; }
n_rows() { q 'SELECT count(*) FROM sandboxes'; }
sb_dirs() { ls "$ENC_STATE/sandboxes" 2>/dev/null | grep -v '^rootfs-cache$' | tr '\n' ' '; }
cg_of() { enc_cgroup_dirs "$1"; }

# ---- no cached rootfs yet: create fails and keeps nothing ----
out=$(enc create nocache --bootstrap-method cached_rootfs 2>&1); rc=$?
is "create without any cached rootfs fails" "$rc" 1
contains "the error says how to add a cache" "$out" "enclave rootfs import"
is "the failed create left no row" "$(n_rows)" 0
is "the failed create left no directory" "$(sb_dirs)" ""
is "the failed create left no cgroup" "$(cg_of nocache)" ""

# ---- a tiny rootfs in the base cache ----
RF=$ENC_DIR/busybox-rootfs
make_busybox_rootfs "$RF"
tar -C "$RF" -cf "$ENC_DIR/bb.tar" .
ok "rootfs import --base" enc rootfs import --base "$ENC_DIR/bb.tar"

# ---- create ----
out=$(enc create sb1 --bootstrap-method cached_rootfs --memory-mb 256 --cpu-percent 50 --max-procs 64 2>&1); rc=$?
is "create sb1 from the cached rootfs" "$rc" 0
contains "create reports what it made" "$out" "created sandbox sb1"
ok "sb1's rootfs holds busybox" test -x "$ENC_STATE/sandboxes/sb1/rootfs/bin/busybox"
is "sb1's rootfs is root's, 0755" "$(stat -c '%u %a' "$ENC_STATE/sandboxes/sb1/rootfs")" "0 755"
ok "sb1 has its cgroup" test -n "$(cg_of sb1)"
if [ -f "/sys/fs/cgroup/memory/$CGROOT/sb1/memory.limit_in_bytes" ]; then
        is "memory cap applied (v1)" "$(cat /sys/fs/cgroup/memory/$CGROOT/sb1/memory.limit_in_bytes)" $((256 << 20))
        is "pids cap applied (v1)" "$(cat /sys/fs/cgroup/pids/$CGROOT/sb1/pids.max)" 64
elif [ -f "/sys/fs/cgroup/$CGROOT/sb1/memory.max" ]; then
        is "memory cap applied (v2)" "$(cat /sys/fs/cgroup/$CGROOT/sb1/memory.max)" $((256 << 20))
        is "pids cap applied (v2)" "$(cat /sys/fs/cgroup/$CGROOT/sb1/pids.max)" 64
else
        tap_skip "memory cap applied" "no memory controller here"
        tap_skip "pids cap applied" "no memory controller here"
fi

# ---- list and status ----
out=$(enc list)
contains "list has the header" "$(echo "$out" | head -1)" "NAME  SUITE     METHOD         STATE  WORKSPACES  CREATED"
contains "list shows sb1 ready" "$out" "sb1   bookworm  cached_rootfs  ready  0"
json=$(enc --json list)
is "list --json: name" "$(echo "$json" | jget 0.name)" sb1
is "list --json: state" "$(echo "$json" | jget 0.state)" ready
is "list --json: caps" "$(echo "$json" | jget 0.memory_mb)/$(echo "$json" | jget 0.cpu_percent)/$(echo "$json" | jget 0.max_procs)" "256/50/64"
json=$(enc --json status sb1)
is "status --json: rootfs path" "$(echo "$json" | jget rootfs)" "$ENC_STATE/sandboxes/sb1/rootfs"
is "status --json: no setup yet" "$(echo "$json" | jget setup_digest)" null
is "status --json: mirror default from config" "$(echo "$json" | jget mirror)" "http://deb.debian.org/debian"
contains "status lists the cgroup dirs" "$(enc status sb1)" "$CGROOT/sb1"
out=$(enc status nosuch 2>&1); rc=$?
is "status of a missing sandbox fails" "$rc" 1
contains "it says so and what to do" "$out" "no sandbox named 'nosuch'; 'enclave list'"

# ---- bad input: refused, nothing changed ----
before_rows=$(n_rows); before_dirs=$(sb_dirs)
out=$(enc create sb1 --bootstrap-method cached_rootfs 2>&1); rc=$?
is "duplicate name refused" "$rc" 1
contains "duplicate says it exists" "$out" "sandbox sb1 already exists"
long=$(printf 'a%.0s' $(seq 64))
for bad in "../x" "rootfs-cache" "$long" "-x" "a/b" ""; do
        enc create "$bad" --bootstrap-method cached_rootfs >/dev/null 2>&1; rc=$?
        is "bad name '${bad:0:12}' is a usage error" "$rc" 2
        out=$(api sandbox.create "{\"name\": \"$bad\", \"bootstrap_method\": \"cached_rootfs\"}")
        contains "the daemon refuses '${bad:0:12}' too" "$out" '"error"'
done
out=$(enc create sb2 --suite potato 2>&1); rc=$?
is "bad suite is a usage error" "$rc" 2
contains "bad suite lists the valid ones" "$out" "bookworm"
out=$(enc create sb2 --mirror ftp://deb.debian.org/debian 2>&1); rc=$?
is "ftp mirror is a usage error" "$rc" 2
out=$(api sandbox.create '{"name": "sb2", "mirror": "ftp://deb.debian.org/debian"}')
contains "the daemon refuses an ftp mirror" "$out" "http"
out=$(api sandbox.create '{"name": "sb2", "bootstrap_method": "rsync"}')
contains "the daemon refuses an unknown method" "$out" "invalid bootstrap method"
out=$(api sandbox.create '{"name": "sb2", "cpu_percent": 101}')
contains "the daemon refuses cpu_percent 101" "$out" "cpu_percent"
enc create sb2 --memory-mb 0 >/dev/null 2>&1; is "--memory-mb 0 is a usage error" "$?" 2
enc create sb2 --cpu-percent abc >/dev/null 2>&1; is "--cpu-percent abc is a usage error" "$?" 2
is "bad input changed no row" "$(n_rows)" "$before_rows"
is "bad input made no directory" "$(sb_dirs)" "$before_dirs"
is "bad input made no cgroup" "$(cg_of sb2)" ""

# ---- a failing debootstrap: the cause comes back, nothing is kept ----
out=$(enc create broken --suite trixie --bootstrap-method debootstrap 2>&1); rc=$?
is "failing debootstrap fails the create" "$rc" 1
contains "the error carries debootstrap's own words" "$out" "enctest-mirror-broken"
contains "the error says nothing was kept" "$out" "nothing was kept"
is "no row after the failure" "$(n_rows)" "$before_rows"
is "no directory after the failure" "$(sb_dirs)" "$before_dirs"
is "no cgroup after the failure" "$(cg_of broken)" ""
is "no staging left in tmp/" "$(ls "$ENC_STATE/tmp" | wc -l)" 0

# ---- a cancelled create (client gone): nothing is kept ----
# The binary itself, not the enc function: $! must be the client.
"$ENCLAVE" --config "$ENC_CONFIG" --socket "$ENC_SOCK" create slow --suite bullseye --bootstrap-method debootstrap \
        >/dev/null 2>&1 &
cpid=$!
for _ in $(seq 50); do [ "$(q "SELECT state FROM sandboxes WHERE name='slow'")" = creating ] && break; sleep 0.1; done
is "slow create is recorded as creating" "$(q "SELECT state FROM sandboxes WHERE name='slow'")" creating
kill "$cpid"; wait "$cpid" 2>/dev/null
for _ in $(seq 100); do [ "$(n_rows)" = "$before_rows" ] && break; sleep 0.1; done
is "cancelled create removed its row" "$(n_rows)" "$before_rows"
is "cancelled create removed its directory" "$(sb_dirs)" "$before_dirs"
is "cancelled create removed its cgroup" "$(cg_of slow)" ""
hung() { pgrep -x -f "sleep $HANG"; }
is "cancelled debootstrap left no process" "$(hung | wc -l)" 0

# ---- the daemon killed during a create: the next start cleans up ----
enc create crashed --suite bullseye --bootstrap-method debootstrap >/dev/null 2>&1 &
cpid=$!
for _ in $(seq 50); do [ -d "$ENC_STATE/sandboxes/crashed" ] && break; sleep 0.1; done
sleep 0.3
kill -9 "$(cat "$ENC_PIDFILE")"; wait "$cpid" 2>/dev/null
for _ in $(seq 30); do [ -z "$(hung)" ] && break; sleep 0.1; done
is "debootstrap died with the daemon" "$(hung | wc -l)" 0
for p in $(hung); do kill -9 "$p"; done
is "the crash left a creating row" "$(q "SELECT state FROM sandboxes WHERE name='crashed'")" creating
ok "daemon restarts" enc daemon start
is "restart removed the interrupted sandbox's row" "$(q "SELECT count(*) FROM sandboxes WHERE name='crashed'")" 0
is "restart removed its directory" "$(sb_dirs)" "$before_dirs"
is "restart removed its cgroup" "$(cg_of crashed)" ""
is "sb1 survived the crash" "$(enc --json status sb1 | jget state)" ready

# ---- setup through the daemon ----
out=$(api sandbox.setup '{"name": "sb1", "commands": ["echo hello-from-setup", "touch /setup-marker; echo two"]}')
contains "setup streams a command's output" "$out" '"message": "hello-from-setup"'
contains "setup announces each command" "$out" "2/2"
digest=$(echo "$out" | tail -1 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["result"]["setup_digest"])')
ok "setup changed the rootfs" test -f "$ENC_STATE/sandboxes/sb1/rootfs/setup-marker"
is "status shows the setup digest" "$(enc --json status sb1 | jget setup_digest)" "$digest"
mkdir -p "$ENC_DIR/proj"
cat >"$ENC_DIR/proj/Enclavefile" <<'EF'
[sandbox]
name = "sb1"
setup = ["echo hello-from-setup", "touch /setup-marker; echo two"]
EF
is "the digest is the one 'enclave validate' computes" \
        "$(cd "$ENC_DIR/proj" && enc --json validate | jget sandbox.setup_digest)" "$digest"
is "sandbox is ready again after setup" "$(enc --json status sb1 | jget state)" ready
out=$(api sandbox.setup '{"name": "sb1", "commands": ["true", "echo about-to-fail; exit 3", "touch /never"]}')
contains "a failing command is named with its status" "$out" "setup command 2/3 failed with exit status 3"
contains "its output came first" "$out" "about-to-fail"
ok "the commands after the failure did not run" test ! -e "$ENC_STATE/sandboxes/sb1/rootfs/never"
is "a failed setup clears the digest" "$(enc --json status sb1 | jget setup_digest)" null
is "and leaves the sandbox ready" "$(enc --json status sb1 | jget state)" ready
out=$(api sandbox.setup '{"name": "sb1", "commands": "echo not-a-list"}')
contains "setup wants a list" "$out" "array of strings"
out=$(api sandbox.setup '{"name": "nosuch", "commands": ["true"]}')
contains "setup of a missing sandbox" "$out" "no sandbox named"

# ---- stop and start ----
out=$(enc stop sb1 2>&1); rc=$?
is "stop sb1" "$rc" 0
is "sb1 is stopped" "$(enc --json status sb1 | jget state)" stopped
contains "stop again says so" "$(enc stop sb1)" "already stopped"
# A reboot empties the cgroup trees; start brings the group back.
for d in $(cg_of sb1); do rmdir "$d"; done
is "(cgroup removed behind the daemon's back)" "$(cg_of sb1)" ""
ok "start sb1" enc start sb1
is "sb1 is ready" "$(enc --json status sb1 | jget state)" ready
ok "start re-created the cgroup" test -n "$(cg_of sb1)"
enc start nosuch >/dev/null 2>&1; is "start of a missing sandbox fails" "$?" 1
enc stop >/dev/null 2>&1; is "stop without a name is a usage error" "$?" 2

# ---- with workspaces (when the workspace area is built) ----
ok "create wsb" enc -q create wsb --bootstrap-method cached_rootfs
if out=$(enc workspace create wsb w1 2>&1) && enc -q workspace start wsb w1 >/dev/null 2>&1; then
        wpid=$(enc --json workspace status wsb w1 | jget pid)
        out=$(enc destroy wsb 2>&1); rc=$?
        is "destroy refuses a sandbox with workspaces" "$rc" 1
        contains "and names them and the way out" "$out" "(w1); destroy them first"
        out=$(api sandbox.setup '{"name": "wsb", "commands": ["true"]}')
        contains "setup refuses while workspaces run" "$out" "running workspace(s)"
        ok "stop wsb stops its workspace" enc stop wsb
        is "the workspace is stopped" "$(enc --json workspace status wsb w1 | jget state)" stopped
        ok "its process is gone" test ! -e "/proc/$wpid"
        fails "a workspace of a stopped sandbox does not start" enc workspace start wsb w1
        ok "start wsb" enc start wsb
        ok "then the workspace starts" enc -q workspace start wsb w1
        wpid=$(enc --json workspace status wsb w1 | jget pid)
        ok "destroy --force takes the workspaces with it" enc destroy --force wsb
        ok "the workspace's process is gone" test ! -e "/proc/$wpid"
        ok "wsb's directory is gone" test ! -e "$ENC_STATE/sandboxes/wsb"
        is "wsb's cgroup is gone" "$(cg_of wsb)" ""
        is "no workspace row is left" "$(q 'SELECT count(*) FROM workspaces')" 0
else
        tap_skip "sandboxes with workspaces" "workspaces do not start here: $(echo "$out" | head -1)"
        ok "destroy wsb" enc destroy wsb
fi

# ---- a real Debian sandbox from the storage tests' cache ----
CACHE=/var/cache/enclave-tests/bookworm.tar.zst
if [ -f "$CACHE" ]; then
        ok "rootfs import --suite bookworm (cached Debian)" enc -q rootfs import --suite bookworm "$CACHE"
        ok "create deb from the bookworm cache" enc -q create deb --suite bookworm --bootstrap-method cached_rootfs
        out=$(api sandbox.setup '{"name": "deb", "commands": ["cat /etc/debian_version", "apt-get --version | head -1"]}')
        contains "setup runs in the Debian rootfs" "$out" '"message": "12.'
        contains "apt works in it" "$out" '"message": "apt '
        contains "and the setup succeeds" "$(echo "$out" | tail -1)" '"result"'
        ok "destroy deb" enc destroy deb
else
        tap_skip "real Debian sandbox" "no $CACHE (run the storage tests once)"
fi
if [ "${ENCLAVE_TEST_DEBOOTSTRAP:-0}" = 1 ]; then
        ok "create with a real debootstrap" enc create debs --suite bookworm --bootstrap-method debootstrap
        ok "debootstrapped rootfs has apt" test -x "$ENC_STATE/sandboxes/debs/rootfs/usr/bin/apt-get"
        ok "debootstrap filled the suite cache" test -d "$ENC_STATE/sandboxes/rootfs-cache/bookworm/usr"
        ok "destroy debs" enc destroy debs
else
        tap_skip "create with a real debootstrap" "set ENCLAVE_TEST_DEBOOTSTRAP=1 (downloads from deb.debian.org)"
fi

# ---- destroy ----
ok "create sb3" enc -q create sb3 --bootstrap-method cached_rootfs
out=$(enc destroy sb1 2>&1); rc=$?
is "destroy sb1" "$rc" 0
ok "sb1's directory is gone" test ! -e "$ENC_STATE/sandboxes/sb1"
is "sb1's row is gone" "$(q "SELECT count(*) FROM sandboxes WHERE name='sb1'")" 0
is "sb1's cgroup is gone" "$(cg_of sb1)" ""
is "no mount of sb1 remains" "$(grep -c "/sandboxes/sb1" /proc/self/mountinfo)" 0
out=$(enc destroy sb1 2>&1); rc=$?
is "destroying it again fails" "$rc" 1
contains "and says it does not exist" "$out" "no sandbox named 'sb1'"
ok "remove sb3 (same as destroy)" enc remove sb3
is "sb3 is gone" "$(n_rows)" 0
is "the cgroup root goes with the last sandbox" "$(enc_cgroup_dirs)" ""

# ---- wipe ----
ok "create w1" enc -q create w1 --bootstrap-method cached_rootfs
ok "create w2" enc -q create w2 --bootstrap-method cached_rootfs
out=$(enc wipe </dev/null 2>&1); rc=$?
is "wipe without a terminal and without --yes is refused" "$rc" 2
contains "and says to add --yes" "$out" "--yes"
is "nothing was wiped" "$(n_rows)" 2
out=$(enc wipe --yes 2>&1); rc=$?
is "wipe --yes" "$rc" 0
contains "wipe says how many" "$out" "destroyed 2 sandbox(es)"
is "no sandbox row left" "$(n_rows)" 0
is "no sandbox directory left" "$(sb_dirs)" ""
is "no cgroup left" "$(enc_cgroup_dirs)" ""
ok "the rootfs cache is kept" test -d "$ENC_STATE/sandboxes/rootfs-cache/base/bin"
contains "wipe with nothing to do" "$(enc wipe)" "nothing to wipe"

ok "daemon stops" enc daemon stop
done_testing
