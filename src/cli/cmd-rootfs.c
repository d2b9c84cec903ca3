/* enclave rootfs export (--suite S|--base) --output ARCHIVE
 * enclave rootfs import (--suite S|--base) [--replace] ARCHIVE
 * enclave rootfs fetch  (--suite S|--base) [--replace] URL
 *
 * The archive is opened (import) or created (export) here, with the
 * caller's own rights, and passed to the daemon as an fd: the daemon
 * never opens a user's path as root. An export is written to an
 * unnamed file beside the output and linked into place only when
 * complete, so a failure leaves no partial archive. */
#include "cli/cli.h"
#include "cli/archive-arg.h"
#include "cli/client.h"
#include "cli/output.h"
#include "storage/archive.h"
#include "storage/fetch.h"
#include "storage/layout.h"
#include "base/str.h"

#include <getopt.h>
#include <stdio.h>


typedef struct RootfsArgs {
        const char *suite;
        bool base;
        bool replace;
        const char *output;
        const char *operand; /* ARCHIVE or URL */
} RootfsArgs;

static int parse_args(Cli *cli, int argc, char **argv, bool is_export, RootfsArgs *a)
{
        static const struct option options[] = {
                { "suite", required_argument, NULL, 's' },
                { "base", no_argument, NULL, 'b' },
                { "replace", no_argument, NULL, 'r' },
                { "output", required_argument, NULL, 'o' },
                {},
        };
        const char *what = argv[0];
        for (int i = 1; i < argc; i++)
                if (streq(argv[i], "--help") || streq(argv[i], "-h")) {
                        for (const Command *cmd = rootfs_commands; cmd->name; cmd++)
                                if (streq(cmd->name, what))
                                        printf("Usage: enclave rootfs %s %s\n\n%s. Caches live in "
                                               "<state_dir>/sandboxes/rootfs-cache/<suite|base>/; 'enclave create "
                                               "--bootstrap-method cached_rootfs' copies the suite's cache, else "
                                               "the base one.\n", what, cmd->args, cmd->summary);
                        return -1;
                }
        int c;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":o:", options, NULL)) >= 0) {
                switch (c) {
                case 's': a->suite = optarg; break;
                case 'b': a->base = true; break;
                case 'r':
                        if (is_export)
                                return cli_usage_error(cli, "'rootfs export' has no --replace; remove the old "
                                                       "archive first");
                        a->replace = true;
                        break;
                case 'o':
                        if (!is_export)
                                return cli_usage_error(cli, "--output belongs to 'rootfs export'");
                        a->output = optarg;
                        break;
                case ':':
                        return cli_usage_error(cli, "option '%s' needs a value", argv[optind - 1]);
                default:
                        return cli_usage_error(cli, "unknown option '%s'; see 'enclave rootfs %s --help'",
                                               argv[optind - 1], what);
                }
        }
        if (!!a->suite == a->base)
                return cli_usage_error(cli, "name exactly one cache: --suite S (bookworm, trixie, ...) or --base");
        _cleanup_error_ Error err = ERROR_INIT;
        if (a->suite && layout_check_suite(a->suite, false, &err) < 0)
                return cli_usage_error(cli, "%s", error_msg(&err));
        int n = argc - optind;
        if (is_export) {
                if (n > 0)
                        return cli_usage_error(cli, "unexpected argument '%s'; the archive goes after --output",
                                               argv[optind]);
                if (!a->output)
                        return cli_usage_error(cli, "missing --output ARCHIVE (.tar, .tar.gz or .tar.zst)");
                return 0;
        }
        if (n != 1)
                return cli_usage_error(cli, n == 0 ? "missing the %s" : "too many arguments; expected one %s",
                                       streq(what, "fetch") ? "URL" : "ARCHIVE");
        a->operand = argv[optind];
        return 0;
}

static json_t *cache_params(const RootfsArgs *a)
{
        return a->base ? json_pack("{s:b}", "base", 1) : json_pack("{s:s}", "suite", a->suite);
}

/* ---- progress ---- */

typedef struct EventView {
        Progress p;
        char stage[32];
} EventView;

static int on_event(json_t *ev, void *userdata)
{
        EventView *v = userdata;
        const char *type = json_string_value(json_object_get(ev, "type")) ?: "";
        const char *stage = json_string_value(json_object_get(ev, "stage")) ?: "";
        const char *message = json_string_value(json_object_get(ev, "message")) ?: "";
        if (streq(type, "warning") || streq(stage, "warning")) {
                progress_line(&v->p, "warning: %s", message);
                return 0;
        }
        json_int_t bytes = json_integer_value(json_object_get(ev, "bytes"));
        json_int_t entries = json_integer_value(json_object_get(ev, "current"));
        bool new_stage = !streq(v->stage, stage);
        snprintf(v->stage, sizeof v->stage, "%s", stage);
        /* Plain output gets the stage once, a terminal the live counts. */
        if (v->p.tty)
                progress_update(&v->p, "%s: %s, %lld entries, %lld MiB", stage, message, (long long) entries,
                                (long long) (bytes >> 20));
        else if (new_stage)
                progress_line(&v->p, "%s: %s", stage, message);
        return 0;
}

static int call_rootfs(Cli *cli, const char *action, json_t *params, int fd, json_t **ret)
{
        EventView v = {};
        progress_init(&v.p, cli);
        return cli_call_with_progress(cli, action, params, fd, &v.p, on_event, &v, ret);
}

static void print_done(Cli *cli, const char *verb, const RootfsArgs *a, json_t *res)
{
        if (cli->json) {
                json_print(res, stdout);
                return;
        }
        if (cli->quiet)
                return;
        printf("%s the %s rootfs cache: %lld entries, %lld MiB\n", verb, a->base ? "base" : a->suite,
               (long long) json_integer_value(json_object_get(res, "entries")),
               (long long) (json_integer_value(json_object_get(res, "bytes")) >> 20));
}

/* ---- export ---- */

static int cmd_export(Cli *cli, int argc, char **argv)
{
        RootfsArgs a = {};
        int r = parse_args(cli, argc, argv, true, &a);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        TarballCompression comp;
        _cleanup_close_ int fd = -EBADF;
        if ((r = archive_arg_open_output(cli, a.output, &comp, &fd)) != 0)
                return r;
        json_t *params = cache_params(&a);
        if (!params || json_object_set_new(params, "compression", json_string(tarball_compression_to_string(comp))) < 0)
                return cli_fail(cli, "out of memory");
        json_t *res = NULL;
        if ((r = call_rootfs(cli, "rootfs.export", params, fd, &res)) != EXIT_OK)
                return r;
        if ((r = archive_arg_link_output(cli, fd, a.output)) != 0) {
                json_decref(res);
                return r;
        }
        print_done(cli, "exported", &a, res);
        if (!cli->json && !cli->quiet)
                printf("wrote %s\n", a.output);
        json_decref(res);
        return EXIT_OK;
}

/* ---- import and fetch ---- */

static int cmd_import(Cli *cli, int argc, char **argv)
{
        RootfsArgs a = {};
        int r = parse_args(cli, argc, argv, false, &a);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        _cleanup_close_ int fd = -EBADF;
        if ((r = archive_arg_open_input(cli, a.operand, &fd)) != 0)
                return r;
        json_t *params = cache_params(&a);
        if (!params || json_object_set_new(params, "replace", json_boolean(a.replace)) < 0)
                return cli_fail(cli, "out of memory");
        json_t *res = NULL;
        if ((r = call_rootfs(cli, "rootfs.import", params, fd, &res)) != EXIT_OK)
                return r;
        print_done(cli, "imported", &a, res);
        json_decref(res);
        return EXIT_OK;
}

static int cmd_fetch(Cli *cli, int argc, char **argv)
{
        RootfsArgs a = {};
        int r = parse_args(cli, argc, argv, false, &a);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        _cleanup_error_ Error err = ERROR_INIT;
        if (fetch_check_url(a.operand, &err) < 0)
                return cli_usage_error(cli, "%s", error_msg(&err));
        json_t *params = cache_params(&a);
        if (!params || json_object_set_new(params, "replace", json_boolean(a.replace)) < 0 ||
            json_object_set_new(params, "url", json_string(a.operand)) < 0)
                return cli_fail(cli, "out of memory");
        json_t *res = NULL;
        if ((r = call_rootfs(cli, "rootfs.fetch", params, -EBADF, &res)) != EXIT_OK)
                return r;
        print_done(cli, "fetched", &a, res);
        json_decref(res);
        return EXIT_OK;
}

const Command rootfs_commands[] = {
        { "export", "(--suite S|--base) --output ARCHIVE", "write a cached rootfs to an archive", cmd_export },
        { "import", "(--suite S|--base) [--replace] ARCHIVE", "fill a rootfs cache from an archive", cmd_import },
        { "fetch", "(--suite S|--base) [--replace] URL", "download and import a rootfs archive", cmd_fetch },
        {},
};
