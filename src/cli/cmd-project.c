/* enclave up [--rebuild] [--remove-orphans] | down | restart [--rebuild]
 * | ps [--local|--project] — driven by ./Enclavefile (SPEC §3,
 * docs/lifecycle.md).
 *
 * The Enclavefile is loaded and validated here, before the daemon is
 * contacted: every problem is printed as FILE:LINE:COL and nothing
 * changes. Then one request carries the resolved configuration; the
 * daemon does the rest and streams one event per step. */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "cli/project-file.h"
#include "proto/actions.h"
#include "base/str.h"

#include <limits.h>
#include <string.h>

/* ---- options ---- */

typedef struct ProjectArgs {
        bool rebuild;
        bool remove_orphans;
} ProjectArgs;

static ProjectArgs project_args(const CliArgs *a)
{
        return (ProjectArgs) { cli_arg_flag(a, "rebuild"), cli_arg_flag(a, "remove-orphans") };
}

/* ---- streamed events ---- */

typedef struct EventPrinter {
        Cli *cli;
        Progress progress;
} EventPrinter;

static int on_event(json_t *ev, void *userdata)
{
        EventPrinter *p = userdata;
        const char *type = json_string_value(json_object_get(ev, "type"));
        const char *msg = json_string_value(json_object_get(ev, "message"));
        if (!type || !msg)
                return 0;
        if (streq(type, "warning")) {
                progress_done(&p->progress);
                fprintf(stderr, "enclave: warning: %s\n", msg);
                return 0;
        }
        if (p->cli->quiet || p->cli->json)
                return 0;
        if (streq(type, "note")) {
                progress_line(&p->progress, "note: %s", msg);
        } else if (streq(type, "step")) {
                /* A step ends whatever counter its work showed. */
                progress_done(&p->progress);
                const char *status = json_string_value(json_object_get(ev, "status"));
                if (status && streq(status, "begin"))
                        progress_update(&p->progress, "%s ...", msg);
                else if (status && streq(status, "failed")) {
                        const char *ws = json_string_value(json_object_get(ev, "workspace"));
                        progress_line(&p->progress, "FAILED %s%s%s", ws ? ws : "", ws ? ": " : "", msg);
                } else
                        progress_line(&p->progress, "%s", msg);
        } else if (streq(type, "progress")) {
                const char *stage = json_string_value(json_object_get(ev, "stage"));
                if (stage && streq(stage, "output"))
                        progress_line(&p->progress, "  | %s", msg);
                else if (*msg)
                        progress_event(&p->progress, ev);
        }
        return 0;
}

/* ---- up ---- */

static void print_list(const char *label, json_t *names, const char *hint)
{
        if (json_array_size(names) == 0)
                return;
        printf("%s", label);
        size_t i;
        json_t *n;
        json_array_foreach(names, i, n)
                printf("%s%s", i ? ", " : " ", json_string_value(n));
        printf("%s\n", hint);
}

static void print_up_summary(json_t *res)
{
        size_t i, n_created = 0, n_updated = 0, n_started = 0;
        json_t *w;
        json_array_foreach(json_object_get(res, "workspaces"), i, w) {
                const char *action = json_string_value(json_object_get(w, "action"));
                n_created += action && streq(action, "created");
                n_updated += action && streq(action, "updated");
                n_started += json_is_true(json_object_get(w, "started"));
        }
        size_t total = json_array_size(json_object_get(res, "workspaces"));
        printf("sandbox %s is up: %zu workspace%s", json_string_value(json_object_get(res, "sandbox")), total,
               total == 1 ? "" : "s");
        if (n_created + n_updated + n_started == 0 && !json_is_true(json_object_get(json_object_get(res, "setup"), "ran")))
                printf(", nothing changed");
        else
                printf(" (%zu created, %zu updated, %zu started)", n_created, n_updated, n_started);
        printf(" in %lld ms\n", (long long) json_integer_value(json_object_get(res, "elapsed_ms")));
        print_list("removed (not in the Enclavefile):", json_object_get(res, "removed_orphans"), "");
        json_t *orphans = json_object_get(res, "orphans");
        if (json_array_size(json_object_get(res, "removed_orphans")) == 0)
                print_list("not in the Enclavefile (kept):", orphans,
                           "; remove them with 'enclave up --remove-orphans'");
}

static int run_up(Cli *cli, const ProjectArgs *a)
{
        _cleanup_enclavefile_ Enclavefile *ef = NULL;
        int r = cli_load_enclavefile(cli, &ef);
        if (r != 0)
                return r;
        json_t *config = enclavefile_to_json(ef);
        json_t *params = config ? json_pack("{s:o, s:b, s:b}", "config", config, "rebuild", a->rebuild,
                                            "remove_orphans", a->remove_orphans)
                                : NULL;
        if (!params)
                return cli_fail(cli, "out of memory");

        EventPrinter p = { .cli = cli };
        progress_init(&p.progress, cli);
        json_t *res = NULL;
        if ((r = cli_call_with_progress(cli, PROTO_ACTION_PROJECT_UP, params, -EBADF, &p.progress, on_event, &p,
                                        &res)) != EXIT_OK)
                return r;
        if (cli->json)
                json_print(res, stdout);
        else if (!cli->quiet)
                print_up_summary(res);
        json_decref(res);
        return EXIT_OK;
}

static int cmd_up(Cli *cli, const CliArgs *a)
{
        ProjectArgs p = project_args(a);
        return run_up(cli, &p);
}

/* ---- down ---- */

static int run_down(Cli *cli)
{
        _cleanup_enclavefile_ Enclavefile *ef = NULL;
        int r = cli_load_enclavefile(cli, &ef);
        if (r != 0)
                return r;
        json_t *params = json_pack("{s:s, s:s}", "sandbox", ef->sandbox.name, "project", ef->path);
        if (!params)
                return cli_fail(cli, "out of memory");
        EventPrinter p = { .cli = cli };
        progress_init(&p.progress, cli);
        json_t *res = NULL;
        if ((r = cli_call_with_progress(cli, PROTO_ACTION_PROJECT_DOWN, params, -EBADF, &p.progress, on_event, &p,
                                        &res)) != EXIT_OK)
                return r;
        if (cli->json)
                json_print(res, stdout);
        else if (!cli->quiet) {
                if (!json_is_true(json_object_get(res, "exists")))
                        printf("sandbox %s does not exist; nothing to stop\n", ef->sandbox.name);
                else
                        printf("sandbox %s is down: %lld workspace(s) stopped in %lld ms\n", ef->sandbox.name,
                               (long long) json_integer_value(json_object_get(res, "stopped")),
                               (long long) json_integer_value(json_object_get(res, "elapsed_ms")));
        }
        json_decref(res);
        return EXIT_OK;
}

static int cmd_down(Cli *cli, const CliArgs *a)
{
        return run_down(cli);
}

static int cmd_restart(Cli *cli, const CliArgs *a)
{
        ProjectArgs p = project_args(a);
        int r = run_down(cli);
        return r != EXIT_OK ? r : run_up(cli, &p);
}

/* ---- ps ---- */

static int print_processes(Cli *cli, json_t *procs)
{
        static const char *const headers[] = { "SANDBOX", "WORKSPACE", "PID", "USER", "CMD", NULL };
        _cleanup_table_ Table *t = table_new(headers);
        if (!t)
                return cli_fail(cli, "out of memory");
        size_t i;
        json_t *p;
        json_array_foreach(procs, i, p) {
                char pid[24];
                snprintf(pid, sizeof pid, "%lld", (long long) json_integer_value(json_object_get(p, "pid")));
                /* The user name and the command line are the workspace's. */
                const char *user = json_string_value(json_object_get(p, "user")),
                           *cmd = json_string_value(json_object_get(p, "cmd"));
                _cleanup_free_ char *user_shown = user ? text_printable(user) : NULL,
                                    *cmd_shown = cmd ? text_printable(cmd) : NULL;
                if ((user && !user_shown) || (cmd && !cmd_shown))
                        return cli_fail(cli, "out of memory");
                const char *cells[] = {
                        json_string_value(json_object_get(p, "sandbox")),
                        json_string_value(json_object_get(p, "workspace")),
                        pid,
                        user_shown,
                        cmd_shown,
                };
                if (table_add_row(t, cells) < 0)
                        return cli_fail(cli, "out of memory");
        }
        return table_print(t, cli, stdout) < 0 ? EXIT_FAIL : EXIT_OK;
}

static int cmd_ps(Cli *cli, const CliArgs *args)
{
        struct {
                bool local, project;
        } a = { cli_arg_flag(args, "local"), cli_arg_flag(args, "project") };
        int r;
        if (a.local && a.project)
                return cli_usage_error(cli, "'ps' takes --local or --project, not both");

        json_t *params = json_object();
        _cleanup_enclavefile_ Enclavefile *ef = NULL;
        if (a.local || a.project) {
                r = cli_load_enclavefile(cli, &ef);
                if (r != 0) {
                        json_decref(params);
                        return r;
                }
                json_t *names = json_array();
                for (size_t i = 0; a.local && names && i < ef->n_workspaces; i++)
                        (void) json_array_append_new(names, json_string(ef->workspaces[i].name));
                if (params)
                        json_object_set_new(params, "sandbox", json_string(ef->sandbox.name));
                if (params && a.local)
                        json_object_set(params, "workspaces", names);
                json_decref(names);
        }
        if (!params)
                return cli_fail(cli, "out of memory");
        _cleanup_error_ Error err = ERROR_INIT;
        json_t *res = NULL;
        if (cli_call(cli, PROTO_ACTION_PROJECT_PS, params, &res, &err) < 0)
                return cli_fail_error(cli, &err);
        json_t *procs = json_object_get(res, "processes");
        r = cli->json ? (json_print(procs, stdout) < 0 ? EXIT_FAIL : EXIT_OK) : print_processes(cli, procs);
        json_decref(res);
        return r;
}

static const CliOption up_options[] = {
        { "rebuild", 0, NULL, "destroy the sandbox and its workspaces and create them again" },
        { "remove-orphans", 0, NULL, "destroy workspaces of the sandbox the file no longer declares" },
        {},
};

const CliCommand cli_cmd_up = {
        "up", "create and start everything the Enclavefile declares",
        "Creates and starts everything ./Enclavefile declares: the sandbox (created when\n"
        "missing), its setup (run again only when the setup list changed), and its\n"
        "workspaces (created when missing, updated and restarted when their definition\n"
        "changed, started when stopped). Running it again on an unchanged file changes\n"
        "nothing.",
        up_options, .run = cmd_up,
};

const CliCommand cli_cmd_down = {
        "down", "stop the Enclavefile's workspaces, then its sandbox",
        "Stops every workspace of ./Enclavefile's sandbox (all at once), then the sandbox.\n"
        "Nothing is removed: 'enclave up' starts them again.",
        .run = cmd_down,
};

const CliCommand cli_cmd_restart = {
        "restart", "down, then up",
        "'enclave down', then 'enclave up' with the same options.",
        up_options, .run = cmd_restart,
};

static const CliOption ps_options[] = {
        { "local", 0, NULL, "only the workspaces ./Enclavefile declares" },
        { "project", 0, NULL, "every workspace of ./Enclavefile's sandbox, declared or not" },
        {},
};

const CliCommand cli_cmd_ps = {
        "ps", "list workspace processes",
        "Lists the processes of running workspaces: SANDBOX WORKSPACE PID (host pid) USER\n"
        "(as seen inside the workspace) CMD.",
        ps_options, .run = cmd_ps,
};
