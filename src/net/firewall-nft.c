/* nftables backend: two tables named after the bridge, changed only with
 * whole libnftables batches (one netlink transaction each: all or
 * nothing). Workspaces are set elements, so adding one is an element,
 * never a rule, and the ruleset stays the same size at 1000 workspaces. */
#include "net/firewall-internal.h"

#include "base/str.h"
#include "spec/metadata.h"

#include <nftables/libnftables.h>
#include <string.h>

static int nft_open(Firewall *fw, Error *err)
{
        fw->nft = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!fw->nft)
                return error_setc(err, ENOMEM, "creating nftables context");
        nft_ctx_buffer_output(fw->nft);
        nft_ctx_buffer_error(fw->nft);
        return 0;
}

static void nft_close(Firewall *fw)
{
        if (fw->nft)
                nft_ctx_free(fw->nft);
        fw->nft = NULL;
}

/* Run one batch; nft's own error text (it names the failing line) goes
 * into the error. */
static int nft_run(Firewall *fw, const StrBuf *b, const char *what, Error *err)
{
        if (b->oom)
                return error_setc(err, ENOMEM, "%s", what);
        if (nft_run_cmd_from_buffer(fw->nft, b->data) != 0) {
                _cleanup_free_ char *msg = strdup(nft_ctx_get_error_buffer(fw->nft) ?: "");
                if (msg) {
                        size_t n = strlen(msg);
                        while (n > 0 && msg[n - 1] == '\n')
                                msg[--n] = 0;
                }
                return error_set(err, EIO, "%s: nftables rejected the change: %s", what,
                                 msg && *msg ? msg : "no message");
        }
        return 0;
}

/* "{ a, b }" of the given ranges, for an anonymous nft set. */
static void put_set(StrBuf *b, const char *const *blocked, const NetSubnet *allow, size_t n_allow)
{
        strbuf_puts(b, "{ ");
        for (size_t i = 0; blocked && blocked[i]; i++)
                strbuf_printf(b, "%s%s", i ? ", " : "", blocked[i]);
        for (size_t i = 0; i < n_allow; i++) {
                char a[NET_SUBNET_STRLEN];
                strbuf_printf(b, "%s%s", i ? ", " : "", net_subnet_format(&allow[i], a));
        }
        strbuf_puts(b, " }");
}

/* Metadata services: the blocked ranges minus the allow list, by the
 * destination and by the connection's original destination (a host
 * DNAT rule cannot turn a blocked address into an allowed one). */
static void put_metadata_rules(Firewall *fw, StrBuf *b)
{
        static const char *const match[] = { "ip daddr", "ct original ip daddr" };
        for (size_t m = 0; m < ELEMENTSOF(match); m++) {
                strbuf_printf(b, "add rule inet %s forward iifname \"%s\" %s ", fw->bridge, fw->bridge, match[m]);
                put_set(b, net_metadata_blocked, NULL, 0);
                if (fw->n_metadata_allow > 0) {
                        strbuf_printf(b, " %s != ", match[m]);
                        put_set(b, NULL, fw->metadata_allow, fw->n_metadata_allow);
                }
                strbuf_puts(b, " drop\n");
        }
}

static void put_ruleset(Firewall *fw, StrBuf *b)
{
        const char *br = fw->bridge;
        char subnet[NET_SUBNET_STRLEN], gw[NET_ADDR_STRLEN];

        net_subnet_format(&fw->subnet, subnet);
        net_addr_format(net_subnet_gateway(&fw->subnet), gw);

        /* "add" keeps existing tables, sets and their elements (running
         * workspaces survive a daemon restart); the chains are flushed and
         * refilled in the same transaction, so setup is idempotent. */
        strbuf_printf(b, "add table inet %s\n", br);
        strbuf_printf(b, "add chain inet %s input { type filter hook input priority filter; policy accept; }\n", br);
        strbuf_printf(b, "add chain inet %s forward { type filter hook forward priority filter; policy accept; }\n",
                      br);
        strbuf_printf(b, "add chain inet %s postrouting { type nat hook postrouting priority srcnat; policy accept; }\n",
                      br);
        strbuf_printf(b, "flush chain inet %s input\n", br);
        strbuf_printf(b, "flush chain inet %s forward\n", br);
        strbuf_printf(b, "flush chain inet %s postrouting\n", br);

        /* Workspace -> any address of the host: only replies to what the
         * host started (the port proxy) and what Enclave serves. */
        strbuf_printf(b, "add rule inet %s input iifname \"%s\" ct state established,related accept\n", br, br);
        for (size_t i = 0; i < fw->n_served_tcp_ports; i++)
                strbuf_printf(b, "add rule inet %s input iifname \"%s\" ip daddr %s tcp dport %u accept\n", br, br,
                              gw, fw->served_tcp_ports[i]);
        strbuf_printf(b, "add rule inet %s input iifname \"%s\" drop\n", br, br);

        /* Workspace <-> workspace when routed (or bridged through
         * br_netfilter); the metadata service; sources outside the
         * subnet; nothing new may enter the bridge from elsewhere. */
        strbuf_printf(b, "add rule inet %s forward iifname \"%s\" oifname \"%s\" drop\n", br, br, br);
        put_metadata_rules(fw, b);
        strbuf_printf(b, "add rule inet %s forward iifname \"%s\" ip saddr != %s drop\n", br, br, subnet);
        strbuf_printf(b, "add rule inet %s forward iifname \"%s\" meta nfproto ipv6 drop\n", br, br);
        strbuf_printf(b, "add rule inet %s forward oifname \"%s\" ct state established,related accept\n", br, br);
        strbuf_printf(b, "add rule inet %s forward oifname \"%s\" drop\n", br, br);

        strbuf_printf(b, "add rule inet %s postrouting oifname != \"%s\" ip saddr %s ip daddr != %s masquerade\n", br,
                      br, subnet, subnet);

        /* Per-port anti-spoofing happens at the bridge layer: the IP hooks
         * only see the bridge as input interface, not the port. */
        strbuf_printf(b, "add table bridge %s\n", br);
        strbuf_printf(b, "add set bridge %s leases { type ifname . ether_addr . ipv4_addr; }\n", br);
        strbuf_printf(b, "add chain bridge %s prerouting { type filter hook prerouting priority filter; policy accept; }\n",
                      br);
        strbuf_printf(b, "flush chain bridge %s prerouting\n", br);
        /* Frames from ports of other bridges pass untouched; a port of
         * ours (by interface group) must match a lease. */
        strbuf_printf(b, "add rule bridge %s prerouting meta iifgroup != 0x%08x return\n", br,
                      net_port_group(fw->bridge));
        strbuf_printf(b, "add rule bridge %s prerouting ether type ip iifname . ether saddr . ip saddr @leases accept\n",
                      br);
        strbuf_printf(b,
                      "add rule bridge %s prerouting ether type arp iifname . ether saddr . arp saddr ip @leases accept\n",
                      br);
        strbuf_printf(b, "add rule bridge %s prerouting drop\n", br);
}

static int nft_setup(Firewall *fw, Error *err)
{
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        int r;

        put_ruleset(fw, &b);
        r = nft_run(fw, &b, "installing nftables rules", err);
        if (r < 0)
                return r;
        return firewall_compat_forward_open(fw, _IPT_FLAVOUR_INVALID, err);
}

static void put_elements(Firewall *fw, StrBuf *b, const char *verb, const FirewallWorkspace *ws, size_t n)
{
        if (n == 0)
                return;
        strbuf_printf(b, "%s element bridge %s leases { ", verb, fw->bridge);
        for (size_t i = 0; i < n; i++) {
                char mac[18], a[NET_ADDR_STRLEN];
                uint8_t m[6];
                net_mac_from_addr(ws[i].addr, m);
                strbuf_printf(b, "%s\"%s\" . %s . %s", i ? ", " : "", ws[i].host_veth, net_mac_format(m, mac),
                              net_addr_format(ws[i].addr, a));
        }
        strbuf_puts(b, " }\n");
}

static int nft_add(Firewall *fw, const FirewallWorkspace *ws, Error *err)
{
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        put_elements(fw, &b, "add", ws, 1);
        return nft_run(fw, &b, "adding the workspace to the nftables sets", err);
}

static int nft_remove(Firewall *fw, const FirewallWorkspace *ws, Error *err)
{
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        /* "delete" of a missing element fails the batch; adding it first
         * in the same transaction makes removal idempotent. */
        put_elements(fw, &b, "add", ws, 1);
        put_elements(fw, &b, "delete", ws, 1);
        return nft_run(fw, &b, "removing the workspace from the nftables sets", err);
}

static int nft_reconcile(Firewall *fw, const FirewallWorkspace *live, size_t n, Error *err)
{
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        strbuf_printf(&b, "flush set bridge %s leases\n", fw->bridge);
        put_elements(fw, &b, "add", live, n);
        return nft_run(fw, &b, "reconciling the nftables sets", err);
}

static int nft_teardown(Firewall *fw, Error *err)
{
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        int r;

        /* add-then-delete: idempotent, one transaction. */
        strbuf_printf(&b, "add table inet %1$s\ndelete table inet %1$s\n", fw->bridge);
        strbuf_printf(&b, "add table bridge %1$s\ndelete table bridge %1$s\n", fw->bridge);
        r = nft_run(fw, &b, "removing the nftables tables", err);
        if (r < 0)
                return r;
        return firewall_compat_forward_close(fw, err);
}

const FirewallOps firewall_nft_ops = {
        .open = nft_open,
        .close = nft_close,
        .setup = nft_setup,
        .add = nft_add,
        .remove = nft_remove,
        .reconcile = nft_reconcile,
        .teardown = nft_teardown,
};
