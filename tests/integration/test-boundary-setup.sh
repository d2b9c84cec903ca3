#!/usr/bin/env bash
# docs/security.md, "Setup commands": setup runs confined like a
# workspace, through the daemon: its own user namespace on an unprivileged
# host id block (the rootfs idmapped read-write, files stay owned by real
# root on disk), its own network namespace on the bridge behind the
# workspaces' NAT and firewall, the workspace hardening, nodev.
#
# The attacks of issues 14 and 15: setup commands ran in the host's
# network namespace (reaching services on the host's 127.0.0.1, seeing
# every host interface) as a user namespace whose root was host uid 0 to
# sysctl (kernel.core_pattern, kernel.sysrq), on a rootfs where device
# nodes worked. Positive controls: a listener of the setup's own answers,
# and apt-get installs a package from Debian's mirror through NAT (when
# the Debian rootfs the storage tests cache is here).
. "$(dirname "$0")/lib.sh"
require_root
command -v busybox >/dev/null || skip_all "busybox is needed for a tiny rootfs"
enc_setup
if ! out=$(enc daemon start 2>&1); then
        echo "1..0 # SKIP the daemon does not start here: $out"
        exit 0
fi
make_busybox_rootfs "$ENC_DIR/rootfs" || skip_all "cannot build a busybox rootfs"
tar -C "$ENC_DIR/rootfs" -cf "$ENC_DIR/rootfs.tar" .
ok "import a busybox rootfs" enc -q rootfs import --base "$ENC_DIR/rootfs.tar"
ok "create sb" enc -q create sb --bootstrap-method cached_rootfs
on_exit "ENC_CONFIG=$ENC_CONFIG ENC_SOCK=$ENC_SOCK enc -q wipe --yes"
ROOTFS=$ENC_STATE/sandboxes/sb/rootfs

# setup SANDBOX CMD...: run setup commands; prints their output lines,
# then "rc=0" or the error.
setup() {
        local sb=$1; shift
        local cmds
        cmds=$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "$@")
        enc_call sandbox.setup "{\"name\": \"$sb\", \"commands\": $cmds}" | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m is None:
        print("rc=closed"); continue
    ev = m.get("event")
    if ev is not None:
        if ev.get("stage") == "output":
            print(ev.get("message", ""))
        continue
    print("rc=0" if "result" in m else "rc=" + m["error"]["message"])'
}

# ---- the host's 127.0.0.1 and interfaces ----
port=$(( 30000 + $$ % 20000 ))
python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
while True:
    c, _ = s.accept(); c.sendall(b"host-secret\n"); c.close()' "$port" &
lpid=$!
on_exit "kill $lpid"
for _ in $(seq 50); do [ "$(busybox nc -w 1 127.0.0.1 "$port" </dev/null 2>/dev/null)" = host-secret ] && break; sleep 0.1; done
is "positive control: the host listener answers the host" "$(busybox nc -w 2 127.0.0.1 "$port" </dev/null)" "host-secret"
out=$(setup sb "nc -w 2 127.0.0.1 $port </dev/null || echo nothing-there" \
        "(echo own-listener | nc -l -p 7777 >/dev/null 2>&1 &); sleep 0.3; nc -w 2 127.0.0.1 7777 </dev/null" \
        "ls /sys/class/net | tr '\n' ' '")
diag "$(echo "$out" | tr '\n' ';')"
contains "setup ran" "$out" "rc=0"
lacks "setup cannot reach a listener on the host's 127.0.0.1" "$out" "host-secret"
contains "positive control: a listener of the setup's own answers it" "$out" "own-listener"
contains "setup sees only its own interfaces" "$out" "eth0 lo "
lacks "and none of the host's" "$out" "$ENC_BRIDGE"

# ---- host sysctls ----
knobs="/proc/sys/kernel/core_pattern /proc/sys/kernel/sysrq"
declare -A before
for k in $knobs; do [ -e "$k" ] && before[$k]=$(cat "$k"); done
# Put them back on every exit path, should a setup ever change them.
on_exit "$(for k in $knobs; do [ -e "$k" ] && printf 'echo %q > %s; ' "${before[$k]}" "$k"; done)"
out=$(setup sb \
        "echo '${before[/proc/sys/kernel/core_pattern]}.enctest' > /proc/sys/kernel/core_pattern && echo core-written || echo core-refused" \
        "[ -e /proc/sys/kernel/sysrq ] || exit 0; echo 0 > /proc/sys/kernel/sysrq && echo sysrq-written || echo sysrq-refused")
contains "writing kernel.core_pattern is refused" "$out" "core-refused"
for k in $knobs; do
        [ -e "$k" ] || continue
        is "the host's ${k#/proc/sys/} is unchanged" "$(cat "$k")" "${before[$k]}"
done

# ---- who root is, hardening, devices ----
mknod "$ROOTFS/enctest-null" c 1 3 && chmod 666 "$ROOTFS/enctest-null"
out=$(setup sb "cat /proc/self/uid_map" \
        "grep -E '^(CapBnd|NoNewPrivs|Seccomp):' /proc/self/status | tr -s '\t' ' '" \
        "echo x > /enctest-null && echo node-works || echo node-dead" \
        "touch /made-in-setup && echo x > /chowned && chown 1234:5678 /chowned && echo owned")
diag "$(echo "$out" | tr '\n' ';')"
lacks "setup's root is not host uid 0 (no identity map)" "$out" "4294967295"
contains "capabilities are the workspace set" "$out" "CapBnd: 00000000a80425fb"
contains "no_new_privs" "$out" "NoNewPrivs: 1"
contains "seccomp filter" "$out" "Seccomp: 2"
contains "a device node in the rootfs is dead (nodev)" "$out" "node-dead"
is "files setup makes stay owned by real root on disk" "$(stat -c %u:%g "$ROOTFS/made-in-setup" 2>&1)" "0:0"
is "and chown inside keeps its numbers on disk" "$(stat -c %u:%g "$ROOTFS/chowned" 2>&1)" "1234:5678"
rm -f "$ROOTFS/enctest-null"
is "nothing of the setups is left on the bridge" "$(ip -o link show master "$ENC_BRIDGE" 2>/dev/null | wc -l)" 0

# ---- a real Debian rootfs: apt through the bridge's NAT ----
CACHE=/var/cache/enclave-tests/bookworm.tar.zst
if [ -f "$CACHE" ]; then
        ok "rootfs import --suite bookworm (cached Debian)" enc -q rootfs import --suite bookworm "$CACHE"
        ok "create deb from it" enc -q create deb --suite bookworm --bootstrap-method cached_rootfs
        out=$(setup deb "apt-get -o Acquire::Retries=3 update >/tmp/apt.log 2>&1 && echo apt-update-ok || tail -5 /tmp/apt.log" \
                "apt-get install -y -q --no-install-recommends hello >/tmp/install.log 2>&1 && echo installed || tail -5 /tmp/install.log" \
                "hello")
        diag "$(echo "$out" | tail -8 | tr '\n' ';')"
        contains "apt-get update reaches Debian's mirror from setup" "$out" "apt-update-ok"
        contains "apt-get install works in setup" "$out" "installed"
        contains "and the package runs" "$out" "Hello, world!"
        is "its files are real root's on disk" "$(stat -c %u:%g "$ENC_STATE/sandboxes/deb/rootfs/usr/bin/hello" 2>&1)" "0:0"
        ok "destroy deb" enc -q destroy deb
else
        tap_skip "apt in setup with a real Debian rootfs" "no $CACHE (run the storage tests once)"
fi

done_testing
