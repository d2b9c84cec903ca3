/* workspace.* actions (docs/actions.md) on top of the workspace engine.
 *
 *   create   {sandbox, workspace, and the members of a workspace spec (spec/spec.h): run?, restart?,
 *             workspace_dir?, each limit of spec/limits.h?, env?: ["K=V"], auth?: [..], env_tokens?: [..],
 *             ports?: ["127.0.0.1:H:W/tcp"]}                          -> the workspace
 *   start    {sandbox, workspace}          -> {state, pid, ip, already_running, elapsed_ms, warnings}
 *   stop     {sandbox, workspace, timeout?: seconds (default 10)}   -> {was_running, killed, elapsed_ms}
 *   destroy / remove {sandbox, workspace, timeout?}                -> {destroyed: true}
 *   wipe     {timeout?}                                             -> {destroyed: N}
 *   status   {sandbox?, workspace}         -> the workspace, with uptime, ports and usage when running
 *   list     {sandbox?}                    -> {workspaces: [...]}
 *   stats    {sandbox?, workspace}         -> one usage sample
 *   logs     {sandbox?, workspace, tail?, follow?} streams {"type": "log", "data"} events
 *   exec     {sandbox, workspace, argv | enter + shell?, env?, cwd?, pty?, rows?, cols?, term?}
 *            with 3 fds (stdin, stdout, stderr) unless pty; with pty an event {"type": "pty"} carries
 *            the master; the reply is {exit_status, message?} (126/127/125 when it never ran).
 *
 * `run` and `enter` of the CLI are this one action. A sandbox may be
 * omitted for status, stats and logs when the name is unique. */
#include "daemon/action.h"
#include "daemon/daemon.h"
#include "daemon/owner.h"
#include "registry/registry-workspace.h"
#include "engine/workspace-engine.h"
#include "engine/workspace-logs.h"
#include "engine/workspace-status.h"
#include "runtime/logs.h"
#include "storage/layout.h"
#include "base/log.h"
#include "base/str.h"

#include <signal.h>
#include <string.h>

#define STOP_TIMEOUT_MAX_S 3600

/* ---- parameters ---- */

static int param_strv(Call *c, const char *key, char ***ret, Error *err)
{
        json_t *a = json_object_get(call_params(c), key);
        *ret = NULL;
        if (!a || json_is_null(a))
                return 0;
        if (!json_is_array(a))
                return error_set(err, EINVAL, "parameter '%s' must be an array of strings", key);
        _cleanup_strv_free_ char **v = calloc(1, sizeof *v);
        if (!v)
                return error_set(err, ENOMEM, "out of memory");
        size_t i;
        json_t *e;
        json_array_foreach(a, i, e) {
                if (!json_is_string(e))
                        return error_set(err, EINVAL, "parameter '%s' must be an array of strings", key);
                if (strv_push(&v, json_string_value(e)) < 0)
                        return error_set(err, ENOMEM, "out of memory");
        }
        *ret = TAKE_PTR(v);
        return 0;
}

static int param_grace_ms(Call *c, unsigned *ret, Error *err)
{
        int64_t s;
        int r = call_param_int(c, "timeout", false, 0, STOP_TIMEOUT_MAX_S, WORKSPACE_STOP_GRACE_MS_DEFAULT / 1000, &s,
                               err);
        *ret = (unsigned) s * 1000u;
        return r;
}

static int param_target(Call *c, bool sandbox_required, const char **ret_sb, const char **ret_ws, Error *err)
{
        int r = call_param_string(c, "sandbox", sandbox_required, ret_sb, err);
        if (r >= 0)
                r = call_param_string(c, "workspace", true, ret_ws, err);
        return r;
}

/* The row of {sandbox?, workspace}, one of the caller's own. */
static int target_row(Call *c, Registry *reg, WorkspaceRow *ret, Error *err)
{
        const char *sb, *ws;
        int r = param_target(c, false, &sb, &ws, err);
        if (r < 0)
                return r;
        if (!sb)
                return registry_workspace_find_owned(reg, call_owner_filter(c), ws, ret, err);
        r = owner_check_workspace(c, reg, sb, ws, err);
        return r < 0 ? r : registry_workspace_get(reg, sb, ws, ret, err);
}

/* {sandbox, workspace} of one of the caller's own workspaces. */
static int owned_target(Call *c, const char **ret_sb, const char **ret_ws, Registry **ret_reg, Error *err)
{
        int r = param_target(c, true, ret_sb, ret_ws, err);
        if (r < 0)
                return r;
        Registry *reg = call_registry(c, err);
        if (!reg)
                return -EIO;
        r = owner_check_workspace(c, reg, *ret_sb, *ret_ws, err);
        if (r < 0)
                return r;
        *ret_reg = reg;
        return 0;
}

/* ---- create ---- */

/* {sandbox, workspace} and the spec's members (spec/spec.h, any form). */
static int action_workspace_create(Call *c, Error *err)
{
        const char *sandbox, *name;
        _cleanup_(workspace_spec_done) WorkspaceSpec s = {};
        int r = param_target(c, true, &sandbox, &name, err);
        if (r >= 0)
                r = workspace_spec_from_json(call_params(c), &s, err);
        if (r < 0)
                return r;
        free(s.name);
        if (!(s.name = strdup(name)))
                return error_set(err, ENOMEM, "out of memory");
        r = owner_check_ports(c, s.ports, s.n_ports, err);
        if (r < 0)
                return r;
        Registry *reg = call_registry(c, err);
        if (!reg)
                return -EIO;
        r = owner_check_sandbox_for_adding(c, reg, sandbox, err);
        if (r >= 0)
                r = workspace_engine_create(call_engine(c), reg, call_uid(c), sandbox, &s, NULL, err);
        if (r < 0)
                return r;
        _cleanup_(workspace_row_done) WorkspaceRow row = {};
        r = registry_workspace_get(reg, sandbox, name, &row, err);
        if (r < 0)
                return r;
        return call_reply(c, workspace_row_to_json(&row), -EBADF);
}

/* ---- start / stop / destroy / wipe ---- */

static int action_workspace_start(Call *c, Error *err)
{
        const char *sb, *ws;
        Registry *reg;
        int r = owned_target(c, &sb, &ws, &reg, err);
        if (r < 0)
                return r;
        _cleanup_(workspace_start_info_done) WorkspaceStartInfo info = {};
        r = workspace_engine_start(call_engine(c), reg, sb, ws, &info, err);
        if (r < 0)
                return r;
        json_t *warnings = json_array();
        STRV_FOREACH(w, info.warnings)
                json_array_append_new(warnings, json_string(*w));
        return call_reply(c,
                          json_pack("{s:s, s:s, s:s, s:i, s:s?, s:b, s:f, s:o}", "sandbox", sb, "workspace", ws,
                                    "state", "running", "pid", (int) info.pid, "ip", info.ip[0] ? info.ip : NULL,
                                    "already_running", info.already_running, "elapsed_ms",
                                    (double) info.elapsed_us / 1000.0, "warnings", warnings),
                          -EBADF);
}

static int action_workspace_stop(Call *c, Error *err)
{
        const char *sb, *ws;
        unsigned grace;
        Registry *reg;
        int r = param_grace_ms(c, &grace, err);
        if (r >= 0)
                r = owned_target(c, &sb, &ws, &reg, err);
        if (r < 0)
                return r;
        WorkspaceStopInfo info;
        r = workspace_engine_stop(call_engine(c), reg, sb, ws, grace, &info, err);
        if (r < 0)
                return r;
        return call_reply(c,
                          json_pack("{s:s, s:s, s:b, s:b, s:f}", "sandbox", sb, "workspace", ws, "was_running",
                                    info.was_running, "killed", info.killed, "elapsed_ms",
                                    (double) info.elapsed_us / 1000.0),
                          -EBADF);
}

static int action_workspace_destroy(Call *c, Error *err)
{
        const char *sb, *ws;
        unsigned grace;
        Registry *reg;
        int r = param_grace_ms(c, &grace, err);
        if (r >= 0)
                r = owned_target(c, &sb, &ws, &reg, err);
        if (r < 0)
                return r;
        r = workspace_engine_destroy(call_engine(c), reg, sb, ws, grace, err);
        if (r < 0)
                return r;
        return call_reply(c, json_pack("{s:s, s:s, s:b}", "sandbox", sb, "workspace", ws, "destroyed", 1), -EBADF);
}

static int action_workspace_wipe(Call *c, Error *err)
{
        Registry *reg = call_registry(c, err);
        if (!reg)
                return -EIO;
        int n = workspaces_wipe(call_engine(c), reg, call_owner_filter(c), err);
        if (n < 0)
                return n;
        return call_reply(c, json_pack("{s:I}", "destroyed", (json_int_t) n), -EBADF);
}

/* ---- status / list / stats ---- */

static int action_workspace_status(Call *c, Error *err)
{
        Registry *reg = call_registry(c, err);
        if (!reg)
                return -EIO;
        _cleanup_(workspace_row_done) WorkspaceRow row = {};
        int r = target_row(c, reg, &row, err);
        if (r < 0)
                return r;
        return call_reply(c, workspace_status_json(call_engine(c), reg, &row, true), -EBADF);
}

static int action_workspace_list(Call *c, Error *err)
{
        Registry *reg = call_registry(c, err);
        if (!reg)
                return -EIO;
        const char *sb = NULL;
        int r = call_param_string(c, "sandbox", false, &sb, err);
        if (r < 0)
                return r;
        int64_t sb_id = -1;
        if (sb && (r = owner_check_sandbox(c, reg, sb, err)) < 0)
                return r;
        if (sb) {
                r = registry_query_int64(reg, &sb_id, NULL, "SELECT id FROM sandboxes WHERE name = ?", "t", sb);
                if (r == -ENOENT)
                        return error_set(err, ENOENT, "no sandbox named '%s'; 'enclave list' shows the sandboxes", sb);
                if (r < 0)
                        return error_setc(err, -r, "reading the registry");
        }
        WorkspaceRow *rows = NULL;
        size_t n = 0;
        r = registry_workspace_list_owned(reg, call_owner_filter(c), sb_id, &rows, &n, err);
        if (r < 0)
                return r;
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, workspace_status_json(call_engine(c), reg, &rows[i], false));
        workspace_rows_free(rows, n);
        return call_reply(c, json_pack("{s:o}", "workspaces", a), -EBADF);
}

static int action_workspace_stats(Call *c, Error *err)
{
        Registry *reg = call_registry(c, err);
        if (!reg)
                return -EIO;
        _cleanup_(workspace_row_done) WorkspaceRow row = {};
        int r = target_row(c, reg, &row, err);
        if (r < 0)
                return r;
        _cleanup_running_ RunningWorkspace *rw = workspace_engine_get_by_id(call_engine(c), row.id);
        if (!rw)
                return error_set(err, ESRCH, "workspace %s/%s is not running (it is %s); start it with 'enclave "
                                 "workspace start %s %s'", row.sandbox, row.name, row.state, row.sandbox, row.name);
        WorkspaceStats st;
        double cpu;
        r = workspace_engine_stats(call_engine(c), rw, &st, &cpu, err);
        if (r < 0)
                return r;
        json_t *o = workspace_usage_json(&st, cpu);
        json_object_set_new(o, "sandbox", json_string(row.sandbox));
        json_object_set_new(o, "workspace", json_string(row.name));
        return call_reply(c, o, -EBADF);
}

/* ---- logs ---- */

static int sink_event(void *userdata, json_t *event)
{
        return call_event(userdata, event);
}

static int sink_cancel_fd(void *userdata)
{
        return call_cancel_fd(userdata);
}

static bool sink_cancelled(void *userdata)
{
        return call_cancelled(userdata);
}

static int action_workspace_logs(Call *c, Error *err)
{
        Registry *reg = call_registry(c, err);
        if (!reg)
                return -EIO;
        _cleanup_(workspace_row_done) WorkspaceRow row = {};
        int64_t tail;
        bool follow, records;
        int r = target_row(c, reg, &row, err);
        if (r >= 0)
                r = call_param_int(c, "tail", false, -1, INT32_MAX, -1, &tail, err);
        if (r >= 0)
                r = call_param_bool(c, "follow", false, &follow, err);
        if (r >= 0)
                r = call_param_bool(c, "records", false, &records, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *ws_dir = NULL;
        r = layout_workspace_dir(call_daemon(c)->engine.settings.state_dir, row.sandbox, row.name, &ws_dir, err);
        if (r < 0)
                return r;
        size_t n_tail = tail < 0 ? LOG_TAIL_ALL : (size_t) tail;
        LogSink sink = { .userdata = c, .event = sink_event, .cancel_fd = sink_cancel_fd, .cancelled = sink_cancelled };
        if (!follow)
                return workspace_logs_send(ws_dir, n_tail, records, &sink, err);
        r = workspace_logs_follow(ws_dir, n_tail, records, &sink, err);
        if (r == 1)
                return call_reply(c, json_pack("{s:s}", "ended", "the workspace was destroyed"), -EBADF);
        return r;
}

/* ---- exec ---- */

typedef struct ExecParams {
        const char *sandbox, *workspace, *cwd, *term, *shell;
        bool pty, enter;
        int64_t rows, cols;
        char **argv, **env;
} ExecParams;

static void exec_params_done(ExecParams *p)
{
        strv_free(p->argv);
        strv_free(p->env);
}

static int exec_params(Call *c, ExecParams *p, Error *err)
{
        int r = param_target(c, true, &p->sandbox, &p->workspace, err);
        if (r >= 0)
                r = call_param_string(c, "cwd", false, &p->cwd, err);
        if (r >= 0)
                r = call_param_string(c, "term", false, &p->term, err);
        if (r >= 0)
                r = call_param_string(c, "shell", false, &p->shell, err);
        if (r >= 0)
                r = call_param_bool(c, "pty", false, &p->pty, err);
        if (r >= 0)
                r = call_param_bool(c, "enter", false, &p->enter, err);
        if (r >= 0)
                r = call_param_int(c, "rows", false, 0, UINT16_MAX, 0, &p->rows, err);
        if (r >= 0)
                r = call_param_int(c, "cols", false, 0, UINT16_MAX, 0, &p->cols, err);
        if (r >= 0)
                r = param_strv(c, "argv", &p->argv, err);
        if (r >= 0)
                r = param_strv(c, "env", &p->env, err);
        if (r < 0)
                return r;
        if (!p->enter && strv_length(p->argv) == 0)
                return error_set(err, EINVAL, "no command given (parameter 'argv')");
        STRV_FOREACH(e, p->env)
                if (!strchr(*e, '=') || **e == '=')
                        return error_set(err, EINVAL, "invalid environment entry: expected NAME=VALUE");
        if (!p->pty && call_n_fds(c) != 3)
                return error_set(err, EINVAL, "exec without a pty needs 3 file descriptors (stdin, stdout, stderr), "
                                 "got %u", call_n_fds(c));
        return 0;
}

/* Wait for the command, or for the client to go away (then it is
 * killed, as a command whose terminal closed). */
static int action_workspace_exec(Call *c, Error *err)
{
        _cleanup_(exec_params_done) ExecParams p = {};
        int r = exec_params(c, &p, err);
        if (r < 0)
                return r;
        Daemon *d = call_daemon(c);
        /* The running table knows the owner: no registry query here. */
        _cleanup_running_ RunningWorkspace *rw = workspace_engine_get(&d->engine, p.sandbox, p.workspace);
        if (!rw || !call_owns(c, rw->owner_uid))
                return owner_workspace_not_running(c, p.sandbox, p.workspace, err);
        _cleanup_free_ char *shell = NULL;
        if (p.enter) {
                shell = p.shell ? strdup(p.shell) : workspace_engine_shell(rw);
                strv_free(p.argv);
                p.argv = NULL;
                if (!shell || strv_push(&p.argv, shell) < 0)
                        return error_set(err, ENOMEM, "out of memory");
        }
        _cleanup_close_ int in = -EBADF, out = -EBADF, errfd = -EBADF;
        if (!p.pty) {
                in = call_take_fd(c, 0);
                out = call_take_fd(c, 1);
                errfd = call_take_fd(c, 2);
        }
        WorkspaceExecSpec spec = {
                .argv = p.argv,
                .env = p.env,
                .cwd = p.cwd,
                .term = p.term,
                .pty = p.pty,
                .rows = (unsigned short) p.rows,
                .cols = (unsigned short) p.cols,
                .stdio = { in, out, errfd },
        };
        _cleanup_exec_process_ ExecProcess proc = EXEC_PROCESS_NULL;
        int status = EXEC_STATUS_FAILED;
        r = workspace_engine_exec(&d->engine, rw, &spec, &proc, &status, err);
        /* The command holds its own copies now. */
        in = safe_close(in);
        out = safe_close(out);
        errfd = safe_close(errfd);
        if (r < 0) {
                json_t *res = json_pack("{s:i, s:s}", "exit_status", status, "message", error_msg(err));
                error_clear(err);
                return call_reply(c, res, -EBADF);
        }
        if (p.pty) {
                r = call_event_fd(c, json_pack("{s:s}", "type", "pty"), TAKE_FD(proc.pty_master));
                if (r < 0)
                        log_debug("exec: the client went away before the pty was handed over");
        }
        status = exec_process_wait_cancellable(&proc, call_cancel_fd(c));
        if (status < 0)
                return error_setc(err, -status, "waiting for the command");
        return call_reply(c, json_pack("{s:i}", "exit_status", status), -EBADF);
}

const Action workspace_actions[] = {
        { PROTO_ACTION_WORKSPACE_CREATE, action_workspace_create, ACTION_LONG | ACTION_MUTATES },
        { PROTO_ACTION_WORKSPACE_START, action_workspace_start, ACTION_LONG | ACTION_MUTATES },
        { PROTO_ACTION_WORKSPACE_STOP, action_workspace_stop, ACTION_LONG | ACTION_MUTATES },
        { PROTO_ACTION_WORKSPACE_DESTROY, action_workspace_destroy, ACTION_LONG | ACTION_MUTATES },
        { PROTO_ACTION_WORKSPACE_REMOVE, action_workspace_destroy, ACTION_LONG | ACTION_MUTATES },
        { PROTO_ACTION_WORKSPACE_WIPE, action_workspace_wipe, ACTION_LONG | ACTION_MUTATES },
        { PROTO_ACTION_WORKSPACE_STATUS, action_workspace_status, 0 },
        { PROTO_ACTION_WORKSPACE_LIST, action_workspace_list, 0 },
        { PROTO_ACTION_WORKSPACE_STATS, action_workspace_stats, 0 },
        { PROTO_ACTION_WORKSPACE_LOGS, action_workspace_logs, ACTION_LONG },
        { PROTO_ACTION_WORKSPACE_EXEC, action_workspace_exec, ACTION_LONG },
        {},
};
