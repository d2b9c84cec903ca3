/* enclave create <name> [options] | start | stop | destroy | remove |
 * status <sandbox> | list | wipe [--yes]   (SPEC §2; sandbox.* actions)
 *
 * Input is checked here first (usage errors exit 2 before anything is
 * sent), then again by the daemon, which owns the rules. */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/limit-options.h"
#include "cli/output.h"
#include "proto/actions.h"
#include "spec/spec.h"
#include "spec/names.h"
#include "base/str.h"

#include <stdio.h>
#include <time.h>

#define NAME_RULE "1-63 characters: letters, digits, '_' and '-', starting with a letter or digit"

static int check_name(Cli *cli, const char *name)
{
        if (streq(name, LAYOUT_ROOTFS_CACHE))
                return cli_usage_error(cli, "'%s' is reserved for the rootfs cache; choose another sandbox name",
                                       name);
        if (!layout_sandbox_name_is_valid(name))
                return cli_usage_error(cli, "invalid sandbox name '%s': use " NAME_RULE, name);
        return 0;
}

/* ---- talking to the daemon ---- */

static int on_event(json_t *ev, void *userdata)
{
        progress_event(userdata, ev);
        return 0;
}

/* One request with progress; *ret_result on success. */
static int call_with_progress(Cli *cli, const char *action, json_t *params, json_t **ret_result)
{
        Progress p;
        progress_init(&p, cli);
        return cli_call_with_progress(cli, action, params, -EBADF, &p, on_event, &p, ret_result);
}

static int call_plain(Cli *cli, const char *action, json_t *params, json_t **ret_result)
{
        _cleanup_error_ Error err = ERROR_INIT;
        if (cli_call(cli, action, params, ret_result, &err) < 0)
                return cli_fail_error(cli, &err);
        return EXIT_OK;
}

/* ---- create ---- */

static double now_secs(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* The spec of the sandbox from the line; the daemon fills in what is
 * left out from config.toml. 0 or an exit code. */
static int create_spec(Cli *cli, const CliArgs *a, SandboxSpec *ret)
{
        _cleanup_error_ Error err = ERROR_INIT;
        const char *v;
        int r = check_name(cli, cli_arg(a, "NAME"));
        if (r != 0)
                return r;
        if ((v = cli_arg_value(a, "suite")) && debian_suite_check(v, NULL, &err) < 0)
                return cli_usage_error(cli, "%s", error_msg(&err));
        if ((v = cli_arg_value(a, "mirror")) && mirror_url_check(v, &err) < 0)
                return cli_usage_error(cli, "invalid --mirror '%s': %s", v, error_msg(&err));
        if ((v = cli_arg_value(a, "bootstrap-method")) && !bootstrap_method_is_known(v))
                return cli_usage_error(cli, "invalid --bootstrap-method '%s': use debootstrap or cached_rootfs", v);
        r = cli_limits(cli, a, LIMIT_SANDBOX, &ret->caps);
        if (r != 0)
                return r;
        const char *strings[] = { cli_arg(a, "NAME"), cli_arg_value(a, "suite"), cli_arg_value(a, "mirror"),
                                  cli_arg_value(a, "bootstrap-method") };
        char **fields[] = { &ret->name, &ret->suite, &ret->mirror, &ret->bootstrap_method };
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (strings[i] && !(*fields[i] = strdup(strings[i])))
                        return cli_fail(cli, "out of memory");
        return 0;
}

static int cmd_create(Cli *cli, const CliArgs *a)
{
        _cleanup_(sandbox_spec_done) SandboxSpec spec = {};
        const char *name = cli_arg(a, "NAME");
        int r = create_spec(cli, a, &spec);
        if (r != 0)
                return r;
        json_t *params = sandbox_spec_to_json(&spec, SPEC_JSON_WIRE);
        if (!params)
                return cli_fail(cli, "out of memory");
        double start = now_secs();
        json_t *res = NULL;
        r = call_with_progress(cli, PROTO_ACTION_SANDBOX_CREATE, params, &res);
        if (r != EXIT_OK)
                return r;
        if (cli->json)
                json_print(res, stdout);
        else if (!cli->quiet)
                printf("created sandbox %s (%s, %s) in %.1fs\n", name,
                       json_string_value(json_object_get(res, "suite")) ?: "?",
                       json_string_value(json_object_get(res, "bootstrap_method")) ?: "?",
                       now_secs() - start);
        json_decref(res);
        return EXIT_OK;
}

/* ---- one sandbox: start, stop, destroy, remove, status ---- */

/* "a, b, c" from a JSON array of names; NULL when it is empty. */
static char *joined(json_t *names)
{
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        size_t i;
        json_t *n;
        json_array_foreach(names, i, n)
                strbuf_printf(&b, "%s%s", i ? ", " : "", json_string_value(n) ?: "?");
        return b.len ? strbuf_steal(&b) : NULL;
}

static int cmd_start(Cli *cli, const CliArgs *a)
{
        const char *name = cli_arg(a, "SANDBOX");
        int r = check_name(cli, name);
        if (r != 0)
                return r;
        json_t *res = NULL;
        if ((r = call_plain(cli, PROTO_ACTION_SANDBOX_START, json_pack("{s:s}", "name", name), &res)) != EXIT_OK)
                return r;
        json_t *w;
        size_t i;
        json_array_foreach(json_object_get(res, "warnings"), i, w)
                fprintf(stderr, "enclave: warning: %s\n", json_string_value(w));
        if (cli->json)
                json_print(res, stdout);
        else if (!cli->quiet) {
                _cleanup_free_ char *names = joined(json_object_get(res, "started"));
                if (!json_is_true(json_object_get(res, "changed")))
                        printf("sandbox %s is already started\n", name);
                else if (names)
                        printf("started sandbox %s and, as before 'enclave stop', its workspaces %s\n", name, names);
                else
                        printf("started sandbox %s\n", name);
        }
        json_decref(res);
        return EXIT_OK;
}

static int cmd_stop(Cli *cli, const CliArgs *a)
{
        const char *name = cli_arg(a, "SANDBOX");
        int r = check_name(cli, name);
        if (r != 0)
                return r;
        json_t *res = NULL;
        if ((r = call_with_progress(cli, PROTO_ACTION_SANDBOX_STOP, json_pack("{s:s}", "name", name), &res)) != EXIT_OK)
                return r;
        if (cli->json)
                json_print(res, stdout);
        else if (!cli->quiet) {
                _cleanup_free_ char *names = joined(json_object_get(res, "stopped"));
                if (!json_is_true(json_object_get(res, "changed")))
                        printf("sandbox %s was already stopped\n", name);
                else if (names)
                        printf("stopped sandbox %s and its workspaces %s; 'enclave start %s' starts them again\n",
                               name, names, name);
                else
                        printf("stopped sandbox %s\n", name);
        }
        json_decref(res);
        return EXIT_OK;
}

static int cmd_destroy(Cli *cli, const CliArgs *a)
{
        const char *name = cli_arg(a, "SANDBOX");
        bool force = cli_arg_flag(a, "force");
        int r = check_name(cli, name);
        if (r != 0)
                return r;
        json_t *res = NULL;
        const char *action = streq(a->cmd->name, "remove") ? PROTO_ACTION_SANDBOX_REMOVE : PROTO_ACTION_SANDBOX_DESTROY;
        r = call_with_progress(cli, action, json_pack("{s:s, s:b}", "name", name, "force", force), &res);
        if (r != EXIT_OK)
                return r;
        if (cli->json)
                json_print(res, stdout);
        else if (!cli->quiet)
                printf("destroyed sandbox %s\n", name);
        json_decref(res);
        return EXIT_OK;
}

static void format_time(json_t *t, char *buf, size_t size)
{
        time_t when = (time_t) json_integer_value(t);
        struct tm tm;
        if (!json_is_integer(t) || !localtime_r(&when, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M", &tm) == 0)
                snprintf(buf, size, "-");
}

static void print_caps(json_t *s)
{
        _cleanup_free_ char *caps = cli_limits_text(s, LIMIT_SANDBOX);
        printf("caps:        %s\n", caps && *caps ? caps : "none");
}

static void print_status(Cli *cli, json_t *s)
{
        char state[64], created[32];
        const char *st = json_string_value(json_object_get(s, "state")) ?: "?";
        format_time(json_object_get(s, "created_at"), created, sizeof created);
        printf("name:        %s\n", json_string_value(json_object_get(s, "name")) ?: "?");
        printf("state:       %s\n", color_state(cli, st, state, sizeof state));
        printf("suite:       %s\n", json_string_value(json_object_get(s, "suite")) ?: "?");
        printf("method:      %s\n", json_string_value(json_object_get(s, "bootstrap_method")) ?: "?");
        printf("mirror:      %s\n", json_string_value(json_object_get(s, "mirror")) ?: "?");
        print_caps(s);
        printf("workspaces:  %lld (%lld running)\n", (long long) json_integer_value(json_object_get(s, "workspaces")),
               (long long) json_integer_value(json_object_get(s, "workspaces_running")));
        printf("setup:       %s\n", json_string_value(json_object_get(s, "setup_digest")) ?: "not run");
        printf("created:     %s\n", created);
        printf("rootfs:      %s\n", json_string_value(json_object_get(s, "rootfs")) ?: "-");
        json_t *cg = json_object_get(s, "cgroups");
        size_t i;
        json_t *p;
        if (json_array_size(cg) == 0)
                printf("cgroups:     none (run 'enclave start %s' to re-create them)\n",
                       json_string_value(json_object_get(s, "name")) ?: "");
        json_array_foreach(cg, i, p)
                printf("%s %s\n", i == 0 ? "cgroups:    " : "            ", json_string_value(p));
}

static int cmd_status(Cli *cli, const CliArgs *a)
{
        const char *name = cli_arg(a, "SANDBOX");
        int r = check_name(cli, name);
        if (r != 0)
                return r;
        json_t *res = NULL;
        if ((r = call_plain(cli, PROTO_ACTION_SANDBOX_STATUS, json_pack("{s:s}", "name", name), &res)) != EXIT_OK)
                return r;
        if (cli->json)
                json_print(res, stdout);
        else if (!cli->quiet)
                print_status(cli, res);
        json_decref(res);
        return EXIT_OK;
}

/* ---- list ---- */

static int print_list(Cli *cli, json_t *list)
{
        static const char *const headers[] = { "NAME", "SUITE", "METHOD", "STATE", "WORKSPACES", "CREATED", NULL };
        _cleanup_table_ Table *t = table_new(headers);
        if (!t)
                return cli_fail(cli, "out of memory");
        size_t i;
        json_t *s;
        json_array_foreach(list, i, s) {
                char ws[48], created[32], state[64];
                snprintf(ws, sizeof ws, "%lld", (long long) json_integer_value(json_object_get(s, "workspaces")));
                format_time(json_object_get(s, "created_at"), created, sizeof created);
                const char *cells[] = {
                        json_string_value(json_object_get(s, "name")),
                        json_string_value(json_object_get(s, "suite")),
                        json_string_value(json_object_get(s, "bootstrap_method")),
                        color_state(cli, json_string_value(json_object_get(s, "state")) ?: "?", state, sizeof state),
                        ws,
                        created,
                };
                if (table_add_row(t, cells) < 0)
                        return cli_fail(cli, "out of memory");
        }
        if (table_rows(t) == 0 && !cli->quiet) {
                printf("no sandboxes; create one with 'enclave create <name>' or 'enclave up'\n");
                return EXIT_OK;
        }
        return table_print(t, cli, stdout) < 0 ? EXIT_FAIL : EXIT_OK;
}

static int cmd_list(Cli *cli, const CliArgs *a)
{
        int r;
        json_t *res = NULL;
        if ((r = call_plain(cli, PROTO_ACTION_SANDBOX_LIST, NULL, &res)) != EXIT_OK)
                return r;
        json_t *list = json_object_get(res, "sandboxes");
        r = cli->json ? (json_print(list, stdout) < 0 ? EXIT_FAIL : EXIT_OK) : print_list(cli, list);
        json_decref(res);
        return r;
}

/* ---- wipe ---- */

/* The user types "wipe" at a terminal; without one, only --yes will do. */
static int confirm_wipe(Cli *cli, size_t n, const char *names)
{
        if (!isatty(STDIN_FILENO))
                return cli_usage_error(cli, "refusing to wipe without confirmation: no terminal to ask on; add --yes "
                                       "to destroy all %zu sandbox(es)", n);
        fprintf(stderr, "This destroys %zu sandbox(es) (%s) with all their workspaces and files.\n"
                        "Type 'wipe' to continue: ", n, names);
        fflush(stderr);
        char line[64];
        if (!fgets(line, sizeof line, stdin))
                return cli_fail(cli, "not confirmed; nothing was changed");
        line[strcspn(line, "\r\n")] = 0;
        if (!streq(line, "wipe"))
                return cli_fail(cli, "not confirmed; nothing was changed");
        return 0;
}

static int cmd_wipe(Cli *cli, const CliArgs *a)
{
        int r;
        if (!cli_arg_flag(a, "yes")) {
                json_t *res = NULL;
                if ((r = call_plain(cli, PROTO_ACTION_SANDBOX_LIST, NULL, &res)) != EXIT_OK)
                        return r;
                json_t *list = json_object_get(res, "sandboxes");
                _cleanup_strbuf_ StrBuf names = STRBUF_INIT;
                size_t i;
                json_t *s;
                json_array_foreach(list, i, s)
                        strbuf_printf(&names, "%s%s", i ? ", " : "", json_string_value(json_object_get(s, "name")));
                size_t n = json_array_size(list);
                json_decref(res);
                if (n == 0) {
                        if (!cli->quiet)
                                printf("no sandboxes; nothing to wipe\n");
                        return EXIT_OK;
                }
                if ((r = confirm_wipe(cli, n, names.data ?: "")) != 0)
                        return r;
        }
        json_t *res = NULL;
        if ((r = call_with_progress(cli, PROTO_ACTION_SANDBOX_WIPE, NULL, &res)) != EXIT_OK)
                return r;
        if (cli->json)
                json_print(res, stdout);
        else if (!cli->quiet)
                printf("destroyed %zu sandbox(es)\n", json_array_size(json_object_get(res, "destroyed")));
        json_decref(res);
        return EXIT_OK;
}

static const CliOption create_opts[] = {
        { "suite", 0, "SUITE", "Debian release: bookworm bullseye trixie sid stable testing oldstable",
          .complete = CLI_COMPLETE_CHOICES, .choices = "bookworm|bullseye|trixie|sid|stable|testing|oldstable" },
        { "mirror", 0, "URL", "Debian package mirror, http:// or https://" },
        { "bootstrap-method", 0, "METHOD", "debootstrap, or cached_rootfs (a copy of a cached rootfs)",
          .complete = CLI_COMPLETE_CHOICES, .choices = "debootstrap|cached_rootfs" },
        CLI_SANDBOX_LIMIT_OPTIONS
        {},
};

static const CliArg create_args[] = { { "NAME" }, {} };

const CliCommand cli_cmd_create = {
        "create", "create a sandbox",
        "Makes a sandbox: a Debian root filesystem (debootstrap, or a copy of a cached\n"
        "rootfs from 'enclave rootfs import|fetch') and a cgroup with aggregate caps over\n"
        "all its workspaces. Defaults for suite, mirror and method come from config.toml\n"
        "(suite bookworm, debootstrap). Names: " NAME_RULE ".",
        create_opts, create_args, .run = cmd_create,
};

static const CliArg sandbox_arg[] = { { "SANDBOX", .complete = CLI_COMPLETE_SANDBOX }, {} };

const CliCommand cli_cmd_start = {
        "start", "start a sandbox",
        "Makes a stopped sandbox usable again (its cgroup is re-created if the host lost\n"
        "it) and starts the workspaces that 'enclave stop' stopped, as 'docker compose\n"
        "start' does. Others are started with 'enclave workspace start' or 'enclave up'.",
        NULL, sandbox_arg, .run = cmd_start,
};

const CliCommand cli_cmd_stop = {
        "stop", "stop a sandbox and its workspaces",
        "Stops every running workspace of the sandbox and marks it stopped; 'enclave\n"
        "start' makes it usable again and starts those workspaces again.",
        NULL, sandbox_arg, .run = cmd_stop,
};

static const CliOption destroy_opts[] = {
        { "force", 'f', NULL, "destroy its workspaces too" },
        {},
};

const CliCommand cli_cmd_destroy = {
        "destroy", "destroy a sandbox and everything in it",
        "Removes the sandbox: its root filesystem, its cgroup and its registry entry. A\n"
        "sandbox that still has workspaces is refused unless --force, which destroys them\n"
        "too. 'remove' is the same command.",
        destroy_opts, sandbox_arg, .run = cmd_destroy,
};

const CliCommand cli_cmd_remove = {
        "remove", "remove a sandbox (same as destroy)",
        "The same as 'enclave destroy'.",
        destroy_opts, sandbox_arg, .run = cmd_destroy,
};

const CliCommand cli_cmd_status = {
        "status", "show a sandbox",
        "Shows a sandbox (--json for all fields).",
        NULL, sandbox_arg, .run = cmd_status,
};

const CliCommand cli_cmd_list = {
        "list", "list sandboxes",
        "Lists the sandboxes (--json for all fields).",
        .run = cmd_list,
};

static const CliOption wipe_opts[] = {
        { "yes", 'y', NULL, "do not ask" },
        {},
};

const CliCommand cli_cmd_wipe = {
        "wipe", "destroy every sandbox",
        "Destroys every sandbox with its workspaces. Asks you to type 'wipe' unless --yes.\n"
        "Cached root filesystems (enclave rootfs ...) are kept.",
        wipe_opts, .run = cmd_wipe,
};
