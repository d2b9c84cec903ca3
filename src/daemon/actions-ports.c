/* workspace.port.publish, workspace.port.unpublish, workspace.port.list
 * (SPEC §6): parameters, the owner checks, the engine
 * (engine/workspace-ports.h), the reply.
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
#include "daemon/owner.h"
#include "engine/workspace-ports.h"
#include "spec/address.h"
#include "base/str.h"

static int port_target(Call *c, PortWorkspace *t, Registry **ret_reg, Error *err)
{
        const char *sb, *ws;
        int r = call_param_string(c, "sandbox", true, &sb, err);
        if (r >= 0)
                r = call_param_string(c, "workspace", true, &ws, err);
        if (r < 0)
                return r;
        Registry *reg = call_registry(c, err);
        if (!reg)
                return -EIO;
        r = owner_check_workspace(c, reg, sb, ws, err);
        if (r < 0)
                return r;
        *ret_reg = reg;
        return port_workspace_lookup(reg, sb, ws, t, err);
}

static int action_port_publish(Call *c, Error *err)
{
        PortWorkspace t;
        Registry *reg;
        int r = port_target(c, &t, &reg, err);
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
        if (r >= 0)
                r = workspace_port_publish(call_engine(c), reg, &t, &spec, declared, err);
        if (r < 0)
                return r;
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
        PortWorkspace t;
        Registry *reg;
        int r = port_target(c, &t, &reg, err);
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
        bool was_active;
        r = workspace_port_unpublish(call_engine(c), reg, &t, host_port, &was_active, err);
        if (r < 0)
                return r;
        return call_reply(c, json_pack("{s:i, s:b}", "host_port", (int) host_port, "was_active", was_active), -1);
}

static json_t *port_json(const PortState *p)
{
        return json_pack("{s:s, s:i, s:i, s:s, s:b, s:b, s:I, s:I}", "host_ip", "127.0.0.1", "host_port",
                         (int) p->port.host_port, "workspace_port", (int) p->port.workspace_port, "proto", "tcp",
                         "declared", p->port.declared, "active", p->active, "connections",
                         (json_int_t) p->connections, "accepted", (json_int_t) p->accepted);
}

static int action_port_list(Call *c, Error *err)
{
        PortWorkspace t;
        Registry *reg;
        int r = port_target(c, &t, &reg, err);
        if (r < 0)
                return r;
        _cleanup_free_ PortState *ports = NULL;
        size_t n = 0;
        r = workspace_port_list(call_engine(c), reg, &t, &ports, &n, err);
        if (r < 0)
                return r;
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < n; i++)
                if (json_array_append_new(arr, port_json(&ports[i])) < 0)
                        arr = (json_decref(arr), NULL);
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
