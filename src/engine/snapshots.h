/* Snapshots outside of one request: the registry's snapshots table
 * beside the snapshot directories (the truth), the workspace's disk
 * image as a snapshot reads it, and recovery at daemon start. The
 * snapshot.* actions (daemon/actions-snapshot.c) and doctor use them. */
#pragma once

#include "base/error.h"
#include "engine/engine.h"
#include "registry/registry.h"
#include "storage/snapshot.h"

#include <stdbool.h>
#include <stdint.h>

/* Daemon start: snapshot_recover() for every workspace in the registry
 * (a restore interrupted by a crash is rolled back or finished, and
 * half-built snapshots go), then the snapshots table is made to match
 * the directories. Problems are logged; returns how many workspaces
 * could not be recovered. Loop thread, before serving. */
int snapshot_recover_all(Engine *eng);

/* Compare the registry's snapshots rows of a workspace with the
 * snapshot directories in ws_dir (the truth). Unless dry_run, rows
 * are added for directories without one and removed where the
 * directory is gone, in one transaction. Returns the number of
 * differences; *ret_changes (may be NULL) names them ("NAME" for a
 * directory without a row, "NAME (no directory)" for the reverse). */
int snapshot_rows_sync(Registry *reg, int64_t ws_id, const char *ws_dir, bool dry_run, char ***ret_changes,
                       Error *err);

/* One row of the snapshots table; it belongs to its workspace's owner. */
int snapshot_row_put(Registry *reg, int64_t ws_id, const SnapshotInfo *info, Error *err);
int snapshot_row_delete(Registry *reg, int64_t ws_id, const char *name, Error *err);

/* The disk image (disk_mb).
 *
 * With disk_mb the overlay's upper layer and /home live in the
 * workspace's disk image (storage/disk-quota.h). A snapshot reads them
 * through the image's root: of a running workspace a second, read-only
 * mount of the attached file system; of a stopped one the image
 * attached for this request alone, with the engine's claim held so that
 * no start races for it. A restore swaps them inside the image and is
 * flushed before the reply (there is no image mounted to settle later);
 * SNAPSHOT_RESTORE_IN_IMAGE marks one in flight, so a daemon that dies mid-way
 * recovers the image's journal at its next start. */
#define SNAPSHOT_RESTORE_IN_IMAGE ".restore-in-image"

typedef struct SnapshotLayers {
        int fd;
        char path[32]; /* "/proc/self/fd/N" */
} SnapshotLayers;

/* The image's root (disk_quota_open_root()), shared with the running
 * workspace or attached for this request alone. */
int snapshot_layers_open(const char *ws_dir, bool shared, SnapshotLayers *ret, Error *err);
void snapshot_layers_done(SnapshotLayers *l);
