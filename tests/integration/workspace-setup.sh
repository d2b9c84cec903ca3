# Shared by test-workspace.sh, test-exec.sh and test-workspace-crash.sh
# (sourced after lib.sh): a daemon of the test's own with a busybox
# sandbox made through the CLI, and checks for leftovers.
#
#   ws_setup              enc_setup + daemon + `rootfs import --base` + `create sb`
#                         (skips the whole suite when that cannot be done here)
#   ws_pid SB WS          the host pid of the workspace's init ("" when none)
#   ws_cgroup_dirs SB WS  the workspace's cgroup directories that exist
#   ws_veths              veths attached to this run's bridge

SB=sb

ws_setup() {
        command -v busybox >/dev/null || skip_all "busybox is not installed"
        enc_setup
        local out
        if ! out=$(enc daemon start 2>&1); then
                echo "1..0 # SKIP the daemon does not start here: $out"
                exit 0
        fi
        make_busybox_rootfs "$ENC_DIR/rootfs" || skip_all "cannot build a busybox rootfs"
        # A home for the passwd lookup of `enter` and a file to fingerprint.
        echo 'root:x:0:0:root:/root:/bin/sh' >"$ENC_DIR/rootfs/etc/passwd"
        echo "shared-$$" >"$ENC_DIR/rootfs/etc/shared-file"
        tar -C "$ENC_DIR/rootfs" -cf "$ENC_DIR/rootfs.tar" . || skip_all "tar failed"
        if ! out=$(enc rootfs import --base "$ENC_DIR/rootfs.tar" 2>&1); then
                echo "1..0 # SKIP rootfs import failed: $out"
                exit 0
        fi
        if ! out=$(enc create "$SB" --bootstrap-method cached_rootfs 2>&1); then
                echo "1..0 # SKIP sandbox create failed: $out"
                exit 0
        fi
        SB_ROOTFS=$ENC_STATE/sandboxes/$SB/rootfs
        on_exit "ws_teardown"
}

# Before enc_teardown: stop every workspace and remove the sandbox, so
# no cgroup or veth of this run stays behind.
ws_teardown() {
        enc workspace wipe --yes >/dev/null 2>&1
        enc destroy "$SB" --force >/dev/null 2>&1
        enc daemon stop >/dev/null 2>&1
        local d
        for d in $(enc_cgroup_dirs); do
                find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
        done
        return 0
}

ws_pid() {
        enc --json workspace status "$1" "$2" 2>/dev/null | python3 -c 'import json,sys; p=json.load(sys.stdin).get("pid"); print(p if p else "")' 2>/dev/null
}

ws_cgroup_dirs() { enc_cgroup_dirs "$1/$2"; }

ws_veths() {
        ip -o link show master "$ENC_BRIDGE" 2>/dev/null | awk -F': ' '{print $2}'
}

# Milliseconds of a command (for diagnostics only; never asserted).
ms_of() {
        local t0 t1
        t0=$(date +%s%N)
        "$@" >/dev/null 2>&1
        t1=$(date +%s%N)
        echo $(( (t1 - t0) / 1000000 ))
}
