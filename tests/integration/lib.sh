# Shared helpers for root integration tests (bash, TAP output).
#
#   . "$(dirname "$0")/lib.sh"
#   require_root                 # skip the whole suite when not root
#   enc_setup                    # private state dir, socket, config, bridge, subnet
#   ok "name" command args...    # one TAP line from a command's status
#   done_testing
#
# enc_setup gives each run its own everything and registers cleanup for
# every exit path, so two runs (or a user's daemon) never collide.
set -u

_tap_n=0
_tap_failed=0
_cleanups=()

tap_ok()   { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $1"; }
tap_fail() { _tap_n=$((_tap_n + 1)); _tap_failed=$((_tap_failed + 1)); echo "not ok $_tap_n - $1"; [ $# -gt 1 ] && echo "# $2"; return 0; }
tap_skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $1 # SKIP $2"; }
diag()     { echo "# $*"; }

# ok NAME CMD...: pass when CMD succeeds; its output is shown on failure.
ok() {
        local name=$1; shift
        local out
        if out=$("$@" 2>&1); then tap_ok "$name"; else tap_fail "$name" "command failed: $*"; printf '%s\n' "$out" | head -20 | sed 's/^/#   /'; fi
}
# fails NAME CMD...: pass when CMD fails.
fails() {
        local name=$1; shift
        if "$@" >/dev/null 2>&1; then tap_fail "$name" "command unexpectedly succeeded: $*"; else tap_ok "$name"; fi
}
# is NAME GOT WANT
is() {
        if [ "$2" = "$3" ]; then tap_ok "$1"; else tap_fail "$1" "got '$2', want '$3'"; fi
}
# contains NAME HAYSTACK NEEDLE
contains() {
        case "$2" in *"$3"*) tap_ok "$1" ;; *) tap_fail "$1" "'$3' not found in: $(printf '%s' "$2" | head -c 400)" ;; esac
}
# lacks NAME HAYSTACK NEEDLE
lacks() {
        case "$2" in *"$3"*) tap_fail "$1" "'$3' unexpectedly found in: $(printf '%s' "$2" | head -c 400)" ;; *) tap_ok "$1" ;; esac
}

skip_all() { echo "1..0 # SKIP $*"; exit 0; }
require_root() { [ "$(id -u)" -eq 0 ] || skip_all "integration tests need root"; }

# Run on every exit path, last registered first.
on_exit() { _cleanups=("$*" "${_cleanups[@]}"); }
_run_cleanups() {
        local c
        for c in "${_cleanups[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
}
trap _run_cleanups EXIT
trap 'exit 130' INT TERM

done_testing() {
        echo "1..$_tap_n"
        [ "$_tap_failed" -eq 0 ]
}

ENCLAVE=${ENCLAVE_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/enclave}

# enc_setup: a private world for this test run.
#   ENC_DIR     scratch directory (removed at exit)
#   ENC_STATE   state dir      ENC_SOCK  socket      ENC_CONFIG  config.toml
#   ENC_BRIDGE  bridge name    ENC_SUBNET  a /24 inside 10.231.0.0/16 and up
#   ENC_TAG     short unique tag for names (cgroups, ...); the firewall table is named after ENC_BRIDGE
#   enc ARGS    runs the enclave CLI against this world
enc_setup() {
        ENC_DIR=$(mktemp -d /tmp/enctest.XXXXXX)
        chmod 755 "$ENC_DIR"
        ENC_TAG=$(printf '%04x' $(( ($$ + RANDOM) % 65536 )))
        ENC_STATE=$ENC_DIR/state
        ENC_SOCK=$ENC_DIR/run/enclave.sock
        ENC_PIDFILE=$ENC_DIR/run/enclave.pid
        ENC_BRIDGE=enct$ENC_TAG
        # 10.231.0.0/16 upward; spread by tag so concurrent runs differ.
        local n=$(( 0x$ENC_TAG ))
        ENC_SUBNET=10.$(( 231 + n % 16 )).$(( (n / 16) % 256 )).0/24
        ENC_CONFIG=$ENC_DIR/config.toml
        mkdir -p "$ENC_STATE" "$ENC_DIR/run"
        cat >"$ENC_CONFIG" <<CONF
socket = "$ENC_SOCK"
pid_file = "$ENC_PIDFILE"
state_dir = "$ENC_STATE"
bridge = "$ENC_BRIDGE"
subnet = "$ENC_SUBNET"
wait_secs = 10
CONF
        # Root's daemon runs only binaries config.toml names (or that lie
        # beside it), never what the environment says: the build under
        # test goes in here (docs/security.md "What root runs").
        local bindir; bindir=$(cd "$(dirname "$ENCLAVE")" 2>/dev/null && pwd)
        [ -n "$bindir" ] && [ -x "$bindir/enclave-daemon" ] &&
                echo "daemon_binary = \"$bindir/enclave-daemon\"" >>"$ENC_CONFIG"
        [ -n "${ENCLAVE_INIT:-}" ] && [ -x "$ENCLAVE_INIT" ] &&
                echo "init_binary = \"$ENCLAVE_INIT\"" >>"$ENC_CONFIG"
        export ENCLAVE_CONFIG=$ENC_CONFIG ENCLAVE_SOCKET=$ENC_SOCK
        on_exit "enc_teardown"
}

enc() { "$ENCLAVE" --config "$ENC_CONFIG" --socket "$ENC_SOCK" "$@"; }

# enc_call ACTION [PARAMS-JSON]: a raw request (call-action.py), one JSON
# line per message; for what the CLI never sends.
ENC_CALL_PY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/call-action.py
enc_call() { python3 "$ENC_CALL_PY" "$ENC_SOCK" "$@"; }

# enc_cgroup_dirs [PATH]: the existing directories of this run's cgroup
# root (enclave-<bridge>), or of PATH below it (SANDBOX[/WORKSPACE]), in
# every hierarchy: the top of a pure v2 tree (/sys/fs/cgroup/<root>), v1
# controllers and a hybrid host's unified tree (/sys/fs/cgroup/*/<root>).
enc_cgroup_dirs() {
        local d rel=enclave-$ENC_BRIDGE${1:+/$1}
        for d in /sys/fs/cgroup/"$rel" /sys/fs/cgroup/*/"$rel"; do
                [ -d "$d" ] && echo "$d"
        done
        return 0
}

# Stop this run's daemon and remove everything it may have left.
enc_teardown() {
        # Workspaces outlive their daemon by design, so end them while it
        # still answers; whatever a failed wipe leaves is killed below.
        if [ -S "$ENC_SOCK" ]; then
                timeout 30 "$ENCLAVE" --config "$ENC_CONFIG" --socket "$ENC_SOCK" -q workspace wipe --yes >/dev/null 2>&1
                timeout 30 "$ENCLAVE" --config "$ENC_CONFIG" --socket "$ENC_SOCK" -q wipe --yes >/dev/null 2>&1
        fi
        if [ -f "$ENC_PIDFILE" ]; then
                local pid; pid=$(cat "$ENC_PIDFILE" 2>/dev/null)
                [ -n "$pid" ] && kill "$pid" 2>/dev/null
                for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
                [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
        fi
        # This run's cgroups (named after its bridge) in every hierarchy.
        local cg
        for cg in $(enc_cgroup_dirs); do
                find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null
        done
        for cg in $(enc_cgroup_dirs); do
                for _ in $(seq 20); do find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null; [ -d "$cg" ] || break; sleep 0.1; done
        done
        # Mounts below the scratch dir, deepest first.
        grep -F " $ENC_DIR" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
        ip link del "$ENC_BRIDGE" 2>/dev/null
        # The firewall table is named after the bridge.
        nft delete table inet "$ENC_BRIDGE" 2>/dev/null
        nft delete table ip "$ENC_BRIDGE" 2>/dev/null
        nft delete table bridge "$ENC_BRIDGE" 2>/dev/null
        rm -rf "$ENC_DIR"
}

# Other users on this run's daemon (docs/security.md "Multi-user model"):
#   ENC_GROUP            the gid standing for the socket's group 'enclave'
#   enc_open_socket      let that group reach the socket (again after each daemon start)
#   as_uid UID CMD...    run CMD as UID (its own gid, supplementary ENC_GROUP)
#   enc_as UID ARGS...   the enclave CLI against this world as UID
ENC_GROUP=${ENC_GROUP:-61000}
enc_open_socket() { chgrp "$ENC_GROUP" "$ENC_SOCK" && chmod 0660 "$ENC_SOCK" && chmod 0644 "$ENC_CONFIG"; }
as_uid() { local u=$1; shift; setpriv --reuid "$u" --regid "$u" --groups "$ENC_GROUP" "$@"; }
enc_as() { local u=$1; shift; as_uid "$u" "$ENCLAVE" --config "$ENC_CONFIG" --socket "$ENC_SOCK" "$@"; }

# make_busybox_rootfs DIR: a tiny rootfs from the static busybox.
make_busybox_rootfs() {
        local d=$1 bb
        bb=$(command -v busybox) || return 1
        mkdir -p "$d"/{bin,sbin,etc,proc,sys,dev,tmp,home,root,run,usr/bin,usr/sbin,var}
        cp "$bb" "$d/bin/busybox"
        local a
        for a in $("$d/bin/busybox" --list); do [ "$a" = busybox ] && continue; ln -sf busybox "$d/bin/$a" 2>/dev/null; done
        echo 'root:x:0:0:root:/root:/bin/sh' >"$d/etc/passwd"
        echo 'root:x:0:' >"$d/etc/group"
        chmod 1777 "$d/tmp"
}
