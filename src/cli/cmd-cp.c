/* enclave workspace cp SRC DST, and `enclave cp` in a project
 * directory: copies between the host and a running workspace, as
 * `docker cp` does, through a tar stream (daemon action workspace.cp).
 *
 * One side is the workspace: SANDBOX/WORKSPACE:PATH (WORKSPACE:PATH in
 * the short form, the sandbox being ./Enclavefile's); PATH is absolute
 * or relative to /home. The other is a host path, or "-" for a tar
 * stream on stdin or stdout. The host side is this process's, with the
 * caller's own rights: it reads the tree without following symlinks and
 * extracts without following any out of the target, never restoring
 * owners nor setuid bits. The tar work needs libarchive, which the
 * enclave CLI does not load (it starts in about a millisecond); a copy
 * with a host path is handed to the enclave-daemon program, the same
 * command line with the heavier libraries, run as the caller. */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "cli/project-file.h"
#include "proto/actions.h"
#include "base/str.h"

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int (*cli_tar_write)(const char *path, const char *name, int fd, Error *err) = NULL;
int (*cli_tar_extract)(int fd, const char *dir, const char *name, unsigned flags, Error *err) = NULL;

#define CP_HOST_FLAGS 1u /* TAR_TREE_HOST */

typedef struct CpSide {
        bool workspace;
        char *sandbox, *name; /* workspace side */
        char *path;           /* in the workspace (absolute), or on the host ("-": stdio) */
} CpSide;

static void cp_side_done(CpSide *s)
{
        free(s->sandbox);
        free(s->name);
        free(s->path);
}

/* "SB/WS:PATH" (or "WS:PATH" in the short form) is a workspace side;
 * anything starting with '/' or '.', or without such a prefix, is a
 * host path. */
static int parse_side(Cli *cli, const char *arg, const char *project_sandbox, CpSide *ret)
{
        const char *colon = strchr(arg, ':');
        bool host = arg[0] == '/' || arg[0] == '.' || !colon;
        if (!host) {
                _cleanup_free_ char *who = strndup(arg, (size_t) (colon - arg));
                if (!who)
                        return cli_fail(cli, "out of memory");
                char *slash = strchr(who, '/');
                const char *sb = project_sandbox, *ws = who;
                if (slash) {
                        *slash = 0;
                        sb = who;
                        ws = slash + 1;
                }
                host = !sb || !name_is_valid(sb) || !name_is_valid(ws);
                if (!host) {
                        const char *p = colon + 1;
                        ret->workspace = true;
                        ret->sandbox = strdup(sb);
                        ret->name = strdup(ws);
                        if (p[0] == '/')
                                ret->path = strdup(p);
                        else if (asprintf(&ret->path, "/home%s%s", p[0] ? "/" : "", p) < 0)
                                ret->path = NULL;
                        return ret->sandbox && ret->name && ret->path ? 0 : cli_fail(cli, "out of memory");
                }
        }
        ret->path = strdup(arg);
        return ret->path ? 0 : cli_fail(cli, "out of memory");
}

/* The last component of a path ("." and ".." are not names). */
static char *base_name(const char *path)
{
        _cleanup_free_ char *copy = strdup(path);
        if (!copy)
                return NULL;
        size_t n = strlen(copy);
        while (n > 1 && copy[n - 1] == '/')
                copy[--n] = 0;
        return strdup(basename(copy));
}

/* ---- the host side, on its own thread ---- */

typedef struct HostJob {
        bool in;           /* host -> workspace: write the tree into fd */
        const char *path;  /* in: the source */
        const char *name;  /* its top name in the stream / out: the name it gets */
        const char *dir;   /* out: where it goes */
        int fd;
        int r;
        Error err;
} HostJob;

static void *host_job(void *userdata)
{
        HostJob *j = userdata;
        j->r = j->in ? cli_tar_write(j->path, j->name, j->fd, &j->err)
                     : cli_tar_extract(j->fd, j->dir, j->name, CP_HOST_FLAGS, &j->err);
        j->fd = safe_close(j->fd);
        return NULL;
}

typedef struct CpCall {
        int *other_end; /* ours of the end the daemon got: closed once it holds it */
} CpCall;

static int on_cp_event(json_t *ev, void *userdata)
{
        CpCall *c = userdata;
        const char *type = json_string_value(json_object_get(ev, "type"));
        if (type && streq(type, "started"))
                *c->other_end = safe_close(*c->other_end);
        return 0;
}

static int call_cp(Cli *cli, json_t *params, int fd, int *other_end, json_t **ret)
{
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_client_ Client *c = NULL;
        if (client_open(cli, &c, &err) < 0) {
                json_decref(params);
                return cli_fail_error(cli, &err);
        }
        CpCall cc = { .other_end = other_end };
        int r = client_call(c, PROTO_ACTION_WORKSPACE_CP, params, &fd, 1, on_cp_event, &cc, ret, NULL, &err);
        *other_end = safe_close(*other_end);
        return r < 0 ? cli_fail_error(cli, &err) : EXIT_OK;
}

/* The host directory and name a tree from the workspace lands under:
 * into dest when it is a directory, else as dest. */
static int out_target(Cli *cli, const char *dest, const char *src_name, char **ret_dir, char **ret_name)
{
        struct stat st;
        if (stat(dest, &st) == 0 && S_ISDIR(st.st_mode)) {
                *ret_dir = strdup(dest);
                *ret_name = strdup(src_name);
        } else {
                size_t n = strlen(dest);
                if (n > 0 && dest[n - 1] == '/')
                        return cli_fail(cli, "%s is not a directory; create it first, or name the file to write "
                                        "without a trailing '/'", dest);
                _cleanup_free_ char *copy = strdup(dest);
                *ret_name = base_name(dest);
                *ret_dir = copy ? strdup(dirname(copy)) : NULL;
        }
        return *ret_dir && *ret_name ? 0 : cli_fail(cli, "out of memory");
}

static int copy(Cli *cli, const CpSide *src, const CpSide *dst)
{
        const CpSide *ws = src->workspace ? src : dst, *host = src->workspace ? dst : src;
        bool in = dst->workspace, stdio = streq(host->path, "-");
        json_t *params = json_pack("{s:s, s:s, s:s, s:s}", "sandbox", ws->sandbox, "workspace", ws->name, "direction",
                                   in ? "in" : "out", "path", ws->path);
        if (!params)
                return cli_fail(cli, "out of memory");
        _cleanup_free_ char *src_name = base_name(in ? host->path : ws->path);
        if (in && !stdio)
                json_object_set_new(params, "name", json_string(src_name));

        json_t *res = NULL;
        int r;
        if (stdio) {
                /* A tar stream the caller gives or takes: no host files. */
                int none = -EBADF;
                r = call_cp(cli, params, in ? STDIN_FILENO : STDOUT_FILENO, &none, &res);
        } else {
                HostJob job = { .in = in, .path = host->path, .name = src_name };
                _cleanup_free_ char *dir = NULL, *name = NULL;
                if (!in) {
                        if ((r = out_target(cli, host->path, src_name ?: "root", &dir, &name)) != 0) {
                                json_decref(params);
                                return r;
                        }
                        job.dir = dir;
                        job.name = name;
                } else if (access(host->path, F_OK) < 0 && errno == ENOENT) {
                        json_decref(params);
                        return cli_fail(cli, "%s: no such file or directory on the host; check the path", host->path);
                }
                int p[2];
                if (pipe2(p, O_CLOEXEC) < 0) {
                        json_decref(params);
                        return cli_fail(cli, "creating a pipe: %m");
                }
                /* in: we write p[1], the daemon reads p[0]; out: the reverse. */
                job.fd = in ? p[1] : p[0];
                int theirs = in ? p[0] : p[1];
                pthread_t t;
                if (pthread_create(&t, NULL, host_job, &job) != 0) {
                        safe_close(p[0]);
                        safe_close(p[1]);
                        json_decref(params);
                        return cli_fail(cli, "starting the copy: %m");
                }
                r = call_cp(cli, params, theirs, &theirs, &res);
                pthread_join(t, NULL);
                if (r == EXIT_OK && job.r < 0)
                        r = cli_fail(cli, "%s %s: %s", in ? "reading" : "writing", host->path, error_msg(&job.err));
                error_clear(&job.err);
        }
        if (r != EXIT_OK)
                return r;
        if (cli->json) {
                json_object_set_new(res, "host", json_string(host->path));
                json_print(res, stdout);
        } else if (!cli->quiet && !(stdio && !in))
                fprintf(stderr, "copied %s%s%s:%s %s %s\n", ws->sandbox, "/", ws->name,
                        json_string_value(json_object_get(res, "path")) ?: ws->path, in ? "from" : "to",
                        stdio ? "the tar stream" : host->path);
        json_decref(res);
        return EXIT_OK;
}

static int cp_main(Cli *cli, const CliArgs *a, const char *project_sandbox)
{
        _cleanup_(cp_side_done) CpSide src = {}, dst = {};
        int r = parse_side(cli, cli_arg(a, "SRC"), project_sandbox, &src);
        if (r == 0)
                r = parse_side(cli, cli_arg(a, "DST"), project_sandbox, &dst);
        if (r != 0)
                return r;
        const char *form = project_sandbox ? "WORKSPACE:PATH" : "SANDBOX/WORKSPACE:PATH";
        if (src.workspace == dst.workspace)
                return cli_usage_error(cli, "%s; one side is %s, the other a host path or '-'",
                                       src.workspace ? "both sides are in workspaces" : "neither side is a workspace",
                                       form);
        const CpSide *host = src.workspace ? &dst : &src;
        if (!streq(host->path, "-") && (!cli_tar_write || !cli_tar_extract)) {
                /* The host side needs libarchive: enclave-daemon has it. */
                _cleanup_free_ char *bin = NULL;
                _cleanup_error_ Error err = ERROR_INIT;
                if (cli_daemon_program(cli, &bin, &err) < 0)
                        return cli_fail_error(cli, &err);
                fflush(NULL);
                execv(bin, cli->argv);
                return cli_fail(cli, "cannot execute %s for the copy: %m; is Enclave installed completely "
                                "('make install')?", bin);
        }
        /* A writer whose reader went away gets EPIPE, not a signal. */
        signal(SIGPIPE, SIG_IGN);
        return copy(cli, &src, &dst);
}

static int cmd_cp(Cli *cli, const CliArgs *a)
{
        return cp_main(cli, a, NULL);
}

static int cmd_project_cp(Cli *cli, const CliArgs *a)
{
        _cleanup_enclavefile_ Enclavefile *ef = NULL;
        int r = cli_load_enclavefile(cli, &ef);
        if (r != 0)
                return r;
        return cp_main(cli, a, ef->sandbox.name);
}

static const CliArg cp_args[] = {
        { "SRC", .complete = CLI_COMPLETE_FILE },
        { "DST", .complete = CLI_COMPLETE_FILE },
        {},
};

#define CP_RULES                                                                                \
        "Modes and times are kept. What lands in the workspace belongs to its root; what\n"    \
        "lands on the host belongs to you, without setuid or setgid bits. Symlinks are\n"      \
        "copied as symlinks and never followed on the host, and a copy never writes\n"         \
        "through a symlink or '..' out of its target. DST names the copy, or, when it is\n"    \
        "an existing directory, where it goes under its own name. '-' is a tar stream on\n"    \
        "stdin or stdout. The workspace must be running."

const CliCommand cli_cmd_workspace_cp = {
        "cp", "copy files between the host and a workspace",
        "Copies a file or directory between the host and a running workspace, as 'docker\n"
        "cp' does: one of SRC and DST is SANDBOX/WORKSPACE:PATH, PATH being absolute or\n"
        "relative to /home; the other is a host path.\n"
        "\n"
        CP_RULES,
        NULL, cp_args, .run = cmd_cp,
};

const CliCommand cli_cmd_cp = {
        "cp", "copy files between the host and a workspace of ./Enclavefile",
        "The short form of 'enclave workspace cp' in a project directory: one of SRC and\n"
        "DST is WORKSPACE:PATH, WORKSPACE one ./Enclavefile declares in its sandbox.\n"
        "\n"
        CP_RULES,
        NULL, cp_args, .run = cmd_project_cp,
};
