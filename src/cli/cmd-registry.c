/* enclave registry repair [--strict]: fix what `enclave doctor` finds
 * in the registry and on disk (docs/doctor.md). */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "proto/actions.h"
#include "base/str.h"

static int cmd_repair(Cli *cli, const CliArgs *a)
{
        bool strict = cli_arg_flag(a, "strict");
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_client_ Client *c = NULL;
        if (client_open(cli, &c, &err) < 0)
                return cli_fail_error(cli, &err);
        json_t *res = NULL;
        if (client_call(c, PROTO_ACTION_REGISTRY_REPAIR, json_pack("{s:b}", "strict", strict), NULL, 0, NULL, NULL,
                        &res, NULL, &err) < 0)
                return cli_fail_error(cli, &err);
        json_t *fixed = json_object_get(res, "fixed"), *left = json_object_get(res, "left");
        size_t n_left = json_array_size(left);
        if (cli->json)
                json_print(res, stdout);
        else if (!cli->quiet) {
                size_t i;
                json_t *s;
                json_array_foreach(fixed, i, s)
                        printf("fixed: %s\n", json_string_value(s));
                json_array_foreach(left, i, s)
                        printf("left:  %s\n", json_string_value(s));
                if (json_array_size(fixed) == 0 && n_left == 0)
                        printf("nothing to repair\n");
        }
        json_decref(res);
        return n_left ? EXIT_FAIL : EXIT_OK;
}

static const CliOption repair_options[] = {
        { "strict", 0, NULL, "also delete rows whose directories are gone, detach mounts left under the state "
          "dir and kill what runs in stale cgroups" },
        {},
};

static const CliCommand repair = {
        "repair", "fix registry rows and on-disk state that disagree",
        "Fixes what 'enclave doctor' finds: workspaces marked running whose process is gone\n"
        "are cleaned up and marked stopped; stale veths, addresses, firewall entries and\n"
        "empty cgroups go; directories without a registry row are removed; snapshot rows\n"
        "are made to match the snapshots. Exits 1 when something was left.",
        repair_options, .run = cmd_repair,
};

const CliCommand cli_group_registry = {
        "registry", "fix the registry against the disk",
        .sub = (const CliCommand *const[]) { &repair, NULL },
};
