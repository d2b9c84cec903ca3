/* Root integration test of src/net: bridge, veths, both firewall
 * backends and their isolation guarantees, against the real kernel.
 *
 * Topology of one scenario (all inside a private host namespace):
 *
 *   ws1 10.240.N.2 ─┐                                   outside ns
 *   ws2 10.240.N.3 ─┤ enct<tag>a 10.240.N.1/24          10.240.9.2/24
 *                   │                      host ── enct<tag>o ── (listener :8080)
 *   ws3 10.240.M.2 ── enct<tag>b 10.240.M.1/24   10.240.9.1/24, default via .2
 *   enct<tag>m (veth) 169.254.169.254/32 with a listener on :80
 *   outside ns: 169.254.170.2, 169.254.169.253, 100.100.100.200 (metadata
 *   services reached through NAT), listeners on :80; instance B allows
 *   169.254.170.2 (metadata_allow), instance A allows nothing
 *
 * The outside namespace has no route back to the workspace subnets, so a
 * workspace reaching its listener proves NAT (and the listener sees the
 * host's address as the peer). */
#include "base/str.h"
#include "net/firewall.h"
#include "net/link.h"
#include "spec/metadata.h"
#include "net/resolv.h"
#include "test.h"
#include "itest-net-util.h"

#include <linux/rtnetlink.h>
#include <net/if.h>

static bool is_root;

typedef struct World {
        const char *tag;
        char br_a[IFNAMSIZ], br_b[IFNAMSIZ], uplink[IFNAMSIZ], meta[IFNAMSIZ];
        NetSubnet sub_a, sub_b;
        char gw_a[16];
        int outside, ws1, ws2, ws3;
        char veth1[IFNAMSIZ], veth2[IFNAMSIZ], veth3[IFNAMSIZ];
        int l_outside, l_meta, l_gw, l_uplink, l_ws2, l_ws1, l_local;
        int l_md[3];
        Firewall *fw_a, *fw_b;
        NlSock *nl;
} World;

static void world_close_fds(World *w)
{
        int *fds[] = { &w->outside, &w->ws1, &w->ws2, &w->ws3, &w->l_outside, &w->l_meta, &w->l_gw,
                       &w->l_uplink, &w->l_ws2, &w->l_ws1, &w->l_local, &w->l_md[0], &w->l_md[1], &w->l_md[2] };
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                *fds[i] = safe_close(*fds[i]);
}

/* Everything a scenario may have left, in reverse; safe to call twice. */
static void world_cleanup(World *w)
{
        if (w->fw_a)
                (void) firewall_teardown(w->fw_a, NULL);
        if (w->fw_b)
                (void) firewall_teardown(w->fw_b, NULL);
        w->fw_a = firewall_free(w->fw_a);
        w->fw_b = firewall_free(w->fw_b);
        if (w->nl) {
                const char *links[] = { w->veth1, w->veth2, w->veth3, w->br_a, w->br_b, w->uplink, w->meta };
                for (size_t i = 0; i < ELEMENTSOF(links); i++)
                        if (links[i][0])
                                (void) link_delete(w->nl, links[i], NULL);
        }
        w->nl = nl_free(w->nl);
        world_close_fds(w);
}

static void attach(World *w, Firewall *fw, const char *bridge, const NetSubnet *s, int ns, const char *id,
                   uint32_t addr, char veth[IFNAMSIZ])
{
        _cleanup_error_ Error err = ERROR_INIT;
        if (net_veth_name(bridge, id, veth) < 0)
                TEST_FAIL("veth name");
        FirewallWorkspace fws = { .host_veth = veth, .addr = addr };
        if (firewall_add_workspace(fw, &fws, &err) < 0)
                TEST_FAIL("firewall_add_workspace: %s", error_msg(&err));
        LinkWorkspace lw = { .bridge = bridge, .host_veth = veth, .netns_fd = ns, .subnet = s, .addr = addr };
        double t0 = t_now_ms();
        if (link_workspace_attach(w->nl, &lw, &err) < 0)
                TEST_FAIL("link_workspace_attach: %s", error_msg(&err));
        printf("# attach %s (%s): %.2f ms\n", id, veth, t_now_ms() - t0);
}

static void build_world(World *w, FirewallBackend backend, int n)
{
        _cleanup_error_ Error err = ERROR_INIT;
        char buf[64];

        w->tag = t_tag();
        snprintf(w->br_a, IFNAMSIZ, "enct%sa", w->tag);
        snprintf(w->br_b, IFNAMSIZ, "enct%sb", w->tag);
        snprintf(w->uplink, IFNAMSIZ, "enct%so", w->tag);
        snprintf(w->meta, IFNAMSIZ, "enct%sm", w->tag);
        snprintf(buf, sizeof buf, "10.240.%d.0/24", n);
        ASSERT_OK(net_subnet_parse(buf, &w->sub_a, NULL));
        snprintf(buf, sizeof buf, "10.240.%d.0/24", n + 1);
        ASSERT_OK(net_subnet_parse(buf, &w->sub_b, NULL));
        net_addr_format(net_subnet_gateway(&w->sub_a), w->gw_a);

        ASSERT_OK(t_private_host());
        ASSERT_OK(nl_open(&w->nl, &err));

        /* The outside world, and the host's default route into it. */
        w->outside = t_netns_new();
        w->ws1 = t_netns_new();
        w->ws2 = t_netns_new();
        w->ws3 = t_netns_new();
        ASSERT_EQ(t_sh(T_HOST, "ip link add %s type veth peer name up0 netns /proc/self/fd/%d", w->uplink, w->outside),
                  0);
        ASSERT_EQ(t_sh(T_HOST, "ip addr add 10.240.9.1/24 dev %s && ip link set %s up && "
                               "ip route add default via 10.240.9.2",
                       w->uplink, w->uplink),
                  0);
        ASSERT_EQ(t_sh(w->outside, "ip link set lo up && ip addr add 10.240.9.2/24 dev up0 && ip link set up0 up"), 0);
        /* This kernel has no dummy driver: a veth pair serves. */
        ASSERT_EQ(t_sh(T_HOST, "ip link add %s type veth peer name %sp && ip addr add 169.254.169.254/32 dev %s && "
                               "ip link set %s up",
                       w->meta, w->meta, w->meta, w->meta),
                  0);
        /* Docker's FORWARD DROP policy, in both iptables flavours. */
        ASSERT_EQ(t_sh(T_HOST, "iptables-nft -P FORWARD DROP && iptables-legacy -P FORWARD DROP"), 0);

        /* Listeners a workspace must or must not reach. */
        w->l_outside = t_listen(w->outside, "10.240.9.2", 8080);
        w->l_meta = t_listen(T_HOST, "169.254.169.254", 80);
        w->l_gw = t_listen(T_HOST, w->gw_a, 8081);
        w->l_uplink = t_listen(T_HOST, "10.240.9.1", 8082);
        ASSERT_TRUE(w->l_outside >= 0 && w->l_meta >= 0 && w->l_uplink >= 0);

        /* Instance A and B: bridges, then firewalls. */
        ASSERT_OK(link_bridge_setup(w->nl, w->br_a, &w->sub_a, &err));
        ASSERT_OK(link_bridge_setup(w->nl, w->br_b, &w->sub_b, &err));
        w->l_gw = safe_close(w->l_gw);
        w->l_gw = t_listen(T_HOST, w->gw_a, 8081); /* the bridge address exists now */
        ASSERT_TRUE(w->l_gw >= 0);
        w->l_local = t_listen(T_HOST, "127.0.0.1", 8083);

        /* Metadata services beyond the uplink (forwarded through NAT,
         * unlike the host-local 169.254.169.254 above). */
        static const char *const md[] = { "169.254.170.2", "169.254.169.253", "100.100.100.200" };
        for (size_t i = 0; i < ELEMENTSOF(md); i++) {
                ASSERT_EQ(t_sh(w->outside, "ip addr add %s/32 dev up0", md[i]), 0);
                w->l_md[i] = t_listen(w->outside, md[i], 80);
                ASSERT_TRUE(w->l_md[i] >= 0);
        }
        NetSubnet allow;
        ASSERT_OK(net_metadata_allow_parse("169.254.170.2", &allow, NULL));
        FirewallConfig ca = { .backend = backend, .bridge = w->br_a, .subnet = &w->sub_a };
        FirewallConfig cb = { .backend = backend, .bridge = w->br_b, .subnet = &w->sub_b, .metadata_allow = &allow,
                              .n_metadata_allow = 1 };
        _cleanup_free_ char *notice = NULL, *notice_b = NULL;
        if (firewall_open(&ca, &w->fw_a, &err) < 0 || firewall_setup(w->fw_a, &notice, &err) < 0)
                TEST_FAIL("firewall A: %s", error_msg(&err));
        ASSERT_EQ(firewall_backend(w->fw_a), backend);
        printf("# firewall A (%s%s%s): %s\n", firewall_backend_to_string(backend),
               firewall_iptables_flavour(w->fw_a) ? "/" : "", firewall_iptables_flavour(w->fw_a) ?: "",
               notice ?: "no notice");
        /* ip_forward is 0 in a new namespace: say what was enabled. */
        ASSERT_CONTAINS(notice, "enabled IPv4 forwarding");
        ASSERT_CONTAINS(notice, w->uplink);
        ASSERT_CONTAINS(notice, "FORWARD policy is DROP");
        if (firewall_open(&cb, &w->fw_b, &err) < 0 || firewall_setup(w->fw_b, &notice_b, &err) < 0)
                TEST_FAIL("firewall B: %s", error_msg(&err));

        attach(w, w->fw_a, w->br_a, &w->sub_a, w->ws1, "sb/ws1", net_subnet_gateway(&w->sub_a) + 1, w->veth1);
        attach(w, w->fw_a, w->br_a, &w->sub_a, w->ws2, "sb/ws2", net_subnet_gateway(&w->sub_a) + 2, w->veth2);
        attach(w, w->fw_b, w->br_b, &w->sub_b, w->ws3, "sb/ws1", net_subnet_gateway(&w->sub_b) + 1, w->veth3);
}

static void ws_addr(const World *w, int i, char buf[16])
{
        net_addr_format(net_subnet_gateway(&w->sub_a) + (uint32_t) i, buf);
}

static void check_isolation(World *w)
{
        char a1[16], a2[16], out_ok = 0;
        uint32_t peer = 0;
        ws_addr(w, 1, a1);
        ws_addr(w, 2, a2);

        /* Addresses, default route, no IPv6 but lo's ::1 (or nothing,
         * while lo is down) in the namespace. */
        _cleanup_free_ char *addr = NULL, *route = NULL, *inet6 = NULL;
        ASSERT_EQ(t_sh_out(w->ws1, &addr, "ip -4 -o addr show dev eth0"), 0);
        ASSERT_CONTAINS(addr, a1);
        ASSERT_EQ(t_sh_out(w->ws1, &route, "ip -4 route show default"), 0);
        ASSERT_CONTAINS(route, w->gw_a);
        ASSERT_EQ(t_sh_out(w->ws1, &inet6, "grep -v ' lo$' /proc/net/if_inet6"), 1);
        ASSERT_STREQ(inet6, "");

        /* NAT to the outside works, and the outside sees the host. */
        int c = t_connect(w->ws1, NULL, "10.240.9.2", 8080, 2000);
        if (c < 0)
                TEST_FAIL("ws1 -> outside: %s", strerror(-c));
        int s = t_accept(w->l_outside, 2000, &peer);
        ASSERT_TRUE(s >= 0);
        ASSERT_EQ(peer, t_addr("10.240.9.1"));
        out_ok = 1;
        close(s);
        close(c);
        ASSERT_TRUE(out_ok);

        /* Workspace B's listener is out of reach, bridged or routed. */
        w->l_ws2 = t_listen(w->ws2, a2, 9000);
        ASSERT_TRUE(w->l_ws2 >= 0);
        ASSERT_EQ(t_reach(w->ws1, NULL, a2, 9000), -ETIMEDOUT);
        ASSERT_EQ(t_sh(w->ws1, "ip route add %s/32 via %s", a2, w->gw_a), 0);
        ASSERT_EQ(t_reach(w->ws1, NULL, a2, 9000), -ETIMEDOUT);
        ASSERT_EQ(t_sh(w->ws1, "ip route del %s/32", a2), 0);

        /* Nothing of the host: the bridge address, another host address,
         * the metadata address, loopback; ICMP to the gateway is dropped. */
        ASSERT_EQ(t_reach(w->ws1, NULL, w->gw_a, 8081), -ETIMEDOUT);
        ASSERT_EQ(t_reach(w->ws1, NULL, "10.240.9.1", 8082), -ETIMEDOUT);
        ASSERT_EQ(t_reach(w->ws1, NULL, "169.254.169.254", 80), -ETIMEDOUT);
        ASSERT_EQ(t_ping(w->ws1, w->gw_a, 400), -ETIMEDOUT);
        /* ...while the host itself reaches them (the rules are about
         * workspaces, not a broken host). */
        ASSERT_OK(t_reach(T_HOST, NULL, w->gw_a, 8081));
        int x = t_accept(w->l_gw, 500, NULL);
        ASSERT_TRUE(x >= 0);
        close(x);

        /* The host (the port proxy) reaches a workspace listener. */
        w->l_ws1 = t_listen(w->ws1, a1, 9001);
        ASSERT_OK(t_reach(T_HOST, NULL, a1, 9001));
        x = t_accept(w->l_ws1, 500, NULL);
        ASSERT_TRUE(x >= 0);
        close(x);

        /* Spoofing: an address that is not ws1's lease, or ws2's, as source. */
        char spoof[16];
        net_addr_format(net_subnet_gateway(&w->sub_a) + 49, spoof);
        ASSERT_EQ(t_sh(w->ws1, "ip addr add %s/24 dev eth0 && ip addr add %s/32 dev eth0", spoof, a2), 0);
        ASSERT_EQ(t_reach(w->ws1, spoof, "10.240.9.2", 8080), -ETIMEDOUT);
        ASSERT_EQ(t_reach(w->ws1, a2, "10.240.9.2", 8080), -ETIMEDOUT);
        ASSERT_OK(t_reach(w->ws1, a1, "10.240.9.2", 8080));
        ASSERT_EQ(t_sh(w->ws1, "ip addr del %s/24 dev eth0 && ip addr del %s/32 dev eth0", spoof, a2), 0);
        /* A changed MAC is a spoof too. */
        ASSERT_EQ(t_sh(w->ws1, "ip link set eth0 address 02:ec:0a:0a:0a:0a"), 0);
        ASSERT_EQ(t_reach(w->ws1, a1, "10.240.9.2", 8080), -ETIMEDOUT);
        char mac[18];
        uint8_t m[6];
        net_mac_from_addr(t_addr(a1), m);
        ASSERT_EQ(t_sh(w->ws1, "ip link set eth0 address %s", net_mac_format(m, mac)), 0);
        ASSERT_OK(t_reach(w->ws1, a1, "10.240.9.2", 8080));
        while ((x = t_accept(w->l_outside, 50, NULL)) >= 0)
                close(x);

        /* Metadata services: every blocked address out of reach, through
         * NAT too; the allow list of instance B reopens exactly its one
         * address (the positive control: the listener is there). */
        static const char *const md[] = { "169.254.170.2", "169.254.169.253", "100.100.100.200" };
        for (size_t i = 0; i < ELEMENTSOF(md); i++)
                if (t_reach(w->ws1, NULL, md[i], 80) != -ETIMEDOUT)
                        TEST_FAIL("ws1 reached the metadata address %s", md[i]);
        ASSERT_OK(t_reach(w->ws3, NULL, "169.254.170.2", 80));
        ASSERT_TRUE((x = t_accept(w->l_md[0], 500, &peer)) >= 0);
        close(x);
        ASSERT_EQ(t_reach(w->ws3, NULL, "169.254.169.253", 80), -ETIMEDOUT);
        ASSERT_EQ(t_reach(w->ws3, NULL, "100.100.100.200", 80), -ETIMEDOUT);
        /* A host DNAT rule cannot launder a blocked address: one that
         * sends 100.100.100.200:80 to the open outside listener. */
        ASSERT_EQ(t_sh(T_HOST, "nft add table ip enctdnat && nft add chain ip enctdnat pre '{ type nat hook prerouting "
                               "priority dstnat; }' && nft add rule ip enctdnat pre ip daddr 100.100.100.200 tcp dport "
                               "80 dnat to 10.240.9.2:8080"),
                  0);
        ASSERT_EQ(t_reach(w->ws1, NULL, "100.100.100.200", 80), -ETIMEDOUT);
        ASSERT_EQ(t_reach(w->ws3, NULL, "100.100.100.200", 80), -ETIMEDOUT);
        ASSERT_EQ(t_sh(T_HOST, "nft delete table ip enctdnat"), 0);
        while ((x = t_accept(w->l_outside, 50, NULL)) >= 0)
                close(x);

        /* The other instance works on its own. */
        ASSERT_OK(t_reach(w->ws3, NULL, "10.240.9.2", 8080));
        while ((x = t_accept(w->l_outside, 50, NULL)) >= 0)
                close(x);
        /* ws3 cannot reach instance A's workspaces either. */
        ASSERT_EQ(t_reach(w->ws3, NULL, a1, 9001), -ETIMEDOUT);
}

/* Why port isolation matters: without br_netfilter, bridged frames never
 * reach the IP forward hook, so only isolation keeps two workspaces of
 * one bridge apart at layer 2. Shown by switching each off in turn. */
static void check_l2_isolation(World *w)
{
        char a2[16];
        const char *brnf = "/proc/sys/net/bridge/bridge-nf-call-iptables";
        ws_addr(w, 2, a2);

        /* A stock kernel may not have br_netfilter loaded at all (the
         * nftables backend does not need it): then only "off" exists. */
        bool have_brnf = access(brnf, F_OK) == 0;
        ASSERT_EQ(t_sh(T_HOST, "bridge link set dev %s isolated off", w->veth2), 0);
        if (have_brnf) {
                /* br_netfilter on: the bridged SYN meets "iifname BR oifname BR drop". */
                ASSERT_OK(net_sysctl_write(brnf, "1"));
                ASSERT_EQ(t_reach(w->ws1, NULL, a2, 9000), -ETIMEDOUT);
                /* br_netfilter off, isolation off: the IP rules never see it. */
                ASSERT_OK(net_sysctl_write(brnf, "0"));
        } else
                printf("# br_netfilter is not loaded: checking isolation without it only\n");
        ASSERT_OK(t_reach(w->ws1, NULL, a2, 9000));
        int x = t_accept(w->l_ws2, 500, NULL);
        ASSERT_TRUE(x >= 0);
        close(x);
        /* Isolation back on: blocked again with br_netfilter off. */
        ASSERT_EQ(t_sh(T_HOST, "bridge link set dev %s isolated on", w->veth2), 0);
        ASSERT_EQ(t_reach(w->ws1, NULL, a2, 9000), -ETIMEDOUT);
        if (have_brnf)
                ASSERT_OK(net_sysctl_write(brnf, "1"));
}

static void check_lifecycle(World *w)
{
        _cleanup_error_ Error err = ERROR_INIT;
        char a1[16], a2[16];
        ws_addr(w, 1, a1);
        ws_addr(w, 2, a2);
        int x;

        /* Setup again (daemon restart) + reconcile: ws2 is gone, ws1 kept. */
        _cleanup_free_ char *notice = NULL;
        ASSERT_OK(firewall_setup(w->fw_a, &notice, &err));
        ASSERT_NULL(notice); /* nothing left to change on the host */
        FirewallWorkspace live[] = { { .host_veth = w->veth1, .addr = t_addr(a1) } };
        ASSERT_OK(firewall_reconcile(w->fw_a, live, 1, &err));
        ASSERT_OK(t_reach(w->ws1, NULL, "10.240.9.2", 8080));
        ASSERT_EQ(t_reach(w->ws2, NULL, "10.240.9.2", 8080), -ETIMEDOUT);
        while ((x = t_accept(w->l_outside, 50, NULL)) >= 0)
                close(x);

        /* Remove is idempotent; a removed workspace is cut off. */
        FirewallWorkspace f1 = { .host_veth = w->veth1, .addr = t_addr(a1) };
        ASSERT_OK(firewall_remove_workspace(w->fw_a, &f1, &err));
        ASSERT_OK(firewall_remove_workspace(w->fw_a, &f1, &err));
        ASSERT_EQ(t_reach(w->ws1, NULL, "10.240.9.2", 8080), -ETIMEDOUT);
        ASSERT_OK(firewall_add_workspace(w->fw_a, &f1, &err));
        ASSERT_OK(firewall_add_workspace(w->fw_a, &f1, &err));
        ASSERT_OK(t_reach(w->ws1, NULL, "10.240.9.2", 8080));
        while ((x = t_accept(w->l_outside, 50, NULL)) >= 0)
                close(x);

        /* Detach ws2: its veth pair and neighbour entry go away. */
        LinkWorkspace l2 = { .bridge = w->br_a, .host_veth = w->veth2, .subnet = &w->sub_a, .addr = t_addr(a2) };
        ASSERT_OK(link_workspace_detach(w->nl, &l2, &err));
        ASSERT_OK(link_workspace_detach(w->nl, &l2, &err));
        ASSERT_EQ(if_nametoindex(w->veth2), 0);
        _cleanup_free_ char *eth = NULL;
        ASSERT_TRUE(t_sh_out(w->ws2, &eth, "ip -o link show eth0") != 0);

        _cleanup_strv_free_ char **ports = NULL;
        ASSERT_OK(link_bridge_ports(w->nl, w->br_a, &ports, &err));
        ASSERT_EQ(strv_length(ports), 1);
        ASSERT_STREQ(ports[0], w->veth1);

        /* Tearing B down leaves A alone. */
        ASSERT_OK(firewall_teardown(w->fw_b, &err));
        ASSERT_OK(firewall_teardown(w->fw_b, &err));
        ASSERT_OK(t_reach(w->ws1, NULL, "10.240.9.2", 8080));
        ASSERT_EQ(t_reach(w->ws1, NULL, w->gw_a, 8081), -ETIMEDOUT);
        while ((x = t_accept(w->l_outside, 50, NULL)) >= 0)
                close(x);
}

static void check_nothing_left(World *w)
{
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_free_ char *links = NULL, *tables = NULL, *ipt = NULL, *legacy = NULL;

        ASSERT_OK(firewall_teardown(w->fw_a, &err));
        ASSERT_OK(firewall_teardown(w->fw_a, &err));
        LinkWorkspace l1 = { .bridge = w->br_a, .host_veth = w->veth1, .subnet = &w->sub_a };
        LinkWorkspace l3 = { .bridge = w->br_b, .host_veth = w->veth3, .subnet = &w->sub_b };
        ASSERT_OK(link_workspace_detach(w->nl, &l1, &err));
        ASSERT_OK(link_workspace_detach(w->nl, &l3, &err));
        ASSERT_OK(link_delete(w->nl, w->br_a, &err));
        ASSERT_OK(link_delete(w->nl, w->br_b, &err));
        ASSERT_OK(link_delete(w->nl, w->br_b, &err));

        ASSERT_EQ(t_sh_out(T_HOST, &links, "ip -o link show"), 0);
        ASSERT_TRUE(strstr(links, w->br_a) == NULL && strstr(links, w->br_b) == NULL);
        ASSERT_TRUE(strstr(links, w->veth1) == NULL && strstr(links, w->veth3) == NULL);
        ASSERT_EQ(t_sh_out(T_HOST, &tables, "nft list tables"), 0);
        ASSERT_TRUE(strstr(tables, w->br_a) == NULL && strstr(tables, w->br_b) == NULL);
        ASSERT_EQ(t_sh_out(T_HOST, &ipt, "iptables-nft-save"), 0);
        ASSERT_EQ(t_sh_out(T_HOST, &legacy, "iptables-legacy-save"), 0);
        if (strstr(ipt, "enct") || strstr(legacy, "enct"))
                TEST_FAIL("iptables rules remain:\n%s\n%s", ipt, legacy);
        /* The Docker-style policy is untouched. */
        ASSERT_CONTAINS(ipt, ":FORWARD DROP");
        ASSERT_CONTAINS(legacy, ":FORWARD DROP");
}

static void scenario(FirewallBackend backend, int n)
{
        World w = { .outside = -1, .ws1 = -1, .ws2 = -1, .ws3 = -1, .l_outside = -1, .l_meta = -1, .l_gw = -1,
                    .l_uplink = -1, .l_ws2 = -1, .l_ws1 = -1, .l_local = -1, .l_md = { -1, -1, -1 } };
        if (!is_root)
                SKIP("needs root");
        /* A failed ASSERT longjmps out of the steps: clean up either way. */
        static World *current;
        static jmp_buf outer;
        current = &w;
        memcpy(outer, test_jmp, sizeof outer);
        if (setjmp(test_jmp) == 0) {
                build_world(current, backend, n);
                check_isolation(current);
                if (backend == FIREWALL_NFTABLES)
                        check_l2_isolation(current);
                check_lifecycle(current);
                check_nothing_left(current);
        }
        world_cleanup(current);
        memcpy(test_jmp, outer, sizeof outer);
        if (test_failed)
                longjmp(test_jmp, 1);
}

TEST(root)
{
        is_root = geteuid() == 0;
        if (!is_root)
                SKIP("needs root");
}

TEST(subnet_overlapping_a_route_is_refused)
{
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_nl_ NlSock *nl = NULL;
        char dummy[IFNAMSIZ], br[IFNAMSIZ];
        NetSubnet s;
        if (!is_root)
                SKIP("needs root");
        ASSERT_OK(t_private_host());
        snprintf(dummy, sizeof dummy, "enct%sd", t_tag());
        snprintf(br, sizeof br, "enct%sa", t_tag());
        ASSERT_EQ(t_sh(T_HOST, "ip link add %s type veth peer name %sp && ip addr add 10.240.200.1/24 dev %s && "
                               "ip link set %s up",
                       dummy, dummy, dummy, dummy),
                  0);
        ASSERT_OK(nl_open(&nl, &err));
        ASSERT_OK(net_subnet_parse("10.240.0.0/16", &s, NULL));
        ASSERT_EQ(link_check_subnet_free(nl, &s, NULL, &err), -EADDRINUSE);
        ASSERT_CONTAINS(err.msg, "subnet 10.240.0.0/16 overlaps the host route 10.240.200.0/24 dev ");
        ASSERT_CONTAINS(err.msg, dummy);
        error_clear(&err);
        ASSERT_EQ(link_bridge_setup(nl, br, &s, &err), -EADDRINUSE);
        ASSERT_EQ(if_nametoindex(br), 0);
        error_clear(&err);
        /* A neighbouring subnet is fine, and setup is idempotent. */
        ASSERT_OK(net_subnet_parse("10.240.201.0/24", &s, NULL));
        ASSERT_OK(link_bridge_setup(nl, br, &s, &err));
        ASSERT_OK(link_bridge_setup(nl, br, &s, &err));
        /* The bridge never got an IPv6 address. */
        _cleanup_free_ char *inet6 = NULL;
        ASSERT_EQ(t_sh_out(T_HOST, &inet6, "grep %s /proc/net/if_inet6 || true", br), 0);
        ASSERT_STREQ(inet6, "");
        /* A non-bridge with the configured name is refused clearly. */
        ASSERT_OK(link_delete(nl, br, &err));
        ASSERT_EQ(link_bridge_setup(nl, dummy, &s, &err), -EEXIST);
        ASSERT_CONTAINS(err.msg, "is not a bridge (veth)");
        ASSERT_OK(link_delete(nl, dummy, &err));
}

TEST(kernel_errors_carry_extack)
{
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_nl_ NlSock *nl = NULL;
        NlBatch b;
        if (!is_root)
                SKIP("needs root");
        ASSERT_OK(t_private_host());
        ASSERT_OK(nl_open(&nl, &err));

        /* A route via a gateway no link reaches: the kernel explains. */
        nl_batch_init(&b);
        nl_msg_begin(&b, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, "adding a route via 10.240.203.9");
        struct rtmsg *rtm = nl_msg_put_header(&b, sizeof *rtm);
        rtm->rtm_family = AF_INET;
        rtm->rtm_dst_len = 24;
        rtm->rtm_table = RT_TABLE_MAIN;
        rtm->rtm_protocol = RTPROT_STATIC;
        rtm->rtm_type = RTN_UNICAST;
        nl_put_u32(&b, RTA_DST, htonl(t_addr("10.240.204.0")));
        nl_put_u32(&b, RTA_GATEWAY, htonl(t_addr("10.240.203.9")));
        ASSERT_TRUE(nl_batch_send(nl, &b, &err) < 0);
        printf("# %s\n", error_msg(&err));
        ASSERT_CONTAINS(err.msg, "adding a route via 10.240.203.9: ");
        ASSERT_CONTAINS(err.msg, "(kernel: ");
        error_clear(&err);

        /* The builder refuses to overflow instead of writing past the end. */
        nl_batch_init(&b);
        nl_msg_begin(&b, RTM_NEWLINK, 0, "too big");
        char big[NL_BATCH_SIZE];
        memset(big, 'x', sizeof big);
        nl_put(&b, IFLA_IFALIAS, big, sizeof big);
        ASSERT_EQ(nl_batch_send(nl, &b, &err), -E2BIG);
        error_clear(&err);

        /* A batch of several: the failing message is the one named, and a
         * failed attach leaves no veth behind. */
        int ns = t_netns_new();
        NetSubnet s;
        ASSERT_OK(net_subnet_parse("10.240.202.0/24", &s, NULL));
        LinkWorkspace lw = { .bridge = "lo", .host_veth = "enctxv", .netns_fd = ns, .subnet = &s,
                             .addr = t_addr("10.240.202.2") };
        ASSERT_TRUE(link_workspace_attach(nl, &lw, &err) < 0);
        printf("# %s\n", error_msg(&err));
        ASSERT_CONTAINS(err.msg, "creating veth pair enctxv/eth0 on bridge lo");
        ASSERT_EQ(if_nametoindex("enctxv"), 0);
        close(ns);
}

TEST(nftables_backend)
{
        scenario(FIREWALL_NFTABLES, 10);
}

TEST(iptables_backend)
{
        scenario(FIREWALL_IPTABLES, 20);
}

TEST(auto_picks_nftables)
{
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_firewall_ Firewall *fw = NULL;
        NetSubnet s;
        if (!is_root)
                SKIP("needs root");
        ASSERT_OK(net_subnet_parse("10.240.30.0/24", &s, NULL));
        FirewallConfig c = { .backend = FIREWALL_AUTO, .bridge = "enctauto", .subnet = &s };
        ASSERT_OK(firewall_open(&c, &fw, &err));
        ASSERT_EQ(firewall_backend(fw), FIREWALL_NFTABLES);
        FirewallConfig bad = { .backend = FIREWALL_AUTO, .bridge = "bad\"name", .subnet = &s };
        Firewall *fw2 = NULL;
        ASSERT_EQ(firewall_open(&bad, &fw2, &err), -EINVAL);
}

TEST(resolv_conf_for_this_host)
{
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_free_ char *conf = NULL;
        int r = resolv_build_from_files(RESOLV_HOST_PATH, RESOLV_RESOLVED_UPSTREAM_PATH, &conf, &err);
        if (r == -ENOENT)
                SKIP("this host has no DNS server a workspace could reach");
        ASSERT_OK(r);
        printf("# %s", conf);
        ASSERT_CONTAINS(conf, "nameserver ");
        ASSERT_TRUE(strstr(conf, "nameserver 127.") == NULL);
}
