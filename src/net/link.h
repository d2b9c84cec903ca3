/* Enclave's links: the bridge and one veth pair per workspace, made with
 * rtnetlink (no `ip` subprocesses).
 *
 *   host netns                         workspace netns
 *   enclave0 (bridge, 10.200.0.1/16)
 *     └─ ve<hash> (isolated port) ──── eth0 10.200.0.N/16, default via .1
 *
 * Every workspace port is isolated (IFLA_BRPORT_ISOLATED: no frame is
 * bridged between two isolated ports), does not learn MAC addresses and
 * does not get unknown unicast flooded to it, and carries the
 * instance's interface group (net_port_group) for the firewall; the workspace's MAC is
 * derived from its address (net_mac_from_addr) and pinned by a static fdb
 * entry on its port and a permanent neighbour entry on the bridge, so a
 * workspace cannot take over another one's address at layer 2. IPv6 is
 * disabled on the bridge and on both veth ends before they come up, so
 * they never get an IPv6 address, not even link-local. */
#pragma once

#include "base/error.h"
#include "net/port.h"
#include "net/netlink.h"

/* Refuse a subnet that overlaps a route the host already has (another
 * network, a VPN, another Enclave instance's bridge). Routes through
 * own_bridge (may be NULL) and default routes do not count. The error
 * names the route: "subnet 10.200.0.0/16 overlaps the host route
 * 10.200.5.0/24 dev eth1". */
int link_check_subnet_free(NlSock *nl, const NetSubnet *subnet, const char *own_bridge, Error *err);

/* Create (or adopt an existing) bridge: fixed MAC, IPv6 off,
 * route_localnet off, the subnet's first address, up. Checks the subnet
 * first. Idempotent. */
int link_bridge_setup(NlSock *nl, const char *bridge, const NetSubnet *subnet, Error *err);

/* Delete a link by name; a missing link is not an error. */
int link_delete(NlSock *nl, const char *name, Error *err);

typedef struct LinkWorkspace {
        const char *bridge;
        const char *host_veth;  /* net_veth_name() */
        int netns_fd;           /* the workspace's network namespace */
        const NetSubnet *subnet;
        uint32_t addr;          /* leased address, host order */
} LinkWorkspace;

/* Wire a workspace: veth pair with the peer created directly inside the
 * workspace netns as eth0, host end on the bridge (isolated, static fdb),
 * neighbour entry on the bridge, and inside the namespace lo up, eth0
 * address and up, default route via the bridge address. On failure the
 * veth is removed again. */
int link_workspace_attach(NlSock *nl, const LinkWorkspace *ws, Error *err);

/* Undo link_workspace_attach() from the host side (netns_fd unused):
 * delete the veth pair and the neighbour entry. Missing pieces are fine,
 * so this also cleans up after a workspace whose namespace is gone. */
int link_workspace_detach(NlSock *nl, const LinkWorkspace *ws, Error *err);

/* Take a stopped workspace's host veth out of service at once: down,
 * off the bridge, renamed to LINK_RETIRED_PREFIX<ifindex> (so the next
 * start of the workspace can use its name), and its neighbour entry
 * removed. Returns 1 with the new name in retired, to be deleted later
 * (link_reaper_add()); 0 when the veth is already gone. Why not delete
 * it right away: every link deletion waits for an RCU barrier in the
 * kernel, 15-30 ms on a small VM, most of a workspace stop. */
#define LINK_RETIRED_PREFIX "vrm"
int link_workspace_retire(NlSock *nl, const LinkWorkspace *ws, char retired[static IFNAMSIZ], Error *err);

/* A thread that deletes links by name in the background, in order;
 * failures are logged. link_reaper_flush() waits until every link added
 * so far is deleted; link_reaper_free() flushes, then stops the thread. */
typedef struct LinkReaper LinkReaper;
int link_reaper_new(LinkReaper **ret, Error *err);
int link_reaper_add(LinkReaper *rp, const char *name);
void link_reaper_flush(LinkReaper *rp);
LinkReaper *link_reaper_free(LinkReaper *rp);

/* Names of the links attached to bridge (for reconciliation); *ret is a
 * NULL-terminated strv, empty when the bridge has no ports or is gone. */
int link_bridge_ports(NlSock *nl, const char *bridge, char ***ret, Error *err);
