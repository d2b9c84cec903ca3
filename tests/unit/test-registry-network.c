/* ip_leases and ports in a real registry file (registry-network.c):
 * allocation, reuse, release, subnet changes, declared vs published
 * mappings and host-port uniqueness across workspaces. */
#include "test.h"
#include "scratch.h"
#include "registry/registry-network.h"
#include "base/fs.h"

static char *tmpdir(void)
{
        return scratch_tmpdir("/tmp/enctest-regnet.XXXXXX");
}

typedef struct Fixture {
        Registry *r;
        int64_t a, b;
        NetSubnet sub;
} Fixture;

static void fixture_open(Fixture *f, const char *dir)
{
        _cleanup_free_ char *path = path_join(dir, REGISTRY_FILE);
        _cleanup_error_ Error err = ERROR_INIT;
        if (registry_open(path, &f->r, &err) < 0)
                TEST_FAIL("registry_open: %s", error_msg(&err));
        ASSERT_EQ(registry_run(f->r, &err,
                               "INSERT INTO sandboxes (id, name, suite, mirror, bootstrap_method) VALUES (1, 'sb', "
                               "'bookworm', 'http://deb.debian.org/debian', 'debootstrap')",
                               ""),
                  1);
        ASSERT_EQ(registry_run(f->r, &err, "INSERT INTO workspaces (sandbox_id, name, state) VALUES (1, 'a', 'running')",
                               ""),
                  1);
        f->a = registry_last_insert_id(f->r);
        ASSERT_EQ(registry_run(f->r, &err, "INSERT INTO workspaces (sandbox_id, name) VALUES (1, 'b')", ""), 1);
        f->b = registry_last_insert_id(f->r);
        ASSERT_OK(net_subnet_parse("10.239.7.0/29", &f->sub, NULL));
}

static char *ws_ip(Registry *r, int64_t id)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        char *ip = NULL;
        if (registry_prepare(r, "SELECT ip FROM workspaces WHERE id = ?", &s, NULL) < 0 ||
            registry_bind(r, s, NULL, "i", id) < 0 || registry_step(r, s, NULL) != 1 ||
            registry_column_strdup(s, 0, &ip) < 0)
                TEST_FAIL("reading workspaces.ip");
        return ip;
}

TEST(leases_are_allocated_reused_and_released)
{
        _cleanup_tmpdir_ char *dir = tmpdir();
        Fixture f = {};
        fixture_open(&f, dir);
        _cleanup_registry_ Registry *r = f.r;
        _cleanup_error_ Error err = ERROR_INIT;
        char buf[NET_ADDR_STRLEN];
        uint32_t a1, a2, b1;
        bool is_new;

        ASSERT_EQ(registry_lease_get(r, f.a, &a1, &err), -ENOENT);
        ASSERT_OK(registry_lease_acquire(r, &f.sub, f.a, &a1, &is_new, &err));
        ASSERT_TRUE(is_new);
        ASSERT_STREQ(net_addr_format(a1, buf), "10.239.7.2");
        _cleanup_free_ char *ip = ws_ip(r, f.a);
        ASSERT_STREQ(ip, "10.239.7.2");
        ASSERT_OK(registry_lease_acquire(r, &f.sub, f.a, &a2, &is_new, &err));
        ASSERT_FALSE(is_new);
        ASSERT_EQ(a1, a2);
        ASSERT_OK(registry_lease_acquire(r, &f.sub, f.b, &b1, &is_new, &err));
        ASSERT_STREQ(net_addr_format(b1, buf), "10.239.7.3");

        NetLease *l = NULL;
        size_t n = 0;
        ASSERT_OK(registry_leases_list(r, &l, &n, &err));
        ASSERT_EQ(n, 2u);
        ASSERT_TRUE(l[0].workspace_id == f.a && l[0].running && l[0].addr == a1);
        ASSERT_TRUE(l[1].workspace_id == f.b && !l[1].running);
        free(l);

        /* Released: the lowest address is handed out again. */
        ASSERT_EQ(registry_lease_release(r, f.a, &err), 1);
        ASSERT_EQ(registry_lease_release(r, f.a, &err), 0);
        _cleanup_free_ char *ip2 = ws_ip(r, f.a);
        ASSERT_NULL(ip2);
        ASSERT_OK(registry_lease_acquire(r, &f.sub, f.a, &a2, NULL, &err));
        ASSERT_EQ(a2, a1);

        /* A lease from an earlier subnet is replaced. */
        NetSubnet other;
        ASSERT_OK(net_subnet_parse("10.239.8.0/24", &other, NULL));
        ASSERT_OK(registry_lease_acquire(r, &other, f.a, &a2, &is_new, &err));
        ASSERT_TRUE(is_new);
        ASSERT_STREQ(net_addr_format(a2, buf), "10.239.8.2");

        /* Deleting the workspace deletes its lease. */
        ASSERT_EQ(registry_run(r, &err, "DELETE FROM workspaces WHERE id = ?", "i", f.b), 1);
        ASSERT_EQ(registry_lease_get(r, f.b, &b1, &err), -ENOENT);
}

TEST(a_full_subnet_is_a_clear_error)
{
        _cleanup_tmpdir_ char *dir = tmpdir();
        Fixture f = {};
        fixture_open(&f, dir);
        _cleanup_registry_ Registry *r = f.r;
        _cleanup_error_ Error err = ERROR_INIT;
        uint32_t addr;
        /* A /29 leases .2 to .6: five workspaces. */
        for (int i = 0; i < 5; i++) {
                char name[16];
                snprintf(name, sizeof name, "w%d", i);
                ASSERT_EQ(registry_run(r, &err, "INSERT INTO workspaces (sandbox_id, name) VALUES (1, ?)", "t", name),
                          1);
                ASSERT_OK(registry_lease_acquire(r, &f.sub, registry_last_insert_id(r), &addr, NULL, &err));
        }
        ASSERT_EQ(registry_lease_acquire(r, &f.sub, f.a, &addr, NULL, &err), -ENOSPC);
        ASSERT_CONTAINS(error_msg(&err), "no free address left in subnet 10.239.7.0/29");
        ASSERT_EQ(registry_lease_get(r, f.a, &addr, NULL), -ENOENT);
}

TEST(ports_declared_published_and_unique)
{
        _cleanup_tmpdir_ char *dir = tmpdir();
        Fixture f = {};
        fixture_open(&f, dir);
        _cleanup_registry_ Registry *r = f.r;
        _cleanup_error_ Error err = ERROR_INIT;

        PortSpec decl[] = { { 3001, 3000 }, { 8080, 80 } };
        ASSERT_OK(registry_ports_declare(r, f.a, decl, 2, &err));
        /* Another workspace cannot take a host port of a. */
        PortSpec clash = { 3001, 3000 };
        ASSERT_EQ(registry_ports_declare(r, f.b, &clash, 1, &err), -EEXIST);
        ASSERT_CONTAINS(error_msg(&err), "127.0.0.1:3001 is already published by workspace sb/a");
        error_clear(&err);
        ASSERT_EQ(registry_port_add(r, f.b, &clash, false, &err), -EEXIST);
        error_clear(&err);
        PortSpec twice[] = { { 4000, 1 }, { 4000, 2 } };
        ASSERT_EQ(registry_ports_declare(r, f.b, twice, 2, &err), -EEXIST);
        error_clear(&err);

        /* Published by hand: declared = 0, survives a re-declaration. */
        PortSpec pub = { 9000, 9 };
        ASSERT_OK(registry_port_add(r, f.a, &pub, false, &err));
        PortSpec decl2[] = { { 3001, 3001 } };
        ASSERT_OK(registry_ports_declare(r, f.a, decl2, 1, &err));
        NetPort *p = NULL;
        size_t n = 0;
        ASSERT_OK(registry_ports_list(r, f.a, &p, &n, &err));
        ASSERT_EQ(n, 2u);
        ASSERT_TRUE(p[0].host_port == 3001 && p[0].workspace_port == 3001 && p[0].declared);
        ASSERT_TRUE(p[1].host_port == 9000 && p[1].workspace_port == 9 && !p[1].declared);
        free(p);

        /* Declaring a port published by hand makes it declared. */
        PortSpec decl3[] = { { 9000, 90 } };
        ASSERT_OK(registry_ports_declare(r, f.a, decl3, 1, &err));
        ASSERT_OK(registry_ports_list(r, f.a, &p, &n, &err));
        ASSERT_EQ(n, 1u);
        ASSERT_TRUE(p[0].host_port == 9000 && p[0].workspace_port == 90 && p[0].declared);
        free(p);

        /* 8080 is free again after the re-declarations. */
        PortSpec b8080 = { 8080, 80 };
        ASSERT_OK(registry_port_add(r, f.b, &b8080, false, &err));
        ASSERT_OK(registry_port_remove(r, f.b, 8080, &err));
        ASSERT_EQ(registry_port_remove(r, f.b, 8080, &err), -ENOENT);
        ASSERT_EQ(registry_port_add(r, 999, &b8080, false, &err), -ENOENT);
}

TEST(declare_joins_an_open_transaction)
{
        _cleanup_tmpdir_ char *dir = tmpdir();
        Fixture f = {};
        fixture_open(&f, dir);
        _cleanup_registry_ Registry *r = f.r;
        _cleanup_error_ Error err = ERROR_INIT;
        PortSpec decl = { 5000, 50 };
        {
                _cleanup_txn_ RegistryTxn txn = {};
                ASSERT_OK(registry_txn_begin(r, &txn, &err));
                ASSERT_OK(registry_ports_declare(r, f.a, &decl, 1, &err));
                /* rolled back with the caller's transaction */
        }
        NetPort *p = NULL;
        size_t n = 0;
        ASSERT_OK(registry_ports_list(r, f.a, &p, &n, &err));
        ASSERT_EQ(n, 0u);
        free(p);
        {
                _cleanup_txn_ RegistryTxn txn = {};
                ASSERT_OK(registry_txn_begin(r, &txn, &err));
                ASSERT_OK(registry_ports_declare(r, f.a, &decl, 1, &err));
                ASSERT_OK(registry_txn_commit(&txn, &err));
        }
        ASSERT_OK(registry_ports_list(r, f.a, &p, &n, &err));
        ASSERT_EQ(n, 1u);
        free(p);
}
