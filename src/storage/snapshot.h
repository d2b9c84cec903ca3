/* Workspace snapshots (SPEC §2, docs/snapshots.md).
 *
 * A snapshot holds the workspace's writable state: the overlay upper
 * layer and, when the workspace has a managed /home, that directory. A
 * host workspace_dir is never part of a snapshot. Layout:
 *
 *   <ws>/snapshots/<name>/upper/           exact copy of <ws>/upper
 *   <ws>/snapshots/<name>/home/            exact copy of <ws>/home (optional)
 *   <ws>/snapshots/<name>/snapshot.json    metadata (name, time, sizes, ids)
 *
 * Copies go through tree_copy (copy.h): reflinks where the file system
 * allows, exact metadata everywhere, so overlay whiteouts (character
 * devices 0/0), opaque directories (trusted.overlay.opaque), hard links
 * and ownership in the workspace's host id range survive.
 *
 * Every change is atomic: a snapshot is built in a hidden directory
 * beside its final place and renamed in; a restore builds the new state
 * in <ws>/.restore-tmp, swaps it in with RENAME_EXCHANGE under a small
 * journal and rolls back on any failure (or, after a crash, in
 * snapshot_recover()). The caller serializes snapshot operations of one
 * workspace (the daemon holds a per-workspace lock).
 *
 * Durability: by default create and restore flush the file system
 * (syncfs) before they publish their copy, which on a disk without
 * reflinks is most of their time. With defer_sync they publish at once
 * and note, with the boot id, what is not yet known to be on disk; the
 * caller runs snapshot_settle() afterwards (the daemon does so right
 * after it replies). Until then the page cache holds the data, so after
 * a daemon crash recovery settles forward; after the host went down, an
 * unsettled snapshot is removed and an unsettled restore rolled back.
 *
 * Names (spec/names.h): 1-63 characters of [A-Za-z0-9][A-Za-z0-9_-]*;
 * anything else (empty, "..", "a/b", too long) is refused before
 * anything is created. */
#pragma once

#include "base/error.h"
#include "spec/names.h"
#include "storage/progress.h"

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

typedef struct Cgroup Cgroup;

#define SNAPSHOT_METADATA "snapshot.json"
#define SNAPSHOT_RESTORE_TMP ".restore-tmp"
/* Every workspace owns a block of this many host ids (idrange.h). */
#define SNAPSHOT_ID_COUNT 65536U

/* Stops the workspace's processes for the duration of the copy, so a
 * running workspace is captured consistently. thaw is called exactly
 * once after every successful freeze, whatever happens in between. */
typedef struct SnapshotFreezer {
        int (*freeze)(void *userdata, Error *err);
        int (*thaw)(void *userdata, Error *err);
        void *userdata;
} SnapshotFreezer;

/* A freezer for the workspace's cgroup (cgroup_freeze/cgroup_thaw);
 * cg must outlive the returned value. */
SnapshotFreezer snapshot_freezer_for_cgroup(const Cgroup *cg);

typedef struct SnapshotInfo {
        char *name;
        int64_t created_usec; /* CLOCK_REALTIME when the state was captured */
        uint64_t bytes;       /* file data */
        uint64_t entries;     /* files, directories, links, ... (roots included) */
        bool has_home;
        uint32_t uid_base;    /* the workspace's host id range when captured */
        uint32_t gid_base;
} SnapshotInfo;

void snapshot_info_done(SnapshotInfo *info);
void snapshot_info_array_free(SnapshotInfo *a, size_t n);

typedef struct SnapshotCreateOptions {
        const char *name;                /* NULL: a UTC timestamp name */
        bool with_home;                  /* managed /home (false with a workspace_dir) */
        uint32_t uid_base, gid_base;     /* the workspace's host id range */
        const SnapshotFreezer *freezer;  /* NULL: the workspace is not running */
        const StorageMonitor *mon;       /* may be NULL */
        bool defer_sync;                 /* publish before the flush (snapshot_settle) */
        const char *layers_dir;          /* where upper/ and home/ are: NULL for ws_dir itself, else
                                          * e.g. the root of the workspace's disk image */
} SnapshotCreateOptions;

/* Capture <ws>/upper (and <ws>/home) as a new snapshot. An existing
 * name is refused (-EEXIST). ret (may be NULL) describes the snapshot. */
int snapshot_create(const char *ws_dir, const SnapshotCreateOptions *opts, SnapshotInfo *ret, Error *err);

/* All snapshots, oldest first (ties by name). *ret is NULL when none. */
int snapshot_list(const char *ws_dir, SnapshotInfo **ret, size_t *ret_n, Error *err);

int snapshot_read_info(const char *ws_dir, const char *name, SnapshotInfo *ret, Error *err);

typedef struct SnapshotRestoreOptions {
        const StorageMonitor *mon;       /* may be NULL */
        bool defer_sync;                 /* publish before the flush (snapshot_settle) */
        const char *layers_dir;          /* where upper/, work/ and home/ are swapped (and the restore's
                                          * scratch and journal live): NULL for ws_dir itself */
} SnapshotRestoreOptions;

/* Replace <ws>/upper (and <ws>/home when the snapshot has one) with the
 * snapshot's copy and start from an empty overlay work dir. The
 * workspace must be stopped: its overlay must not be mounted (the
 * daemon enforces this; a mount below <ws> makes the swap fail and roll
 * back). On failure the current state is left exactly as it was. opts
 * may be NULL. A deferred restore keeps the replaced state until
 * snapshot_settle(). */
int snapshot_restore(const char *ws_dir, const char *name, const SnapshotRestoreOptions *opts, Error *err);

/* Make deferred creates and restores durable: one syncfs, then their
 * notes are cleared and the state a restore replaced is removed. */
int snapshot_settle(const char *ws_dir, Error *err);

/* After a crash: settle (or, after a reboot, drop and roll back) what
 * deferred operations left, roll back a restore interrupted while
 * swapping (or finish one that had committed) and remove half-built
 * snapshots. Call when no snapshot operation of this workspace runs
 * (daemon start). */
int snapshot_recover(const char *ws_dir, Error *err);

/* Remove one snapshot: -ENOENT when there is none of that name. */
int snapshot_delete(const char *ws_dir, const char *name, Error *err);

/* Keep the keep newest snapshots, delete the rest. *ret_deleted (may be
 * NULL) receives the deleted names, a NULL-terminated vector. */
int snapshot_gc(const char *ws_dir, size_t keep, char ***ret_deleted, Error *err);

/* Write the snapshot to an archive (.tar, .tar.gz/.tgz, .tar.zst/.tzst
 * by name); an existing output is refused. Numeric owners are kept; the
 * metadata inside records which id range they belong to. */
int snapshot_export(const char *ws_dir, const char *name, const char *output, const StorageMonitor *mon,
                    Error *err);

typedef struct SnapshotImportOptions {
        const char *name;            /* required */
        int archive_fd;              /* read from this fd when archive is NULL (e.g. a client's, never reopened) */
        bool replace;                /* overwrite an existing snapshot of that name */
        uint32_t uid_base, gid_base; /* the importing workspace's host id range */
        const StorageMonitor *mon;
} SnapshotImportOptions;

/* Import an archive written by snapshot_export (the file archive, or
 * opts->archive_fd when archive is NULL) as a new snapshot. Every
 * member passes the rootfs archive checks (archive-validate.h); the
 * tree must be a snapshot (upper/, optional home/, snapshot.json);
 * owners must lie in the exporting workspace's id range and are moved
 * into the importing one (overlay whiteouts may stay root's); device
 * nodes other than whiteouts are refused. */
int snapshot_import(const char *ws_dir, const char *archive, const SnapshotImportOptions *opts,
                    SnapshotInfo *ret, Error *err);

/* ---- pure parts (unit-tested) ---- */

/* Sort a newest first (created_usec, then name descending) and return
 * how many of them are kept: a[0..ret) stay, a[ret..n) are deleted. */
size_t snapshot_gc_select(SnapshotInfo *a, size_t n, size_t keep);

/* Order oldest first (created_usec, then name). */
void snapshot_sort_oldest_first(SnapshotInfo *a, size_t n);

/* snapshot.json text to and from SnapshotInfo. */
int snapshot_info_to_json(const SnapshotInfo *info, char **ret);
int snapshot_info_from_json(const char *text, SnapshotInfo *ret, Error *err);
