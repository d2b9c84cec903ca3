/* workspace.port.publish, workspace.port.unpublish, workspace.port.list
 * (SPEC §6): the workspace's mappings live in the ports table; those
 * of a running workspace are active in the daemon's port proxy.
 *
 *   publish   {sandbox, workspace, port: "127.0.0.1:HOST:WS[/tcp]", declared?: false}
 *             adds a mapping (declared = 0 unless asked otherwise: a
 *             declared one comes from create/up) and activates it at
 *             once when the workspace runs; a failure to listen undoes
 *             the row.
 *   unpublish {sandbox, workspace, port: "127.0.0.1:HOST[/tcp]"}
 *   list      {sandbox, workspace} -> {running, ip, ports: [{host_ip, host_port,
 *             workspace_port, proto, declared, active, connections, accepted}]}
 *
 * They run on the event loop: the proxy carries out a command in
 * microseconds, and the registry work is a few statements. */
#include "daemon/action.h"
#include "registry/registry-workspace.h"
#include "daemon/daemon.h"
#include "engine/network.h"
#include "daemon/owner.h"
#include "registry/registry-network.h"
#include "net/proxy.h"
#include "base/str.h"

#include <stdio.h>

typedef struct PortTarget {
        const char *sandbox;
        const char *workspace;
        int64_t id;
        bool running;   /* holds a lease */
        uint32_t addr;
} PortTarget;

static int lookup_workspace(Registry *reg, PortTarget *t, Error *err)
{
        int r = registry_query_int64(reg, &t->id, err,
                                     "SELECT w.id FROM workspaces w JOIN sandboxes s ON s.id = w.sandbox_id "
                                     "WHERE s.name = ? AND w.name = ?",
                                     "tt", t->sandbox, t->workspace);
        if (r == -ENOENT) {
                error_clear(err);
                return registry_workspace_not_found(reg, t->sandbox, t->workspace, err);
        }
        if (r < 0)
                return r;
        r = registry_lease_get(reg, t->id, &t->addr, err);
        if (r < 0 && r != -ENOENT)
                return r;
        t->running = r == 0;
        return 0;
}

static int port_target(Call *c, PortTarget *t, Error *err)
{
        *t = (PortTarget) {};
        int r = call_param_string(c, "sandbox", true, &t->sandbox, err);
        if (r >= 0)
                r = call_param_string(c, "workspace", true, &t->workspace, err);
        if (r < 0)
                return r;
        Registry *reg = call_registry(c, err);
        if (!reg)
                return -EIO;
        r = owner_check_workspace(c, reg, t->sandbox, t->workspace, err);
        if (r < 0)
                return r;
        return lookup_workspace(reg, t, err);
}

static void tag_of(int64_t id, char buf[static 32])
{
        snprintf(buf, 32, "ws:%lld", (long long) id);
}

static Proxy *proxy_or_error(Call *c, Error *err)
{
        Proxy *p = network_proxy(call_engine(c));
        if (!p)
                error_set(err, ENOTCONN, "the daemon's port proxy is not running");
        return p;
}

/* The proxy's mapping of host_port when it belongs to tag, else NULL. */
static const ProxyMapping *find_active(const ProxyMapping *m, size_t n, uint16_t host_port, const char *tag)
{
        for (size_t i = 0; i < n; i++)
                if (m[i].host_port == host_port && m[i].tag && streq(m[i].tag, tag))
                        return &m[i];
        return NULL;
}

static int action_port_publish(Call *c, Error *err)
{
        PortTarget t;
        int r = port_target(c, &t, err);
        if (r < 0)
                return r;
        const char *spec_s;
        bool declared;
        r = call_param_string(c, "port", true, &spec_s, err);
        if (r >= 0)
                r = call_param_bool(c, "declared", false, &declared, err);
        if (r < 0)
                return r;
        PortSpec spec;
        r = port_spec_parse(spec_s, &spec, err);
        if (r < 0)
                return error_wrap(err, "port \"%s\"", spec_s);
        r = owner_check_ports(c, &spec, 1, err);
        if (r < 0)
                return r;
        Proxy *proxy = proxy_or_error(c, err);
        if (!proxy)
                return -ENOTCONN;
        Registry *reg = call_registry(c, err);
        if (!reg)
                return -EIO;

        _cleanup_txn_ RegistryTxn txn = {};
        r = registry_txn_begin(reg, &txn, err);
        if (r < 0)
                return r;
        r = registry_port_add(reg, t.id, &spec, declared, err);
        if (r < 0)
                return r;
        char tag[32];
        tag_of(t.id, tag);
        if (t.running) {
                r = proxy_publish(proxy, spec.host_port, t.addr, spec.workspace_port, tag, err);
                if (r < 0)
                        return r; /* the row is rolled back */
        }
        r = registry_txn_commit(&txn, err);
        if (r < 0) {
                if (t.running)
                        (void) proxy_unpublish(proxy, spec.host_port, NULL);
                return r;
        }
        char buf[PORT_SPEC_STRING_MAX];
        port_spec_format(&spec, buf);
        return call_reply(c,
                          json_pack("{s:s, s:i, s:i, s:b, s:b}", "port", buf, "host_port", (int) spec.host_port,
                                    "workspace_port", (int) spec.workspace_port, "declared", declared, "active",
                                    t.running),
                          -1);
}

static int action_port_unpublish(Call *c, Error *err)
{
        PortTarget t;
        int r = port_target(c, &t, err);
        if (r < 0)
                return r;
        const char *spec_s;
        r = call_param_string(c, "port", true, &spec_s, err);
        if (r < 0)
                return r;
        uint16_t host_port;
        r = port_host_parse(spec_s, &host_port, err);
        if (r < 0)
                return error_wrap(err, "port \"%s\"", spec_s);
        Proxy *proxy = proxy_or_error(c, err);
        if (!proxy)
                return -ENOTCONN;
        Registry *reg = call_registry(c, err);
        if (!reg)
                return -EIO;
        r = registry_port_remove(reg, t.id, host_port, err);
        if (r == -ENOENT)
                return error_set(err, ENOENT, "workspace %s/%s publishes nothing on 127.0.0.1:%u; see 'enclave "
                                 "workspace port list %s %s'", t.sandbox, t.workspace, host_port, t.sandbox,
                                 t.workspace);
        if (r < 0)
                return r;

        char tag[32];
        tag_of(t.id, tag);
        ProxyMapping *m = NULL;
        size_t n = 0;
        bool was_active = false;
        if (proxy_list(proxy, &m, &n, NULL) >= 0) {
                was_active = find_active(m, n, host_port, tag) != NULL;
                proxy_mappings_free(m, n);
        }
        if (was_active)
                (void) proxy_unpublish(proxy, host_port, NULL);
        return call_reply(c, json_pack("{s:i, s:b}", "host_port", (int) host_port, "was_active", was_active), -1);
}

static json_t *port_json(const NetPort *p, const ProxyMapping *active)
{
        return json_pack("{s:s, s:i, s:i, s:s, s:b, s:b, s:I, s:I}", "host_ip", "127.0.0.1", "host_port",
                         (int) p->host_port, "workspace_port", (int) p->workspace_port, "proto", "tcp", "declared",
                         p->declared, "active", active != NULL, "connections",
                         (json_int_t) (active ? active->connections : 0), "accepted",
                         (json_int_t) (active ? active->accepted : 0));
}

static int action_port_list(Call *c, Error *err)
{
        PortTarget t;
        int r = port_target(c, &t, err);
        if (r < 0)
                return r;
        Proxy *proxy = proxy_or_error(c, err);
        if (!proxy)
                return -ENOTCONN;
        Registry *reg = call_registry(c, err);
        if (!reg)
                return -EIO;
        _cleanup_free_ NetPort *ports = NULL;
        size_t n_ports = 0;
        r = registry_ports_list(reg, t.id, &ports, &n_ports, err);
        if (r < 0)
                return r;
        ProxyMapping *m = NULL;
        size_t n = 0;
        r = proxy_list(proxy, &m, &n, err);
        if (r < 0)
                return r;
        char tag[32];
        tag_of(t.id, tag);
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < n_ports; i++)
                if (json_array_append_new(arr, port_json(&ports[i], find_active(m, n, ports[i].host_port, tag))) < 0)
                        arr = (json_decref(arr), NULL);
        proxy_mappings_free(m, n);
        if (!arr)
                return error_set(err, ENOMEM, "out of memory");
        char ip[NET_ADDR_STRLEN] = "";
        if (t.running)
                net_addr_format(t.addr, ip);
        return call_reply(c, json_pack("{s:b, s:s?, s:o}", "running", t.running, "ip", t.running ? ip : NULL,
                                       "ports", arr),
                          -1);
}

const Action port_actions[] = {
        { PROTO_ACTION_WORKSPACE_PORT_PUBLISH, action_port_publish, ACTION_MUTATES },
        { PROTO_ACTION_WORKSPACE_PORT_UNPUBLISH, action_port_unpublish, ACTION_MUTATES },
        { PROTO_ACTION_WORKSPACE_PORT_LIST, action_port_list, 0 },
        {},
};
