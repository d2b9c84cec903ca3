/* The registry: the daemon's durable state in SQLite (SPEC §4).
 *
 * <state_dir>/registry.db in WAL mode with foreign keys on and
 * synchronous=FULL, so a daemon killed at any instant restarts into the
 * last committed state. The schema carries a version; registry_open()
 * applies the missing migrations in one transaction. The daemon is the
 * only writer; every change is one transaction (registry_txn_*).
 *
 * Threads: a Registry is used by one thread at a time. The event loop
 * has one; a long action on a worker thread gets its own connection to
 * the same file (call_registry()), and SQLite serialises writers
 * (busy timeout REGISTRY_BUSY_TIMEOUT_MS).
 *
 * Other areas add their typed functions in their own files on top of
 * the generic helpers below (see daemon/registry-policy.c for the pattern). */
#pragma once

#include "base/error.h"

#include <sqlite3.h>

#define REGISTRY_FILE "registry.db"
#define REGISTRY_SCHEMA_VERSION 4
#define REGISTRY_BUSY_TIMEOUT_MS 5000

typedef struct Registry Registry;

/* Open (creating when missing, mode 0600) and migrate to
 * REGISTRY_SCHEMA_VERSION. A database newer than this build is an
 * error, never touched. */
int registry_open(const char *path, Registry **ret, Error *err);
Registry *registry_close(Registry *r);
DEFINE_CLEANUP_FUNC(Registry, registry_close);
#define _cleanup_registry_ _cleanup_(registry_closep)

sqlite3 *registry_db(Registry *r);
const char *registry_path(const Registry *r);
int registry_schema_version(Registry *r, int *ret, Error *err);

/* PRAGMA integrity_check; -EUCLEAN with the first problem in err. */
int registry_integrity_check(Registry *r, Error *err);

/* SQLite result code to a negative errno (unique -> -EEXIST, foreign key
 * to a missing row -> -ENOENT, deleting a row still referenced -> -EBUSY,
 * check/not null -> -EINVAL,
 * busy/locked -> -EBUSY, full -> -ENOSPC, corrupt -> -EUCLEAN, ...). */
int registry_errno(int sqlite_rc);

/* ---- transactions ---- */

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. Transactions do not nest. */
int registry_begin(Registry *r, Error *err);
int registry_commit(Registry *r, Error *err);
void registry_rollback(Registry *r);

/* Scope-bound transaction: rolled back on every path that does not
 * reach registry_txn_commit().
 *
 *     _cleanup_txn_ RegistryTxn txn = {};
 *     r = registry_txn_begin(reg, &txn, err); if (r < 0) return r;
 *     ... registry_run(...) ...
 *     return registry_txn_commit(&txn, err);
 */
typedef struct RegistryTxn {
        Registry *registry;
        bool active;
} RegistryTxn;

int registry_txn_begin(Registry *r, RegistryTxn *txn, Error *err);
int registry_txn_commit(RegistryTxn *txn, Error *err);
void registry_txn_done(RegistryTxn *txn);
#define _cleanup_txn_ _cleanup_(registry_txn_done)

/* ---- statements ----
 *
 * Values are bound by a type string, one letter per '?' in order:
 *   'i' int64_t      'u' uint32_t (e.g. uid_t)    'b' bool (0/1)
 *   't' const char * (NULL binds NULL)            'n' no argument, NULL
 *   'd' double       'j' json_t * (serialized; NULL binds NULL)
 * The Error comes before the SQL because the values are variadic. */

int registry_prepare(Registry *r, const char *sql, sqlite3_stmt **ret, Error *err);
static inline void registry_finalizep(sqlite3_stmt **s)
{
        if (*s)
                sqlite3_finalize(*s);
}
#define _cleanup_stmt_ _cleanup_(registry_finalizep)

int registry_bind(Registry *r, sqlite3_stmt *s, Error *err, const char *types, ...);
int registry_bindv(Registry *r, sqlite3_stmt *s, Error *err, const char *types, va_list ap);

/* Step once: 1 when a row is available, 0 when done, negative errno. */
int registry_step(Registry *r, sqlite3_stmt *s, Error *err);

/* Prepare, bind, run to completion. Returns the number of rows changed. */
int registry_run(Registry *r, Error *err, const char *sql, const char *types, ...);

/* First column of the first row as an integer; -ENOENT without a row,
 * 0 with *ret = 0 for a NULL. */
int registry_query_int64(Registry *r, int64_t *ret, Error *err, const char *sql, const char *types, ...);

/* Run a script of several statements without parameters. */
int registry_exec(Registry *r, const char *sql, Error *err);

int64_t registry_last_insert_id(Registry *r);

/* Column text copied (NULL for SQL NULL); -ENOMEM on OOM. */
int registry_column_strdup(sqlite3_stmt *s, int col, char **ret);

/* ---- typed: counts for health (registry.c) ---- */

typedef struct RegistryCounts {
        int64_t sandboxes;
        int64_t workspaces;
        int64_t workspaces_running;
} RegistryCounts;

int registry_counts(Registry *r, RegistryCounts *ret, Error *err);
/* Only the objects of owner (< 0: everyone's). */
int registry_counts_owned(Registry *r, int64_t owner, RegistryCounts *ret, Error *err);
