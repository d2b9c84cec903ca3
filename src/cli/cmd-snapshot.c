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
#include "cli/cli.h"
#include "cli/archive-arg.h"
#include "cli/client.h"
#include "cli/output.h"
#include "proto/actions.h"
#include "spec/archive-name.h"
#include "spec/names.h"
#include "base/str.h"

#include <time.h>

typedef struct SnapArgs {
        const char *name;    /* --name */
        const char *output;  /* --output */
        bool replace;
        int64_t keep;
        const char *pos[3];  /* SANDBOX WORKSPACE and NAME or ARCHIVE */
} SnapArgs;

static bool has_option(const CliArgs *c, const char *name)
{
        return cli_find_option(c->cmd, name, strlen(name)) != NULL;
}

/* The command's options and arguments into *a: 0, or an exit code. */
static int parse(Cli *cli, const CliArgs *c, SnapArgs *a)
{
        *a = (SnapArgs) { .keep = SNAPSHOT_GC_KEEP_DEFAULT };
        if (has_option(c, "name"))
                a->name = cli_arg_value(c, "name");
        if (has_option(c, "output"))
                a->output = cli_arg_value(c, "output");
        if (has_option(c, "replace"))
                a->replace = cli_arg_flag(c, "replace");
        if (has_option(c, "keep") && cli_arg_int(cli, c, "keep", 0, 1000000, &a->keep) < 0)
                return EXIT_USAGE;
        for (size_t i = 0; i < c->n_pos && i < ELEMENTSOF(a->pos); i++)
                a->pos[i] = c->pos[i];
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

static int on_event(json_t *ev, void *userdata)
{
        progress_event(userdata, ev);
        return 0;
}

static int call_daemon_action(Cli *cli, const char *action, json_t *params, int fd, json_t **ret)
{
        if (!params)
                return cli_fail(cli, "out of memory");
        Progress p;
        progress_init(&p, cli);
        if (cli->json)
                p.quiet = true;
        return cli_call_with_progress(cli, action, params, fd, &p, on_event, &p, ret);
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

static int cmd_snapshot_create(Cli *cli, const CliArgs *c)
{
        SnapArgs a;
        int r = parse(cli, c, &a);
        if (r != 0)
                return r;
        json_t *params = target_params(&a);
        if (params && a.name)
                json_object_set_new(params, "name", json_string(a.name));
        json_t *res = NULL;
        if ((r = call_daemon_action(cli, PROTO_ACTION_SNAPSHOT_CREATE, params, -EBADF, &res)) != EXIT_OK)
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

static int cmd_snapshot_list(Cli *cli, const CliArgs *c)
{
        SnapArgs a;
        int r = parse(cli, c, &a);
        if (r != 0)
                return r;
        json_t *res = NULL;
        if ((r = call_daemon_action(cli, PROTO_ACTION_SNAPSHOT_LIST, target_params(&a), -EBADF, &res)) != EXIT_OK)
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

static int cmd_snapshot_restore(Cli *cli, const CliArgs *c)
{
        SnapArgs a;
        int r = parse(cli, c, &a);
        if (r != 0)
                return r;
        if ((r = check_name_arg(cli, a.pos[2])) != 0)
                return r;
        json_t *res = NULL;
        if ((r = call_daemon_action(cli, PROTO_ACTION_SNAPSHOT_RESTORE, named_params(&a), -EBADF, &res)) != EXIT_OK)
                return r;
        return finish(cli, res, text_restored);
}

static void text_deleted(Cli *cli, json_t *res)
{
        printf("deleted snapshot %s of %s/%s\n", member_str(res, "name"), member_str(res, "sandbox"),
               member_str(res, "workspace"));
}

static int cmd_snapshot_delete(Cli *cli, const CliArgs *c)
{
        SnapArgs a;
        int r = parse(cli, c, &a);
        if (r != 0)
                return r;
        if ((r = check_name_arg(cli, a.pos[2])) != 0)
                return r;
        json_t *res = NULL;
        if ((r = call_daemon_action(cli, PROTO_ACTION_SNAPSHOT_DELETE, named_params(&a), -EBADF, &res)) != EXIT_OK)
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

static int cmd_snapshot_gc(Cli *cli, const CliArgs *c)
{
        SnapArgs a;
        int r = parse(cli, c, &a);
        if (r != 0)
                return r;
        json_t *params = target_params(&a);
        if (params)
                json_object_set_new(params, "keep", json_integer(a.keep));
        json_t *res = NULL;
        if ((r = call_daemon_action(cli, PROTO_ACTION_WORKSPACE_SNAPSHOT_GC, params, -EBADF, &res)) != EXIT_OK)
                return r;
        return finish(cli, res, text_gc);
}

/* ---- export and import ---- */

static int cmd_snapshot_export(Cli *cli, const CliArgs *c)
{
        SnapArgs a;
        int r = parse(cli, c, &a);
        if (r != 0)
                return r;
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
        if ((r = call_daemon_action(cli, PROTO_ACTION_SNAPSHOT_EXPORT, params, fd, &res)) != EXIT_OK)
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

static int cmd_snapshot_import(Cli *cli, const CliArgs *c)
{
        SnapArgs a;
        int r = parse(cli, c, &a);
        if (r != 0)
                return r;
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
        if ((r = call_daemon_action(cli, PROTO_ACTION_SNAPSHOT_IMPORT, params, fd, &res)) != EXIT_OK)
                return r;
        return finish(cli, res, text_imported);
}

#define SB_WS { "SANDBOX", .complete = CLI_COMPLETE_SANDBOX }, { "WORKSPACE", .complete = CLI_COMPLETE_WORKSPACE }
#define SNAPSHOT_NOTE                                                                                   \
        "\n\nA snapshot holds the workspace's overlay upper layer and its managed /home; a\n"  \
        "host workspace_dir is never part of it (docs/snapshots.md)."

static const CliArg target_args[] = { SB_WS, {} };
static const CliArg named_args[] = { SB_WS, { "NAME", .complete = CLI_COMPLETE_SNAPSHOT }, {} };
static const CliArg archive_args[] = { SB_WS, { "ARCHIVE", .complete = CLI_COMPLETE_FILE }, {} };

static const CliOption create_options[] = {
        { "name", 0, "NAME", "the snapshot's name (default: the UTC time)" },
        {},
};

#define CREATE_DESCRIPTION                                                                      \
        "Captures a workspace's writable state as a new snapshot, named after the UTC\n"   \
        "time without --name. A running workspace is frozen for the copy." SNAPSHOT_NOTE

static const CliCommand create = {
        "create", "snapshot a workspace", CREATE_DESCRIPTION, create_options, target_args,
        .run = cmd_snapshot_create,
};

const CliCommand cli_alias_snapshot = {
        "snapshot", "alias of 'snapshot create'", CREATE_DESCRIPTION, create_options, target_args,
        .run = cmd_snapshot_create, .flags = CLI_CMD_HIDDEN,
};

static const CliCommand list = {
        "list", "list snapshots", "Lists a workspace's snapshots, oldest first." SNAPSHOT_NOTE, NULL, target_args,
        .run = cmd_snapshot_list,
};

const CliCommand cli_alias_snapshot_list = {
        "snapshot-list", "alias of 'snapshot list'", "Lists a workspace's snapshots, oldest first.", NULL,
        target_args, .run = cmd_snapshot_list, .flags = CLI_CMD_HIDDEN,
};

#define RESTORE_DESCRIPTION "Replaces a stopped workspace's state with a snapshot's, atomically." SNAPSHOT_NOTE

static const CliCommand restore = {
        "restore", "roll a workspace back to a snapshot", RESTORE_DESCRIPTION, NULL, named_args,
        .run = cmd_snapshot_restore,
};

const CliCommand cli_alias_restore = {
        "restore", "alias of 'snapshot restore'", RESTORE_DESCRIPTION, NULL, named_args,
        .run = cmd_snapshot_restore, .flags = CLI_CMD_HIDDEN,
};

static const CliOption export_options[] = {
        { "output", 'o', "ARCHIVE", "the archive to write: .tar, .tar.gz or .tar.zst (must not exist)",
          .complete = CLI_COMPLETE_FILE },
        {},
};

static const CliCommand export = {
        "export", "write a snapshot to an archive",
        "Writes a snapshot to an archive (.tar, .tar.gz or .tar.zst, by the name). The\n"
        "archive is created by the CLI with your own rights and appears only when it is\n"
        "complete.",
        export_options, named_args, .run = cmd_snapshot_export,
};

static const CliOption import_options[] = {
        { "name", 0, "NAME", "the snapshot's name (default: the one in the archive)" },
        { "replace", 0, NULL, "replace a snapshot of the same name" },
        {},
};

static const CliCommand import = {
        "import", "read a snapshot from an archive",
        "Reads a snapshot from an archive made by 'snapshot export'; its owners move into\n"
        "this workspace's id range.",
        import_options, archive_args, .run = cmd_snapshot_import,
};

static const CliCommand delete = {
        "delete", "delete a snapshot", "Deletes one snapshot.", NULL, named_args, .run = cmd_snapshot_delete,
};

static const CliOption gc_options[] = {
        { "keep", 0, "N", "how many of the newest snapshots to keep (default 5)" },
        {},
};

const CliCommand cli_cmd_snapshot_gc = {
        "snapshot-gc", "delete old snapshots",
        "Keeps the N newest snapshots of a workspace (default 5) and deletes the rest.",
        gc_options, target_args, .run = cmd_snapshot_gc,
};

const CliCommand cli_group_snapshot = {
        "snapshot", "checkpoint and roll back workspaces",
        .sub = (const CliCommand *const[]) { &create, &list, &restore, &export, &import, &delete, NULL },
};
