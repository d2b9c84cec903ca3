/* project.up, project.down and project.ps: the daemon's side of
 * `enclave up`, `down`, `restart` and `ps` (SPEC §3, docs/lifecycle.md).
 *
 * The CLI sends the whole validated Enclavefile in one request; up
 * compares it with the registry (project_plan_build()), then carries out
 * the plan step by step, streaming one "step" event per step:
 *
 *   {"type": "step", "step": "workspace.start", "workspace": "web",
 *    "status": "done", "message": "started web (pid 4242)"}
 *
 * and forwarding setup output as "progress" events. Every step is
 * idempotent and leaves a consistent registry, so when one fails the
 * next up carries on from there: the error names the step, the
 * workspace and the cause. Workspace steps go on after one workspace
 * fails (the others still come up); sandbox steps stop the run. */
#include "daemon/action.h"
#include "base/crashpoint.h"
#include "daemon/call.h"
#include "daemon/daemon.h"
#include "engine/network.h"
#include "daemon/owner.h"
#include "engine/project.h"
#include "registry/registry-project.h"
#include "engine/project-ps.h"
#include "registry/registry-network.h"
#include "registry/registry-sandbox.h"
#include "registry/registry-workspace.h"
#include "engine/workspace-engine.h"
#include "engine/sandbox.h"
#include "base/log.h"
#include "base/str.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- events ---- */

static void step_event(Call *c, const char *step, const char *workspace, const char *status, const char *fmt, ...)
        _printf_(5, 6);
static void step_event(Call *c, const char *step, const char *workspace, const char *status, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        json_t *ev = json_pack("{s:s, s:s, s:s?, s:s, s:s}", "type", "step", "step", step, "workspace", workspace,
                               "status", status, "message", msg ? msg : "");
        if (ev)
                (void) call_event(c, ev);
}

static void warning_events(Call *c, json_t *warnings, char *const *list)
{
        STRV_FOREACH(w, list) {
                log_warn("%s", *w);
                (void) json_array_append_new(warnings, json_string(*w));
                json_t *ev = json_pack("{s:s, s:s}", "type", "warning", "message", *w);
                if (ev)
                        (void) call_event(c, ev);
        }
}

static int on_progress(const StorageProgress *p, void *userdata)
{
        Call *c = userdata;
        if (call_cancelled(c))
                return -ECANCELED;
        json_t *ev = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s?}", "type", "progress", "stage",
                               progress_stage_to_string(p->stage) ?: "info", "message", p->message ?: "", "current",
                               (json_int_t) p->done, "total", (json_int_t) p->total, "bytes", (json_int_t) p->bytes,
                               "bytes_total", (json_int_t) p->bytes_total, "item", p->item);
        if (ev && call_event(c, ev) == -ECONNRESET)
                return -ECANCELED;
        return 0;
}

static StorageMonitor call_monitor(Call *c)
{
        return (StorageMonitor) { .progress = on_progress, .userdata = c, .cancel = &c->cancelled };
}

static uint64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* ---- the current state ---- */

typedef struct Current {
        SandboxRow sandbox;
        bool exists;
        WorkspaceRow *rows;
        size_t n_rows;
        ProjectCurrentWorkspace *workspaces;
        json_t **definitions;
        ProjectCurrent view;
} Current;

static void current_done(Current *c)
{
        sandbox_row_done(&c->sandbox);
        for (size_t i = 0; i < c->n_rows; i++)
                json_decref(c->definitions ? c->definitions[i] : NULL);
        free(c->definitions);
        free(c->workspaces);
        workspace_rows_free(c->rows, c->n_rows);
        *c = (Current) {};
}

/* What the registry says a workspace is: its config plus its declared
 * ports, as a definition the plan compares (spec/spec.h). */
static int definition_of_row(Registry *reg, const WorkspaceRow *row, json_t **ret, Error *err)
{
        _cleanup_(workspace_spec_done) WorkspaceSpec spec = {};
        int r = workspace_config_spec(row, &spec, err);
        if (r < 0)
                return r;
        NetPort *ports = NULL;
        size_t n_ports = 0;
        r = registry_ports_list(reg, row->id, &ports, &n_ports, err);
        if (r < 0)
                return r;
        spec.ports = calloc(n_ports + 1, sizeof *spec.ports);
        for (size_t i = 0; spec.ports && i < n_ports; i++)
                if (ports[i].declared)
                        spec.ports[spec.n_ports++] = (PortSpec) { ports[i].host_port, ports[i].workspace_port };
        free(ports);
        if (!spec.ports)
                return error_set(err, ENOMEM, "out of memory");
        *ret = workspace_spec_to_json(&spec, SPEC_JSON_DEFINITION);
        return *ret ? 0 : error_set(err, ENOMEM, "out of memory");
}

static int current_load(Registry *reg, const char *sandbox, Current *ret, Error *err)
{
        _cleanup_error_ Error gerr = ERROR_INIT;
        int r = registry_sandbox_get(reg, sandbox, &ret->sandbox, &gerr);
        if (r == -ENOENT)
                return 0;
        if (r < 0) {
                error_move(err, &gerr);
                return r;
        }
        ret->exists = true;
        r = registry_workspace_list(reg, ret->sandbox.id, &ret->rows, &ret->n_rows, err);
        if (r < 0)
                return r;
        ret->workspaces = calloc(ret->n_rows + 1, sizeof *ret->workspaces);
        ret->definitions = calloc(ret->n_rows + 1, sizeof *ret->definitions);
        if (!ret->workspaces || !ret->definitions)
                return error_set(err, ENOMEM, "out of memory");
        for (size_t i = 0; i < ret->n_rows; i++) {
                r = definition_of_row(reg, &ret->rows[i], &ret->definitions[i], err);
                if (r < 0)
                        return r;
                ret->workspaces[i] = (ProjectCurrentWorkspace) { ret->rows[i].name, ret->rows[i].state,
                                                                 ret->definitions[i] };
        }
        return 0;
}

static ProjectCurrent current_view(const Current *c)
{
        if (!c->exists)
                return (ProjectCurrent) {};
        return (ProjectCurrent) {
                .sandbox_exists = true,
                .sandbox_state = c->sandbox.state,
                .setup_digest = c->sandbox.setup_digest,
                .suite = c->sandbox.suite,
                .mirror = c->sandbox.mirror,
                .bootstrap_method = c->sandbox.bootstrap_method,
                .caps = c->sandbox.caps,
                .workspaces = c->workspaces,
                .n_workspaces = c->n_rows,
        };
}

static const WorkspaceRow *current_row(const Current *c, const char *name)
{
        for (size_t i = 0; i < c->n_rows; i++)
                if (streq(c->rows[i].name, name))
                        return &c->rows[i];
        return NULL;
}

/* ---- the run of one up ---- */

typedef struct Up {
        Call *call;
        Daemon *d;
        Registry *reg;
        const Enclavefile *ef;
        const ProjectPlan *plan;
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

static void up_failed(Up *u, const char *step, const char *ws, const Error *err)
{
        step_event(u->call, step, ws, "failed", "%s", error_msg(err));
        log_warn("up %s: %s%s%s", u->ef->sandbox.name, ws ? ws : "", ws ? ": " : "", error_msg(err));
        strbuf_printf(&u->failures, "%s%s%s%s", u->n_failed++ ? "; " : "", ws ? "workspace " : "", ws ? ws : "",
                      ws ? ": " : "");
        strbuf_puts(&u->failures, error_msg(err));
}

static const char *sandbox_name(Up *u)
{
        return u->ef->sandbox.name;
}

/* -- sandbox steps (a failure ends the run) -- */

static int up_sandbox(Up *u, Error *err)
{
        const ProjectPlan *p = u->plan;
        const char *sb = sandbox_name(u);
        StorageMonitor mon = call_monitor(u->call);
        _cleanup_strv_free_ char **warnings = NULL;
        int r;

        if (p->destroy_sandbox) {
                step_event(u->call, "sandbox.destroy", NULL, "begin", "destroying sandbox %s (--rebuild)", sb);
                _cleanup_(sandbox_row_done) SandboxRow row = {};
                r = registry_sandbox_get(u->reg, sb, &row, err);
                if (r >= 0)
                        r = sandbox_destroy(&u->d->engine, u->reg, &row, true, err);
                if (r < 0)
                        return error_wrap(err, "up: destroying sandbox %s for --rebuild", sb);
                step_event(u->call, "sandbox.destroy", NULL, "done", "destroyed sandbox %s", sb);
        }
        if (p->create_sandbox) {
                step_event(u->call, "sandbox.create", NULL, "begin", "creating sandbox %s (%s, %s)", sb,
                           u->ef->sandbox.suite, u->ef->sandbox.bootstrap_method);
                r = sandbox_create(&u->d->engine, u->reg, &u->ef->sandbox, call_uid(u->call),
                                   owner_cap(u->call, u->d->engine.settings.max_sandboxes_per_user), &mon, &warnings, err);
                if (r < 0)
                        return error_wrap(err, "up");
                step_event(u->call, "sandbox.create", NULL, "done", "created sandbox %s", sb);
        }
        if (p->start_sandbox) {
                _cleanup_(sandbox_row_done) SandboxRow row = {};
                r = registry_sandbox_get(u->reg, sb, &row, err);
                if (r >= 0)
                        r = sandbox_start(&u->d->engine, u->reg, &row, false, NULL, &warnings, err);
                if (r < 0)
                        return error_wrap(err, "up: starting sandbox %s", sb);
                step_event(u->call, "sandbox.start", NULL, "done", "sandbox %s is ready", sb);
        }
        if (p->update_caps && !p->create_sandbox) {
                r = sandbox_set_caps(&u->d->engine, u->reg, &u->ef->sandbox, &warnings, err);
                if (r < 0)
                        return error_wrap(err, "up: applying the caps of sandbox %s", sb);
                step_event(u->call, "sandbox.caps", NULL, "done", "applied the new caps of sandbox %s", sb);
        }
        warning_events(u->call, u->warnings, warnings);
        r = registry_project_set(u->reg, sb, u->ef->path, err);
        return r < 0 ? error_wrap(err, "up") : 0;
}

/* Setup changes the rootfs under running workspaces: stop them first;
 * the start phase brings the declared ones back. */
static int up_setup(Up *u, Error *err)
{
        const char *sb = sandbox_name(u);
        if (!u->plan->run_setup)
                return 0;
        if (!u->plan->create_sandbox) {
                _cleanup_(sandbox_row_done) SandboxRow row = {};
                int r = registry_sandbox_get(u->reg, sb, &row, err);
                if (r < 0)
                        return error_wrap(err, "up");
                if (row.n_running > 0) {
                        step_event(u->call, "workspace.stop", NULL, "begin",
                                   "stopping %lld workspace(s): the setup list changed", (long long) row.n_running);
                        r = workspaces_stop_all_in_sandbox(&u->d->engine, u->reg, row.id, err);
                        if (r < 0)
                                return error_wrap(err, "up: stopping the workspaces of %s before setup", sb);
                }
        }
        size_t n = strv_length(u->ef->sandbox.setup);
        step_event(u->call, "setup", NULL, "begin", "running %zu setup command(s) in sandbox %s", n, sb);
        StorageMonitor mon = call_monitor(u->call);
        _cleanup_(sandbox_row_done) SandboxRow row = {};
        SetupResult res = {};
        int r = registry_sandbox_get(u->reg, sb, &row, err);
        if (r >= 0)
                r = sandbox_setup(&u->d->engine, u->reg, &row, u->ef->sandbox.setup, &mon, &res, err);
        if (r < 0)
                return error_wrap(err, "up: setup of sandbox %s (fix the command; the next 'enclave up' runs the "
                                  "setup list again)", sb);
        u->setup_ran = true;
        u->setup_commands = res.commands_run;
        step_event(u->call, "setup", NULL, "done", "setup of sandbox %s done (%zu command(s))", sb, n);
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
        return workspace_engine_create(&u->d->engine, u->reg, call_uid(u->call), sandbox_name(u), ws, &id, err);
}

static int up_ws_stop(Up *u, const char *name, Error *err)
{
        WorkspaceStopInfo info = {};
        return workspace_engine_stop(&u->d->engine, u->reg, sandbox_name(u), name, WORKSPACE_STOP_GRACE_MS_DEFAULT, &info, err);
}

/* Define (create / update / republish) one workspace; starting comes
 * after all are defined. Returns < 0 with err on failure. */
static int up_ws_define(Up *u, const Current *cur, const ProjectWorkspaceStep *s, Error *err)
{
        const WorkspaceSpec *ws = s->ws;
        const WorkspaceRow *row = current_row(cur, ws->name);
        int r;

        switch (s->action) {
        case PROJECT_WS_CREATE:
                r = up_ws_create(u, ws, err);
                if (r < 0)
                        return error_wrap(err, "creating");
                step_event(u->call, "workspace.create", ws->name, "done", "created workspace %s", ws->name);
                return 0;
        case PROJECT_WS_UPDATE: {
                _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
                STRV_FOREACH(k, s->changed)
                        strbuf_printf(&b, "%s%s", b.len ? ", " : "", *k);
                if (!row)
                        return error_set(err, ENOENT, "it disappeared meanwhile");
                if (s->restart) {
                        r = up_ws_stop(u, ws->name, err);
                        if (r < 0)
                                return error_wrap(err, "stopping it to apply its new definition");
                }
                r = workspace_update_config(u->reg, row, ws, err);
                if (r < 0)
                        return r;
                if (s->republish) {
                        network_ports_stop(&u->d->engine, row->id);
                        r = network_ports_start(&u->d->engine, row->id, err);
                        if (r < 0)
                                return error_wrap(err, "publishing its new ports");
                }
                step_event(u->call, "workspace.update", ws->name, "done", "updated workspace %s (%s)%s", ws->name,
                           b.data ? b.data : "", s->restart ? "; restarting it" : "");
                return 0;
        }
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
                if (call_cancelled(u->call))
                        return -ECANCELED;
                if (workspace_engine_destroy(&u->d->engine, u->reg, sandbox_name(u), *o, WORKSPACE_STOP_GRACE_MS_DEFAULT, &e) < 0) {
                        error_wrap(&e, "removing it (--remove-orphans)");
                        up_failed(u, "workspace.destroy", *o, &e);
                        continue;
                }
                (void) json_array_append_new(u->removed, json_string(*o));
                step_event(u->call, "workspace.destroy", *o, "done", "removed workspace %s (not in the Enclavefile)",
                           *o);
        }
        return 0;
}

/* Starting runs on a few threads at once: most of a start is the
 * engine's own work (cgroups, veth, registry commit), which overlaps
 * well; each thread has its own registry connection. */
#define UP_START_THREADS 4

typedef struct StartSlot {
        const char *name;
        bool wanted;
        int r;
        pid_t pid;
        char **warnings;
        Error err;
} StartSlot;

typedef struct StartPool {
        Up *u;
        StartSlot *slots;
        size_t n;
        atomic_size_t next;
} StartPool;

static void start_one(StartPool *pool, Registry *reg, StartSlot *s)
{
        WorkspaceStartInfo info = {};
        s->r = workspace_engine_start(&pool->u->d->engine, reg, sandbox_name(pool->u), s->name, &info, &s->err);
        if (s->r >= 0) {
                crash_point(CRASH_POINT_PROJECT_UP_STARTED);
                s->pid = info.pid;
                s->warnings = TAKE_PTR(info.warnings);
                step_event(pool->u->call, "workspace.start", s->name, "done", "started %s (pid %d)", s->name,
                           (int) s->pid);
        }
        workspace_start_info_done(&info);
}

static void *start_thread(void *arg)
{
        StartPool *pool = arg;
        _cleanup_registry_ Registry *reg = NULL;
        _cleanup_error_ Error oerr = ERROR_INIT;
        int ro = registry_open(pool->u->d->engine.registry_path, &reg, &oerr);
        for (;;) {
                size_t i = atomic_fetch_add(&pool->next, 1);
                if (i >= pool->n)
                        break;
                StartSlot *s = &pool->slots[i];
                if (!s->wanted)
                        continue;
                if (call_cancelled(pool->u->call))
                        s->r = error_set(&s->err, ECANCELED, "cancelled");
                else if (ro < 0)
                        s->r = error_set(&s->err, oerr.code, "%s", error_msg(&oerr));
                else
                        start_one(pool, reg, s);
        }
        return NULL;
}

static void start_all(Up *u, StartSlot *slots, size_t n)
{
        StartPool pool = { .u = u, .slots = slots, .n = n };
        size_t wanted = 0;
        for (size_t i = 0; i < n; i++)
                wanted += slots[i].wanted;
        pthread_t threads[UP_START_THREADS];
        size_t n_threads = 0;
        for (; wanted > 1 && n_threads < UP_START_THREADS && n_threads < wanted; n_threads++)
                if (pthread_create(&threads[n_threads], NULL, start_thread, &pool) != 0)
                        break;
        /* This thread takes part (and does everything alone when no
         * thread could be made), with the call's own connection. */
        for (;;) {
                size_t i = atomic_fetch_add(&pool.next, 1);
                if (i >= n)
                        break;
                if (slots[i].wanted && call_cancelled(u->call))
                        slots[i].r = error_set(&slots[i].err, ECANCELED, "cancelled");
                else if (slots[i].wanted)
                        start_one(&pool, u->reg, &slots[i]);
        }
        for (size_t t = 0; t < n_threads; t++)
                pthread_join(threads[t], NULL);
}

static int up_workspaces(Up *u, const Current *cur)
{
        const ProjectPlan *p = u->plan;
        StartSlot *slots = calloc(p->n_workspaces + 1, sizeof *slots);
        bool *defined = calloc(p->n_workspaces + 1, sizeof *defined);
        int r = 0;
        if (!slots || !defined) {
                free(slots);
                free(defined);
                return -ENOMEM;
        }
        for (size_t i = 0; i < p->n_workspaces && r >= 0; i++) {
                const ProjectWorkspaceStep *s = &p->workspaces[i];
                _cleanup_error_ Error e = ERROR_INIT;
                if (call_cancelled(u->call)) {
                        r = -ECANCELED;
                        break;
                }
                defined[i] = up_ws_define(u, cur, s, &e) >= 0;
                if (!defined[i])
                        up_failed(u, "workspace.define", s->ws->name, &e);
                slots[i] = (StartSlot) { .name = s->ws->name, .wanted = defined[i] && (s->start || s->restart) };
        }
        crash_point(CRASH_POINT_PROJECT_UP_CREATED);
        if (r >= 0)
                start_all(u, slots, p->n_workspaces);

        for (size_t i = 0; i < p->n_workspaces && r >= 0; i++) {
                const ProjectWorkspaceStep *s = &p->workspaces[i];
                StartSlot *slot = &slots[i];
                bool started = slot->wanted && slot->r >= 0;
                if (slot->wanted && slot->r < 0) {
                        error_wrap(&slot->err, "starting");
                        up_failed(u, "workspace.start", slot->name, &slot->err);
                }
                warning_events(u->call, u->warnings, slot->warnings);
                json_t *j = json_pack("{s:s, s:s, s:o, s:b, s:b, s:b}", "name", slot->name, "action",
                                      project_workspace_action_to_string(s->action), "changed", strv_to_json(s->changed),
                                      "restarted", started && s->restart, "started", started, "ok",
                                      defined[i] && (!slot->wanted || started));
                if (j && slot->pid > 0)
                        json_object_set_new(j, "pid", json_integer(slot->pid));
                if (j)
                        (void) json_array_append_new(u->workspaces, j);
        }
        for (size_t i = 0; i < p->n_workspaces; i++) {
                strv_free(slots[i].warnings);
                error_clear(&slots[i].err);
        }
        free(slots);
        free(defined);
        return r;
}

/* ---- project.up ---- */

static int up_params(Call *c, Enclavefile **ret_ef, ProjectOptions *ret_opts, Error *err)
{
        int r = call_param_bool(c, "rebuild", false, &ret_opts->rebuild, err);
        if (r >= 0)
                r = call_param_bool(c, "remove_orphans", false, &ret_opts->remove_orphans, err);
        if (r < 0)
                return r;
        json_t *cfg = json_object_get(call_params(c), "config");
        if (!cfg)
                return error_set(err, EINVAL, "missing parameter 'config' (the resolved Enclavefile)");
        return project_config_from_json(cfg, ret_ef, err);
}

/* A workspace_dir becomes root's /home inside the workspace: only its
 * owner (or root) may hand it in, as with workspace.create. Checked for
 * the whole file before anything changes. */
static int check_workspace_dirs(Call *c, const Enclavefile *ef, Error *err)
{
        for (size_t i = 0; i < ef->n_workspaces; i++) {
                const WorkspaceSpec *ws = &ef->workspaces[i];
                struct stat st;
                if (!ws->workspace_dir)
                        continue;
                if (stat(ws->workspace_dir, &st) < 0)
                        return error_setc(err, errno, "workspace %s: workspace_dir %s", ws->name, ws->workspace_dir);
                if (!S_ISDIR(st.st_mode))
                        return error_set(err, ENOTDIR, "workspace %s: workspace_dir %s is not a directory", ws->name,
                                         ws->workspace_dir);
                if (call_uid(c) != 0 && st.st_uid != call_uid(c))
                        return error_set(err, EPERM, "workspace %s: workspace_dir %s belongs to uid %u, not to you "
                                         "(uid %u)", ws->name, ws->workspace_dir, (unsigned) st.st_uid,
                                         (unsigned) call_uid(c));
        }
        return 0;
}

/* An Enclavefile acts on its caller's own sandbox: a name another uid
 * holds is refused before anything changes (root included, so nothing
 * of root's project lands in a user's sandbox); host ports below 1024
 * need root, and a user bootstraps only from the allowed mirrors. */
static int check_ownership(Call *c, Registry *reg, const Enclavefile *ef, Error *err)
{
        const char *name = ef->sandbox.name;
        int64_t owner;
        _cleanup_error_ Error qerr = ERROR_INIT;
        int r = registry_query_int64(reg, &owner, &qerr, "SELECT owner_uid FROM sandboxes WHERE name = ?", "t", name);
        if (r < 0 && r != -ENOENT) {
                error_move(err, &qerr);
                return r;
        }
        if (r >= 0 && (uid_t) owner != call_uid(c)) {
                if (call_uid(c) != 0)
                        return error_set(err, EEXIST, "the sandbox name '%s' is taken; choose another name in "
                                         "[sandbox]", name);
                return error_set(err, EPERM, "sandbox %s belongs to uid %lld, and an Enclavefile only acts on its "
                                 "caller's own sandbox; choose another name in [sandbox]", name, (long long) owner);
        }
        for (size_t i = 0; i < ef->n_workspaces; i++) {
                r = owner_check_ports(c, ef->workspaces[i].ports, ef->workspaces[i].n_ports, err);
                if (r < 0)
                        return error_wrap(err, "workspace %s", ef->workspaces[i].name);
        }
        if (streq(ef->sandbox.bootstrap_method, "debootstrap"))
                return owner_check_mirror(c, &call_daemon(c)->engine.settings, ef->sandbox.mirror, err);
        return 0;
}

static void note_takeover(Up *u)
{
        _cleanup_free_ char *owner = NULL;
        if (registry_project_get(u->reg, sandbox_name(u), &owner, NULL) < 0 || !owner || streq(owner, u->ef->path))
                return;
        _cleanup_free_ char *msg = NULL;
        if (asprintf(&msg, "sandbox %s was brought up from %s before; it now follows %s", sandbox_name(u), owner,
                     u->ef->path) < 0)
                return;
        (void) json_array_append_new(u->warnings, json_string(msg));
        json_t *ev = json_pack("{s:s, s:s}", "type", "warning", "message", msg);
        if (ev)
                (void) call_event(u->call, ev);
}

static json_t *up_result(Up *u, uint64_t started_ms)
{
        return json_pack("{s:s, s:s, s:b, s:b, s:{s:b, s:I}, s:O, s:o, s:O, s:O, s:o, s:I}",
                         "sandbox", sandbox_name(u),
                         "project", u->ef->path,
                         "created", u->plan->create_sandbox,
                         "rebuilt", u->plan->destroy_sandbox,
                         "setup", "ran", u->setup_ran, "commands", (json_int_t) u->setup_commands,
                         "workspaces", u->workspaces,
                         "orphans", strv_to_json(u->plan->orphans),
                         "removed_orphans", u->removed,
                         "warnings", u->warnings,
                         "notes", strv_to_json(u->plan->notes),
                         "elapsed_ms", (json_int_t) (now_ms() - started_ms));
}

static int action_project_up(Call *c, Error *err)
{
        uint64_t t0 = now_ms();
        _cleanup_enclavefile_ Enclavefile *ef = NULL;
        ProjectOptions opts = {};
        int r = up_params(c, &ef, &opts, err);
        if (r >= 0)
                r = check_workspace_dirs(c, ef, err);
        if (r < 0)
                return error_wrap(err, "up");
        Registry *reg = call_registry(c, err);
        if (!reg)
                return -EIO;
        r = check_ownership(c, reg, ef, err);
        if (r < 0)
                return error_wrap(err, "up");

        _cleanup_(current_done) Current cur = {};
        r = current_load(reg, ef->sandbox.name, &cur, err);
        if (r < 0)
                return error_wrap(err, "up: reading the registry");
        ProjectCurrent view = current_view(&cur);
        _cleanup_project_plan_ ProjectPlan *plan = NULL;
        r = project_plan_build(ef, &view, &opts, &plan, err);
        if (r < 0)
                return error_wrap(err, "up");
        json_t *pj = project_plan_to_json(plan);
        if (pj)
                (void) call_event(c, json_pack("{s:s, s:o}", "type", "plan", "plan", pj));
        log_info("up %s from %s (uid %u)%s", ef->sandbox.name, ef->path, (unsigned) call_uid(c),
                 project_plan_is_noop(plan) ? ": nothing to change" : "");

        _cleanup_(up_done) Up u = {
                .call = c, .d = call_daemon(c), .reg = reg, .ef = ef, .plan = plan,
                .workspaces = json_array(), .warnings = json_array(), .removed = json_array(),
        };
        if (!u.workspaces || !u.warnings || !u.removed)
                return error_set(err, ENOMEM, "out of memory");
        STRV_FOREACH(n, plan->notes)
                (void) call_event(c, json_pack("{s:s, s:s}", "type", "note", "message", *n));
        if (cur.exists && !plan->destroy_sandbox)
                note_takeover(&u);

        r = up_sandbox(&u, err);
        if (r >= 0)
                r = up_setup(&u, err);
        if (r < 0)
                return r;
        if (up_orphans(&u) < 0 || up_workspaces(&u, &cur) < 0)
                return error_set(err, ECANCELED, "up of %s was cancelled; run 'enclave up' again to finish",
                                 ef->sandbox.name);
        if (u.n_failed > 0)
                return error_set(err, EIO, "up of %s: %zu step(s) failed: %s. The rest is up; fix the cause and run "
                                 "'enclave up' again to finish", ef->sandbox.name, u.n_failed,
                                 u.failures.data ? u.failures.data : "");
        json_t *res = up_result(&u, t0);
        if (!res)
                return error_set(err, ENOMEM, "out of memory");
        return call_reply(c, res, -EBADF);
}

/* ---- project.down ---- */

static int action_project_down(Call *c, Error *err)
{
        const char *sandbox, *project;
        int r = call_param_string(c, "sandbox", true, &sandbox, err);
        if (r >= 0)
                r = call_param_string(c, "project", false, &project, err);
        if (r < 0)
                return r;
        if (!name_is_valid(sandbox))
                return error_set(err, EINVAL, "invalid sandbox name '%s'", sandbox);
        for (const char *q = project; q && *q; q++)
                if ((unsigned char) *q < 0x20 || *q == 0x7f)
                        project = NULL; /* only for the log; never a forged line */
        Registry *reg = call_registry(c, err);
        if (!reg)
                return -EIO;
        uint64_t t0 = now_ms();
        _cleanup_(sandbox_row_done) SandboxRow row = {};
        _cleanup_error_ Error gerr = ERROR_INIT;
        r = owner_check_sandbox(c, reg, sandbox, &gerr);
        if (r >= 0)
                r = registry_sandbox_get(reg, sandbox, &row, &gerr);
        if (r == -ENOENT)
                return call_reply(c, json_pack("{s:s, s:b, s:i}", "sandbox", sandbox, "exists", 0, "stopped", 0),
                                  -EBADF);
        if (r < 0) {
                error_move(err, &gerr);
                return r;
        }
        step_event(c, "sandbox.stop", NULL, "begin", "stopping %lld running workspace(s) of %s",
                   (long long) row.n_running, sandbox);
        int n = sandbox_stop(call_engine(c), reg, &row, false, NULL, err);
        if (n < 0)
                return error_wrap(err, "down");
        log_info("down %s%s%s: %d workspace(s) stopped (uid %u)", sandbox, project ? " from " : "", project ? project : "",
                 n, (unsigned) call_uid(c));
        return call_reply(c, json_pack("{s:s, s:b, s:i, s:s, s:I}", "sandbox", sandbox, "exists", 1, "stopped", n,
                                       "state", SANDBOX_STATE_STOPPED, "elapsed_ms", (json_int_t) (now_ms() - t0)),
                          -EBADF);
}

/* ---- project.ps ---- */

static int action_project_ps(Call *c, Error *err)
{
        const char *sandbox;
        int r = call_param_string(c, "sandbox", false, &sandbox, err);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **names = NULL;
        json_t *a = json_object_get(call_params(c), "workspaces");
        if (a) {
                if (!json_is_array(a))
                        return error_set(err, EINVAL, "parameter 'workspaces' must be an array of names");
                names = calloc(1, sizeof *names);
                size_t i;
                json_t *v;
                json_array_foreach(a, i, v)
                        if (!names || !json_is_string(v) || strv_push(&names, json_string_value(v)) < 0)
                                return error_set(err, EINVAL, "parameter 'workspaces' must be an array of names");
        }
        Registry *reg = call_registry(c, err);
        if (!reg)
                return -EIO;
        json_t *procs = NULL;
        r = project_ps_collect(reg, call_owner_filter(c), sandbox, names, &procs, err);
        if (r < 0)
                return r;
        return call_reply(c, json_pack("{s:o}", "processes", procs), -EBADF);
}

const Action project_actions[] = {
        { "project.up", action_project_up, ACTION_LONG | ACTION_MUTATES },
        { "project.down", action_project_down, ACTION_LONG | ACTION_MUTATES },
        { "project.ps", action_project_ps, ACTION_LONG },
        {},
};
