/* Typed registry access for workspaces (registry-workspace.h). */
#include "registry/registry-workspace.h"
#include "base/str.h"

#include <stdlib.h>
#include <string.h>

#define SELECT_COLUMNS                                                                                        \
        "SELECT w.id, w.sandbox_id, s.name, s.state, w.name, w.state, w.config, w.pid, w.pid_start_time, "    \
        "w.uid_base, w.gid_base, w.ip, w.created_at, w.started_at, w.stopped_at, w.exit_status, w.oom_kills, " \
        "w.owner_uid "                                                                                        \
        "FROM workspaces w JOIN sandboxes s ON s.id = w.sandbox_id "

void workspace_row_done(WorkspaceRow *row)
{
        free(row->sandbox);
        free(row->sandbox_state);
        free(row->name);
        free(row->state);
        free(row->ip);
        json_decref(row->config);
        *row = (WorkspaceRow) {};
}

void workspace_rows_free(WorkspaceRow *rows, size_t n)
{
        for (size_t i = 0; i < n; i++)
                workspace_row_done(&rows[i]);
        free(rows);
}

static int row_from_stmt(sqlite3_stmt *s, WorkspaceRow *ret, Error *err)
{
        WorkspaceRow row = {
                .id = sqlite3_column_int64(s, 0),
                .sandbox_id = sqlite3_column_int64(s, 1),
                .pid = (pid_t) sqlite3_column_int64(s, 7),
                .pid_start_time = (uint64_t) sqlite3_column_int64(s, 8),
                .uid_base = (uint32_t) sqlite3_column_int64(s, 9),
                .gid_base = (uint32_t) sqlite3_column_int64(s, 10),
                .created_at = sqlite3_column_int64(s, 12),
                .started_at = sqlite3_column_int64(s, 13),
                .stopped_at = sqlite3_column_int64(s, 14),
                .exit_status = sqlite3_column_type(s, 15) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 15),
                .oom_kills = sqlite3_column_int64(s, 16),
                .owner_uid = (uid_t) sqlite3_column_int64(s, 17),
        };
        const char *cfg = (const char *) sqlite3_column_text(s, 6);
        row.config = cfg ? json_loads(cfg, 0, NULL) : NULL;
        if (!row.config)
                row.config = json_object();
        if (!row.config || registry_column_strdup(s, 2, &row.sandbox) < 0 ||
            registry_column_strdup(s, 3, &row.sandbox_state) < 0 || registry_column_strdup(s, 4, &row.name) < 0 ||
            registry_column_strdup(s, 5, &row.state) < 0 || registry_column_strdup(s, 11, &row.ip) < 0) {
                workspace_row_done(&row);
                return error_set(err, ENOMEM, "out of memory");
        }
        *ret = row;
        return 0;
}

static int rows_collect(Registry *r, sqlite3_stmt *s, WorkspaceRow **ret, size_t *ret_n, Error *err)
{
        WorkspaceRow *rows = NULL;
        size_t n = 0;
        int k;
        while ((k = registry_step(r, s, err)) > 0) {
                WorkspaceRow *nr = realloc(rows, (n + 1) * sizeof *nr);
                if (!nr) {
                        k = error_set(err, ENOMEM, "out of memory");
                        break;
                }
                rows = nr;
                k = row_from_stmt(s, &rows[n], err);
                if (k < 0)
                        break;
                n++;
        }
        if (k < 0) {
                workspace_rows_free(rows, n);
                return k;
        }
        *ret = rows;
        *ret_n = n;
        return 0;
}

int registry_workspace_not_found(Registry *r, const char *sandbox, const char *name, Error *err)
{
        int64_t id;
        _cleanup_error_ Error qerr = ERROR_INIT;
        if (registry_query_int64(r, &id, &qerr, "SELECT id FROM sandboxes WHERE name = ?", "t", sandbox) == -ENOENT)
                return error_set(err, ENOENT, "no sandbox named '%s'; 'enclave list' shows the sandboxes", sandbox);
        return error_set(err, ENOENT,
                         "no workspace '%s' in sandbox '%s'; 'enclave workspace list %s' shows its workspaces", name,
                         sandbox, sandbox);
}

int registry_workspace_get(Registry *r, const char *sandbox, const char *name, WorkspaceRow *ret, Error *err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int k = registry_prepare(r, SELECT_COLUMNS "WHERE s.name = ? AND w.name = ?", &s, err);
        if (k >= 0)
                k = registry_bind(r, s, err, "tt", sandbox, name);
        if (k >= 0)
                k = registry_step(r, s, err);
        if (k < 0)
                return k;
        if (k == 0)
                return registry_workspace_not_found(r, sandbox, name, err);
        return row_from_stmt(s, ret, err);
}

int registry_workspace_find_owned(Registry *r, int64_t owner, const char *name, WorkspaceRow *ret, Error *err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int k = registry_prepare(r, SELECT_COLUMNS "WHERE w.name = ? AND (? < 0 OR w.owner_uid = ?) ORDER BY s.name",
                                 &s, err);
        if (k >= 0)
                k = registry_bind(r, s, err, "tii", name, owner, owner);
        if (k < 0)
                return k;
        WorkspaceRow *rows = NULL;
        size_t n = 0;
        k = rows_collect(r, s, &rows, &n, err);
        if (k < 0)
                return k;
        if (n == 0) {
                free(rows);
                return error_set(err, ENOENT, "no workspace named '%s'; 'enclave workspace list' shows the workspaces",
                                 name);
        }
        if (n > 1) {
                _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
                for (size_t i = 0; i < n; i++)
                        strbuf_printf(&b, "%s%s", i ? ", " : "", rows[i].sandbox);
                k = error_set(err, ENOTUNIQ, "workspace '%s' exists in several sandboxes (%s); name the sandbox too",
                              name, b.data ? b.data : "?");
                workspace_rows_free(rows, n);
                return k;
        }
        *ret = rows[0];
        free(rows);
        return 0;
}

int registry_workspace_list(Registry *r, int64_t sandbox_id, WorkspaceRow **ret, size_t *ret_n, Error *err)
{
        return registry_workspace_list_owned(r, -1, sandbox_id, ret, ret_n, err);
}

int registry_workspace_list_owned(Registry *r, int64_t owner, int64_t sandbox_id, WorkspaceRow **ret, size_t *ret_n,
                                  Error *err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int k = registry_prepare(r,
                                 SELECT_COLUMNS "WHERE (? < 0 OR w.sandbox_id = ?) AND (? < 0 OR w.owner_uid = ?) "
                                                "ORDER BY s.name, w.name",
                                 &s, err);
        if (k >= 0)
                k = registry_bind(r, s, err, "iiii", sandbox_id, sandbox_id, owner, owner);
        if (k < 0)
                return k;
        return rows_collect(r, s, ret, ret_n, err);
}

int registry_id_bases(Registry *r, uint32_t **ret, size_t *ret_n, Error *err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int k = registry_prepare(r, "SELECT base FROM id_ranges ORDER BY base", &s, err);
        if (k < 0)
                return k;
        _cleanup_free_ uint32_t *bases = NULL;
        size_t n = 0;
        while ((k = registry_step(r, s, err)) > 0) {
                uint32_t *nb = realloc(bases, (n + 1) * sizeof *nb);
                if (!nb)
                        return error_set(err, ENOMEM, "out of memory");
                bases = nb;
                bases[n++] = (uint32_t) sqlite3_column_int64(s, 0);
        }
        if (k < 0)
                return k;
        *ret = TAKE_PTR(bases);
        *ret_n = n;
        return 0;
}

int registry_workspace_insert(Registry *r, int64_t sandbox_id, uid_t owner, const char *name, json_t *config,
                              uint32_t id_base, int64_t max_per_owner, int64_t *ret_id, Error *err)
{
        int k;
        if (owner != 0 && max_per_owner >= 0) {
                int64_t n = 0;
                k = registry_query_int64(r, &n, err, "SELECT count(*) FROM workspaces WHERE owner_uid = ?", "u",
                                         (uint32_t) owner);
                if (k < 0)
                        return k;
                if (n >= max_per_owner)
                        return error_set(err, EDQUOT,
                                         "uid %u already has %lld workspace(s), the most a user may have "
                                         "(max_workspaces_per_user in config.toml); destroy one first",
                                         (unsigned) owner, (long long) n);
        }
        _cleanup_error_ Error ierr = ERROR_INIT;
        /* The owner is stated, not derived: a trigger refuses it unless
         * it is the sandbox's owner at this moment. */
        k = registry_run(r, &ierr,
                         "INSERT INTO workspaces (sandbox_id, owner_uid, name, state, config, uid_base, gid_base) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)",
                         "iuttjii", sandbox_id, (uint32_t) owner, name, WORKSPACE_STATE_CREATED, config,
                         (int64_t) id_base, (int64_t) id_base);
        if (k == -EEXIST)
                return error_set(err, EEXIST, "workspace '%s' already exists in this sandbox; choose another name",
                                 name);
        if (k < 0) {
                error_move(err, &ierr);
                return error_wrap(err, "recording workspace %s", name);
        }
        int64_t id = registry_last_insert_id(r);
        k = registry_run(r, &ierr, "INSERT INTO id_ranges (base, count, workspace_id) VALUES (?, ?, ?)", "iii",
                         (int64_t) id_base, (int64_t) 65536, id);
        if (k == -EEXIST)
                return error_set(err, EEXIST, "host id block %u is already in use", id_base);
        if (k < 0) {
                error_move(err, &ierr);
                return error_wrap(err, "recording the id range of workspace %s", name);
        }
        *ret_id = id;
        return 0;
}

int registry_workspace_set_running(Registry *r, int64_t id, pid_t pid, uint64_t start_time, Error *err)
{
        _cleanup_txn_ RegistryTxn txn = {};
        int k = registry_txn_begin(r, &txn, err);
        if (k < 0)
                return k;
        k = registry_run(r, err,
                         "UPDATE workspaces SET state = ?, pid = ?, pid_start_time = ?, exit_status = NULL, "
                         "started_at = unixepoch(), updated_at = unixepoch() WHERE id = ?",
                         "tiii", WORKSPACE_STATE_RUNNING, (int64_t) pid, (int64_t) start_time, id);
        if (k < 0)
                return k;
        if (k == 0)
                return error_set(err, ENOENT, "the workspace was removed meanwhile");
        return registry_txn_commit(&txn, err);
}

int registry_workspace_record_end(Registry *r, int64_t id, const char *state, int exit_status, uint64_t oom_add,
                                  Error *err)
{
        int k = registry_run(r, err,
                             "UPDATE workspaces SET state = ?, pid = NULL, pid_start_time = NULL, "
                             "exit_status = CASE WHEN ? < 0 THEN NULL ELSE ? END, oom_kills = oom_kills + ?, "
                             "stopped_at = unixepoch(), updated_at = unixepoch() WHERE id = ?",
                             "tiiii", state, (int64_t) exit_status, (int64_t) exit_status, (int64_t) oom_add, id);
        return k < 0 ? k : 0;
}

int registry_workspace_set_ended(Registry *r, int64_t id, const char *state, int exit_status, uint64_t oom_add,
                                 Error *err)
{
        _cleanup_txn_ RegistryTxn txn = {};
        int k = registry_txn_begin(r, &txn, err);
        if (k >= 0)
                k = registry_workspace_record_end(r, id, state, exit_status, oom_add, err);
        if (k < 0)
                return k;
        return registry_txn_commit(&txn, err);
}

int registry_workspace_delete(Registry *r, int64_t id, Error *err)
{
        _cleanup_txn_ RegistryTxn txn = {};
        int k = registry_txn_begin(r, &txn, err);
        if (k < 0)
                return k;
        int n = registry_run(r, err, "DELETE FROM workspaces WHERE id = ?", "i", id);
        if (n < 0)
                return n;
        k = registry_txn_commit(&txn, err);
        return k < 0 ? k : n > 0;
}

json_t *workspace_row_to_json(const WorkspaceRow *row)
{
        json_t *o = json_pack("{s:I, s:I, s:s, s:s, s:s, s:I, s:I, s:I}", "id", (json_int_t) row->id, "owner_uid",
                              (json_int_t) row->owner_uid, "sandbox", row->sandbox, "name", row->name, "state",
                              row->state, "uid_base",
                              (json_int_t) row->uid_base, "gid_base", (json_int_t) row->gid_base, "created_at",
                              (json_int_t) row->created_at);
        if (!o)
                return NULL;
        json_object_set_new(o, "pid", row->pid > 0 ? json_integer(row->pid) : json_null());
        json_object_set_new(o, "ip", row->ip ? json_string(row->ip) : json_null());
        json_object_set_new(o, "started_at", row->started_at ? json_integer(row->started_at) : json_null());
        json_object_set_new(o, "stopped_at", row->stopped_at ? json_integer(row->stopped_at) : json_null());
        json_object_set_new(o, "exit_status", row->exit_status >= 0 ? json_integer(row->exit_status) : json_null());
        json_object_set_new(o, "oom_kills", json_integer(row->oom_kills));
        json_object_set(o, "config", row->config);
        return o;
}

int workspace_config_spec(const WorkspaceRow *row, WorkspaceSpec *ret, Error *err)
{
        int r = workspace_spec_from_json(row->config, ret, err);
        if (r < 0)
                return error_wrap(err, "the stored configuration of workspace %s/%s is not valid", row->sandbox,
                                  row->name);
        free(ret->name);
        if (!(ret->name = strdup(row->name))) {
                workspace_spec_done(ret);
                return error_set(err, ENOMEM, "out of memory");
        }
        return 0;
}

RunRestart workspace_config_restart(json_t *config)
{
        RunRestart r = run_restart_from_string(json_string_value(json_object_get(config, "restart")));
        return r == _RUN_RESTART_INVALID ? RUN_RESTART_NO : r;
}
