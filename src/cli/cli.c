#include "cli/cli.h"
#include "base/log.h"
#include "base/str.h"

#include <stdarg.h>
#include <string.h>
#include <unistd.h>

/* ---- the tree ---- */

static const CliCommand *const top_commands[] = {
        &cli_cmd_init, &cli_cmd_validate, &cli_cmd_up, &cli_cmd_down, &cli_cmd_restart, &cli_cmd_ps,
        &cli_cmd_logs, &cli_cmd_exec, &cli_cmd_enter, &cli_cmd_cp,
        &cli_group_daemon, &cli_cmd_ping, &cli_cmd_health, &cli_cmd_doctor, &cli_cmd_version,
        &cli_cmd_create, &cli_cmd_start, &cli_cmd_stop, &cli_cmd_destroy, &cli_cmd_status, &cli_cmd_remove,
        &cli_cmd_list, &cli_cmd_wipe, &cli_cmd_stats, &cli_group_rootfs, &cli_group_workspace, &cli_group_snapshot,
        &cli_group_auth, &cli_group_policy,
        &cli_group_registry, &cli_cmd_gen, &cli_cmd_complete, NULL,
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
                .argv = argv,
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
