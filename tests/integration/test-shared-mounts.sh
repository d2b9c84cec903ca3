#!/usr/bin/env bash
# Hosts whose mounts are shared, as every mount is under systemd (this
# CI host's are private). A clone of a shared mount joins its peer
# group: the setup root was such a clone, so pivot_root refused it
# (EINVAL) and `enclave up` failed at its first setup command on every
# systemd host; /home, the cgroup views and the /dev nodes stayed peers
# of host mounts. The suite runs in a mount namespace of its own whose
# mounts are all made shared, and checks that setup works and that no
# mount of a workspace is a peer of anything.
if [ -z "${ENC_SHARED_NS:-}" ]; then
        [ "$(id -u)" -eq 0 ] || { echo "1..0 # SKIP integration tests need root"; exit 0; }
        ENC_SHARED_NS=1 exec unshare -m --propagation unchanged -- \
                sh -c 'mount --make-rshared / && exec "$0" "$@"' "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workspace-setup.sh"
require_root
is "this run's root mount is shared" "$(findmnt -no PROPAGATION /)" shared
ws_setup

PROJ=$ENC_DIR/proj
mkdir -p "$PROJ/home"
chown 1000:1000 "$PROJ/home"
cat >"$PROJ/Enclavefile" <<EOF
[sandbox]
name = "shared"
bootstrap_method = "cached_rootfs"
setup = ["echo ran > /setup-marker"]

[workspace.w]
workspace_dir = "./home"
run = "sleep 1000"
EOF
on_exit "ENC_CONFIG=$ENC_CONFIG ENC_SOCK=$ENC_SOCK enc -q destroy --force shared"
out=$(cd "$PROJ" && enc up 2>&1)
rc=$?
diag "$(echo "$out" | tail -3 | tr '\n' ';')"
is "up with setup commands works under shared mounts" "$rc" 0
is "the setup command ran" "$(enc workspace exec shared w -- cat /setup-marker 2>&1)" "ran"

mi=$(enc workspace exec shared w -- cat /proc/self/mountinfo 2>&1)
contains "the workspace has /home" "$mi" " /home "
lacks "no mount in the workspace is a peer of another" "$mi" "shared:"
ok "create a workspace without an Enclavefile" enc -q workspace create "$SB" plain
ok "start it" enc -q workspace start "$SB" plain
mi=$(enc workspace exec "$SB" plain -- cat /proc/self/mountinfo 2>&1)
contains "it has /sys/fs/cgroup" "$mi" " /sys/fs/cgroup"
lacks "nor in a workspace of a sandbox made without an Enclavefile" "$mi" "shared:"

# The host side: a mount made under the workspace_dir on the host does
# not appear inside, and the workspace's mounts stay out of the host.
mkdir -p "$PROJ/home/sub"
mount -t tmpfs enctest-shared "$PROJ/home/sub"
on_exit "umount '$PROJ/home/sub' 2>/dev/null"
lacks "a host mount under workspace_dir does not propagate in" \
        "$(enc workspace exec shared w -- cat /proc/self/mountinfo 2>&1)" "enctest-shared"
umount "$PROJ/home/sub"

ok "down" sh -c "cd '$PROJ' && '$ENCLAVE' --config '$ENC_CONFIG' --socket '$ENC_SOCK' -q down"
done_testing
