/* Start after stop (sandbox-resume.h). */
#include "engine/sandbox-resume.h"
#include "registry/registry-workspace.h"
#include "engine/workspace-engine.h"
#include "base/log.h"
#include "base/str.h"

int sandbox_resume_mark(Engine *eng, Registry *reg, int64_t sandbox_id, json_t *names, Error *err)
{
        WorkspaceRow *rows = NULL;
        size_t n = 0;
        int r = registry_workspace_list(reg, sandbox_id, &rows, &n, err);
        if (r < 0)
                return r;
        _cleanup_txn_ RegistryTxn txn = {};
        r = registry_txn_begin(reg, &txn, err);
        if (r >= 0)
                r = registry_run(reg, err, "UPDATE workspaces SET resume = 0 WHERE sandbox_id = ?", "i", sandbox_id);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                RunningWorkspace *rw = workspace_engine_get_by_id(eng, rows[i].id);
                if (!rw)
                        continue;
                workspace_running_unref(rw);
                r = registry_run(reg, err, "UPDATE workspaces SET resume = 1 WHERE id = ?", "i", rows[i].id);
                if (r >= 0 && names)
                        (void) json_array_append_new(names, json_string(rows[i].name));
        }
        if (r >= 0)
                r = registry_txn_commit(&txn, err);
        workspace_rows_free(rows, n);
        return r < 0 ? r : 0;
}

/* The marked names, the marks cleared, in one transaction. */
static int take_marks(Registry *reg, int64_t sandbox_id, char ***ret, Error *err)
{
        _cleanup_txn_ RegistryTxn txn = {};
        int r = registry_txn_begin(reg, &txn, err);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **names = NULL;
        {
                _cleanup_stmt_ sqlite3_stmt *s = NULL;
                r = registry_prepare(reg, "SELECT name FROM workspaces WHERE sandbox_id = ? AND resume = 1 ORDER BY name",
                                     &s, err);
                if (r >= 0)
                        r = registry_bind(reg, s, err, "i", sandbox_id);
                while (r >= 0 && (r = registry_step(reg, s, err)) > 0) {
                        char *name = NULL;
                        if (registry_column_strdup(s, 0, &name) < 0 || !name || strv_consume(&names, name) < 0)
                                return error_set(err, ENOMEM, "out of memory");
                }
        }
        if (r >= 0)
                r = registry_run(reg, err, "UPDATE workspaces SET resume = 0 WHERE sandbox_id = ? AND resume = 1", "i",
                                 sandbox_id);
        if (r >= 0)
                r = registry_txn_commit(&txn, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(names);
        return 0;
}

int sandbox_resume_start(Engine *eng, Registry *reg, const char *sandbox, int64_t sandbox_id, json_t *started,
                         char ***warnings, Error *err)
{
        _cleanup_strv_free_ char **names = NULL;
        int r = take_marks(reg, sandbox_id, &names, err);
        if (r < 0)
                return error_wrap(err, "reading the workspaces 'enclave stop %s' stopped", sandbox);
        int n = 0;
        STRV_FOREACH(name, names) {
                _cleanup_error_ Error e = ERROR_INIT;
                WorkspaceStartInfo info = {};
                if (workspace_engine_start(eng, reg, sandbox, *name, &info, &e) < 0) {
                        _cleanup_free_ char *w = NULL;
                        if (asprintf(&w, "workspace %s/%s did not start again: %s; start it with 'enclave workspace "
                                     "start %s %s'", sandbox, *name, error_msg(&e), sandbox, *name) >= 0)
                                (void) strv_consume(warnings, TAKE_PTR(w));
                        continue;
                }
                STRV_FOREACH(w, info.warnings)
                        (void) strv_push(warnings, *w);
                workspace_start_info_done(&info);
                (void) json_array_append_new(started, json_string(*name));
                n++;
        }
        if (n > 0)
                log_info("sandbox %s: started again the %d workspace(s) its stop stopped", sandbox, n);
        return n;
}
