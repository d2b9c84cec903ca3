/* The SQLite registry on a temp dir: schema, migrations, transactions,
 * foreign keys, typed policy functions. Real SQLite, real files. */
#include "test.h"
#include "scratch.h"
#include "registry/registry.h"
#include "registry/registry-schema.h"
#include "daemon/policy.h"
#include "registry/registry-sandbox.h"
#include "base/fs.h"

#include <jansson.h>
#include <sys/stat.h>

static char *tmpdir(void)
{
        return scratch_tmpdir("/tmp/enctest-registry.XXXXXX");
}

static Registry *open_in(const char *dir)
{
        _cleanup_free_ char *path = path_join(dir, REGISTRY_FILE);
        _cleanup_error_ Error err = ERROR_INIT;
        Registry *r = NULL;
        if (registry_open(path, &r, &err) < 0)
                TEST_FAIL("registry_open: %s", error_msg(&err));
        return r;
}

static int64_t count(Registry *r, const char *sql)
{
        int64_t n = -1;
        _cleanup_error_ Error err = ERROR_INIT;
        if (registry_query_int64(r, &n, &err, sql, "") < 0)
                TEST_FAIL("%s: %s", sql, error_msg(&err));
        return n;
}

static int64_t add_sandbox(Registry *r, const char *name)
{
        _cleanup_error_ Error err = ERROR_INIT;
        int k = registry_run(r, &err,
                             "INSERT INTO sandboxes (name, suite, mirror, bootstrap_method) VALUES (?, 'bookworm', "
                             "'http://deb.debian.org/debian', 'debootstrap')",
                             "t", name);
        if (k != 1)
                TEST_FAIL("insert sandbox: %s", error_msg(&err));
        return registry_last_insert_id(r);
}

TEST(fresh_database_gets_the_schema)
{
        _cleanup_tmpdir_ char *dir = tmpdir();
        _cleanup_registry_ Registry *r = open_in(dir);
        int v = 0;
        ASSERT_OK(registry_schema_version(r, &v, NULL));
        ASSERT_EQ(v, REGISTRY_SCHEMA_VERSION);
        const char *tables[] = { "sandboxes", "workspaces", "id_ranges", "ip_leases", "ports", "policy_rules",
                                 "policy_default", "snapshots", "schema_version" };
        for (size_t i = 0; i < ELEMENTSOF(tables); i++) {
                int64_t n = 0;
                ASSERT_OK(registry_query_int64(r, &n, NULL,
                                               "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
                                               "t", tables[i]));
                if (n != 1)
                        TEST_FAIL("table %s missing", tables[i]);
        }
        ASSERT_EQ(count(r, "PRAGMA foreign_keys"), 1);
        ASSERT_EQ(count(r, "SELECT count(*) FROM schema_version"), 1);
        ASSERT_OK(registry_integrity_check(r, NULL));

        _cleanup_free_ char *path = path_join(dir, REGISTRY_FILE);
        struct stat st;
        ASSERT_OK(stat(path, &st));
        ASSERT_EQ(st.st_mode & 07777, 0600);
}

TEST(wal_mode_and_reopen_is_idempotent)
{
        _cleanup_tmpdir_ char *dir = tmpdir();
        Registry *r = open_in(dir);
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        ASSERT_OK(registry_prepare(r, "PRAGMA journal_mode", &s, NULL));
        ASSERT_EQ(registry_step(r, s, NULL), 1);
        ASSERT_STREQ((const char *) sqlite3_column_text(s, 0), "wal");
        sqlite3_finalize(TAKE_PTR(s));
        add_sandbox(r, "keep");
        registry_close(r);

        r = open_in(dir);
        ASSERT_EQ(count(r, "SELECT count(*) FROM schema_version"), 1);
        ASSERT_EQ(count(r, "SELECT count(*) FROM sandboxes WHERE name = 'keep'"), 1);
        registry_close(r);
}

TEST(newer_schema_is_refused_untouched)
{
        _cleanup_tmpdir_ char *dir = tmpdir();
        Registry *r = open_in(dir);
        ASSERT_EQ(registry_run(r, NULL, "UPDATE schema_version SET version = 99", ""), 1);
        registry_close(r);

        _cleanup_free_ char *path = path_join(dir, REGISTRY_FILE);
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(registry_open(path, &r, &err), -EPROTO);
        ASSERT_CONTAINS(err.msg, "schema version 99, newer than this enclave understands");
}

TEST(migration_from_an_empty_database_is_one_transaction)
{
        _cleanup_tmpdir_ char *dir = tmpdir();
        _cleanup_free_ char *path = path_join(dir, REGISTRY_FILE);
        /* A database that already has a table the first migration creates:
         * the migration fails, and nothing of it may remain. */
        sqlite3 *db;
        ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE ports (x INTEGER)", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);

        Registry *r = NULL;
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_TRUE(registry_open(path, &r, &err) < 0);
        ASSERT_CONTAINS(err.msg, "migrating registry from schema version 0 to 1");

        ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
        sqlite3_stmt *s;
        ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('sandboxes', "
                                         "'schema_version')", -1, &s, NULL), SQLITE_OK);
        ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
        ASSERT_EQ(sqlite3_column_int(s, 0), 0);
        sqlite3_finalize(s);
        sqlite3_close(db);
}

TEST(transactions_commit_and_roll_back)
{
        _cleanup_tmpdir_ char *dir = tmpdir();
        _cleanup_registry_ Registry *r = open_in(dir);
        {
                _cleanup_txn_ RegistryTxn txn = {};
                ASSERT_OK(registry_txn_begin(r, &txn, NULL));
                add_sandbox(r, "rolled-back");
                /* leaving the scope without commit rolls back */
        }
        ASSERT_EQ(count(r, "SELECT count(*) FROM sandboxes"), 0);
        {
                _cleanup_txn_ RegistryTxn txn = {};
                ASSERT_OK(registry_txn_begin(r, &txn, NULL));
                add_sandbox(r, "committed");
                ASSERT_OK(registry_txn_commit(&txn, NULL));
        }
        ASSERT_EQ(count(r, "SELECT count(*) FROM sandboxes"), 1);
        /* Transactions do not nest. */
        _cleanup_txn_ RegistryTxn a = {};
        ASSERT_OK(registry_txn_begin(r, &a, NULL));
        _cleanup_error_ Error err = ERROR_INIT;
        RegistryTxn b = {};
        ASSERT_TRUE(registry_txn_begin(r, &b, &err) < 0);
        ASSERT_FALSE(b.active);
}

TEST(a_second_connection_sees_only_committed_state)
{
        _cleanup_tmpdir_ char *dir = tmpdir();
        _cleanup_registry_ Registry *w = open_in(dir);
        _cleanup_registry_ Registry *rd = open_in(dir);
        _cleanup_txn_ RegistryTxn txn = {};
        ASSERT_OK(registry_txn_begin(w, &txn, NULL));
        add_sandbox(w, "pending");
        ASSERT_EQ(count(rd, "SELECT count(*) FROM sandboxes"), 0); /* WAL: readers are not blocked */
        ASSERT_OK(registry_txn_commit(&txn, NULL));
        ASSERT_EQ(count(rd, "SELECT count(*) FROM sandboxes"), 1);
}

TEST(foreign_keys_and_constraints)
{
        _cleanup_tmpdir_ char *dir = tmpdir();
        _cleanup_registry_ Registry *r = open_in(dir);
        _cleanup_error_ Error err = ERROR_INIT;

        /* A workspace needs its sandbox. */
        ASSERT_EQ(registry_run(r, &err, "INSERT INTO workspaces (sandbox_id, name) VALUES (42, 'w')", ""), -ENOENT);
        ASSERT_CONTAINS(err.msg, "FOREIGN KEY constraint failed");

        int64_t sb = add_sandbox(r, "sb");
        ASSERT_EQ(add_sandbox(r, "other") > sb, 1);
        ASSERT_EQ(registry_run(r, &err, "INSERT INTO sandboxes (name, suite, mirror, bootstrap_method) VALUES "
                                        "('sb', 's', 'm', 'debootstrap')", ""), -EEXIST);
        ASSERT_EQ(registry_run(r, &err, "INSERT INTO sandboxes (name, suite, mirror, bootstrap_method) VALUES "
                                        "('x', 's', 'm', 'magic')", ""), -EINVAL);

        json_t *config = json_pack("{s:s}", "run", "sleep infinity");
        ASSERT_EQ(registry_run(r, &err, "INSERT INTO workspaces (sandbox_id, name, config) VALUES (?, ?, ?)", "itj",
                               sb, "w", config), 1);
        json_decref(config);
        int64_t ws = registry_last_insert_id(r);
        ASSERT_EQ(registry_run(r, &err, "INSERT INTO workspaces (sandbox_id, name) VALUES (?, 'w')", "i", sb), -EEXIST);
        ASSERT_EQ(registry_run(r, &err, "INSERT INTO workspaces (sandbox_id, name, config) VALUES (?, 'v', 'nope')",
                               "i", sb), -EINVAL);

        ASSERT_EQ(registry_run(r, &err, "INSERT INTO ip_leases (ip, workspace_id) VALUES ('10.200.0.2', ?)", "i", ws), 1);
        ASSERT_EQ(registry_run(r, &err, "INSERT INTO id_ranges (base, count, workspace_id) VALUES (?, 65536, ?)", "ii",
                               (int64_t) 100000 * 65536, ws), 1);
        ASSERT_EQ(registry_run(r, &err, "INSERT INTO ports (workspace_id, host_port, workspace_port) VALUES (?, 3001, "
                                        "3000)", "i", ws), 1);
        ASSERT_EQ(registry_run(r, &err, "INSERT INTO ports (workspace_id, host_port, workspace_port) VALUES (?, 3001, "
                                        "3002)", "i", ws), -EEXIST);
        ASSERT_EQ(registry_run(r, &err, "INSERT INTO snapshots (workspace_id, name) VALUES (?, 'snap1')", "i", ws), 1);

        /* A sandbox with workspaces cannot go first. */
        ASSERT_EQ(registry_run(r, &err, "DELETE FROM sandboxes WHERE id = ?", "i", sb), -EBUSY);
        /* Deleting the workspace takes everything of it along. */
        ASSERT_EQ(registry_run(r, &err, "DELETE FROM workspaces WHERE id = ?", "i", ws), 1);
        ASSERT_EQ(count(r, "SELECT count(*) FROM ip_leases"), 0);
        ASSERT_EQ(count(r, "SELECT count(*) FROM id_ranges"), 0);
        ASSERT_EQ(count(r, "SELECT count(*) FROM ports"), 0);
        ASSERT_EQ(count(r, "SELECT count(*) FROM snapshots"), 0);
        ASSERT_EQ(registry_run(r, &err, "DELETE FROM sandboxes WHERE id = ?", "i", sb), 1);
        ASSERT_OK(registry_integrity_check(r, &err));
}

TEST(helpers)
{
        _cleanup_tmpdir_ char *dir = tmpdir();
        _cleanup_registry_ Registry *r = open_in(dir);
        _cleanup_error_ Error err = ERROR_INIT;
        int64_t v = 0;
        ASSERT_EQ(registry_query_int64(r, &v, &err, "SELECT id FROM sandboxes WHERE name = ?", "t", "none"), -ENOENT);
        ASSERT_OK(registry_query_int64(r, &v, &err, "SELECT ? + ?", "iu", (int64_t) 40, (uint32_t) 2));
        ASSERT_EQ(v, 42);
        ASSERT_OK(registry_query_int64(r, &v, &err, "SELECT ? IS NULL AND ? IS NULL", "nt", NULL));
        ASSERT_EQ(v, 1);
        ASSERT_OK(registry_query_int64(r, &v, &err, "SELECT ?", "b", 1));
        ASSERT_EQ(v, 1);
        ASSERT_EQ(registry_run(r, &err, "SELECT ?", "x", 1), -EINVAL);
        ASSERT_TRUE(registry_run(r, &err, "SELEKT 1", "") < 0);
        ASSERT_CONTAINS(err.msg, "syntax error");

        add_sandbox(r, "a");
        add_sandbox(r, "b");
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        ASSERT_OK(registry_prepare(r, "SELECT name, setup_digest FROM sandboxes ORDER BY name", &s, &err));
        ASSERT_EQ(registry_step(r, s, &err), 1);
        _cleanup_free_ char *name = NULL, *digest = NULL;
        ASSERT_OK(registry_column_strdup(s, 0, &name));
        ASSERT_OK(registry_column_strdup(s, 1, &digest));
        ASSERT_STREQ(name, "a");
        ASSERT_NULL(digest);
        ASSERT_EQ(registry_step(r, s, &err), 1);
        ASSERT_EQ(registry_step(r, s, &err), 0);
        ASSERT_EQ(registry_run(r, &err, "UPDATE sandboxes SET state = 'ready'", ""), 2);

        RegistryCounts c;
        ASSERT_OK(registry_counts(r, &c, &err));
        ASSERT_EQ(c.sandboxes, 2);
        ASSERT_EQ(c.workspaces, 0);
}

TEST(policy_roundtrip)
{
        _cleanup_tmpdir_ char *dir = tmpdir();
        Registry *r = open_in(dir);
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_policy_ Policy p = POLICY_INIT;
        ASSERT_OK(registry_policy_load(r, &p, &err));
        ASSERT_EQ(p.default_effect, POLICY_ALLOW);
        ASSERT_EQ(p.n_rules, 0);

        ASSERT_OK(registry_policy_set_rule(r, 1000, "workspace.*", POLICY_DENY, &err));
        ASSERT_OK(registry_policy_set_rule(r, POLICY_UID_ALL, "daemon.*", POLICY_ALLOW, &err));
        ASSERT_OK(registry_policy_set_rule(r, 1000, "workspace.*", POLICY_ALLOW, &err)); /* replaces */
        ASSERT_OK(registry_policy_set_rule(r, 1001, "sandbox.*", POLICY_DENY, &err));
        ASSERT_OK(registry_policy_set_default(r, POLICY_DENY, &err));
        ASSERT_EQ(registry_policy_set_rule(r, 1, "Bad Pattern", POLICY_DENY, &err), -EINVAL);
        registry_close(r);

        r = open_in(dir);
        policy_done(&p);
        ASSERT_OK(registry_policy_load(r, &p, &err));
        ASSERT_EQ(p.default_effect, POLICY_DENY);
        ASSERT_EQ(p.n_rules, 3);
        ASSERT_EQ(p.rules[0].uid, 1000);
        ASSERT_EQ(p.rules[0].effect, POLICY_ALLOW);
        ASSERT_EQ(p.rules[1].uid, POLICY_UID_ALL);

        ASSERT_EQ(registry_policy_clear(r, false, 1000, &err), 1);
        ASSERT_EQ(count(r, "SELECT count(*) FROM policy_rules"), 2);
        ASSERT_EQ(registry_policy_clear(r, true, 0, &err), 2);
        policy_done(&p);
        ASSERT_OK(registry_policy_load(r, &p, &err));
        ASSERT_EQ(p.n_rules, 0);
        ASSERT_EQ(p.default_effect, POLICY_ALLOW);
        registry_close(r);
}

TEST(a_damaged_file_is_an_error_not_a_crash)
{
        _cleanup_tmpdir_ char *dir = tmpdir();
        _cleanup_free_ char *path = path_join(dir, REGISTRY_FILE);
        ASSERT_OK(write_file_atomic(path, "this is not a database, just text that is long enough", 54, 0600));
        Registry *r = NULL;
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(registry_open(path, &r, &err), -EUCLEAN);
        ASSERT_CONTAINS(err.msg, "opening registry");
        ASSERT_NULL(r);
}

/* Schema 2 (owners): a state dir of schema 1 keeps its rows, which
 * become root's, and the triggers keep every workspace and snapshot
 * with the owner of its parent. */
TEST(owner_migration_and_triggers)
{
        _cleanup_tmpdir_ char *dir = tmpdir();
        _cleanup_free_ char *path = path_join(dir, REGISTRY_FILE);
        sqlite3 *db;
        ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(db, registry_migration(0), NULL, NULL, NULL), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(db,
                               "CREATE TABLE schema_version (version INTEGER NOT NULL);"
                               "INSERT INTO schema_version VALUES (1);"
                               "INSERT INTO sandboxes (id, name, suite, mirror, bootstrap_method) VALUES "
                               "  (1, 'old', 'bookworm', 'http://deb.debian.org/debian', 'debootstrap');"
                               "INSERT INTO workspaces (id, sandbox_id, name) VALUES (1, 1, 'w');"
                               "INSERT INTO snapshots (workspace_id, name) VALUES (1, 's');",
                               NULL, NULL, NULL),
                  SQLITE_OK);
        sqlite3_close(db);

        _cleanup_registry_ Registry *r = open_in(dir);
        int v = 0;
        ASSERT_OK(registry_schema_version(r, &v, NULL));
        ASSERT_EQ(v, REGISTRY_SCHEMA_VERSION);
        ASSERT_EQ(count(r, "SELECT count(*) FROM sandboxes WHERE name = 'old' AND owner_uid = 0"), 1);
        ASSERT_EQ(count(r, "SELECT count(*) FROM workspaces WHERE name = 'w' AND owner_uid = 0"), 1);
        ASSERT_EQ(count(r, "SELECT count(*) FROM snapshots WHERE name = 's' AND owner_uid = 0"), 1);

        /* A user's sandbox; a workspace in it must be that user's. */
        ASSERT_EQ(registry_run(r, NULL,
                               "INSERT INTO sandboxes (id, owner_uid, name, suite, mirror, bootstrap_method) VALUES "
                               "(2, 1000, 'mine', 'bookworm', 'http://deb.debian.org/debian', 'debootstrap')", ""),
                  1);
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_TRUE(registry_run(r, &err, "INSERT INTO workspaces (sandbox_id, owner_uid, name) VALUES (2, 0, 'x')",
                                 "") < 0);
        ASSERT_CONTAINS(error_msg(&err), "owner of its sandbox");
        error_clear(&err);
        ASSERT_TRUE(registry_run(r, &err, "INSERT INTO workspaces (sandbox_id, owner_uid, name) VALUES (1, 1000, 'x')",
                                 "") < 0);
        error_clear(&err);
        ASSERT_EQ(registry_run(r, NULL, "INSERT INTO workspaces (id, sandbox_id, owner_uid, name) VALUES (2, 2, 1000, 'x')",
                               ""), 1);
        ASSERT_TRUE(registry_run(r, &err, "UPDATE workspaces SET sandbox_id = 1 WHERE id = 2", "") < 0);
        error_clear(&err);
        ASSERT_TRUE(registry_run(r, &err, "UPDATE sandboxes SET owner_uid = 0 WHERE id = 2", "") < 0);
        ASSERT_CONTAINS(error_msg(&err), "never changes");
        error_clear(&err);
        ASSERT_TRUE(registry_run(r, &err, "INSERT INTO snapshots (workspace_id, owner_uid, name) VALUES (2, 0, 's')",
                                 "") < 0);
        error_clear(&err);
        ASSERT_EQ(registry_run(r, NULL, "INSERT INTO snapshots (workspace_id, owner_uid, name) VALUES (2, 1000, 's')",
                               ""), 1);
        /* A missing parent is still the foreign key's error. */
        ASSERT_EQ(registry_run(r, NULL, "INSERT INTO workspaces (sandbox_id, owner_uid, name) VALUES (42, 0, 'w')", ""),
                  -ENOENT);
}

/* Schema 3: a workspace row remembers whether a sandbox stop stopped it
 * (engine/sandbox-resume.h); existing rows do not. */
TEST(resume_column)
{
        _cleanup_tmpdir_ char *dir = tmpdir();
        _cleanup_registry_ Registry *r = open_in(dir);
        ASSERT_EQ(registry_run(r, NULL, "INSERT INTO sandboxes (id, name, suite, mirror, bootstrap_method) VALUES "
                                        "(1, 'sb', 'bookworm', 'http://deb.debian.org/debian', 'debootstrap')", ""), 1);
        ASSERT_EQ(registry_run(r, NULL, "INSERT INTO workspaces (sandbox_id, name) VALUES (1, 'w')", ""), 1);
        ASSERT_EQ(count(r, "SELECT count(*) FROM workspaces WHERE resume = 0"), 1);
        ASSERT_EQ(registry_run(r, NULL, "UPDATE workspaces SET resume = 1", ""), 1);
        ASSERT_TRUE(registry_run(r, NULL, "UPDATE workspaces SET resume = 2", "") < 0);
}

/* Schema 4: a sandbox's caps move from their own columns into the caps
 * JSON of its spec (spec/limits.h), unset ones left out, so they read
 * back as they were. */
TEST(caps_migration)
{
        _cleanup_tmpdir_ char *dir = tmpdir();
        _cleanup_free_ char *path = path_join(dir, REGISTRY_FILE);
        sqlite3 *db;
        ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
        for (int v = 0; v < 3; v++)
                ASSERT_EQ(sqlite3_exec(db, registry_migration(v), NULL, NULL, NULL), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(db,
                               "CREATE TABLE schema_version (version INTEGER NOT NULL);"
                               "INSERT INTO schema_version VALUES (3);"
                               "INSERT INTO sandboxes (id, name, suite, mirror, bootstrap_method, memory_mb, cpu_percent, "
                               "  max_procs) VALUES (1, 'capped', 'bookworm', 'http://deb.debian.org/debian', "
                               "  'debootstrap', 512, NULL, 64), (2, 'free', 'bookworm', "
                               "  'http://deb.debian.org/debian', 'debootstrap', NULL, NULL, NULL), "
                               "  (3, 'tiny', 'bookworm', 'http://deb.debian.org/debian', 'debootstrap', 1, 50, 10);",
                               NULL, NULL, NULL),
                  SQLITE_OK);
        sqlite3_close(db);

        _cleanup_registry_ Registry *r = open_in(dir);
        _cleanup_(sandbox_row_done) SandboxRow capped = {}, free_row = {};
        ASSERT_OK(registry_sandbox_get(r, "capped", &capped, NULL));
        ASSERT_EQ(capped.caps.memory_mb, 512);
        ASSERT_EQ(capped.caps.cpu_percent, 0);
        ASSERT_EQ(capped.caps.max_procs, 64);
        ASSERT_OK(registry_sandbox_get(r, "free", &free_row, NULL));
        ASSERT_TRUE(limits_equal(&free_row.caps, &(Limits) {}));
        /* `enclave create --memory-mb 1` was taken before the table; the
         * row keeps its other caps and the memory cap the table allows. */
        _cleanup_(sandbox_row_done) SandboxRow tiny = {};
        ASSERT_OK(registry_sandbox_get(r, "tiny", &tiny, NULL));
        ASSERT_EQ(tiny.caps.memory_mb, 16);
        ASSERT_EQ(tiny.caps.cpu_percent, 50);
        ASSERT_EQ(tiny.caps.max_procs, 10);
        ASSERT_EQ(count(r, "SELECT count(*) FROM sandboxes WHERE caps = '{\"memory_mb\":512,\"max_procs\":64}'"), 1);
        ASSERT_EQ(count(r, "SELECT count(*) FROM sandboxes WHERE caps = '{}'"), 1);
        ASSERT_EQ(count(r, "SELECT count(*) FROM pragma_table_info('sandboxes') WHERE name = 'memory_mb'"), 0);
}
