#include "net/port.h"
#include "test.h"

static uint32_t A(const char *s)
{
        uint32_t a = 0;
        if (net_addr_parse(s, &a) < 0)
                abort();
        return a;
}

TEST(addr_roundtrip)
{
        char buf[NET_ADDR_STRLEN];
        uint32_t a;
        ASSERT_OK(net_addr_parse("10.200.3.7", &a));
        ASSERT_EQ(a, 0x0ac80307);
        ASSERT_STREQ(net_addr_format(a, buf), "10.200.3.7");
        ASSERT_STREQ(net_addr_format(UINT32_MAX, buf), "255.255.255.255");
        ASSERT_EQ(net_addr_parse("10.200.3", &a), -EINVAL);
        ASSERT_EQ(net_addr_parse("10.200.3.256", &a), -EINVAL);
        ASSERT_EQ(net_addr_parse(" 10.0.0.1", &a), -EINVAL);
        ASSERT_EQ(net_addr_parse(NULL, &a), -EINVAL);
}

TEST(subnet_default)
{
        _cleanup_error_ Error err = ERROR_INIT;
        NetSubnet s;
        char buf[NET_SUBNET_STRLEN], a[NET_ADDR_STRLEN];
        ASSERT_OK(net_subnet_parse("10.200.0.0/16", &s, &err));
        ASSERT_STREQ(net_subnet_format(&s, buf), "10.200.0.0/16");
        ASSERT_STREQ(net_addr_format(net_subnet_gateway(&s), a), "10.200.0.1");
        ASSERT_STREQ(net_addr_format(net_subnet_broadcast(&s), a), "10.200.255.255");
        ASSERT_EQ(net_subnet_mask(&s), 0xffff0000u);
        /* room for 1000+ workspaces */
        ASSERT_EQ(net_subnet_capacity(&s), 65533);
        ASSERT_TRUE(net_subnet_contains(&s, A("10.200.44.5")));
        ASSERT_FALSE(net_subnet_contains(&s, A("10.201.0.1")));
        ASSERT_FALSE(net_subnet_is_leasable(&s, A("10.200.0.0")));
        ASSERT_FALSE(net_subnet_is_leasable(&s, A("10.200.0.1")));
        ASSERT_FALSE(net_subnet_is_leasable(&s, A("10.200.255.255")));
        ASSERT_TRUE(net_subnet_is_leasable(&s, A("10.200.0.2")));
}

TEST(subnet_errors_explain)
{
        _cleanup_error_ Error err = ERROR_INIT;
        NetSubnet s;
        ASSERT_EQ(net_subnet_parse("10.200.0.1/16", &s, &err), -EINVAL);
        ASSERT_CONTAINS(err.msg, "did you mean 10.200.0.0/16");
        error_clear(&err);
        ASSERT_EQ(net_subnet_parse("10.200.0.0", &s, &err), -EINVAL);
        ASSERT_CONTAINS(err.msg, "CIDR notation like 10.200.0.0/16");
        error_clear(&err);
        ASSERT_EQ(net_subnet_parse("10.200.0.0/31", &s, &err), -EINVAL);
        ASSERT_CONTAINS(err.msg, "/8 to /29");
        error_clear(&err);
        ASSERT_EQ(net_subnet_parse("10.200.0.0/x", &s, &err), -EINVAL);
        error_clear(&err);
        ASSERT_EQ(net_subnet_parse("127.0.0.0/8", &s, &err), -EINVAL);
        ASSERT_CONTAINS(err.msg, "reserved");
        error_clear(&err);
        ASSERT_EQ(net_subnet_parse("169.254.0.0/16", &s, &err), -EINVAL);
        error_clear(&err);
        ASSERT_EQ(net_subnet_parse("224.0.0.0/8", &s, &err), -EINVAL);
        error_clear(&err);
        ASSERT_EQ(net_subnet_parse("foo/16", &s, &err), -EINVAL);
        ASSERT_CONTAINS(err.msg, "invalid IPv4 address 'foo'");
}

/* The workspace subnet at its edges: /29 is the narrowest (config.toml
 * stops at /28), host bits and bad octets are named, every error is
 * -EINVAL. */
TEST(subnet_boundaries)
{
        _cleanup_error_ Error err = ERROR_INIT;
        NetSubnet s;
        ASSERT_OK(net_subnet_parse("10.240.9.16/28", &s, &err));
        ASSERT_EQ(s.network, A("10.240.9.16"));
        ASSERT_EQ(s.prefix, 28);
        ASSERT_OK(net_subnet_parse("10.240.9.8/29", &s, &err));
        ASSERT_EQ(s.network, A("10.240.9.8"));
        ASSERT_EQ(s.prefix, 29);
        ASSERT_OK(net_subnet_parse("10.0.0.0/8", &s, &err));
        ASSERT_OK(net_subnet_parse("10.0.0.0/08", &s, &err));
        ASSERT_EQ(s.prefix, 8);

        static const struct {
                const char *subnet;
                const char *msg;
        } bad[] = {
                { "10.240.9.0/30", "has prefix /30; use /8 to /29" },
                { "10.240.9.0/31", "has prefix /31" },
                { "10.0.0.0/7", "has prefix /7; use /8 to /29" },
                { "10.240.9.4/29", "host bits set); did you mean 10.240.9.0/29?" },
                { "10.240.9.8/28", "did you mean 10.240.9.0/28?" },
                { "10.240.9.4/30", "has prefix /30" },
                { "10.240.256.0/24", "invalid IPv4 address '10.240.256.0'" },
                { "10.240.9/24", "invalid IPv4 address '10.240.9'" },
                { "10.240.9.0.0/24", "invalid IPv4 address" },
                { "10.240.9.0/", "invalid prefix length ''" },
                { "10.240.9.0/x", "invalid prefix length 'x'" },
                { "", "CIDR notation" },
                { NULL, "CIDR notation" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                error_clear(&err);
                ASSERT_EQ(net_subnet_parse(bad[i].subnet, &s, &err), -EINVAL);
                ASSERT_CONTAINS(err.msg, bad[i].msg);
        }
}

/* The one parser under both: the largest prefix is the caller's, a
 * prefix out of range is -ERANGE, and reserved ranges are not its rule. */
TEST(cidr_parse_max_prefix)
{
        _cleanup_error_ Error err = ERROR_INIT;
        NetSubnet s;
        ASSERT_OK(net_cidr_parse("10.240.9.16/28", 28, &s, &err));
        ASSERT_EQ(net_cidr_parse("10.240.9.8/29", 28, &s, &err), -ERANGE);
        ASSERT_CONTAINS(err.msg, "use /8 to /28");
        error_clear(&err);
        ASSERT_OK(net_cidr_parse("10.240.9.8/29", 29, &s, &err));
        ASSERT_EQ(net_cidr_parse("10.240.9.8/30", 29, &s, &err), -ERANGE);
        error_clear(&err);
        ASSERT_OK(net_cidr_parse("127.0.0.0/8", 28, &s, &err));
        ASSERT_EQ(net_cidr_parse("10.240.9.1/24", 28, &s, &err), -EINVAL);
        ASSERT_CONTAINS(err.msg, "is not a network address");
}

TEST(subnet_overlap)
{
        NetSubnet a, b, c;
        ASSERT_OK(net_subnet_parse("10.200.0.0/16", &a, NULL));
        ASSERT_OK(net_subnet_parse("10.200.7.0/24", &b, NULL));
        ASSERT_OK(net_subnet_parse("10.201.0.0/24", &c, NULL));
        ASSERT_TRUE(net_subnets_overlap(&a, &b));
        ASSERT_TRUE(net_subnets_overlap(&b, &a));
        ASSERT_FALSE(net_subnets_overlap(&a, &c));
        ASSERT_TRUE(net_subnets_overlap(&c, &c));
}

TEST(pool_allocates_lowest_free)
{
        NetSubnet s;
        _cleanup_ipam_ Ipam *p = NULL;
        uint32_t a;
        ASSERT_OK(net_subnet_parse("10.240.9.0/24", &s, NULL));
        ASSERT_OK(ipam_new(&s, &p));
        ASSERT_OK(ipam_allocate(p, &a));
        ASSERT_EQ(a, A("10.240.9.2"));
        ASSERT_OK(ipam_allocate(p, &a));
        ASSERT_EQ(a, A("10.240.9.3"));
        ASSERT_OK(ipam_mark_used(p, A("10.240.9.4")));
        ASSERT_OK(ipam_allocate(p, &a));
        ASSERT_EQ(a, A("10.240.9.5"));
        ASSERT_OK(ipam_release(p, A("10.240.9.3")));
        ASSERT_FALSE(ipam_is_used(p, A("10.240.9.3")));
        ASSERT_OK(ipam_allocate(p, &a));
        ASSERT_EQ(a, A("10.240.9.3"));
        ASSERT_EQ(ipam_used_count(p), 4);
}

TEST(pool_rejects_reserved_and_duplicates)
{
        NetSubnet s;
        _cleanup_ipam_ Ipam *p = NULL;
        ASSERT_OK(net_subnet_parse("10.240.9.0/24", &s, NULL));
        ASSERT_OK(ipam_new(&s, &p));
        ASSERT_EQ(ipam_mark_used(p, A("10.240.9.1")), -ERANGE);
        ASSERT_EQ(ipam_mark_used(p, A("10.240.9.0")), -ERANGE);
        ASSERT_EQ(ipam_mark_used(p, A("10.240.9.255")), -ERANGE);
        ASSERT_EQ(ipam_mark_used(p, A("10.240.10.2")), -ERANGE);
        ASSERT_OK(ipam_mark_used(p, A("10.240.9.9")));
        ASSERT_EQ(ipam_mark_used(p, A("10.240.9.9")), -EEXIST);
        ASSERT_EQ(ipam_release(p, A("10.240.9.10")), -ENOENT);
        ASSERT_EQ(ipam_release(p, A("10.240.9.1")), -ERANGE);
}

TEST(pool_exhaustion)
{
        NetSubnet s;
        _cleanup_ipam_ Ipam *p = NULL;
        uint32_t a;
        ASSERT_OK(net_subnet_parse("10.240.9.0/29", &s, NULL));
        ASSERT_EQ(net_subnet_capacity(&s), 5);
        ASSERT_OK(ipam_new(&s, &p));
        for (int i = 0; i < 5; i++) {
                ASSERT_OK(ipam_allocate(p, &a));
                ASSERT_EQ(a, A("10.240.9.2") + (uint32_t) i);
        }
        ASSERT_EQ(ipam_allocate(p, &a), -ENOSPC);
        ASSERT_OK(ipam_release(p, A("10.240.9.4")));
        ASSERT_OK(ipam_allocate(p, &a));
        ASSERT_EQ(a, A("10.240.9.4"));
        ASSERT_EQ(ipam_allocate(p, &a), -ENOSPC);
}

TEST(pool_many_in_default_subnet)
{
        NetSubnet s;
        _cleanup_ipam_ Ipam *p = NULL;
        uint32_t a = 0;
        ASSERT_OK(net_subnet_parse("10.200.0.0/16", &s, NULL));
        ASSERT_OK(ipam_new(&s, &p));
        for (size_t i = 0; i < net_subnet_capacity(&s); i++)
                ASSERT_OK(ipam_allocate(p, &a));
        ASSERT_EQ(a, A("10.200.255.254"));
        ASSERT_EQ(ipam_allocate(p, &a), -ENOSPC);
        ASSERT_OK(ipam_release(p, A("10.200.3.4")));
        ASSERT_OK(ipam_allocate(p, &a));
        ASSERT_EQ(a, A("10.200.3.4"));
}

TEST(lowest_free_from_lease_list)
{
        NetSubnet s;
        uint32_t a;
        ASSERT_OK(net_subnet_parse("10.240.9.0/24", &s, NULL));
        uint32_t used[] = { A("10.240.9.3"), A("10.240.9.2"), A("10.240.9.2"), A("192.168.1.1"), A("10.240.9.5") };
        ASSERT_OK(ipam_lowest_free(&s, used, ELEMENTSOF(used), &a));
        ASSERT_EQ(a, A("10.240.9.4"));
        ASSERT_OK(ipam_lowest_free(&s, NULL, 0, &a));
        ASSERT_EQ(a, A("10.240.9.2"));
}

TEST(veth_names)
{
        char a[IFNAMSIZ], b[IFNAMSIZ], c[IFNAMSIZ], d[IFNAMSIZ];
        ASSERT_OK(net_veth_name("enclave0", "agents/coder", a));
        ASSERT_OK(net_veth_name("enclave0", "agents/coder", b));
        ASSERT_OK(net_veth_name("enclave1", "agents/coder", c));
        ASSERT_OK(net_veth_name("enclave0", "agents/coder2", d));
        ASSERT_STREQ(a, b);
        ASSERT_TRUE(strcmp(a, c) != 0);
        ASSERT_TRUE(strcmp(a, d) != 0);
        ASSERT_EQ(strlen(a), 14);
        ASSERT_TRUE(net_ifname_is_valid(a));
        ASSERT_EQ(net_veth_name("enclave0", "", a), -EINVAL);

        /* no collisions over a few thousand ids */
        static char names[4000][IFNAMSIZ];
        for (int i = 0; i < 4000; i++) {
                char id[32];
                snprintf(id, sizeof id, "ws-%d", i);
                ASSERT_OK(net_veth_name("enclave0", id, names[i]));
        }
        qsort(names, 4000, IFNAMSIZ, (int (*)(const void *, const void *)) strcmp);
        for (int i = 1; i < 4000; i++)
                ASSERT_TRUE(strcmp(names[i - 1], names[i]) != 0);
}

TEST(ifname_rules)
{
        ASSERT_TRUE(net_ifname_is_valid("enclave0"));
        ASSERT_TRUE(net_ifname_is_valid("abcdefghijklmno"));
        ASSERT_FALSE(net_ifname_is_valid("abcdefghijklmnop"));
        ASSERT_FALSE(net_ifname_is_valid(""));
        ASSERT_FALSE(net_ifname_is_valid("a/b"));
        ASSERT_FALSE(net_ifname_is_valid("a b"));
        ASSERT_FALSE(net_ifname_is_valid(".."));
        ASSERT_FALSE(net_ifname_is_valid("a:1"));
}

TEST(mac_from_addr)
{
        uint8_t mac[6];
        char buf[18];
        net_mac_from_addr(A("10.200.0.2"), mac);
        ASSERT_STREQ(net_mac_format(mac, buf), "02:ec:0a:c8:00:02");
}
