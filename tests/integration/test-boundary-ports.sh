#!/usr/bin/env bash
# docs/security.md, "Client file descriptors and quotas": a published
# port is open to everyone on the host, and the daemon relays each
# connection itself (six descriptors, two pipes). A local user who is not
# even in the socket's group floods one port whose workspace listener
# never sends a request: the daemon relays at most a bounded number of those
# connections at once (the rest wait in the backlog), stays far from its
# descriptor limit, and root and the other ports keep working. On the
# code before, every connection was relayed: 3,400 of them took the
# daemon to its 20,000 descriptors and root's `exec` failed with "Too
# many open files".
#
# The relay slots are shared out per local user too: one uid's
# connections, over all ports, get at most a quarter of the 1,024, so a
# user who floods four ports (256 each would fill them all) cannot starve
# another user's connection to a fifth. On the code before, the flood
# took all 1,024 and the other user's request waited in the backlog.
#
# Each published port is a listener in the daemon too: a member of the
# group publishes at most 256 (root is exempt), where before 20,000
# `port publish` calls by one user filled the daemon's descriptors. And
# a port another uid holds is refused without naming that uid's
# sandbox and workspace (before: "already published by workspace
# sb/web").
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workspace-setup.sh"
require_root
ws_setup
PY=$(command -v python3)
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3 # another uid may not read root's shims
U=$(( 62000 + RANDOM % 1000 ))
P1=$(( 20000 + RANDOM % 12000 )) # below the ephemeral range (32768 up)
P2=$(( P1 + 1 ))
FLOOD=600

ok "a workspace with two published ports" enc workspace create "$SB" web \
        --port "127.0.0.1:$P1:8080/tcp" --port "127.0.0.1:$P2:8081/tcp"
ok "starts" enc workspace start "$SB" web
# Both serve a file (busybox httpd); a connection that sends no request
# holds its server process for a minute.
enc workspace exec "$SB" web -- sh -c 'mkdir -p /tmp/www && echo served >/tmp/www/f' >/dev/null 2>&1
enc workspace exec "$SB" web -- sh -c 'httpd -p 8080 -h /tmp/www; httpd -p 8081 -h /tmp/www' \
        </dev/null >/dev/null 2>&1
# fetch PORT: what 127.0.0.1:PORT serves as /f; fetch_as UID PORT: as UID.
cat >"$ENC_DIR/fetch.py" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.settimeout(10)
s.sendall(b"GET /f HTTP/1.0\r\n\r\n")
data = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
print(data.split(b"\r\n\r\n", 1)[-1].decode().strip())
PY
chmod 644 "$ENC_DIR/fetch.py"
fetch() { "$PY" "$ENC_DIR/fetch.py" "$1"; }
fetch_as() { as_uid "$1" "$PY" "$ENC_DIR/fetch.py" "$2"; }
for _ in $(seq 50); do [ "$(fetch "$P1" 2>/dev/null)" = served ] && break; sleep 0.1; done
is "the published port relays (positive control)" "$(fetch "$P1" 2>&1)" served

DPID=$(cat "$ENC_PIDFILE")
fds() { ls "/proc/$DPID/fd" | wc -l; }
before=$(fds)
diag "daemon descriptors before: $before"

# The flood: a uid outside the socket's group holds N connections to
# each of the ports given (comma-separated).
cat >"$ENC_DIR/flood.py" <<'PY'
import resource, socket, sys, time
n, ports, ready = int(sys.argv[1]), [int(p) for p in sys.argv[2].split(",")], sys.argv[3]
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (min(n * len(ports) + 64, hard), hard))
held = []
for port in ports:
    for _ in range(n):
        try:
            held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        except OSError:
            break
open(ready, "w").write(str(len(held)))
time.sleep(120)
PY
chmod 644 "$ENC_DIR/flood.py"
mkdir -p "$ENC_DIR/flood" && chown "$U" "$ENC_DIR/flood"
READY=$ENC_DIR/flood/ready
# flood N PORTS NAME: uid U holds N connections to each of PORTS
# (comma-separated); NAME passes when the daemon's descriptors grew by
# at most 256 relayed connections' worth.
flood() {
        rm -f "$READY"
        setpriv --reuid "$U" --regid "$U" --clear-groups "$PY" "$ENC_DIR/flood.py" "$1" "$2" "$READY" &
        flood_pid=$!
        on_exit "kill $flood_pid"
        for _ in $(seq 600); do [ -s "$READY" ] && break; sleep 0.1; done
        diag "connections the flood holds: $(cat "$READY" 2>/dev/null)"
        sleep 2 # let the daemon relay what it will
        local during; during=$(fds)
        diag "daemon descriptors during the flood: $during (before: $before)"
        [ $((during - before)) -le $((256 * 6 + 64)) ] && tap_ok "$3 ($((during - before)) more descriptors)" ||
                tap_fail "$3" "$((during - before)) more descriptors"
}
# flood_end NAME: the flood is over, its workspace stopped; NAME passes
# when the daemon is back to its descriptors of before.
flood_end() {
        kill "$flood_pid" 2>/dev/null
        wait "$flood_pid" 2>/dev/null
        for _ in $(seq 100); do [ "$(fds)" -le $((before + 16)) ] && break; sleep 0.1; done
        [ "$(fds)" -le $((before + 16)) ] && tap_ok "$1" || tap_fail "$1" "$(fds) open, $before before"
}
flood "$FLOOD" "$P2" "the daemon relays a bounded number of one port's connections"
is "another port still relays" "$(fetch "$P1" 2>&1)" served
ok "root still execs" enc workspace exec "$SB" web -- true
ok "and pings" enc ping
# The relayed connections end when their server closes them (busybox
# httpd waits a minute for a request), or when the workspace stops.
ok "the workspace stops" enc workspace stop "$SB" web
flood_end "the flood's descriptors are released"

# ---- relay slots per local user ----
V=$(( U + 500 ))
P=()
for i in 1 2 3 4 5; do P+=($(( P2 + i ))); done
ok "a workspace with five published ports" enc workspace create "$SB" many \
        --port "127.0.0.1:${P[0]}:8080/tcp" --port "127.0.0.1:${P[1]}:8081/tcp" \
        --port "127.0.0.1:${P[2]}:8082/tcp" --port "127.0.0.1:${P[3]}:8083/tcp" \
        --port "127.0.0.1:${P[4]}:8084/tcp"
ok "starts" enc workspace start "$SB" many
enc workspace exec "$SB" many -- sh -c 'mkdir -p /tmp/www && echo served >/tmp/www/f &&
        for p in 8080 8081 8082 8083 8084; do httpd -p $p -h /tmp/www; done' </dev/null >/dev/null 2>&1
for _ in $(seq 50); do [ "$(fetch "${P[4]}" 2>/dev/null)" = served ] && break; sleep 0.1; done
is "the fifth port relays (positive control)" "$(fetch "${P[4]}" 2>&1)" served
before=$(fds)
flood 300 "${P[0]},${P[1]},${P[2]},${P[3]}" "one user's connections get one share of the relay slots"
got=$(fetch_as "$V" "${P[4]}" 2>&1)
is "another user's connection to a fifth port is relayed at once" "$got" served
is "and to a flooded one beyond the first" "$(fetch "${P[1]}" 2>&1)" served
ok "the workspace stops" enc workspace stop "$SB" many
flood_end "and everything is released"

# ---- published ports per user ----
enc_open_socket
G=$(( U + 1000 ))
W=$ENC_DIR/g && mkdir -p "$W" && chown "$G:$G" "$W"
genc() { as_uid "$G" sh -c 'cd "$1" && shift && exec "$@"' sh "$W" "$ENCLAVE" --config "$ENC_CONFIG" --socket "$ENC_SOCK" "$@"; }
ok "a group member makes a sandbox" genc create gsb --bootstrap-method cached_rootfs
ok "and a workspace" genc workspace create gsb gw
out=$(genc workspace port publish gsb gw "127.0.0.1:$P1:80" 2>&1)
contains "a port another uid publishes is refused" "$out" "already in use"
lacks "without naming that uid's workspace" "$out" "$SB/web"
enc workspace create "$SB" w2 >/dev/null 2>&1
out=$(enc workspace port publish "$SB" w2 "127.0.0.1:$P1:80" 2>&1)
contains "root is told which workspace holds it (positive control)" "$out" "$SB/web"
# Ports from Q up; one that another program on the host listens on is
# skipped (that refusal names "another program").
Q=$(( 40000 + RANDOM % 20000 ))
n=0 next=$Q first=
while [ "$n" -lt 256 ] && [ "$next" -lt $((Q + 400)) ]; do
        if out=$(genc -q workspace port publish gsb gw "127.0.0.1:$next:80" 2>&1); then
                n=$((n + 1)); first=${first:-$next}
        else
                case $out in *"another program"*) ;; *) break ;; esac
        fi
        next=$((next + 1))
done
is "the member publishes 256 ports" "$n" 256
out=$(genc workspace port publish gsb gw "127.0.0.1:$next:80" 2>&1)
contains "the 257th is refused" "$out" "the most a user may"
out=$(genc workspace create gsb gw2 --port "127.0.0.1:$((next + 1)):80" 2>&1)
contains "also when declared at create" "$out" "the most a user may"
ok "root is exempt" enc workspace port publish "$SB" w2 "127.0.0.1:$((next + 2)):80"
ok "unpublishing one makes room again" genc workspace port unpublish gsb gw "127.0.0.1:$first"
ok "for the member" genc workspace port publish gsb gw "127.0.0.1:$((next + 3)):80"
genc destroy gsb --force >/dev/null 2>&1

done_testing
