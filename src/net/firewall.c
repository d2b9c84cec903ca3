#include "net/firewall-internal.h"

#include "base/str.h"

#include <ctype.h>
#include <nftables/libnftables.h>
#include <stdarg.h>
#include <string.h>

bool firewall_nft_supported(void)
{
        struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx)
                return false;
        nft_ctx_buffer_output(ctx);
        nft_ctx_buffer_error(ctx);
        /* Listing needs the nf_tables netlink subsystem and nothing else. */
        bool ok = nft_run_cmd_from_buffer(ctx, "list tables") == 0;
        nft_ctx_free(ctx);
        return ok;
}

int firewall_notice(Firewall *fw, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = strv_vprintf(&fw->notices, fmt, ap);
        va_end(ap);
        return r;
}

static int firewall_resolve_backend(Firewall *fw, FirewallBackend want, Error *err)
{
        IptFlavour flavour;

        if (want == FIREWALL_AUTO || want == FIREWALL_NFTABLES) {
                if (firewall_nft_supported()) {
                        fw->backend = FIREWALL_NFTABLES;
                        fw->ops = &firewall_nft_ops;
                        return 0;
                }
                if (want == FIREWALL_NFTABLES)
                        return error_set(err, EOPNOTSUPP,
                                         "firewall = \"nftables\" but this kernel does not support nf_tables; "
                                         "use firewall = \"iptables\" or \"auto\"");
        }
        if (ipt_detect_flavour(&flavour) < 0 || !ipt_flavour_available(flavour))
                return error_set(err, ENOENT, "%s: neither nf_tables nor iptables-restore/iptables-save are usable "
                                 "here; install the iptables package",
                                 want == FIREWALL_IPTABLES ? "firewall = \"iptables\"" : "no firewall backend");
        fw->backend = FIREWALL_IPTABLES;
        fw->flavour = flavour;
        fw->ops = &firewall_ipt_ops;
        return 0;
}

int firewall_open(const FirewallConfig *c, Firewall **ret, Error *err)
{
        _cleanup_firewall_ Firewall *fw = NULL;
        int r;

        if (!c->bridge || !net_ifname_is_valid(c->bridge))
                return error_set(err, EINVAL, "invalid bridge name \"%s\"", c->bridge ? c->bridge : "");
        /* The name also becomes nft table and iptables chain names. */
        for (const char *p = c->bridge; *p; p++)
                if (!(isalnum((unsigned char) *p) || *p == '_' || *p == '-' || *p == '.'))
                        return error_set(err, EINVAL, "bridge name \"%s\" may only use letters, digits, '_', '-' "
                                         "and '.' (it also names the firewall table)", c->bridge);
        fw = calloc(1, sizeof *fw);
        if (!fw)
                return error_setc(err, ENOMEM, "opening firewall");
        fw->bridge = strdup(c->bridge);
        if (!fw->bridge)
                return error_setc(err, ENOMEM, "opening firewall");
        fw->subnet = *c->subnet;
        if (c->n_served_tcp_ports > 0) {
                fw->served_tcp_ports = calloc(c->n_served_tcp_ports, sizeof(uint16_t));
                if (!fw->served_tcp_ports)
                        return error_setc(err, ENOMEM, "opening firewall");
                memcpy(fw->served_tcp_ports, c->served_tcp_ports, c->n_served_tcp_ports * sizeof(uint16_t));
                fw->n_served_tcp_ports = c->n_served_tcp_ports;
        }
        if (c->n_metadata_allow > 0) {
                fw->metadata_allow = calloc(c->n_metadata_allow, sizeof(NetSubnet));
                if (!fw->metadata_allow)
                        return error_setc(err, ENOMEM, "opening firewall");
                memcpy(fw->metadata_allow, c->metadata_allow, c->n_metadata_allow * sizeof(NetSubnet));
                fw->n_metadata_allow = c->n_metadata_allow;
        }
        r = firewall_resolve_backend(fw, c->backend, err);
        if (r < 0)
                return r;
        if (fw->ops->open) {
                r = fw->ops->open(fw, err);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(fw);
        return 0;
}

Firewall *firewall_free(Firewall *fw)
{
        if (!fw)
                return NULL;
        if (fw->ops && fw->ops->close)
                fw->ops->close(fw);
        free(fw->bridge);
        free(fw->served_tcp_ports);
        free(fw->metadata_allow);
        free(fw->entries);
        strv_free(fw->notices);
        free(fw);
        return NULL;
}

FirewallBackend firewall_backend(const Firewall *fw)
{
        return fw->backend;
}

const char *firewall_iptables_flavour(const Firewall *fw)
{
        return fw->backend == FIREWALL_IPTABLES ? ipt_flavour_to_string(fw->flavour) : NULL;
}

static char *notices_join(char **v)
{
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        STRV_FOREACH(s, v) {
                if (b.len > 0)
                        strbuf_puts(&b, "; ");
                strbuf_puts(&b, *s);
        }
        return strbuf_steal(&b);
}

int firewall_setup(Firewall *fw, char **ret_notice, Error *err)
{
        _cleanup_free_ char *fwd = NULL;
        int r;

        fw->notices = strv_free(fw->notices);
        r = net_forwarding_enable(fw->bridge, &fwd, err);
        if (r < 0)
                return error_wrap(err, "setting up the firewall for %s", fw->bridge);
        if (fwd && strv_push(&fw->notices, fwd) < 0)
                return error_setc(err, ENOMEM, "setting up the firewall");
        r = fw->ops->setup(fw, err);
        if (r < 0)
                return error_wrap(err, "setting up the %s firewall for %s", firewall_backend_to_string(fw->backend),
                                  fw->bridge);
        if (ret_notice)
                *ret_notice = fw->notices ? notices_join(fw->notices) : NULL;
        return 0;
}

static int check_workspace(const Firewall *fw, const FirewallWorkspace *ws, Error *err)
{
        char a[NET_ADDR_STRLEN];
        if (!ws->host_veth || !net_ifname_is_valid(ws->host_veth))
                return error_set(err, EINVAL, "invalid veth name \"%s\"", ws->host_veth ? ws->host_veth : "");
        if (!net_subnet_is_leasable(&fw->subnet, ws->addr))
                return error_set(err, ERANGE, "address %s is not a workspace address of the subnet",
                                 net_addr_format(ws->addr, a));
        return 0;
}

int firewall_add_workspace(Firewall *fw, const FirewallWorkspace *ws, Error *err)
{
        int r = check_workspace(fw, ws, err);
        if (r < 0)
                return r;
        r = fw->ops->add(fw, ws, err);
        if (r < 0)
                return error_wrap(err, "allowing port %s in the firewall", ws->host_veth);
        return 0;
}

int firewall_remove_workspace(Firewall *fw, const FirewallWorkspace *ws, Error *err)
{
        int r = check_workspace(fw, ws, err);
        if (r < 0)
                return r;
        r = fw->ops->remove(fw, ws, err);
        if (r < 0)
                return error_wrap(err, "removing port %s from the firewall", ws->host_veth);
        return 0;
}

int firewall_reconcile(Firewall *fw, const FirewallWorkspace *live, size_t n_live, Error *err)
{
        for (size_t i = 0; i < n_live; i++) {
                int r = check_workspace(fw, &live[i], err);
                if (r < 0)
                        return r;
        }
        int r = fw->ops->reconcile(fw, live, n_live, err);
        if (r < 0)
                return error_wrap(err, "reconciling the firewall of %s", fw->bridge);
        return 0;
}

int firewall_teardown(Firewall *fw, Error *err)
{
        int r = fw->ops->teardown(fw, err);
        if (r < 0)
                return error_wrap(err, "removing the firewall of %s", fw->bridge);
        return 0;
}
