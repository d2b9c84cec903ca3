/* The JSON of sandbox and workspace specs (spec.h, "JSON"). */
#include "spec/spec.h"
#include "base/str.h"

#include <stdarg.h>
#include <string.h>

/* ---- writing ---- */

static json_t *limit_json(const LimitDef *d, int64_t v)
{
        if (v == 0)
                return json_null();
        if (d->kind == LIMIT_DECIMAL && v % LIMIT_DECIMAL_SCALE != 0)
                return json_real((double) v / LIMIT_DECIMAL_SCALE);
        return json_integer(d->kind == LIMIT_DECIMAL ? v / LIMIT_DECIMAL_SCALE : v);
}

int limits_to_json(const Limits *l, unsigned scope, SpecJsonForm form, json_t *o)
{
        LIMIT_FOREACH(d) {
                int64_t v = limit_get(l, d);
                if (!(d->scopes & scope) || (v == 0 && form == SPEC_JSON_REGISTRY))
                        continue;
                if (json_object_set_new(o, d->key, limit_json(d, v)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int cmp_port(const void *a, const void *b)
{
        const PortSpec *x = a, *y = b;
        return (int) x->host_port - (int) y->host_port;
}

static json_t *strv_json(char *const *v, bool sorted)
{
        _cleanup_strv_free_ char **copy = NULL;
        if (sorted && v) {
                if (!(copy = strv_copy(v)))
                        return NULL;
                strv_sort(copy);
                v = copy;
        }
        json_t *a = json_array();
        STRV_FOREACH(s, v)
                if (!a || json_array_append_new(a, json_string(*s)) < 0)
                        return (json_decref(a), NULL);
        return a;
}

json_t *strv_to_json(char *const *v)
{
        return strv_json(v, false);
}

/* {"NAME": "value"}; a later NAME replaces an earlier one. Objects
 * compare equal whatever their order (json_equal), so definitions need
 * no sorting here. */
static json_t *env_object(char *const *env)
{
        json_t *o = json_object();
        STRV_FOREACH(e, env) {
                const char *eq = strchr(*e, '=');
                if (!eq)
                        continue;
                _cleanup_free_ char *name = strndup(*e, (size_t) (eq - *e));
                if (!o || !name || json_object_set_new(o, name, json_string(eq + 1)) < 0)
                        return (json_decref(o), NULL);
        }
        return o;
}

static json_t *ports_json(const PortSpec *ports, size_t n, bool sorted)
{
        _cleanup_free_ PortSpec *copy = calloc(n + 1, sizeof *copy);
        if (!copy)
                return NULL;
        if (n > 0)
                memcpy(copy, ports, n * sizeof *copy);
        if (sorted)
                qsort(copy, n, sizeof *copy, cmp_port);
        json_t *a = json_array();
        for (size_t i = 0; a && i < n; i++) {
                char spec[PORT_SPEC_STRING_MAX];
                port_spec_format(&copy[i], spec);
                json_t *p = json_pack("{s:s, s:s, s:i, s:i, s:s}", "spec", spec, "host_ip", "127.0.0.1", "host_port",
                                      (int) copy[i].host_port, "workspace_port", (int) copy[i].workspace_port,
                                      "protocol", "tcp");
                if (json_array_append_new(a, p) < 0)
                        return (json_decref(a), NULL);
        }
        return a;
}

static json_t *optional_string(const char *s)
{
        return s ? json_string(s) : json_null();
}

static json_t *registry_json(const WorkspaceSpec *s)
{
        json_t *limits = json_object();
        if (!limits || limits_to_json(&s->limits, LIMIT_WORKSPACE, SPEC_JSON_REGISTRY, limits) < 0)
                return (json_decref(limits), NULL);
        /* json_pack steals "o" arguments even when it fails, and fails
         * on a NULL one, so OOM anywhere gives NULL. */
        return json_pack("{s:o, s:s, s:o, s:o, s:o, s:o, s:o}",
                         "run", optional_string(s->run),
                         "restart", run_restart_to_string(s->restart) ?: "no",
                         "env", strv_json(s->env, false),
                         "limits", limits,
                         "workspace_dir", optional_string(s->workspace_dir),
                         "auth", strv_json(s->auth, false),
                         "env_tokens", strv_json(s->env_tokens, false));
}

json_t *workspace_spec_to_json(const WorkspaceSpec *s, SpecJsonForm form)
{
        if (form == SPEC_JSON_REGISTRY)
                return registry_json(s);
        bool sorted = form == SPEC_JSON_DEFINITION;
        json_t *o = sorted ? json_object() : json_pack("{s:s}", "name", s->name);
        if (!o || json_object_set_new(o, "run", optional_string(s->run)) < 0 ||
            json_object_set_new(o, "restart", json_string(run_restart_to_string(s->restart) ?: "no")) < 0 ||
            json_object_set_new(o, "workspace_dir", optional_string(s->workspace_dir)) < 0 ||
            limits_to_json(&s->limits, LIMIT_WORKSPACE, form, o) < 0 ||
            json_object_set_new(o, "auth", strv_json(s->auth, sorted)) < 0 ||
            json_object_set_new(o, "env_tokens", strv_json(s->env_tokens, sorted)) < 0 ||
            json_object_set_new(o, "ports", ports_json(s->ports, s->n_ports, sorted)) < 0 ||
            json_object_set_new(o, "env", env_object(s->env)) < 0)
                return (json_decref(o), NULL);
        return o;
}

json_t *sandbox_spec_to_json(const SandboxSpec *s, SpecJsonForm form)
{
        json_t *o = json_pack("{s:s, s:o, s:o, s:o}", "name", s->name, "suite", optional_string(s->suite),
                              "bootstrap_method", optional_string(s->bootstrap_method), "mirror",
                              optional_string(s->mirror));
        if (!o || limits_to_json(&s->caps, LIMIT_SANDBOX, form, o) < 0 ||
            json_object_set_new(o, "setup", strv_json(s->setup, false)) < 0)
                return (json_decref(o), NULL);
        return o;
}

/* ---- reading ---- */

static int bad(Error *err, const char *key, const char *fmt, ...) _printf_(3, 4);
static int bad(Error *err, const char *key, const char *fmt, ...)
{
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        return error_set(err, EINVAL, "%s: %s", key, msg);
}

static bool is_unset(json_t *v)
{
        return !v || json_is_null(v);
}

static int read_string(json_t *o, const char *key, size_t max, char **ret, Error *err)
{
        json_t *v = json_object_get(o, key);
        *ret = NULL;
        if (is_unset(v))
                return 0;
        if (!json_is_string(v))
                return bad(err, key, "not a string");
        if (json_string_length(v) > max)
                return bad(err, key, "longer than %zu bytes", max);
        if (strlen(json_string_value(v)) != json_string_length(v))
                return bad(err, key, "contains a NUL byte");
        *ret = strdup(json_string_value(v));
        return *ret ? 0 : error_set(err, ENOMEM, "out of memory");
}

static int read_limit(const LimitDef *d, json_t *v, int64_t *ret, Error *err)
{
        *ret = 0;
        if (is_unset(v) || (json_is_integer(v) && json_integer_value(v) == 0))
                return 0;
        int r = -EINVAL;
        if (json_is_integer(v) && d->kind == LIMIT_INTEGER) {
                json_int_t n = json_integer_value(v);
                r = n < d->min || n > d->max ? -ERANGE : 0;
                *ret = n;
        } else if (json_is_number(v) && d->kind == LIMIT_DECIMAL)
                r = limit_from_double(d, json_number_value(v), ret);
        if (r == -ERANGE) {
                char range[2 * LIMIT_TEXT_MAX], got[64];
                if (json_is_integer(v))
                        snprintf(got, sizeof got, "%lld", (long long) json_integer_value(v));
                else
                        snprintf(got, sizeof got, "%g", json_number_value(v));
                return error_set(err, EINVAL, "%s must be between %s (%s), got %s", d->key,
                                 limit_range_text(d, range), d->unit, got);
        }
        if (r < 0)
                return bad(err, d->key, d->kind == LIMIT_INTEGER ? "not a whole number"
                                                                 : "not a number with at most three decimal places");
        return 0;
}

int limits_from_json(json_t *o, unsigned scope, Limits *ret, Error *err)
{
        *ret = (Limits) {};
        /* The registry keeps a workspace's limits under "limits". */
        json_t *nested = json_object_get(o, "limits");
        LIMIT_FOREACH(d) {
                json_t *v = json_object_get(o, d->key);
                if (is_unset(v) && json_is_object(nested))
                        v = json_object_get(nested, d->key);
                if (!(d->scopes & scope)) {
                        if (!is_unset(v) && !(json_is_integer(v) && json_integer_value(v) == 0))
                                return bad(err, d->key, "is a limit of %s only",
                                           scope == LIMIT_SANDBOX ? "workspaces" : "sandboxes");
                        continue;
                }
                int64_t n;
                int r = read_limit(d, v, &n, err);
                if (r < 0)
                        return r;
                limit_set(ret, d, n);
        }
        return 0;
}

typedef bool (*ItemValid)(const char *s);

static int read_strv(json_t *o, const char *key, ItemValid valid, char ***ret, Error *err)
{
        json_t *v = json_object_get(o, key);
        *ret = NULL;
        if (is_unset(v))
                return 0;
        if (!json_is_array(v))
                return bad(err, key, "not an array");
        if (json_array_size(v) > SPEC_MAX_LIST)
                return bad(err, key, "more than %u entries", SPEC_MAX_LIST);
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        if (!l)
                return error_set(err, ENOMEM, "out of memory");
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) {
                const char *s = json_string_value(item);
                if (!s || strlen(s) != json_string_length(item) || json_string_length(item) > SPEC_MAX_STRING)
                        return bad(err, key, "entry %zu is not a string (or too long)", i);
                if (valid && !valid(s))
                        return bad(err, key, "entry '%s' is not accepted", s);
                if (strv_push(&l, s) < 0)
                        return error_set(err, ENOMEM, "out of memory");
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* An object {"NAME": "value"} or a list ["NAME=value"]. */
static int read_env(json_t *o, char ***ret, Error *err)
{
        json_t *v = json_object_get(o, "env");
        if (!json_is_object(v))
                return read_strv(o, "env", NULL, ret, err);
        *ret = NULL;
        if (json_object_size(v) > SPEC_MAX_LIST)
                return bad(err, "env", "more than %u entries", SPEC_MAX_LIST);
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));
        if (!l)
                return error_set(err, ENOMEM, "out of memory");
        const char *name;
        json_t *val;
        json_object_foreach(v, name, val) {
                const char *s = json_string_value(val);
                if (!s || strlen(s) != json_string_length(val) || json_string_length(val) > SPEC_MAX_STRING)
                        return bad(err, "env", "value of %s is not a string (or too long)", name);
                char *e;
                if (asprintf(&e, "%s=%s", name, s) < 0 || strv_consume(&l, e) < 0)
                        return error_set(err, ENOMEM, "out of memory");
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* ["127.0.0.1:H:W/tcp"] or [{"spec": ...}]. */
static int read_ports(json_t *o, WorkspaceSpec *s, Error *err)
{
        json_t *v = json_object_get(o, "ports");
        if (is_unset(v))
                return 0;
        if (!json_is_array(v))
                return bad(err, "ports", "not an array");
        if (json_array_size(v) > SPEC_MAX_LIST)
                return bad(err, "ports", "more than %u entries", SPEC_MAX_LIST);
        s->ports = calloc(json_array_size(v) + 1, sizeof *s->ports);
        if (!s->ports)
                return error_set(err, ENOMEM, "out of memory");
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) {
                const char *spec = json_is_string(item) ? json_string_value(item)
                                                         : json_string_value(json_object_get(item, "spec"));
                if (!spec)
                        return bad(err, "ports", "entry %zu has no spec", i);
                _cleanup_error_ Error perr = ERROR_INIT;
                if (port_spec_parse(spec, &s->ports[s->n_ports], &perr) < 0)
                        return bad(err, "ports", "'%s' %s", spec, error_msg(&perr));
                s->n_ports++;
        }
        return 0;
}

static bool token_name_known(const char *s)
{
        return auth_token_provider(s) != NULL;
}

static int read_workspace(json_t *o, WorkspaceSpec *s, Error *err)
{
        _cleanup_free_ char *restart = NULL;
        int r;
        if (!json_is_object(o))
                return error_set(err, EINVAL, "not an object");
        if ((r = read_string(o, "name", 63, &s->name, err)) < 0 ||
            (r = read_string(o, "run", SPEC_MAX_STRING, &s->run, err)) < 0 ||
            (r = read_string(o, "restart", 32, &restart, err)) < 0 ||
            (r = read_string(o, "workspace_dir", 4096, &s->workspace_dir, err)) < 0)
                return r;
        if (restart && (s->restart = run_restart_from_string(restart)) == _RUN_RESTART_INVALID)
                return bad(err, "restart", "'%s' is not no, on-failure or always", restart);
        if ((r = limits_from_json(o, LIMIT_WORKSPACE, &s->limits, err)) < 0 ||
            (r = read_strv(o, "auth", auth_provider_is_known, &s->auth, err)) < 0 ||
            (r = read_strv(o, "env_tokens", token_name_known, &s->env_tokens, err)) < 0 ||
            (r = read_env(o, &s->env, err)) < 0)
                return r;
        return read_ports(o, s, err);
}

int workspace_spec_from_json(json_t *o, WorkspaceSpec *ret, Error *err)
{
        WorkspaceSpec s = {};
        int r = read_workspace(o, &s, err);
        if (r < 0) {
                workspace_spec_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

int sandbox_spec_from_json(json_t *o, SandboxSpec *ret, Error *err)
{
        SandboxSpec s = {};
        int r = json_is_object(o) ? 0 : error_set(err, EINVAL, "not an object");
        if (r >= 0)
                r = read_string(o, "name", 63, &s.name, err);
        if (r >= 0)
                r = read_string(o, "suite", 64, &s.suite, err);
        if (r >= 0)
                r = read_string(o, "bootstrap_method", 64, &s.bootstrap_method, err);
        if (r >= 0)
                r = read_string(o, "mirror", 4096, &s.mirror, err);
        if (r >= 0)
                r = limits_from_json(o, LIMIT_SANDBOX, &s.caps, err);
        if (r >= 0)
                r = read_strv(o, "setup", NULL, &s.setup, err);
        if (r < 0) {
                sandbox_spec_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

/* ---- definitions ---- */

/* A missing member and null are the same (an unset limit). */
static bool member_equal(json_t *a, json_t *b, const char *key)
{
        json_t *x = json_object_get(a, key), *y = json_object_get(b, key);
        if (is_unset(x))
                return is_unset(y);
        return y && json_equal(x, y);
}

char **spec_definition_diff(json_t *a, json_t *b)
{
        static const WorkspaceSpec empty = {};
        _cleanup_(json_decrefp) json_t *keys = workspace_spec_to_json(&empty, SPEC_JSON_DEFINITION);
        _cleanup_strv_free_ char **changed = calloc(1, sizeof(char *));
        if (!keys || !changed)
                return NULL;
        const char *key;
        json_t *unused;
        json_object_foreach(keys, key, unused) {
                if (a && b && member_equal(a, b, key))
                        continue;
                if (strv_push(&changed, key) < 0)
                        return NULL;
        }
        return TAKE_PTR(changed);
}
