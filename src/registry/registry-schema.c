/* The registry schema and its migrations. migrations[i] takes a
 * database from version i to i + 1; never edit a released step, add a
 * new one and bump REGISTRY_SCHEMA_VERSION. */
#include "registry/registry-schema.h"

/* Version 1: everything the areas of SPEC §4-§6 keep.
 *
 * Timestamps are Unix seconds. Names follow name_is_valid(). Limits of
 * NULL mean "no limit". Rows that belong to a workspace are deleted
 * with it (ON DELETE CASCADE); a sandbox with workspaces cannot be
 * deleted before them (RESTRICT), so nothing is orphaned silently. */
static const char migration_1[] =
        "CREATE TABLE sandboxes (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 63),\n"
        "  suite TEXT NOT NULL,\n"
        "  mirror TEXT NOT NULL,\n"
        "  bootstrap_method TEXT NOT NULL CHECK (bootstrap_method IN ('debootstrap', 'cached_rootfs')),\n"
        "  memory_mb INTEGER CHECK (memory_mb IS NULL OR memory_mb > 0),\n"
        "  cpu_percent INTEGER CHECK (cpu_percent IS NULL OR cpu_percent BETWEEN 1 AND 100),\n"
        "  max_procs INTEGER CHECK (max_procs IS NULL OR max_procs > 0),\n"
        "  state TEXT NOT NULL DEFAULT 'creating',\n"
        "  setup_digest TEXT,\n"
        /* The Enclavefile (absolute path) that last ran `up` for it;
         * NULL for a sandbox made by `enclave create` (project.c). */
        "  project TEXT,\n"
        "  created_at INTEGER NOT NULL DEFAULT (unixepoch()),\n"
        "  updated_at INTEGER NOT NULL DEFAULT (unixepoch())\n"
        ");\n"
        "CREATE TABLE workspaces (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  sandbox_id INTEGER NOT NULL REFERENCES sandboxes(id) ON DELETE RESTRICT,\n"
        "  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 63),\n"
        "  state TEXT NOT NULL DEFAULT 'created',\n"
        "  config TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(config)),\n"
        "  pid INTEGER,\n"
        "  pid_start_time INTEGER,\n"
        "  uid_base INTEGER,\n"
        "  gid_base INTEGER,\n"
        "  ip TEXT,\n"
        "  created_at INTEGER NOT NULL DEFAULT (unixepoch()),\n"
        "  updated_at INTEGER NOT NULL DEFAULT (unixepoch()),\n"
        "  started_at INTEGER,\n"
        "  stopped_at INTEGER,\n"
        /* How init last ended (NULL while running or never started) and
         * how many processes the OOM killer took over its lifetime. */
        "  exit_status INTEGER,\n"
        "  oom_kills INTEGER NOT NULL DEFAULT 0,\n"
        "  UNIQUE (sandbox_id, name)\n"
        ");\n"
        "CREATE INDEX workspaces_state ON workspaces(state);\n"
        /* One 65536-id block per workspace (SPEC §5); base is unique so
         * two workspaces can never share host ids. */
        "CREATE TABLE id_ranges (\n"
        "  base INTEGER PRIMARY KEY CHECK (base > 0),\n"
        "  count INTEGER NOT NULL CHECK (count > 0),\n"
        "  workspace_id INTEGER UNIQUE REFERENCES workspaces(id) ON DELETE CASCADE,\n"
        "  allocated_at INTEGER NOT NULL DEFAULT (unixepoch())\n"
        ");\n"
        "CREATE TABLE ip_leases (\n"
        "  ip TEXT PRIMARY KEY,\n"
        "  workspace_id INTEGER NOT NULL UNIQUE REFERENCES workspaces(id) ON DELETE CASCADE,\n"
        "  leased_at INTEGER NOT NULL DEFAULT (unixepoch())\n"
        ");\n"
        "CREATE TABLE ports (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,\n"
        "  host_ip TEXT NOT NULL DEFAULT '127.0.0.1',\n"
        "  host_port INTEGER NOT NULL CHECK (host_port BETWEEN 1 AND 65535),\n"
        "  workspace_port INTEGER NOT NULL CHECK (workspace_port BETWEEN 1 AND 65535),\n"
        "  proto TEXT NOT NULL DEFAULT 'tcp' CHECK (proto IN ('tcp')),\n"
        "  declared INTEGER NOT NULL DEFAULT 1 CHECK (declared IN (0, 1)),\n"
        "  created_at INTEGER NOT NULL DEFAULT (unixepoch()),\n"
        "  UNIQUE (host_ip, host_port, proto)\n"
        ");\n"
        "CREATE INDEX ports_workspace ON ports(workspace_id);\n"
        /* uid -1 is the wildcard scope; NOT NULL so UNIQUE works. */
        "CREATE TABLE policy_rules (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  uid INTEGER NOT NULL CHECK (uid >= -1 AND uid <= 4294967295),\n"
        "  pattern TEXT NOT NULL CHECK (length(pattern) BETWEEN 1 AND 128),\n"
        "  effect TEXT NOT NULL CHECK (effect IN ('allow', 'deny')),\n"
        "  created_at INTEGER NOT NULL DEFAULT (unixepoch()),\n"
        "  UNIQUE (uid, pattern)\n"
        ");\n"
        "CREATE TABLE policy_default (\n"
        "  id INTEGER PRIMARY KEY CHECK (id = 1),\n"
        "  decision TEXT NOT NULL CHECK (decision IN ('allow', 'deny'))\n"
        ");\n"
        "INSERT INTO policy_default (id, decision) VALUES (1, 'allow');\n"
        "CREATE TABLE snapshots (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,\n"
        "  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 63),\n"
        "  size_bytes INTEGER,\n"
        "  created_at INTEGER NOT NULL DEFAULT (unixepoch()),\n"
        "  UNIQUE (workspace_id, name)\n"
        ");\n";

/* Version 2: every sandbox, workspace and snapshot has an owner uid
 * (SPEC §4, docs/security.md "Multi-user model"). Rows of an older
 * state dir were made through root's socket before owners existed and
 * become root's. A workspace belongs to its sandbox's owner and a
 * snapshot to its workspace's: the triggers refuse a row that says
 * otherwise, so no code path can put one uid's object into another's
 * (a missing parent is left to the foreign key: '!=' with NULL is not
 * true). */
static const char migration_2[] =
        "ALTER TABLE sandboxes ADD COLUMN owner_uid INTEGER NOT NULL DEFAULT 0\n"
        "  CHECK (owner_uid BETWEEN 0 AND 4294967294);\n"
        "ALTER TABLE workspaces ADD COLUMN owner_uid INTEGER NOT NULL DEFAULT 0\n"
        "  CHECK (owner_uid BETWEEN 0 AND 4294967294);\n"
        "ALTER TABLE snapshots ADD COLUMN owner_uid INTEGER NOT NULL DEFAULT 0\n"
        "  CHECK (owner_uid BETWEEN 0 AND 4294967294);\n"
        "CREATE INDEX sandboxes_owner ON sandboxes(owner_uid);\n"
        "CREATE INDEX workspaces_owner ON workspaces(owner_uid);\n"
        "CREATE INDEX snapshots_owner ON snapshots(owner_uid);\n"
        "CREATE TRIGGER workspaces_owner_insert BEFORE INSERT ON workspaces\n"
        "  WHEN NEW.owner_uid != (SELECT owner_uid FROM sandboxes WHERE id = NEW.sandbox_id)\n"
        "  BEGIN SELECT RAISE(ABORT, 'a workspace belongs to the owner of its sandbox'); END;\n"
        "CREATE TRIGGER workspaces_owner_update BEFORE UPDATE OF owner_uid, sandbox_id ON workspaces\n"
        "  WHEN NEW.owner_uid != (SELECT owner_uid FROM sandboxes WHERE id = NEW.sandbox_id)\n"
        "  BEGIN SELECT RAISE(ABORT, 'a workspace belongs to the owner of its sandbox'); END;\n"
        "CREATE TRIGGER sandboxes_owner_update BEFORE UPDATE OF owner_uid ON sandboxes\n"
        "  WHEN NEW.owner_uid IS NOT OLD.owner_uid\n"
        "  BEGIN SELECT RAISE(ABORT, 'the owner of a sandbox never changes'); END;\n"
        "CREATE TRIGGER snapshots_owner_insert BEFORE INSERT ON snapshots\n"
        "  WHEN NEW.owner_uid != (SELECT owner_uid FROM workspaces WHERE id = NEW.workspace_id)\n"
        "  BEGIN SELECT RAISE(ABORT, 'a snapshot belongs to the owner of its workspace'); END;\n"
        "CREATE TRIGGER snapshots_owner_update BEFORE UPDATE OF owner_uid, workspace_id ON snapshots\n"
        "  WHEN NEW.owner_uid != (SELECT owner_uid FROM workspaces WHERE id = NEW.workspace_id)\n"
        "  BEGIN SELECT RAISE(ABORT, 'a snapshot belongs to the owner of its workspace'); END;\n";

/* Version 3: the workspaces a sandbox stop stopped, which the next
 * sandbox start starts again (engine/sandbox-resume.h). */
static const char migration_3[] =
        "ALTER TABLE workspaces ADD COLUMN resume INTEGER NOT NULL DEFAULT 0 CHECK (resume IN (0, 1));\n";

/* Version 4: a sandbox's caps are its spec's (spec/limits.h), kept as
 * JSON of the set ones like a workspace's limits, so a new cap needs no
 * new column. The old columns' values move over (json_patch drops the
 * NULL ones). Daemons before the table took a sandbox memory_mb from 1,
 * where the table (and every Enclavefile) starts at 16: such a cap is
 * raised to 16 so that the row reads back with its other caps. */
static const char migration_4[] =
        "ALTER TABLE sandboxes ADD COLUMN caps TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(caps));\n"
        "UPDATE sandboxes SET caps = json_patch('{}', json_object('memory_mb', max(memory_mb, 16),\n"
        "  'cpu_percent', cpu_percent, 'max_procs', max_procs));\n"
        "ALTER TABLE sandboxes DROP COLUMN memory_mb;\n"
        "ALTER TABLE sandboxes DROP COLUMN cpu_percent;\n"
        "ALTER TABLE sandboxes DROP COLUMN max_procs;\n";

static const char *const migrations[] = {
        migration_1,
        migration_2,
        migration_3,
        migration_4,
};

_Static_assert(ELEMENTSOF(migrations) == REGISTRY_SCHEMA_VERSION,
               "one migration per schema version");

const char *registry_migration(int from_version)
{
        if (from_version < 0 || (size_t) from_version >= ELEMENTSOF(migrations))
                return NULL;
        return migrations[from_version];
}
