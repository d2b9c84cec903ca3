/* enclave workspace create|start|stop|destroy|remove|status|list|wipe|
 * enter|exec|run|logs|stats (SPEC §2): clients of the workspace.*
 * actions (src/daemon/actions-workspace.c). `remove` is `destroy`.
 *
 * exec/run/enter exit with the command's own status; 126/127 when the
 * runtime could not execute / find it; 125 when Enclave itself failed
 * (no daemon, no such workspace, not running, ...). */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/exec-relay.h"
#include "cli/limit-options.h"
#include "cli/output.h"
#include "cli/project-file.h"
#include "proto/actions.h"
#include "spec/spec.h"
#include "spec/restart.h"
#include "base/str.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* Every value of a repeatable option, each first checked by check()
 * when given. */
static int string_list(Cli *cli, const CliArgs *a, const char *opt, int (*check)(Cli *, const char *), char ***ret)
{
        const char *v;
        for (size_t i = 0; (v = cli_arg_nth(a, opt, i)); i++) {
                int r = check ? check(cli, v) : 0;
                if (r != 0)
                        return r;
                if (strv_push(ret, v) < 0)
                        return cli_fail(cli, "out of memory");
        }
        return 0;
}

static int check_env(Cli *cli, const char *v)
{
        if (!strchr(v, '=') || v[0] == '=')
                return cli_usage_error(cli, "--env wants NAME=VALUE, got '%s'", v);
        return 0;
}

static int read_ports(Cli *cli, const CliArgs *a, WorkspaceSpec *s)
{
        const char *v;
        for (size_t i = 0; (v = cli_arg_nth(a, "port", i)); i++) {
                _cleanup_error_ Error err = ERROR_INIT;
                PortSpec *p = realloc(s->ports, (s->n_ports + 1) * sizeof *p);
                if (!p)
                        return cli_fail(cli, "out of memory");
                s->ports = p;
                if (port_spec_parse(v, &s->ports[s->n_ports], &err) < 0)
                        return cli_usage_error(cli, "--port %s: %s", v, error_msg(&err));
                s->n_ports++;
        }
        return 0;
}

/* The spec of the workspace from the line; 0 or an exit code. */
static int create_spec(Cli *cli, const CliArgs *a, WorkspaceSpec *s)
{
        int r = cli_limits(cli, a, LIMIT_WORKSPACE, &s->limits);
        if (r != 0)
                return r;
        if (!(s->name = strdup(cli_arg(a, "NAME"))))
                return cli_fail(cli, "out of memory");
        const char *dir = cli_arg_value(a, "workspace-dir") ?: cli_arg_value(a, "path");
        if (dir && !(s->workspace_dir = realpath(dir, NULL)))
                return cli_usage_error(cli, "--workspace-dir %s: %m; give an existing directory (it becomes "
                                       "the workspace's /home)", dir);
        if (cli_arg_value(a, "run") && !(s->run = strdup(cli_arg_value(a, "run"))))
                return cli_fail(cli, "out of memory");
        const char *restart = cli_arg_value(a, "restart");
        if (restart && (s->restart = run_restart_from_string(restart)) == _RUN_RESTART_INVALID)
                return cli_usage_error(cli, "--restart wants no, on-failure or always, got '%s'", restart);
        if ((r = string_list(cli, a, "env", check_env, &s->env)) != 0 || (r = read_ports(cli, a, s)) != 0 ||
            (r = string_list(cli, a, "auth", NULL, &s->auth)) != 0 ||
            (r = string_list(cli, a, "env-token", NULL, &s->env_tokens)) != 0)
                return r;
        return 0;
}

static int cmd_create(Cli *cli, const CliArgs *a)
{
        _cleanup_(workspace_spec_done) WorkspaceSpec spec = {};
        int r = create_spec(cli, a, &spec);
        if (r != 0)
                return r;
        json_t *params = workspace_spec_to_json(&spec, SPEC_JSON_WIRE);
        if (!params || json_object_set_new(params, "sandbox", json_string(cli_arg(a, "SANDBOX"))) < 0 ||
            json_object_set_new(params, "workspace", json_string(spec.name)) < 0) {
                json_decref(params);
                return cli_fail(cli, "out of memory");
        }
        json_t *res;
        r = call(cli, PROTO_ACTION_WORKSPACE_CREATE, params, &res);
        if (r != EXIT_OK)
                return r;
        if (cli->json)
                json_print(res, stdout);
        else if (!cli->quiet) {
                json_int_t base = json_integer_value(json_object_get(res, "uid_base"));
                printf("created workspace %s/%s (host ids %lld-%lld)\n", cli_arg(a, "SANDBOX"), cli_arg(a, "NAME"),
                       (long long) base, (long long) base + 65535);
        }
        json_decref(res);
        return EXIT_OK;
}

/* ---- start / stop / destroy ---- */

/* SANDBOX WORKSPACE [--timeout S]; 0 or an exit code. */
static int target_params(Cli *cli, const CliArgs *a, json_t **ret)
{
        int64_t timeout = -1;
        if (cli_find_option(a->cmd, "timeout", strlen("timeout")) &&
            cli_arg_int(cli, a, "timeout", 0, 3600, &timeout) < 0)
                return EXIT_USAGE;
        *ret = target(cli_arg(a, "SANDBOX"), cli_arg(a, "WORKSPACE"));
        if (*ret && timeout >= 0)
                json_object_set_new(*ret, "timeout", json_integer(timeout));
        return 0;
}

static int cmd_start(Cli *cli, const CliArgs *a)
{
        json_t *params = NULL, *res;
        int r = target_params(cli, a, &params);
        if (r != 0)
                return r;
        r = call(cli, PROTO_ACTION_WORKSPACE_START, params, &res);
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

static int cmd_stop(Cli *cli, const CliArgs *a)
{
        json_t *params = NULL, *res;
        int r = target_params(cli, a, &params);
        if (r != 0)
                return r;
        r = call(cli, PROTO_ACTION_WORKSPACE_STOP, params, &res);
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

static int cmd_destroy(Cli *cli, const CliArgs *a)
{
        json_t *params = NULL, *res;
        int r = target_params(cli, a, &params);
        if (r != 0)
                return r;
        r = call(cli, PROTO_ACTION_WORKSPACE_DESTROY, params, &res);
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

static int cmd_wipe(Cli *cli, const CliArgs *a)
{
        if (!cli_arg_flag(a, "yes") && !confirm_wipe())
                return cli_fail(cli, "not confirmed; nothing was destroyed (type 'wipe' at the prompt, or pass "
                                "--yes)");
        json_t *res;
        int r = call(cli, PROTO_ACTION_WORKSPACE_WIPE, json_object(), &res);
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

static void print_limits(json_t *cfg)
{
        _cleanup_free_ char *text = cli_limits_text(cfg, LIMIT_WORKSPACE);
        status_line("limits:", text && *text ? text : "none");
}

/* "on-failure (2 restarts, next start in 0.4 s, last status 3)" */
static void print_restart(json_t *s)
{
        const char *policy = str_of(s, "restart");
        if (!policy || !str_of(json_object_get(s, "config"), "run"))
                return;
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        strbuf_printf(&b, "%s", policy);
        json_t *n = json_object_get(s, "restarts"), *next = json_object_get(s, "next_restart_in_ms"),
               *last = json_object_get(s, "last_run_status");
        if (json_is_integer(n)) {
                strbuf_printf(&b, " (%lld restart%s", (long long) json_integer_value(n),
                              json_integer_value(n) == 1 ? "" : "s");
                if (json_is_integer(next))
                        strbuf_printf(&b, ", next start in %.1f s", (double) json_integer_value(next) / 1000.0);
                if (json_is_integer(last))
                        strbuf_printf(&b, ", last run exited %lld", (long long) json_integer_value(last));
                strbuf_printf(&b, ")");
        }
        status_line("restart:", b.data);
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
        print_restart(s);
        status_line("home:", str_of(cfg, "workspace_dir") ? str_of(cfg, "workspace_dir") : "managed");
        print_limits(cfg);
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

static int cmd_status(Cli *cli, const CliArgs *a)
{
        json_t *res;
        json_t *params = target(cli_arg(a, "SANDBOX"), cli_arg(a, "WORKSPACE"));
        int r = call(cli, PROTO_ACTION_WORKSPACE_STATUS, params, &res);
        if (r != EXIT_OK)
                return r;
        if (cli->json)
                json_print(res, stdout);
        else
                print_status(cli, res);
        json_decref(res);
        return EXIT_OK;
}

static int cmd_list(Cli *cli, const CliArgs *a)
{
        const char *sandbox = cli_arg_value(a, "sandbox-id") ?: cli_arg_value(a, "sandbox");
        json_t *res;
        int r = call(cli, PROTO_ACTION_WORKSPACE_LIST,
                     sandbox ? json_pack("{s:s}", "sandbox", sandbox) : json_object(), &res);
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

static int cmd_stats(Cli *cli, const CliArgs *a)
{
        json_t *res;
        json_t *params = target(cli_arg(a, "SANDBOX"), cli_arg(a, "WORKSPACE"));
        int r = call(cli, PROTO_ACTION_WORKSPACE_STATS, params, &res);
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

typedef struct LogView {
        bool json;
        LineBuf lines;
        int64_t time_usec; /* of the event being cut into lines */
        char stream[8];    /* and its stream */
} LogView;

static void log_json_line(const char *line, size_t len, void *userdata)
{
        LogView *v = userdata;
        print_log_json_line(stdout, NULL, v->time_usec, v->stream, line, len);
}

static int on_log_event(json_t *event, void *userdata)
{
        LogView *v = userdata;
        json_t *data = json_object_get(event, "data");
        if (!json_is_string(data))
                return 0;
        if (v->json) {
                json_t *t = json_object_get(event, "time_usec");
                v->time_usec = json_is_integer(t) ? json_integer_value(t) : -1;
                log_event_stream(event, v->stream);
                line_buf_feed(&v->lines, json_string_value(data), json_string_length(data), log_json_line, v);
        } else
                fwrite(json_string_value(data), 1, json_string_length(data), stdout);
        fflush(stdout);
        return 0;
}

static int cmd_logs(Cli *cli, const CliArgs *a)
{
        int64_t tail = -1;
        if (cli_arg_int(cli, a, "tail", 0, INT32_MAX, &tail) < 0)
                return EXIT_USAGE;
        bool follow = cli_arg_flag(a, "follow");
        json_t *params = target(cli_arg(a, "SANDBOX"), cli_arg(a, "WORKSPACE"));
        if (!params)
                return cli_fail(cli, "out of memory");
        if (tail >= 0)
                json_object_set_new(params, "tail", json_integer(tail));
        json_object_set_new(params, "follow", json_boolean(follow));
        json_object_set_new(params, "records", json_boolean(cli->json));
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_client_ Client *cl = NULL;
        if (client_open(cli, &cl, &err) < 0) {
                json_decref(params);
                return cli_fail_error(cli, &err);
        }
        json_t *res = NULL;
        LogView v = { .json = cli->json, .time_usec = -1, .stream = "output" };
        int r = client_call(cl, PROTO_ACTION_WORKSPACE_LOGS, params, NULL, 0, on_log_event, &v, &res, NULL, &err);
        line_buf_flush(&v.lines, log_json_line, &v);
        line_buf_done(&v.lines);
        if (r < 0)
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

static int exec_options(Cli *cli, const CliArgs *a, ExecOpts *o)
{
        o->cwd = cli_arg_value(a, "cwd");
        o->tty = cli_arg_flag(a, "tty");
        o->interactive = cli_arg_flag(a, "interactive");
        if (cli_find_option(a->cmd, "shell", strlen("shell")))
                o->shell = cli_arg_value(a, "shell");
        o->argv = a->command;
        const char *v;
        for (size_t i = 0; (v = cli_arg_nth(a, "env", i)); i++) {
                if (!strchr(v, '=') || v[0] == '=')
                        return cli_usage_error(cli, "-e wants NAME=VALUE, got '%s'", v);
                json_array_append_new(o->env, json_string(v));
        }
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
                r = client_call(cl, PROTO_ACTION_WORKSPACE_EXEC, params, NULL, 0, on_exec_event, &ctx, &res, NULL,
                                &err);
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
                r = client_call(cl, PROTO_ACTION_WORKSPACE_EXEC, params, fds, 3, NULL, NULL, &res, NULL, &err);
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

static int exec_in(Cli *cli, const CliArgs *a, const char *sandbox, const char *workspace)
{
        ExecOpts o = { .sandbox = sandbox, .workspace = workspace, .env = json_array(),
                       .enter = streq(a->cmd->name, "enter") };
        int r = exec_options(cli, a, &o);
        if (r == 0)
                r = run_exec(cli, &o);
        else
                r = EXIT_ENCLAVE;
        json_decref(o.env);
        return r;
}

static int cmd_exec(Cli *cli, const CliArgs *a)
{
        return exec_in(cli, a, cli_arg(a, "SANDBOX"), cli_arg(a, "WORKSPACE"));
}

/* The short forms in a project directory: the sandbox is ./Enclavefile's. */
static int cmd_project_exec(Cli *cli, const CliArgs *a)
{
        _cleanup_enclavefile_ Enclavefile *ef = NULL;
        const WorkspaceSpec *ws;
        int r = cli_load_enclavefile(cli, &ef);
        if (r == 0)
                r = cli_project_workspace(cli, ef, cli_arg(a, "WORKSPACE"), &ws);
        if (r != 0)
                return EXIT_ENCLAVE;
        return exec_in(cli, a, ef->sandbox.name, ws->name);
}

/* ---- the tables ---- */

static const CliOption create_options[] = {
        CLI_WORKSPACE_LIMIT_OPTIONS
        { "workspace-dir", 0, "PATH", "host directory shown as /home", .complete = CLI_COMPLETE_DIR },
        { "path", 0, "PATH", "alias of --workspace-dir", CLI_OPT_HIDDEN, CLI_COMPLETE_DIR },
        { "run", 0, "CMD", "command started with the workspace (without it, the workspace starts idle)" },
        { "restart", 0, "POLICY", "start the run command again when it ends: no (default), on-failure, always",
          0, CLI_COMPLETE_CHOICES, "no|on-failure|always" },
        { "env", 'e', "K=V", "environment of run, exec and enter", CLI_OPT_REPEAT },
        { "port", 'p', "127.0.0.1:HOST:WS[/tcp]", "publish workspace port WS on the host's loopback port HOST",
          CLI_OPT_REPEAT },
        { "auth", 0, "PROVIDER", "provider whose token reaches the workspace (enclave, github, npm)",
          CLI_OPT_REPEAT, CLI_COMPLETE_CHOICES, "enclave|github|npm" },
        { "env-token", 0, "NAME", "token variable set in the workspace (ENCLAVE_TOKEN, GITHUB_TOKEN, ...)",
          CLI_OPT_REPEAT },
        {},
};

#define SB_ARG { "SANDBOX", .complete = CLI_COMPLETE_SANDBOX }
#define WS_ARG { "WORKSPACE", .complete = CLI_COMPLETE_WORKSPACE }

static const CliArg create_args[] = { SB_ARG, { "NAME" }, {} };
static const CliArg target_args[] = { SB_ARG, WS_ARG, {} };
static const CliArg optional_sb_args[] = {
        { "SANDBOX", CLI_ARG_OPTIONAL, CLI_COMPLETE_SANDBOX },
        WS_ARG,
        {},
};

static const CliOption timeout_option[] = {
        { "timeout", 0, "SECONDS", "how long to wait after SIGTERM before killing (0-3600)" },
        {},
};

static const CliCommand create = {
        "create", "create a workspace",
        "Creates a workspace in SANDBOX: its registry entry, its own host id range, its\n"
        "managed /home (or --workspace-dir) and its limits. 'enclave workspace start'\n"
        "starts it.",
        create_options, create_args, .run = cmd_create,
};

static const CliCommand start = {
        "start", "start a workspace",
        "Starts the workspace's pid 1 in its own namespaces, cgroup and network, and its\n"
        "run command when it has one.",
        NULL, target_args, .run = cmd_start,
};

static const CliCommand stop = {
        "stop", "stop a workspace",
        "Sends SIGTERM to the workspace's processes, then SIGKILL after --timeout seconds\n"
        "(default 10), and releases its network and cgroup.",
        timeout_option, target_args, .run = cmd_stop,
};

static const CliCommand destroy = {
        "destroy", "destroy a workspace and its files",
        "Stops the workspace and removes it: its writable layer, its managed /home, its\n"
        "snapshots and its registry entry. A host --workspace-dir is never touched.",
        timeout_option, target_args, .run = cmd_destroy,
};

static const CliCommand remove_ = {
        "remove", "remove a workspace (same as destroy)",
        "The same as 'enclave workspace destroy'.",
        timeout_option, target_args, .run = cmd_destroy,
};

static const CliCommand status = {
        "status", "show a workspace",
        "Shows a workspace: state, pid, uptime, address, host ids, run command, home,\n"
        "limits, ports and usage (--json for all fields). SANDBOX may be left out when\n"
        "the workspace name is unique.",
        NULL, optional_sb_args, .run = cmd_status,
};

static const CliOption list_options[] = {
        { "sandbox-id", 0, "SANDBOX", "only this sandbox's workspaces", .complete = CLI_COMPLETE_SANDBOX },
        { "sandbox", 0, "SANDBOX", "alias of --sandbox-id", CLI_OPT_HIDDEN, CLI_COMPLETE_SANDBOX },
        {},
};

static const CliCommand list = {
        "list", "list workspaces",
        "Lists the workspaces of every sandbox, or of one (--json for all fields).",
        list_options, .run = cmd_list,
};

static const CliOption wipe_options[] = {
        { "yes", 'y', NULL, "do not ask" },
        {},
};

static const CliCommand wipe = {
        "wipe", "destroy every workspace",
        "Destroys every workspace of every sandbox, with its files. Asks you to type\n"
        "'wipe' unless --yes.",
        wipe_options, .run = cmd_wipe,
};

static const CliOption exec_options_table[] = {
        { "cwd", 0, "DIR", "working directory, below /home (default /home)" },
        { "tty", 't', NULL, "make a pty inside the workspace even without a terminal" },
        { "interactive", 'i', NULL, "feed a terminal's input to a command without a pty" },
        { "env", 'e', "K=V", "environment of the command", CLI_OPT_REPEAT },
        {},
};

static const CliArg exec_args[] = { SB_ARG, WS_ARG, { "CMD", CLI_ARG_COMMAND, CLI_COMPLETE_COMMAND }, {} };

#define EXEC_DESCRIPTION                                                                                        \
        "Runs CMD inside the workspace as its root, in /home (or --cwd, which must be below\n"                \
        "/home). Pipes and redirections work like a local command; a terminal gets a pty\n"                   \
        "made inside the workspace. -t forces a pty, -i feeds a terminal's input to a\n"                      \
        "command without one. Everything after '--', or from the first word after\n"                          \
        "WORKSPACE on, is the command with its own options.\n"                                                 \
        "\n"                                                                                                   \
        "Exit status: the command's own; 126 cannot execute, 127 not found, 125 Enclave\n"                    \
        "itself failed (usage errors included)."

static const CliCommand exec = {
        "exec", "run a command in a workspace", EXEC_DESCRIPTION,
        exec_options_table, exec_args, .run = cmd_exec, .flags = CLI_CMD_EXIT_125,
};

static const CliCommand run = {
        "run", "same as exec", EXEC_DESCRIPTION,
        exec_options_table, exec_args, .run = cmd_exec, .flags = CLI_CMD_EXIT_125,
};

static const CliOption enter_options[] = {
        { "cwd", 0, "DIR", "working directory, below /home (default /home)" },
        { "shell", 0, "SH", "shell to run (default: root's shell from the workspace's /etc/passwd, else /bin/sh)" },
        { "env", 'e', "K=V", "environment of the shell", CLI_OPT_REPEAT },
        { "tty", 't', NULL, "accepted for symmetry with exec: enter always makes a pty", CLI_OPT_HIDDEN },
        { "interactive", 'i', NULL, "accepted for symmetry with exec", CLI_OPT_HIDDEN },
        {},
};

static const CliCommand enter = {
        "enter", "open a shell in a workspace",
        "Opens the workspace root's shell (from its /etc/passwd, else /bin/sh) on a pty\n"
        "made inside the workspace.",
        enter_options, target_args, .run = cmd_exec, .flags = CLI_CMD_EXIT_125,
};

static const CliArg project_exec_args[] = {
        { "WORKSPACE", .complete = CLI_COMPLETE_WORKSPACE },
        { "CMD", CLI_ARG_COMMAND, CLI_COMPLETE_COMMAND },
        {},
};
static const CliArg project_enter_args[] = { { "WORKSPACE", .complete = CLI_COMPLETE_WORKSPACE }, {} };

const CliCommand cli_cmd_exec = {
        "exec", "run a command in a workspace of ./Enclavefile",
        "The short form of 'enclave workspace exec' in a project directory: WORKSPACE is\n"
        "one ./Enclavefile declares, in its sandbox. Everything after '--', or from the\n"
        "first word after WORKSPACE on, is the command with its own options.\n"
        "\n"
        "Exit status: the command's own; 126 cannot execute, 127 not found, 125 Enclave\n"
        "itself failed (usage errors included).",
        exec_options_table, project_exec_args, .run = cmd_project_exec, .flags = CLI_CMD_EXIT_125,
};

const CliCommand cli_cmd_enter = {
        "enter", "open a shell in a workspace of ./Enclavefile",
        "The short form of 'enclave workspace enter' in a project directory: WORKSPACE is\n"
        "one ./Enclavefile declares, in its sandbox.",
        enter_options, project_enter_args, .run = cmd_project_exec, .flags = CLI_CMD_EXIT_125,
};

static const CliOption logs_options[] = {
        { "tail", 'n', "N", "only the last N lines" },
        { "follow", 'f', NULL, "keep printing new lines until Ctrl-C or the log ends" },
        {},
};

static const CliCommand logs = {
        "logs", "show a workspace's log",
        "Prints the output of the workspace's run command and its pid 1 (the log is\n"
        "size-capped and rotated). SANDBOX may be left out when the workspace name is\n"
        "unique.",
        logs_options, optional_sb_args, .run = cmd_logs,
};

static const CliCommand stats = {
        "stats", "resource usage of a workspace",
        "One sample of a workspace's CPU, memory, network, block I/O, processes and\n"
        "threads ('enclave stats' shows every workspace, live).",
        NULL, optional_sb_args, .run = cmd_stats,
};

const CliCommand cli_group_workspace = {
        "workspace", "manage workspaces",
        "A workspace is an isolated execution context inside a sandbox: its own\n"
        "processes, network, hostname, writable layer and /home over the sandbox's shared\n"
        "root filesystem.",
        .sub = (const CliCommand *const[]) {
                &create, &start, &stop, &destroy, &status, &remove_, &list, &wipe, &enter, &exec, &run,
                &cli_cmd_workspace_cp,
                &cli_group_port, &logs, &stats, &cli_cmd_snapshot_gc, &cli_alias_snapshot,
                &cli_alias_snapshot_list, &cli_alias_restore, NULL,
        },
};
