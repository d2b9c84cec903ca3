/* enclave doctor [--json]: the daemon's checklist of the host and the
 * state (docs/doctor.md). Exits 1 when something needs fixing. */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "proto/actions.h"
#include "base/str.h"

#include <string.h>

static const char *mark(const Cli *cli, const char *status, char *buf, size_t size)
{
        const char *sym = streq(status, "ok") ? "✓" : streq(status, "warn") ? "!" : "✗";
        const char *color = streq(status, "ok") ? "32" : streq(status, "warn") ? "33" : "31";
        if (cli->color)
                snprintf(buf, size, "\033[%sm%s\033[0m", color, sym);
        else
                snprintf(buf, size, "%s", sym);
        return buf;
}

static void print_check(const Cli *cli, json_t *c)
{
        char m[32];
        const char *status = json_string_value(json_object_get(c, "status")) ?: "fail";
        const char *title = json_string_value(json_object_get(c, "title")) ?: "?";
        const char *detail = json_string_value(json_object_get(c, "detail"));
        const char *hint = json_string_value(json_object_get(c, "hint"));
        printf("  %s %s%s%s\n", mark(cli, status, m, sizeof m), title, detail ? ": " : "", detail ?: "");
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(c, "items"), i, item)
                printf("      %s\n", json_string_value(item) ?: "");
        if (hint && !streq(status, "ok"))
                printf("      fix: %s\n", hint);
}

static void print_report(const Cli *cli, json_t *res)
{
        const char *group = NULL;
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(res, "checks"), i, c) {
                const char *g = json_string_value(json_object_get(c, "group")) ?: "";
                if (!group || !streq(group, g)) {
                        printf("%s%s\n", group ? "\n" : "", streq(g, "host") ? "Host" : streq(g, "state") ? "State" : g);
                        group = g;
                }
                print_check(cli, c);
        }
        long long problems = (long long) json_integer_value(json_object_get(res, "problems"));
        long long warnings = (long long) json_integer_value(json_object_get(res, "warnings"));
        if (problems)
                printf("\n%lld problem(s), %lld warning(s): see the fix lines above\n", problems, warnings);
        else
                printf("\nno problems, %lld warning(s)\n", warnings);
}

static int cmd_doctor(Cli *cli, const CliArgs *a)
{
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_client_ Client *c = NULL;
        if (client_open(cli, &c, &err) < 0)
                return cli_fail_error(cli, &err);
        json_t *res = NULL;
        if (client_call(c, PROTO_ACTION_DAEMON_DOCTOR, NULL, NULL, 0, NULL, NULL, &res, NULL, &err) < 0)
                return cli_fail_error(cli, &err);
        if (cli->json)
                json_print(res, stdout);
        else if (!cli->quiet)
                print_report(cli, res);
        bool ok = json_is_true(json_object_get(res, "ok"));
        json_decref(res);
        return ok ? EXIT_OK : EXIT_FAIL;
}

const CliCommand cli_cmd_doctor = {
        "doctor", "check the host and the state for problems",
        "Checks the host's kernel features, cgroups, firewall, subordinate ids, tools and\n"
        "LSM setup, and whether the registry agrees with the disk, the mount table, the\n"
        "bridge, the cgroups and the processes. Exits 1 when something needs fixing;\n"
        "'enclave registry repair [--strict]' fixes the state problems.",
        .run = cmd_doctor,
};
