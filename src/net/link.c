#include "net/link.h"

#include "base/log.h"
#include "base/str.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#define WS_IFNAME "eth0"

/* ---- sysctls ---- */

/* IPv6 off on one link of nl's netns. */
static int link_disable_ipv6(NlSock *nl, const char *ifname)
{
        char name[IFNAMSIZ + 32];
        snprintf(name, sizeof name, "%s/disable_ipv6", ifname);
        return nl_ipv6_sysctl_write(nl, name, "1");
}

/* ---- small message builders ---- */

static void msg_link_up(NlBatch *b, int ifindex, const char *what)
{
        nl_msg_begin(b, RTM_NEWLINK, 0, what);
        struct ifinfomsg *ifi = nl_msg_put_header(b, sizeof *ifi);
        ifi->ifi_index = ifindex;
        ifi->ifi_flags = IFF_UP;
        ifi->ifi_change = IFF_UP;
}

static void msg_addr_add(NlBatch *b, int ifindex, uint32_t addr, const NetSubnet *s, const char *what)
{
        nl_msg_begin(b, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, what);
        struct ifaddrmsg *ifa = nl_msg_put_header(b, sizeof *ifa);
        ifa->ifa_family = AF_INET;
        ifa->ifa_prefixlen = s->prefix;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        ifa->ifa_index = (uint32_t) ifindex;
        nl_put_u32(b, IFA_LOCAL, htonl(addr));
        nl_put_u32(b, IFA_ADDRESS, htonl(addr));
        nl_put_u32(b, IFA_BROADCAST, htonl(net_subnet_broadcast(s)));
}

static void msg_link_del(NlBatch *b, const char *name, const char *what)
{
        nl_msg_begin(b, RTM_DELLINK, 0, what);
        (void) nl_msg_put_header(b, sizeof(struct ifinfomsg));
        nl_put_str(b, IFLA_IFNAME, name);
}

/* ---- lookups ---- */

typedef struct LinkInfo {
        int ifindex;
        char kind[32];
} LinkInfo;

static int parse_linkinfo_cb(const struct nlattr *a, void *data)
{
        LinkInfo *li = data;
        if (mnl_attr_get_type(a) == IFLA_INFO_KIND && mnl_attr_validate(a, MNL_TYPE_STRING) >= 0)
                snprintf(li->kind, sizeof li->kind, "%.*s", (int) mnl_attr_get_payload_len(a),
                         (const char *) mnl_attr_get_payload(a));
        return MNL_CB_OK;
}

static int link_get_cb(const struct nlmsghdr *nlh, void *userdata)
{
        LinkInfo *li = userdata;
        const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *a;

        if (nlh->nlmsg_type != RTM_NEWLINK)
                return 0;
        li->ifindex = ifi->ifi_index;
        mnl_attr_for_each(a, nlh, sizeof *ifi)
                if (mnl_attr_get_type(a) == IFLA_LINKINFO)
                        mnl_attr_parse_nested(a, parse_linkinfo_cb, li);
        return 0;
}

/* ifindex and kind of a link by name; -ENODEV when there is none. */
static int link_get(NlSock *nl, const char *name, LinkInfo *ret, Error *err)
{
        NlBatch b;
        char what[64];

        snprintf(what, sizeof what, "looking up link %s", name);
        *ret = (LinkInfo) {};
        nl_batch_init(&b);
        nl_msg_begin(&b, RTM_GETLINK, 0, what);
        (void) nl_msg_put_header(&b, sizeof(struct ifinfomsg));
        nl_put_str(&b, IFLA_IFNAME, name);
        return nl_batch_call(nl, &b, link_get_cb, ret, err);
}

/* ---- subnet overlap ---- */

typedef struct RouteCheck {
        const NetSubnet *subnet;
        int own_ifindex;
        char found[160];
} RouteCheck;

static int route_check_cb(const struct nlmsghdr *nlh, void *userdata)
{
        RouteCheck *c = userdata;
        const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *a;
        uint32_t dst = 0, table = rtm->rtm_table;
        int oif = 0;

        if (nlh->nlmsg_type != RTM_NEWROUTE || c->found[0] || rtm->rtm_family != AF_INET)
                return 0;
        mnl_attr_for_each(a, nlh, sizeof *rtm) {
                switch (mnl_attr_get_type(a)) {
                case RTA_DST:
                        if (mnl_attr_get_payload_len(a) == 4)
                                dst = ntohl(mnl_attr_get_u32(a));
                        break;
                case RTA_OIF:
                        oif = (int) mnl_attr_get_u32(a);
                        break;
                case RTA_TABLE:
                        table = mnl_attr_get_u32(a);
                        break;
                }
        }
        /* The local table holds the host's own addresses, mirrored by the
         * prefix routes in main; a default route overlaps everything. */
        if (table == RT_TABLE_LOCAL || rtm->rtm_dst_len == 0 || rtm->rtm_type == RTN_BROADCAST ||
            rtm->rtm_type == RTN_LOCAL || rtm->rtm_type == RTN_MULTICAST)
                return 0;
        if (oif && oif == c->own_ifindex)
                return 0;
        NetSubnet route = { .network = dst, .prefix = rtm->rtm_dst_len };
        if (!net_subnets_overlap(c->subnet, &route))
                return 0;
        char net[NET_SUBNET_STRLEN], dev[IF_NAMESIZE] = "";
        if (oif)
                (void) if_indextoname((unsigned) oif, dev);
        snprintf(c->found, sizeof c->found, "%s%s%s%s", net_subnet_format(&route, net), dev[0] ? " dev " : "",
                 dev, table == RT_TABLE_MAIN ? "" : " (another routing table)");
        return 0;
}

int link_check_subnet_free(NlSock *nl, const NetSubnet *subnet, const char *own_bridge, Error *err)
{
        RouteCheck c = { .subnet = subnet };
        NlBatch b;
        int r;

        if (own_bridge)
                c.own_ifindex = (int) if_nametoindex(own_bridge);
        nl_batch_init(&b);
        nl_msg_begin(&b, RTM_GETROUTE, 0, "listing the host's routes");
        struct rtmsg *rtm = nl_msg_put_header(&b, sizeof *rtm);
        rtm->rtm_family = AF_INET;
        r = nl_dump(nl, &b, route_check_cb, &c, err);
        if (r < 0)
                return r;
        if (c.found[0]) {
                char s[NET_SUBNET_STRLEN];
                return error_set(err, EADDRINUSE,
                                 "subnet %s overlaps the host route %s; choose a free range for \"subnet\" in "
                                 "config.toml",
                                 net_subnet_format(subnet, s), c.found);
        }
        return 0;
}

/* ---- bridge ---- */

static int bridge_create(NlSock *nl, const char *bridge, const NetSubnet *subnet, Error *err)
{
        uint8_t mac[6];
        char what[64];
        NlBatch b;

        /* A bridge without a MAC of its own takes the lowest of its
         * ports' and changes it as workspaces come and go, which leaves
         * every workspace's ARP entry for the gateway stale. */
        net_mac_from_addr(net_subnet_gateway(subnet), mac);
        snprintf(what, sizeof what, "creating bridge %s", bridge);
        nl_batch_init(&b);
        nl_msg_begin(&b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, what);
        (void) nl_msg_put_header(&b, sizeof(struct ifinfomsg));
        nl_put_str(&b, IFLA_IFNAME, bridge);
        nl_put(&b, IFLA_ADDRESS, mac, sizeof mac);
        struct nlattr *info = nl_nest_begin(&b, IFLA_LINKINFO);
        nl_put_str(&b, IFLA_INFO_KIND, "bridge");
        nl_nest_end(&b, info);
        return nl_batch_send(nl, &b, err);
}

int link_bridge_setup(NlSock *nl, const char *bridge, const NetSubnet *subnet, Error *err)
{
        _cleanup_error_ Error create_err = ERROR_INIT;
        LinkInfo li;
        char path[128], what_addr[96], what_up[64], gw[NET_ADDR_STRLEN];
        int r;

        if (!net_ifname_is_valid(bridge))
                return error_set(err, EINVAL, "invalid bridge name \"%s\": 1-15 characters, no '/', ':' or spaces",
                                 bridge);
        r = link_check_subnet_free(nl, subnet, bridge, err);
        if (r < 0)
                return r;
        r = bridge_create(nl, bridge, subnet, &create_err);
        if (r < 0 && r != -EEXIST) {
                error_move(err, &create_err);
                return r;
        }
        r = link_get(nl, bridge, &li, err);
        if (r < 0)
                return error_wrap(err, "setting up bridge %s", bridge);
        if (!streq(li.kind, "bridge"))
                return error_set(err, EEXIST, "a link named %s exists and is not a bridge (%s); choose another "
                                 "\"bridge\" name in config.toml", bridge, li.kind[0] ? li.kind : "no kind");

        /* Before the link comes up, so it never gets an IPv6 address. */
        r = link_disable_ipv6(nl, bridge);
        if (r < 0)
                return error_setc(err, -r, "disabling IPv6 on bridge %s", bridge);
        /* Workspaces must never reach the host's 127.0.0.0/8 services by
         * routing a loopback destination into the bridge. */
        snprintf(path, sizeof path, "/proc/sys/net/ipv4/conf/%s/route_localnet", bridge);
        r = net_sysctl_write(path, "0");
        if (r < 0)
                return error_setc(err, -r, "turning off route_localnet on bridge %s", bridge);

        NlBatch b;
        snprintf(what_addr, sizeof what_addr, "adding address %s/%u to bridge %s",
                 net_addr_format(net_subnet_gateway(subnet), gw), subnet->prefix, bridge);
        snprintf(what_up, sizeof what_up, "bringing up bridge %s", bridge);
        nl_batch_init(&b);
        msg_addr_add(&b, li.ifindex, net_subnet_gateway(subnet), subnet, what_addr);
        msg_link_up(&b, li.ifindex, what_up);
        return nl_batch_send(nl, &b, err);
}

int link_delete(NlSock *nl, const char *name, Error *err)
{
        _cleanup_error_ Error e = ERROR_INIT;
        char what[64];
        NlBatch b;

        snprintf(what, sizeof what, "deleting link %s", name);
        nl_batch_init(&b);
        msg_link_del(&b, name, what);
        int r = nl_batch_send(nl, &b, &e);
        if (r == -ENODEV || r == -ENOENT)
                return 0;
        if (r < 0)
                error_move(err, &e);
        return r;
}

/* ---- workspace ---- */

/* Inside the workspace netns, before eth0 exists: IPv6 off for every
 * future link (eth0 is born with the namespace's defaults), so eth0
 * never gets even a link-local address; on for lo, whatever the host's
 * defaults, so ::1 exists once lo is up (programs and test suites bind
 * it, and "localhost" resolves to it too). Not "all": writing that
 * sets every existing link, lo included. */
static int ws_prepare(int netns_fd, NlSock **ret_nl, Error *err)
{
        int orig, r;

        r = netns_enter(netns_fd, &orig);
        if (r < 0)
                return error_setc(err, -r, "entering the workspace network namespace");
        _cleanup_nl_ NlSock *nl = NULL;
        r = nl_open(&nl, err);
        netns_leave(orig);
        if (r < 0)
                return r;
        r = nl_ipv6_sysctl_write(nl, "default/disable_ipv6", "1");
        if (r >= 0)
                r = nl_ipv6_sysctl_write(nl, "lo/disable_ipv6", "0");
        if (r < 0)
                return error_setc(err, -r, "setting up IPv6 (loopback only) in the workspace network namespace");
        *ret_nl = TAKE_PTR(nl);
        return 0;
}

static int ws_create_veth(NlSock *nl, const LinkWorkspace *ws, int bridge_index, const uint8_t mac[6],
                          Error *err)
{
        char what[96];
        NlBatch b;

        snprintf(what, sizeof what, "creating veth pair %s/" WS_IFNAME " on bridge %s", ws->host_veth, ws->bridge);
        nl_batch_init(&b);
        nl_msg_begin(&b, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, what);
        (void) nl_msg_put_header(&b, sizeof(struct ifinfomsg));
        nl_put_str(&b, IFLA_IFNAME, ws->host_veth);
        nl_put_u32(&b, IFLA_MASTER, (uint32_t) bridge_index);
        nl_put_u32(&b, IFLA_GROUP, net_port_group(ws->bridge));
        struct nlattr *info = nl_nest_begin(&b, IFLA_LINKINFO);
        nl_put_str(&b, IFLA_INFO_KIND, "veth");
        struct nlattr *data = nl_nest_begin(&b, IFLA_INFO_DATA);
        struct nlattr *peer = nl_nest_begin(&b, VETH_INFO_PEER);
        (void) nl_msg_put_header(&b, sizeof(struct ifinfomsg));
        nl_put_str(&b, IFLA_IFNAME, WS_IFNAME);
        nl_put_u32(&b, IFLA_NET_NS_FD, (uint32_t) ws->netns_fd);
        nl_put(&b, IFLA_ADDRESS, mac, 6);
        nl_nest_end(&b, peer);
        nl_nest_end(&b, data);
        nl_nest_end(&b, info);
        return nl_batch_send(nl, &b, err);
}

/* Host side of the port: isolation and pinned MAC, neighbour entry, up. */
static int ws_config_port(NlSock *nl, const LinkWorkspace *ws, int bridge_index, int port_index,
                          const uint8_t mac[6], Error *err)
{
        char w_port[64], w_fdb[64], w_neigh[64], w_up[64];
        NlBatch b;

        snprintf(w_port, sizeof w_port, "isolating bridge port %s", ws->host_veth);
        snprintf(w_fdb, sizeof w_fdb, "pinning the MAC address of port %s", ws->host_veth);
        snprintf(w_neigh, sizeof w_neigh, "adding the neighbour entry on %s", ws->bridge);
        snprintf(w_up, sizeof w_up, "bringing up %s", ws->host_veth);
        nl_batch_init(&b);

        nl_msg_begin(&b, RTM_SETLINK, 0, w_port);
        struct ifinfomsg *ifi = nl_msg_put_header(&b, sizeof *ifi);
        ifi->ifi_family = AF_BRIDGE;
        ifi->ifi_index = port_index;
        struct nlattr *prot = nl_nest_begin(&b, IFLA_PROTINFO);
        nl_put_u8(&b, IFLA_BRPORT_ISOLATED, 1);
        nl_put_u8(&b, IFLA_BRPORT_LEARNING, 0);
        nl_put_u8(&b, IFLA_BRPORT_UNICAST_FLOOD, 0);
        nl_nest_end(&b, prot);

        /* NUD_NOARP is a static forwarding entry; NUD_PERMANENT would
         * mean "local" (frames to the bridge itself). */
        nl_msg_begin(&b, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, w_fdb);
        struct ndmsg *nd = nl_msg_put_header(&b, sizeof *nd);
        nd->ndm_family = AF_BRIDGE;
        nd->ndm_ifindex = port_index;
        nd->ndm_state = NUD_NOARP;
        nd->ndm_flags = NTF_MASTER;
        nl_put(&b, NDA_LLADDR, mac, 6);

        nl_msg_begin(&b, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, w_neigh);
        nd = nl_msg_put_header(&b, sizeof *nd);
        nd->ndm_family = AF_INET;
        nd->ndm_ifindex = bridge_index;
        nd->ndm_state = NUD_PERMANENT;
        nl_put_u32(&b, NDA_DST, htonl(ws->addr));
        nl_put(&b, NDA_LLADDR, mac, 6);

        msg_link_up(&b, port_index, w_up);
        return nl_batch_send(nl, &b, err);
}

/* Inside the workspace: lo up, eth0 address and up, default route. */
static int ws_config_inside(NlSock *wsnl, const LinkWorkspace *ws, Error *err)
{
        char w_addr[64], gw[NET_ADDR_STRLEN], a[NET_ADDR_STRLEN], w_route[64];
        LinkInfo eth0;
        NlBatch b;
        int r;

        r = link_get(wsnl, WS_IFNAME, &eth0, err);
        if (r < 0)
                return r;
        snprintf(w_addr, sizeof w_addr, "adding address %s/%u to " WS_IFNAME, net_addr_format(ws->addr, a),
                 ws->subnet->prefix);
        snprintf(w_route, sizeof w_route, "adding the default route via %s",
                 net_addr_format(net_subnet_gateway(ws->subnet), gw));
        nl_batch_init(&b);

        nl_msg_begin(&b, RTM_NEWLINK, 0, "bringing up lo");
        struct ifinfomsg *ifi = nl_msg_put_header(&b, sizeof *ifi);
        ifi->ifi_flags = IFF_UP;
        ifi->ifi_change = IFF_UP;
        nl_put_str(&b, IFLA_IFNAME, "lo");

        msg_addr_add(&b, eth0.ifindex, ws->addr, ws->subnet, w_addr);
        msg_link_up(&b, eth0.ifindex, "bringing up " WS_IFNAME);

        nl_msg_begin(&b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, w_route);
        struct rtmsg *rtm = nl_msg_put_header(&b, sizeof *rtm);
        rtm->rtm_family = AF_INET;
        rtm->rtm_table = RT_TABLE_MAIN;
        rtm->rtm_protocol = RTPROT_STATIC;
        rtm->rtm_scope = RT_SCOPE_UNIVERSE;
        rtm->rtm_type = RTN_UNICAST;
        nl_put_u32(&b, RTA_GATEWAY, htonl(net_subnet_gateway(ws->subnet)));
        nl_put_u32(&b, RTA_OIF, (uint32_t) eth0.ifindex);
        return nl_batch_send(wsnl, &b, err);
}

int link_workspace_attach(NlSock *nl, const LinkWorkspace *ws, Error *err)
{
        _cleanup_nl_ NlSock *wsnl = NULL;
        uint8_t mac[6];
        int r;

        if (!net_ifname_is_valid(ws->host_veth))
                return error_set(err, EINVAL, "invalid veth name \"%s\"", ws->host_veth);
        if (!net_subnet_is_leasable(ws->subnet, ws->addr)) {
                char a[NET_ADDR_STRLEN];
                return error_set(err, ERANGE, "address %s cannot be leased from the subnet",
                                 net_addr_format(ws->addr, a));
        }
        int bridge_index = (int) if_nametoindex(ws->bridge);
        if (bridge_index <= 0)
                return error_setc(err, errno, "looking up bridge %s", ws->bridge);
        net_mac_from_addr(ws->addr, mac);

        r = ws_prepare(ws->netns_fd, &wsnl, err);
        if (r < 0)
                return r;
        r = ws_create_veth(nl, ws, bridge_index, mac, err);
        if (r < 0)
                return r;

        /* From here on the veth exists and is removed again on failure. */
        int port_index = (int) if_nametoindex(ws->host_veth);
        if (port_index <= 0)
                r = error_setc(err, errno, "looking up %s", ws->host_veth);
        if (r >= 0) {
                r = link_disable_ipv6(nl, ws->host_veth);
                if (r < 0)
                        error_setc(err, -r, "disabling IPv6 on %s", ws->host_veth);
        }
        if (r >= 0)
                r = ws_config_port(nl, ws, bridge_index, port_index, mac, err);
        if (r >= 0)
                r = ws_config_inside(wsnl, ws, err);
        if (r < 0) {
                (void) link_delete(nl, ws->host_veth, NULL);
                return error_wrap(err, "connecting workspace to bridge %s", ws->bridge);
        }
        return 0;
}

/* The workspace's permanent neighbour entry on the bridge. */
static int neigh_delete(NlSock *nl, const LinkWorkspace *ws, Error *err)
{
        _cleanup_error_ Error e = ERROR_INIT;
        char what[64];
        NlBatch b;
        int r;

        int bridge_index = (int) if_nametoindex(ws->bridge);
        if (bridge_index <= 0)
                return 0; /* the bridge and its neighbour table are gone */
        snprintf(what, sizeof what, "removing the neighbour entry on %s", ws->bridge);
        nl_batch_init(&b);
        nl_msg_begin(&b, RTM_DELNEIGH, 0, what);
        struct ndmsg *nd = nl_msg_put_header(&b, sizeof *nd);
        nd->ndm_family = AF_INET;
        nd->ndm_ifindex = bridge_index;
        nl_put_u32(&b, NDA_DST, htonl(ws->addr));
        r = nl_batch_send(nl, &b, &e);
        if (r == -ENOENT || r == -ENODEV)
                return 0;
        if (r < 0)
                error_move(err, &e);
        return r;
}

int link_workspace_detach(NlSock *nl, const LinkWorkspace *ws, Error *err)
{
        int r = link_delete(nl, ws->host_veth, err);
        if (r < 0)
                return r;
        return neigh_delete(nl, ws, err);
}

int link_workspace_retire(NlSock *nl, const LinkWorkspace *ws, char retired[static IFNAMSIZ], Error *err)
{
        _cleanup_error_ Error e = ERROR_INIT;
        char what_down[64], what_name[64];
        NlBatch b;
        int r;

        retired[0] = '\0';
        int ifindex = (int) if_nametoindex(ws->host_veth);
        if (ifindex > 0) {
                /* Unique while this link exists: it holds the index. */
                snprintf(retired, IFNAMSIZ, LINK_RETIRED_PREFIX "%d", ifindex);
                snprintf(what_down, sizeof what_down, "taking %s off the bridge", ws->host_veth);
                snprintf(what_name, sizeof what_name, "renaming %s to %s", ws->host_veth, retired);
                nl_batch_init(&b);
                nl_msg_begin(&b, RTM_NEWLINK, 0, what_down);
                struct ifinfomsg *ifi = nl_msg_put_header(&b, sizeof *ifi);
                ifi->ifi_index = ifindex;
                ifi->ifi_change = IFF_UP;
                nl_put_u32(&b, IFLA_MASTER, 0);
                /* A link must be down to be renamed. */
                nl_msg_begin(&b, RTM_NEWLINK, 0, what_name);
                ifi = nl_msg_put_header(&b, sizeof *ifi);
                ifi->ifi_index = ifindex;
                nl_put_str(&b, IFLA_IFNAME, retired);
                r = nl_batch_send(nl, &b, &e);
                if (r == -ENODEV || r == -ENOENT)
                        retired[0] = '\0'; /* the kernel removed it meanwhile */
                else if (r < 0) {
                        retired[0] = '\0';
                        error_move(err, &e);
                        return r;
                }
        }
        r = neigh_delete(nl, ws, err);
        if (r < 0)
                return r;
        return retired[0] ? 1 : 0;
}

/* ---- deleting links in the background ---- */

struct LinkReaper {
        pthread_mutex_t lock;
        pthread_cond_t changed;
        pthread_t thread;
        bool started;
        bool quit;
        bool busy;              /* a deletion is in flight */
        char (*names)[IFNAMSIZ];
        size_t n, allocated;
        NlSock *nl;             /* the thread's own socket */
};

static void *reaper_main(void *userdata)
{
        LinkReaper *rp = userdata;
        pthread_mutex_lock(&rp->lock);
        for (;;) {
                while (rp->n == 0 && !rp->quit)
                        pthread_cond_wait(&rp->changed, &rp->lock);
                if (rp->n == 0)
                        break;
                char name[IFNAMSIZ];
                memcpy(name, rp->names[0], IFNAMSIZ);
                memmove(rp->names, rp->names + 1, (rp->n - 1) * IFNAMSIZ);
                rp->n--;
                rp->busy = true;
                pthread_mutex_unlock(&rp->lock);
                _cleanup_error_ Error e = ERROR_INIT;
                if (link_delete(rp->nl, name, &e) < 0)
                        log_warn("%s", error_msg(&e));
                pthread_mutex_lock(&rp->lock);
                rp->busy = false;
                pthread_cond_broadcast(&rp->changed);
        }
        pthread_mutex_unlock(&rp->lock);
        return NULL;
}

int link_reaper_new(LinkReaper **ret, Error *err)
{
        LinkReaper *rp = calloc(1, sizeof *rp);
        if (!rp)
                return error_set(err, ENOMEM, "out of memory");
        pthread_mutex_init(&rp->lock, NULL);
        pthread_cond_init(&rp->changed, NULL);
        int r = nl_open(&rp->nl, err);
        if (r < 0) {
                link_reaper_free(rp);
                return r;
        }
        /* Signals stay with the threads that take them (a daemon reads
         * its signals from a signalfd). */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        r = pthread_create(&rp->thread, NULL, reaper_main, rp);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r != 0) {
                link_reaper_free(rp);
                return error_setc(err, r, "starting the link removal thread");
        }
        rp->started = true;
        *ret = rp;
        return 0;
}

int link_reaper_add(LinkReaper *rp, const char *name)
{
        pthread_mutex_lock(&rp->lock);
        if (rp->n == rp->allocated) {
                size_t a = rp->allocated ? rp->allocated * 2 : 8;
                char (*p)[IFNAMSIZ] = realloc(rp->names, a * IFNAMSIZ);
                if (!p) {
                        pthread_mutex_unlock(&rp->lock);
                        return -ENOMEM;
                }
                rp->names = p;
                rp->allocated = a;
        }
        snprintf(rp->names[rp->n++], IFNAMSIZ, "%s", name);
        pthread_cond_broadcast(&rp->changed);
        pthread_mutex_unlock(&rp->lock);
        return 0;
}

void link_reaper_flush(LinkReaper *rp)
{
        if (!rp)
                return;
        pthread_mutex_lock(&rp->lock);
        while (rp->n > 0 || rp->busy)
                pthread_cond_wait(&rp->changed, &rp->lock);
        pthread_mutex_unlock(&rp->lock);
}

LinkReaper *link_reaper_free(LinkReaper *rp)
{
        if (!rp)
                return NULL;
        if (rp->started) {
                pthread_mutex_lock(&rp->lock);
                rp->quit = true;
                pthread_cond_broadcast(&rp->changed);
                pthread_mutex_unlock(&rp->lock);
                pthread_join(rp->thread, NULL); /* after the queue is empty */
        }
        nl_free(rp->nl);
        free(rp->names);
        pthread_cond_destroy(&rp->changed);
        pthread_mutex_destroy(&rp->lock);
        free(rp);
        return NULL;
}

typedef struct PortList {
        int bridge_index;
        char **names;
        int r;
} PortList;

static int port_list_cb(const struct nlmsghdr *nlh, void *userdata)
{
        PortList *pl = userdata;
        const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *a;
        const char *name = NULL;
        int master = 0;

        if (nlh->nlmsg_type != RTM_NEWLINK)
                return 0;
        mnl_attr_for_each(a, nlh, sizeof *ifi) {
                if (mnl_attr_get_type(a) == IFLA_IFNAME && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
                        name = mnl_attr_get_str(a);
                else if (mnl_attr_get_type(a) == IFLA_MASTER && mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
                        master = (int) mnl_attr_get_u32(a);
        }
        if (name && master == pl->bridge_index)
                return strv_push(&pl->names, name);
        return 0;
}

int link_bridge_ports(NlSock *nl, const char *bridge, char ***ret, Error *err)
{
        PortList pl = {};
        NlBatch b;
        int r;

        pl.bridge_index = (int) if_nametoindex(bridge);
        if (pl.bridge_index > 0) {
                nl_batch_init(&b);
                nl_msg_begin(&b, RTM_GETLINK, 0, "listing bridge ports");
                (void) nl_msg_put_header(&b, sizeof(struct ifinfomsg));
                /* Strict checking lets the kernel filter by master. */
                nl_put_u32(&b, IFLA_MASTER, (uint32_t) pl.bridge_index);
                r = nl_dump(nl, &b, port_list_cb, &pl, err);
                if (r < 0) {
                        strv_free(pl.names);
                        return r;
                }
        }
        if (!pl.names) {
                pl.names = calloc(1, sizeof(char *));
                if (!pl.names)
                        return error_setc(err, ENOMEM, "listing bridge ports");
        }
        *ret = pl.names;
        return 0;
}
