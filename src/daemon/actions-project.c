/* project.up, project.down and project.ps: the daemon's side of
 * `enclave up`, `down`, `restart` and `ps` (SPEC §3, docs/lifecycle.md).
 *
 * The CLI sends the whole validated Enclavefile in one request; the
 * adapter checks what the caller may ask for (workspace_dir owners, the
 * sandbox name, low ports, mirrors) and hands it to project_up()
 * (engine/project-up.h), turning its reports into events:
 *
 *   {"type": "step", "step": "workspace.start", "workspace": "web",
 *    "status": "done", "message": "started web (pid 4242)"}
 *
 * plus "plan", "note", "warning" and "progress" (setup output) events. */
#include "daemon/action.h"
#include "daemon/actions-storage.h"
#include "daemon/call.h"
#include "daemon/daemon.h"
#include "daemon/owner.h"
#include "engine/project.h"
#include "engine/project-ps.h"
#include "engine/project-up.h"
#include "engine/sandbox.h"
#include "registry/registry-sandbox.h"
#include "base/log.h"
#include "base/str.h"

#include <string.h>
#include <sys/stat.h>
#include <time.h>

static uint64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* ---- project.up: parameters and what the caller may do ---- */

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

/* ---- the reporter: the run's callbacks as events ---- */

static void on_plan(void *userdata, const ProjectPlan *plan)
{
        json_t *pj = project_plan_to_json(plan);
        if (pj)
                (void) call_event(userdata, json_pack("{s:s, s:o}", "type", "plan", "plan", pj));
}

static void on_note(void *userdata, const char *message)
{
        (void) call_event(userdata, json_pack("{s:s, s:s}", "type", "note", "message", message));
}

static void on_step(void *userdata, const char *step, const char *workspace, const char *status, const char *message)
{
        json_t *ev = json_pack("{s:s, s:s, s:s?, s:s, s:s}", "type", "step", "step", step, "workspace", workspace,
                               "status", status, "message", message);
        if (ev)
                (void) call_event(userdata, ev);
}

static void on_warning(void *userdata, const char *message)
{
        json_t *ev = json_pack("{s:s, s:s}", "type", "warning", "message", message);
        if (ev)
                (void) call_event(userdata, ev);
}

static bool on_cancelled(void *userdata)
{
        return call_cancelled(userdata);
}

static ProjectReporter call_reporter(Call *c)
{
        return (ProjectReporter) {
                .userdata = c, .plan = on_plan, .note = on_note, .step = on_step, .warning = on_warning,
                .cancelled = on_cancelled, .monitor = call_storage_monitor_items(c),
        };
}

/* ---- project.up ---- */

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
        ProjectCaller caller = { call_uid(c), owner_cap(c, call_engine(c)->settings.max_sandboxes_per_user) };
        ProjectReporter rep = call_reporter(c);
        json_t *res = NULL;
        r = project_up(call_engine(c), reg, ef, &opts, &caller, &rep, &res, err);
        if (r < 0)
                return r;
        if (json_object_set_new(res, "elapsed_ms", json_integer((json_int_t) (now_ms() - t0))) < 0) {
                json_decref(res);
                return error_set(err, ENOMEM, "out of memory");
        }
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
        _cleanup_free_ char *msg = NULL;
        if (asprintf(&msg, "stopping %lld running workspace(s) of %s", (long long) row.n_running, sandbox) >= 0)
                on_step(c, "sandbox.stop", NULL, "begin", msg);
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
        { PROTO_ACTION_PROJECT_UP, action_project_up, ACTION_LONG | ACTION_MUTATES },
        { PROTO_ACTION_PROJECT_DOWN, action_project_down, ACTION_LONG | ACTION_MUTATES },
        { PROTO_ACTION_PROJECT_PS, action_project_ps, ACTION_LONG },
        {},
};
