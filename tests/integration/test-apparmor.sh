#!/usr/bin/env bash
# AppArmor on hosts that run it (the VM bench boots Debian 12 with it):
# the daemon loads Enclave's shipped profile (data/apparmor/enclave-
# workspace) and workspaces run under it by default; an action the
# profile denies (a packet socket) fails inside a workspace, while the
# same action works in a workspace without the profile (config ""); a
# configured profile the host lacks stops the daemon with a clear error.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/workspace-setup.sh"
require_root
[ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] ||
        skip_all "AppArmor is not enabled on this host (the VM bench runs these)"
command -v apparmor_parser >/dev/null || skip_all "apparmor_parser is not installed"
PROFILE=enclave-workspace
PROFILES=/sys/kernel/security/apparmor/profiles
loaded_before=$(grep -c "^$PROFILE " "$PROFILES")
ws_setup

contains "the shipped profile is loaded" "$(cat "$PROFILES")" "$PROFILE (enforce)"
if [ "$loaded_before" = 0 ]; then
        contains "the daemon loaded it" "$(cat "$ENC_STATE"/*.log "$ENC_DIR"/run/*.log 2>/dev/null)" "loaded the AppArmor profile"
fi
ok "workspace starts" enc workspace create "$SB" conf --run "sleep 600"
ok "start it" enc workspace start "$SB" conf
pid=$(ws_pid "$SB" conf)
is "its init runs under the profile" "$(cat "/proc/$pid/attr/current" 2>/dev/null)" "$PROFILE (enforce)"
is "an exec'd process runs under it" "$(enc workspace exec "$SB" conf -- cat /proc/self/attr/current 2>&1)" \
        "$PROFILE (enforce)"
ok "ordinary work is allowed (files, processes)" enc workspace exec "$SB" conf -- sh -c 'echo x >/tmp/f && cat /tmp/f && ls /proc/self/fd >/dev/null'
# apt under the profile (as setup commands run it), with a private state
# dir so the host's own apt is untouched; needs Debian's mirror.
if command -v aa-exec >/dev/null && command -v apt-get >/dev/null &&
        timeout 10 bash -c 'exec 3<>/dev/tcp/deb.debian.org/80' 2>/dev/null; then
        A=$ENC_DIR/apt
        mkdir -p "$A/lists/partial" "$A/archives/partial" && : >"$A/status"
        echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main" \
                >"$A/sources.list"
        aopts=(-o "Dir::Etc::SourceList=$A/sources.list" -o "Dir::Etc::SourceParts=/nonexistent"
                -o "Dir::State::Lists=$A/lists" -o "Dir::State::Status=$A/status" -o "Dir::Cache=$A"
                -o "Dir::Cache::Archives=$A/archives" -o "Debug::NoLocking=1" -o "Acquire::Languages=none")
        ok "apt-get update works under the profile" aa-exec -p "$PROFILE" -- apt-get "${aopts[@]}" -q update
        ok "apt-get download works under the profile" \
                sh -c "cd '$A' && aa-exec -p '$PROFILE' -- apt-get $(printf "'%s' " "${aopts[@]}") -q download busybox-static"
        ok "dpkg unpacks under the profile" sh -c "aa-exec -p '$PROFILE' -- dpkg-deb -x '$A'/busybox-static_*.deb '$A/x'"
else
        tap_skip "apt works under the profile" "no aa-exec/apt-get or Debian's mirror is unreachable"
fi

gw=$(echo "$ENC_SUBNET" | sed 's|0/24$|1|')
out=$(enc workspace exec "$SB" conf -- arping -c 1 -w 1 -I eth0 "$gw" 2>&1)
contains "a packet socket is refused inside the workspace" "$out" "Permission denied"
# The denial is audited: in the kernel log, or with journald listening
# for audit messages, in the journal.
denials=$( { dmesg 2>/dev/null; journalctl -q -o cat _TRANSPORT=audit 2>/dev/null; } |
        grep 'apparmor="DENIED"' | grep "profile=\"$PROFILE\"" | tail -n 3)
contains "the kernel names the profile that refused it" "$denials" 'family="packet"'

# The same action without the profile: the refusal was the profile's.
ok "stop the daemon" enc daemon stop
echo 'workspace_apparmor_profile = ""' >>"$ENC_CONFIG"
ok "the daemon starts with AppArmor set to none" enc daemon start
ok "a workspace without the profile" enc workspace create "$SB" plain --run "sleep 600"
ok "start it" enc workspace start "$SB" plain
is "it runs unconfined" "$(enc workspace exec "$SB" plain -- cat /proc/self/attr/current 2>&1)" "unconfined"
out=$(enc workspace exec "$SB" plain -- arping -c 1 -w 1 -I eth0 "$gw" 2>&1)
lacks "there the packet socket is allowed" "$out" "Permission denied"

# A configured profile the host does not have is a startup error.
ok "stop the daemon" enc daemon stop
out=$(timeout 30 "$ENCLAVE" daemon run --config "$ENC_CONFIG" --workspace-apparmor-profile "enclave-no-such-$$" 2>&1)
rc=$?
ok "the daemon refuses to start" test "$rc" -ne 0 -a "$rc" -ne 124
contains "it names the missing profile" "$out" "AppArmor profile 'enclave-no-such-$$' is not loaded"
ok "restart for the teardown" enc daemon start
done_testing
