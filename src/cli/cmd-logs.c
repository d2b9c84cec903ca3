/* enclave logs [WORKSPACE...] [--follow] [--tail N]: the logs of the
 * workspaces ./Enclavefile declares (or of those named), each line
 * behind a coloured "name |" prefix, as `docker compose logs` prints
 * them; with --json one JSON line per log line, with "workspace".
 *
 * Without --follow the logs are printed one workspace after the other,
 * in the order of the file. With --follow each workspace has its own
 * connection on its own thread, and lines are printed whole, in the
 * order they arrive, until Ctrl-C. */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "cli/project-file.h"
#include "proto/actions.h"
#include "base/str.h"

#include <pthread.h>
#include <stdarg.h>
#include <string.h>

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const colors[] = { "36", "33", "32", "35", "34", "96", "93", "92", "95", "94" };

typedef struct Stream {
        Cli *cli;
        const char *socket_path;
        const char *sandbox, *workspace;
        int width;               /* of the widest name, for the prefix */
        const char *color;       /* NULL: no colour */
        bool follow;
        int64_t tail;            /* < 0: all */
        LineBuf lines;
        int64_t time_usec;       /* of the event being cut into lines */
        char stream[8];          /* and its stream */
        int rc;
} Stream;

static void print_line(const char *line, size_t len, void *userdata)
{
        Stream *s = userdata;
        pthread_mutex_lock(&out_lock);
        if (s->cli->json)
                print_log_json_line(stdout, s->workspace, s->time_usec, s->stream, line, len);
        else if (s->color)
                printf("\033[%sm%-*s |\033[0m %.*s\n", s->color, s->width, s->workspace, (int) len, line);
        else
                printf("%-*s | %.*s\n", s->width, s->workspace, (int) len, line);
        fflush(stdout);
        pthread_mutex_unlock(&out_lock);
}

static int on_event(json_t *ev, void *userdata)
{
        Stream *s = userdata;
        json_t *data = json_object_get(ev, "data");
        if (!json_is_string(data))
                return 0;
        json_t *t = json_object_get(ev, "time_usec");
        s->time_usec = json_is_integer(t) ? json_integer_value(t) : -1;
        log_event_stream(ev, s->stream);
        line_buf_feed(&s->lines, json_string_value(data), json_string_length(data), print_line, s);
        return 0;
}

static void say(const char *fmt, ...) _printf_(1, 2);
static void say(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        pthread_mutex_lock(&out_lock);
        fputs("enclave: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        pthread_mutex_unlock(&out_lock);
        va_end(ap);
}

static void *run_stream(void *userdata)
{
        Stream *s = userdata;
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_client_ Client *c = NULL;
        json_t *params = json_pack("{s:s, s:s, s:b}", "sandbox", s->sandbox, "workspace", s->workspace, "follow",
                                   s->follow);
        if (params)
                json_object_set_new(params, "records", json_boolean(s->cli->json));
        if (params && s->tail >= 0)
                json_object_set_new(params, "tail", json_integer(s->tail));
        json_t *res = NULL;
        int r = params ? client_connect(s->socket_path, &c, &err) : -ENOMEM;
        if (r >= 0)
                r = client_call(c, PROTO_ACTION_WORKSPACE_LOGS, params, NULL, 0, on_event, s, &res, NULL, &err);
        else
                json_decref(params);
        s->time_usec = -1;
        line_buf_flush(&s->lines, print_line, s);
        line_buf_done(&s->lines);
        if (r < 0) {
                say("no log of workspace %s: %s", s->workspace, r == -ENOMEM ? "out of memory" : error_msg(&err));
                s->rc = EXIT_FAIL;
        } else {
                const char *ended = json_string_value(json_object_get(res, "ended"));
                if (ended && !s->cli->quiet)
                        say("the log of %s ended: %s", s->workspace, ended);
        }
        json_decref(res);
        return NULL;
}

/* The workspaces to show: those named, else every one of the file. */
static int pick(Cli *cli, const CliArgs *a, const Enclavefile *ef, const WorkspaceSpec ***ret, size_t *ret_n)
{
        size_t n_named;
        char *const *named = cli_arg_many(a, "WORKSPACE", &n_named);
        size_t n = n_named ? n_named : ef->n_workspaces;
        const WorkspaceSpec **list = calloc(n + 1, sizeof *list);
        if (!list)
                return cli_fail(cli, "out of memory");
        for (size_t i = 0; i < n; i++) {
                int r = n_named ? cli_project_workspace(cli, ef, named[i], &list[i]) : 0;
                if (r != 0) {
                        free(list);
                        return r;
                }
                if (!n_named)
                        list[i] = &ef->workspaces[i];
        }
        *ret = list;
        *ret_n = n;
        return 0;
}

static int cmd_logs(Cli *cli, const CliArgs *a)
{
        int64_t tail = -1;
        if (cli_arg_int(cli, a, "tail", 0, INT32_MAX, &tail) < 0)
                return EXIT_USAGE;
        _cleanup_enclavefile_ Enclavefile *ef = NULL;
        int r = cli_load_enclavefile(cli, &ef);
        if (r != 0)
                return r;
        _cleanup_free_ const WorkspaceSpec **list = NULL;
        size_t n = 0;
        if ((r = pick(cli, a, ef, &list, &n)) != 0)
                return r;
        if (n == 0)
                return cli_fail(cli, "%s declares no workspace; add a [workspace.NAME] table", ENCLAVEFILE_NAME);

        /* One connection first: it starts the daemon when needed (root)
         * and tells a missing one from a refused one, once. */
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_client_ Client *probe = NULL;
        _cleanup_free_ char *socket_path = NULL;
        if (client_open(cli, &probe, &err) < 0 || client_socket_path(cli, &socket_path, &err) < 0)
                return cli_fail_error(cli, &err);
        probe = client_free(probe);

        _cleanup_free_ Stream *streams = calloc(n, sizeof *streams);
        _cleanup_free_ pthread_t *threads = calloc(n, sizeof *threads);
        _cleanup_free_ bool *started = calloc(n, sizeof *started);
        if (!streams || !threads || !started)
                return cli_fail(cli, "out of memory");
        int width = 0;
        for (size_t i = 0; i < n; i++)
                if ((int) strlen(list[i]->name) > width)
                        width = (int) strlen(list[i]->name);
        bool follow = cli_arg_flag(a, "follow");
        for (size_t i = 0; i < n; i++) {
                streams[i] = (Stream) {
                        .cli = cli, .socket_path = socket_path, .sandbox = ef->sandbox.name,
                        .workspace = list[i]->name, .width = width, .follow = follow, .tail = tail,
                        .color = cli->color ? colors[i % ELEMENTSOF(colors)] : NULL,
                        .stream = "output",
                };
                if (!follow)
                        run_stream(&streams[i]);
                else
                        started[i] = pthread_create(&threads[i], NULL, run_stream, &streams[i]) == 0;
                if (follow && !started[i])
                        run_stream(&streams[i]);
        }
        int rc = EXIT_OK;
        for (size_t i = 0; i < n; i++) {
                if (started[i])
                        pthread_join(threads[i], NULL);
                if (streams[i].rc != EXIT_OK)
                        rc = streams[i].rc;
        }
        return rc;
}

static const CliOption logs_options[] = {
        { "follow", 'f', NULL, "keep printing new lines, from every workspace, until Ctrl-C" },
        { "tail", 'n', "N", "only the last N lines of each workspace" },
        {},
};

static const CliArg logs_args[] = { { "WORKSPACE", CLI_ARG_MANY, CLI_COMPLETE_WORKSPACE }, {} };

const CliCommand cli_cmd_logs = {
        "logs", "show the logs of ./Enclavefile's workspaces",
        "Prints the logs of every workspace ./Enclavefile declares (or of the WORKSPACEs\n"
        "named), each line behind its workspace's name in its own colour, as 'docker\n"
        "compose logs' does. With --follow the workspaces are followed together and lines\n"
        "appear as they are written; --json prints one JSON line per log line with\n"
        "\"workspace\", \"time\", \"stream\" and \"line\".",
        logs_options, logs_args, .run = cmd_logs,
};
