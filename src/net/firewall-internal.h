/* Shared between firewall.c and its backends; not for other modules. */
#pragma once

#include "net/firewall.h"
#include "net/iptables.h"

typedef struct FirewallOps {
        int (*open)(Firewall *fw, Error *err);
        void (*close)(Firewall *fw);
        int (*setup)(Firewall *fw, Error *err);
        int (*add)(Firewall *fw, const FirewallWorkspace *ws, Error *err);
        int (*remove)(Firewall *fw, const FirewallWorkspace *ws, Error *err);
        int (*reconcile)(Firewall *fw, const FirewallWorkspace *live, size_t n, Error *err);
        int (*teardown)(Firewall *fw, Error *err);
} FirewallOps;

/* A workspace entry the iptables backend remembers (it cannot ask the
 * kernel for set members the way nftables can). */
typedef struct FirewallEntry {
        char host_veth[16];
        uint32_t addr;
} FirewallEntry;

struct Firewall {
        FirewallBackend backend;
        const FirewallOps *ops;
        char *bridge;
        NetSubnet subnet;
        uint16_t *served_tcp_ports;
        size_t n_served_tcp_ports;
        NetSubnet *metadata_allow;
        size_t n_metadata_allow;

        struct nft_ctx *nft;       /* nftables backend */
        IptFlavour flavour;        /* iptables backend */
        FirewallEntry *entries;    /* iptables backend */
        size_t n_entries;
        char **notices;            /* what setup changed on the host */
};

extern const FirewallOps firewall_nft_ops;
extern const FirewallOps firewall_ipt_ops;

/* True when nf_tables works in this kernel (auto picks nftables then). */
bool firewall_nft_supported(void);

/* Append a notice for firewall_setup()'s caller. */
int firewall_notice(Firewall *fw, const char *fmt, ...) _printf_(2, 3);

/* The "iptables FORWARD policy is DROP" (Docker) handling: in every
 * iptables flavour whose filter FORWARD chain drops by default (and
 * always in the flavour `always`, which the iptables backend manages),
 * make sure two rules at the end of FORWARD accept the bridge's traffic;
 * and remove them again from every flavour. Both are idempotent. */
int firewall_compat_forward_open(Firewall *fw, IptFlavour always, Error *err);
int firewall_compat_forward_close(Firewall *fw, Error *err);
