#!/usr/bin/env bash
# End-to-end networking through the real daemon and CLI (SPEC §6), once
# per firewall backend (firewall = "nftables", then "iptables"):
# published ports (two workspaces on the same workspace port, publish /
# unpublish, stop, daemon restart), isolation (workspace <-> workspace,
# the bridge address, 169.254.169.254 on a test-made interface), no IPv6
# inside, /etc/resolv.conf inside, and that after destroy nothing of the
# test remains (links, leases, firewall entries).
#
# The workspaces run busybox httpd on port 7000 serving their own name.
# Traffic goes only to 127.0.0.1 and to addresses on links made here.
. "$(dirname "$0")/lib.sh"
require_root
command -v busybox >/dev/null || skip_all "busybox is not installed"
command -v curl >/dev/null || skip_all "curl is not installed"
[ -x "$ENCLAVE" ] || skip_all "build/enclave is missing (run make)"

# Remove whatever an iptables flavour still holds for bridge $1 (only
# used when a run died before its daemon could tear down).
ipt_purge() {
        local br=$1 tool t
        for tool in iptables-nft iptables-legacy; do
                command -v "$tool-save" >/dev/null || continue
                for t in filter nat; do
                        "$tool-save" -t "$t" 2>/dev/null | grep -E "^-A .*($br|enclave:$br)" | sed 's/^-A/-D/' |
                                while read -r rule; do eval "$tool -t $t $rule" 2>/dev/null; done
                        "$tool-save" -t "$t" 2>/dev/null | grep -oE "^:$br-[A-Z]+" | tr -d : |
                                while read -r c; do "$tool" -t "$t" -F "$c"; "$tool" -t "$t" -X "$c"; done 2>/dev/null
                done
        done
}

# iptables-nft creates the built-in tables of the host the first time it
# runs; when this run brought them into being and they hold no rule at
# the end, take them away again so the host is as the run found it.
ipt_tables_before=$(nft list tables 2>/dev/null)
drop_created_ipt_tables() {
        local t
        for t in filter nat; do
                printf '%s\n' "$ipt_tables_before" | grep -qx "table ip $t" && continue
                nft list table ip "$t" >/dev/null 2>&1 || continue
                [ "$(iptables-nft-save -t "$t" 2>/dev/null | grep -c '^-A')" = 0 ] && nft delete table ip "$t"
        done
}
on_exit drop_created_ipt_tables

# GET http://127.0.0.1:$1/ -> body on stdout (fails when nothing answers)
get() { curl -s --max-time 3 "http://127.0.0.1:$1/"; }
# In workspace $1: GET http://$2/ with busybox nc (2 s connect timeout);
# prints the body, fails when nothing answered. (busybox wget -q -T
# crashes in this static build, so nc speaks HTTP/1.0 by hand.)
ws_get() {
        local out
        out=$(enc workspace exec sb "$1" -- sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 ${2%:*} ${2#*:}" 2>/dev/null)
        [ -n "$out" ] || return 1
        printf '%s\n' "$out" | tail -n 1
}
links_on_bridge() { ip -o link show master "$ENC_BRIDGE" 2>/dev/null | wc -l; }
# Workspaces (of a b) holding an address. The registry is read through
# the daemon while it runs (an outside sqlite3 must not race its WAL).
leases() {
        local n=0 w
        for w in a b; do [ -n "$(ws_ip $w 2>/dev/null)" ] && n=$((n + 1)); done
        echo $n
}
db() { sqlite3 "$ENC_STATE/registry.db" "$1"; }
fw_mentions_bridge() {
        { nft list tables 2>/dev/null; iptables-nft-save 2>/dev/null; iptables-nft-save -t nat 2>/dev/null
          iptables-legacy-save 2>/dev/null; iptables-legacy-save -t nat 2>/dev/null; } | grep -c -- "$ENC_BRIDGE"
}
ws_ip() { enc --json workspace port list sb "$1" | jq -r '.ip // empty'; }
serve_cmd() { echo "mkdir -p /tmp/w && echo ws-$1 > /tmp/w/index.html && exec httpd -f -p 7000 -h /tmp/w"; }

scenario() {
        local backend=$1
        diag "---- firewall = $backend ----"
        enc_setup
        # enc_setup's cleanup reads globals at exit; pin this world's.
        on_exit "ENC_DIR=$ENC_DIR ENC_BRIDGE=$ENC_BRIDGE ENC_PIDFILE=$ENC_PIDFILE enc_teardown; ipt_purge $ENC_BRIDGE"
        # Workspaces outlive their daemon: destroy them first on every exit path.
        on_exit "ENC_CONFIG=$ENC_CONFIG ENC_SOCK=$ENC_SOCK; enc workspace destroy sb a; enc workspace destroy sb b; enc destroy sb --force"
        echo "firewall = \"$backend\"" >>"$ENC_CONFIG"
        echo 'metadata_allow = ["169.254.169.253"]' >>"$ENC_CONFIG"
        local gw=${ENC_SUBNET%.0/24}.1
        local base=$(( 20000 + ($$ % 5000) * 4 ))
        local h1=$base h2=$((base + 1)) h3=$((base + 2)) hgw=$((base + 3))
        local meta=encm$ENC_TAG

        make_busybox_rootfs "$ENC_DIR/rootfs" || { tap_fail "busybox rootfs"; return; }
        tar -C "$ENC_DIR/rootfs" -cf "$ENC_DIR/base.tar" . || { tap_fail "rootfs archive"; return; }
        ok "$backend: daemon starts" enc daemon start
        ok "$backend: no bridge before any workspace runs" test "$(ip link show "$ENC_BRIDGE" 2>/dev/null | wc -l)" = 0
        ok "$backend: rootfs import --base" enc rootfs import --base "$ENC_DIR/base.tar"
        ok "$backend: create sandbox" enc create sb --bootstrap-method cached_rootfs
        ok "$backend: workspace a (declares $h1)" enc workspace create sb a --port "127.0.0.1:$h1:7000/tcp" --run "$(serve_cmd a)"
        ok "$backend: workspace b (declares $h2)" enc workspace create sb b --port "127.0.0.1:$h2:7000" --run "$(serve_cmd b)"
        fails "$backend: a host port cannot be declared twice" enc workspace create sb c --port "127.0.0.1:$h1:7000"
        ok "$backend: start a" enc workspace start sb a
        ok "$backend: start b" enc workspace start sb b
        sleep 0.3   # httpd binding its port inside

        # Two workspaces listen on the same port; each host port reaches its own.
        is "$backend: 127.0.0.1:$h1 answers from a" "$(get $h1)" "ws-a"
        is "$backend: 127.0.0.1:$h2 answers from b" "$(get $h2)" "ws-b"
        is "$backend: two links on the bridge" "$(links_on_bridge)" 2
        is "$backend: two leases" "$(leases)" 2

        # Isolation.
        local ipa ipb
        ipa=$(ws_ip a); ipb=$(ws_ip b)
        ok "$backend: workspaces have addresses in the subnet ($ipa, $ipb)" test -n "$ipa" -a -n "$ipb" -a "$ipa" != "$ipb"
        is "$backend: a reaches its own server" "$(ws_get a "$ipa:7000")" "ws-a"
        fails "$backend: a cannot reach b" ws_get a "$ipb:7000"
        fails "$backend: b cannot reach a" ws_get b "$ipa:7000"
        mkdir -p "$ENC_DIR/www" && echo host >"$ENC_DIR/www/index.html"
        busybox httpd -f -p "$gw:$hgw" -h "$ENC_DIR/www" & local gw_pid=$!
        on_exit "kill $gw_pid"
        ip link add "$meta" type veth peer name "${meta}p" && ip addr add 169.254.169.254/32 dev "$meta" && ip link set "$meta" up
        on_exit "ip link del $meta"
        busybox httpd -f -p "169.254.169.254:$hgw" -h "$ENC_DIR/www" & local meta_pid=$!
        on_exit "kill $meta_pid"
        sleep 0.2
        is "$backend: the bridge-address listener answers the host" "$(curl -s --max-time 2 "http://$gw:$hgw/")" host
        fails "$backend: a cannot reach a listener on the bridge address" ws_get a "$gw:$hgw"
        is "$backend: the metadata listener answers the host" "$(curl -s --max-time 2 "http://169.254.169.254:$hgw/")" host
        fails "$backend: a cannot reach 169.254.169.254" ws_get a "169.254.169.254:$hgw"
        kill "$gw_pid" "$meta_pid" 2>/dev/null
        ip link del "$meta" 2>/dev/null
        # The metadata ranges and config.toml's allow list reach the rules
        # (the traffic itself: itest-net, in a namespace of its own).
        local rules
        rules=$(nft list table inet "$ENC_BRIDGE" 2>/dev/null; iptables-nft-save 2>/dev/null | grep -- "$ENC_BRIDGE-FWD";
                iptables-legacy-save 2>/dev/null | grep -- "$ENC_BRIDGE-FWD")
        contains "$backend: 169.254.0.0/16 is blocked" "$rules" "169.254.0.0/16"
        contains "$backend: 100.100.100.200 is blocked" "$rules" "100.100.100.200"
        contains "$backend: metadata_allow reaches the firewall" "$rules" "169.254.169.253"

        # Inside: no IPv6 but lo's ::1, a managed resolv.conf.
        is "$backend: no IPv6 address inside but ::1" "$(enc workspace exec sb a -- cat /proc/net/if_inet6 | grep -vc ' lo$')" 0
        contains "$backend: /etc/resolv.conf inside" "$(enc workspace exec sb a -- cat /etc/resolv.conf)" "nameserver "

        # port publish / list / unpublish.
        ok "$backend: port publish $h3" enc workspace port publish sb a "127.0.0.1:$h3:7000/tcp"
        is "$backend: published port answers" "$(get $h3)" "ws-a"
        fails "$backend: a published host port cannot be published again" enc workspace port publish sb b "127.0.0.1:$h3:7000"
        local list
        list=$(enc --json workspace port list sb a)
        is "$backend: list: $h1 declared and active" \
                "$(echo "$list" | jq -r ".ports[] | select(.host_port == $h1) | \"\(.declared) \(.active)\"")" "true true"
        is "$backend: list: $h3 published (not declared) and active" \
                "$(echo "$list" | jq -r ".ports[] | select(.host_port == $h3) | \"\(.declared) \(.active)\"")" "false true"
        contains "$backend: list table" "$(enc workspace port list sb a)" "127.0.0.1:$h3"
        ok "$backend: port unpublish $h3" enc workspace port unpublish sb a "127.0.0.1:$h3/tcp"
        fails "$backend: unpublished port is closed" get $h3
        fails "$backend: unpublish of an unknown mapping fails" enc workspace port unpublish sb a "127.0.0.1:$h3"
        is "$backend: list after unpublish" "$(enc --json workspace port list sb a | jq '.ports | length')" 1

        # Stop: the port closes, link and lease go; start brings them back.
        ok "$backend: stop a" enc workspace stop sb a
        fails "$backend: port closed after stop" get $h1
        is "$backend: list after stop: declared, not active" \
                "$(enc --json workspace port list sb a | jq -r '.ports[0] | "\(.declared) \(.active)"')" "true false"
        is "$backend: one link left after stop" "$(links_on_bridge)" 1
        is "$backend: one lease left after stop" "$(leases)" 1
        is "$backend: b still answers" "$(get $h2)" "ws-b"
        ok "$backend: start a again" enc workspace start sb a
        sleep 0.3
        is "$backend: port answers after restart of a" "$(get $h1)" "ws-a"

        # Daemon restart: workspaces and their networking survive; ports come back.
        ok "$backend: daemon stop" enc daemon stop
        fails "$backend: port closed while the daemon is down" get $h1
        is "$backend: links survive the daemon" "$(links_on_bridge)" 2
        ok "$backend: daemon start" enc daemon start
        is "$backend: port answers after daemon restart" "$(get $h1)" "ws-a"
        is "$backend: b's port too" "$(get $h2)" "ws-b"
        fails "$backend: still isolated after restart" ws_get a "$ipb:7000"

        # Destroy: nothing of the test remains.
        ok "$backend: destroy a" enc workspace destroy sb a
        ok "$backend: destroy b" enc workspace destroy sb b
        is "$backend: no link on the bridge" "$(links_on_bridge)" 0
        is "$backend: bridge removed with the last workspace" "$(ip link show "$ENC_BRIDGE" 2>/dev/null | wc -l)" 0
        is "$backend: no firewall entry mentions the bridge" "$(fw_mentions_bridge)" 0
        ok "$backend: destroy the sandbox" enc destroy sb
        is "$backend: no cgroup of the test remains" "$(ls -d /sys/fs/cgroup/*"$ENC_BRIDGE"* /sys/fs/cgroup/*/*"$ENC_BRIDGE"* 2>/dev/null | wc -l)" 0
        ok "$backend: daemon stop" enc daemon stop
        is "$backend: no lease left in the registry" "$(db 'SELECT count(*) FROM ip_leases')" 0
        is "$backend: no port mapping left in the registry" "$(db 'SELECT count(*) FROM ports')" 0
}

# Skip cleanly while the workspace commands have not landed.
if "$ENCLAVE" workspace create --help 2>&1 | grep -q "not built"; then
        skip_all "workspace commands are not built yet"
fi
scenario nftables
scenario iptables
done_testing
