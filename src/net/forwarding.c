/* IPv4 forwarding for the workspaces' NAT (SPEC §9: enable it and say
 * so, never fail with a hidden cause).
 *
 * Linux forwards a packet only when its *input* interface has
 * forwarding on: the bridge for workspace → outside, the uplink for the
 * replies. With net.ipv4.ip_forward=0 we therefore turn forwarding on
 * for the bridge and for the interfaces the default routes use, and for
 * nothing else, so the host does not become a router for networks it
 * did not route before. */
#include "net/firewall.h"

#include "base/str.h"
#include "net/netlink.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

typedef struct Uplinks {
        int ifindex[8];
        size_t n;
} Uplinks;

static int default_route_cb(const struct nlmsghdr *nlh, void *userdata)
{
        Uplinks *u = userdata;
        const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *a;

        if (nlh->nlmsg_type != RTM_NEWROUTE || rtm->rtm_family != AF_INET || rtm->rtm_dst_len != 0 ||
            rtm->rtm_type != RTN_UNICAST)
                return 0;
        mnl_attr_for_each(a, nlh, sizeof *rtm) {
                if (mnl_attr_get_type(a) == RTA_OIF && u->n < ELEMENTSOF(u->ifindex))
                        u->ifindex[u->n++] = (int) mnl_attr_get_u32(a);
                else if (mnl_attr_get_type(a) == RTA_MULTIPATH) {
                        const struct rtnexthop *nh = mnl_attr_get_payload(a);
                        int len = (int) mnl_attr_get_payload_len(a);
                        while (len >= (int) sizeof *nh && nh->rtnh_len >= sizeof *nh && nh->rtnh_len <= len &&
                               u->n < ELEMENTSOF(u->ifindex)) {
                                u->ifindex[u->n++] = nh->rtnh_ifindex;
                                len -= RTNH_ALIGN(nh->rtnh_len);
                                nh = RTNH_NEXT(nh);
                        }
                }
        }
        return 0;
}

static int default_route_uplinks(Uplinks *ret, Error *err)
{
        _cleanup_nl_ NlSock *nl = NULL;
        NlBatch b;
        int r;

        *ret = (Uplinks) {};
        r = nl_open(&nl, err);
        if (r < 0)
                return r;
        nl_batch_init(&b);
        nl_msg_begin(&b, RTM_GETROUTE, 0, "listing default routes");
        struct rtmsg *rtm = nl_msg_put_header(&b, sizeof *rtm);
        rtm->rtm_family = AF_INET;
        return nl_dump(nl, &b, default_route_cb, ret, err);
}

/* Turn on conf/<ifname>/forwarding; *ret_changed when it was off. */
static int forwarding_on(const char *ifname, bool *ret_changed, Error *err)
{
        char path[128];
        int v = 0, r;

        snprintf(path, sizeof path, "/proc/sys/net/ipv4/conf/%s/forwarding", ifname);
        r = net_sysctl_read_int(path, &v);
        if (r >= 0 && v == 1) {
                *ret_changed = false;
                return 0;
        }
        r = net_sysctl_write(path, "1");
        if (r < 0)
                return error_setc(err, -r, "enabling IPv4 forwarding on %s (%s)", ifname, path);
        *ret_changed = true;
        return 0;
}

int net_forwarding_enable(const char *bridge, char **ret_notice, Error *err)
{
        _cleanup_strv_free_ char **changed = NULL;
        bool ch, no_uplink = false;
        int global = 0, r;

        *ret_notice = NULL;
        r = net_sysctl_read_int("/proc/sys/net/ipv4/ip_forward", &global);
        if (r < 0)
                return error_setc(err, -r, "reading /proc/sys/net/ipv4/ip_forward");

        r = forwarding_on(bridge, &ch, err);
        if (r < 0)
                return r;
        if (ch && strv_push(&changed, bridge) < 0)
                return error_setc(err, ENOMEM, "enabling IPv4 forwarding");
        if (global == 0) {
                Uplinks up;
                r = default_route_uplinks(&up, err);
                if (r < 0)
                        return error_wrap(err, "enabling IPv4 forwarding");
                for (size_t i = 0; i < up.n; i++) {
                        char name[IF_NAMESIZE];
                        if (!if_indextoname((unsigned) up.ifindex[i], name) || streq(name, bridge))
                                continue;
                        r = forwarding_on(name, &ch, err);
                        if (r < 0)
                                return r;
                        if (ch && !strv_contains(changed, name) && strv_push(&changed, name) < 0)
                                return error_setc(err, ENOMEM, "enabling IPv4 forwarding");
                }
                no_uplink = up.n == 0;
        }
        if (!changed)
                return 0;

        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        strbuf_puts(&b, "enabled IPv4 forwarding for workspace NAT on ");
        STRV_FOREACH(n, changed)
                strbuf_printf(&b, "%s%s", n == changed ? "" : ", ", *n);
        if (global == 0)
                strbuf_puts(&b, " only (net.ipv4.ip_forward stays 0)");
        if (no_uplink)
                strbuf_puts(&b, "; the host has no default route, so workspaces reach nothing outside until it has one");
        *ret_notice = strbuf_steal(&b);
        return *ret_notice ? 0 : error_setc(err, ENOMEM, "enabling IPv4 forwarding");
}
