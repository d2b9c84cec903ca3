/* `enclave __complete -- WORD...`: what the shell completions
 * (completions/) offer for the last WORD, from the command tables and,
 * for sandbox, workspace and snapshot names, from the daemon.
 *
 * One candidate per line, "value<TAB>description"; a last line ":file",
 * ":dir", ":command" or ":user" asks the shell for its own completion
 * of that kind. The daemon is asked without starting it and with a
 * short time limit, and any failure just means no names: completion
 * stays fast and silent when the daemon is down. */
#include "cli/cli.h"
#include "cli/client.h"
#include "proto/actions.h"
#include "config/enclavefile.h"
#include "base/str.h"

#include <string.h>

#define COMPLETE_TIMEOUT_MS 500

typedef struct Walk {
        const CliCommand *cmd;
        const CliOption *want_value; /* the previous word was this option */
        const char *pos[CLI_MAX_POSITIONALS];
        size_t n_pos;
        bool only_positionals;
        size_t command_words;        /* words of a CLI_ARG_COMMAND so far, + 1 once it started */
        bool lost;                   /* an unknown command: offer nothing */
} Walk;

static int command_index(const CliCommand *cmd)
{
        for (int k = 0; cmd->args && cmd->args[k].name; k++)
                if (cmd->args[k].flags & CLI_ARG_COMMAND)
                        return k;
        return -1;
}

static void walk_option(Walk *w, const char *word)
{
        if (word[1] == '-') {
                if (strchr(word, '='))
                        return;
                const CliOption *o = cli_find_option(w->cmd, word + 2, strlen(word + 2));
                w->want_value = o && o->value ? o : NULL;
                return;
        }
        /* "-abc": only the last letter can take the next word. */
        size_t n = strlen(word);
        const CliOption *o = cli_find_short(w->cmd, word[n - 1]);
        w->want_value = o && o->value ? o : NULL;
}

static void walk_word(Walk *w, const char *word)
{
        if (w->command_words) {
                w->command_words++;
                return;
        }
        if (w->want_value) {
                w->want_value = NULL;
                return;
        }
        int k = cli_is_group(w->cmd) ? -1 : command_index(w->cmd);
        if (!w->only_positionals && streq(word, "--")) {
                if (k >= 0 && (size_t) k <= w->n_pos)
                        w->command_words = 1;
                else
                        w->only_positionals = true;
        } else if (!w->only_positionals && word[0] == '-' && word[1])
                walk_option(w, word);
        else if (cli_is_group(w->cmd)) {
                const CliCommand *c = cli_find_command(w->cmd, word);
                if (c)
                        w->cmd = c;
                else if (!streq(word, "help"))
                        w->lost = true;
        } else if (k >= 0 && w->n_pos == (size_t) k)
                w->command_words = 2;
        else if (w->n_pos < CLI_MAX_POSITIONALS)
                w->pos[w->n_pos++] = word;
}

/* What the word under the cursor holds before the value being
 * completed: "--suite=" in "--suite=bo", else "". */
static const char *value_prefix = "";

static void candidate(const char *cur, const char *value, const char *description)
{
        if (!startswith(value, cur))
                return;
        printf("%s%s%s%s\n", value_prefix, value, description ? "\t" : "", description ?: "");
}

static void choices(const char *cur, const char *list)
{
        for (const char *p = list; p && *p;) {
                const char *e = strchrnul(p, '|');
                char v[64];
                snprintf(v, sizeof v, "%.*s", (int) (e - p), p);
                candidate(cur, v, NULL);
                p = *e ? e + 1 : NULL;
        }
}

/* ---- names from the daemon ---- */

static json_t *ask_daemon(Cli *cli, const char *action, json_t *params)
{
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_free_ char *path = NULL;
        _cleanup_client_ Client *c = NULL;
        if (client_socket_path(cli, &path, &err) < 0 || client_connect(path, &c, &err) < 0) {
                json_decref(params);
                return NULL;
        }
        client_set_timeout(c, COMPLETE_TIMEOUT_MS);
        json_t *res = NULL;
        if (client_call(c, action, params, NULL, 0, NULL, NULL, &res, NULL, &err) < 0)
                return NULL;
        return res;
}

static void names(Cli *cli, const char *cur, const char *action, json_t *params, const char *list, const char *key)
{
        json_t *res = ask_daemon(cli, action, params);
        size_t i;
        json_t *o;
        json_array_foreach(json_object_get(res, list), i, o) {
                const char *v = json_string_value(json_object_get(o, key));
                if (v)
                        candidate(cur, v, json_string_value(json_object_get(o, "state")));
        }
        json_decref(res);
}

/* The value of a positional argument already on the line, by name. */
static const char *walked_arg(const Walk *w, const char *name)
{
        size_t p = 0;
        for (const CliArg *g = w->cmd->args; g && g->name && p < w->n_pos; g++, p++)
                if (streq(g->name, name))
                        return w->pos[p];
        return NULL;
}

static void workspace_names(Cli *cli, const Walk *w, const char *cur)
{
        const char *sb = walked_arg(w, "SANDBOX");
        bool takes_sandbox = false;
        for (const CliArg *g = w->cmd->args; g && g->name; g++)
                takes_sandbox |= streq(g->name, "SANDBOX");
        if (!takes_sandbox) {
                /* A short form: the workspaces of ./Enclavefile. */
                _cleanup_diagnostics_ Diagnostics diag = DIAGNOSTICS_INIT;
                _cleanup_enclavefile_ Enclavefile *ef = NULL;
                if (enclavefile_load(ENCLAVEFILE_NAME, &ef, &diag) >= 0)
                        for (size_t i = 0; i < ef->n_workspaces; i++)
                                candidate(cur, ef->workspaces[i].name, NULL);
                return;
        }
        names(cli, cur, PROTO_ACTION_WORKSPACE_LIST, sb ? json_pack("{s:s}", "sandbox", sb) : json_object(),
              "workspaces", "name");
}

static void complete_kind(Cli *cli, const Walk *w, const char *cur, CliComplete kind, const char *list)
{
        switch (kind) {
        case CLI_COMPLETE_SANDBOX:
                names(cli, cur, PROTO_ACTION_SANDBOX_LIST, NULL, "sandboxes", "name");
                break;
        case CLI_COMPLETE_WORKSPACE:
                workspace_names(cli, w, cur);
                break;
        case CLI_COMPLETE_SNAPSHOT: {
                const char *sb = walked_arg(w, "SANDBOX"), *ws = walked_arg(w, "WORKSPACE");
                if (sb && ws)
                        names(cli, cur, PROTO_ACTION_SNAPSHOT_LIST,
                              json_pack("{s:s, s:s}", "sandbox", sb, "workspace", ws), "snapshots", "name");
                break;
        }
        case CLI_COMPLETE_CHOICES:
                choices(cur, list);
                break;
        case CLI_COMPLETE_FILE:
                puts(":file");
                break;
        case CLI_COMPLETE_DIR:
                puts(":dir");
                break;
        case CLI_COMPLETE_COMMAND:
                puts(":command");
                break;
        case CLI_COMPLETE_USER:
                puts(":user");
                break;
        case CLI_COMPLETE_NONE:
                break;
        }
}

/* Kinds completed with values from here (not by the shell). */
static bool listed_here(CliComplete k)
{
        return k == CLI_COMPLETE_SANDBOX || k == CLI_COMPLETE_WORKSPACE || k == CLI_COMPLETE_SNAPSHOT ||
               k == CLI_COMPLETE_CHOICES;
}

static void options_of(const CliCommand *cmd, const char *cur)
{
        for (int pass = 0; pass < 2; pass++)
                for (const CliOption *o = pass ? cli_global_options : cmd->options; o && o->name; o++) {
                        if (o->flags & CLI_OPT_HIDDEN)
                                continue;
                        char name[80];
                        snprintf(name, sizeof name, "--%s", o->name);
                        candidate(cur, name, o->help);
                }
}

static void commands_of(const CliCommand *group, const char *cur)
{
        for (const CliCommand *const *c = group->sub; *c; c++)
                if (!((*c)->flags & CLI_CMD_HIDDEN))
                        candidate(cur, (*c)->name, (*c)->summary);
}

/* The argument the next positional word fills. */
static const CliArg *next_arg(const Walk *w)
{
        size_t p = 0;
        for (const CliArg *g = w->cmd->args; g && g->name; g++, p++)
                if (p == w->n_pos || g->flags & (CLI_ARG_MANY | CLI_ARG_COMMAND))
                        return g;
        return NULL;
}

static int cmd_complete(Cli *cli, const CliArgs *a)
{
        char **words = a->command;
        size_t n = 0;
        while (words && words[n])
                n++;
        const char *cur = n ? words[n - 1] : "";
        Walk w = { .cmd = &cli_root };
        for (size_t i = 0; i + 1 < n && !w.lost; i++)
                walk_word(&w, words[i]);
        if (w.lost)
                return EXIT_OK;
        if (w.command_words)
                puts(w.command_words == 1 ? ":command" : ":file");
        else if (w.want_value)
                complete_kind(cli, &w, cur, w.want_value->complete, w.want_value->choices);
        else if (startswith(cur, "--") && strchr(cur, '=') && !w.only_positionals) {
                /* "--suite=bo": the option's values, each as "--suite=VALUE". */
                const char *eq = strchr(cur, '=');
                const CliOption *o = cli_find_option(w.cmd, cur + 2, (size_t) (eq - cur - 2));
                _cleanup_free_ char *prefix = strndup(cur, (size_t) (eq - cur + 1));
                if (o && o->value && prefix && listed_here(o->complete)) {
                        value_prefix = prefix;
                        complete_kind(cli, &w, eq + 1, o->complete, o->choices);
                        value_prefix = "";
                }
        } else if (cur[0] == '-' && !w.only_positionals)
                options_of(w.cmd, cur);
        else if (cli_is_group(w.cmd))
                commands_of(w.cmd, cur);
        else {
                const CliArg *g = next_arg(&w);
                if (g)
                        complete_kind(cli, &w, cur, g->flags & CLI_ARG_COMMAND ? CLI_COMPLETE_COMMAND : g->complete,
                                      g->choices);
        }
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

static const CliArg complete_args[] = { { "WORD", CLI_ARG_COMMAND | CLI_ARG_OPTIONAL }, {} };

const CliCommand cli_cmd_complete = {
        "__complete", "list completions for the shell completion scripts",
        "Prints what may follow the words after '--' (the last one being the word under\n"
        "the cursor): one candidate per line, 'value<TAB>description', or a line ':file',\n"
        "':dir', ':command' or ':user'. Used by completions/.",
        NULL, complete_args, .run = cmd_complete, .flags = CLI_CMD_HIDDEN,
};
