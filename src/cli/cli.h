/* The command-line front end: global options, the command table and
 * helpers shared by the per-group command files (cmd-*.c). */
#pragma once

#include "base/error.h"
#include "cli/command.h"

/* Exit codes used by every command. */
enum {
        EXIT_OK = 0,
        EXIT_FAIL = 1,
        EXIT_USAGE = 2,
        EXIT_ENCLAVE = 125, /* exec: Enclave itself failed */
};

struct Cli {
        const char *config_path; /* --config / ENCLAVE_CONFIG */
        const char *socket_path; /* --socket / ENCLAVE_SOCKET */
        bool json;
        bool no_color;
        bool quiet;
        bool color;      /* resolved: stdout is a terminal and colour allowed */
        const char *command; /* "workspace create", for messages */
        char **argv;         /* the whole line, argv[0] included */
};

int cli_main(int argc, char **argv);

/* The command tree (cli.c) and the groups and commands the command
 * files define. */
extern const CliCommand cli_root;
extern const CliCommand cli_cmd_init, cli_cmd_validate;
extern const CliCommand cli_cmd_up, cli_cmd_down, cli_cmd_restart, cli_cmd_ps, cli_cmd_logs;
/* Short forms in a project directory (the sandbox of ./Enclavefile). */
extern const CliCommand cli_cmd_exec, cli_cmd_enter, cli_cmd_cp, cli_cmd_workspace_cp;
extern const CliCommand cli_cmd_ping, cli_cmd_health, cli_cmd_doctor, cli_cmd_version, cli_cmd_stats;
extern const CliCommand cli_cmd_create, cli_cmd_start, cli_cmd_stop, cli_cmd_destroy, cli_cmd_status,
        cli_cmd_remove, cli_cmd_list, cli_cmd_wipe;
extern const CliCommand cli_group_registry, cli_group_policy, cli_group_auth, cli_group_daemon;
extern const CliCommand cli_group_workspace, cli_group_port, cli_group_snapshot, cli_group_rootfs;
/* Snapshot commands also reachable under workspace: `workspace
 * snapshot-gc`, and the hidden legacy names `workspace snapshot`,
 * `workspace snapshot-list` and `workspace restore`. */
/* Hidden: documents and completions from the tables (gen.c, complete.c). */
extern const CliCommand cli_cmd_gen, cli_cmd_complete;
extern const CliCommand cli_cmd_snapshot_gc, cli_alias_snapshot, cli_alias_snapshot_list, cli_alias_restore;

/* Print "enclave: <msg>" to stderr; returns EXIT_FAIL. */
int cli_fail(Cli *cli, const char *fmt, ...) _printf_(2, 3);
/* Print a usage error with a hint; returns EXIT_USAGE. */
int cli_usage_error(Cli *cli, const char *fmt, ...) _printf_(2, 3);
/* An integer option in [min, max]: 1 with *ret set when given, 0 when
 * not, -1 after printing a usage error for a bad value. */
int cli_arg_int(Cli *cli, const CliArgs *a, const char *name, int64_t min, int64_t max, int64_t *ret);

/* Print an Error with the command as context; returns EXIT_FAIL. */
int cli_fail_error(Cli *cli, const Error *err);

/* The enclave-daemon program, as root may run it (config/trust.h). It
 * runs every command the CLI runs, with the daemon and the heavier
 * libraries linked in. */
int cli_daemon_program(Cli *cli, char **ret, Error *err);

/* The host side of `cp` (storage/tar-tree.h); set only in the
 * enclave-daemon program, which links libarchive: the enclave CLI
 * hands a cp with a host path to it, so that its own start stays
 * light. */
extern int (*cli_tar_write)(const char *path, const char *name, int fd, Error *err);
extern int (*cli_tar_extract)(int fd, const char *dir, const char *name, unsigned flags, Error *err);

/* The daemon entry point; set only in the enclave-daemon program. */
struct DaemonOptions;
extern int (*cli_daemon_run)(const struct DaemonOptions *opts, Error *err);

