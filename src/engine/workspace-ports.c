/* A workspace's published ports (workspace-ports.h). */
#include "engine/workspace-ports.h"
#include "base/str.h"
#include "engine/network.h"
#include "net/proxy.h"
#include "registry/registry-workspace.h"

int port_workspace_lookup(Registry *reg, const char *sandbox, const char *workspace, PortWorkspace *t, Error *err)
{
        *t = (PortWorkspace) { .sandbox = sandbox, .workspace = workspace };
        int r = registry_query_int64(reg, &t->id, err,
                                     "SELECT w.id FROM workspaces w JOIN sandboxes s ON s.id = w.sandbox_id "
                                     "WHERE s.name = ? AND w.name = ?",
                                     "tt", sandbox, workspace);
        if (r == -ENOENT) {
                error_clear(err);
                return registry_workspace_not_found(reg, sandbox, workspace, err);
        }
        if (r < 0)
                return r;
        r = registry_lease_get(reg, t->id, &t->addr, err);
        if (r < 0 && r != -ENOENT)
                return r;
        t->running = r == 0;
        return 0;
}

static Proxy *proxy_or_error(Engine *eng, Error *err)
{
        Proxy *p = network_proxy(eng);
        if (!p)
                error_set(err, ENOTCONN, "the daemon's port proxy is not running");
        return p;
}

int workspace_port_publish(Engine *eng, Registry *reg, const PortWorkspace *w, const PortSpec *spec, bool declared,
                           Error *err)
{
        Proxy *proxy = proxy_or_error(eng, err);
        if (!proxy)
                return -ENOTCONN;
        _cleanup_txn_ RegistryTxn txn = {};
        int r = registry_txn_begin(reg, &txn, err);
        if (r >= 0)
                r = registry_port_add(reg, w->id, spec, declared, err);
        if (r < 0)
                return r;
        char tag[32];
        network_port_tag(w->id, tag);
        if (w->running) {
                r = proxy_publish(proxy, spec->host_port, w->addr, spec->workspace_port, tag, err);
                if (r < 0)
                        return r; /* the row is rolled back */
        }
        r = registry_txn_commit(&txn, err);
        if (r < 0 && w->running)
                (void) proxy_unpublish(proxy, spec->host_port, NULL);
        return r;
}

int workspace_port_unpublish(Engine *eng, Registry *reg, const PortWorkspace *w, uint16_t host_port,
                             bool *ret_was_active, Error *err)
{
        Proxy *proxy = proxy_or_error(eng, err);
        if (!proxy)
                return -ENOTCONN;
        int r = registry_port_remove(reg, w->id, host_port, err);
        if (r == -ENOENT)
                return error_set(err, ENOENT, "workspace %s/%s publishes nothing on 127.0.0.1:%u; see 'enclave "
                                 "workspace port list %s %s'", w->sandbox, w->workspace, host_port, w->sandbox,
                                 w->workspace);
        if (r < 0)
                return r;
        char tag[32];
        network_port_tag(w->id, tag);
        ProxyMapping *m = NULL;
        size_t n = 0;
        *ret_was_active = false;
        if (proxy_list(proxy, &m, &n, NULL) >= 0) {
                *ret_was_active = network_port_mapping(m, n, host_port, tag) != NULL;
                proxy_mappings_free(m, n);
        }
        if (*ret_was_active)
                (void) proxy_unpublish(proxy, host_port, NULL);
        return 0;
}

int workspace_port_list(Engine *eng, Registry *reg, const PortWorkspace *w, PortState **ret, size_t *ret_n,
                        Error *err)
{
        Proxy *proxy = proxy_or_error(eng, err);
        if (!proxy)
                return -ENOTCONN;
        _cleanup_free_ NetPort *ports = NULL;
        size_t n_ports = 0;
        int r = registry_ports_list(reg, w->id, &ports, &n_ports, err);
        if (r < 0)
                return r;
        ProxyMapping *m = NULL;
        size_t n = 0;
        r = proxy_list(proxy, &m, &n, err);
        if (r < 0)
                return r;
        char tag[32];
        network_port_tag(w->id, tag);
        PortState *st = calloc(n_ports + 1, sizeof *st);
        for (size_t i = 0; st && i < n_ports; i++) {
                const ProxyMapping *a = network_port_mapping(m, n, ports[i].host_port, tag);
                st[i] = (PortState) { ports[i], a != NULL, a ? a->connections : 0, a ? a->accepted : 0 };
        }
        proxy_mappings_free(m, n);
        if (!st)
                return error_set(err, ENOMEM, "out of memory");
        *ret = st;
        *ret_n = n_ports;
        return 0;
}
