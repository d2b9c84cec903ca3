/* Presenting a resolved Enclavefile: its JSON and the human-readable
 * listing of `enclave validate`. */
#include "config/enclavefile.h"
#include "base/str.h"

#include <inttypes.h>
#include <string.h>

/* ---- JSON ---- */

static json_t *sandbox_to_json(const SandboxSpec *sb)
{
        char digest[SHA256_HEX_SIZE];
        spec_setup_digest(sb->setup, digest);
        json_t *o = sandbox_spec_to_json(sb, SPEC_JSON_WIRE);
        if (o && json_object_set_new(o, "setup_digest", json_string(digest)) < 0)
                return (json_decref(o), NULL);
        return o;
}

/* The table key right after the name, as `validate` always showed it. */
static json_t *workspace_to_json(const WorkspaceSpec *ws, const EnclavefileTable *t)
{
        json_t *o = json_pack("{s:s, s:s}", "name", ws->name, "key", t ? t->key : ws->name);
        json_t *spec = workspace_spec_to_json(ws, SPEC_JSON_WIRE);
        if (!o || !spec || json_object_update(o, spec) < 0)
                o = (json_decref(o), NULL);
        json_decref(spec);
        return o;
}

json_t *enclavefile_to_json(const Enclavefile *ef)
{
        json_t *workspaces = json_array();
        for (size_t i = 0; workspaces && i < ef->n_workspaces; i++)
                if (json_array_append_new(workspaces, workspace_to_json(&ef->workspaces[i],
                                                                        ef->tables ? &ef->tables[i] : NULL)) < 0) {
                        json_decref(workspaces);
                        return NULL;
                }
        /* json_pack steals "o" arguments even when it fails. */
        return json_pack("{s:o, s:s, s:o, s:o}",
                         "path", ef->path || ef->display_name ? json_string(ef->path ? ef->path : ef->display_name)
                                                              : json_null(),
                         "base_dir", ef->base_dir,
                         "sandbox", sandbox_to_json(&ef->sandbox),
                         "workspaces", workspaces);
}

/* ---- human-readable listing ---- */

#define LABEL_WIDTH 18

static void put_row(StrBuf *b, const char *label, const char *value)
{
        strbuf_printf(b, "  %-*s %s\n", LABEL_WIDTH, label, value);
}

static void put_limits(StrBuf *b, const Limits *l, unsigned scope, bool with_dir)
{
        LIMIT_FOREACH(d) {
                int64_t v = limit_get(l, d);
                char text[LIMIT_TEXT_MAX];
                if (!(d->scopes & scope))
                        continue;
                if (with_dir && streq(d->key, "disk_mb"))
                        put_row(b, d->key, "(not applicable with workspace_dir)");
                else if (v > 0)
                        strbuf_printf(b, "  %-*s %s%s%s\n", LABEL_WIDTH, d->key, limit_format(d, v, text),
                                      *d->symbol ? " " : "", d->symbol);
                else
                        put_row(b, d->key, "unlimited");
        }
}

static void put_list(StrBuf *b, const char *label, char *const *v, const char *none)
{
        strbuf_printf(b, "  %-*s ", LABEL_WIDTH, label);
        if (!v || !*v)
                strbuf_puts(b, none);
        STRV_FOREACH(s, v)
                strbuf_printf(b, "%s%s", s == v ? "" : ", ", *s);
        strbuf_putc(b, '\n');
}

/* A multi-line command, continuation lines indented under the first. */
static void put_command(StrBuf *b, size_t idx, const char *cmd)
{
        strbuf_printf(b, "    %zu. ", idx);
        for (const char *p = cmd; *p; p++) {
                strbuf_putc(b, *p);
                if (*p == '\n' && p[1])
                        strbuf_puts(b, "       ");
        }
        if (!endswith(cmd, "\n"))
                strbuf_putc(b, '\n');
}

static void format_sandbox(StrBuf *b, const SandboxSpec *sb)
{
        char digest[SHA256_HEX_SIZE];
        size_t n = strv_length(sb->setup);

        spec_setup_digest(sb->setup, digest);
        strbuf_printf(b, "sandbox %s\n", sb->name);
        put_row(b, "suite", sb->suite);
        put_row(b, "bootstrap_method", sb->bootstrap_method);
        put_row(b, "mirror", sb->mirror);
        put_limits(b, &sb->caps, LIMIT_SANDBOX, false);
        strbuf_printf(b, "  %-*s %zu command%s (sha256 %.12s)\n", LABEL_WIDTH, "setup", n, n == 1 ? "" : "s", digest);
        for (size_t i = 0; i < n; i++)
                put_command(b, i + 1, sb->setup[i]);
}

static void format_workspace(StrBuf *b, const WorkspaceSpec *ws, const EnclavefileTable *t)
{
        strbuf_printf(b, "\nworkspace %s", ws->name);
        if (t && !streq(ws->name, t->key))
                strbuf_printf(b, " (table workspace.%s)", t->key);
        strbuf_putc(b, '\n');
        put_row(b, "run", ws->run ? ws->run : "(none: starts idle)");
        put_row(b, "restart", run_restart_to_string(ws->restart) ?: "no");
        put_row(b, "workspace_dir", ws->workspace_dir ? ws->workspace_dir : "(managed /home)");
        put_limits(b, &ws->limits, LIMIT_WORKSPACE, ws->workspace_dir != NULL);
        put_list(b, "auth", ws->auth, "(none)");
        put_list(b, "env_tokens", ws->env_tokens, "(none)");
        strbuf_printf(b, "  %-*s ", LABEL_WIDTH, "ports");
        if (ws->n_ports == 0)
                strbuf_puts(b, "(none)");
        for (size_t i = 0; i < ws->n_ports; i++) {
                char spec[PORT_SPEC_STRING_MAX];
                port_spec_format(&ws->ports[i], spec);
                strbuf_printf(b, "%s%s", i ? ", " : "", spec);
        }
        strbuf_putc(b, '\n');
        if (t && t->env_file)
                put_row(b, "env_file", t->env_file);
        put_list(b, "env", ws->env, "(none)");
}

char *enclavefile_format(const Enclavefile *ef)
{
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        strbuf_printf(&b, "%s: valid\nbase directory: %s\n\n", ef->path ? ef->path : ef->display_name, ef->base_dir);
        format_sandbox(&b, &ef->sandbox);
        for (size_t i = 0; i < ef->n_workspaces; i++)
                format_workspace(&b, &ef->workspaces[i], ef->tables ? &ef->tables[i] : NULL);
        if (ef->n_workspaces == 0)
                strbuf_puts(&b, "\n(no workspaces)\n");
        return strbuf_steal(&b);
}
