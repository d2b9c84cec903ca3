/* Typed registry access for sandboxes (registry-sandbox.h). */
#include "registry/registry-sandbox.h"
#include "base/str.h"

#include <stdlib.h>

/* Workspaces whose processes may be alive. */
#define RUNNING_STATES "('running', 'starting', 'stopping')"

#define SELECT_COLUMNS                                                                                          \
        "SELECT s.id, s.name, s.suite, s.mirror, s.bootstrap_method, s.state, s.setup_digest, s.caps, "         \
        "s.created_at, s.updated_at, "                                                                          \
        "(SELECT count(*) FROM workspaces w WHERE w.sandbox_id = s.id), "                                       \
        "(SELECT count(*) FROM workspaces w WHERE w.sandbox_id = s.id AND w.state IN " RUNNING_STATES "), "     \
        "s.owner_uid "                                                                                          \
        "FROM sandboxes s "

void sandbox_row_done(SandboxRow *row)
{
        free(row->name);
        free(row->suite);
        free(row->mirror);
        free(row->bootstrap_method);
        free(row->state);
        free(row->setup_digest);
        *row = (SandboxRow) {};
}

void sandbox_rows_free(SandboxRow *rows, size_t n)
{
        for (size_t i = 0; i < n; i++)
                sandbox_row_done(&rows[i]);
        free(rows);
}

/* Caps the registry holds were checked when they were stored (schema 4
 * brought older rows into the table's ranges); a cap this build does
 * not know is ignored. Caps that do not read at all are none. */
static void caps_from_column(sqlite3_stmt *s, int col, Limits *ret)
{
        const char *text = (const char *) sqlite3_column_text(s, col);
        json_auto_t *o = text ? json_loads(text, 0, NULL) : NULL;
        if (o && limits_from_json(o, LIMIT_SANDBOX, ret, NULL) >= 0)
                return;
        *ret = (Limits) {};
}

static int row_from_stmt(sqlite3_stmt *s, SandboxRow *ret, Error *err)
{
        SandboxRow row = {
                .id = sqlite3_column_int64(s, 0),
                .created_at = sqlite3_column_int64(s, 8),
                .updated_at = sqlite3_column_int64(s, 9),
                .n_workspaces = sqlite3_column_int64(s, 10),
                .n_running = sqlite3_column_int64(s, 11),
                .owner_uid = (uid_t) sqlite3_column_int64(s, 12),
        };
        caps_from_column(s, 7, &row.caps);
        if (registry_column_strdup(s, 1, &row.name) < 0 || registry_column_strdup(s, 2, &row.suite) < 0 ||
            registry_column_strdup(s, 3, &row.mirror) < 0 || registry_column_strdup(s, 4, &row.bootstrap_method) < 0 ||
            registry_column_strdup(s, 5, &row.state) < 0 || registry_column_strdup(s, 6, &row.setup_digest) < 0) {
                sandbox_row_done(&row);
                return error_set(err, ENOMEM, "out of memory");
        }
        *ret = row;
        return 0;
}

json_t *sandbox_caps_json(const Limits *caps)
{
        json_t *o = json_object();
        if (o && limits_to_json(caps, LIMIT_SANDBOX, SPEC_JSON_REGISTRY, o) < 0)
                return (json_decref(o), NULL);
        return o;
}

int registry_sandbox_insert(Registry *r, const SandboxRow *row, int64_t max_per_owner, int64_t *ret_id, Error *err)
{
        _cleanup_txn_ RegistryTxn txn = {};
        int k = registry_txn_begin(r, &txn, err);
        if (k < 0)
                return k;
        if (row->owner_uid != 0 && max_per_owner >= 0) {
                int64_t n = 0;
                k = registry_query_int64(r, &n, err, "SELECT count(*) FROM sandboxes WHERE owner_uid = ?", "u",
                                         (uint32_t) row->owner_uid);
                if (k < 0)
                        return k;
                if (n >= max_per_owner)
                        return error_set(err, EDQUOT,
                                         "uid %u already has %lld sandbox(es), the most a user may have "
                                         "(max_sandboxes_per_user in config.toml); destroy one first",
                                         (unsigned) row->owner_uid, (long long) n);
        }
        json_auto_t *caps = sandbox_caps_json(&row->caps);
        if (!caps)
                return error_set(err, ENOMEM, "out of memory");
        _cleanup_error_ Error ierr = ERROR_INIT;
        k = registry_run(r, &ierr,
                         "INSERT INTO sandboxes (owner_uid, name, suite, mirror, bootstrap_method, caps, state) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)",
                         "uttttjt", (uint32_t) row->owner_uid, row->name, row->suite, row->mirror,
                         row->bootstrap_method, caps, SANDBOX_STATE_CREATING);
        if (k == -EEXIST)
                return error_set(err, EEXIST,
                                 "sandbox %s already exists (sandbox names are shared by all users); choose another "
                                 "name, or if it is yours remove it first with 'enclave destroy %s'", row->name,
                                 row->name);
        if (k < 0) {
                error_move(err, &ierr);
                return error_wrap(err, "recording sandbox %s", row->name);
        }
        int64_t id = registry_last_insert_id(r);
        k = registry_txn_commit(&txn, err);
        if (k < 0)
                return k;
        if (ret_id)
                *ret_id = id;
        return 0;
}

int registry_sandbox_get(Registry *r, const char *name, SandboxRow *ret, Error *err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int k = registry_prepare(r, SELECT_COLUMNS "WHERE s.name = ?", &s, err);
        if (k >= 0)
                k = registry_bind(r, s, err, "t", name);
        if (k >= 0)
                k = registry_step(r, s, err);
        if (k < 0)
                return k;
        if (k == 0)
                return error_set(err, ENOENT, "no sandbox named '%s'; 'enclave list' shows the sandboxes", name);
        return row_from_stmt(s, ret, err);
}

int registry_sandbox_list(Registry *r, SandboxRow **ret, size_t *ret_n, Error *err)
{
        return registry_sandbox_list_owned(r, -1, ret, ret_n, err);
}

int registry_sandbox_list_owned(Registry *r, int64_t owner, SandboxRow **ret, size_t *ret_n, Error *err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int k = registry_prepare(r, SELECT_COLUMNS "WHERE ? < 0 OR s.owner_uid = ? ORDER BY s.name", &s, err);
        if (k >= 0)
                k = registry_bind(r, s, err, "ii", owner, owner);
        if (k < 0)
                return k;
        SandboxRow *rows = NULL;
        size_t n = 0;
        while ((k = registry_step(r, s, err)) > 0) {
                SandboxRow *nr = realloc(rows, (n + 1) * sizeof *nr);
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
                sandbox_rows_free(rows, n);
                return k;
        }
        *ret = rows;
        *ret_n = n;
        return 0;
}

/* "state IN (?, ?, ...)" bound from a NULL-terminated list. */
static int state_in(Registry *r, sqlite3_stmt *s, int first, const char *const *states, Error *err)
{
        for (size_t i = 0; states[i]; i++) {
                int k = sqlite3_bind_text(s, first + (int) i, states[i], -1, SQLITE_STATIC);
                if (k != SQLITE_OK)
                        return error_set(err, -registry_errno(k), "registry: binding a state: %s",
                                         sqlite3_errmsg(registry_db(r)));
        }
        return 0;
}

static int transition(Registry *r, int64_t id, const char *const *from, const char *to, Error *err)
{
        size_t n = 0;
        while (from[n])
                n++;
        if (n == 0 || n > 8)
                return error_set(err, EINVAL, "registry: bad state list");
        _cleanup_strbuf_ StrBuf sql = STRBUF_INIT;
        strbuf_puts(&sql, "UPDATE sandboxes SET state = ?, updated_at = unixepoch() WHERE id = ? AND state IN (");
        for (size_t i = 0; i < n; i++)
                strbuf_puts(&sql, i ? ", ?" : "?");
        strbuf_puts(&sql, ")");
        if (sql.oom)
                return error_set(err, ENOMEM, "out of memory");
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int k = registry_prepare(r, sql.data, &s, err);
        if (k >= 0)
                k = registry_bind(r, s, err, "ti", to, id);
        if (k >= 0)
                k = state_in(r, s, 3, from, err);
        if (k >= 0)
                k = registry_step(r, s, err);
        if (k < 0)
                return k;
        return sqlite3_changes(registry_db(r)) > 0 ? 1 : 0;
}

int registry_sandbox_transition(Registry *r, int64_t id, const char *const *from, const char *to, Error *err)
{
        _cleanup_txn_ RegistryTxn txn = {};
        int k = registry_txn_begin(r, &txn, err);
        if (k < 0)
                return k;
        int moved = transition(r, id, from, to, err);
        if (moved <= 0)
                return moved;
        k = registry_txn_commit(&txn, err);
        return k < 0 ? k : 1;
}

int registry_sandbox_transition_if_idle(Registry *r, int64_t id, const char *const *from, const char *to,
                                        bool any_workspace, int64_t *ret_count, Error *err)
{
        _cleanup_txn_ RegistryTxn txn = {};
        int k = registry_txn_begin(r, &txn, err);
        if (k < 0)
                return k;
        int64_t count = 0;
        k = registry_query_int64(r, &count, err,
                                 any_workspace ? "SELECT count(*) FROM workspaces WHERE sandbox_id = ?"
                                               : "SELECT count(*) FROM workspaces WHERE sandbox_id = ? AND state IN "
                                                 RUNNING_STATES,
                                 "i", id);
        if (k < 0)
                return k;
        if (ret_count)
                *ret_count = count;
        if (count > 0)
                return 0;
        int moved = transition(r, id, from, to, err);
        if (moved <= 0)
                return moved;
        k = registry_txn_commit(&txn, err);
        return k < 0 ? k : 1;
}

int registry_sandbox_set_setup_digest(Registry *r, int64_t id, const char *digest, Error *err)
{
        _cleanup_txn_ RegistryTxn txn = {};
        int k = registry_txn_begin(r, &txn, err);
        if (k < 0)
                return k;
        k = registry_run(r, err, "UPDATE sandboxes SET setup_digest = ?, updated_at = unixepoch() WHERE id = ?",
                         "ti", digest, id);
        if (k < 0)
                return k;
        return registry_txn_commit(&txn, err);
}

int registry_sandbox_delete(Registry *r, int64_t id, Error *err)
{
        _cleanup_txn_ RegistryTxn txn = {};
        int k = registry_txn_begin(r, &txn, err);
        if (k < 0)
                return k;
        k = registry_run(r, err, "DELETE FROM sandboxes WHERE id = ?", "i", id);
        if (k == -EBUSY)
                return error_wrap(err, "the sandbox still has workspaces");
        if (k < 0)
                return k;
        return registry_txn_commit(&txn, err);
}

int registry_sandbox_workspace_names(Registry *r, int64_t id, char **ret, Error *err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int k = registry_prepare(r, "SELECT name FROM workspaces WHERE sandbox_id = ? ORDER BY name", &s, err);
        if (k >= 0)
                k = registry_bind(r, s, err, "i", id);
        if (k < 0)
                return k;
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        strbuf_puts(&b, "");
        size_t n = 0;
        while ((k = registry_step(r, s, err)) > 0) {
                if (n++ > 0)
                        strbuf_puts(&b, ", ");
                strbuf_puts(&b, (const char *) sqlite3_column_text(s, 0));
        }
        if (k < 0)
                return k;
        char *names = strbuf_steal(&b);
        if (!names)
                return error_set(err, ENOMEM, "out of memory");
        *ret = names;
        return 0;
}

json_t *sandbox_row_to_json(const SandboxRow *row)
{
        json_t *o = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s}",
                              "id", (json_int_t) row->id,
                              "owner_uid", (json_int_t) row->owner_uid,
                              "name", row->name,
                              "suite", row->suite,
                              "mirror", row->mirror,
                              "bootstrap_method", row->bootstrap_method,
                              "state", row->state);
        json_t *rest = json_pack("{s:s?, s:I, s:I, s:I, s:I}",
                                 "setup_digest", row->setup_digest,
                                 "created_at", (json_int_t) row->created_at,
                                 "updated_at", (json_int_t) row->updated_at,
                                 "workspaces", (json_int_t) row->n_workspaces,
                                 "workspaces_running", (json_int_t) row->n_running);
        /* Every cap, null when not set. */
        if (!o || !rest || limits_to_json(&row->caps, LIMIT_SANDBOX, SPEC_JSON_WIRE, o) < 0 ||
            json_object_update(o, rest) < 0)
                o = (json_decref(o), NULL);
        json_decref(rest);
        return o;
}
