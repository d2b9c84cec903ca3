#!/usr/bin/env bash
# The memory-backed file systems of a workspace have sizes (issue 17
# item 6, docs/runtime.md "tmpfs sizes"): /dev/shm, /run and /tmp (when
# there is no disk_mb) are bounded by memory_mb when it is set and have
# fixed defaults otherwise, so no workspace can fill the host's memory
# through them; writing past the size fails with ENOSPC (no OOM kill).
. "$(dirname "$0")/lib.sh"
require_root
. "$(dirname "$0")/workspace-setup.sh"
ws_setup

size_mb() { # WS PATH: the tmpfs size in MiB as df sees it inside
        enc workspace exec "$SB" "$1" -- df -m "$2" </dev/null 2>/dev/null | awk 'NR == 2 {print $2}'
}

ok "create a workspace without memory_mb" enc workspace create "$SB" plain
ok "create one with memory_mb 256" enc workspace create "$SB" small --memory-mb 256
ok "start plain" enc workspace start "$SB" plain
ok "start small" enc workspace start "$SB" small

is "/dev/shm defaults to 64 MiB" "$(size_mb plain /dev/shm)" 64
is "/run defaults to 32 MiB" "$(size_mb plain /run)" 32
is "/tmp defaults to 1 GiB" "$(size_mb plain /tmp)" 1024
is "/dev/shm is half of memory_mb" "$(size_mb small /dev/shm)" 128
is "/run is at most 32 MiB" "$(size_mb small /run)" 32
is "/tmp is memory_mb" "$(size_mb small /tmp)" 256

out=$(enc workspace exec "$SB" plain -- sh -c 'dd if=/dev/zero of=/dev/shm/big bs=1M count=100 2>&1; echo rc=$?' </dev/null 2>&1)
contains "writing 100 MiB to /dev/shm fails" "$out" "No space left on device"
out=$(enc workspace exec "$SB" plain -- sh -c 'rm -f /dev/shm/big; dd if=/dev/zero of=/run/big bs=1M count=40 2>&1; rm -f /run/big' </dev/null 2>&1)
contains "writing 40 MiB to /run fails" "$out" "No space left on device"
out=$(enc workspace exec "$SB" small -- sh -c 'dd if=/dev/zero of=/dev/shm/big bs=1M count=100 2>&1; echo rc=$?' </dev/null 2>&1)
contains "100 MiB fit into /dev/shm with memory_mb 256" "$out" "rc=0"
is "the workspace was not OOM-killed" "$(enc --json workspace status "$SB" small | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')" running
done_testing
