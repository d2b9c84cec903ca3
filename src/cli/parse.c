/* The one argument parser of the CLI (command.h): walks the command
 * tree by words, takes options of the command reached and global
 * options anywhere, and checks the positional arguments against the
 * command's table. GNU conventions: "--name value", "--name=value",
 * "-x value", "-xvalue", "-abc" for flags, "--" ends the options. */
#include "cli/command.h"
#include "base/str.h"

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

const CliOption cli_global_options[] = {
        { "config", 0, "PATH", "config file (default: $ENCLAVE_CONFIG, then the usual places)", .complete = CLI_COMPLETE_FILE },
        { "socket", 0, "PATH", "daemon socket (default: $ENCLAVE_SOCKET or the config's)", .complete = CLI_COMPLETE_FILE },
        { "json", 0, NULL, "machine-readable output (docs/json.md)" },
        { "no-color", 0, NULL, "no colour in output" },
        { "quiet", 'q', NULL, "print only errors" },
        { "help", 'h', NULL, "show help" },
        { "version", 0, NULL, "print the version" },
        {},
};

bool cli_option_is_global(const CliOption *o)
{
        for (const CliOption *g = cli_global_options; g->name; g++)
                if (g == o)
                        return true;
        return false;
}

static const CliOption *find_in(const CliOption *opts, const char *name, size_t len)
{
        for (const CliOption *o = opts; o && o->name; o++)
                if (strlen(o->name) == len && strneq(o->name, name, len))
                        return o;
        return NULL;
}

const CliOption *cli_find_option(const CliCommand *cmd, const char *name, size_t len)
{
        return find_in(cmd ? cmd->options : NULL, name, len) ?: find_in(cli_global_options, name, len);
}

const CliOption *cli_find_short(const CliCommand *cmd, char c)
{
        for (const CliOption *o = cmd ? cmd->options : NULL; o && o->name; o++)
                if (o->short_name == c)
                        return o;
        for (const CliOption *o = cli_global_options; o->name; o++)
                if (o->short_name == c)
                        return o;
        return NULL;
}

const CliCommand *cli_find_command(const CliCommand *group, const char *name)
{
        for (const CliCommand *const *c = group->sub; c && *c; c++)
                if (streq((*c)->name, name))
                        return *c;
        return NULL;
}

static const char *suggest_command(const CliCommand *group, const char *word)
{
        const char *names[128];
        size_t n = 0;
        for (const CliCommand *const *c = group->sub; *c && n < ELEMENTSOF(names); c++)
                if (!((*c)->flags & CLI_CMD_HIDDEN))
                        names[n++] = (*c)->name;
        return closest_match(word, names, n);
}

static const char *suggest_option(const CliCommand *cmd, const char *word)
{
        const char *names[128];
        size_t n = 0;
        for (int pass = 0; pass < 2; pass++)
                for (const CliOption *o = pass ? cli_global_options : cmd->options; o && o->name; o++)
                        if (!(o->flags & CLI_OPT_HIDDEN) && n < ELEMENTSOF(names))
                                names[n++] = o->name;
        return closest_match(word, names, n);
}

/* ---- the line ---- */

static int record(CliArgs *a, const CliOption *o, const char *value, Error *err)
{
        if (streq(o->name, "help")) {
                a->help = true;
                return 0;
        }
        if (streq(o->name, "version") && cli_option_is_global(o)) {
                a->version = true;
                return 0;
        }
        if (a->n_values >= CLI_MAX_VALUES)
                return error_set(err, EINVAL, "too many options (at most %d)", CLI_MAX_VALUES);
        a->values[a->n_values++] = (CliValue) { o, value };
        return 0;
}

static int unknown_option(CliArgs *a, const char *shown, const char *name, Error *err)
{
        const char *s = suggest_option(a->cmd, name);
        if (s)
                return error_set(err, EINVAL, "unknown option '%s' for '%s'; did you mean '--%s'?", shown, a->name, s);
        return error_set(err, EINVAL, "unknown option '%s' for '%s'; see '%s --help'", shown, a->name, a->name);
}

/* "--name", "--name=value", "--name value". */
static int long_option(CliArgs *a, int argc, char **argv, int *i, Error *err)
{
        const char *w = argv[*i], *name = w + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t) (eq - name) : strlen(name);
        const CliOption *o = cli_find_option(a->cmd, name, len);
        if (!o) {
                _cleanup_free_ char *shown = strndup(w, (size_t) (name - w) + len);
                _cleanup_free_ char *bare = strndup(name, len);
                if (!shown || !bare)
                        return error_set(err, ENOMEM, "out of memory");
                return unknown_option(a, shown, bare, err);
        }
        if (!o->value) {
                if (eq)
                        return error_set(err, EINVAL, "option '--%s' takes no value", o->name);
                return record(a, o, NULL, err);
        }
        if (eq)
                return record(a, o, eq + 1, err);
        if (*i + 1 >= argc)
                return error_set(err, EINVAL, "option '--%s' needs a value (%s); usage: %s --%s %s", o->name, o->value,
                                 a->name, o->name, o->value);
        return record(a, o, argv[++*i], err);
}

/* "-x", "-abc", "-xVALUE", "-x VALUE". */
static int short_options(CliArgs *a, int argc, char **argv, int *i, Error *err)
{
        char *w = argv[*i];
        for (size_t j = 1; w[j]; j++) {
                const CliOption *o = cli_find_short(a->cmd, w[j]);
                if (!o) {
                        char shown[3] = { '-', w[j], 0 };
                        return unknown_option(a, shown, shown + 1, err);
                }
                if (!o->value) {
                        int r = record(a, o, NULL, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (w[j + 1])
                        return record(a, o, w + j + 1, err);
                if (*i + 1 >= argc)
                        return error_set(err, EINVAL, "option '-%c' needs a value (%s); usage: %s -%c %s", w[j],
                                         o->value, a->name, w[j], o->value);
                return record(a, o, argv[++*i], err);
        }
        return 0;
}

static void set_name(CliArgs *a)
{
        size_t n = 0;
        a->name[0] = 0;
        for (size_t k = 0; k < a->depth; k++) {
                int w = snprintf(a->name + n, sizeof a->name - n, "%s%s", k ? " " : "", a->path[k]->name);
                if (w < 0 || (size_t) w >= sizeof a->name - n)
                        break;
                n += (size_t) w;
        }
}

static int enter_command(CliArgs *a, const char *word, Error *err)
{
        const CliCommand *c = cli_find_command(a->cmd, word);
        if (!c) {
                const char *s = suggest_command(a->cmd, word);
                const char *prefix = a->depth > 1 ? a->name + strlen("enclave ") : NULL;
                if (s)
                        return error_set(err, EINVAL, "unknown command '%s%s%s'; did you mean '%s%s%s'?",
                                         prefix ?: "", prefix ? " " : "", word, prefix ?: "", prefix ? " " : "", s);
                return error_set(err, EINVAL, "unknown command '%s%s%s'; see '%s --help'", prefix ?: "",
                                 prefix ? " " : "", word, a->name);
        }
        if (a->depth >= ELEMENTSOF(a->path))
                return error_set(err, EINVAL, "commands nest too deep");
        a->path[a->depth++] = c;
        a->cmd = c;
        set_name(a);
        return 0;
}

/* Index of the CLI_ARG_COMMAND argument, or -1. */
static int command_arg_index(const CliCommand *cmd)
{
        for (int k = 0; cmd->args && cmd->args[k].name; k++)
                if (cmd->args[k].flags & CLI_ARG_COMMAND)
                        return k;
        return -1;
}

static int positional(CliArgs *a, char *word, Error *err)
{
        if (a->n_pos >= CLI_MAX_POSITIONALS)
                return error_set(err, EINVAL, "too many arguments (at most %d)", CLI_MAX_POSITIONALS);
        a->pos[a->n_pos++] = word;
        return 0;
}

static void count_args(const CliCommand *cmd, size_t *ret_required, size_t *ret_max)
{
        size_t req = 0, max = 0;
        for (const CliArg *g = cmd->args; g && g->name; g++) {
                if (g->flags & CLI_ARG_COMMAND)
                        break;
                if (g->flags & CLI_ARG_MANY) {
                        max = SIZE_MAX;
                        break;
                }
                max++;
                if (!(g->flags & CLI_ARG_OPTIONAL))
                        req++;
        }
        *ret_required = req;
        *ret_max = max;
}

static const CliArg *nth_required_missing(const CliCommand *cmd, size_t n_pos)
{
        size_t seen = 0;
        for (const CliArg *g = cmd->args; g && g->name; g++) {
                if (g->flags & (CLI_ARG_OPTIONAL | CLI_ARG_MANY | CLI_ARG_COMMAND))
                        continue;
                if (seen++ >= n_pos)
                        return g;
        }
        return NULL;
}

static int check_positionals(CliArgs *a, Error *err)
{
        const CliCommand *cmd = a->cmd;
        size_t req, max;
        count_args(cmd, &req, &max);
        _cleanup_free_ char *syn = cli_synopsis(cmd);
        if (a->n_pos < req) {
                const CliArg *g = nth_required_missing(cmd, a->n_pos);
                return error_set(err, EINVAL, "missing %s; usage: %s %s", g ? g->name : "arguments", a->name,
                                 syn ?: "");
        }
        if (a->n_pos > max) {
                if (max == 0)
                        return error_set(err, EINVAL, "'%s' takes no arguments, got '%s'", a->name, a->pos[0]);
                return error_set(err, EINVAL, "too many arguments ('%s'); usage: %s %s", a->pos[max], a->name,
                                 syn ?: "");
        }
        int k = command_arg_index(cmd);
        if (k >= 0 && !(cmd->args[k].flags & CLI_ARG_OPTIONAL) && (!a->command || !a->command[0]))
                return error_set(err, EINVAL, "no command given; usage: %s %s", a->name, syn ?: "");
        return 0;
}

int cli_parse(const CliCommand *root, int argc, char **argv, CliArgs *a, Error *err)
{
        *a = (CliArgs) { .cmd = root, .path = { root }, .depth = 1 };
        set_name(a);
        bool only_positionals = false;
        int r = 0;
        for (int i = 1; i < argc && r >= 0; i++) {
                char *w = argv[i];
                int k = cli_is_group(a->cmd) ? -1 : command_arg_index(a->cmd);
                if (!only_positionals && streq(w, "--")) {
                        if (k >= 0 && (size_t) k >= a->n_pos) {
                                a->command = argv + i + 1;
                                break;
                        }
                        only_positionals = true;
                } else if (!only_positionals && w[0] == '-' && w[1])
                        r = w[1] == '-' ? long_option(a, argc, argv, &i, err) : short_options(a, argc, argv, &i, err);
                else if (cli_is_group(a->cmd)) {
                        if (streq(w, "help") && !a->help)
                                a->help = true;
                        else
                                r = enter_command(a, w, err);
                } else if (k >= 0 && a->n_pos == (size_t) k) {
                        a->command = argv + i;
                        break;
                } else
                        r = positional(a, w, err);
        }
        if (r < 0)
                return r;
        if (a->help || a->version || cli_is_group(a->cmd))
                return 0;
        return check_positionals(a, err);
}

/* ---- looking values up ---- */

static const CliOption *known_option(const CliArgs *a, const char *name)
{
        const CliOption *o = cli_find_option(a->cmd, name, strlen(name));
        if (!o) {
                /* A command asked for an option its table lacks. */
                fprintf(stderr, "enclave: internal error: '%s' has no option '--%s'\n", a->name, name);
                abort();
        }
        return o;
}

const char *cli_arg_value(const CliArgs *a, const char *name)
{
        const CliOption *o = known_option(a, name);
        for (size_t i = a->n_values; i > 0; i--)
                if (a->values[i - 1].opt == o)
                        return a->values[i - 1].value;
        return NULL;
}

bool cli_arg_flag(const CliArgs *a, const char *name)
{
        const CliOption *o = known_option(a, name);
        for (size_t i = 0; i < a->n_values; i++)
                if (a->values[i].opt == o)
                        return true;
        return false;
}

const char *cli_arg_nth(const CliArgs *a, const char *name, size_t n)
{
        const CliOption *o = known_option(a, name);
        for (size_t i = 0; i < a->n_values; i++)
                if (a->values[i].opt == o && n-- == 0)
                        return a->values[i].value;
        return NULL;
}

/* Where the positional argument named name starts in a->pos, or -1 when
 * it was left out. Optional arguments are filled first to last with
 * what is left after the required ones. */
static ssize_t arg_position(const CliArgs *a, const char *name)
{
        size_t req, max;
        count_args(a->cmd, &req, &max);
        size_t optional_given = a->n_pos > req ? a->n_pos - req : 0, p = 0;
        for (const CliArg *g = a->cmd->args; g && g->name; g++) {
                bool present = true;
                if (g->flags & CLI_ARG_OPTIONAL) {
                        present = optional_given > 0;
                        if (present)
                                optional_given--;
                }
                if (streq(g->name, name))
                        return present && p < a->n_pos ? (ssize_t) p : -1;
                if (present)
                        p++;
        }
        fprintf(stderr, "enclave: internal error: '%s' has no argument %s\n", a->name, name);
        abort();
}

const char *cli_arg(const CliArgs *a, const char *name)
{
        ssize_t p = arg_position(a, name);
        return p < 0 ? NULL : a->pos[p];
}

char *const *cli_arg_many(const CliArgs *a, const char *name, size_t *ret_n)
{
        ssize_t p = arg_position(a, name);
        *ret_n = p < 0 ? 0 : a->n_pos - (size_t) p;
        return p < 0 ? NULL : a->pos + p;
}
