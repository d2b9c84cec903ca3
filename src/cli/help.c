/* `--help` of every command and group, from the command tables. */
#include "cli/command.h"
#include "base/str.h"

#include <string.h>

static bool has_visible_options(const CliCommand *cmd)
{
        for (const CliOption *o = cmd->options; o && o->name; o++)
                if (!(o->flags & CLI_OPT_HIDDEN))
                        return true;
        return false;
}

static void put_option(StrBuf *b, const CliOption *o)
{
        strbuf_printf(b, " [--%s%s%s]%s", o->name, o->value ? " " : "", o->value ?: "",
                      o->flags & CLI_OPT_REPEAT ? "..." : "");
}

static void put_arg(StrBuf *b, const CliArg *g)
{
        if (g->flags & CLI_ARG_COMMAND)
                strbuf_printf(b, g->flags & CLI_ARG_OPTIONAL ? " [[--] %s...]" : " [--] %s...", g->name);
        else if (g->flags & CLI_ARG_MANY)
                strbuf_printf(b, " [%s...]", g->name);
        else if (g->flags & CLI_ARG_OPTIONAL)
                strbuf_printf(b, " [%s]", g->name);
        else
                strbuf_printf(b, " %s", g->name);
}

char *cli_synopsis_of(const CliCommand *cmd, bool full)
{
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        if (cli_is_group(cmd)) {
                strbuf_puts(&b, " COMMAND [ARGS]");
                return strdup(b.data + 1);
        }
        if (!full && has_visible_options(cmd))
                strbuf_puts(&b, " [OPTIONS]");
        /* The arguments first, then the options (full form), except that
         * a command to run always comes last. */
        const CliArg *g = cmd->args;
        for (; g && g->name && !(g->flags & CLI_ARG_COMMAND); g++)
                put_arg(&b, g);
        for (const CliOption *o = cmd->options; full && o && o->name; o++)
                if (!(o->flags & CLI_OPT_HIDDEN))
                        put_option(&b, o);
        if (g && g->name)
                put_arg(&b, g);
        if (b.oom)
                return NULL;
        return strdup(b.len ? b.data + 1 : "");
}

void cli_paragraphs(const char *text, void (*fn)(const char *p, size_t len, bool pre, void *userdata),
                    void *userdata)
{
        const char *p = text;
        while (p && *p) {
                const char *end = strstr(p, "\n\n");
                size_t len = end ? (size_t) (end - p) : strlen(p);
                while (len > 0 && p[len - 1] == '\n')
                        len--;
                bool pre = len > 0;
                for (const char *l = p; l < p + len; l = strchrnul(l, '\n') + 1)
                        if (!startswith(l, "  "))
                                pre = false;
                if (len > 0)
                        fn(p, len, pre, userdata);
                p = end ? end + 2 : NULL;
        }
}

static void print_paragraph(const char *p, size_t len, bool pre, void *userdata)
{
        fprintf(userdata, "\n%.*s\n", (int) len, p);
}

static void print_option_rows(const CliOption *opts, FILE *out)
{
        for (const CliOption *o = opts; o && o->name; o++) {
                if (o->flags & CLI_OPT_HIDDEN)
                        continue;
                char left[64];
                snprintf(left, sizeof left, "%c%c%c --%s%s%s", o->short_name ? '-' : ' ', o->short_name ?: ' ',
                         o->short_name ? ',' : ' ', o->name, o->value ? " " : "", o->value ?: "");
                if (strlen(left) > 26)
                        fprintf(out, "  %s\n  %-26s %s%s\n", left, "", o->help,
                                o->flags & CLI_OPT_REPEAT ? " (repeatable)" : "");
                else
                        fprintf(out, "  %-26s %s%s\n", left, o->help, o->flags & CLI_OPT_REPEAT ? " (repeatable)" : "");
        }
}

static void print_commands(const CliCommand *group, FILE *out)
{
        fputs("\nCommands:\n", out);
        for (const CliCommand *const *c = group->sub; *c; c++)
                if (!((*c)->flags & CLI_CMD_HIDDEN))
                        fprintf(out, "  %-12s %s\n", (*c)->name, (*c)->summary);
}

void cli_print_command_help(const CliArgs *a, FILE *out)
{
        const CliCommand *cmd = a->cmd;
        _cleanup_free_ char *syn = cli_synopsis(cmd);
        fprintf(out, "Usage: %s %s\n", a->name, syn ?: "");
        if (cmd->description)
                cli_paragraphs(cmd->description, print_paragraph, out);
        else
                fprintf(out, "\n%c%s.\n", cmd->summary[0] >= 'a' && cmd->summary[0] <= 'z' ? cmd->summary[0] - 32
                                                                                        : cmd->summary[0],
                        cmd->summary + 1);
        if (cli_is_group(cmd))
                print_commands(cmd, out);
        if (has_visible_options(cmd)) {
                fputs("\nOptions:\n", out);
                print_option_rows(cmd->options, out);
        }
        if (a->depth == 1) {
                fputs("\nGlobal options (accepted anywhere on the line):\n", out);
                print_option_rows(cli_global_options, out);
                fputs("\nEnvironment: ENCLAVE_CONFIG, ENCLAVE_SOCKET, ENCLAVE_LOG (error|warn|info|debug).\n", out);
        } else
                fputs("\nGlobal options: --config PATH, --socket PATH, --json, --no-color, -q (anywhere on the line)\n",
                      out);
        if (cli_is_group(cmd))
                fprintf(out, "Run '%s COMMAND --help' for the options of a command.\n", a->name);
}
