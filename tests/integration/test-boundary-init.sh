#!/usr/bin/env bash
# docs/security.md, "init and logs": a workspace process can neither
# inspect nor drive its init (no ptrace, no /proc/1/mem, /proc/1/fd,
# /proc/1/environ, pidfd_getfd, process_vm_readv), so it cannot make
# init write past the log cap; even a log writer subverted from the
# host side cannot grow a log half beyond the cap; and the daemon reads
# logs in bounded memory whatever the size of the files.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workspace-setup.sh"
require_root
PROBE=$(cd "$(dirname "$0")/../.." && pwd)/${BUILD:-build}/tests/helpers/boundary-probe
[ -x "$PROBE" ] || skip_all "boundary-probe is not built (make)"
[ "$(uname -m)" = x86_64 ] || skip_all "the ptrace injection probe is x86-64 only"
ws_setup

CAP=$((8 << 20)) # the log cap the daemon gives every workspace
LOGS=$ENC_STATE/sandboxes/$SB/workspaces/logw/logs

half_sizes_within_cap() {
        local f s
        for f in "$LOGS/0.log" "$LOGS/1.log"; do
                [ -f "$f" ] || continue
                s=$(stat -c %s "$f")
                [ "$s" -le "$CAP" ] || { echo "$f is $s bytes"; return 1; }
        done
}

ok "create a workspace with a run command" enc workspace create "$SB" logw \
        --run 'i=0; while :; do echo tick-$i; i=$((i+1)); sleep 0.2; done'
ok "start it" enc workspace start "$SB" logw
put_probe() { enc workspace exec -i "$SB" "$1" -- sh -c 'cat >/tmp/probe && chmod 755 /tmp/probe' <"$PROBE"; }
ok "copy the probe in" put_probe logw

# ---- a workspace process against its init ----
out=$(enc workspace exec "$SB" logw -- /tmp/probe read-init 2>&1)
diag "$(echo "$out" | tr '\n' ';')"
contains "positive control: ptrace works on a process of the workspace's own" "$out" "ptrace-own-child ok"
for what in ptrace-attach proc-mem proc-fd-write proc-fd-readlink proc-environ pidfd-getfd process-vm-readv; do
        lacks "a workspace process cannot $what its init" "$out" "$what ok"
done

# The attack of issue 14: ptrace init and make it write into the log.
out=$(enc workspace exec "$SB" logw -- /tmp/probe inject-write 1 3 32 2>&1)
contains "injecting writes into init is refused at attach" "$out" "attach:"
out=$(enc workspace exec "$SB" logw -- /tmp/probe inject-write 1 4 32 2>&1)
contains "injecting writes into init (other fd) is refused at attach" "$out" "attach:"
ok "the log halves stay within the cap" half_sizes_within_cap

# ---- the log writer, subverted from outside (host root stands in) ----
init_pid=$(ws_pid "$SB" logw)
init_log_fds=0
for f in /proc/"$init_pid"/fd/*; do
        case $(readlink "$f") in "$LOGS"/*) init_log_fds=$((init_log_fds + 1)) ;; esac
done
is "init holds no descriptor of the log files" "$init_log_fds" 0
writer=$(pgrep -P "$init_pid" -x enclave-log | head -1)
if [ -n "$writer" ]; then
        tap_ok "a log writer separate from init holds the log (pid $writer)"
        injected=0
        for f in /proc/"$writer"/fd/*; do
                case $(readlink "$f") in
                "$LOGS"/[01].log)
                        out=$("$PROBE" inject-write "$writer" "${f##*/}" 32 2>&1)
                        diag "host-side injection into the writer's fd ${f##*/}: $out"
                        contains "the writer's own write beyond the cap is refused by the kernel" "$out" "File too large"
                        injected=$((injected + 1)) ;;
                esac
        done
        is "both halves were attacked" "$injected" 2
else
        tap_fail "a log writer separate from init holds the log"
fi
ok "the log halves stay within the cap after that" half_sizes_within_cap
sleep 0.5
contains "the log still works" "$(enc workspace logs "$SB" logw --tail 1 2>&1)" "tick-"

# ---- the daemon reads logs in bounded memory ----
ok "create an idle workspace" enc workspace create "$SB" bigw
BIG=$ENC_STATE/sandboxes/$SB/workspaces/bigw/logs
mkdir -p "$BIG"
truncate -s 1G "$BIG/0.log"
truncate -s 1G "$BIG/1.log"
printf '\nthe-last-line\n' >>"$BIG/1.log"
echo 1 >"$BIG/active"
daemon_pid=$(cat "$ENC_PIDFILE")
hwm() { awk '/^VmHWM/ {print $2}' /proc/"$daemon_pid"/status; }
before=$(hwm)
tmpout=$ENC_DIR/tails
for i in 1 2 3 4; do enc workspace logs "$SB" bigw --tail 1 >"$tmpout.$i" 2>&1 & done
wait
after=$(hwm)
diag "daemon peak RSS before/after four 'logs --tail 1' of 1 GiB halves: ${before} / ${after} KiB"
[ $((after - before)) -lt $((128 * 1024)) ] && tap_ok "four tails of huge log files grow the daemon by less than 128 MiB" ||
        tap_fail "four tails of huge log files grow the daemon by less than 128 MiB" "grew by $((after - before)) KiB"
for i in 1 2 3 4; do
        is "tail $i reads the last line from the end" "$(tr -d '\0' <"$tmpout.$i")" "the-last-line"
done
out=$(enc workspace logs "$SB" bigw 2>/dev/null | wc -c)
[ "$out" -le $((2 * CAP + 4096)) ] && tap_ok "a whole read stays within two caps ($out bytes)" ||
        tap_fail "a whole read stays within two caps" "$out bytes"

done_testing
