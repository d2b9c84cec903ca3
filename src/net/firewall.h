/* Enclave's packet filter: one interface, two backends (SPEC §6).
 *
 * Everything an instance installs is named after its bridge, so two
 * daemons with different bridges and subnets never touch each other's
 * rules, and teardown removes exactly what setup added:
 *
 *   nftables  tables "inet <bridge>" (input, forward, NAT) and
 *             "bridge <bridge>" (per-port anti-spoofing), changed with one
 *             atomic libnftables batch per operation; a workspace is one
 *             set element, never new rules.
 *   iptables  chains <bridge>-IN, -FWD, -PORTS (filter) and -POST (nat),
 *             jumped to from INPUT, FORWARD and POSTROUTING, changed with
 *             `iptables-restore --noflush` batches in the flavour (nft or
 *             legacy) the host's `iptables` uses.
 *
 * What the rules do and why is in docs/networking.md. In short: NAT from
 * the subnet to the outside; nothing from a workspace reaches another
 * workspace or any address of the host (except established/related
 * traffic and ports Enclave itself serves on the bridge address);
 * cloud metadata services (169.254.0.0/16, 100.100.100.200: spec/metadata.h)
 * are dropped, except what the allow list names; a frame whose source
 * MAC/IP is not the port's lease is dropped. */
#pragma once

#include "base/error.h"
#include "spec/values.h"
#include "net/port.h"

typedef struct Firewall Firewall;

typedef struct FirewallConfig {
        FirewallBackend backend;       /* FIREWALL_AUTO picks nftables when the kernel has it */
        const char *bridge;
        const NetSubnet *subnet;
        /* TCP ports on the bridge address that workspaces may reach:
         * services Enclave itself runs for them. None by default. */
        const uint16_t *served_tcp_ports;
        size_t n_served_tcp_ports;
        /* Addresses or ranges inside the blocked metadata ranges that
         * workspaces may reach after all (config.toml metadata_allow;
         * parsed by net_metadata_allow_parse()). None by default. */
        const NetSubnet *metadata_allow;
        size_t n_metadata_allow;
} FirewallConfig;

/* One workspace's port: its host veth and leased address (the MAC is
 * derived from the address, see net_mac_from_addr()). */
typedef struct FirewallWorkspace {
        const char *host_veth;
        uint32_t addr;
} FirewallWorkspace;

/* Resolve the backend and check it can work here; changes nothing. */
int firewall_open(const FirewallConfig *c, Firewall **ret, Error *err);
Firewall *firewall_free(Firewall *fw);
DEFINE_CLEANUP_FUNC(Firewall, firewall_free);
#define _cleanup_firewall_ _cleanup_(firewall_freep)

/* The backend in use (never FIREWALL_AUTO) and, for iptables, the
 * flavour: "nft" or "legacy" (NULL for nftables). */
FirewallBackend firewall_backend(const Firewall *fw);
const char *firewall_iptables_flavour(const Firewall *fw);

/* Install or refresh this instance's rules (idempotent), enable the IPv4
 * forwarding NAT needs, and open Docker-style FORWARD DROP policies for
 * the bridge. *ret_notice (may be NULL) gets a sentence saying what was
 * changed on the host beyond Enclave's own rules, or NULL when nothing
 * was. The iptables backend forgets its workspaces here: call
 * firewall_reconcile() after it with the live set. */
int firewall_setup(Firewall *fw, char **ret_notice, Error *err);

/* Allow one workspace's port. Idempotent. Call before the veth exists or
 * right after; until then the port's frames are dropped. */
int firewall_add_workspace(Firewall *fw, const FirewallWorkspace *ws, Error *err);
/* Forget one workspace's port. Idempotent. */
int firewall_remove_workspace(Firewall *fw, const FirewallWorkspace *ws, Error *err);
/* Make the allowed ports exactly live[] in one atomic change: entries
 * of workspaces that no longer exist go away (daemon restart). */
int firewall_reconcile(Firewall *fw, const FirewallWorkspace *live, size_t n_live, Error *err);

/* Remove everything setup added: tables or chains and jumps, and the
 * FORWARD accept rules. Forwarding sysctls stay as they are (another
 * user of the host may rely on them). Idempotent. */
int firewall_teardown(Firewall *fw, Error *err);

/* IPv4 forwarding for NAT. When net.ipv4.ip_forward is already 1 this
 * only makes sure the bridge forwards. Otherwise it enables forwarding
 * per interface on the bridge and on the interfaces of the default
 * routes (packets are forwarded only when their input interface
 * forwards, so both directions need it) and leaves every other
 * interface alone. *ret_notice says what was enabled (NULL: nothing). */
int net_forwarding_enable(const char *bridge, char **ret_notice, Error *err);
