#!/usr/bin/env bash
# Client fds and quotas (docs/security.md "Client file descriptors and
# quotas"): a client's fd is used only as given (an O_PATH fd to a
# root-only archive is refused, never reopened as root); a FIFO or a
# pipe nobody serves holds no worker, and no snapshot claim, past the
# client's connection; one uid cannot take all connections or long-action
# slots (root and other users still work); per-user caps on sandboxes,
# workspaces and snapshots (root exempt); rootfs fetches refuse special
# destinations unless root allows them, re-check every redirect, cap the
# bytes, and fail alike for every unreachable destination.
. "$(dirname "$0")/lib.sh"
require_root
command -v busybox >/dev/null || skip_all "busybox is needed for a tiny rootfs"
command -v setpriv >/dev/null || skip_all "setpriv is needed to act as another uid"
PY=/usr/bin/python3
[ -x "$PY" ] || skip_all "$PY is needed for the raw protocol client"
enc_setup

HOSTILE=$(cd "$(dirname "$0")" && pwd)/hostile-client.py
ALICE=61101
BOB=61102
ua() { enc_as $ALICE "$@"; }
ub() { enc_as $BOB "$@"; }
hostile() { local u=$1; shift; as_uid "$u" "$PY" "$HOSTILE" "$ENC_SOCK" "$@"; }
jq_py() { "$PY" -c "import json,sys; d=json.load(sys.stdin); $1"; }
long_actions() { enc --json health | jq_py 'print(d["server"]["long_actions"])'; }
long_actions_le() { [ "$(long_actions)" -le "$1" ]; }
wait_for_file() { for _ in $(seq 100); do [ -e "$1" ] && return 0; sleep 0.1; done; return 1; }
# wait_until SECS CMD...: poll until CMD succeeds.
wait_until() { local n=$(( $1 * 10 )); shift; for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }

start_daemon() {
        if ! out=$(enc daemon start 2>&1); then
                echo "# daemon start: $out"
                return 1
        fi
        enc_open_socket
}
start_daemon || { echo "1..0 # SKIP the daemon does not start here"; exit 0; }
mkdir -m 1777 "$ENC_DIR/shared"

RF=$ENC_DIR/rootfs
make_busybox_rootfs "$RF" || skip_all "cannot build a busybox rootfs"
tar -C "$RF" -cf "$ENC_DIR/rootfs.tar" .
ok "root imports the base rootfs cache" enc -q rootfs import --base "$ENC_DIR/rootfs.tar"

# ---------------------------------------------------- fds used as given
ok "root makes a sandbox" enc -q create rootsb --bootstrap-method cached_rootfs
ok "and a workspace" enc -q workspace create rootsb rw
ok "alice makes hers" ua -q create asb --bootstrap-method cached_rootfs
ok "and a workspace" ua -q workspace create asb aw
ok "alice starts it" ua -q workspace start asb aw
# A root-only archive that alice can see but not read.
enc workspace start rootsb rw >/dev/null
enc workspace exec rootsb rw -- sh -c 'echo root-secret-'$$' > /root/secret' </dev/null
ok "root snapshots its workspace" enc -q snapshot create rootsb rw --name s
ok "and exports it" enc -q snapshot export rootsb rw s --output "$ENC_DIR/secret.tar"
chmod 0600 "$ENC_DIR/secret.tar"
fails "alice cannot read the archive herself" as_uid $ALICE cat "$ENC_DIR/secret.tar"
res=$(hostile $ALICE opath "$ENC_DIR/secret.tar" asb aw 2>&1)
contains "an O_PATH fd is refused for import" "$res" "O_PATH"
lacks "nothing was imported" "$(ua snapshot list asb aw 2>&1)" "stolen"
ua -q workspace stop asb aw
ua -q snapshot restore asb aw stolen >/dev/null 2>&1
ua -q workspace start asb aw
out=$(ua workspace exec asb aw -- cat /root/secret </dev/null 2>&1)
lacks "alice never sees root's file" "$out" "root-secret-$$"

# A FIFO opened read-write never ends: the daemon must let go once the
# client is gone, with the workspace's snapshot claim.
before=$(long_actions)
as_uid $ALICE mkfifo "$ENC_DIR/shared/fifo"
hostile $ALICE fifo asb aw "$ENC_DIR/shared/fifo" "$ENC_DIR/shared/fifo.ready" &
hpid=$!
wait_for_file "$ENC_DIR/shared/fifo.ready"
wait $hpid
if wait_until 10 long_actions_le "$before"; then
        tap_ok "the import of a never-ending FIFO ends with its client"
else
        tap_fail "the import of a never-ending FIFO ends with its client" "long actions: $(long_actions), before $before"
fi
ok "the workspace's snapshot claim is free again" ua -q snapshot create asb aw --name after-fifo

# An export into a pipe nobody reads (its read end kept by another
# process): the worker must not wait past the client.
ua workspace exec asb aw -- sh -c 'dd if=/dev/urandom of=/root/big bs=1M count=4 2>/dev/null' </dev/null
ok "alice snapshots 4 MiB" ua -q snapshot create asb aw --name big
before=$(long_actions)
rm -f "$ENC_DIR/shared/pipe.ready"
hostile $ALICE pipe-export asb aw big "$ENC_DIR/shared/pipe.ready" &
hpid=$!
wait_for_file "$ENC_DIR/shared/pipe.ready"
holder=$(cat "$ENC_DIR/shared/pipe.ready")
wait $hpid
if wait_until 10 long_actions_le "$before"; then
        tap_ok "an export into a pipe nobody reads ends with its client"
else
        tap_fail "an export into a pipe nobody reads ends with its client" "long actions: $(long_actions)"
fi
[ -n "$holder" ] && kill "$holder" 2>/dev/null
ok "the snapshot claim is free again" ua -q snapshot delete asb aw after-fifo

# --------------------------------------- connections and long actions
# One uid's followers take its own share only (32 by default).
hostile $ALICE follow asb aw 40 8 >"$ENC_DIR/follow.out" 2>"$ENC_DIR/follow.err" &
fpid=$!
wait_until 10 grep -q accepted "$ENC_DIR/follow.out"
res=$(ua workspace logs asb aw 2>&1); rc=$?
is "alice is busy past her share of long actions" "$rc" 1
contains "and told which limit" "$res" "max_long_actions_per_user"
ok "root still runs long actions" enc workspace exec rootsb rw -- true
ok "bob makes a sandbox meanwhile (a long action)" ub -q create bsb --bootstrap-method cached_rootfs
wait $fpid
is "32 of alice's 40 followers were accepted" "$(cat "$ENC_DIR/follow.out")" "accepted 32 busy 8"

hostile $ALICE conns 70 6 >"$ENC_DIR/conns.out" 2>"$ENC_DIR/conns.err" &
cpid=$!
wait_until 20 grep -q open "$ENC_DIR/conns.out"
ok "root connects while alice holds her connections" enc ping
ok "bob too" ub ping
wait $cpid
is "alice gets 64 connections, the rest are busy" "$(cat "$ENC_DIR/conns.out")" "open 64 refused 6"
contains "naming the limit" "$(cat "$ENC_DIR/conns.err")" "max_connections_per_user"

# ------------------------------------------------ per-user object caps
n=0
for i in $(seq 2 16); do ua -q create "asb$i" --bootstrap-method cached_rootfs && n=$((n + 1)); done
is "alice makes her 16 sandboxes" "$n" 15
out=$(ua create asb17 --bootstrap-method cached_rootfs 2>&1); rc=$?
is "the 17th is refused" "$rc" 1
contains "naming the cap" "$out" "max_sandboxes_per_user"
ok "root is exempt" enc -q create rootsb2 --bootstrap-method cached_rootfs
for i in $(seq 2 16); do ua -q destroy "asb$i" >/dev/null 2>&1; done
enc -q destroy rootsb2 >/dev/null 2>&1

# Smaller caps from config.toml.
enc daemon stop >/dev/null 2>&1
cat >>"$ENC_CONFIG" <<'CONF'
max_workspaces_per_user = 2
max_snapshots_per_user = 3
CONF
if start_daemon; then
        tap_ok "the daemon takes the per-user caps from config.toml"
        ok "alice's second workspace" ua -q workspace create asb aw2
        out=$(ua workspace create asb aw3 2>&1); rc=$?
        is "her third is refused" "$rc" 1
        contains "naming the cap" "$out" "max_workspaces_per_user"
        ok "root's second workspace" enc -q workspace create rootsb r2
        ok "root's third is not refused" enc -q workspace create rootsb r3
        # alice holds one snapshot now (big): two more fit.
        ok "alice's second snapshot" ua -q snapshot create asb aw --name two
        ok "her third" ua -q snapshot create asb aw --name three
        out=$(ua snapshot create asb aw --name four 2>&1); rc=$?
        is "her fourth is refused" "$rc" 1
        contains "naming the cap" "$out" "max_snapshots_per_user"
        ok "alice exports one" ua -q snapshot export asb aw two --output "$ENC_DIR/shared/two.tar"
        ok "importing over one of hers (--replace) is fine at the cap" \
                ua -q snapshot import asb aw --name three --replace "$ENC_DIR/shared/two.tar"
        fails "a new name is not" ua -q snapshot import asb aw --name five "$ENC_DIR/shared/two.tar"
else
        tap_fail "the daemon takes the per-user caps from config.toml"
fi

# --------------------------------------------------------- URL fetches
SERVE=$ENC_DIR/serve
mkdir -p "$SERVE"
tar -C "$RF" -czf "$SERVE/rootfs.tar.gz" .
head -c 3000000 /dev/urandom >"$SERVE/big.bin"
cat >"$ENC_DIR/server.py" <<'PY'
import http.server, socketserver, sys, os
host, port_file, target = sys.argv[1], sys.argv[2], sys.argv[3]
os.chdir(sys.argv[4])
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path.startswith("/redir"):
            self.send_response(302)
            self.send_header("Location", target)
            self.end_headers()
            return
        super().do_GET()
with socketserver.TCPServer((host, 0), H) as s:
    with open(port_file + ".tmp", "w") as f:
        f.write(str(s.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    s.serve_forever()
PY
"$PY" "$ENC_DIR/server.py" 127.0.0.2 "$ENC_DIR/port-b" none "$SERVE" >/dev/null 2>&1 &
srv_b=$!
on_exit "kill $srv_b"
wait_for_file "$ENC_DIR/port-b"
PB=$(cat "$ENC_DIR/port-b")
"$PY" "$ENC_DIR/server.py" 127.0.0.1 "$ENC_DIR/port-a" "http://127.0.0.2:$PB/rootfs.tar.gz" "$SERVE" >/dev/null 2>&1 &
srv_a=$!
on_exit "kill $srv_a"
wait_for_file "$ENC_DIR/port-a"
PA=$(cat "$ENC_DIR/port-a")
ok "the test's server on 127.0.0.2 answers (positive control)" "$PY" -c \
        "import urllib.request; urllib.request.urlopen('http://127.0.0.2:$PB/rootfs.tar.gz').read()"

out_listening=$(enc rootfs fetch --suite sid "http://127.0.0.2:$PB/rootfs.tar.gz" 2>&1); rc=$?
is "a fetch from loopback is refused by default" "$rc" 1
contains "as unreachable" "$out_listening" "cannot be reached"
fails "and made no cache" test -e "$ENC_STATE/sandboxes/rootfs-cache/sid"
out_closed=$(enc rootfs fetch --suite sid "http://127.0.0.2:1/rootfs.tar.gz" 2>&1)
is "a port where nothing listens fails with the very same message" \
        "${out_closed//127.0.0.2:1\//X}" "${out_listening//127.0.0.2:$PB\//X}"
out_meta=$(enc rootfs fetch --suite sid "http://169.254.169.254:$PB/rootfs.tar.gz" 2>&1)
contains "the metadata address is refused too" "$out_meta" "cannot be reached"

enc daemon stop >/dev/null 2>&1
cat >>"$ENC_CONFIG" <<'CONF'
fetch_allow = ["127.0.0.1/32"]
fetch_max_bytes = 2097152
CONF
if start_daemon; then
        ok "an allowed destination is fetched" enc -q rootfs fetch --suite sid "http://127.0.0.1:$PA/rootfs.tar.gz"
        out=$(enc rootfs fetch --suite trixie "http://127.0.0.1:$PA/redir" 2>&1); rc=$?
        is "a redirect to a destination not allowed is refused" "$rc" 1
        contains "as unreachable" "$out" "cannot be reached"
        fails "and made no cache" test -e "$ENC_STATE/sandboxes/rootfs-cache/trixie"
        out=$(enc rootfs fetch --suite trixie "http://127.0.0.1:$PA/big.bin" 2>&1); rc=$?
        is "more than fetch_max_bytes is refused" "$rc" 1
        contains "naming the limit" "$out" "larger than the limit of 2097152 bytes"
else
        tap_fail "the daemon takes fetch_allow and fetch_max_bytes from config.toml"
fi

enc -q workspace wipe --yes >/dev/null 2>&1
enc -q wipe --yes >/dev/null 2>&1
enc daemon stop >/dev/null 2>&1
done_testing
