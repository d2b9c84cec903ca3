/* Presenting a resolved Enclavefile: the setup digest, JSON and the
 * human-readable listing of `enclave validate`. */
#include "config/enclavefile.h"
#include "base/str.h"

#include <inttypes.h>
#include <string.h>

void enclavefile_setup_digest(const Enclavefile *ef, char out[static SHA256_HEX_SIZE])
{
        static const char domain[] = "enclave-setup-v1";
        uint8_t d[SHA256_DIGEST_SIZE];
        Sha256 s;

        /* Each command is length-prefixed, so ["a b"] and ["a", "b"]
         * (or a moved boundary) never hash alike. */
        sha256_init(&s);
        sha256_update(&s, domain, sizeof domain);
        STRV_FOREACH(cmd, ef->sandbox.setup) {
                uint64_t n = strlen(*cmd);
                uint8_t len[8];
                for (unsigned i = 0; i < 8; i++)
                        len[i] = (uint8_t) (n >> (56 - 8 * i));
                sha256_update(&s, len, sizeof len);
                sha256_update(&s, *cmd, n);
        }
        sha256_final(&s, d);
        digest_to_hex(d, sizeof d, out);
}

/* ---- JSON ---- */

static json_t *json_limit(int64_t v)
{
        return v > 0 ? json_integer(v) : json_null();
}

static json_t *json_strv(char *const *v)
{
        json_t *a = json_array();
        STRV_FOREACH(s, v)
                if (!a || json_array_append_new(a, json_string(*s)) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

static json_t *json_optional_string(const char *s)
{
        return s ? json_string(s) : json_null();
}

static json_t *sandbox_to_json(const Enclavefile *ef)
{
        const EnclavefileSandbox *sb = &ef->sandbox;
        char digest[SHA256_HEX_SIZE];
        enclavefile_setup_digest(ef, digest);
        return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:s}",
                         "name", sb->name,
                         "suite", sb->suite,
                         "bootstrap_method", sb->bootstrap_method,
                         "mirror", sb->mirror,
                         "memory_mb", json_limit(sb->memory_mb),
                         "cpu_percent", json_limit(sb->cpu_percent),
                         "max_procs", json_limit(sb->max_procs),
                         "setup", json_strv(sb->setup),
                         "setup_digest", digest);
}

static json_t *ports_to_json(const EnclavefileWorkspace *ws)
{
        json_t *a = json_array();
        for (size_t i = 0; a && i < ws->n_ports; i++) {
                char spec[PORT_SPEC_STRING_MAX];
                port_spec_format(&ws->ports[i], spec);
                json_t *p = json_pack("{s:s, s:s, s:i, s:i, s:s}", "spec", spec, "host_ip", "127.0.0.1",
                                      "host_port", (int) ws->ports[i].host_port, "workspace_port",
                                      (int) ws->ports[i].workspace_port, "protocol", "tcp");
                if (json_array_append_new(a, p) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

static json_t *env_to_json(char *const *env)
{
        json_t *o = json_object();
        STRV_FOREACH(e, env) {
                const char *eq = strchr(*e, '=');
                _cleanup_free_ char *name = strndup(*e, (size_t) (eq - *e));
                if (!o || !name || json_object_set_new(o, name, json_string(eq + 1)) < 0) {
                        json_decref(o);
                        return NULL;
                }
        }
        return o;
}

static json_t *workspace_to_json(const EnclavefileWorkspace *ws)
{
        return json_pack("{s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                         "name", ws->name,
                         "key", ws->key,
                         "run", json_optional_string(ws->run),
                         "restart", run_restart_to_string(ws->restart) ?: "no",
                         "workspace_dir", json_optional_string(ws->workspace_dir),
                         "cpu_seconds", json_limit(ws->cpu_seconds),
                         "cpu_percent", json_limit(ws->cpu_percent),
                         "memory_mb", json_limit(ws->memory_mb),
                         "max_procs", json_limit(ws->max_procs),
                         "max_open_files", json_limit(ws->max_open_files),
                         "disk_mb", json_limit(ws->disk_mb),
                         "auth", json_strv(ws->auth),
                         "env_tokens", json_strv(ws->env_tokens),
                         "ports", ports_to_json(ws),
                         "env", env_to_json(ws->env));
}

json_t *enclavefile_to_json(const Enclavefile *ef)
{
        json_t *workspaces = json_array();
        for (size_t i = 0; workspaces && i < ef->n_workspaces; i++)
                if (json_array_append_new(workspaces, workspace_to_json(&ef->workspaces[i])) < 0) {
                        json_decref(workspaces);
                        return NULL;
                }
        /* json_pack steals "o" arguments even when it fails. */
        return json_pack("{s:o, s:s, s:o, s:o}",
                         "path", json_optional_string(ef->path ? ef->path : ef->display_name),
                         "base_dir", ef->base_dir,
                         "sandbox", sandbox_to_json(ef),
                         "workspaces", workspaces);
}

/* ---- human-readable listing ---- */

#define LABEL_WIDTH 18

static void put_row(StrBuf *b, const char *label, const char *value)
{
        strbuf_printf(b, "  %-*s %s\n", LABEL_WIDTH, label, value);
}

static void put_limit(StrBuf *b, const char *label, int64_t v, const char *unit)
{
        if (v > 0)
                strbuf_printf(b, "  %-*s %" PRId64 "%s%s\n", LABEL_WIDTH, label, v, unit ? " " : "", unit ? unit : "");
        else
                put_row(b, label, "unlimited");
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

static void format_sandbox(StrBuf *b, const Enclavefile *ef)
{
        const EnclavefileSandbox *sb = &ef->sandbox;
        char digest[SHA256_HEX_SIZE];
        size_t n = strv_length(sb->setup);

        enclavefile_setup_digest(ef, digest);
        strbuf_printf(b, "sandbox %s\n", sb->name);
        put_row(b, "suite", sb->suite);
        put_row(b, "bootstrap_method", sb->bootstrap_method);
        put_row(b, "mirror", sb->mirror);
        put_limit(b, "memory_mb", sb->memory_mb, "MiB");
        put_limit(b, "cpu_percent", sb->cpu_percent, "%");
        put_limit(b, "max_procs", sb->max_procs, NULL);
        strbuf_printf(b, "  %-*s %zu command%s (sha256 %.12s)\n", LABEL_WIDTH, "setup", n, n == 1 ? "" : "s", digest);
        for (size_t i = 0; i < n; i++)
                put_command(b, i + 1, sb->setup[i]);
}

static void format_workspace(StrBuf *b, const EnclavefileWorkspace *ws)
{
        strbuf_printf(b, "\nworkspace %s", ws->name);
        if (!streq(ws->name, ws->key))
                strbuf_printf(b, " (table workspace.%s)", ws->key);
        strbuf_putc(b, '\n');
        put_row(b, "run", ws->run ? ws->run : "(none: starts idle)");
        put_row(b, "restart", run_restart_to_string(ws->restart) ?: "no");
        put_row(b, "workspace_dir", ws->workspace_dir ? ws->workspace_dir : "(managed /home)");
        put_limit(b, "cpu_seconds", ws->cpu_seconds, "s");
        put_limit(b, "cpu_percent", ws->cpu_percent, "%");
        put_limit(b, "memory_mb", ws->memory_mb, "MiB");
        put_limit(b, "max_procs", ws->max_procs, NULL);
        put_limit(b, "max_open_files", ws->max_open_files, NULL);
        if (ws->workspace_dir)
                put_row(b, "disk_mb", "(not applicable with workspace_dir)");
        else
                put_limit(b, "disk_mb", ws->disk_mb, "MiB");
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
        if (ws->env_file)
                put_row(b, "env_file", ws->env_file);
        put_list(b, "env", ws->env, "(none)");
}

char *enclavefile_format(const Enclavefile *ef)
{
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        strbuf_printf(&b, "%s: valid\nbase directory: %s\n\n", ef->path ? ef->path : ef->display_name, ef->base_dir);
        format_sandbox(&b, ef);
        for (size_t i = 0; i < ef->n_workspaces; i++)
                format_workspace(&b, &ef->workspaces[i]);
        if (ef->n_workspaces == 0)
                strbuf_puts(&b, "\n(no workspaces)\n");
        return strbuf_steal(&b);
}
