/* Loading and validating an Enclavefile. The document is walked once;
 * every key is checked on the spot and every problem recorded, then
 * the cross-table rules (unique names, unique host ports) are applied
 * as each workspace completes. */
#include "config/enclavefile.h"
#include "config/envfile.h"
#include "config/reader.h"
#include "spec/host-path.h"
#include "base/fs.h"
#include "base/str.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

static const char *const top_keys[] = { "sandbox", "workspace", NULL };

/* The keys of each table; "" stands for the limits of its scope
 * (spec/limits.h). */
static const char *const sandbox_fixed_keys[] = {
        "name", "suite", "bootstrap_method", "mirror", "", "setup", NULL,
};

static const char *const workspace_fixed_keys[] = {
        "name", "run", "restart", "workspace_dir", "path", "", "auth", "env_tokens", "ports", "env", "env_file", NULL,
};

#define TABLE_KEYS_MAX (ELEMENTSOF(workspace_fixed_keys) + N_LIMITS)

/* The first user of each host port, to name it when a port repeats. */
typedef struct PortOwner {
        const char *workspace; /* table key, points into the document */
        TomlPos pos;
} PortOwner;

typedef struct Loader {
        ConfigReader r;
        const char *base_dir;
        const char *sandbox_keys[TABLE_KEYS_MAX];   /* every valid key, for suggestions */
        const char *workspace_keys[TABLE_KEYS_MAX];
        PortOwner *ports; /* indexed by host port; calloc'ed 65536 */
        TomlPos *name_pos; /* per workspace, where its name was set */
} Loader;

/* Per-workspace facts needed by rules spanning several keys. */
typedef struct WorkspaceScratch {
        const char *dir_key;    /* "workspace_dir" or "path" when one was given */
        TomlPos dir_pos;
        bool has_disk;
        TomlPos disk_pos;
        bool has_name;
        TomlPos name_pos;
} WorkspaceScratch;

static void oom(Loader *l)
{
        l->r.oom = true;
        l->r.diag->oom = true;
}

static char *path_of(Loader *l, const char *table, const char *key)
{
        char *p = reader_key_path(table, key);
        if (!p)
                oom(l);
        return p;
}

static void table_keys(const char *const *fixed, unsigned scope, const char **ret)
{
        size_t n = 0;
        for (; *fixed; fixed++) {
                if (**fixed) {
                        ret[n++] = *fixed;
                        continue;
                }
                LIMIT_FOREACH(d)
                        if (d->scopes & scope)
                                ret[n++] = d->key;
        }
        ret[n] = NULL;
}

/* A limit of the table's scope (spec/limits.h): a whole number, or for
 * a DECIMAL one any number with up to three decimal places. */
static void read_limit(Loader *l, const LimitDef *d, const TomlValue *v, const char *path, Limits *limits)
{
        int64_t n;
        if (d->kind == LIMIT_INTEGER) {
                if (reader_int(&l->r, v, d->key, path, d->min, d->max, d->unit, &n))
                        limit_set(limits, d, n);
                return;
        }
        if (v->type != TOML_INTEGER && v->type != TOML_FLOAT) {
                reader_problem(&l->r, v->pos, path, "'%s' must be a number, got %s%s", d->key,
                               toml_type_name(v->type), v->type == TOML_STRING ? "; write the number without quotes" : "");
                return;
        }
        double x = v->type == TOML_INTEGER ? (double) v->integer : v->flt;
        char range[2 * LIMIT_TEXT_MAX];
        int r = limit_from_double(d, x, &n);
        if (r == -ERANGE)
                reader_problem(&l->r, v->pos, path, "'%s' must be between %s (%s), got %g", d->key,
                               limit_range_text(d, range), d->unit, x);
        else if (r < 0)
                reader_problem(&l->r, v->pos, path, "'%s' has more than three decimal places: %g", d->key, x);
        else
                limit_set(limits, d, n);
}

static void read_choice(Loader *l, const TomlValue *v, const char *key, const char *path,
                        const char *const *choices, char **ret)
{
        (void) reader_choice(&l->r, v, key, path, choices, ret);
}

static void read_name(Loader *l, const TomlValue *v, const char *what, const char *path, char **ret)
{
        _cleanup_free_ char *s = NULL;
        if (!reader_string(&l->r, v, "name", path, 256, &s))
                return;
        if (!name_is_valid(s)) {
                char shown[PRINTABLE_MAX];
                reader_problem(&l->r, v->pos, path,
                               "%s name '%s' is not valid: use 1-63 letters, digits, '_' and '-', starting with a letter or digit",
                               what, printable(s, shown));
                return;
        }
        free(*ret);
        *ret = TAKE_PTR(s);
}

static bool is_blank(const char *s)
{
        for (; *s; s++)
                if (!strchr(" \t\r\n", *s))
                        return false;
        return true;
}

/* An array whose items each pass check(); each becomes one strv entry. */
typedef bool (*ItemCheck)(Loader *l, const TomlValue *item, const char *key, const char *path, char ***list);

static void read_list(Loader *l, const TomlValue *v, const char *key, const char *path, ItemCheck check,
                      char ***list)
{
        if (!reader_expect(&l->r, v, TOML_ARRAY, key, path))
                return;
        size_t n = toml_array_size(v);
        if (n > SPEC_MAX_LIST) {
                reader_problem(&l->r, v->pos, path, "'%s' has %zu entries; at most %u are allowed", key, n,
                               SPEC_MAX_LIST);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                const TomlValue *item = toml_array_get(v, i);
                if (item->type != TOML_STRING) {
                        reader_problem(&l->r, item->pos, path, "each entry of '%s' must be a string, got %s", key,
                                       toml_type_name(item->type));
                        continue;
                }
                (void) check(l, item, key, path, list);
        }
}

static bool push_item(Loader *l, char ***list, const char *s)
{
        if (strv_push(list, s) < 0) {
                oom(l);
                return false;
        }
        return true;
}

static bool check_setup_item(Loader *l, const TomlValue *item, const char *key, const char *path, char ***list)
{
        _cleanup_free_ char *s = NULL;
        if (!reader_string(&l->r, item, "setup command", path, SPEC_MAX_STRING, &s))
                return false;
        if (is_blank(s)) {
                reader_problem(&l->r, item->pos, path, "empty command in 'setup'; remove it");
                return false;
        }
        return push_item(l, list, s);
}

static bool check_auth_item(Loader *l, const TomlValue *item, const char *key, const char *path, char ***list)
{
        _cleanup_free_ char *s = NULL;
        read_choice(l, item, "auth provider", path, auth_providers, &s);
        if (!s)
                return false;
        if (strv_contains(*list, s)) {
                reader_problem(&l->r, item->pos, path, "auth provider '%s' is listed twice; remove one", s);
                return false;
        }
        return push_item(l, list, s);
}

static bool check_token_item(Loader *l, const TomlValue *item, const char *key, const char *path, char ***list)
{
        _cleanup_free_ char *s = NULL;
        char shown[PRINTABLE_MAX];
        if (!reader_string(&l->r, item, "env_tokens entry", path, 256, &s))
                return false;
        if (!auth_token_provider(s)) {
                static const char *const names[] = { "ENCLAVE_TOKEN", "GITHUB_TOKEN", "GH_TOKEN", "NPM_TOKEN" };
                const char *best = closest_match(s, names, ELEMENTSOF(names));
                if (best)
                        reader_problem(&l->r, item->pos, path, "unknown token variable '%s' in 'env_tokens'; did you mean '%s'?",
                                       printable(s, shown), best);
                else
                        reader_problem(&l->r, item->pos, path,
                                       "unknown token variable '%s' in 'env_tokens'; the providers define: %s",
                                       printable(s, shown), auth_token_names_list());
                return false;
        }
        if (strv_contains(*list, s)) {
                reader_problem(&l->r, item->pos, path, "token variable '%s' is listed twice in 'env_tokens'; remove one",
                               s);
                return false;
        }
        return push_item(l, list, s);
}

/* ---- [sandbox] ---- */

static void parse_sandbox(Loader *l, const TomlValue *t, Enclavefile *ef)
{
        SandboxSpec *sb = &ef->sandbox;
        ef->sandbox_pos = (EnclavefilePos) { t->pos.line, t->pos.col };
        if (!reader_expect(&l->r, t, TOML_TABLE, "sandbox", "sandbox"))
                return;
        for (size_t i = 0; i < toml_table_size(t); i++) {
                TomlPos kpos;
                const char *key = toml_table_key(t, i, &kpos);
                const TomlValue *v = toml_table_value(t, i);
                _cleanup_free_ char *path = path_of(l, "sandbox", key);
                const LimitDef *lim = limit_find(key);

                if (lim && (lim->scopes & LIMIT_SANDBOX))
                        read_limit(l, lim, v, path, &sb->caps);
                else if (streq(key, "name"))
                        read_name(l, v, "sandbox", path, &sb->name);
                else if (streq(key, "suite"))
                        read_choice(l, v, "suite", path, debian_suites, &sb->suite);
                else if (streq(key, "bootstrap_method"))
                        read_choice(l, v, "bootstrap_method", path, bootstrap_methods, &sb->bootstrap_method);
                else if (streq(key, "mirror")) {
                        _cleanup_error_ Error e = ERROR_INIT;
                        _cleanup_free_ char *s = NULL;
                        if (!reader_string(&l->r, v, "mirror", path, 4096, &s))
                                continue;
                        if (mirror_url_check(s, &e) < 0) {
                                reader_problem(&l->r, v->pos, path, "'mirror' %s", error_msg(&e));
                                continue;
                        }
                        free(sb->mirror);
                        sb->mirror = TAKE_PTR(s);
                } else if (streq(key, "setup"))
                        read_list(l, v, "setup", path, check_setup_item, &sb->setup);
                else
                        reader_unknown_key(&l->r, key, kpos, "[sandbox]", path, l->sandbox_keys);
        }
        if (!sb->name && !toml_table_get(t, "name"))
                reader_problem(&l->r, t->pos, "sandbox.name",
                               "[sandbox] has no 'name'; add a line like name = \"my-sandbox\"");
}

/* ---- [workspace.<key>] ---- */

static void read_ports(Loader *l, const TomlValue *v, const char *ws_key, const char *path, WorkspaceSpec *ws)
{
        if (!reader_expect(&l->r, v, TOML_ARRAY, "ports", path))
                return;
        size_t n = toml_array_size(v);
        if (n > SPEC_MAX_LIST) {
                reader_problem(&l->r, v->pos, path, "'ports' has %zu entries; at most %u are allowed", n,
                               SPEC_MAX_LIST);
                return;
        }
        free(ws->ports);
        ws->n_ports = 0;
        ws->ports = calloc(n ? n : 1, sizeof *ws->ports);
        if (!ws->ports) {
                oom(l);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                const TomlValue *item = toml_array_get(v, i);
                _cleanup_error_ Error e = ERROR_INIT;
                char shown[PRINTABLE_MAX];
                PortSpec p;
                if (item->type != TOML_STRING) {
                        reader_problem(&l->r, item->pos, path,
                                       "each entry of 'ports' must be a string like \"127.0.0.1:8080:80/tcp\", got %s",
                                       toml_type_name(item->type));
                        continue;
                }
                if (strlen(item->str.s) != item->str.len || port_spec_parse(item->str.s, &p, &e) < 0) {
                        reader_problem(&l->r, item->pos, path, "port '%s' %s", printable(item->str.s, shown),
                                       e.msg ? e.msg : "must not contain NUL characters");
                        continue;
                }
                PortOwner *owner = &l->ports[p.host_port];
                if (owner->workspace) {
                        reader_problem(&l->r, item->pos, path,
                                       "host port %u is already published by workspace '%s' at %s:%u:%u; each host port can be published once",
                                       p.host_port, printable(owner->workspace, shown), l->r.file, owner->pos.line,
                                       owner->pos.col);
                        continue;
                }
                *owner = (PortOwner) { ws_key, item->pos };
                ws->ports[ws->n_ports++] = p;
        }
}

static bool is_token_variable(const char *name)
{
        return auth_token_provider(name) != NULL;
}

static void read_env(Loader *l, const TomlValue *v, const char *path, WorkspaceSpec *ws)
{
        if (!reader_expect(&l->r, v, TOML_TABLE, "env", path))
                return;
        size_t n = toml_table_size(v);
        if (n > SPEC_MAX_LIST) {
                reader_problem(&l->r, v->pos, path, "'env' has %zu variables; at most %u are allowed", n,
                               SPEC_MAX_LIST);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                TomlPos kpos;
                const char *name = toml_table_key(v, i, &kpos);
                const TomlValue *val = toml_table_value(v, i);
                _cleanup_free_ char *vpath = path_of(l, path, name);
                _cleanup_free_ char *s = NULL, *entry = NULL;
                char shown[PRINTABLE_MAX];

                if (!env_name_is_valid(name)) {
                        reader_problem(&l->r, kpos, vpath,
                                       "'%s' in 'env' is not a valid variable name: use letters, digits and '_', not starting with a digit",
                                       printable(name, shown));
                        continue;
                }
                if (is_token_variable(name)) {
                        reader_problem(&l->r, kpos, vpath,
                                       "'%s' is a token variable and must not be written into the Enclavefile; store it with 'enclave auth login %s' and list it in 'env_tokens'",
                                       name, auth_token_provider(name));
                        continue;
                }
                if (startswith(name, "ENCLAVE_")) {
                        reader_problem(&l->r, kpos, vpath, "'%s' in 'env': names starting with ENCLAVE_ are reserved for Enclave",
                                       name);
                        continue;
                }
                if (val->type != TOML_STRING) {
                        reader_problem(&l->r, val->pos, vpath, "'env.%s' must be a string, got %s; put the value in quotes",
                                       name, toml_type_name(val->type));
                        continue;
                }
                if (!reader_string(&l->r, val, name, vpath, SPEC_MAX_STRING - strlen(name) - 1, &s))
                        continue;
                if (asprintf(&entry, "%s=%s", name, s) < 0) {
                        entry = NULL;
                        oom(l);
                        return;
                }
                if (strv_consume(&ws->env, TAKE_PTR(entry)) < 0)
                        oom(l);
        }
}

static void read_dir(Loader *l, const TomlValue *v, const char *key, const char *path, WorkspaceScratch *sc,
                     WorkspaceSpec *ws)
{
        _cleanup_free_ char *raw = NULL, *joined = NULL;
        char shown[PRINTABLE_MAX];

        if (sc->dir_key) {
                reader_problem(&l->r, v->pos, path,
                               "'%s' and '%s' are the same setting (path is an alias of workspace_dir); keep one",
                               key, sc->dir_key);
                return;
        }
        sc->dir_key = key;
        sc->dir_pos = v->pos;
        if (!reader_string(&l->r, v, key, path, PATH_MAX - 1, &raw))
                return;
        if (is_blank(raw)) {
                reader_problem(&l->r, v->pos, path, "'%s' is empty; name a directory, or remove the key for a managed /home",
                               key);
                return;
        }
        const char *rel = raw;
        while (rel[0] == '.' && rel[1] == '/')
                for (rel += 2; *rel == '/'; rel++)
                        ;
        joined = raw[0] == '/' ? strdup(raw) : path_join(l->base_dir, *rel ? rel : ".");
        if (!joined) {
                oom(l);
                return;
        }
        _cleanup_free_ char *canon = realpath(joined, NULL);
        struct stat st;
        if (!canon || stat(canon, &st) < 0) {
                int e = errno;
                if (e == ENOENT)
                        reader_problem(&l->r, v->pos, path, "'%s' '%s' does not exist (looked for %s); create it or fix the path",
                                       key, printable(raw, shown), joined);
                else if (e == ENOTDIR)
                        reader_problem(&l->r, v->pos, path, "'%s' '%s' is not a directory", key, printable(raw, shown));
                else
                        reader_problem(&l->r, v->pos, path, "'%s' '%s' cannot be used: %s", key, printable(raw, shown),
                                       strerror(e));
                return;
        }
        if (!S_ISDIR(st.st_mode)) {
                reader_problem(&l->r, v->pos, path, "'%s' '%s' is not a directory", key, printable(raw, shown));
                return;
        }
        if (streq(canon, "/")) {
                reader_problem(&l->r, v->pos, path,
                               "'%s' resolves to the host's root directory; name a project directory instead", key);
                return;
        }
        /* A relative path is a project path: it stays below the
         * Enclavefile's directory, also after symlinks. Anything else must
         * be written as an absolute path, on purpose. */
        _cleanup_free_ char *project = raw[0] == '/' ? NULL : realpath(l->base_dir, NULL);
        if (raw[0] != '/' && (!project || !hostdir_path_within(canon, project))) {
                reader_problem(&l->r, v->pos, path,
                               "'%s' '%s' leaves the project directory (it resolves to %s); a relative path must stay "
                               "below %s, write another directory as an absolute path",
                               key, printable(raw, shown), canon, project ? project : l->base_dir);
                return;
        }
        _cleanup_error_ Error perr = ERROR_INIT;
        if (hostdir_check_path(canon, &perr) < 0) {
                reader_problem(&l->r, v->pos, path, "'%s' '%s' cannot be used: %s", key, printable(raw, shown),
                               error_msg(&perr));
                return;
        }
        free(ws->workspace_dir);
        ws->workspace_dir = TAKE_PTR(canon);
}

static void workspace_key(Loader *l, const char *key, TomlPos kpos, const TomlValue *v, const char *ws_key,
                          const char *table, WorkspaceScratch *sc, WorkspaceSpec *ws, EnclavefileTable *t)
{
        _cleanup_free_ char *path = path_of(l, table, key);
        const LimitDef *lim = limit_find(key);

        if (lim && (lim->scopes & LIMIT_WORKSPACE)) {
                if (streq(key, "disk_mb")) {
                        sc->has_disk = true;
                        sc->disk_pos = v->pos;
                }
                read_limit(l, lim, v, path, &ws->limits);
        } else if (streq(key, "name")) {
                sc->has_name = true;
                sc->name_pos = v->pos;
                read_name(l, v, "workspace", path, &ws->name);
        } else if (streq(key, "run")) {
                if (reader_string(&l->r, v, "run", path, SPEC_MAX_STRING, &ws->run) && is_blank(ws->run)) {
                        reader_problem(&l->r, v->pos, path, "'run' is empty; remove it to start the workspace idle");
                        free(ws->run);
                        ws->run = NULL;
                }
        } else if (streq(key, "restart")) {
                _cleanup_free_ char *s = NULL;
                if (reader_string(&l->r, v, "restart", path, 32, &s) &&
                    (ws->restart = run_restart_from_string(s)) == _RUN_RESTART_INVALID) {
                        reader_problem(&l->r, v->pos, path, "'restart' must be \"no\", \"on-failure\" or \"always\", "
                                       "got \"%s\"", s);
                        ws->restart = RUN_RESTART_NO;
                }
        } else if (streq(key, "workspace_dir") || streq(key, "path"))
                read_dir(l, v, streq(key, "path") ? "path" : "workspace_dir", path, sc, ws);
        else if (streq(key, "auth"))
                read_list(l, v, "auth", path, check_auth_item, &ws->auth);
        else if (streq(key, "env_tokens"))
                read_list(l, v, "env_tokens", path, check_token_item, &ws->env_tokens);
        else if (streq(key, "ports"))
                read_ports(l, v, ws_key, path, ws);
        else if (streq(key, "env"))
                read_env(l, v, path, ws);
        else if (streq(key, "env_file")) {
                /* Read by enclavefile_load(), relative to the file's directory. */
                if (reader_string(&l->r, v, "env_file", path, PATH_MAX - 1, &t->env_file) && !t->env_file[0]) {
                        reader_problem(&l->r, v->pos, path, "'env_file' is empty; name a file such as \".env\"");
                        free(t->env_file);
                        t->env_file = NULL;
                }
                t->env_file_pos = (EnclavefilePos) { v->pos.line, v->pos.col };
        } else {
                _cleanup_free_ char *where = NULL;
                if (asprintf(&where, "[%s]", table) < 0) {
                        oom(l);
                        return;
                }
                reader_unknown_key(&l->r, key, kpos, where, path, l->workspace_keys);
        }
}

static void check_unique_name(Loader *l, const Enclavefile *ef, size_t idx)
{
        const WorkspaceSpec *ws = &ef->workspaces[idx];
        if (!ws->name)
                return;
        for (size_t i = 0; i < idx; i++) {
                if (!ef->workspaces[i].name || !streq(ef->workspaces[i].name, ws->name))
                        continue;
                _cleanup_free_ char *path = path_of(l, "workspace", ef->tables[idx].key);
                reader_problem(&l->r, l->name_pos[idx], path,
                               "workspace name '%s' is already used at %s:%u:%u; workspace names must be unique",
                               ws->name, l->r.file, l->name_pos[i].line, l->name_pos[i].col);
                return;
        }
}

static void parse_workspace(Loader *l, const char *key, TomlPos kpos, const TomlValue *t, Enclavefile *ef)
{
        WorkspaceSpec *ws = &ef->workspaces[ef->n_workspaces];
        EnclavefileTable *tab = &ef->tables[ef->n_workspaces++];
        WorkspaceScratch sc = {};
        char shown[PRINTABLE_MAX];
        _cleanup_free_ char *table = path_of(l, "workspace", key);

        tab->pos = (EnclavefilePos) { kpos.line, kpos.col };
        tab->key = strdup(key);
        if (!tab->key || !table) {
                oom(l);
                return;
        }
        if (!reader_expect(&l->r, t, TOML_TABLE, table, table))
                return;
        for (size_t i = 0; i < toml_table_size(t); i++) {
                TomlPos p;
                const char *k = toml_table_key(t, i, &p);
                workspace_key(l, k, p, toml_table_value(t, i), key, table, &sc, ws, tab);
        }

        if (sc.has_disk && sc.dir_key)
                reader_problem(&l->r, sc.disk_pos, "disk_mb",
                               "'disk_mb' cannot be combined with '%s' (line %u): the quota applies to the managed /home only; remove one",
                               sc.dir_key, sc.dir_pos.line);

        if (!sc.has_name) {
                if (!name_is_valid(key))
                        reader_problem(&l->r, kpos, table,
                                       "workspace key '%s' is not a valid workspace name (1-63 letters, digits, '_' and '-', starting with a letter or digit); rename the table or set name = \"...\"",
                                       printable(key, shown));
                else if (!(ws->name = strdup(key)))
                        oom(l);
        }
        l->name_pos[ef->n_workspaces - 1] = sc.has_name ? sc.name_pos : kpos;
        check_unique_name(l, ef, ef->n_workspaces - 1);
}

static void parse_workspaces(Loader *l, const TomlValue *t, Enclavefile *ef)
{
        if (t->type == TOML_ARRAY) {
                reader_problem(&l->r, t->pos, "workspace",
                               "[[workspace]] is not supported; write one [workspace.<name>] table per workspace");
                return;
        }
        if (t->type != TOML_TABLE) {
                reader_problem(&l->r, t->pos, "workspace",
                               "'workspace' must be a table of [workspace.<name>] tables, got %s", toml_type_name(t->type));
                return;
        }
        size_t n = toml_table_size(t);
        if (n > ENCLAVEFILE_MAX_WORKSPACES) {
                TomlPos p;
                (void) toml_table_key(t, ENCLAVEFILE_MAX_WORKSPACES, &p);
                reader_problem(&l->r, p, "workspace", "too many workspaces (%zu); at most %u are allowed", n,
                               ENCLAVEFILE_MAX_WORKSPACES);
                n = ENCLAVEFILE_MAX_WORKSPACES;
        }
        ef->workspaces = calloc(n ? n : 1, sizeof *ef->workspaces);
        ef->tables = calloc(n ? n : 1, sizeof *ef->tables);
        l->name_pos = calloc(n ? n : 1, sizeof *l->name_pos);
        if (!ef->workspaces || !ef->tables || !l->name_pos) {
                oom(l);
                return;
        }
        for (size_t i = 0; i < n && !l->r.oom; i++) {
                TomlPos kpos;
                const char *key = toml_table_key(t, i, &kpos);
                parse_workspace(l, key, kpos, toml_table_value(t, i), ef);
        }
}

/* ---- the document ---- */

static void unknown_top_level(Loader *l, const char *key, TomlPos kpos, const TomlValue *v)
{
        char shown[PRINTABLE_MAX];
        _cleanup_free_ char *path = path_of(l, NULL, key);
        const char *best = closest_match(key, top_keys, ELEMENTSOF(top_keys) - 1);

        if (v->type == TOML_TABLE && best)
                reader_problem(&l->r, kpos, path, "unknown table [%s]; did you mean [%s]?", printable(key, shown), best);
        else if (v->type == TOML_TABLE)
                reader_problem(&l->r, kpos, path,
                               "unknown table [%s]; an Enclavefile has a [sandbox] table and [workspace.<name>] tables",
                               printable(key, shown));
        else if (strv_contains((char *const *) l->sandbox_keys, key) || strv_contains((char *const *) l->workspace_keys, key))
                reader_problem(&l->r, kpos, path,
                               "key '%s' is outside any table; move it below [sandbox] or a [workspace.<name>] header",
                               key);
        else
                reader_problem(&l->r, kpos, path,
                               "unknown key '%s' at the top level; an Enclavefile has a [sandbox] table and [workspace.<name>] tables",
                               printable(key, shown));
}

static void fill_defaults(Loader *l, SandboxSpec *sb)
{
        if (!sb->suite)
                sb->suite = strdup(DEFAULT_SUITE);
        if (!sb->bootstrap_method)
                sb->bootstrap_method = strdup(DEFAULT_BOOTSTRAP_METHOD);
        if (!sb->mirror)
                sb->mirror = strdup(DEFAULT_MIRROR);
        if (!sb->setup)
                sb->setup = calloc(1, sizeof(char *));
        if (!sb->suite || !sb->bootstrap_method || !sb->mirror || !sb->setup)
                oom(l);
}

static void fill_workspace_defaults(Loader *l, WorkspaceSpec *ws)
{
        if (!ws->auth)
                ws->auth = calloc(1, sizeof(char *));
        if (!ws->env_tokens)
                ws->env_tokens = calloc(1, sizeof(char *));
        if (!ws->env)
                ws->env = calloc(1, sizeof(char *));
        if (!ws->auth || !ws->env_tokens || !ws->env)
                oom(l);
}

static void parse_document(Loader *l, const TomlValue *root, Enclavefile *ef)
{
        const TomlValue *sandbox = NULL;
        for (size_t i = 0; i < toml_table_size(root) && !l->r.oom; i++) {
                TomlPos kpos;
                const char *key = toml_table_key(root, i, &kpos);
                const TomlValue *v = toml_table_value(root, i);
                if (streq(key, "sandbox")) {
                        sandbox = v;
                        parse_sandbox(l, v, ef);
                } else if (streq(key, "workspace"))
                        parse_workspaces(l, v, ef);
                else
                        unknown_top_level(l, key, kpos, v);
        }
        if (!sandbox)
                reader_problem(&l->r, (TomlPos) { 1, 1 }, "sandbox",
                               "no [sandbox] table; add one with at least name = \"my-sandbox\" (see 'enclave init')");
        fill_defaults(l, &ef->sandbox);
        for (size_t i = 0; i < ef->n_workspaces; i++)
                fill_workspace_defaults(l, &ef->workspaces[i]);
}

static int enclavefile_new(const char *display_name, const char *base_dir, Enclavefile **ret)
{
        Enclavefile *ef = calloc(1, sizeof *ef);
        if (!ef)
                return -ENOMEM;
        ef->display_name = strdup(display_name);
        ef->base_dir = strdup(base_dir);
        if (!ef->display_name || !ef->base_dir) {
                enclavefile_free(ef);
                return -ENOMEM;
        }
        *ret = ef;
        return 0;
}

int enclavefile_parse_buffer(const char *data, size_t len, const char *display_name, const char *base_dir,
                             Enclavefile **ret, Diagnostics *diag)
{
        Loader l = {
                .r = { .file = display_name, .diag = diag },
                .base_dir = base_dir,
        };
        table_keys(sandbox_fixed_keys, LIMIT_SANDBOX, l.sandbox_keys);
        table_keys(workspace_fixed_keys, LIMIT_WORKSPACE, l.workspace_keys);
        _cleanup_toml_ TomlValue *root = NULL;
        _cleanup_enclavefile_ Enclavefile *ef = NULL;

        if (len > ENCLAVEFILE_MAX_SIZE) {
                diagnostics_add(diag, display_name, 0, 0, NULL, "is larger than %u KiB; an Enclavefile is small",
                                ENCLAVEFILE_MAX_SIZE / 1024);
                return -EFBIG;
        }
        int r = reader_parse(&l.r, data, len, &root);
        if (r < 0)
                return r;
        r = enclavefile_new(display_name, base_dir, &ef);
        if (r < 0)
                return r;
        l.ports = calloc(UINT16_MAX + 1, sizeof *l.ports);
        if (!l.ports)
                return -ENOMEM;

        size_t first = diag->n;
        parse_document(&l, root, ef);
        diagnostics_sort(diag, first);
        free(l.ports);
        free(l.name_pos);
        if (l.r.oom)
                return -ENOMEM;
        if (l.r.problems > 0)
                return -EINVAL;
        *ret = TAKE_PTR(ef);
        return 0;
}

/* Read a regular file only: a FIFO or device must not hang validate. */
static int read_config_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        return read_full_fd(fd, max, ret, ret_len);
}

/* The variables of each workspace's env_file go before its env table,
 * whose values win (as in docker compose). */
static int merge_env(WorkspaceSpec *ws, char **file_env)
{
        _cleanup_strv_free_ char **merged = NULL;
        STRV_FOREACH(e, file_env) {
                size_t n = (size_t) (strchr(*e, '=') - *e) + 1;
                bool overridden = false;
                STRV_FOREACH(w, ws->env)
                        overridden |= strncmp(*w, *e, n) == 0;
                if (!overridden && strv_push(&merged, *e) < 0)
                        return -ENOMEM;
        }
        STRV_FOREACH(w, ws->env)
                if (strv_push(&merged, *w) < 0)
                        return -ENOMEM;
        if (strv_length(merged) > SPEC_MAX_LIST)
                return -E2BIG;
        if (!merged && !(merged = calloc(1, sizeof(char *))))
                return -ENOMEM;
        strv_free(ws->env);
        ws->env = TAKE_PTR(merged);
        return 0;
}

static int load_env_files(Enclavefile *ef, const char *display_path, Diagnostics *diag)
{
        _cleanup_free_ char *shown_dir = strdup(display_path);
        if (!shown_dir)
                return -ENOMEM;
        char *slash = strrchr(shown_dir, '/');
        if (slash)
                slash[1] = 0;
        else
                shown_dir[0] = 0;
        int r = 0;
        for (size_t i = 0; i < ef->n_workspaces; i++) {
                WorkspaceSpec *ws = &ef->workspaces[i];
                const EnclavefileTable *t = &ef->tables[i];
                if (!t->env_file)
                        continue;
                bool absolute = t->env_file[0] == '/';
                _cleanup_free_ char *full = absolute ? strdup(t->env_file) : path_join(ef->base_dir, t->env_file);
                _cleanup_free_ char *shown = NULL;
                if (!full || asprintf(&shown, "%s%s", absolute ? "" : shown_dir, t->env_file) < 0)
                        return -ENOMEM;
                /* A relative env_file is a project file, as a relative
                 * workspace_dir is a project directory: it stays below
                 * the Enclavefile's directory, also after symlinks (root
                 * bringing up someone's project reads it as root). */
                _cleanup_free_ char *project = absolute ? NULL : realpath(ef->base_dir, NULL);
                const char *within = absolute ? NULL : project ? project : ef->base_dir;
                _cleanup_strv_free_ char **file_env = NULL;
                int k = envfile_load(full, shown, within, display_path, t->env_file_pos.line, t->env_file_pos.col,
                                     diag, &file_env);
                if (k == -ENOMEM)
                        return k;
                if (k >= 0 && (k = merge_env(ws, file_env)) == -E2BIG)
                        diagnostics_add(diag, display_path, t->env_file_pos.line, t->env_file_pos.col, NULL,
                                        "env and env_file '%s' have more than %u variables together", shown,
                                        SPEC_MAX_LIST);
                if (k < 0)
                        r = k == -ENOMEM ? k : -EINVAL;
        }
        return r;
}

int enclavefile_load(const char *path, Enclavefile **ret, Diagnostics *diag)
{
        _cleanup_free_ char *data = NULL, *abs = NULL, *dir = NULL;
        size_t len;
        int r = read_config_file(path, ENCLAVEFILE_MAX_SIZE, &data, &len);
        if (r == -EFBIG)
                diagnostics_add(diag, path, 0, 0, NULL, "is larger than %u KiB; an Enclavefile is small",
                                ENCLAVEFILE_MAX_SIZE / 1024);
        else if (r == -EBADFD)
                diagnostics_add(diag, path, 0, 0, NULL, "is not a regular file");
        else if (r == -ENOENT)
                diagnostics_add(diag, path, 0, 0, NULL, "not found");
        else if (r < 0)
                diagnostics_add(diag, path, 0, 0, NULL, "cannot be read: %s", strerror(-r));
        if (r < 0)
                return r;

        abs = realpath(path, NULL);
        if (!abs)
                return -errno;
        char *slash = strrchr(abs, '/');
        dir = slash == abs ? strdup("/") : strndup(abs, (size_t) (slash - abs));
        if (!dir)
                return -ENOMEM;

        _cleanup_enclavefile_ Enclavefile *ef = NULL;
        r = enclavefile_parse_buffer(data, len, path, dir, &ef, diag);
        if (r >= 0)
                r = load_env_files(ef, path, diag);
        if (r < 0)
                return r;
        ef->path = TAKE_PTR(abs);
        *ret = TAKE_PTR(ef);
        return 0;
}

Enclavefile *enclavefile_free(Enclavefile *ef)
{
        if (!ef)
                return NULL;
        free(ef->display_name);
        free(ef->path);
        free(ef->base_dir);
        sandbox_spec_done(&ef->sandbox);
        for (size_t i = 0; i < ef->n_workspaces; i++) {
                workspace_spec_done(&ef->workspaces[i]);
                if (ef->tables) {
                        free(ef->tables[i].key);
                        free(ef->tables[i].env_file);
                }
        }
        free(ef->workspaces);
        free(ef->tables);
        free(ef);
        return NULL;
}

const WorkspaceSpec *enclavefile_find_workspace(const Enclavefile *ef, const char *name)
{
        for (size_t i = 0; i < ef->n_workspaces; i++)
                if (ef->workspaces[i].name && streq(ef->workspaces[i].name, name))
                        return &ef->workspaces[i];
        return NULL;
}
