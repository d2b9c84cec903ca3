/* The plan of `enclave up` (project.h): the desired state rebuilt from
 * the request, normalised workspace definitions and the pure decision
 * of what to change. */
#include "engine/project.h"
#include "registry/registry-sandbox.h"
#include "base/str.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

/* ---- reading the request ---- */

static int bad(Error *err, const char *key, const char *fmt, ...) _printf_(3, 4);
static int bad(Error *err, const char *key, const char *fmt, ...)
{
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        return error_set(err, EINVAL, "invalid project configuration: %s: %s", key, msg);
}

/* A spec's own message, placed: "invalid project configuration:
 * workspaces[2]: memory_mb must be between ...". */
static int placed(Error *err, const char *where)
{
        return error_wrap(err, "invalid project configuration: %s", where);
}

static int read_sandbox(json_t *o, SandboxSpec *sb, Error *err)
{
        int r = sandbox_spec_from_json(o, sb, err);
        if (r >= 0 && (!sb->suite || !sb->bootstrap_method || !sb->mirror))
                r = error_set(err, EINVAL, "suite, bootstrap_method and mirror are required");
        if (r >= 0)
                r = sandbox_spec_check(sb, err);
        if (r >= 0 && !sb->setup && !(sb->setup = calloc(1, sizeof(char *))))
                r = error_set(err, ENOMEM, "out of memory");
        return r < 0 ? placed(err, "sandbox") : 0;
}

/* Lists that are absent in the request are empty in the model, as in a
 * loaded Enclavefile. */
static int read_workspace(json_t *o, WorkspaceSpec *ws, Error *err)
{
        int r = workspace_spec_from_json(o, ws, err);
        if (r >= 0)
                r = workspace_spec_check(ws, err);
        if (r < 0)
                return r;
        char ***lists[] = { &ws->auth, &ws->env_tokens, &ws->env };
        for (size_t i = 0; i < ELEMENTSOF(lists); i++)
                if (!*lists[i] && !(*lists[i] = calloc(1, sizeof(char *))))
                        return error_set(err, ENOMEM, "out of memory");
        return 0;
}

/* Names and host ports are unique across the whole file. */
static int check_unique(const Enclavefile *ef, Error *err)
{
        for (size_t i = 0; i < ef->n_workspaces; i++)
                for (size_t j = 0; j < i; j++) {
                        const WorkspaceSpec *a = &ef->workspaces[i], *b = &ef->workspaces[j];
                        if (streq(a->name, b->name))
                                return bad(err, "workspaces", "workspace name '%s' is used twice", a->name);
                        for (size_t p = 0; p < a->n_ports; p++)
                                for (size_t q = 0; q < b->n_ports; q++)
                                        if (a->ports[p].host_port == b->ports[q].host_port)
                                                return bad(err, "workspaces",
                                                           "host port %u is published by both '%s' and '%s'",
                                                           a->ports[p].host_port, b->name, a->name);
                }
        return 0;
}

static int read_path(json_t *config, Enclavefile *ef, Error *err)
{
        json_t *v = json_object_get(config, "path");
        const char *path = json_string_value(v);
        if (!path || strlen(path) != json_string_length(v) || json_string_length(v) > 4096)
                return bad(err, "path", "missing, not a string or too long");
        if (path[0] != '/')
                return bad(err, "path", "'%s' is not an absolute path", path);
        /* It is logged and shown: no control characters. */
        for (const char *q = path; *q; q++)
                if ((unsigned char) *q < 0x20 || *q == 0x7f)
                        return bad(err, "path", "contains control characters");
        const char *base = json_string_value(json_object_get(config, "base_dir"));
        if (!(ef->path = strdup(path)) || !(ef->display_name = strdup(path)) || (base && !(ef->base_dir = strdup(base))))
                return error_set(err, ENOMEM, "out of memory");
        return 0;
}

int project_config_from_json(json_t *config, Enclavefile **ret, Error *err)
{
        if (!json_is_object(config))
                return error_set(err, EINVAL, "invalid project configuration: not a JSON object");
        _cleanup_enclavefile_ Enclavefile *ef = calloc(1, sizeof *ef);
        if (!ef)
                return error_set(err, ENOMEM, "out of memory");
        int r = read_path(config, ef, err);
        if (r >= 0)
                r = read_sandbox(json_object_get(config, "sandbox"), &ef->sandbox, err);
        if (r < 0)
                return r;

        json_t *wss = json_object_get(config, "workspaces");
        if (wss && !json_is_array(wss))
                return bad(err, "workspaces", "not an array");
        size_t n = json_array_size(wss);
        if (n > ENCLAVEFILE_MAX_WORKSPACES)
                return bad(err, "workspaces", "more than %u workspaces", ENCLAVEFILE_MAX_WORKSPACES);
        ef->workspaces = calloc(n + 1, sizeof *ef->workspaces);
        if (!ef->workspaces)
                return error_set(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                /* Counted first so enclavefile_free() releases a
                 * half-read entry too. */
                ef->n_workspaces++;
                r = read_workspace(json_array_get(wss, i), &ef->workspaces[i], err);
                if (r < 0) {
                        char where[32];
                        snprintf(where, sizeof where, "workspaces[%zu]", i);
                        return placed(err, where);
                }
        }
        r = check_unique(ef, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(ef);
        return 0;
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
        va_start(ap, fmt);
        int k = strv_vprintf(&p->notes, fmt, ap);
        va_end(ap);
        return k;
}

static int plan_sandbox(ProjectPlan *p, const Enclavefile *desired, const ProjectCurrent *cur,
                        const ProjectOptions *opts, Error *err)
{
        const SandboxSpec *sb = &desired->sandbox;
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
        p->update_caps = !limits_equal(&cur->caps, &sb->caps);

        /* An empty setup list that never ran is complete as it is. */
        spec_setup_digest(sb->setup, digest);
        if (cur->setup_digest)
                p->run_setup = !streq(cur->setup_digest, digest);
        else
                p->run_setup = sb->setup[0] != NULL;

        /* Properties only creation uses: say so rather than ignore them. */
        static const struct {
                const char *key;
                size_t desired, current;
        } created_only[] = {
                { "suite", offsetof(SandboxSpec, suite), offsetof(ProjectCurrent, suite) },
                { "bootstrap_method", offsetof(SandboxSpec, bootstrap_method),
                  offsetof(ProjectCurrent, bootstrap_method) },
                { "mirror", offsetof(SandboxSpec, mirror), offsetof(ProjectCurrent, mirror) },
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

/* A limit made at create (a workspace's disk, disk_mb) cannot change
 * under its data: a changed one is a note, not an update. */
static int drop_created_only(ProjectPlan *p, const WorkspaceSpec *ws, const ProjectCurrentWorkspace *have,
                             char **changed)
{
        for (size_t i = 0; changed[i];) {
                const LimitDef *d = limit_find(changed[i]);
                if (!d || d->when != LIMIT_AT_CREATE) {
                        i++;
                        continue;
                }
                free(changed[i]);
                memmove(&changed[i], &changed[i + 1], (strv_length(&changed[i + 1]) + 1) * sizeof *changed);
                Limits old = {};
                (void) limits_from_json(have->definition, LIMIT_WORKSPACE, &old, NULL);
                char now_text[LIMIT_TEXT_MAX] = "unset", was_text[LIMIT_TEXT_MAX] = "unset";
                if (limit_get(&ws->limits, d) > 0)
                        limit_format(d, limit_get(&ws->limits, d), now_text);
                if (limit_get(&old, d) > 0)
                        limit_format(d, limit_get(&old, d), was_text);
                if (add_note(p, "workspace %s: %s is now %s (was %s), but it is fixed when a workspace is created; to "
                             "apply it, destroy the workspace ('enclave workspace destroy %s') and run 'enclave up' "
                             "(its /home and /tmp are lost)", ws->name, d->key, now_text, was_text, ws->name) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int plan_workspace(ProjectPlan *p, ProjectWorkspaceStep *step, const WorkspaceSpec *ws,
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
        _cleanup_(json_decrefp) json_t *want = workspace_spec_to_json(ws, SPEC_JSON_DEFINITION);
        if (!want)
                return -ENOMEM;
        step->changed = spec_definition_diff(want, have->definition);
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
        strv_sort(p->orphans);
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
