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
#include "proto/actions.h"
#include "spec/values.h"
#include "spec/archive-name.h"
#include "spec/fetch-dest.h"
#include "spec/names.h"
#include "base/str.h"

#include <stdio.h>


typedef struct RootfsArgs {
        const char *suite;
        bool base;
        bool replace;
        const char *output;
        const char *operand; /* ARCHIVE or URL */
} RootfsArgs;

static int parse_args(Cli *cli, const CliArgs *c, bool is_export, RootfsArgs *a)
{
        a->suite = cli_arg_value(c, "suite");
        a->base = cli_arg_flag(c, "base");
        if (!!a->suite == a->base)
                return cli_usage_error(cli, "name exactly one cache: --suite S (bookworm, trixie, ...) or --base");
        _cleanup_error_ Error err = ERROR_INIT;
        if (a->suite && debian_suite_check(a->suite, NULL, &err) < 0)
                return cli_usage_error(cli, "%s", error_msg(&err));
        if (is_export) {
                a->output = cli_arg_value(c, "output");
                if (!a->output)
                        return cli_usage_error(cli, "missing --output ARCHIVE (.tar, .tar.gz or .tar.zst)");
                return 0;
        }
        a->replace = cli_arg_flag(c, "replace");
        a->operand = c->pos[0];
        return 0;
}

static json_t *cache_params(const RootfsArgs *a)
{
        return a->base ? json_pack("{s:b}", "base", 1) : json_pack("{s:s}", "suite", a->suite);
}

/* ---- progress ---- */

static int on_event(json_t *ev, void *userdata)
{
        progress_event(userdata, ev);
        return 0;
}

static int call_rootfs(Cli *cli, const char *action, json_t *params, int fd, json_t **ret)
{
        Progress p;
        progress_init(&p, cli);
        return cli_call_with_progress(cli, action, params, fd, &p, on_event, &p, ret);
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
        json_int_t skipped = json_integer_value(json_object_get(res, "skipped_devices"));
        if (skipped > 0)
                printf("left out %lld device node(s) of the archive: a rootfs needs none (every workspace has a /dev "
                       "of its own)\n", (long long) skipped);
}

/* ---- export ---- */

static int cmd_export(Cli *cli, const CliArgs *c)
{
        RootfsArgs a = {};
        int r = parse_args(cli, c, true, &a);
        if (r != 0)
                return r;
        TarballCompression comp;
        _cleanup_close_ int fd = -EBADF;
        if ((r = archive_arg_open_output(cli, a.output, &comp, &fd)) != 0)
                return r;
        json_t *params = cache_params(&a);
        if (!params || json_object_set_new(params, "compression", json_string(tarball_compression_to_string(comp))) < 0)
                return cli_fail(cli, "out of memory");
        json_t *res = NULL;
        if ((r = call_rootfs(cli, PROTO_ACTION_ROOTFS_EXPORT, params, fd, &res)) != EXIT_OK)
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

static int cmd_import(Cli *cli, const CliArgs *c)
{
        RootfsArgs a = {};
        int r = parse_args(cli, c, false, &a);
        if (r != 0)
                return r;
        _cleanup_close_ int fd = -EBADF;
        if ((r = archive_arg_open_input(cli, a.operand, &fd)) != 0)
                return r;
        json_t *params = cache_params(&a);
        if (!params || json_object_set_new(params, "replace", json_boolean(a.replace)) < 0)
                return cli_fail(cli, "out of memory");
        json_t *res = NULL;
        if ((r = call_rootfs(cli, PROTO_ACTION_ROOTFS_IMPORT, params, fd, &res)) != EXIT_OK)
                return r;
        print_done(cli, "imported", &a, res);
        json_decref(res);
        return EXIT_OK;
}

static int cmd_fetch(Cli *cli, const CliArgs *c)
{
        RootfsArgs a = {};
        int r = parse_args(cli, c, false, &a);
        if (r != 0)
                return r;
        _cleanup_error_ Error err = ERROR_INIT;
        if (fetch_check_url(a.operand, &err) < 0)
                return cli_usage_error(cli, "%s", error_msg(&err));
        json_t *params = cache_params(&a);
        if (!params || json_object_set_new(params, "replace", json_boolean(a.replace)) < 0 ||
            json_object_set_new(params, "url", json_string(a.operand)) < 0)
                return cli_fail(cli, "out of memory");
        json_t *res = NULL;
        if ((r = call_rootfs(cli, PROTO_ACTION_ROOTFS_FETCH, params, -EBADF, &res)) != EXIT_OK)
                return r;
        print_done(cli, "fetched", &a, res);
        json_decref(res);
        return EXIT_OK;
}

#define CACHE_OPTIONS                                                                                  \
        { "suite", 0, "SUITE", "the cache of this Debian suite", .complete = CLI_COMPLETE_CHOICES,          \
          .choices = "bookworm|bullseye|trixie|sid|stable|testing|oldstable" },                               \
        { "base", 0, NULL, "the base cache, used for any suite without its own" }
#define CACHE_NOTE                                                                                     \
        "\n\nCaches live in <state_dir>/sandboxes/rootfs-cache/<suite|base>/; 'enclave create\n"  \
        "--bootstrap-method cached_rootfs' copies the suite's cache, else the base one."

static const CliOption export_options[] = {
        CACHE_OPTIONS,
        { "output", 'o', "ARCHIVE", "the archive to write: .tar, .tar.gz or .tar.zst (must not exist)",
          .complete = CLI_COMPLETE_FILE },
        {},
};

static const CliOption import_options[] = {
        CACHE_OPTIONS,
        { "replace", 0, NULL, "replace a cache that exists" },
        {},
};

static const CliArg archive_arg[] = { { "ARCHIVE", .complete = CLI_COMPLETE_FILE }, {} };
static const CliArg url_arg[] = { { "URL" }, {} };

static const CliCommand export = {
        "export", "write a cached rootfs to an archive",
        "Writes a cached root filesystem (--suite S or --base) to an archive, created by\n"
        "the CLI with your own rights." CACHE_NOTE,
        export_options, .run = cmd_export,
};

static const CliCommand import = {
        "import", "fill a rootfs cache from an archive",
        "Fills a root filesystem cache (--suite S or --base) from a .tar, .tar.gz or\n"
        ".tar.zst archive, which the CLI opens with your own rights." CACHE_NOTE,
        import_options, archive_arg, .run = cmd_import,
};

static const CliCommand fetch = {
        "fetch", "download and import a rootfs archive",
        "Downloads an archive over http(s) and imports it as 'rootfs import' does." CACHE_NOTE,
        import_options, url_arg, .run = cmd_fetch,
};

const CliCommand cli_group_rootfs = {
        "rootfs", "manage cached root filesystems",
        .sub = (const CliCommand *const[]) { &export, &import, &fetch, NULL },
};
