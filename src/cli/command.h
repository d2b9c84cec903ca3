/* The command tree of the CLI as static data: every command has one
 * table of its options and positional arguments. That one table drives
 * the parser (parse.c), `--help` (help.c), the man pages, docs/commands.md
 * and the shell completions (gen.c, complete.c), so none of them can
 * drift from what the parser accepts.
 *
 * Global options (--config, --socket, --json, --no-color, -q, -h) are
 * accepted anywhere on the line, up to a `--` or, for commands that run
 * another command (exec), up to where that command starts. */
#pragma once

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct Cli Cli;

/* What a value is, for the completions. */
typedef enum CliComplete {
        CLI_COMPLETE_NONE,
        CLI_COMPLETE_SANDBOX,
        CLI_COMPLETE_WORKSPACE,   /* of the SANDBOX argument, else of ./Enclavefile */
        CLI_COMPLETE_SNAPSHOT,    /* of the SANDBOX WORKSPACE arguments */
        CLI_COMPLETE_FILE,
        CLI_COMPLETE_DIR,
        CLI_COMPLETE_CHOICES,     /* one of .choices, "a|b|c" */
        CLI_COMPLETE_COMMAND,     /* a program and its arguments */
        CLI_COMPLETE_USER,
} CliComplete;

enum {
        CLI_OPT_REPEAT = 1u << 0, /* may be given more than once; every value counts */
        CLI_OPT_HIDDEN = 1u << 1, /* accepted, kept out of help and docs */
};

typedef struct CliOption {
        const char *name;    /* long name without "--" */
        char short_name;     /* 0: none */
        const char *value;   /* metavariable ("N", "PATH"); NULL for a flag */
        const char *help;
        unsigned flags;
        CliComplete complete;
        const char *choices; /* for CLI_COMPLETE_CHOICES */
} CliOption;

enum {
        CLI_ARG_OPTIONAL = 1u << 0, /* may be left out; optional ones are filled first to last */
        CLI_ARG_MANY = 1u << 1,     /* last argument only: zero or more of them */
        CLI_ARG_COMMAND = 1u << 2,  /* last argument only: the command to run, taken
                                     * verbatim from here (options included) */
};

typedef struct CliArg {
        const char *name; /* "SANDBOX" */
        unsigned flags;
        CliComplete complete;
        const char *choices;
} CliArg;

typedef struct CliArgs CliArgs;
typedef struct CliCommand CliCommand;

enum {
        CLI_CMD_HIDDEN = 1u << 0,   /* an alias or internal command: kept out of help and docs */
        CLI_CMD_EXIT_125 = 1u << 1, /* usage errors exit 125 (exec: 1-124 are the command's) */
};

struct CliCommand {
        const char *name;
        const char *summary;     /* one line, lower case, no full stop */
        const char *description; /* paragraphs for --help and the man page; may be NULL */
        const CliOption *options; /* {}-terminated, or NULL */
        const CliArg *args;       /* {}-terminated, or NULL */
        int (*run)(Cli *cli, const CliArgs *a);
        const CliCommand *const *sub; /* a group: its commands, NULL-terminated */
        unsigned flags;
        const char *see_also;     /* for a group: an extra man page section; may be NULL */
};

/* One option given on the line. */
typedef struct CliValue {
        const CliOption *opt;
        const char *value; /* NULL for a flag */
} CliValue;

#define CLI_MAX_VALUES 64
#define CLI_MAX_POSITIONALS 64

/* The parsed line. Strings point into argv. */
struct CliArgs {
        const CliCommand *cmd;      /* the command (a group when help is asked of one) */
        const CliCommand *path[8];  /* root .. cmd */
        size_t depth;
        char name[128];             /* "workspace create", for messages */
        CliValue values[CLI_MAX_VALUES];
        size_t n_values;
        char *pos[CLI_MAX_POSITIONALS];
        size_t n_pos;
        char **command;             /* CLI_ARG_COMMAND: NULL-terminated, or NULL */
        bool help;
        bool version;
};

/* Options every command accepts. */
extern const CliOption cli_global_options[];
bool cli_option_is_global(const CliOption *o);

/* Parse argv (argv[0] is the program) against the tree under root.
 * Usage errors return -EINVAL with the message in err; a->cmd is then
 * the deepest command reached (for its help hint). */
int cli_parse(const CliCommand *root, int argc, char **argv, CliArgs *a, Error *err);

/* The value of an option (the last one given), or NULL. name must be an
 * option of the command or a global option: anything else is a bug. */
const char *cli_arg_value(const CliArgs *a, const char *name);
bool cli_arg_flag(const CliArgs *a, const char *name);
/* Every value of a repeatable option, in order: the i-th, or NULL. */
const char *cli_arg_nth(const CliArgs *a, const char *name, size_t i);
/* A positional argument by its table name, or NULL when left out. For a
 * CLI_ARG_MANY argument, the first; cli_arg_many() gives them all. */
const char *cli_arg(const CliArgs *a, const char *name);
char *const *cli_arg_many(const CliArgs *a, const char *name, size_t *ret_n);

/* Look a command up in a group by name, or NULL. */
const CliCommand *cli_find_command(const CliCommand *group, const char *name);
/* An option of cmd, or a global one, by long name (len bytes of name)
 * or by short name; NULL when there is none. */
const CliOption *cli_find_option(const CliCommand *cmd, const char *name, size_t len);
const CliOption *cli_find_short(const CliCommand *cmd, char c);
static inline bool cli_is_group(const CliCommand *cmd)
{
        return cmd->sub != NULL;
}

/* Help for a command or group, from its table. */
void cli_print_command_help(const CliArgs *a, FILE *out);
/* What follows the command's name: "[OPTIONS] SANDBOX WORKSPACE [--]
 * CMD...", or with full every option ("SANDBOX [--keep N]"). */
char *cli_synopsis_of(const CliCommand *cmd, bool full);
static inline char *cli_synopsis(const CliCommand *cmd)
{
        return cli_synopsis_of(cmd, false);
}
/* A description paragraph by paragraph: fn gets each one (without its
 * trailing newline) and whether it is preformatted (every line
 * indented by two spaces). */
void cli_paragraphs(const char *text, void (*fn)(const char *p, size_t len, bool pre, void *userdata),
                    void *userdata);
