#include "cli/cli.h"
#include "base/log.h"
#include "base/str.h"

#include <getopt.h>
#include <stdarg.h>
#include <string.h>

/* The top-level table: every command group of SPEC §2. Groups that are
 * several commands deep carry a subcommand table. */
static const Command top_commands[] = {
        { "init", "", "write a commented Enclavefile scaffold here", NULL, config_commands },
        { "validate", "[FILE]", "check an Enclavefile and print the resolved configuration", NULL, config_commands },
        { "up", "[--rebuild] [--remove-orphans]", "create and start everything the Enclavefile declares", NULL, project_commands },
        { "down", "", "stop the Enclavefile's workspaces, then its sandbox", NULL, project_commands },
        { "restart", "[--rebuild]", "down, then up", NULL, project_commands },
        { "ps", "[--local|--project]", "list workspace processes", NULL, project_commands },
        { "daemon", "run|start|stop|status", "control the Enclave daemon", NULL, daemon_commands },
        { "ping", "", "check that the daemon answers", NULL, info_commands },
        { "health", "", "show daemon health and host capabilities", NULL, info_commands },
        { "doctor", "", "check the host and the state for problems", NULL, info_commands },
        { "version", "", "print the version", NULL, info_commands },
        { "create", "<name> [options]", "create a sandbox", NULL, sandbox_top_commands },
        { "start", "<sandbox>", "start a sandbox", NULL, sandbox_top_commands },
        { "stop", "<sandbox>", "stop a sandbox and its workspaces", NULL, sandbox_top_commands },
        { "destroy", "<sandbox>", "destroy a sandbox and everything in it", NULL, sandbox_top_commands },
        { "status", "<sandbox>", "show a sandbox", NULL, sandbox_top_commands },
        { "remove", "<sandbox>", "remove a sandbox's registry entry and files", NULL, sandbox_top_commands },
        { "list", "", "list sandboxes", NULL, sandbox_top_commands },
        { "wipe", "[--yes]", "destroy every sandbox", NULL, sandbox_top_commands },
        { "stats", "[--no-stream]", "live resource usage of all workspaces", NULL, info_commands },
        { "rootfs", "export|import|fetch", "manage cached root filesystems", NULL, rootfs_commands },
        { "workspace", "<command>", "manage workspaces", NULL, workspace_commands },
        { "snapshot", "create|list|restore|export|import", "checkpoint and roll back workspaces", NULL, snapshot_commands },
        { "auth", "login|list|logout", "manage provider tokens", NULL, auth_commands },
        { "policy", "show|default|allow|deny|clear", "control who may do what", NULL, policy_commands },
        { "registry", "repair [--strict]", "fix the registry against the disk", NULL, registry_commands },
        {},
};

static void print_version(void)
{
        printf("enclave %s\n", ENCLAVE_VERSION);
}

static void print_main_help(FILE *out)
{
        fputs("Usage: enclave [GLOBAL OPTIONS] <command> [ARGS]\n\n"
              "Isolated workspaces that share one prepared root filesystem.\n\n"
              "Global options:\n"
              "  --config PATH   config file (default: $ENCLAVE_CONFIG, then the usual places)\n"
              "  --socket PATH   daemon socket (default: $ENCLAVE_SOCKET or /run/enclave/manager.sock)\n"
              "  --json          machine-readable output\n"
              "  --no-color      no colour in output\n"
              "  -q, --quiet     print only errors\n"
              "  -h, --help      this help; 'enclave <command> --help' for a command\n"
              "  --version       print the version\n\n"
              "Commands:\n",
              out);
        for (const Command *c = top_commands; c->name; c++)
                fprintf(out, "  %-10s %-34s %s\n", c->name, c->args, c->summary);
        fputs("\nEnvironment: ENCLAVE_CONFIG, ENCLAVE_SOCKET, ENCLAVE_LOG (error|warn|info|debug).\n", out);
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

static const Command *find_command(const Command *table, const char *name)
{
        for (const Command *c = table; c->name; c++)
                if (streq(c->name, name))
                        return c;
        return NULL;
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
        const Command *c = find_command(table, argv[0]);
        if (!c) {
                const char *s = suggest(table, argv[0]);
                if (s)
                        return cli_usage_error(cli, "unknown command '%s %s'; did you mean '%s %s'?",
                                               prefix, argv[0], prefix, s);
                return cli_usage_error(cli, "unknown command '%s %s'; see 'enclave %s --help'",
                                       prefix, argv[0], prefix);
        }
        free(cli->command);
        if (asprintf(&cli->command, "%s %s", prefix, c->name) < 0)
                cli->command = NULL;
        if (c->sub && !c->run) {
                _cleanup_free_ char *p = NULL;
                if (asprintf(&p, "%s %s", prefix, c->name) < 0)
                        return EXIT_FAIL;
                return cli_dispatch(cli, p, c->sub, argc - 1, argv + 1);
        }
        return c->run(cli, argc, argv);
}

int cli_fail(Cli *cli, const char *fmt, ...)
{
        va_list ap;
        fputs("enclave: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return EXIT_FAIL;
}

int cli_usage_error(Cli *cli, const char *fmt, ...)
{
        va_list ap;
        fputs("enclave: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return EXIT_USAGE;
}

int cli_fail_error(Cli *cli, const Error *err)
{
        return cli_fail(cli, "%s", error_msg(err));
}

int cli_not_built(Cli *cli, int argc, char **argv)
{
        return cli_fail(cli, "'%s' is not built yet in enclave %s; see docs/status.md for what works today",
                        cli->command ? cli->command : argv[0], ENCLAVE_VERSION);
}

/* Top-level commands live in group tables (e.g. "create" in
 * sandbox_top_commands): dispatch to the entry with the same name. */
static int run_top(Cli *cli, const Command *top, int argc, char **argv)
{
        if (!top->sub)
                return top->run(cli, argc, argv);
        const Command *c = find_command(top->sub, top->name);
        if (c && c->run) {
                free(cli->command);
                cli->command = strdup(top->name);
                return c->run(cli, argc, argv);
        }
        return cli_dispatch(cli, top->name, top->sub, argc - 1, argv + 1);
}

int cli_main(int argc, char **argv)
{
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "socket", required_argument, NULL, 's' },
                { "json", no_argument, NULL, 'j' },
                { "no-color", no_argument, NULL, 'C' },
                { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        Cli cli = {
                .config_path = getenv("ENCLAVE_CONFIG"),
                .socket_path = getenv("ENCLAVE_SOCKET"),
        };
        log_setup(LOG_LEVEL_WARN);

        int c;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+qh", options, NULL)) >= 0) {
                switch (c) {
                case 'c': cli.config_path = optarg; break;
                case 's': cli.socket_path = optarg; break;
                case 'j': cli.json = true; break;
                case 'C': cli.no_color = true; break;
                case 'q':
                        cli.quiet = true;
                        if (!getenv("ENCLAVE_LOG"))
                                log_set_level(LOG_LEVEL_ERROR);
                        break;
                case 'h': print_main_help(stdout); return EXIT_OK;
                case 'V': print_version(); return EXIT_OK;
                default:
                        return cli_usage_error(&cli, "unknown global option '%s'; see 'enclave --help'",
                                               argv[optind - 1]);
                }
        }
        cli.color = !cli.no_color && !getenv("NO_COLOR") && isatty(STDOUT_FILENO);

        argc -= optind;
        argv += optind;
        if (argc < 1) {
                print_main_help(stderr);
                return EXIT_USAGE;
        }
        if (streq(argv[0], "help")) {
                print_main_help(stdout);
                return EXIT_OK;
        }

        const Command *top = find_command(top_commands, argv[0]);
        int r;
        if (!top) {
                const char *s = suggest(top_commands, argv[0]);
                if (s)
                        r = cli_usage_error(&cli, "unknown command '%s'; did you mean '%s'?", argv[0], s);
                else
                        r = cli_usage_error(&cli, "unknown command '%s'; see 'enclave --help'", argv[0]);
        } else
                r = run_top(&cli, top, argc, argv);
        free(cli.command);
        return r;
}
