/* Snapshot upkeep the daemon runs outside of requests
 * (actions-snapshot.c holds the snapshot.* actions themselves). */
#pragma once

#include "base/error.h"
#include "registry/registry.h"

struct Daemon;

/* Daemon start: snapshot_recover() for every workspace in the registry
 * (a restore interrupted by a crash is rolled back or finished, and
 * half-built snapshots go), then the snapshots table is made to match
 * the directories. Problems are logged; returns how many workspaces
 * could not be recovered. Loop thread, before serving. */
int snapshot_recover_all(struct Daemon *d);

/* Compare the registry's snapshots rows of a workspace with the
 * snapshot directories in ws_dir (the truth). Unless dry_run, rows
 * are added for directories without one and removed where the
 * directory is gone, in one transaction. Returns the number of
 * differences; *ret_changes (may be NULL) names them ("NAME" for a
 * directory without a row, "NAME (no directory)" for the reverse). */
int snapshot_rows_sync(Registry *reg, int64_t ws_id, const char *ws_dir, bool dry_run, char ***ret_changes,
                       Error *err);
