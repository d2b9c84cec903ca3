#!/usr/bin/env bash
# What root runs (docs/security.md "What root runs"): under `sudo -E` or
# `su` without `-`, root's CLI and daemon see a user's environment.
# Nothing in it may decide what runs as root: ENCLAVE_DAEMON and
# ENCLAVE_INIT are ignored for root, a config.toml found through
# XDG_CONFIG_HOME or HOME (or named by --config/ENCLAVE_CONFIG) is used
# only when nobody but root can change it, every binary root runs
# (enclave-daemon, enclave-init, debootstrap_binary) must be root's in
# root's directories, a bare debootstrap_binary is looked up in root's
# own PATH, and the daemon's state, pid and socket directories must be
# root's. Each attack below leaves a marker when it works; none may.
. "$(dirname "$0")/lib.sh"
require_root
command -v busybox >/dev/null || skip_all "busybox is needed for a tiny rootfs"
enc_setup

U=61201
MARK=$ENC_DIR/marker
USERDIR=$ENC_DIR/user
mkdir -p "$USERDIR/bin" "$USERDIR/conf/enclave"
chown -R $U:$U "$USERDIR"
# A "binary" of the user's: leaves the marker (as whoever runs it), fails.
evil() {
        printf '#!/bin/sh\nid -u > %s\nexit 1\n' "$MARK" >"$1"
        chmod 755 "$1"
        chown $U:$U "$1"
}
evil "$USERDIR/bin/enclave-daemon"
evil "$USERDIR/bin/debootstrap-evil"
evil "$USERDIR/bin/enclave-fake-debootstrap"
no_marker() { if [ -e "$MARK" ]; then tap_fail "$1" "ran as uid $(cat "$MARK")"; rm -f "$MARK"; else tap_ok "$1"; fi; }
stop_daemon() { "$ENCLAVE" --config "$ENC_CONFIG" --socket "$ENC_SOCK" -q daemon stop >/dev/null 2>&1; }
# The CLI as root with nothing but the given environment (sudo -E keeps
# the user's; `env -i` stands for a root login's).
as_root_env() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }

# ------------------------------------------------------ ENCLAVE_DAEMON
out=$(as_root_env ENCLAVE_DAEMON="$USERDIR/bin/enclave-daemon" "$ENCLAVE" --config "$ENC_CONFIG" \
        --socket "$ENC_SOCK" daemon start 2>&1); rc=$?
is "root's daemon start with a user's ENCLAVE_DAEMON still starts the real daemon" "$rc" 0
no_marker "the user's ENCLAVE_DAEMON did not run"
contains "and says it was ignored" "$(cat "$ENC_STATE/daemon.log")" "ENCLAVE_DAEMON is ignored"
ok "the daemon answers" "$ENCLAVE" --config "$ENC_CONFIG" --socket "$ENC_SOCK" ping
stop_daemon

# --------------------------------------------------------- ENCLAVE_INIT
# A user's enclave-init: a dynamic /bin/false, which cannot even run in
# a busybox rootfs; a workspace started with it would fail.
cp /bin/false "$USERDIR/bin/enclave-init"
chown $U:$U "$USERDIR/bin/enclave-init"
ok "the daemon starts with a user's ENCLAVE_INIT and PATH in its environment" as_root_env \
        ENCLAVE_INIT="$USERDIR/bin/enclave-init" PATH="$USERDIR/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        "$ENCLAVE" --config "$ENC_CONFIG" --socket "$ENC_SOCK" -q daemon start
make_busybox_rootfs "$ENC_DIR/rootfs" && tar -C "$ENC_DIR/rootfs" -cf "$ENC_DIR/rootfs.tar" .
ok "a rootfs" enc -q rootfs import --base "$ENC_DIR/rootfs.tar"
ok "a sandbox" enc -q create sb --bootstrap-method cached_rootfs
ok "a workspace" enc -q workspace create sb ws
ok "it starts with the real enclave-init, not the user's" enc -q workspace start sb ws
dpid=$(cat "$ENC_PIDFILE" 2>/dev/null)
lacks "the daemon's environment has no ENCLAVE_INIT" "$(tr '\0' '\n' <"/proc/$dpid/environ" 2>&1)" "ENCLAVE_INIT"
lacks "nor the user's PATH" "$(tr '\0' '\n' <"/proc/$dpid/environ" 2>&1 | grep '^PATH=')" "$USERDIR"
enc -q workspace stop sb ws >/dev/null 2>&1
stop_daemon

# ------------------------------------------- config.toml of a user's
# A user's config.toml, found through XDG_CONFIG_HOME (as under sudo -E):
# it names the test's own daemon paths and a debootstrap of the user's.
cat >"$USERDIR/conf/enclave/config.toml" <<CONF
socket = "$ENC_SOCK"
pid_file = "$ENC_PIDFILE"
state_dir = "$ENC_STATE"
bridge = "$ENC_BRIDGE"
subnet = "$ENC_SUBNET"
debootstrap_binary = "$USERDIR/bin/debootstrap-evil"
CONF
chown $U:$U "$USERDIR/conf/enclave/config.toml"
out=$(as_root_env XDG_CONFIG_HOME="$USERDIR/conf" "$ENCLAVE" daemon start 2>&1); rc=$?
is "root refuses a user's config.toml found through XDG_CONFIG_HOME" "$rc" 1
contains "naming the file and its owner" "$out" "not owned by root"
if [ "$rc" -eq 0 ]; then
        as_root_env XDG_CONFIG_HOME="$USERDIR/conf" "$ENCLAVE" create evil --bootstrap-method debootstrap >/dev/null 2>&1
        as_root_env XDG_CONFIG_HOME="$USERDIR/conf" "$ENCLAVE" -q daemon stop >/dev/null 2>&1
fi
no_marker "the user's debootstrap_binary never ran"
mkdir -p "$USERDIR/home/.config"
cp -a "$USERDIR/conf/enclave" "$USERDIR/home/.config/enclave"
chown -R $U:$U "$USERDIR/home"
out=$(as_root_env HOME="$USERDIR/home" "$ENCLAVE" ping 2>&1); rc=$?
is "nor one found through HOME (su without -)" "$rc" 1
contains "for the same reason" "$out" "not owned by root"
out=$(as_root_env ENCLAVE_CONFIG="$USERDIR/conf/enclave/config.toml" "$ENCLAVE" ping 2>&1); rc=$?
is "nor one named by ENCLAVE_CONFIG" "$rc" 1
contains "for the same reason" "$out" "not owned by root"
# Root's own file, but in a directory a user may change.
mkdir -m 0777 "$ENC_DIR/open"
cp "$ENC_CONFIG" "$ENC_DIR/open/config.toml"
out=$("$ENCLAVE" --config "$ENC_DIR/open/config.toml" ping 2>&1); rc=$?
is "root refuses its own config.toml in a world-writable directory" "$rc" 1
contains "naming the directory" "$out" "writable by group or others"
chmod 1777 "$ENC_DIR/open"
ok "a sticky directory (as /tmp) is fine" "$ENCLAVE" --config "$ENC_DIR/open/config.toml" -q daemon start
stop_daemon

# ------------------------------------------------- debootstrap_binary
# A copy of this run's config without the binaries lib.sh named.
config_copy() { grep -v '^\(daemon\|init\|debootstrap\)_binary' "$ENC_CONFIG" >"$1"; }
config_copy "$ENC_DIR/evil-debootstrap.toml"
echo "debootstrap_binary = \"$USERDIR/bin/debootstrap-evil\"" >>"$ENC_DIR/evil-debootstrap.toml"
ok "a daemon whose debootstrap_binary is a user's file starts" \
        "$ENCLAVE" --config "$ENC_DIR/evil-debootstrap.toml" --socket "$ENC_SOCK" -q daemon start
out=$("$ENCLAVE" --config "$ENC_DIR/evil-debootstrap.toml" --socket "$ENC_SOCK" create evil1 2>&1); rc=$?
is "but a debootstrap with it is refused" "$rc" 1
contains "naming the binary" "$out" "refusing the debootstrap binary"
no_marker "the user's debootstrap never ran"
stop_daemon
config_copy "$ENC_DIR/bare-debootstrap.toml"
echo 'debootstrap_binary = "enclave-fake-debootstrap"' >>"$ENC_DIR/bare-debootstrap.toml"
ok "a daemon started with the user's bin dir first in PATH" env PATH="$USERDIR/bin:$PATH" \
        "$ENCLAVE" --config "$ENC_DIR/bare-debootstrap.toml" --socket "$ENC_SOCK" -q daemon start
out=$("$ENCLAVE" --config "$ENC_DIR/bare-debootstrap.toml" --socket "$ENC_SOCK" create evil2 2>&1); rc=$?
is "looks a bare debootstrap_binary up in root's PATH, not the user's" "$rc" 1
contains "so it is not found" "$out" "not found in /usr/local/sbin"
no_marker "the user's debootstrap on PATH never ran"
stop_daemon

# ------------------------------------------- daemon_binary, init_binary
config_copy "$ENC_DIR/evil-daemon.toml"
echo "daemon_binary = \"$USERDIR/bin/enclave-daemon\"" >>"$ENC_DIR/evil-daemon.toml"
out=$("$ENCLAVE" --config "$ENC_DIR/evil-daemon.toml" daemon start 2>&1); rc=$?
is "daemon_binary naming a user's file is refused" "$rc" 1
no_marker "and it never ran"
config_copy "$ENC_DIR/evil-init.toml"
echo "init_binary = \"$USERDIR/bin/enclave-init\"" >>"$ENC_DIR/evil-init.toml"
out=$("$ENCLAVE" --config "$ENC_DIR/evil-init.toml" daemon start 2>&1); rc=$?
is "init_binary naming a user's file keeps the daemon from starting" "$rc" 1
contains "with the reason in its log" "$(cat "$ENC_STATE/daemon.log")" "refusing the program enclave-init"
stop_daemon

# --------------------------------------------- state and socket dirs
mkdir -p "$USERDIR/state"
chown $U:$U "$USERDIR/state"
out=$("$ENCLAVE" --config "$ENC_CONFIG" daemon run --state-dir "$USERDIR/state/s" --socket "$USERDIR/state/sock" \
        --pid-file "$USERDIR/state/pid" 2>&1); rc=$?
is "the daemon refuses a state dir below a user's directory" "$rc" 1
contains "naming it" "$out" "not owned by root"

enc -q workspace wipe --yes >/dev/null 2>&1
enc -q wipe --yes >/dev/null 2>&1
stop_daemon
done_testing
