/* enclave workspace port publish|unpublish|list: thin clients of the
 * workspace.port.* actions (src/daemon/actions-ports.c). The port
 * strings are checked here first, so a typo never needs a daemon. */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "proto/actions.h"
#include "spec/values.h"
#include "base/str.h"

#include <stdio.h>

static json_t *target_params(const CliArgs *a)
{
        return json_pack("{s:s, s:s}", "sandbox", cli_arg(a, "SANDBOX"), "workspace", cli_arg(a, "WORKSPACE"));
}

static int call_and_print(Cli *cli, const char *action, json_t *params, json_t **ret)
{
        if (!params)
                return cli_fail(cli, "out of memory");
        _cleanup_error_ Error err = ERROR_INIT;
        if (cli_call(cli, action, params, ret, &err) < 0)
                return cli_fail_error(cli, &err);
        if (cli->json) {
                json_print(*ret, stdout);
                json_decref(*ret);
                *ret = NULL;
        }
        return EXIT_OK;
}

static int cmd_port_publish(Cli *cli, const CliArgs *a)
{
        const char *mapping = cli_arg(a, "MAPPING");
        _cleanup_error_ Error err = ERROR_INIT;
        PortSpec spec;
        if (port_spec_parse(mapping, &spec, &err) < 0)
                return cli_usage_error(cli, "%s", error_msg(&err));
        json_t *params = target_params(a);
        if (params && json_object_set_new(params, "port", json_string(mapping)) < 0)
                params = (json_decref(params), NULL);
        json_t *res = NULL;
        int r = call_and_print(cli, PROTO_ACTION_WORKSPACE_PORT_PUBLISH, params, &res);
        if (r != EXIT_OK || !res)
                return r;
        if (!cli->quiet) {
                bool active = json_is_true(json_object_get(res, "active"));
                printf("published 127.0.0.1:%u -> %s/%s:%u%s\n", spec.host_port, cli_arg(a, "SANDBOX"),
                       cli_arg(a, "WORKSPACE"),
                       spec.workspace_port, active ? "" : " (active once the workspace runs)");
        }
        json_decref(res);
        return EXIT_OK;
}

static int cmd_port_unpublish(Cli *cli, const CliArgs *a)
{
        const char *mapping = cli_arg(a, "MAPPING");
        _cleanup_error_ Error err = ERROR_INIT;
        uint16_t host_port;
        if (port_host_parse(mapping, &host_port, &err) < 0)
                return cli_usage_error(cli, "%s", error_msg(&err));
        json_t *params = target_params(a);
        if (params && json_object_set_new(params, "port", json_string(mapping)) < 0)
                params = (json_decref(params), NULL);
        json_t *res = NULL;
        int r = call_and_print(cli, PROTO_ACTION_WORKSPACE_PORT_UNPUBLISH, params, &res);
        if (r != EXIT_OK || !res)
                return r;
        if (!cli->quiet)
                printf("unpublished 127.0.0.1:%u\n", host_port);
        json_decref(res);
        return EXIT_OK;
}

static int cmd_port_list(Cli *cli, const CliArgs *a)
{
        json_t *res = NULL;
        int r = call_and_print(cli, PROTO_ACTION_WORKSPACE_PORT_LIST, target_params(a), &res);
        if (r != EXIT_OK || !res)
                return r;
        static const char *const headers[] = { "HOST", "WORKSPACE", "PROTO", "DECLARED", "ACTIVE", "CONNECTIONS",
                                                "ACCEPTED", NULL };
        _cleanup_table_ Table *t = table_new(headers);
        if (!t) {
                json_decref(res);
                return cli_fail(cli, "out of memory");
        }
        const char *ip = json_string_value(json_object_get(res, "ip"));
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(res, "ports"), i, p) {
                char host[32], ws[40], conns[24], acc[24];
                bool active = json_is_true(json_object_get(p, "active"));
                snprintf(host, sizeof host, "127.0.0.1:%lld", json_integer_value(json_object_get(p, "host_port")));
                snprintf(ws, sizeof ws, "%s:%lld", ip ? ip : "-",
                         json_integer_value(json_object_get(p, "workspace_port")));
                snprintf(conns, sizeof conns, "%lld", json_integer_value(json_object_get(p, "connections")));
                snprintf(acc, sizeof acc, "%lld", json_integer_value(json_object_get(p, "accepted")));
                const char *cells[] = { host, ws, "tcp", json_is_true(json_object_get(p, "declared")) ? "yes" : "no",
                                        active ? "yes" : "no", active ? conns : NULL, active ? acc : NULL };
                if (table_add_row(t, cells) < 0) {
                        json_decref(res);
                        return cli_fail(cli, "out of memory");
                }
        }
        if (table_rows(t) == 0)
                printf("workspace %s/%s publishes no ports\n", cli_arg(a, "SANDBOX"), cli_arg(a, "WORKSPACE"));
        else
                table_print(t, cli, stdout);
        json_decref(res);
        return EXIT_OK;
}

#define SB_WS { "SANDBOX", .complete = CLI_COMPLETE_SANDBOX }, { "WORKSPACE", .complete = CLI_COMPLETE_WORKSPACE }

static const CliArg publish_args[] = { SB_WS, { "MAPPING" }, {} };
static const CliArg list_args[] = { SB_WS, {} };

static const CliCommand publish = {
        "publish", "publish a workspace port on host loopback",
        "Forwards 127.0.0.1:HOST on the host to port WS of the workspace while it runs.\n"
        "MAPPING is 127.0.0.1:HOST:WS[/tcp]: loopback and TCP only.",
        NULL, publish_args, .run = cmd_port_publish,
};

static const CliCommand unpublish = {
        "unpublish", "stop publishing a port",
        "Stops forwarding a host port; MAPPING is 127.0.0.1:HOST[/tcp].",
        NULL, publish_args, .run = cmd_port_unpublish,
};

static const CliCommand list = {
        "list", "declared and active port mappings",
        "Lists the workspace's published ports: declared ones, and whether each is\n"
        "active with its connection counts.",
        NULL, list_args, .run = cmd_port_list,
};

const CliCommand cli_group_port = {
        "port", "loopback port publishing",
        .sub = (const CliCommand *const[]) { &publish, &unpublish, &list, NULL },
};
