/* Carrying out the plan of `enclave up` (project-up.h). */
#include "engine/project-up.h"
#include "base/crashpoint.h"
#include "base/log.h"
#include "base/str.h"
#include "engine/network.h"
#include "engine/project-current.h"
#include "engine/project-start.h"
#include "engine/sandbox.h"
#include "engine/workspace-engine.h"
#include "registry/registry-project.h"

#include <stdarg.h>

/* ---- reporting ---- */

void project_report_step(const ProjectReporter *rep, const char *step, const char *workspace, const char *status,
                         const char *fmt, ...)
{
        if (!rep->step)
                return;
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = str_vprintf(fmt, ap);
        va_end(ap);
        rep->step(rep->userdata, step, workspace, status, msg ? msg : "");
}

bool project_report_cancelled(const ProjectReporter *rep)
{
        return rep->cancelled && rep->cancelled(rep->userdata);
}

/* ---- the run of one up ---- */

typedef struct Up {
        Engine *eng;
        Registry *reg;
        const Enclavefile *ef;
        const ProjectPlan *plan;
        const ProjectCaller *caller;
        const ProjectReporter *rep;
        json_t *workspaces;   /* result entries, in document order */
        json_t *warnings;
        json_t *removed;
        StrBuf failures;      /* "workspace web: starting: ..." joined by "; " */
        size_t n_failed;
        size_t setup_commands;
        bool setup_ran;
} Up;

static void up_done(Up *u)
{
        json_decref(u->workspaces);
        json_decref(u->warnings);
        json_decref(u->removed);
        strbuf_done(&u->failures);
}

static const char *sandbox_name(Up *u)
{
        return u->ef->sandbox.name;
}

static void up_warning(Up *u, const char *msg)
{
        (void) json_array_append_new(u->warnings, json_string(msg));
        if (u->rep->warning)
                u->rep->warning(u->rep->userdata, msg);
}

static void up_warnings(Up *u, char *const *list)
{
        STRV_FOREACH(w, list) {
                log_warn("%s", *w);
                up_warning(u, *w);
        }
}

static void up_failed(Up *u, const char *step, const char *ws, const Error *err)
{
        project_report_step(u->rep, step, ws, "failed", "%s", error_msg(err));
        log_warn("up %s: %s%s%s", sandbox_name(u), ws ? ws : "", ws ? ": " : "", error_msg(err));
        strbuf_printf(&u->failures, "%s%s%s%s", u->n_failed++ ? "; " : "", ws ? "workspace " : "", ws ? ws : "",
                      ws ? ": " : "");
        strbuf_puts(&u->failures, error_msg(err));
}

/* -- sandbox steps (a failure ends the run) -- */

static int up_sandbox_destroy(Up *u, Error *err)
{
        const char *sb = sandbox_name(u);
        project_report_step(u->rep, "sandbox.destroy", NULL, "begin", "destroying sandbox %s (--rebuild)", sb);
        _cleanup_(sandbox_row_done) SandboxRow row = {};
        int r = registry_sandbox_get(u->reg, sb, &row, err);
        if (r >= 0)
                r = sandbox_destroy(u->eng, u->reg, &row, true, err);
        if (r < 0)
                return error_wrap(err, "up: destroying sandbox %s for --rebuild", sb);
        project_report_step(u->rep, "sandbox.destroy", NULL, "done", "destroyed sandbox %s", sb);
        return 0;
}

static int up_sandbox_create(Up *u, char ***warnings, Error *err)
{
        const char *sb = sandbox_name(u);
        project_report_step(u->rep, "sandbox.create", NULL, "begin", "creating sandbox %s (%s, %s)", sb,
                            u->ef->sandbox.suite, u->ef->sandbox.bootstrap_method);
        int r = sandbox_create(u->eng, u->reg, &u->ef->sandbox, u->caller->uid, u->caller->max_sandboxes,
                               &u->rep->monitor, warnings, err);
        if (r < 0)
                return error_wrap(err, "up");
        project_report_step(u->rep, "sandbox.create", NULL, "done", "created sandbox %s", sb);
        return 0;
}

static int up_sandbox_start(Up *u, char ***warnings, Error *err)
{
        const char *sb = sandbox_name(u);
        _cleanup_(sandbox_row_done) SandboxRow row = {};
        int r = registry_sandbox_get(u->reg, sb, &row, err);
        if (r >= 0)
                r = sandbox_start(u->eng, u->reg, &row, false, NULL, warnings, err);
        if (r < 0)
                return error_wrap(err, "up: starting sandbox %s", sb);
        project_report_step(u->rep, "sandbox.start", NULL, "done", "sandbox %s is ready", sb);
        return 0;
}

static int up_sandbox_caps(Up *u, char ***warnings, Error *err)
{
        const char *sb = sandbox_name(u);
        int r = sandbox_set_caps(u->eng, u->reg, &u->ef->sandbox, warnings, err);
        if (r < 0)
                return error_wrap(err, "up: applying the caps of sandbox %s", sb);
        project_report_step(u->rep, "sandbox.caps", NULL, "done", "applied the new caps of sandbox %s", sb);
        return 0;
}

static int up_sandbox(Up *u, Error *err)
{
        const ProjectPlan *p = u->plan;
        _cleanup_strv_free_ char **warnings = NULL;
        int r = 0;

        if (p->destroy_sandbox)
                r = up_sandbox_destroy(u, err);
        if (r >= 0 && p->create_sandbox)
                r = up_sandbox_create(u, &warnings, err);
        if (r >= 0 && p->start_sandbox)
                r = up_sandbox_start(u, &warnings, err);
        if (r >= 0 && p->update_caps && !p->create_sandbox)
                r = up_sandbox_caps(u, &warnings, err);
        if (r < 0)
                return r;
        up_warnings(u, warnings);
        r = registry_project_set(u->reg, sandbox_name(u), u->ef->path, err);
        return r < 0 ? error_wrap(err, "up") : 0;
}

/* Setup changes the rootfs under running workspaces: stop them first;
 * the start phase brings the declared ones back. */
static int up_setup_stop_running(Up *u, Error *err)
{
        const char *sb = sandbox_name(u);
        _cleanup_(sandbox_row_done) SandboxRow row = {};
        int r = registry_sandbox_get(u->reg, sb, &row, err);
        if (r < 0)
                return error_wrap(err, "up");
        if (row.n_running == 0)
                return 0;
        project_report_step(u->rep, "workspace.stop", NULL, "begin", "stopping %lld workspace(s): the setup list changed",
                            (long long) row.n_running);
        r = workspaces_stop_all_in_sandbox(u->eng, u->reg, row.id, err);
        if (r < 0)
                return error_wrap(err, "up: stopping the workspaces of %s before setup", sb);
        return 0;
}

static int up_setup(Up *u, Error *err)
{
        const char *sb = sandbox_name(u);
        if (!u->plan->run_setup)
                return 0;
        if (!u->plan->create_sandbox) {
                int r = up_setup_stop_running(u, err);
                if (r < 0)
                        return r;
        }
        size_t n = strv_length(u->ef->sandbox.setup);
        project_report_step(u->rep, "setup", NULL, "begin", "running %zu setup command(s) in sandbox %s", n, sb);
        _cleanup_(sandbox_row_done) SandboxRow row = {};
        SetupResult res = {};
        int r = registry_sandbox_get(u->reg, sb, &row, err);
        if (r >= 0)
                r = sandbox_setup(u->eng, u->reg, &row, u->ef->sandbox.setup, &u->rep->monitor, &res, err);
        if (r < 0)
                return error_wrap(err, "up: setup of sandbox %s (fix the command; the next 'enclave up' runs the "
                                  "setup list again)", sb);
        u->setup_ran = true;
        u->setup_commands = res.commands_run;
        project_report_step(u->rep, "setup", NULL, "done", "setup of sandbox %s done (%zu command(s))", sb, n);
        return 0;
}

/* -- workspace steps (a failure is recorded; the others go on) -- */

/* The workspace area has no "update" yet: write the spec's config
 * members (registry-workspace.h) over the stored ones, keeping any
 * member it keeps besides (workspace_dir_id) and the limits made at
 * create (disk_mb: project.c notes that change), and replace the
 * declared ports — one transaction. The engine reads both at the next
 * start. */
static int workspace_update_config(Registry *reg, const WorkspaceRow *row, const WorkspaceSpec *ws, Error *err)
{
        _cleanup_(workspace_spec_done) WorkspaceSpec stored = {};
        int r = workspace_config_spec(row, &stored, err);
        if (r < 0)
                return r;
        WorkspaceSpec next = *ws;
        LIMIT_FOREACH(d)
                if (d->when == LIMIT_AT_CREATE)
                        limit_set(&next.limits, d, limit_get(&stored.limits, d));
        json_auto_t *cfg = json_deep_copy(row->config);
        json_auto_t *spec = workspace_spec_to_json(&next, SPEC_JSON_REGISTRY);
        if (!cfg || !spec || json_object_update(cfg, spec) < 0)
                return error_set(err, ENOMEM, "out of memory");
        _cleanup_txn_ RegistryTxn txn = {};
        r = registry_txn_begin(reg, &txn, err);
        if (r < 0)
                return r;
        r = registry_run(reg, err, "UPDATE workspaces SET config = ?, updated_at = unixepoch() WHERE id = ?", "ji", cfg,
                         row->id);
        if (r >= 0)
                r = network_ports_declare(reg, row->id, ws->ports, ws->n_ports, err);
        if (r < 0)
                return error_wrap(err, "storing the new definition");
        return registry_txn_commit(&txn, err);
}

static int up_ws_create(Up *u, const WorkspaceSpec *ws, Error *err)
{
        int64_t id;
        int r = workspace_engine_create(u->eng, u->reg, u->caller->uid, sandbox_name(u), ws, &id, err);
        if (r < 0)
                return error_wrap(err, "creating");
        project_report_step(u->rep, "workspace.create", ws->name, "done", "created workspace %s", ws->name);
        return 0;
}

static int up_ws_update(Up *u, const WorkspaceRow *row, const ProjectWorkspaceStep *s, Error *err)
{
        const WorkspaceSpec *ws = s->ws;
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        STRV_FOREACH(k, s->changed)
                strbuf_printf(&b, "%s%s", b.len ? ", " : "", *k);
        if (!row)
                return error_set(err, ENOENT, "it disappeared meanwhile");
        int r;
        if (s->restart) {
                WorkspaceStopInfo info = {};
                r = workspace_engine_stop(u->eng, u->reg, sandbox_name(u), ws->name, WORKSPACE_STOP_GRACE_MS_DEFAULT,
                                          &info, err);
                if (r < 0)
                        return error_wrap(err, "stopping it to apply its new definition");
        }
        r = workspace_update_config(u->reg, row, ws, err);
        if (r < 0)
                return r;
        if (s->republish) {
                network_ports_stop(u->eng, row->id);
                r = network_ports_start(u->eng, row->id, err);
                if (r < 0)
                        return error_wrap(err, "publishing its new ports");
        }
        project_report_step(u->rep, "workspace.update", ws->name, "done", "updated workspace %s (%s)%s", ws->name,
                            b.data ? b.data : "", s->restart ? "; restarting it" : "");
        return 0;
}

/* Define (create / update / republish) one workspace; starting comes
 * after all are defined. Returns < 0 with err on failure. */
static int up_ws_define(Up *u, const ProjectState *cur, const ProjectWorkspaceStep *s, Error *err)
{
        switch (s->action) {
        case PROJECT_WS_CREATE:
                return up_ws_create(u, s->ws, err);
        case PROJECT_WS_UPDATE:
                return up_ws_update(u, project_state_row(cur, s->ws->name), s, err);
        default:
                return 0;
        }
}

static int up_orphans(Up *u)
{
        if (!u->plan->remove_orphans)
                return 0;
        STRV_FOREACH(o, u->plan->orphans) {
                _cleanup_error_ Error e = ERROR_INIT;
                if (project_report_cancelled(u->rep))
                        return -ECANCELED;
                if (workspace_engine_destroy(u->eng, u->reg, sandbox_name(u), *o, WORKSPACE_STOP_GRACE_MS_DEFAULT,
                                             &e) < 0) {
                        error_wrap(&e, "removing it (--remove-orphans)");
                        up_failed(u, "workspace.destroy", *o, &e);
                        continue;
                }
                (void) json_array_append_new(u->removed, json_string(*o));
                project_report_step(u->rep, "workspace.destroy", *o, "done",
                                    "removed workspace %s (not in the Enclavefile)", *o);
        }
        return 0;
}

/* Define every workspace (slots[i].wanted: defined and to be started;
 * defined[i]: defined). -ECANCELED when cancelled part way. */
static int up_define_all(Up *u, const ProjectState *cur, ProjectStartSlot *slots, bool *defined)
{
        const ProjectPlan *p = u->plan;
        for (size_t i = 0; i < p->n_workspaces; i++) {
                const ProjectWorkspaceStep *s = &p->workspaces[i];
                _cleanup_error_ Error e = ERROR_INIT;
                if (project_report_cancelled(u->rep))
                        return -ECANCELED;
                defined[i] = up_ws_define(u, cur, s, &e) >= 0;
                if (!defined[i])
                        up_failed(u, "workspace.define", s->ws->name, &e);
                slots[i] = (ProjectStartSlot) { .name = s->ws->name, .wanted = defined[i] && (s->start || s->restart) };
        }
        return 0;
}

/* One workspace's entry of the result, its failure and warnings. */
static void up_ws_outcome(Up *u, const ProjectWorkspaceStep *s, ProjectStartSlot *slot, bool defined)
{
        bool started = slot->wanted && slot->r >= 0;
        if (slot->wanted && slot->r < 0) {
                error_wrap(&slot->err, "starting");
                up_failed(u, "workspace.start", slot->name, &slot->err);
        }
        up_warnings(u, slot->warnings);
        json_t *j = json_pack("{s:s, s:s, s:o, s:b, s:b, s:b}", "name", slot->name, "action",
                              project_workspace_action_to_string(s->action), "changed", strv_to_json(s->changed),
                              "restarted", started && s->restart, "started", started, "ok",
                              defined && (!slot->wanted || started));
        if (j && slot->pid > 0)
                json_object_set_new(j, "pid", json_integer(slot->pid));
        if (j)
                (void) json_array_append_new(u->workspaces, j);
}

static int up_workspaces(Up *u, const ProjectState *cur)
{
        const ProjectPlan *p = u->plan;
        ProjectStartSlot *slots = calloc(p->n_workspaces + 1, sizeof *slots);
        _cleanup_free_ bool *defined = calloc(p->n_workspaces + 1, sizeof *defined);
        if (!slots || !defined) {
                free(slots);
                return -ENOMEM;
        }
        int r = up_define_all(u, cur, slots, defined);
        crash_point(CRASH_POINT_PROJECT_UP_CREATED);
        if (r >= 0) {
                project_start_all(u->eng, u->reg, sandbox_name(u), u->rep, slots, p->n_workspaces);
                for (size_t i = 0; i < p->n_workspaces; i++)
                        up_ws_outcome(u, &p->workspaces[i], &slots[i], defined[i]);
        }
        project_start_slots_free(slots, p->n_workspaces);
        return r;
}

/* ---- project_up ---- */

static void note_takeover(Up *u)
{
        _cleanup_free_ char *owner = NULL;
        if (registry_project_get(u->reg, sandbox_name(u), &owner, NULL) < 0 || !owner || streq(owner, u->ef->path))
                return;
        _cleanup_free_ char *msg = NULL;
        if (asprintf(&msg, "sandbox %s was brought up from %s before; it now follows %s", sandbox_name(u), owner,
                     u->ef->path) < 0)
                return;
        up_warning(u, msg);
}

static json_t *up_result(Up *u)
{
        return json_pack("{s:s, s:s, s:b, s:b, s:{s:b, s:I}, s:O, s:o, s:O, s:O, s:o}",
                         "sandbox", sandbox_name(u),
                         "project", u->ef->path,
                         "created", u->plan->create_sandbox,
                         "rebuilt", u->plan->destroy_sandbox,
                         "setup", "ran", u->setup_ran, "commands", (json_int_t) u->setup_commands,
                         "workspaces", u->workspaces,
                         "orphans", strv_to_json(u->plan->orphans),
                         "removed_orphans", u->removed,
                         "warnings", u->warnings,
                         "notes", strv_to_json(u->plan->notes));
}

/* Everything after the plan: the steps, then the outcome. */
static int up_run(Up *u, const ProjectState *cur, json_t **ret, Error *err)
{
        const char *sb = sandbox_name(u);
        STRV_FOREACH(n, u->plan->notes)
                if (u->rep->note)
                        u->rep->note(u->rep->userdata, *n);
        if (cur->exists && !u->plan->destroy_sandbox)
                note_takeover(u);

        int r = up_sandbox(u, err);
        if (r >= 0)
                r = up_setup(u, err);
        if (r < 0)
                return r;
        if (up_orphans(u) < 0 || up_workspaces(u, cur) < 0)
                return error_set(err, ECANCELED, "up of %s was cancelled; run 'enclave up' again to finish", sb);
        if (u->n_failed > 0)
                return error_set(err, EIO, "up of %s: %zu step(s) failed: %s. The rest is up; fix the cause and run "
                                 "'enclave up' again to finish", sb, u->n_failed,
                                 u->failures.data ? u->failures.data : "");
        *ret = up_result(u);
        return *ret ? 0 : error_set(err, ENOMEM, "out of memory");
}

int project_up(Engine *eng, Registry *reg, const Enclavefile *ef, const ProjectOptions *opts,
               const ProjectCaller *caller, const ProjectReporter *rep, json_t **ret, Error *err)
{
        _cleanup_(project_state_done) ProjectState cur = {};
        int r = project_state_load(reg, ef->sandbox.name, &cur, err);
        if (r < 0)
                return error_wrap(err, "up: reading the registry");
        ProjectCurrent view = project_state_view(&cur);
        _cleanup_project_plan_ ProjectPlan *plan = NULL;
        r = project_plan_build(ef, &view, opts, &plan, err);
        if (r < 0)
                return error_wrap(err, "up");
        if (rep->plan)
                rep->plan(rep->userdata, plan);
        log_info("up %s from %s (uid %u)%s", ef->sandbox.name, ef->path, (unsigned) caller->uid,
                 project_plan_is_noop(plan) ? ": nothing to change" : "");

        _cleanup_(up_done) Up u = {
                .eng = eng, .reg = reg, .ef = ef, .plan = plan, .caller = caller, .rep = rep,
                .workspaces = json_array(), .warnings = json_array(), .removed = json_array(),
        };
        if (!u.workspaces || !u.warnings || !u.removed)
                return error_set(err, ENOMEM, "out of memory");
        return up_run(&u, &cur, ret, err);
}
