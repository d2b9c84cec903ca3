#include "cli/cli.h"
#include "base/log.h"
#include "base/str.h"

#include <stdarg.h>
#include <string.h>
#include <unistd.h>

/* ---- legacy groups: their own dispatch, until they have tables ---- */

static const Command *find_legacy(const Command *table, const char *name)
{
        for (const Command *c = table; c->name; c++)
                if (streq(c->name, name))
                        return c;
        return NULL;
}

void cli_print_help(const char *prefix, const Command *table, FILE *out)
{
        fprintf(out, "Usage: enclave %s <command> [ARGS]\n\nCommands:\n", prefix);
        for (const Command *c = table; c->name; c++) {
                if (c->hidden)
                        continue;
                fprintf(out, "  %-12s %-44s %s\n", c->name, c->args ? c->args : "", c->summary);
        }
}

static const char *suggest(const Command *table, const char *name)
{
        const char *names[128];
        size_t n = 0;
        for (const Command *c = table; c->name && n < ELEMENTSOF(names); c++)
                if (!c->hidden)
                        names[n++] = c->name;
        return closest_match(name, names, n);
}

int cli_dispatch(Cli *cli, const char *prefix, const Command *table, int argc, char **argv)
{
        if (argc < 1 || streq(argv[0], "--help") || streq(argv[0], "-h") || streq(argv[0], "help")) {
                cli_print_help(prefix, table, argc < 1 ? stderr : stdout);
                return argc < 1 ? EXIT_USAGE : EXIT_OK;
        }
        const Command *c = find_legacy(table, argv[0]);
        if (!c) {
                const char *s = suggest(table, argv[0]);
                if (s)
                        return cli_usage_error(cli, "unknown command '%s %s'; did you mean '%s %s'?",
                                               prefix, argv[0], prefix, s);
                return cli_usage_error(cli, "unknown command '%s %s'; see 'enclave %s --help'",
                                       prefix, argv[0], prefix);
        }
        static char command[128];
        if (snprintf(command, sizeof command, "%s %s", prefix, c->name) >= (int) sizeof command)
                return cli_usage_error(cli, "command name too long");
        cli->command = command;
        if (c->sub && !c->run)
                return cli_dispatch(cli, command, c->sub, argc - 1, argv + 1);
        return c->run(cli, argc, argv);
}

#define LEGACY_GROUP(fn, prefix, table)                                 \
        static int fn(Cli *cli, int argc, char **argv)                  \
        {                                                               \
                return cli_dispatch(cli, prefix, table, argc - 1, argv + 1); \
        }
LEGACY_GROUP(legacy_rootfs, "rootfs", rootfs_commands)
LEGACY_GROUP(legacy_workspace, "workspace", workspace_commands)
LEGACY_GROUP(legacy_snapshot, "snapshot", snapshot_commands)

#define LEGACY(var, n, s, fn) static const CliCommand var = { n, s, .run_legacy = fn }
LEGACY(top_rootfs, "rootfs", "manage cached root filesystems", legacy_rootfs);
LEGACY(top_workspace, "workspace", "manage workspaces", legacy_workspace);
LEGACY(top_snapshot, "snapshot", "checkpoint and roll back workspaces", legacy_snapshot);

/* ---- the tree ---- */

static const CliCommand *const top_commands[] = {
        &cli_cmd_init, &cli_cmd_validate, &cli_cmd_up, &cli_cmd_down, &cli_cmd_restart, &cli_cmd_ps,
        &cli_group_daemon, &cli_cmd_ping, &cli_cmd_health, &cli_cmd_doctor, &cli_cmd_version,
        &cli_cmd_create, &cli_cmd_start, &cli_cmd_stop, &cli_cmd_destroy, &cli_cmd_status, &cli_cmd_remove,
        &cli_cmd_list, &cli_cmd_wipe, &cli_cmd_stats, &top_rootfs, &top_workspace, &top_snapshot,
        &cli_group_auth, &cli_group_policy,
        &cli_group_registry, NULL,
};

const CliCommand cli_root = {
        "enclave", "isolated workspaces that share one prepared root filesystem",
        "Isolated workspaces that share one prepared root filesystem.",
        .sub = top_commands,
};

/* ---- messages ---- */

static int vfail(int code, const char *fmt, va_list ap)
{
        fputs("enclave: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        return code;
}

int cli_fail(Cli *cli, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = vfail(EXIT_FAIL, fmt, ap);
        va_end(ap);
        return r;
}

int cli_usage_error(Cli *cli, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = vfail(EXIT_USAGE, fmt, ap);
        va_end(ap);
        return r;
}

int cli_arg_int(Cli *cli, const CliArgs *a, const char *name, int64_t min, int64_t max, int64_t *ret)
{
        const char *v = cli_arg_value(a, name);
        if (!v)
                return 0;
        if (parse_int64(v, min, max, ret) < 0) {
                cli_usage_error(cli, "--%s wants a whole number from %lld to %lld, got '%s'", name, (long long) min,
                                (long long) max, v);
                return -1;
        }
        return 1;
}

int cli_fail_error(Cli *cli, const Error *err)
{
        return cli_fail(cli, "%s", error_msg(err));
}

/* ---- main ---- */

static void apply_globals(Cli *cli, const CliArgs *a)
{
        for (size_t i = 0; i < a->n_values; i++) {
                const CliValue *v = &a->values[i];
                if (!cli_option_is_global(v->opt))
                        continue;
                const char *n = v->opt->name;
                if (streq(n, "config"))
                        cli->config_path = v->value;
                else if (streq(n, "socket"))
                        cli->socket_path = v->value;
                else if (streq(n, "json"))
                        cli->json = true;
                else if (streq(n, "no-color"))
                        cli->no_color = true;
                else if (streq(n, "quiet"))
                        cli->quiet = true;
        }
        if (cli->quiet && !getenv("ENCLAVE_LOG"))
                log_set_level(LOG_LEVEL_ERROR);
        cli->color = !cli->no_color && !getenv("NO_COLOR") && isatty(STDOUT_FILENO);
}

int cli_main(int argc, char **argv)
{
        Cli cli = {
                .config_path = getenv("ENCLAVE_CONFIG"),
                .socket_path = getenv("ENCLAVE_SOCKET"),
        };
        log_setup(LOG_LEVEL_WARN);

        CliArgs a;
        _cleanup_error_ Error err = ERROR_INIT;
        int r = cli_parse(&cli_root, argc, argv, &a, &err);
        apply_globals(&cli, &a);
        cli.command = a.depth > 1 ? a.name + strlen("enclave ") : NULL;
        if (r < 0) {
                fprintf(stderr, "enclave: %s\n", error_msg(&err));
                return a.cmd->flags & CLI_CMD_EXIT_125 ? EXIT_ENCLAVE : EXIT_USAGE;
        }
        if (a.legacy_argv)
                return a.cmd->run_legacy(&cli, a.legacy_argc, a.legacy_argv);
        if (a.version) {
                printf("enclave %s\n", ENCLAVE_VERSION);
                return EXIT_OK;
        }
        if (a.help) {
                cli_print_command_help(&a, stdout);
                return EXIT_OK;
        }
        if (cli_is_group(a.cmd)) {
                cli_print_command_help(&a, stderr);
                return EXIT_USAGE;
        }
        return a.cmd->run(&cli, &a);
}
