/* ip_leases and ports: see registry-network.h. */
#include "registry/registry-network.h"

#include <stdlib.h>

#define RUNNING_STATES "('running', 'starting', 'stopping')"

/* ---- leases ---- */

int registry_lease_get(Registry *r, int64_t workspace_id, uint32_t *ret, Error *err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int k = registry_prepare(r, "SELECT ip FROM ip_leases WHERE workspace_id = ?", &s, err);
        if (k < 0)
                return k;
        k = registry_bind(r, s, err, "i", workspace_id);
        if (k < 0)
                return k;
        k = registry_step(r, s, err);
        if (k < 0)
                return k;
        if (k == 0)
                return -ENOENT;
        const char *ip = (const char *) sqlite3_column_text(s, 0);
        if (!ip || net_addr_parse(ip, ret) < 0)
                return error_set(err, EUCLEAN, "the registry holds an invalid address for workspace %lld: %s",
                                 (long long) workspace_id, ip ? ip : "NULL");
        return 0;
}

/* Every leased address, for allocation. Rows that do not parse are
 * skipped: they cannot collide with an address we would hand out. */
static int leased_addrs(Registry *r, uint32_t **ret, size_t *ret_n, Error *err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int k = registry_prepare(r, "SELECT ip FROM ip_leases", &s, err);
        if (k < 0)
                return k;
        _cleanup_free_ uint32_t *v = NULL;
        size_t n = 0, cap = 0;
        while ((k = registry_step(r, s, err)) > 0) {
                uint32_t a;
                const char *ip = (const char *) sqlite3_column_text(s, 0);
                if (!ip || net_addr_parse(ip, &a) < 0)
                        continue;
                if (n == cap) {
                        cap = cap ? cap * 2 : 64;
                        uint32_t *nv = reallocarray(v, cap, sizeof *nv);
                        if (!nv)
                                return error_set(err, ENOMEM, "out of memory");
                        v = nv;
                }
                v[n++] = a;
        }
        if (k < 0)
                return k;
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

static int lease_store(Registry *r, int64_t workspace_id, uint32_t addr, Error *err)
{
        char ip[NET_ADDR_STRLEN];
        net_addr_format(addr, ip);
        int k = registry_run(r, err, "DELETE FROM ip_leases WHERE workspace_id = ?", "i", workspace_id);
        if (k < 0)
                return k;
        k = registry_run(r, err, "INSERT INTO ip_leases (ip, workspace_id) VALUES (?, ?)", "ti", ip, workspace_id);
        if (k == -ENOENT)
                return error_set(err, ENOENT, "workspace %lld does not exist", (long long) workspace_id);
        if (k < 0)
                return k;
        return registry_run(r, err, "UPDATE workspaces SET ip = ? WHERE id = ?", "ti", ip, workspace_id);
}

int registry_lease_acquire(Registry *r, const NetSubnet *subnet, int64_t workspace_id, uint32_t *ret,
                           bool *ret_new, Error *err)
{
        _cleanup_txn_ RegistryTxn txn = {};
        int k = registry_txn_begin(r, &txn, err);
        if (k < 0)
                return k;
        uint32_t addr;
        k = registry_lease_get(r, workspace_id, &addr, err);
        if (k < 0 && k != -ENOENT)
                return k;
        if (k == 0 && net_subnet_is_leasable(subnet, addr)) {
                *ret = addr;
                if (ret_new)
                        *ret_new = false;
                return registry_txn_commit(&txn, err);
        }
        /* No lease, or one from a subnet configured before: a new one. */
        _cleanup_free_ uint32_t *used = NULL;
        size_t n_used = 0;
        k = leased_addrs(r, &used, &n_used, err);
        if (k < 0)
                return k;
        k = ipam_lowest_free(subnet, used, n_used, &addr);
        if (k == -ENOSPC) {
                char buf[NET_SUBNET_STRLEN];
                return error_set(err, ENOSPC,
                                 "no free address left in subnet %s (%zu leased); stop a workspace or choose a "
                                 "larger \"subnet\" in config.toml",
                                 net_subnet_format(subnet, buf), n_used);
        }
        if (k < 0)
                return error_setc(err, -k, "allocating an address");
        k = lease_store(r, workspace_id, addr, err);
        if (k < 0)
                return k;
        k = registry_txn_commit(&txn, err);
        if (k < 0)
                return k;
        *ret = addr;
        if (ret_new)
                *ret_new = true;
        return 0;
}

int registry_lease_release(Registry *r, int64_t workspace_id, Error *err)
{
        _cleanup_txn_ RegistryTxn txn = {};
        int k = registry_txn_begin(r, &txn, err);
        if (k < 0)
                return k;
        int n = registry_run(r, err, "DELETE FROM ip_leases WHERE workspace_id = ?", "i", workspace_id);
        if (n < 0)
                return n;
        k = registry_run(r, err, "UPDATE workspaces SET ip = NULL WHERE id = ? AND ip IS NOT NULL", "i",
                         workspace_id);
        if (k < 0)
                return k;
        k = registry_txn_commit(&txn, err);
        if (k < 0)
                return k;
        return n > 0 ? 1 : 0;
}

int registry_leases_list(Registry *r, NetLease **ret, size_t *ret_n, Error *err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int k = registry_prepare(r,
                                 "SELECT l.workspace_id, l.ip, w.state IN " RUNNING_STATES " "
                                 "FROM ip_leases l JOIN workspaces w ON w.id = l.workspace_id ORDER BY l.workspace_id",
                                 &s, err);
        if (k < 0)
                return k;
        _cleanup_free_ NetLease *v = NULL;
        size_t n = 0, cap = 0;
        while ((k = registry_step(r, s, err)) > 0) {
                NetLease l = { .workspace_id = sqlite3_column_int64(s, 0), .running = sqlite3_column_int(s, 2) != 0 };
                const char *ip = (const char *) sqlite3_column_text(s, 1);
                if (!ip || net_addr_parse(ip, &l.addr) < 0)
                        l.addr = 0; /* released by the caller like any stale lease */
                if (n == cap) {
                        cap = cap ? cap * 2 : 16;
                        NetLease *nv = reallocarray(v, cap, sizeof *nv);
                        if (!nv)
                                return error_set(err, ENOMEM, "out of memory");
                        v = nv;
                }
                v[n++] = l;
        }
        if (k < 0)
                return k;
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

/* ---- ports ---- */

/* Which workspace holds host_port: -ENOENT when none, else its id and
 * "sandbox/workspace" in *ret_name. */
static int port_owner(Registry *r, uint16_t host_port, int64_t *ret_id, char **ret_name, Error *err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int k = registry_prepare(r,
                                 "SELECT p.workspace_id, s.name || '/' || w.name FROM ports p "
                                 "JOIN workspaces w ON w.id = p.workspace_id JOIN sandboxes s ON s.id = w.sandbox_id "
                                 "WHERE p.host_ip = '127.0.0.1' AND p.host_port = ? AND p.proto = 'tcp'",
                                 &s, err);
        if (k < 0)
                return k;
        k = registry_bind(r, s, err, "i", (int64_t) host_port);
        if (k < 0)
                return k;
        k = registry_step(r, s, err);
        if (k < 0)
                return k;
        if (k == 0)
                return -ENOENT;
        *ret_id = sqlite3_column_int64(s, 0);
        if (registry_column_strdup(s, 1, ret_name) < 0)
                return error_set(err, ENOMEM, "out of memory");
        return 0;
}

/* Each published port is a listener in the daemon: without a bound,
 * users together could fill its descriptor table. Root is exempt. */
#define PORTS_PER_USER_MAX 256

static int workspace_owner_uid(Registry *r, int64_t workspace_id, int64_t *ret, Error *err)
{
        int k = registry_query_int64(r, ret, err, "SELECT owner_uid FROM workspaces WHERE id = ?", "i",
                                     workspace_id);
        if (k == -ENOENT) {
                error_clear(err);
                return error_set(err, ENOENT, "workspace %lld does not exist", (long long) workspace_id);
        }
        return k;
}

/* The holder is named only to root and to its own owner: another uid's
 * sandbox and workspace names are not the caller's to learn
 * (docs/security.md "Multi-user model"). */
static int port_taken_error(Registry *r, uint16_t host_port, int64_t holder, const char *holder_name,
                            int64_t workspace_id, Error *err)
{
        int64_t mine = 0, theirs = 0;
        int k = workspace_owner_uid(r, workspace_id, &mine, err);
        if (k >= 0)
                k = workspace_owner_uid(r, holder, &theirs, err);
        if (k < 0)
                return k;
        if (mine != 0 && mine != theirs)
                return error_set(err, EEXIST, "127.0.0.1:%u is already in use; choose another host port",
                                 host_port);
        return error_set(err, EEXIST,
                         "127.0.0.1:%u is already published by workspace %s; choose another host port or "
                         "unpublish it there first",
                         host_port, holder_name ? holder_name : "?");
}

/* Room for one more port of the workspace's owner. */
static int port_check_cap(Registry *r, int64_t workspace_id, Error *err)
{
        int64_t owner = 0, n = 0;
        int k = workspace_owner_uid(r, workspace_id, &owner, err);
        if (k < 0 || owner == 0)
                return k;
        k = registry_query_int64(r, &n, err,
                                 "SELECT count(*) FROM ports p JOIN workspaces w ON w.id = p.workspace_id "
                                 "WHERE w.owner_uid = ?",
                                 "i", owner);
        if (k < 0)
                return k;
        if (n >= PORTS_PER_USER_MAX)
                return error_set(err, EDQUOT,
                                 "uid %lld already publishes %lld port(s), the most a user may; unpublish some "
                                 "first ('enclave workspace port unpublish')",
                                 (long long) owner, (long long) n);
        return 0;
}

static int ports_declare_locked(Registry *r, int64_t workspace_id, const PortSpec *ports, size_t n, Error *err)
{
        int k = registry_run(r, err, "DELETE FROM ports WHERE workspace_id = ? AND declared = 1", "i", workspace_id);
        if (k < 0)
                return k;
        for (size_t i = 0; i < n; i++) {
                for (size_t j = 0; j < i; j++)
                        if (ports[j].host_port == ports[i].host_port)
                                return error_set(err, EEXIST, "host port %u is declared twice", ports[i].host_port);
                int64_t owner;
                _cleanup_free_ char *owner_name = NULL;
                k = port_owner(r, ports[i].host_port, &owner, &owner_name, err);
                if (k == 0 && owner != workspace_id)
                        return port_taken_error(r, ports[i].host_port, owner, owner_name, workspace_id, err);
                if (k == 0) {
                        /* Published by hand before; the declaration takes it over. */
                        k = registry_run(r, err,
                                         "UPDATE ports SET declared = 1, workspace_port = ? "
                                         "WHERE workspace_id = ? AND host_port = ? AND host_ip = '127.0.0.1'",
                                         "iii", (int64_t) ports[i].workspace_port, workspace_id,
                                         (int64_t) ports[i].host_port);
                } else if (k == -ENOENT) {
                        error_clear(err);
                        k = port_check_cap(r, workspace_id, err);
                        if (k < 0)
                                return k;
                        k = registry_run(r, err,
                                         "INSERT INTO ports (workspace_id, host_port, workspace_port, declared) "
                                         "VALUES (?, ?, ?, 1)",
                                         "iii", workspace_id, (int64_t) ports[i].host_port,
                                         (int64_t) ports[i].workspace_port);
                }
                if (k == -ENOENT)
                        return error_set(err, ENOENT, "workspace %lld does not exist", (long long) workspace_id);
                if (k < 0)
                        return k;
        }
        return 0;
}

int registry_ports_declare(Registry *r, int64_t workspace_id, const PortSpec *ports, size_t n, Error *err)
{
        if (!sqlite3_get_autocommit(registry_db(r)))
                /* Part of the caller's transaction (workspace.create). */
                return ports_declare_locked(r, workspace_id, ports, n, err);
        _cleanup_txn_ RegistryTxn txn = {};
        int k = registry_txn_begin(r, &txn, err);
        if (k < 0)
                return k;
        k = ports_declare_locked(r, workspace_id, ports, n, err);
        if (k < 0)
                return k;
        return registry_txn_commit(&txn, err);
}

int registry_port_add(Registry *r, int64_t workspace_id, const PortSpec *p, bool declared, Error *err)
{
        int64_t owner;
        _cleanup_free_ char *owner_name = NULL;
        int k = port_owner(r, p->host_port, &owner, &owner_name, err);
        if (k == 0)
                return port_taken_error(r, p->host_port, owner, owner_name, workspace_id, err);
        if (k != -ENOENT)
                return k;
        error_clear(err);
        k = port_check_cap(r, workspace_id, err);
        if (k < 0)
                return k;
        k = registry_run(r, err,
                         "INSERT INTO ports (workspace_id, host_port, workspace_port, declared) VALUES (?, ?, ?, ?)",
                         "iiib", workspace_id, (int64_t) p->host_port, (int64_t) p->workspace_port, declared);
        if (k == -ENOENT)
                return error_set(err, ENOENT, "workspace %lld does not exist", (long long) workspace_id);
        return k < 0 ? k : 0;
}

int registry_port_remove(Registry *r, int64_t workspace_id, uint16_t host_port, Error *err)
{
        int k = registry_run(r, err,
                             "DELETE FROM ports WHERE workspace_id = ? AND host_ip = '127.0.0.1' AND host_port = ? "
                             "AND proto = 'tcp'",
                             "ii", workspace_id, (int64_t) host_port);
        if (k < 0)
                return k;
        return k == 0 ? -ENOENT : 0;
}

int registry_ports_list(Registry *r, int64_t workspace_id, NetPort **ret, size_t *ret_n, Error *err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int k = registry_prepare(r,
                                 "SELECT host_port, workspace_port, declared FROM ports WHERE workspace_id = ? "
                                 "ORDER BY host_port",
                                 &s, err);
        if (k < 0)
                return k;
        k = registry_bind(r, s, err, "i", workspace_id);
        if (k < 0)
                return k;
        _cleanup_free_ NetPort *v = NULL;
        size_t n = 0, cap = 0;
        while ((k = registry_step(r, s, err)) > 0) {
                if (n == cap) {
                        cap = cap ? cap * 2 : 8;
                        NetPort *nv = reallocarray(v, cap, sizeof *nv);
                        if (!nv)
                                return error_set(err, ENOMEM, "out of memory");
                        v = nv;
                }
                v[n++] = (NetPort) {
                        .host_port = (uint16_t) sqlite3_column_int(s, 0),
                        .workspace_port = (uint16_t) sqlite3_column_int(s, 1),
                        .declared = sqlite3_column_int(s, 2) != 0,
                };
        }
        if (k < 0)
                return k;
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

int registry_workspaces_total(Registry *r, int64_t *ret, Error *err)
{
        return registry_query_int64(r, ret, err, "SELECT count(*) FROM workspaces", "");
}
