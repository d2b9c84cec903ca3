/* enclave snapshot create <sb> <ws> [--name N] | list <sb> <ws> | restore <sb> <ws> <name>
 * enclave snapshot export <sb> <ws> <name> --output ARCHIVE
 * enclave snapshot import <sb> <ws> [--name N] [--replace] ARCHIVE
 * enclave snapshot delete <sb> <ws> <name>
 * enclave workspace snapshot-gc <sb> <ws> [--keep N]
 *
 * Archives are opened (import) or created (export) here with the
 * caller's own rights and passed to the daemon as fds. An export goes
 * to an unnamed file beside the output, linked into place only when
 * complete. docs/snapshots.md explains what a snapshot holds. */
#include "cli/cmd-snapshot.h"
#include "cli/archive-arg.h"
#include "cli/client.h"
#include "cli/output.h"
#include "storage/archive.h"
#include "storage/snapshot.h"
#include "base/str.h"

#include <getopt.h>
#include <time.h>

typedef struct SnapArgs {
        const char *name;    /* --name */
        const char *output;  /* --output */
        bool replace;
        int64_t keep;
        char *pos[4];        /* positionals */
        int n_pos;
} SnapArgs;

enum {
        OPT_NAME = 1u << 0,
        OPT_OUTPUT = 1u << 1,
        OPT_REPLACE = 1u << 2,
        OPT_KEEP = 1u << 3,
};

static int usage_help(Cli *cli, const char *synopsis, const char *what)
{
        printf("Usage: enclave %s %s\n\n%s. A snapshot holds the workspace's overlay upper layer and its managed "
               "/home; a host workspace_dir is never part of it (docs/snapshots.md).\n",
               cli->command ? cli->command : "snapshot", synopsis, what);
        return -1;
}

/* 0 when parsed, -1 after --help, else an exit code. */
static int parse(Cli *cli, int argc, char **argv, unsigned allowed, int n_pos, const char *synopsis, const char *what,
                 SnapArgs *a)
{
        static const struct option options[] = {
                { "name", required_argument, NULL, 'n' },
                { "output", required_argument, NULL, 'o' },
                { "replace", no_argument, NULL, 'r' },
                { "keep", required_argument, NULL, 'k' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *cmd = cli->command ? cli->command : argv[0];
        a->keep = SNAPSHOT_GC_KEEP_DEFAULT;
        int c;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":n:o:h", options, NULL)) >= 0) {
                unsigned bit = c == 'n' ? OPT_NAME : c == 'o' ? OPT_OUTPUT : c == 'r' ? OPT_REPLACE : c == 'k' ? OPT_KEEP : 0;
                if (bit && !(allowed & bit))
                        return cli_usage_error(cli, "'%s' has no option '%s'; usage: enclave %s %s", cmd,
                                               argv[optind - 1], cmd, synopsis);
                switch (c) {
                case 'n': a->name = optarg; break;
                case 'o': a->output = optarg; break;
                case 'r': a->replace = true; break;
                case 'k':
                        if (parse_int64(optarg, 0, 1000000, &a->keep) < 0)
                                return cli_usage_error(cli, "--keep takes a number of snapshots (0 or more), got '%s'",
                                                       optarg);
                        break;
                case 'h': return usage_help(cli, synopsis, what);
                case ':': return cli_usage_error(cli, "option '%s' needs a value", argv[optind - 1]);
                default:
                        return cli_usage_error(cli, "unknown option '%s'; usage: enclave %s %s", argv[optind - 1], cmd,
                                               synopsis);
                }
        }
        int n = argc - optind;
        if (n != n_pos)
                return cli_usage_error(cli, "%s; usage: enclave %s %s",
                                       n < n_pos ? "missing arguments" : "too many arguments", cmd, synopsis);
        for (int i = 0; i < n; i++)
                a->pos[i] = argv[optind + i];
        a->n_pos = n;
        _cleanup_error_ Error err = ERROR_INIT;
        if (a->name && snapshot_check_name(a->name, &err) < 0)
                return cli_usage_error(cli, "--name: %s", error_msg(&err));
        return 0;
}

static json_t *target_params(const SnapArgs *a)
{
        return json_pack("{s:s, s:s}", "sandbox", a->pos[0], "workspace", a->pos[1]);
}

/* ---- talking to the daemon ---- */

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
        if (streq(type, "note") || streq(type, "warning") || streq(type, "info") || streq(stage, "warning")) {
                progress_line(&v->p, "%s: %s", streq(type, "progress") ? "warning" : type, message);
                return 0;
        }
        json_int_t bytes = json_integer_value(json_object_get(ev, "bytes"));
        json_int_t done = json_integer_value(json_object_get(ev, "current"));
        json_int_t total = json_integer_value(json_object_get(ev, "total"));
        bool new_stage = !streq(v->stage, stage);
        snprintf(v->stage, sizeof v->stage, "%s", stage);
        if (v->p.tty)
                progress_update(&v->p, "%s: %lld/%lld entries, %lld MiB", stage, (long long) done, (long long) total,
                                (long long) (bytes >> 20));
        else if (new_stage && *message)
                progress_line(&v->p, "%s: %s", stage, message);
        return 0;
}

static int call_daemon_action(Cli *cli, const char *action, json_t *params, int fd, json_t **ret)
{
        if (!params)
                return cli_fail(cli, "out of memory");
        EventView v = {};
        progress_init(&v.p, cli);
        if (cli->json)
                v.p.quiet = true;
        return cli_call_with_progress(cli, action, params, fd, &v.p, on_event, &v, ret);
}

static void human_size(uint64_t bytes, char *buf, size_t size)
{
        if (bytes < 1024)
                snprintf(buf, size, "%llu B", (unsigned long long) bytes);
        else if (bytes < 1024 * 1024)
                snprintf(buf, size, "%.1f KiB", (double) bytes / 1024.0);
        else if (bytes < 1024ull * 1024 * 1024)
                snprintf(buf, size, "%.1f MiB", (double) bytes / (1024.0 * 1024.0));
        else
                snprintf(buf, size, "%.2f GiB", (double) bytes / (1024.0 * 1024.0 * 1024.0));
}

static const char *member_str(json_t *o, const char *key)
{
        return json_string_value(json_object_get(o, key)) ?: "";
}

static uint64_t member_u64(json_t *o, const char *key)
{
        json_int_t v = json_integer_value(json_object_get(o, key));
        return v > 0 ? (uint64_t) v : 0;
}

/* Prints the result as JSON, or hands it to text() for people. */
static int finish(Cli *cli, json_t *res, void (*text)(Cli *cli, json_t *res))
{
        if (cli->json)
                json_print(res, stdout);
        else if (!cli->quiet)
                text(cli, res);
        json_decref(res);
        return EXIT_OK;
}

static void print_note(json_t *res)
{
        const char *note = json_string_value(json_object_get(res, "note"));
        if (note)
                printf("note: %s\n", note);
}

/* ---- create ---- */

static void text_created(Cli *cli, json_t *res)
{
        char size[32];
        human_size(member_u64(res, "bytes"), size, sizeof size);
        printf("created snapshot %s of %s/%s: %llu entries, %s%s\n", member_str(res, "name"),
               member_str(res, "sandbox"), member_str(res, "workspace"),
               (unsigned long long) member_u64(res, "entries"), size,
               json_is_true(json_object_get(res, "frozen")) ? " (the workspace was frozen while copying)" : "");
}

int cmd_snapshot_create(Cli *cli, int argc, char **argv)
{
        SnapArgs a = {};
        int r = parse(cli, argc, argv, OPT_NAME, 2, "<sb> <ws> [--name N]",
                      "Capture a workspace's writable state as a new snapshot (named after the UTC time without "
                      "--name); a running workspace is frozen for the copy", &a);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        json_t *params = target_params(&a);
        if (params && a.name)
                json_object_set_new(params, "name", json_string(a.name));
        json_t *res = NULL;
        if ((r = call_daemon_action(cli, "snapshot.create", params, -EBADF, &res)) != EXIT_OK)
                return r;
        return finish(cli, res, text_created);
}

/* ---- list ---- */

static void format_time(int64_t usec, char *buf, size_t size)
{
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;
        if (!gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
                snprintf(buf, size, "-");
}

static void text_list(Cli *cli, json_t *res)
{
        static const char *const headers[] = { "NAME", "CREATED", "SIZE", "ENTRIES", "HOME", NULL };
        _cleanup_table_ Table *t = table_new(headers);
        json_t *a = json_object_get(res, "snapshots");
        size_t i;
        json_t *s;
        json_array_foreach(a, i, s) {
                char created[64], size[32], entries[32];
                format_time(json_integer_value(json_object_get(s, "created_usec")), created, sizeof created);
                human_size(member_u64(s, "bytes"), size, sizeof size);
                snprintf(entries, sizeof entries, "%llu", (unsigned long long) member_u64(s, "entries"));
                const char *cells[] = { member_str(s, "name"), created, size, entries,
                                        json_is_true(json_object_get(s, "has_home")) ? "yes" : "no" };
                if (t)
                        (void) table_add_row(t, cells);
        }
        if (json_array_size(a) == 0)
                printf("no snapshots of %s/%s\n", member_str(res, "sandbox"), member_str(res, "workspace"));
        else if (t)
                (void) table_print(t, cli, stdout);
        print_note(res);
}

int cmd_snapshot_list(Cli *cli, int argc, char **argv)
{
        SnapArgs a = {};
        int r = parse(cli, argc, argv, 0, 2, "<sb> <ws>", "List a workspace's snapshots, oldest first", &a);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        json_t *res = NULL;
        if ((r = call_daemon_action(cli, "snapshot.list", target_params(&a), -EBADF, &res)) != EXIT_OK)
                return r;
        return finish(cli, res, text_list);
}

/* ---- restore and delete ---- */

static void text_restored(Cli *cli, json_t *res)
{
        printf("restored %s/%s to snapshot %s\n", member_str(res, "sandbox"), member_str(res, "workspace"),
               member_str(res, "name"));
}

static json_t *named_params(const SnapArgs *a)
{
        json_t *p = target_params(a);
        if (p)
                json_object_set_new(p, "name", json_string(a->pos[2]));
        return p;
}

static int check_name_arg(Cli *cli, const char *name)
{
        _cleanup_error_ Error err = ERROR_INIT;
        if (snapshot_check_name(name, &err) < 0)
                return cli_usage_error(cli, "%s", error_msg(&err));
        return 0;
}

int cmd_snapshot_restore(Cli *cli, int argc, char **argv)
{
        SnapArgs a = {};
        int r = parse(cli, argc, argv, 0, 3, "<sb> <ws> <name>",
                      "Replace a stopped workspace's state with a snapshot's, atomically", &a);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        if ((r = check_name_arg(cli, a.pos[2])) != 0)
                return r;
        json_t *res = NULL;
        if ((r = call_daemon_action(cli, "snapshot.restore", named_params(&a), -EBADF, &res)) != EXIT_OK)
                return r;
        return finish(cli, res, text_restored);
}

static void text_deleted(Cli *cli, json_t *res)
{
        printf("deleted snapshot %s of %s/%s\n", member_str(res, "name"), member_str(res, "sandbox"),
               member_str(res, "workspace"));
}

static int cmd_snapshot_delete(Cli *cli, int argc, char **argv)
{
        SnapArgs a = {};
        int r = parse(cli, argc, argv, 0, 3, "<sb> <ws> <name>", "Delete one snapshot", &a);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        if ((r = check_name_arg(cli, a.pos[2])) != 0)
                return r;
        json_t *res = NULL;
        if ((r = call_daemon_action(cli, "snapshot.delete", named_params(&a), -EBADF, &res)) != EXIT_OK)
                return r;
        return finish(cli, res, text_deleted);
}

/* ---- gc ---- */

static void text_gc(Cli *cli, json_t *res)
{
        json_t *gone = json_object_get(res, "deleted");
        size_t i;
        json_t *s;
        json_array_foreach(gone, i, s)
                printf("deleted %s\n", json_string_value(s));
        printf("%s/%s: kept %zu snapshot(s), deleted %zu\n", member_str(res, "sandbox"), member_str(res, "workspace"),
               json_array_size(json_object_get(res, "kept")), json_array_size(gone));
}

int cmd_snapshot_gc(Cli *cli, int argc, char **argv)
{
        SnapArgs a = {};
        int r = parse(cli, argc, argv, OPT_KEEP, 2, "<sb> <ws> [--keep N]",
                      "Keep the N newest snapshots (default 5) and delete the rest", &a);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        json_t *params = target_params(&a);
        if (params)
                json_object_set_new(params, "keep", json_integer(a.keep));
        json_t *res = NULL;
        if ((r = call_daemon_action(cli, "workspace.snapshot_gc", params, -EBADF, &res)) != EXIT_OK)
                return r;
        return finish(cli, res, text_gc);
}

/* ---- export and import ---- */

static int cmd_snapshot_export(Cli *cli, int argc, char **argv)
{
        SnapArgs a = {};
        int r = parse(cli, argc, argv, OPT_OUTPUT, 3, "<sb> <ws> <name> --output ARCHIVE",
                      "Write a snapshot to an archive (.tar, .tar.gz or .tar.zst, by the name)", &a);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        if ((r = check_name_arg(cli, a.pos[2])) != 0)
                return r;
        if (!a.output)
                return cli_usage_error(cli, "missing --output ARCHIVE (.tar, .tar.gz or .tar.zst)");
        TarballCompression comp;
        _cleanup_close_ int fd = -EBADF;
        if ((r = archive_arg_open_output(cli, a.output, &comp, &fd)) != 0)
                return r;
        json_t *params = named_params(&a);
        if (params)
                json_object_set_new(params, "compression", json_string(tarball_compression_to_string(comp)));
        json_t *res = NULL;
        if ((r = call_daemon_action(cli, "snapshot.export", params, fd, &res)) != EXIT_OK)
                return r;
        if ((r = archive_arg_link_output(cli, fd, a.output)) != 0) {
                json_decref(res);
                return r;
        }
        if (cli->json)
                json_print(res, stdout);
        else if (!cli->quiet)
                printf("exported snapshot %s of %s/%s to %s (%llu entries)\n", a.pos[2], a.pos[0], a.pos[1], a.output,
                       (unsigned long long) member_u64(res, "archive_entries"));
        json_decref(res);
        return EXIT_OK;
}

static void text_imported(Cli *cli, json_t *res)
{
        char size[32];
        human_size(member_u64(res, "bytes"), size, sizeof size);
        printf("imported snapshot %s into %s/%s: %llu entries, %s\n", member_str(res, "name"),
               member_str(res, "sandbox"), member_str(res, "workspace"),
               (unsigned long long) member_u64(res, "entries"), size);
        print_note(res);
}

static int cmd_snapshot_import(Cli *cli, int argc, char **argv)
{
        SnapArgs a = {};
        int r = parse(cli, argc, argv, OPT_NAME | OPT_REPLACE, 3, "<sb> <ws> [--name N] [--replace] ARCHIVE",
                      "Read a snapshot from an archive made by 'snapshot export' (its owners move into this "
                      "workspace's id range)", &a);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        _cleanup_close_ int fd = -EBADF;
        if ((r = archive_arg_open_input(cli, a.pos[2], &fd)) != 0)
                return r;
        json_t *params = target_params(&a);
        if (params) {
                if (a.name)
                        json_object_set_new(params, "name", json_string(a.name));
                json_object_set_new(params, "replace", json_boolean(a.replace));
        }
        json_t *res = NULL;
        if ((r = call_daemon_action(cli, "snapshot.import", params, fd, &res)) != EXIT_OK)
                return r;
        return finish(cli, res, text_imported);
}

const Command snapshot_commands[] = {
        { "create", "<sb> <ws> [--name N]", "snapshot a workspace", cmd_snapshot_create },
        { "list", "<sb> <ws>", "list snapshots", cmd_snapshot_list },
        { "restore", "<sb> <ws> <name>", "roll a workspace back to a snapshot", cmd_snapshot_restore },
        { "export", "<sb> <ws> <name> --output ARCHIVE", "write a snapshot to an archive", cmd_snapshot_export },
        { "import", "<sb> <ws> [--name N] [--replace] ARCHIVE", "read a snapshot from an archive", cmd_snapshot_import },
        { "delete", "<sb> <ws> <name>", "delete a snapshot", cmd_snapshot_delete },
        {},
};
