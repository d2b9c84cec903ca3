#include "registry/registry.h"
#include "registry/registry-schema.h"

#include <jansson.h>
#include <stdarg.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>

struct Registry {
        sqlite3 *db;
        char *path;
};

int registry_errno(int rc)
{
        switch (rc) {
        case SQLITE_CONSTRAINT_FOREIGNKEY:
                return -ENOENT; /* a reference to a missing row */
        case SQLITE_CONSTRAINT_TRIGGER:
                return -EBUSY;  /* ON DELETE RESTRICT: the row is still referenced */
        case SQLITE_CONSTRAINT_CHECK:
        case SQLITE_CONSTRAINT_NOTNULL:
        case SQLITE_CONSTRAINT_DATATYPE:
                return -EINVAL;
        default:
                break;
        }
        switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_ROW:
        case SQLITE_DONE:
                return 0;
        case SQLITE_CONSTRAINT:
                return -EEXIST;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_READONLY:
                return -EROFS;
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_CANTOPEN:
                return -ENOENT;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EUCLEAN;
        case SQLITE_TOOBIG:
                return -E2BIG;
        case SQLITE_MISMATCH:
        case SQLITE_RANGE:
                return -EINVAL;
        default:
                return -EIO;
        }
}

/* Record the database's own message: it names the constraint or
 * column at fault, which is what a user needs. */
static int sql_error(Registry *r, int rc, Error *err, const char *what)
{
        int e = registry_errno(rc);
        if (e == 0)
                e = -EIO;
        return error_set(err, -e, "registry: %s: %s", what, r && r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
}

sqlite3 *registry_db(Registry *r)
{
        return r->db;
}

const char *registry_path(const Registry *r)
{
        return r->path;
}

int registry_exec(Registry *r, const char *sql, Error *err)
{
        int rc = sqlite3_exec(r->db, sql, NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                return sql_error(r, rc, err, "executing statement");
        return 0;
}

int registry_prepare(Registry *r, const char *sql, sqlite3_stmt **ret, Error *err)
{
        int rc = sqlite3_prepare_v2(r->db, sql, -1, ret, NULL);
        if (rc != SQLITE_OK) {
                *ret = NULL;
                return sql_error(r, rc, err, "preparing statement");
        }
        return 0;
}

static int bind_json(sqlite3_stmt *s, int idx, json_t *j)
{
        if (!j)
                return sqlite3_bind_null(s, idx);
        char *text = json_dumps(j, JSON_COMPACT);
        if (!text)
                return SQLITE_NOMEM;
        return sqlite3_bind_text(s, idx, text, -1, free);
}

int registry_bindv(Registry *r, sqlite3_stmt *s, Error *err, const char *types, va_list ap)
{
        int idx = 1;
        for (const char *t = types; t && *t; t++, idx++) {
                int rc;
                switch (*t) {
                case 'i': rc = sqlite3_bind_int64(s, idx, va_arg(ap, int64_t)); break;
                case 'u': rc = sqlite3_bind_int64(s, idx, (int64_t) va_arg(ap, uint32_t)); break;
                case 'b': rc = sqlite3_bind_int(s, idx, va_arg(ap, int) ? 1 : 0); break;
                case 'd': rc = sqlite3_bind_double(s, idx, va_arg(ap, double)); break;
                case 'n': rc = sqlite3_bind_null(s, idx); break;
                case 't': {
                        const char *v = va_arg(ap, const char *);
                        rc = v ? sqlite3_bind_text(s, idx, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(s, idx);
                        break;
                }
                case 'j': rc = bind_json(s, idx, va_arg(ap, json_t *)); break;
                default:
                        return error_set(err, EINVAL, "registry: unknown bind type '%c'", *t);
                }
                if (rc != SQLITE_OK)
                        return sql_error(r, rc, err, "binding value");
        }
        return 0;
}

int registry_bind(Registry *r, sqlite3_stmt *s, Error *err, const char *types, ...)
{
        va_list ap;
        va_start(ap, types);
        int k = registry_bindv(r, s, err, types, ap);
        va_end(ap);
        return k;
}

int registry_step(Registry *r, sqlite3_stmt *s, Error *err)
{
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
                return 1;
        if (rc == SQLITE_DONE)
                return 0;
        return sql_error(r, rc, err, "running statement");
}

int registry_run(Registry *r, Error *err, const char *sql, const char *types, ...)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int k = registry_prepare(r, sql, &s, err);
        if (k < 0)
                return k;
        va_list ap;
        va_start(ap, types);
        k = registry_bindv(r, s, err, types, ap);
        va_end(ap);
        if (k < 0)
                return k;
        while ((k = registry_step(r, s, err)) > 0)
                ;
        if (k < 0)
                return k;
        return sqlite3_changes(r->db);
}

int registry_query_int64(Registry *r, int64_t *ret, Error *err, const char *sql, const char *types, ...)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int k = registry_prepare(r, sql, &s, err);
        if (k < 0)
                return k;
        va_list ap;
        va_start(ap, types);
        k = registry_bindv(r, s, err, types, ap);
        va_end(ap);
        if (k < 0)
                return k;
        k = registry_step(r, s, err);
        if (k < 0)
                return k;
        if (k == 0)
                return -ENOENT;
        *ret = sqlite3_column_int64(s, 0);
        return 0;
}

int64_t registry_last_insert_id(Registry *r)
{
        return sqlite3_last_insert_rowid(r->db);
}

int registry_column_strdup(sqlite3_stmt *s, int col, char **ret)
{
        const unsigned char *t = sqlite3_column_text(s, col);
        if (!t) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup((const char *) t);
        return *ret ? 0 : -ENOMEM;
}

int registry_begin(Registry *r, Error *err)
{
        /* IMMEDIATE takes the write lock now, so a transaction never
         * fails half-way with SQLITE_BUSY on its first write. */
        return registry_exec(r, "BEGIN IMMEDIATE", err);
}

int registry_commit(Registry *r, Error *err)
{
        int k = registry_exec(r, "COMMIT", err);
        if (k < 0)
                registry_rollback(r);
        return k;
}

void registry_rollback(Registry *r)
{
        if (!sqlite3_get_autocommit(r->db))
                (void) sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
}

int registry_txn_begin(Registry *r, RegistryTxn *txn, Error *err)
{
        int k = registry_begin(r, err);
        if (k < 0)
                return k;
        *txn = (RegistryTxn) { .registry = r, .active = true };
        return 0;
}

int registry_txn_commit(RegistryTxn *txn, Error *err)
{
        if (!txn->active)
                return error_set(err, EINVAL, "registry: no transaction to commit");
        txn->active = false;
        return registry_commit(txn->registry, err);
}

void registry_txn_done(RegistryTxn *txn)
{
        if (txn->active)
                registry_rollback(txn->registry);
        txn->active = false;
}

int registry_schema_version(Registry *r, int *ret, Error *err)
{
        int64_t v = 0;
        int k = registry_query_int64(r, &v, err, "SELECT coalesce(max(version), 0) FROM schema_version", "");
        if (k < 0)
                return k;
        *ret = (int) v;
        return 0;
}

static int check_newer(Registry *r, int version, Error *err)
{
        if (version > REGISTRY_SCHEMA_VERSION)
                return error_set(err, EPROTO,
                                 "registry %s has schema version %d, newer than this enclave understands (%d); "
                                 "run the enclave version that wrote it",
                                 r->path, version, REGISTRY_SCHEMA_VERSION);
        return 0;
}

/* The common case without the write lock: a worker opening its own
 * connection must not queue behind a writer just to learn that the
 * schema is current. */
static int registry_is_current(Registry *r, Error *err)
{
        int64_t exists = 0;
        int k = registry_query_int64(r, &exists, err,
                                     "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", "t",
                                     "schema_version");
        if (k < 0 || !exists)
                return k < 0 ? k : 0;
        int version;
        k = registry_schema_version(r, &version, err);
        if (k < 0 || (k = check_newer(r, version, err)) < 0)
                return k;
        return version == REGISTRY_SCHEMA_VERSION;
}

static int registry_migrate(Registry *r, Error *err)
{
        int k = registry_is_current(r, err);
        if (k != 0)
                return k < 0 ? k : 0;

        _cleanup_txn_ RegistryTxn txn = {};
        k = registry_txn_begin(r, &txn, err);
        if (k < 0)
                return error_wrap(err, "starting migration");
        k = registry_exec(r, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", err);
        if (k < 0)
                return k;
        int version;
        k = registry_schema_version(r, &version, err);
        if (k < 0)
                return k;
        k = check_newer(r, version, err);
        if (k < 0)
                return k;
        if (version == REGISTRY_SCHEMA_VERSION)
                return 0; /* nothing to change: the cleanup rolls back the empty transaction */
        for (int v = version; v < REGISTRY_SCHEMA_VERSION; v++) {
                k = registry_exec(r, registry_migration(v), err);
                if (k < 0)
                        return error_wrap(err, "migrating registry from schema version %d to %d", v, v + 1);
        }
        k = registry_run(r, err, "DELETE FROM schema_version", "");
        if (k >= 0)
                k = registry_run(r, err, "INSERT INTO schema_version (version) VALUES (?)", "i",
                                 (int64_t) REGISTRY_SCHEMA_VERSION);
        if (k < 0)
                return k;
        return registry_txn_commit(&txn, err);
}

static int registry_configure(Registry *r, Error *err)
{
        (void) sqlite3_busy_timeout(r->db, REGISTRY_BUSY_TIMEOUT_MS);
        (void) sqlite3_extended_result_codes(r->db, 1);
        /* journal_mode returns a row; exec ignores it. WAL survives a
         * kill -9 at any point: the last committed state is kept. */
        int k = registry_exec(r, "PRAGMA journal_mode = WAL", err);
        if (k >= 0)
                k = registry_exec(r, "PRAGMA synchronous = FULL", err);
        if (k >= 0)
                k = registry_exec(r, "PRAGMA foreign_keys = ON", err);
        if (k < 0)
                return k;
        int64_t fk = 0;
        k = registry_query_int64(r, &fk, err, "PRAGMA foreign_keys", "");
        if (k < 0)
                return k;
        if (fk != 1)
                return error_set(err, ENOTSUP, "registry: this SQLite cannot enforce foreign keys");
        return 0;
}

int registry_open(const char *path, Registry **ret, Error *err)
{
        Registry *r = calloc(1, sizeof *r);
        if (!r)
                return error_set(err, ENOMEM, "out of memory");
        _cleanup_registry_ Registry *guard = r;
        r->path = strdup(path);
        if (!r->path)
                return error_set(err, ENOMEM, "out of memory");

        /* Create it ourselves so it is never readable by others, not
         * even for an instant; the -wal and -shm files inherit the mode.
         * An existing database is never open()ed and close()d here:
         * closing any fd of the file drops the POSIX locks SQLite holds
         * through this process's other connections. */
        int k = 0;
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0)
                safe_close(fd);
        else if (errno != EEXIST)
                return error_setc(err, errno, "opening registry %s", path);
        else {
                struct stat st;
                if (lstat(path, &st) < 0)
                        return error_setc(err, errno, "opening registry %s", path);
                if (!S_ISREG(st.st_mode))
                        return error_set(err, EINVAL, "registry %s is not a regular file", path);
                if ((st.st_mode & 07777) != 0600 && chmod(path, 0600) < 0)
                        return error_setc(err, errno, "registry: setting mode of %s", path);
        }

        int rc = sqlite3_open_v2(path, &r->db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW |
                                         SQLITE_OPEN_EXRESCODE,
                                 NULL);
        if (rc != SQLITE_OK) {
                sql_error(r, rc, err, "opening database");
                return error_wrap(err, "opening registry %s", path);
        }
        k = registry_configure(r, err);
        if (k >= 0)
                k = registry_migrate(r, err);
        if (k < 0)
                return error_wrap(err, "opening registry %s", path);
        *ret = TAKE_PTR(guard);
        return 0;
}

Registry *registry_close(Registry *r)
{
        if (!r)
                return NULL;
        if (r->db) {
                registry_rollback(r);
                sqlite3_close_v2(r->db);
        }
        free(r->path);
        free(r);
        return NULL;
}

int registry_integrity_check(Registry *r, Error *err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int k = registry_prepare(r, "PRAGMA integrity_check", &s, err);
        if (k < 0)
                return k;
        k = registry_step(r, s, err);
        if (k < 0)
                return k;
        const char *res = k > 0 ? (const char *) sqlite3_column_text(s, 0) : NULL;
        if (!res || !streq(res, "ok"))
                return error_set(err, EUCLEAN, "registry %s failed its integrity check: %s", r->path,
                                 res ? res : "no result");
        sqlite3_finalize(TAKE_PTR(s));
        /* integrity_check does not look at foreign keys. */
        k = registry_prepare(r, "PRAGMA foreign_key_check", &s, err);
        if (k < 0)
                return k;
        k = registry_step(r, s, err);
        if (k < 0)
                return k;
        if (k > 0)
                return error_set(err, EUCLEAN, "registry %s has a dangling reference in table %s", r->path,
                                 (const char *) sqlite3_column_text(s, 0));
        return 0;
}

int registry_counts(Registry *r, RegistryCounts *ret, Error *err)
{
        return registry_counts_owned(r, -1, ret, err);
}

int registry_counts_owned(Registry *r, int64_t owner, RegistryCounts *ret, Error *err)
{
        RegistryCounts c = {};
        int k = registry_query_int64(r, &c.sandboxes, err,
                                     "SELECT count(*) FROM sandboxes WHERE ? < 0 OR owner_uid = ?", "ii", owner, owner);
        if (k >= 0)
                k = registry_query_int64(r, &c.workspaces, err,
                                         "SELECT count(*) FROM workspaces WHERE ? < 0 OR owner_uid = ?", "ii", owner,
                                         owner);
        if (k >= 0)
                k = registry_query_int64(r, &c.workspaces_running, err,
                                         "SELECT count(*) FROM workspaces WHERE state = 'running' AND "
                                         "(? < 0 OR owner_uid = ?)", "ii", owner, owner);
        if (k < 0)
                return k;
        *ret = c;
        return 0;
}
