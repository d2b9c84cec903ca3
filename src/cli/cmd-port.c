/* enclave workspace port publish|unpublish|list: thin clients of the
 * workspace.port.* actions (src/daemon/actions-ports.c). The port
 * strings are checked here first, so a typo never needs a daemon. */
#include "cli/cmd-port.h"
#include "cli/client.h"
#include "cli/output.h"
#include "config/values.h"
#include "base/str.h"

#include <stdio.h>

static bool want_help(int argc, char **argv)
{
        for (int i = 1; i < argc; i++)
                if (streq(argv[i], "-h") || streq(argv[i], "--help"))
                        return true;
        return false;
}

/* argv: <name> <sb> <ws> [ARG]; exactly n_args positional arguments. */
static int check_args(Cli *cli, int argc, char **argv, int n_args, const char *usage)
{
        if (want_help(argc, argv)) {
                printf("Usage: enclave workspace port %s\n", usage);
                return -1;
        }
        if (argc - 1 != n_args)
                return cli_usage_error(cli, "usage: enclave workspace port %s", usage);
        for (int i = 1; i < argc; i++)
                if (argv[i][0] == '-')
                        return cli_usage_error(cli, "unknown option '%s'; usage: enclave workspace port %s", argv[i],
                                               usage);
        return 0;
}

static json_t *target_params(char **argv)
{
        return json_pack("{s:s, s:s}", "sandbox", argv[1], "workspace", argv[2]);
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

int cmd_port_publish(Cli *cli, int argc, char **argv)
{
        static const char usage[] = "publish <sb> <ws> 127.0.0.1:HOST:WS[/tcp]";
        int r = check_args(cli, argc, argv, 3, usage);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        _cleanup_error_ Error err = ERROR_INIT;
        PortSpec spec;
        if (port_spec_parse(argv[3], &spec, &err) < 0)
                return cli_usage_error(cli, "%s", error_msg(&err));
        json_t *params = target_params(argv);
        if (params && json_object_set_new(params, "port", json_string(argv[3])) < 0)
                params = (json_decref(params), NULL);
        json_t *res = NULL;
        r = call_and_print(cli, "workspace.port.publish", params, &res);
        if (r != EXIT_OK || !res)
                return r;
        if (!cli->quiet) {
                bool active = json_is_true(json_object_get(res, "active"));
                printf("published 127.0.0.1:%u -> %s/%s:%u%s\n", spec.host_port, argv[1], argv[2],
                       spec.workspace_port, active ? "" : " (active once the workspace runs)");
        }
        json_decref(res);
        return EXIT_OK;
}

int cmd_port_unpublish(Cli *cli, int argc, char **argv)
{
        static const char usage[] = "unpublish <sb> <ws> 127.0.0.1:HOST[/tcp]";
        int r = check_args(cli, argc, argv, 3, usage);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        _cleanup_error_ Error err = ERROR_INIT;
        uint16_t host_port;
        if (port_host_parse(argv[3], &host_port, &err) < 0)
                return cli_usage_error(cli, "%s", error_msg(&err));
        json_t *params = target_params(argv);
        if (params && json_object_set_new(params, "port", json_string(argv[3])) < 0)
                params = (json_decref(params), NULL);
        json_t *res = NULL;
        r = call_and_print(cli, "workspace.port.unpublish", params, &res);
        if (r != EXIT_OK || !res)
                return r;
        if (!cli->quiet)
                printf("unpublished 127.0.0.1:%u\n", host_port);
        json_decref(res);
        return EXIT_OK;
}

int cmd_port_list(Cli *cli, int argc, char **argv)
{
        static const char usage[] = "list <sb> <ws>";
        int r = check_args(cli, argc, argv, 2, usage);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        json_t *res = NULL;
        r = call_and_print(cli, "workspace.port.list", target_params(argv), &res);
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
                printf("workspace %s/%s publishes no ports\n", argv[1], argv[2]);
        else
                table_print(t, cli, stdout);
        json_decref(res);
        return EXIT_OK;
}
