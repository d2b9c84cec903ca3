/* enclave workspace create|start|stop|destroy|remove|status|list|wipe|
 * enter|exec|run|logs|stats (SPEC §2): clients of the workspace.*
 * actions (src/daemon/actions-workspace.c). `remove` is `destroy`.
 *
 * exec/run/enter exit with the command's own status; 126/127 when the
 * runtime could not execute / find it; 125 when Enclave itself failed
 * (no daemon, no such workspace, not running, ...). */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/cmd-port.h"
#include "cli/cmd-snapshot.h"
#include "cli/exec-relay.h"
#include "cli/output.h"
#include "config/values.h"
#include "base/str.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool want_help(int argc, char **argv)
{
        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--"))
                        return false;
                if (streq(argv[i], "-h") || streq(argv[i], "--help"))
                        return true;
        }
        return false;
}

static int print_usage(const char *text)
{
        printf("Usage: enclave workspace %s\n", text);
        return EXIT_OK;
}

static json_t *target(const char *sb, const char *ws)
{
        return sb ? json_pack("{s:s, s:s}", "sandbox", sb, "workspace", ws) : json_pack("{s:s}", "workspace", ws);
}

/* Call and print the result as JSON with --json; *ret keeps it otherwise. */
static int call(Cli *cli, const char *action, json_t *params, json_t **ret)
{
        _cleanup_error_ Error err = ERROR_INIT;
        if (!params)
                return cli_fail(cli, "out of memory");
        *ret = NULL;
        if (cli_call(cli, action, params, ret, &err) < 0)
                return cli_fail_error(cli, &err);
        return EXIT_OK;
}

static void print_warnings(json_t *res)
{
        size_t i;
        json_t *w;
        json_array_foreach(json_object_get(res, "warnings"), i, w)
                fprintf(stderr, "enclave: warning: %s\n", json_string_value(w));
}

static const char *str_of(json_t *o, const char *key)
{
        return json_string_value(json_object_get(o, key));
}

/* "1h02m", "3m04s", "12s" */
static void format_duration(json_int_t secs, char *buf, size_t size)
{
        if (secs < 0)
                snprintf(buf, size, "-");
        else if (secs >= 86400)
                snprintf(buf, size, "%lldd%02lldh", (long long) secs / 86400, (long long) (secs % 86400) / 3600);
        else if (secs >= 3600)
                snprintf(buf, size, "%lldh%02lldm", (long long) secs / 3600, (long long) (secs % 3600) / 60);
        else if (secs >= 60)
                snprintf(buf, size, "%lldm%02llds", (long long) secs / 60, (long long) secs % 60);
        else
                snprintf(buf, size, "%llds", (long long) secs);
}

/* ---- create ---- */

typedef struct CreateOpts {
        json_t *params;
        json_t *env, *ports, *auth, *env_tokens;
} CreateOpts;

static int set_limit(Cli *cli, json_t *params, const char *key, const char *opt, const char *value)
{
        int64_t v;
        if (parse_int64(value, 1, INT64_MAX, &v) < 0)
                return cli_usage_error(cli, "%s wants a positive number, got '%s'", opt, value);
        json_object_set_new(params, key, json_integer(v));
        return 0;
}

static int create_option(Cli *cli, int c, const char *arg, CreateOpts *o)
{
        static const char *const limit_keys[] = { "cpu_seconds", "cpu_percent", "memory_mb", "max_procs",
                                                  "max_open_files", "disk_mb" };
        static const char *const limit_opts[] = { "--cpu-seconds", "--cpu-percent", "--memory-mb", "--max-procs",
                                                  "--max-open-files", "--disk-mb" };
        if (c >= 1 && c <= 6)
                return set_limit(cli, o->params, limit_keys[c - 1], limit_opts[c - 1], arg);
        _cleanup_error_ Error err = ERROR_INIT;
        switch (c) {
        case 'w': {
                char buf[PATH_MAX];
                if (!realpath(arg, buf))
                        return cli_usage_error(cli, "--workspace-dir %s: %m", arg);
                json_object_set_new(o->params, "workspace_dir", json_string(buf));
                return 0;
        }
        case 'r':
                json_object_set_new(o->params, "run", json_string(arg));
                return 0;
        case 'e':
                if (!strchr(arg, '=') || arg[0] == '=')
                        return cli_usage_error(cli, "--env wants NAME=VALUE");
                json_array_append_new(o->env, json_string(arg));
                return 0;
        case 'p': {
                PortSpec p;
                if (port_spec_parse(arg, &p, &err) < 0)
                        return cli_usage_error(cli, "--port %s: %s", arg, error_msg(&err));
                json_array_append_new(o->ports, json_string(arg));
                return 0;
        }
        case 'a':
                json_array_append_new(o->auth, json_string(arg));
                return 0;
        case 't':
                json_array_append_new(o->env_tokens, json_string(arg));
                return 0;
        default:
                return cli_usage_error(cli, "unknown option; see 'enclave workspace create --help'");
        }
}

static const char create_usage[] =
        "create <sb> <name> [--cpu-seconds N] [--cpu-percent N] [--memory-mb N] [--max-procs N]\n"
        "               [--max-open-files N] [--disk-mb N] [--workspace-dir PATH] [--run CMD] [--env K=V]...\n"
        "               [--port 127.0.0.1:HOST:WS/tcp]... [--auth PROVIDER]... [--env-token NAME]...";

static int cmd_create(Cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                { "cpu-seconds", required_argument, NULL, 1 },
                { "cpu-percent", required_argument, NULL, 2 },
                { "memory-mb", required_argument, NULL, 3 },
                { "max-procs", required_argument, NULL, 4 },
                { "max-open-files", required_argument, NULL, 5 },
                { "disk-mb", required_argument, NULL, 6 },
                { "workspace-dir", required_argument, NULL, 'w' },
                { "path", required_argument, NULL, 'w' },
                { "run", required_argument, NULL, 'r' },
                { "env", required_argument, NULL, 'e' },
                { "port", required_argument, NULL, 'p' },
                { "auth", required_argument, NULL, 'a' },
                { "env-token", required_argument, NULL, 't' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        if (want_help(argc, argv))
                return print_usage(create_usage);
        CreateOpts o = { json_object(), json_array(), json_array(), json_array(), json_array() };
        json_object_set_new(o.params, "env", o.env);
        json_object_set_new(o.params, "ports", o.ports);
        json_object_set_new(o.params, "auth", o.auth);
        json_object_set_new(o.params, "env_tokens", o.env_tokens);
        optind = 0;
        opterr = 0;
        int c;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                if (c == '?') {
                        json_decref(o.params);
                        return cli_usage_error(cli, "unknown or incomplete option '%s'; usage: enclave workspace %s",
                                               argv[optind - 1], create_usage);
                }
                int r = create_option(cli, c, optarg, &o);
                if (r != 0) {
                        json_decref(o.params);
                        return r;
                }
        }
        if (argc - optind != 2) {
                json_decref(o.params);
                return cli_usage_error(cli, "usage: enclave workspace %s", create_usage);
        }
        json_object_set_new(o.params, "sandbox", json_string(argv[optind]));
        json_object_set_new(o.params, "workspace", json_string(argv[optind + 1]));
        json_t *res;
        int r = call(cli, "workspace.create", o.params, &res);
        if (r != EXIT_OK)
                return r;
        if (cli->json)
                json_print(res, stdout);
        else if (!cli->quiet) {
                json_int_t base = json_integer_value(json_object_get(res, "uid_base"));
                printf("created workspace %s/%s (host ids %lld-%lld)\n", argv[optind], argv[optind + 1],
                       (long long) base, (long long) base + 65535);
        }
        json_decref(res);
        return EXIT_OK;
}

/* ---- start / stop / destroy ---- */

/* "<sb> <ws> [--timeout S]" */
static int parse_target(Cli *cli, int argc, char **argv, bool with_timeout, const char *usage, json_t **ret)
{
        static const struct option options[] = {
                { "timeout", required_argument, NULL, 'T' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int64_t timeout = -1;
        optind = 0;
        opterr = 0;
        int c;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                if (c == 'h') {
                        print_usage(usage);
                        return -1;
                }
                if (c == 'T' && with_timeout && parse_int64(optarg, 0, 3600, &timeout) >= 0)
                        continue;
                if (c == 'T' && with_timeout)
                        return cli_usage_error(cli, "--timeout wants seconds (0-3600), got '%s'", optarg);
                return cli_usage_error(cli, "unknown option '%s'; usage: enclave workspace %s", argv[optind - 1],
                                       usage);
        }
        if (argc - optind != 2)
                return cli_usage_error(cli, "usage: enclave workspace %s", usage);
        *ret = target(argv[optind], argv[optind + 1]);
        if (*ret && timeout >= 0)
                json_object_set_new(*ret, "timeout", json_integer(timeout));
        return 0;
}

static int cmd_start(Cli *cli, int argc, char **argv)
{
        json_t *params = NULL, *res;
        int r = parse_target(cli, argc, argv, false, "start <sb> <ws>", &params);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        r = call(cli, "workspace.start", params, &res);
        if (r != EXIT_OK)
                return r;
        print_warnings(res);
        if (cli->json)
                json_print(res, stdout);
        else if (!cli->quiet) {
                const char *ip = str_of(res, "ip");
                if (json_is_true(json_object_get(res, "already_running")))
                        printf("workspace %s/%s is already running (pid %lld)\n", str_of(res, "sandbox"),
                               str_of(res, "workspace"), (long long) json_integer_value(json_object_get(res, "pid")));
                else
                        printf("started workspace %s/%s (pid %lld%s%s) in %.1f ms\n", str_of(res, "sandbox"),
                               str_of(res, "workspace"), (long long) json_integer_value(json_object_get(res, "pid")),
                               ip ? ", address " : "", ip ? ip : "",
                               json_real_value(json_object_get(res, "elapsed_ms")));
        }
        json_decref(res);
        return EXIT_OK;
}

static int cmd_stop(Cli *cli, int argc, char **argv)
{
        json_t *params = NULL, *res;
        int r = parse_target(cli, argc, argv, true, "stop <sb> <ws> [--timeout SECONDS]", &params);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        r = call(cli, "workspace.stop", params, &res);
        if (r != EXIT_OK)
                return r;
        if (cli->json)
                json_print(res, stdout);
        else if (!cli->quiet) {
                if (!json_is_true(json_object_get(res, "was_running")))
                        printf("workspace %s/%s was not running\n", str_of(res, "sandbox"), str_of(res, "workspace"));
                else
                        printf("stopped workspace %s/%s in %.1f ms%s\n", str_of(res, "sandbox"),
                               str_of(res, "workspace"), json_real_value(json_object_get(res, "elapsed_ms")),
                               json_is_true(json_object_get(res, "killed")) ? " (killed after the timeout)" : "");
        }
        json_decref(res);
        return EXIT_OK;
}

static int cmd_destroy(Cli *cli, int argc, char **argv)
{
        json_t *params = NULL, *res;
        int r = parse_target(cli, argc, argv, true, "destroy <sb> <ws> [--timeout SECONDS]", &params);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        r = call(cli, "workspace.destroy", params, &res);
        if (r != EXIT_OK)
                return r;
        if (cli->json)
                json_print(res, stdout);
        else if (!cli->quiet)
                printf("destroyed workspace %s/%s\n", str_of(res, "sandbox"), str_of(res, "workspace"));
        json_decref(res);
        return EXIT_OK;
}

/* ---- wipe ---- */

static bool confirm_wipe(void)
{
        if (!isatty(STDIN_FILENO))
                return false;
        fprintf(stderr, "This destroys EVERY workspace of every sandbox, with its files. Type 'wipe' to go on: ");
        char line[64];
        if (!fgets(line, sizeof line, stdin))
                return false;
        line[strcspn(line, "\r\n")] = 0;
        return streq(line, "wipe");
}

static int cmd_wipe(Cli *cli, int argc, char **argv)
{
        bool yes = false;
        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--yes") || streq(argv[i], "-y"))
                        yes = true;
                else if (streq(argv[i], "-h") || streq(argv[i], "--help"))
                        return print_usage("wipe [--yes]");
                else
                        return cli_usage_error(cli, "usage: enclave workspace wipe [--yes]");
        }
        if (!yes && !confirm_wipe())
                return cli_fail(cli, "not confirmed; nothing was destroyed (type 'wipe' at the prompt, or pass "
                                "--yes)");
        json_t *res;
        int r = call(cli, "workspace.wipe", json_object(), &res);
        if (r != EXIT_OK)
                return r;
        if (cli->json)
                json_print(res, stdout);
        else if (!cli->quiet)
                printf("destroyed %lld workspace(s)\n", (long long) json_integer_value(json_object_get(res, "destroyed")));
        json_decref(res);
        return EXIT_OK;
}

/* ---- status / list / stats ---- */

/* "[<sb>] <ws>" */
static int optional_sandbox(Cli *cli, int argc, char **argv, const char *usage, json_t **ret)
{
        if (want_help(argc, argv)) {
                print_usage(usage);
                return -1;
        }
        for (int i = 1; i < argc; i++)
                if (argv[i][0] == '-')
                        return cli_usage_error(cli, "unknown option '%s'; usage: enclave workspace %s", argv[i], usage);
        if (argc == 2)
                *ret = target(NULL, argv[1]);
        else if (argc == 3)
                *ret = target(argv[1], argv[2]);
        else
                return cli_usage_error(cli, "usage: enclave workspace %s", usage);
        return 0;
}

static void status_line(const char *key, const char *value)
{
        printf("%-13s %s\n", key, value && *value ? value : "-");
}

static void print_usage_lines(json_t *u)
{
        char a[32], b[32], line[96];
        snprintf(line, sizeof line, "%.1f%%", json_real_value(json_object_get(u, "cpu_percent")));
        status_line("cpu:", line);
        format_bytes(json_object_get(u, "memory_used"), a, sizeof a);
        format_bytes(json_object_get(u, "memory_limit"), b, sizeof b);
        snprintf(line, sizeof line, "%s / %s", a, json_is_null(json_object_get(u, "memory_limit")) ? "no limit" : b);
        status_line("memory:", line);
        snprintf(line, sizeof line, "%lld processes, %lld threads",
                 (long long) json_integer_value(json_object_get(u, "processes")),
                 (long long) json_integer_value(json_object_get(u, "threads")));
        status_line("tasks:", line);
}

static void print_limits(json_t *limits)
{
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        const char *key;
        json_t *v;
        json_object_foreach(limits, key, v)
                strbuf_printf(&b, "%s%s=%lld", b.len ? " " : "", key, (long long) json_integer_value(v));
        status_line("limits:", b.len ? b.data : "none");
}

static void print_status(Cli *cli, json_t *s)
{
        char buf[160];
        snprintf(buf, sizeof buf, "%s/%s", str_of(s, "sandbox"), str_of(s, "name"));
        status_line("workspace:", buf);
        const char *state = str_of(s, "state");
        char cbuf[64];
        status_line("state:", color_state(cli, state ? state : "?", cbuf, sizeof cbuf));
        json_t *pid = json_object_get(s, "pid");
        snprintf(buf, sizeof buf, "%lld", (long long) json_integer_value(pid));
        status_line("pid:", json_is_integer(pid) ? buf : NULL);
        json_t *up = json_object_get(s, "uptime_secs");
        if (json_is_integer(up)) {
                format_duration(json_integer_value(up), buf, sizeof buf);
                status_line("uptime:", buf);
        }
        status_line("address:", str_of(s, "ip"));
        json_int_t base = json_integer_value(json_object_get(s, "uid_base"));
        snprintf(buf, sizeof buf, "%lld-%lld (uids and gids)", (long long) base, (long long) base + 65535);
        status_line("host ids:", buf);
        json_t *cfg = json_object_get(s, "config");
        status_line("run:", str_of(cfg, "run"));
        status_line("home:", str_of(cfg, "workspace_dir") ? str_of(cfg, "workspace_dir") : "managed");
        print_limits(json_object_get(cfg, "limits"));
        _cleanup_strbuf_ StrBuf ports = STRBUF_INIT;
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(s, "ports"), i, p)
                strbuf_printf(&ports, "%s%s", i ? ", " : "", json_string_value(p));
        status_line("ports:", ports.data);
        json_t *es = json_object_get(s, "exit_status");
        if (json_is_integer(es)) {
                snprintf(buf, sizeof buf, "%lld", (long long) json_integer_value(es));
                status_line("last exit:", buf);
        }
        snprintf(buf, sizeof buf, "%lld", (long long) json_integer_value(json_object_get(s, "oom_kills")));
        json_t *usage = json_object_get(s, "usage");
        if (usage && json_integer_value(json_object_get(usage, "oom_kills")) > 0)
                snprintf(buf, sizeof buf, "%lld", (long long) json_integer_value(json_object_get(s, "oom_kills")) +
                                                          (long long) json_integer_value(json_object_get(usage, "oom_kills")));
        status_line("oom kills:", buf);
        if (usage)
                print_usage_lines(usage);
}

static int cmd_status(Cli *cli, int argc, char **argv)
{
        json_t *params = NULL, *res;
        int r = optional_sandbox(cli, argc, argv, "status [<sb>] <ws>", &params);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        r = call(cli, "workspace.status", params, &res);
        if (r != EXIT_OK)
                return r;
        if (cli->json)
                json_print(res, stdout);
        else
                print_status(cli, res);
        json_decref(res);
        return EXIT_OK;
}

static int cmd_list(Cli *cli, int argc, char **argv)
{
        const char *sandbox = NULL;
        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "-h") || streq(argv[i], "--help"))
                        return print_usage("list [--sandbox-id SB]");
                if ((streq(argv[i], "--sandbox-id") || streq(argv[i], "--sandbox")) && i + 1 < argc)
                        sandbox = argv[++i];
                else if (startswith(argv[i], "--sandbox-id="))
                        sandbox = startswith(argv[i], "--sandbox-id=");
                else
                        return cli_usage_error(cli, "usage: enclave workspace list [--sandbox-id SB]");
        }
        json_t *res;
        int r = call(cli, "workspace.list", sandbox ? json_pack("{s:s}", "sandbox", sandbox) : json_object(), &res);
        if (r != EXIT_OK)
                return r;
        json_t *list = json_object_get(res, "workspaces");
        static const char *const headers[] = { "SANDBOX", "NAME", "STATE", "PID", "ADDRESS", "UPTIME", NULL };
        _cleanup_table_ Table *t = cli->json ? NULL : table_new(headers);
        if (cli->json)
                json_print(list, stdout);
        else if (t) {
                size_t i;
                json_t *w;
                json_array_foreach(list, i, w) {
                        char pid[24] = "-", up[24] = "-", cbuf[64];
                        if (json_is_integer(json_object_get(w, "pid")))
                                snprintf(pid, sizeof pid, "%lld", (long long) json_integer_value(json_object_get(w, "pid")));
                        if (json_is_integer(json_object_get(w, "uptime_secs")))
                                format_duration(json_integer_value(json_object_get(w, "uptime_secs")), up, sizeof up);
                        const char *cells[] = { str_of(w, "sandbox"), str_of(w, "name"),
                                                color_state(cli, str_of(w, "state") ?: "?", cbuf, sizeof cbuf), pid,
                                                str_of(w, "ip"), up };
                        table_add_row(t, cells);
                }
                table_print(t, cli, stdout);
        }
        json_decref(res);
        return EXIT_OK;
}

static int cmd_stats(Cli *cli, int argc, char **argv)
{
        json_t *params = NULL, *res;
        int r = optional_sandbox(cli, argc, argv, "stats [<sb>] <ws>", &params);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        r = call(cli, "workspace.stats", params, &res);
        if (r != EXIT_OK)
                return r;
        if (cli->json) {
                json_print(res, stdout);
                json_decref(res);
                return EXIT_OK;
        }
        static const char *const headers[] = { "SANDBOX", "NAME", "CPU %", "MEM USAGE / LIMIT", "NET I/O",
                                               "BLOCK I/O", "PIDS", "THREADS", NULL };
        _cleanup_table_ Table *t = table_new(headers);
        char cpu[16], mu[32], ml[32], mem[72], rx[32], tx[32], net[72], br[32], bw[32], blk[72], pids[24], thr[24];
        snprintf(cpu, sizeof cpu, "%.2f", json_real_value(json_object_get(res, "cpu_percent")));
        format_bytes(json_object_get(res, "memory_used"), mu, sizeof mu);
        format_bytes(json_object_get(res, "memory_limit"), ml, sizeof ml);
        snprintf(mem, sizeof mem, "%s / %s", mu, json_is_null(json_object_get(res, "memory_limit")) ? "-" : ml);
        format_bytes(json_object_get(res, "net_rx"), rx, sizeof rx);
        format_bytes(json_object_get(res, "net_tx"), tx, sizeof tx);
        snprintf(net, sizeof net, "%s / %s", rx, tx);
        format_bytes(json_object_get(res, "block_read"), br, sizeof br);
        format_bytes(json_object_get(res, "block_write"), bw, sizeof bw);
        snprintf(blk, sizeof blk, "%s / %s", br, bw);
        snprintf(pids, sizeof pids, "%lld", (long long) json_integer_value(json_object_get(res, "pids")));
        snprintf(thr, sizeof thr, "%lld", (long long) json_integer_value(json_object_get(res, "threads")));
        const char *cells[] = { str_of(res, "sandbox"), str_of(res, "workspace"), cpu, mem, net, blk, pids, thr };
        if (t && table_add_row(t, cells) >= 0)
                table_print(t, cli, stdout);
        json_decref(res);
        return EXIT_OK;
}

/* ---- logs ---- */

static int on_log_event(json_t *event, void *userdata)
{
        json_t *data = json_object_get(event, "data");
        if (json_is_string(data)) {
                fwrite(json_string_value(data), 1, json_string_length(data), stdout);
                fflush(stdout);
        }
        return 0;
}

static int cmd_logs(Cli *cli, int argc, char **argv)
{
        static const char usage[] = "logs [<sb>] <ws> [--tail N] [--follow]";
        static const struct option options[] = {
                { "tail", required_argument, NULL, 'n' },
                { "follow", no_argument, NULL, 'f' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int64_t tail = -1;
        bool follow = false;
        optind = 0;
        opterr = 0;
        int c;
        while ((c = getopt_long(argc, argv, "n:fh", options, NULL)) >= 0) {
                if (c == 'h')
                        return print_usage(usage);
                if (c == 'f')
                        follow = true;
                else if (c == 'n' && parse_int64(optarg, 0, INT32_MAX, &tail) >= 0)
                        continue;
                else
                        return cli_usage_error(cli, "usage: enclave workspace %s", usage);
        }
        int n = argc - optind;
        if (n < 1 || n > 2)
                return cli_usage_error(cli, "usage: enclave workspace %s", usage);
        json_t *params = n == 2 ? target(argv[optind], argv[optind + 1]) : target(NULL, argv[optind]);
        if (!params)
                return cli_fail(cli, "out of memory");
        if (tail >= 0)
                json_object_set_new(params, "tail", json_integer(tail));
        json_object_set_new(params, "follow", json_boolean(follow));
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_client_ Client *cl = NULL;
        if (client_open(cli, &cl, &err) < 0) {
                json_decref(params);
                return cli_fail_error(cli, &err);
        }
        json_t *res = NULL;
        if (client_call(cl, "workspace.logs", params, NULL, 0, on_log_event, NULL, &res, NULL, &err) < 0)
                return cli_fail_error(cli, &err);
        const char *ended = str_of(res, "ended");
        if (ended && !cli->quiet)
                fprintf(stderr, "enclave: log ended: %s\n", ended);
        json_decref(res);
        return EXIT_OK;
}

/* ---- exec / run / enter ---- */

typedef struct ExecOpts {
        const char *sandbox, *workspace, *cwd, *shell;
        bool tty, interactive, enter;
        json_t *env;
        char **argv; /* borrowed from the command line */
} ExecOpts;

/* Options of exec/enter; the command starts at "--" or at the first
 * argument after <sb> <ws> that is not an option. */
static int parse_exec(Cli *cli, int argc, char **argv, const char *usage, ExecOpts *o)
{
        int npos = 0;
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                const char *v = NULL;
                if (streq(a, "--")) {
                        o->argv = argv + i + 1;
                        break;
                }
                if (a[0] != '-' || a[1] == 0) {
                        if (npos == 0)
                                o->sandbox = a;
                        else if (npos == 1)
                                o->workspace = a;
                        else {
                                o->argv = argv + i;
                                break;
                        }
                        npos++;
                        continue;
                }
                if (streq(a, "-t") || streq(a, "--tty"))
                        o->tty = true;
                else if (streq(a, "-i") || streq(a, "--interactive"))
                        o->interactive = true;
                else if (streq(a, "-it") || streq(a, "-ti"))
                        o->tty = o->interactive = true;
                else if ((v = startswith(a, "--cwd=")) || (streq(a, "--cwd") && i + 1 < argc && (v = argv[++i])))
                        o->cwd = v;
                else if ((v = startswith(a, "--shell=")) || (streq(a, "--shell") && i + 1 < argc && (v = argv[++i])))
                        o->shell = v;
                else if ((v = startswith(a, "--env=")) || ((streq(a, "-e") || streq(a, "--env")) && i + 1 < argc &&
                                                          (v = argv[++i])) ||
                         (strneq(a, "-e", 2) && (v = a + 2)[0])) {
                        if (!strchr(v, '=') || v[0] == '=')
                                return cli_usage_error(cli, "-e wants NAME=VALUE");
                        json_array_append_new(o->env, json_string(v));
                } else
                        return cli_usage_error(cli, "unknown option '%s'; usage: enclave workspace %s", a, usage);
        }
        if (!o->sandbox || !o->workspace)
                return cli_usage_error(cli, "usage: enclave workspace %s", usage);
        if (o->enter && o->argv && o->argv[0])
                return cli_usage_error(cli, "'enter' runs the workspace's shell and takes no command; use 'exec'");
        if (!o->enter && (!o->argv || !o->argv[0]))
                return cli_usage_error(cli, "no command given; usage: enclave workspace %s", usage);
        if (o->cwd && o->cwd[0] != '/')
                return cli_usage_error(cli, "--cwd must be an absolute path below /home, got '%s'", o->cwd);
        return 0;
}

typedef struct PtyCtx {
        Client *client;
        bool input;
        int r;
        Error *err;
} PtyCtx;

static int on_exec_event(json_t *event, void *userdata)
{
        PtyCtx *ctx = userdata;
        const char *type = str_of(event, "type");
        if (!type || !streq(type, "pty"))
                return 0;
        int master = client_take_event_fd(ctx->client);
        if (master < 0) {
                ctx->r = error_set(ctx->err, EPROTO, "the daemon sent no pty");
                return 0;
        }
        ctx->r = pty_relay_run(master, client_fd(ctx->client), ctx->input, ctx->err);
        return 0;
}

static json_t *exec_params(const ExecOpts *o, bool pty)
{
        json_t *p = target(o->sandbox, o->workspace);
        if (!p)
                return NULL;
        json_t *argv = json_array();
        for (char **a = o->argv; a && *a; a++)
                json_array_append_new(argv, json_string(*a));
        json_object_set_new(p, "argv", argv);
        json_object_set(p, "env", o->env);
        json_object_set_new(p, "pty", json_boolean(pty));
        json_object_set_new(p, "enter", json_boolean(o->enter));
        if (o->cwd)
                json_object_set_new(p, "cwd", json_string(o->cwd));
        if (o->shell)
                json_object_set_new(p, "shell", json_string(o->shell));
        if (pty) {
                unsigned short rows = 0, cols = 0;
                if (terminal_size(&rows, &cols)) {
                        json_object_set_new(p, "rows", json_integer(rows));
                        json_object_set_new(p, "cols", json_integer(cols));
                }
                const char *term = getenv("TERM");
                if (term && *term)
                        json_object_set_new(p, "term", json_string(term));
        }
        return p;
}

static int exec_fail(Cli *cli, const Error *err)
{
        cli_fail_error(cli, err);
        return EXIT_ENCLAVE;
}

static int run_exec(Cli *cli, ExecOpts *o)
{
        bool pty = o->tty || o->enter || (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO));
        _cleanup_error_ Error err = ERROR_INIT;
        json_t *params = exec_params(o, pty);
        if (!params)
                return cli_fail(cli, "out of memory"), EXIT_ENCLAVE;
        _cleanup_client_ Client *cl = NULL;
        if (client_open(cli, &cl, &err) < 0) {
                json_decref(params);
                return exec_fail(cli, &err);
        }
        json_t *res = NULL;
        int r;
        if (pty) {
                /* A shell (enter) always reads its input; a command only from a
                 * terminal or with -i. */
                PtyCtx ctx = { .client = cl, .input = isatty(STDIN_FILENO) || o->interactive || o->enter,
                               .err = &err };
                r = client_call(cl, "workspace.exec", params, NULL, 0, on_exec_event, &ctx, &res, NULL, &err);
                if (r >= 0 && ctx.r < 0)
                        r = ctx.r;
        } else {
                StdioRelay *relay = NULL;
                int fds[3];
                r = stdio_relay_start(o->interactive, fds, &relay, &err);
                if (r < 0) {
                        json_decref(params);
                        return exec_fail(cli, &err);
                }
                r = client_call(cl, "workspace.exec", params, fds, 3, NULL, NULL, &res, NULL, &err);
                stdio_relay_finish(relay);
        }
        if (r < 0)
                return exec_fail(cli, &err);
        json_int_t status = json_integer_value(json_object_get(res, "exit_status"));
        const char *msg = str_of(res, "message");
        if (msg)
                fprintf(stderr, "enclave: %s\n", msg);
        json_decref(res);
        return status < 0 || status > 255 ? EXIT_ENCLAVE : (int) status;
}

static int cmd_exec(Cli *cli, int argc, char **argv)
{
        static const char usage[] = "exec <sb> <ws> [--cwd DIR] [-t] [-i] [-e K=V]... -- CMD...";
        if (argc >= 2 && (streq(argv[1], "-h") || streq(argv[1], "--help"))) {
                printf("Usage: enclave workspace %s\n\n"
                       "Runs CMD inside the workspace as its root, in /home (or --cwd, which must be below /home).\n"
                       "Pipes and redirections work like a local command; a terminal gets a pty made inside the\n"
                       "workspace. -t forces a pty, -i feeds a terminal's input to a command without one.\n"
                       "Exit status: the command's own; 126 cannot execute, 127 not found, 125 Enclave failed.\n",
                       usage);
                return EXIT_OK;
        }
        ExecOpts o = { .env = json_array() };
        int r = parse_exec(cli, argc, argv, usage, &o);
        if (r == 0)
                r = run_exec(cli, &o);
        else
                r = EXIT_ENCLAVE;
        json_decref(o.env);
        return r;
}

static int cmd_enter(Cli *cli, int argc, char **argv)
{
        static const char usage[] = "enter <sb> <ws> [--cwd DIR] [--shell SH] [-e K=V]...";
        if (want_help(argc, argv)) {
                printf("Usage: enclave workspace %s\n\nOpens the workspace root's shell (from its /etc/passwd, "
                       "else /bin/sh) on a pty made inside the workspace.\n", usage);
                return EXIT_OK;
        }
        ExecOpts o = { .env = json_array(), .enter = true };
        int r = parse_exec(cli, argc, argv, usage, &o);
        if (r == 0)
                r = run_exec(cli, &o);
        else
                r = EXIT_ENCLAVE;
        json_decref(o.env);
        return r;
}

const Command port_commands[] = {
        { "publish", "<sb> <ws> 127.0.0.1:HOST:WS[/tcp]", "publish a workspace port on host loopback", cmd_port_publish },
        { "unpublish", "<sb> <ws> 127.0.0.1:HOST[/tcp]", "stop publishing a port", cmd_port_unpublish },
        { "list", "<sb> <ws>", "declared and active port mappings", cmd_port_list },
        {},
};

const Command workspace_commands[] = {
        { "create", "<sb> <name> [limits] [--workspace-dir P] [--run CMD] [--env K=V] [--port M]", "create a workspace", cmd_create },
        { "start", "<sb> <ws>", "start a workspace", cmd_start },
        { "stop", "<sb> <ws> [--timeout S]", "stop a workspace", cmd_stop },
        { "destroy", "<sb> <ws>", "destroy a workspace and its files", cmd_destroy },
        { "status", "[<sb>] <ws>", "show a workspace", cmd_status },
        { "remove", "<sb> <ws>", "remove a workspace (same as destroy)", cmd_destroy },
        { "list", "[--sandbox-id SB]", "list workspaces", cmd_list },
        { "wipe", "[--yes]", "destroy every workspace", cmd_wipe },
        { "enter", "<sb> <ws> [--cwd DIR] [--shell SH]", "open a shell in a workspace", cmd_enter },
        { "exec", "<sb> <ws> [--cwd DIR] [-t] [-i] [-e K=V]... -- CMD...", "run a command in a workspace", cmd_exec },
        { "run", "<sb> <ws> [...] -- CMD...", "same as exec", cmd_exec },
        { "port", "publish|unpublish|list", "loopback port publishing", NULL, port_commands },
        { "logs", "[<sb>] <ws> [--tail N] [--follow]", "show a workspace's log", cmd_logs },
        { "stats", "[<sb>] <ws>", "resource usage of a workspace", cmd_stats },
        { "snapshot-gc", "<sb> <ws> [--keep N]", "delete old snapshots", cmd_snapshot_gc },
        { "snapshot", "<sb> <ws> [--name N]", "alias of 'snapshot create'", cmd_snapshot_create, NULL, true },
        { "snapshot-list", "<sb> <ws>", "alias of 'snapshot list'", cmd_snapshot_list, NULL, true },
        { "restore", "<sb> <ws> <name>", "alias of 'snapshot restore'", cmd_snapshot_restore, NULL, true },
        {},
};
