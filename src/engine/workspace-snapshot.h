/* A workspace's snapshots, driven for one request (SPEC §2,
 * docs/snapshots.md) on top of src/storage/snapshot.h: the snapshot.*
 * adapters (daemon/actions-snapshot.c) check the caller, open the
 * archive fds and build the replies; this drives the rest.
 *
 * A snapshot holds the workspace's writable state: its overlay upper
 * layer and its managed /home. A host workspace_dir (the user's own
 * project directory) and a disk_mb image are never captured; replies
 * say so in "note". The snapshot directories are the truth; the
 * registry's snapshots table mirrors them (engine/snapshots.h) and is
 * changed right after each operation, with the operation undone when
 * the row cannot be written. Snapshot operations of one workspace run
 * one at a time (CLAIM_SNAPSHOT, engine/claims.h). */
#pragma once

#include "base/error.h"
#include "engine/engine.h"
#include "engine/workspace-engine.h"
#include "registry/registry-workspace.h"
#include "storage/archive.h"
#include "storage/progress.h"
#include "storage/snapshot.h"

#include <sys/types.h>

/* Who asks: logged, and a non-root owner holds at most max_snapshots
 * (< 0: no cap). */
typedef struct SnapshotCaller {
        uid_t uid;
        int64_t max_snapshots;
} SnapshotCaller;

typedef struct SnapshotReporter {
        void *userdata;
        /* type "note" (what the snapshot leaves out) or "info" (e.g. the
         * workspace is frozen meanwhile); may be NULL. */
        void (*message)(void *userdata, const char *type, const char *message);
        StorageMonitor monitor; /* copy progress and cancellation */
} SnapshotReporter;

/* The workspace of one request, with its snapshot claim held. */
typedef struct SnapshotTarget {
        Engine *eng;
        Registry *reg;               /* the request's registry connection */
        SnapshotCaller caller;
        WorkspaceRow row;
        char *ws_dir;
        const char *workspace_dir;   /* from row.config; NULL: managed /home */
        bool disk_quota;             /* /home lives in disk.img */
        RunningWorkspace *rw;        /* NULL when this daemon does not run it */
        bool running;
        bool claimed;
        bool lifecycle_claimed;      /* set while start/stop/destroy are held off */
} SnapshotTarget;

/* Open sandbox/workspace (the caller may act on it: checked before)
 * and take its snapshot claim. */
int snapshot_target_open(Engine *eng, Registry *reg, const SnapshotCaller *caller, const char *sandbox,
                         const char *workspace, SnapshotTarget *ret, Error *err);
/* Release everything (also what a reply must not wait for). */
void snapshot_target_done(SnapshotTarget *t);

/* For a deferred create or restore: everything of t is released but its
 * snapshot claim (claim_settling()); after the reply, snapshot_settle_run()
 * flushes the copy to disk and releases the claim, so the workspace may
 * start meanwhile and the next snapshot operation waits for the flush. A
 * failed flush is logged; the next settle (or recovery at daemon start)
 * tries again. */
typedef struct SnapshotSettle {
        int64_t id;
        bool claimed;
        char *ws_dir;
        char *what;
} SnapshotSettle;
void snapshot_target_to_settle(SnapshotTarget *t, SnapshotSettle *ret);
void snapshot_settle_run(SnapshotSettle *s);

/* Why /home is not part of this workspace's snapshots, or NULL. */
char *snapshot_target_home_note(const SnapshotTarget *t);

/* A storage failure r of what ("restore", ...) with its cause, or a
 * plain word for a cancel; returns the error. */
int snapshot_target_fail(const SnapshotTarget *t, int r, const char *what, Error *err);

/* ---- the operations (each reports through rep where it streams) ---- */

/* A new snapshot (name NULL: a timestamp name); *ret_frozen when the
 * running workspace was frozen for the copy. Settle it afterwards. */
int workspace_snapshot_create(SnapshotTarget *t, const char *name, const SnapshotReporter *rep, SnapshotInfo *ret,
                              bool *ret_frozen, Error *err);

/* Restore snapshot name into the stopped workspace. When t->disk_quota
 * it is on disk at return; otherwise settle it afterwards. */
int workspace_snapshot_restore(SnapshotTarget *t, const char *name, const SnapshotReporter *rep, SnapshotInfo *ret,
                               Error *err);

/* Delete one snapshot (its row too; a row that stays is logged). */
int workspace_snapshot_delete(SnapshotTarget *t, const char *name, Error *err);

/* Keep the keep newest; *ret_deleted and *ret_kept name them. */
int workspace_snapshot_gc(SnapshotTarget *t, size_t keep, char ***ret_deleted, char ***ret_kept, Error *err);

/* Write snapshot name as an archive to out_fd (the client's). */
int workspace_snapshot_export(SnapshotTarget *t, const char *name, int out_fd, TarballCompression comp,
                              const StorageMonitor *mon, SnapshotInfo *ret, TarballStats *ret_stats, Error *err);

/* Import the archive read from in_fd (the client's, never reopened) as
 * snapshot name (NULL: a free timestamp name), replacing one of that
 * name only with replace. */
int workspace_snapshot_import(SnapshotTarget *t, const char *name, int in_fd, bool replace,
                              const StorageMonitor *mon, SnapshotInfo *ret, Error *err);
