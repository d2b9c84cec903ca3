/* iptables backend: the same rules as the nftables backend, in chains of
 * Enclave's own named after the bridge, applied with iptables-restore
 * --noflush (each run is one atomic table replacement per table).
 *
 * iptables has no bridge-layer hook of its own, so per-port
 * anti-spoofing uses the physdev match, which sees the bridge port of a
 * routed packet through br_netfilter; setup makes sure
 * bridge-nf-call-iptables is on (and says so when it turns it on). The
 * per-workspace rules live in <bridge>-PORTS; iptables cannot list set
 * members cheaply, so the backend remembers its workspaces and rewrites
 * that one chain on every change. */
#include "net/firewall-internal.h"
#include "spec/metadata.h"

#include "base/str.h"
#include "net/iptables.h"
#include "net/netlink.h"

#include <string.h>
#include <unistd.h>

#define BRNF_CALL_IPTABLES "/proc/sys/net/bridge/bridge-nf-call-iptables"

static const char *const builtin_chains[] = { "INPUT", "FORWARD", "OUTPUT", "PREROUTING", "POSTROUTING" };

static int ipt_run(Firewall *fw, StrBuf *b, Error *err)
{
        if (b->oom)
                return error_setc(err, ENOMEM, "building iptables rules");
        return ipt_restore(fw->flavour, b->data, err);
}

/* The per-port rules: source IP and MAC must be the port's lease. */
static void put_ports_chain(Firewall *fw, StrBuf *b)
{
        strbuf_printf(b, ":%s-PORTS - [0:0]\n", fw->bridge);
        for (size_t i = 0; i < fw->n_entries; i++) {
                char a[NET_ADDR_STRLEN], mac[18];
                uint8_t m[6];
                net_mac_from_addr(fw->entries[i].addr, m);
                strbuf_printf(b, "-A %s-PORTS -m physdev --physdev-in %s -s %s/32 -m mac --mac-source %s -j RETURN\n",
                              fw->bridge, fw->entries[i].host_veth, net_addr_format(fw->entries[i].addr, a),
                              net_mac_format(m, mac));
        }
        strbuf_printf(b, "-A %s-PORTS -j DROP\n", fw->bridge);
}

/* Metadata services: an allowed address (before and after any DNAT of
 * the host) returns early, the path of all allowed traffic (the spoofing
 * checks are behind it); the blocked
 * ranges are dropped, by destination and by the connection's original
 * destination (a host DNAT rule cannot turn a blocked address into an
 * allowed one). */
static void put_metadata_rules(Firewall *fw, StrBuf *b)
{
        const char *br = fw->bridge;
        for (size_t i = 0; i < fw->n_metadata_allow; i++) {
                char a[NET_SUBNET_STRLEN];
                net_subnet_format(&fw->metadata_allow[i], a);
                strbuf_printf(b, "-A %s-FWD -i %s -d %s -m conntrack --ctorigdst %s -j RETURN\n", br, br, a, a);
        }
        for (size_t i = 0; net_metadata_blocked[i]; i++) {
                strbuf_printf(b, "-A %s-FWD -i %s -d %s -j DROP\n", br, br, net_metadata_blocked[i]);
                strbuf_printf(b, "-A %s-FWD -i %s -m conntrack --ctorigdst %s -j DROP\n", br, br,
                              net_metadata_blocked[i]);
        }
}

static void put_filter_chains(Firewall *fw, StrBuf *b)
{
        const char *br = fw->bridge;
        char subnet[NET_SUBNET_STRLEN], gw[NET_ADDR_STRLEN];

        net_subnet_format(&fw->subnet, subnet);
        net_addr_format(net_subnet_gateway(&fw->subnet), gw);
        /* With --noflush, naming an existing chain flushes it: the chains
         * are rewritten whole, so setup is idempotent. */
        strbuf_printf(b, ":%s-IN - [0:0]\n:%s-FWD - [0:0]\n", br, br);
        put_ports_chain(fw, b);

        strbuf_printf(b, "-A %s-IN -i %s -j %s-PORTS\n", br, br, br);
        strbuf_printf(b, "-A %s-IN -i %s -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n", br, br);
        for (size_t i = 0; i < fw->n_served_tcp_ports; i++)
                strbuf_printf(b, "-A %s-IN -i %s -d %s/32 -p tcp --dport %u -j ACCEPT\n", br, br, gw,
                              fw->served_tcp_ports[i]);
        strbuf_printf(b, "-A %s-IN -i %s -j DROP\n", br, br);

        strbuf_printf(b, "-A %s-FWD -i %s -j %s-PORTS\n", br, br, br);
        strbuf_printf(b, "-A %s-FWD -i %s -o %s -j DROP\n", br, br, br);
        strbuf_printf(b, "-A %s-FWD -i %s ! -s %s -j DROP\n", br, br, subnet);
        put_metadata_rules(fw, b);
        /* RETURN, not ACCEPT: an ACCEPT would end FORWARD before another
         * instance's chain could drop traffic into its bridge. The accept
         * that beats a DROP policy sits at the end of FORWARD instead
         * (firewall-compat.c). */
        strbuf_printf(b, "-A %s-FWD -i %s -j RETURN\n", br, br);
        strbuf_printf(b, "-A %s-FWD -o %s -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN\n", br, br);
        strbuf_printf(b, "-A %s-FWD -o %s -j DROP\n", br, br);
}

/* Lines "-A <builtin> ... -j <bridge>-<X>" of a save output, i.e. our
 * jumps, with the builtin chain they are in. */
static int our_jumps(Firewall *fw, const char *save, char ***ret)
{
        _cleanup_strv_free_ char **found = NULL;
        char target[64];
        const char *l = save;

        snprintf(target, sizeof target, " -j %s-", fw->bridge);
        while (l && *l) {
                const char *end = strchr(l, '\n');
                size_t len = end ? (size_t) (end - l) : strlen(l);
                _cleanup_free_ char *line = strndup(l, len);
                if (!line)
                        return -ENOMEM;
                l = end ? end + 1 : NULL;
                const char *rest = startswith(line, "-A ");
                if (!rest)
                        continue;
                bool builtin = false;
                for (size_t i = 0; i < ELEMENTSOF(builtin_chains); i++) {
                        const char *after = startswith(rest, builtin_chains[i]);
                        if (after && *after == ' ')
                                builtin = true;
                }
                if (builtin && strstr(line, target) && strv_consume(&found, TAKE_PTR(line)) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(found);
        return 0;
}

static bool save_has_chain(const char *save, const char *chain)
{
        char needle[80];
        snprintf(needle, sizeof needle, "\n:%s ", chain);
        return strstr(save, needle) != NULL;
}

static bool has_jump(char **jumps, const char *builtin, const char *chain)
{
        char a[64], b[64];
        snprintf(a, sizeof a, "-A %s ", builtin);
        snprintf(b, sizeof b, " -j %s", chain);
        STRV_FOREACH(j, jumps)
                if (startswith(*j, a) && endswith(*j, b))
                        return true;
        return false;
}

/* The physdev match sees bridge ports only through br_netfilter. Some
 * kernels load it with the match; stock Debian 12 does not, so load it
 * here, as Docker does, and say so: it makes bridged traffic on this
 * host pass iptables (bridge-nf-call-iptables). */
static int load_br_netfilter(Firewall *fw, Error *err)
{
        _cleanup_error_ Error e = ERROR_INIT;
        if (ipt_modprobe("br_netfilter", &e) < 0 || access(BRNF_CALL_IPTABLES, F_OK) < 0)
                return error_set(err, EOPNOTSUPP,
                                 "the iptables backend needs br_netfilter for per-port anti-spoofing (physdev match), "
                                 "and it is not loaded and could not be loaded (%s): load it (`modprobe br_netfilter`) "
                                 "or use firewall = \"nftables\"",
                                 e.msg ? e.msg : "still missing after modprobe");
        return firewall_notice(fw, "loaded the br_netfilter kernel module: the iptables backend matches bridge ports "
                               "through it (bridged traffic on this host now passes iptables)");
}

static int ensure_br_netfilter(Firewall *fw, Error *err)
{
        int v = 0, r;

        r = net_sysctl_read_int(BRNF_CALL_IPTABLES, &v);
        if (r == -ENOENT) {
                r = load_br_netfilter(fw, err);
                if (r < 0)
                        return r;
                r = net_sysctl_read_int(BRNF_CALL_IPTABLES, &v);
        }
        if (r < 0)
                return error_setc(err, -r, "reading %s", BRNF_CALL_IPTABLES);
        if (v == 1)
                return 0;
        r = net_sysctl_write(BRNF_CALL_IPTABLES, "1");
        if (r < 0)
                return error_setc(err, -r, "enabling %s", BRNF_CALL_IPTABLES);
        return firewall_notice(fw, "turned on net.bridge.bridge-nf-call-iptables so the iptables backend can match "
                               "bridge ports");
}

static int ipt_setup(Firewall *fw, Error *err)
{
        _cleanup_free_ char *filter = NULL, *nat = NULL;
        _cleanup_strv_free_ char **fjumps = NULL, **njumps = NULL;
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        const char *br = fw->bridge;
        char chain[64];
        int r;

        /* A fresh instance forgets what an earlier process added; the
         * daemon reconciles right after setup. */
        fw->n_entries = 0;
        r = ipt_save(fw->flavour, "filter", &filter, err);
        if (r >= 0)
                r = ipt_save(fw->flavour, "nat", &nat, err);
        if (r < 0)
                return r;
        if (our_jumps(fw, filter, &fjumps) < 0 || our_jumps(fw, nat, &njumps) < 0)
                return error_setc(err, ENOMEM, "reading iptables rules");

        strbuf_puts(&b, "*filter\n");
        put_filter_chains(fw, &b);
        snprintf(chain, sizeof chain, "%s-IN", br);
        if (!has_jump(fjumps, "INPUT", chain))
                strbuf_printf(&b, "-I INPUT -j %s\n", chain);
        snprintf(chain, sizeof chain, "%s-FWD", br);
        if (!has_jump(fjumps, "FORWARD", chain))
                strbuf_printf(&b, "-I FORWARD -j %s\n", chain);
        strbuf_puts(&b, "COMMIT\n*nat\n");
        strbuf_printf(&b, ":%s-POST - [0:0]\n", br);
        char subnet[NET_SUBNET_STRLEN];
        net_subnet_format(&fw->subnet, subnet);
        strbuf_printf(&b, "-A %s-POST -s %s ! -d %s ! -o %s -j MASQUERADE\n", br, subnet, subnet, br);
        snprintf(chain, sizeof chain, "%s-POST", br);
        if (!has_jump(njumps, "POSTROUTING", chain))
                strbuf_printf(&b, "-I POSTROUTING -j %s\n", chain);
        strbuf_puts(&b, "COMMIT\n");
        r = ipt_run(fw, &b, err);
        if (r < 0)
                return r;

        /* After the rules: the physdev match loads br_netfilter when the
         * kernel can, so check (and load it ourselves) only now. */
        r = ensure_br_netfilter(fw, err);
        if (r < 0)
                return r;
        return firewall_compat_forward_open(fw, fw->flavour, err);
}

static int rewrite_ports(Firewall *fw, Error *err)
{
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        strbuf_puts(&b, "*filter\n");
        put_ports_chain(fw, &b);
        strbuf_puts(&b, "COMMIT\n");
        return ipt_run(fw, &b, err);
}

static ssize_t entry_find(Firewall *fw, const FirewallWorkspace *ws)
{
        for (size_t i = 0; i < fw->n_entries; i++)
                if (streq(fw->entries[i].host_veth, ws->host_veth))
                        return (ssize_t) i;
        return -1;
}

static int entries_set(Firewall *fw, const FirewallWorkspace *ws, size_t n)
{
        FirewallEntry *e = n ? calloc(n, sizeof *e) : NULL;
        if (n && !e)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                snprintf(e[i].host_veth, sizeof e[i].host_veth, "%s", ws[i].host_veth);
                e[i].addr = ws[i].addr;
        }
        free(fw->entries);
        fw->entries = e;
        fw->n_entries = n;
        return 0;
}

static int ipt_add(Firewall *fw, const FirewallWorkspace *ws, Error *err)
{
        ssize_t i = entry_find(fw, ws);
        if (i >= 0 && fw->entries[i].addr == ws->addr)
                return 0;
        if (i < 0) {
                FirewallEntry *e = reallocarray(fw->entries, fw->n_entries + 1, sizeof *e);
                if (!e)
                        return error_setc(err, ENOMEM, "adding workspace");
                fw->entries = e;
                i = (ssize_t) fw->n_entries++;
                snprintf(e[i].host_veth, sizeof e[i].host_veth, "%s", ws->host_veth);
        }
        fw->entries[i].addr = ws->addr;
        return rewrite_ports(fw, err);
}

static int ipt_remove(Firewall *fw, const FirewallWorkspace *ws, Error *err)
{
        ssize_t i = entry_find(fw, ws);
        if (i < 0)
                return 0;
        fw->entries[i] = fw->entries[--fw->n_entries];
        return rewrite_ports(fw, err);
}

static int ipt_reconcile(Firewall *fw, const FirewallWorkspace *live, size_t n, Error *err)
{
        if (entries_set(fw, live, n) < 0)
                return error_setc(err, ENOMEM, "reconciling");
        return rewrite_ports(fw, err);
}

/* Delete our jumps and then our chains in one table. */
static int teardown_table(Firewall *fw, const char *table, const char *const *chains, Error *err)
{
        _cleanup_free_ char *save = NULL;
        _cleanup_strv_free_ char **jumps = NULL;
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        bool any = false;
        int r;

        r = ipt_save(fw->flavour, table, &save, err);
        if (r < 0)
                return r;
        if (our_jumps(fw, save, &jumps) < 0)
                return error_setc(err, ENOMEM, "reading iptables rules");
        strbuf_printf(&b, "*%s\n", table);
        STRV_FOREACH(j, jumps) {
                strbuf_printf(&b, "-D%s\n", *j + 2);
                any = true;
        }
        for (const char *const *c = chains; *c; c++) {
                char name[64];
                snprintf(name, sizeof name, "%s-%s", fw->bridge, *c);
                if (save_has_chain(save, name)) {
                        strbuf_printf(&b, "-F %s\n", name);
                        any = true;
                }
        }
        for (const char *const *c = chains; *c; c++) {
                char name[64];
                snprintf(name, sizeof name, "%s-%s", fw->bridge, *c);
                if (save_has_chain(save, name))
                        strbuf_printf(&b, "-X %s\n", name);
        }
        strbuf_puts(&b, "COMMIT\n");
        return any ? ipt_run(fw, &b, err) : 0;
}

static int ipt_teardown(Firewall *fw, Error *err)
{
        static const char *const filter_chains[] = { "IN", "FWD", "PORTS", NULL };
        static const char *const nat_chains[] = { "POST", NULL };
        int r;

        r = teardown_table(fw, "filter", filter_chains, err);
        if (r >= 0)
                r = teardown_table(fw, "nat", nat_chains, err);
        if (r >= 0)
                r = firewall_compat_forward_close(fw, err);
        if (r >= 0)
                fw->n_entries = 0;
        return r;
}

const FirewallOps firewall_ipt_ops = {
        .setup = ipt_setup,
        .add = ipt_add,
        .remove = ipt_remove,
        .reconcile = ipt_reconcile,
        .teardown = ipt_teardown,
};
