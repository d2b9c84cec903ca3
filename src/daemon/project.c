/* The plan of `enclave up` (project.h): the desired state rebuilt from
 * the request, normalised workspace definitions and the pure decision
 * of what to change. */
#include "daemon/project.h"
#include "daemon/registry-sandbox.h"
#include "base/str.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

/* ---- reading the request ---- */

/* The path of the member being read, for messages. */
typedef struct JsonReader {
        Error *err;
        char where[96];
} JsonReader;

static int bad(JsonReader *jr, const char *key, const char *fmt, ...) _printf_(3, 4);
static int bad(JsonReader *jr, const char *key, const char *fmt, ...)
{
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        return error_set(jr->err, EINVAL, "invalid project configuration: %s%s%s: %s", jr->where,
                         *jr->where ? "." : "", key, msg);
}

static int read_string(JsonReader *jr, json_t *obj, const char *key, bool required, size_t max, char **ret)
{
        json_t *v = json_object_get(obj, key);
        if (!v || json_is_null(v)) {
                if (required)
                        return bad(jr, key, "missing");
                *ret = NULL;
                return 0;
        }
        if (!json_is_string(v))
                return bad(jr, key, "not a string");
        size_t n = json_string_length(v);
        if (n > max)
                return bad(jr, key, "longer than %zu bytes", max);
        if (strlen(json_string_value(v)) != n)
                return bad(jr, key, "contains a NUL byte");
        *ret = strdup(json_string_value(v));
        return *ret ? 0 : error_set(jr->err, ENOMEM, "out of memory");
}

/* A limit: null/absent = unset (0), else an integer in [min, max]. */
static int read_limit(JsonReader *jr, json_t *obj, const char *key, int64_t min, int64_t max, int64_t *ret)
{
        json_t *v = json_object_get(obj, key);
        *ret = 0;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_integer(v))
                return bad(jr, key, "not an integer");
        json_int_t n = json_integer_value(v);
        if (n < min || n > max)
                return bad(jr, key, "%lld is out of range %lld..%lld", (long long) n, (long long) min,
                           (long long) max);
        *ret = n;
        return 0;
}

typedef bool (*ItemValid)(const char *s);

static bool any_string(const char *s)
{
        return true;
}

static bool token_name_known(const char *s)
{
        return auth_token_provider(s) != NULL;
}

static int read_strv(JsonReader *jr, json_t *obj, const char *key, ItemValid valid, char ***ret)
{
        json_t *v = json_object_get(obj, key);
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        if (!l)
                return error_set(jr->err, ENOMEM, "out of memory");
        if (v && !json_is_null(v)) {
                if (!json_is_array(v))
                        return bad(jr, key, "not an array");
                if (json_array_size(v) > ENCLAVEFILE_MAX_LIST)
                        return bad(jr, key, "more than %u entries", ENCLAVEFILE_MAX_LIST);
                size_t i;
                json_t *item;
                json_array_foreach(v, i, item) {
                        const char *s = json_string_value(item);
                        if (!s || strlen(s) != json_string_length(item) || json_string_length(item) > ENCLAVEFILE_MAX_STRING)
                                return bad(jr, key, "entry %zu is not a string (or too long)", i);
                        if (!valid(s))
                                return bad(jr, key, "entry '%s' is not accepted", s);
                        if (strv_push(&l, s) < 0)
                                return error_set(jr->err, ENOMEM, "out of memory");
                }
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int read_env(JsonReader *jr, json_t *obj, char ***ret)
{
        json_t *v = json_object_get(obj, "env");
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        if (!l)
                return error_set(jr->err, ENOMEM, "out of memory");
        if (v && !json_is_null(v)) {
                if (!json_is_object(v))
                        return bad(jr, "env", "not an object");
                if (json_object_size(v) > ENCLAVEFILE_MAX_LIST)
                        return bad(jr, "env", "more than %u entries", ENCLAVEFILE_MAX_LIST);
                const char *name;
                json_t *val;
                json_object_foreach(v, name, val) {
                        const char *s = json_string_value(val);
                        if (!env_name_is_valid(name))
                                return bad(jr, "env", "'%s' is not a valid variable name", name);
                        if (!s || strlen(s) != json_string_length(val) || json_string_length(val) > ENCLAVEFILE_MAX_STRING)
                                return bad(jr, "env", "value of %s is not a string (or too long)", name);
                        char *e;
                        if (asprintf(&e, "%s=%s", name, s) < 0 || strv_consume(&l, e) < 0)
                                return error_set(jr->err, ENOMEM, "out of memory");
                }
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int read_ports(JsonReader *jr, json_t *obj, EnclavefileWorkspace *ws)
{
        json_t *v = json_object_get(obj, "ports");
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_array(v))
                return bad(jr, "ports", "not an array");
        if (json_array_size(v) > ENCLAVEFILE_MAX_LIST)
                return bad(jr, "ports", "more than %u entries", ENCLAVEFILE_MAX_LIST);
        ws->ports = calloc(json_array_size(v) + 1, sizeof *ws->ports);
        if (!ws->ports)
                return error_set(jr->err, ENOMEM, "out of memory");
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) {
                /* Accept the "spec" form of enclavefile_to_json() and a
                 * plain string alike. */
                const char *spec = json_is_string(item) ? json_string_value(item)
                                                         : json_string_value(json_object_get(item, "spec"));
                if (!spec)
                        return bad(jr, "ports", "entry %zu has no spec", i);
                _cleanup_error_ Error perr = ERROR_INIT;
                PortSpec p;
                if (port_spec_parse(spec, &p, &perr) < 0)
                        return bad(jr, "ports", "%s", error_msg(&perr));
                for (size_t k = 0; k < ws->n_ports; k++)
                        if (ws->ports[k].host_port == p.host_port)
                                return bad(jr, "ports", "host port %u is published twice", p.host_port);
                ws->ports[ws->n_ports++] = p;
        }
        return 0;
}

static int read_workspace(JsonReader *jr, json_t *o, EnclavefileWorkspace *ws)
{
        static const struct {
                const char *key;
                size_t offset;
                int64_t min, max;
        } limits[] = {
                { "cpu_seconds", offsetof(EnclavefileWorkspace, cpu_seconds), LIMIT_CPU_SECONDS_MIN, LIMIT_CPU_SECONDS_MAX },
                { "cpu_percent", offsetof(EnclavefileWorkspace, cpu_percent), LIMIT_CPU_PERCENT_MIN, LIMIT_CPU_PERCENT_MAX },
                { "memory_mb", offsetof(EnclavefileWorkspace, memory_mb), LIMIT_MEMORY_MB_MIN, LIMIT_MEMORY_MB_MAX },
                { "max_procs", offsetof(EnclavefileWorkspace, max_procs), LIMIT_MAX_PROCS_MIN, LIMIT_MAX_PROCS_MAX },
                { "max_open_files", offsetof(EnclavefileWorkspace, max_open_files), LIMIT_MAX_OPEN_FILES_MIN,
                  LIMIT_MAX_OPEN_FILES_MAX },
                { "disk_mb", offsetof(EnclavefileWorkspace, disk_mb), LIMIT_DISK_MB_MIN, LIMIT_DISK_MB_MAX },
        };
        int r;

        if (!json_is_object(o))
                return bad(jr, "", "not an object");
        if ((r = read_string(jr, o, "name", true, 63, &ws->name)) < 0)
                return r;
        if (!name_is_valid(ws->name))
                return bad(jr, "name", "'%s' is not a valid workspace name", ws->name);
        if ((r = read_string(jr, o, "key", false, 256, &ws->key)) < 0)
                return r;
        if (!ws->key && !(ws->key = strdup(ws->name)))
                return error_set(jr->err, ENOMEM, "out of memory");
        _cleanup_free_ char *restart = NULL;
        if ((r = read_string(jr, o, "run", false, ENCLAVEFILE_MAX_STRING, &ws->run)) < 0 ||
            (r = read_string(jr, o, "restart", false, 32, &restart)) < 0 ||
            (r = read_string(jr, o, "workspace_dir", false, 4096, &ws->workspace_dir)) < 0)
                return r;
        if (restart && (ws->restart = run_restart_from_string(restart)) == _RUN_RESTART_INVALID)
                return bad(jr, "restart", "'%s' is not no, on-failure or always", restart);
        if (ws->workspace_dir && ws->workspace_dir[0] != '/')
                return bad(jr, "workspace_dir", "'%s' is not an absolute path", ws->workspace_dir);
        for (size_t i = 0; i < ELEMENTSOF(limits); i++)
                if ((r = read_limit(jr, o, limits[i].key, limits[i].min, limits[i].max,
                                    (int64_t *) ((char *) ws + limits[i].offset))) < 0)
                        return r;
        if (ws->disk_mb > 0 && ws->workspace_dir)
                return bad(jr, "disk_mb", "cannot be combined with workspace_dir");
        if ((r = read_strv(jr, o, "auth", auth_provider_is_known, &ws->auth)) < 0 ||
            (r = read_strv(jr, o, "env_tokens", token_name_known, &ws->env_tokens)) < 0 ||
            (r = read_env(jr, o, &ws->env)) < 0)
                return r;
        return read_ports(jr, o, ws);
}

static int read_sandbox(JsonReader *jr, json_t *o, EnclavefileSandbox *sb)
{
        int r;
        if (!json_is_object(o))
                return bad(jr, "sandbox", "not an object");
        snprintf(jr->where, sizeof jr->where, "sandbox");
        if ((r = read_string(jr, o, "name", true, 63, &sb->name)) < 0)
                return r;
        if (!name_is_valid(sb->name))
                return bad(jr, "name", "'%s' is not a valid sandbox name", sb->name);
        if ((r = read_string(jr, o, "suite", true, 64, &sb->suite)) < 0 ||
            (r = read_string(jr, o, "bootstrap_method", true, 64, &sb->bootstrap_method)) < 0 ||
            (r = read_string(jr, o, "mirror", true, 4096, &sb->mirror)) < 0)
                return r;
        if (!debian_suite_is_known(sb->suite))
                return bad(jr, "suite", "unknown suite '%s'", sb->suite);
        if (!bootstrap_method_is_known(sb->bootstrap_method))
                return bad(jr, "bootstrap_method", "unknown method '%s'", sb->bootstrap_method);
        _cleanup_error_ Error merr = ERROR_INIT;
        if (mirror_url_check(sb->mirror, &merr) < 0)
                return bad(jr, "mirror", "%s", error_msg(&merr));
        if ((r = read_limit(jr, o, "memory_mb", LIMIT_MEMORY_MB_MIN, LIMIT_MEMORY_MB_MAX, &sb->memory_mb)) < 0 ||
            (r = read_limit(jr, o, "cpu_percent", LIMIT_CPU_PERCENT_MIN, LIMIT_CPU_PERCENT_MAX, &sb->cpu_percent)) < 0 ||
            (r = read_limit(jr, o, "max_procs", LIMIT_MAX_PROCS_MIN, LIMIT_MAX_PROCS_MAX, &sb->max_procs)) < 0)
                return r;
        r = read_strv(jr, o, "setup", any_string, &sb->setup);
        jr->where[0] = 0;
        return r;
}

/* Names and host ports are unique across the whole file. */
static int check_unique(JsonReader *jr, const Enclavefile *ef)
{
        for (size_t i = 0; i < ef->n_workspaces; i++)
                for (size_t j = 0; j < i; j++) {
                        const EnclavefileWorkspace *a = &ef->workspaces[i], *b = &ef->workspaces[j];
                        if (streq(a->name, b->name))
                                return bad(jr, "workspaces", "workspace name '%s' is used twice", a->name);
                        for (size_t p = 0; p < a->n_ports; p++)
                                for (size_t q = 0; q < b->n_ports; q++)
                                        if (a->ports[p].host_port == b->ports[q].host_port)
                                                return bad(jr, "workspaces",
                                                           "host port %u is published by both '%s' and '%s'",
                                                           a->ports[p].host_port, b->name, a->name);
                }
        return 0;
}

int project_config_from_json(json_t *config, Enclavefile **ret, Error *err)
{
        JsonReader jr = { .err = err };
        int r;

        if (!json_is_object(config))
                return error_set(err, EINVAL, "invalid project configuration: not a JSON object");
        _cleanup_enclavefile_ Enclavefile *ef = calloc(1, sizeof *ef);
        if (!ef)
                return error_set(err, ENOMEM, "out of memory");
        if ((r = read_string(&jr, config, "path", true, 4096, &ef->path)) < 0)
                return r;
        if (ef->path[0] != '/')
                return bad(&jr, "path", "'%s' is not an absolute path", ef->path);
        /* It is logged and shown: no control characters. */
        for (const char *q = ef->path; *q; q++)
                if ((unsigned char) *q < 0x20 || *q == 0x7f)
                        return bad(&jr, "path", "contains control characters");
        if (!(ef->display_name = strdup(ef->path)))
                return error_set(err, ENOMEM, "out of memory");
        if ((r = read_string(&jr, config, "base_dir", false, 4096, &ef->base_dir)) < 0)
                return r;
        if ((r = read_sandbox(&jr, json_object_get(config, "sandbox"), &ef->sandbox)) < 0)
                return r;

        json_t *wss = json_object_get(config, "workspaces");
        if (wss && !json_is_array(wss))
                return bad(&jr, "workspaces", "not an array");
        size_t n = json_array_size(wss);
        if (n > ENCLAVEFILE_MAX_WORKSPACES)
                return bad(&jr, "workspaces", "more than %u workspaces", ENCLAVEFILE_MAX_WORKSPACES);
        ef->workspaces = calloc(n + 1, sizeof *ef->workspaces);
        if (!ef->workspaces)
                return error_set(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                snprintf(jr.where, sizeof jr.where, "workspaces[%zu]", i);
                /* Counted first so enclavefile_free() releases a
                 * half-read entry too. */
                ef->n_workspaces++;
                if ((r = read_workspace(&jr, json_array_get(wss, i), &ef->workspaces[i])) < 0)
                        return r;
        }
        jr.where[0] = 0;
        if ((r = check_unique(&jr, ef)) < 0)
                return r;
        *ret = TAKE_PTR(ef);
        return 0;
}

/* ---- definitions ---- */

static const char *const definition_keys[] = {
        "run", "restart", "workspace_dir", "cpu_seconds", "cpu_percent", "memory_mb", "max_procs",
        "max_open_files", "disk_mb", "auth", "env_tokens", "ports", "env", NULL,
};

static json_t *limit_json(int64_t v)
{
        return v > 0 ? json_integer(v) : json_null();
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int cmp_port(const void *a, const void *b)
{
        const PortSpec *x = a, *y = b;
        return (int) x->host_port - (int) y->host_port;
}

/* Order of auth providers and token names does not matter: sorted. */
static json_t *sorted_strv_json(char *const *v)
{
        _cleanup_strv_free_ char **copy = strv_copy(v);
        if (!copy)
                return NULL;
        qsort(copy, strv_length(copy), sizeof *copy, cmp_str);
        json_t *a = json_array();
        STRV_FOREACH(s, copy)
                if (!a || json_array_append_new(a, json_string(*s)) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

static json_t *sorted_ports_json(const PortSpec *ports, size_t n)
{
        _cleanup_free_ PortSpec *copy = calloc(n + 1, sizeof *copy);
        if (!copy)
                return NULL;
        if (n > 0)
                memcpy(copy, ports, n * sizeof *copy);
        qsort(copy, n, sizeof *copy, cmp_port);
        json_t *a = json_array();
        for (size_t i = 0; a && i < n; i++) {
                char spec[PORT_SPEC_STRING_MAX];
                port_spec_format(&copy[i], spec);
                if (json_array_append_new(a, json_string(spec)) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

static json_t *env_json(char *const *env)
{
        json_t *o = json_object();
        STRV_FOREACH(e, env) {
                const char *eq = strchr(*e, '=');
                if (!eq)
                        continue;
                _cleanup_free_ char *name = strndup(*e, (size_t) (eq - *e));
                if (!o || !name || json_object_set_new(o, name, json_string(eq + 1)) < 0) {
                        json_decref(o);
                        return NULL;
                }
        }
        return o;
}

json_t *project_workspace_definition(const EnclavefileWorkspace *ws)
{
        static char *const empty[] = { NULL };
        /* json_pack steals "o" arguments even when it fails, and fails
         * on a NULL one, so OOM anywhere gives NULL. */
        return json_pack("{s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                         "run", ws->run ? json_string(ws->run) : json_null(),
                         "restart", run_restart_to_string(ws->restart) ?: "no",
                         "workspace_dir", ws->workspace_dir ? json_string(ws->workspace_dir) : json_null(),
                         "cpu_seconds", limit_json(ws->cpu_seconds),
                         "cpu_percent", limit_json(ws->cpu_percent),
                         "memory_mb", limit_json(ws->memory_mb),
                         "max_procs", limit_json(ws->max_procs),
                         "max_open_files", limit_json(ws->max_open_files),
                         "disk_mb", limit_json(ws->disk_mb),
                         "auth", sorted_strv_json(ws->auth ? ws->auth : empty),
                         "env_tokens", sorted_strv_json(ws->env_tokens ? ws->env_tokens : empty),
                         "ports", sorted_ports_json(ws->ports, ws->n_ports),
                         "env", env_json(ws->env ? ws->env : empty));
}

/* A missing member and null are the same (an unset limit). */
static bool member_equal(json_t *a, json_t *b, const char *key)
{
        json_t *x = json_object_get(a, key), *y = json_object_get(b, key);
        if (!x || json_is_null(x))
                return !y || json_is_null(y);
        return y && json_equal(x, y);
}

char **project_definition_diff(json_t *a, json_t *b)
{
        _cleanup_strv_free_ char **changed = calloc(1, sizeof(char *));
        if (!changed)
                return NULL;
        for (size_t i = 0; definition_keys[i]; i++) {
                if (a && b && member_equal(a, b, definition_keys[i]))
                        continue;
                if (strv_push(&changed, definition_keys[i]) < 0)
                        return NULL;
        }
        return TAKE_PTR(changed);
}

/* ---- the plan ---- */

static bool state_is_running(const char *state)
{
        return state && (streq(state, "running") || streq(state, "starting"));
}

static const ProjectCurrentWorkspace *find_current(const ProjectCurrent *cur, const char *name)
{
        for (size_t i = 0; i < cur->n_workspaces; i++)
                if (streq(cur->workspaces[i].name, name))
                        return &cur->workspaces[i];
        return NULL;
}

static int add_note(ProjectPlan *p, const char *fmt, ...) _printf_(2, 3);
static int add_note(ProjectPlan *p, const char *fmt, ...)
{
        va_list ap;
        char *s;
        va_start(ap, fmt);
        int k = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        return strv_consume(&p->notes, s);
}

static int plan_sandbox(ProjectPlan *p, const Enclavefile *desired, const ProjectCurrent *cur,
                        const ProjectOptions *opts, Error *err)
{
        const EnclavefileSandbox *sb = &desired->sandbox;
        char digest[SHA256_HEX_SIZE];

        if (!cur->sandbox_exists) {
                p->create_sandbox = true;
                p->run_setup = sb->setup[0] != NULL;
                return 0;
        }
        const char *state = cur->sandbox_state ? cur->sandbox_state : "";
        if (streq(state, SANDBOX_STATE_CREATING) || streq(state, SANDBOX_STATE_DESTROYING) ||
            streq(state, SANDBOX_STATE_SETTING_UP))
                return error_set(err, EBUSY,
                                 "sandbox %s is %s by another request; wait for it to finish, then run 'enclave up' again",
                                 sb->name, state);
        if (opts->rebuild) {
                p->destroy_sandbox = p->create_sandbox = true;
                p->run_setup = sb->setup[0] != NULL;
                return 0;
        }
        p->start_sandbox = streq(state, SANDBOX_STATE_STOPPED);
        p->update_caps = cur->memory_mb != sb->memory_mb || cur->cpu_percent != sb->cpu_percent ||
                         cur->max_procs != sb->max_procs;

        /* An empty setup list that never ran is complete as it is. */
        enclavefile_setup_digest(desired, digest);
        if (cur->setup_digest)
                p->run_setup = !streq(cur->setup_digest, digest);
        else
                p->run_setup = sb->setup[0] != NULL;

        /* Properties only creation uses: say so rather than ignore them. */
        static const struct {
                const char *key;
                size_t desired, current;
        } created_only[] = {
                { "suite", offsetof(EnclavefileSandbox, suite), offsetof(ProjectCurrent, suite) },
                { "bootstrap_method", offsetof(EnclavefileSandbox, bootstrap_method),
                  offsetof(ProjectCurrent, bootstrap_method) },
                { "mirror", offsetof(EnclavefileSandbox, mirror), offsetof(ProjectCurrent, mirror) },
        };
        for (size_t i = 0; i < ELEMENTSOF(created_only); i++) {
                const char *want = *(char *const *) ((const char *) sb + created_only[i].desired);
                const char *have = *(const char *const *) ((const char *) cur + created_only[i].current);
                if (have && want && !streq(have, want) &&
                    add_note(p, "sandbox %s was created with %s '%s'; the Enclavefile now says '%s', which takes "
                                "effect with 'enclave up --rebuild'",
                             sb->name, created_only[i].key, have, want) < 0)
                        return error_set(err, ENOMEM, "out of memory");
        }
        return 0;
}

/* A workspace's disk (disk_mb) is made when it is created and cannot
 * change under its data: a changed disk_mb is a note, not an update. */
static int drop_created_only(ProjectPlan *p, const EnclavefileWorkspace *ws, const ProjectCurrentWorkspace *have,
                             char **changed)
{
        size_t i = 0;
        while (changed[i] && !streq(changed[i], "disk_mb"))
                i++;
        if (!changed[i])
                return 0;
        free(changed[i]);
        memmove(&changed[i], &changed[i + 1], (strv_length(&changed[i + 1]) + 1) * sizeof *changed);
        json_t *old = json_object_get(have->definition, "disk_mb");
        return add_note(p, "workspace %s: disk_mb is now %s%" PRId64 " (was %s%" PRId64 "), but a workspace's disk is "
                        "made when it is created; to apply it, destroy the workspace ('enclave workspace destroy %s') "
                        "and run 'enclave up' (its /home and /tmp are lost)",
                        ws->name, ws->disk_mb > 0 ? "" : "unset/", ws->disk_mb, json_integer_value(old) > 0 ? "" : "unset/",
                        (int64_t) json_integer_value(old), ws->name);
}

static int plan_workspace(ProjectPlan *p, ProjectWorkspaceStep *step, const EnclavefileWorkspace *ws,
                          const ProjectCurrent *cur, bool sandbox_new)
{
        const ProjectCurrentWorkspace *have = sandbox_new ? NULL : find_current(cur, ws->name);
        *step = (ProjectWorkspaceStep) { .ws = ws };

        if (!have) {
                step->action = PROJECT_WS_CREATE;
                step->changed = calloc(1, sizeof(char *));
                step->start = true;
                return step->changed ? 0 : -ENOMEM;
        }
        _cleanup_(json_decrefp) json_t *want = project_workspace_definition(ws);
        if (!want)
                return -ENOMEM;
        step->changed = project_definition_diff(want, have->definition);
        if (!step->changed)
                return -ENOMEM;
        if (have->definition && drop_created_only(p, ws, have, step->changed) < 0)
                return -ENOMEM;
        step->running = state_is_running(have->state);
        step->action = step->changed[0] ? PROJECT_WS_UPDATE : PROJECT_WS_UNCHANGED;
        bool only_ports = step->changed[0] && streq(step->changed[0], "ports") && !step->changed[1];
        if (step->running) {
                step->restart = step->action == PROJECT_WS_UPDATE && !only_ports;
                step->republish = only_ports;
        } else
                step->start = true;
        return 0;
}

static int plan_orphans(ProjectPlan *p, const Enclavefile *desired, const ProjectCurrent *cur)
{
        p->orphans = calloc(1, sizeof(char *));
        if (!p->orphans)
                return -ENOMEM;
        if (p->create_sandbox)
                return 0; /* a new (or rebuilt) sandbox has nothing else */
        for (size_t i = 0; i < cur->n_workspaces; i++)
                if (!enclavefile_find_workspace(desired, cur->workspaces[i].name) &&
                    strv_push(&p->orphans, cur->workspaces[i].name) < 0)
                        return -ENOMEM;
        qsort(p->orphans, strv_length(p->orphans), sizeof(char *), cmp_str);
        return 0;
}

int project_plan_build(const Enclavefile *desired, const ProjectCurrent *current, const ProjectOptions *opts,
                       ProjectPlan **ret, Error *err)
{
        static const ProjectOptions no_opts = {};
        opts = opts ? opts : &no_opts;
        _cleanup_project_plan_ ProjectPlan *p = calloc(1, sizeof *p);
        if (!p || !(p->notes = calloc(1, sizeof(char *))))
                return error_set(err, ENOMEM, "out of memory");
        int r = plan_sandbox(p, desired, current, opts, err);
        if (r < 0)
                return r;

        p->workspaces = calloc(desired->n_workspaces + 1, sizeof *p->workspaces);
        if (!p->workspaces)
                return error_set(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < desired->n_workspaces; i++) {
                p->n_workspaces++;
                if (plan_workspace(p, &p->workspaces[i], &desired->workspaces[i], current, p->create_sandbox) < 0)
                        return error_set(err, ENOMEM, "out of memory");
        }
        /* Setup changes the rootfs under running workspaces: up stops
         * them for it, so every running one starts again after. */
        if (p->run_setup && !p->create_sandbox)
                for (size_t i = 0; i < p->n_workspaces; i++)
                        if (p->workspaces[i].running) {
                                p->workspaces[i].restart = true;
                                p->workspaces[i].republish = false;
                        }
        if (plan_orphans(p, desired, current) < 0)
                return error_set(err, ENOMEM, "out of memory");
        p->remove_orphans = opts->remove_orphans && p->orphans[0];
        *ret = TAKE_PTR(p);
        return 0;
}

ProjectPlan *project_plan_free(ProjectPlan *p)
{
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_workspaces; i++)
                strv_free(p->workspaces[i].changed);
        free(p->workspaces);
        strv_free(p->orphans);
        strv_free(p->notes);
        free(p);
        return NULL;
}

bool project_plan_is_noop(const ProjectPlan *p)
{
        if (p->destroy_sandbox || p->create_sandbox || p->start_sandbox || p->update_caps || p->run_setup ||
            p->remove_orphans)
                return false;
        for (size_t i = 0; i < p->n_workspaces; i++) {
                const ProjectWorkspaceStep *s = &p->workspaces[i];
                if (s->action != PROJECT_WS_UNCHANGED || s->start || s->restart || s->republish)
                        return false;
        }
        return true;
}

const char *project_workspace_action_to_string(ProjectWorkspaceAction a)
{
        static const char *const names[_PROJECT_WS_ACTION_MAX] = {
                [PROJECT_WS_UNCHANGED] = "unchanged",
                [PROJECT_WS_CREATE] = "created",
                [PROJECT_WS_UPDATE] = "updated",
        };
        return a >= 0 && a < _PROJECT_WS_ACTION_MAX ? names[a] : NULL;
}

static json_t *strv_to_json(char *const *v)
{
        json_t *a = json_array();
        STRV_FOREACH(s, v)
                if (!a || json_array_append_new(a, json_string(*s)) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

json_t *project_plan_to_json(const ProjectPlan *p)
{
        json_t *wss = json_array();
        for (size_t i = 0; wss && i < p->n_workspaces; i++) {
                const ProjectWorkspaceStep *s = &p->workspaces[i];
                json_t *o = json_pack("{s:s, s:s, s:o, s:b, s:b, s:b, s:b}", "name", s->ws->name, "action",
                                      project_workspace_action_to_string(s->action), "changed",
                                      strv_to_json(s->changed), "running", s->running, "restart", s->restart,
                                      "republish", s->republish, "start", s->start);
                if (json_array_append_new(wss, o) < 0) {
                        json_decref(wss);
                        wss = NULL;
                }
        }
        if (!wss)
                return NULL;
        return json_pack("{s:{s:b, s:b, s:b, s:b, s:b}, s:o, s:o, s:b, s:o}",
                         "sandbox", "destroy", p->destroy_sandbox, "create", p->create_sandbox, "start",
                         p->start_sandbox, "update_caps", p->update_caps, "setup", p->run_setup,
                         "workspaces", wss, "orphans", strv_to_json(p->orphans), "remove_orphans",
                         p->remove_orphans, "notes", strv_to_json(p->notes));
}
