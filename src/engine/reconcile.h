/* Reconciliation at daemon start (reconcile.c): the registry's running
 * workspaces against the process table. */
#pragma once

#include "base/error.h"
#include "engine/engine.h"

#include <stdint.h>
#include <sys/types.h>

/* Cleanup of what a dead workspace left behind (mounts, veths,
 * cgroups, firewall entries). Runs on the loop thread before the
 * daemon serves anything; errors are logged and the workspace is still
 * marked stopped. Areas list their hook in reconcile.c. */
typedef int (*ReconcileFn)(Engine *eng, const ReconcileWorkspace *ws, Error *err);

/* Walk workspaces in state running/starting/stopping: a live process
 * with the recorded start time stays; a dead one goes through the hooks
 * and is marked stopped (one transaction each). Returns how many were
 * marked stopped. */
int reconcile_workspaces(Engine *eng, Error *err);

/* After network_reconcile(): release the address of every workspace
 * whose init is not alive (one adopted at start may have ended before
 * the network was up). */
void reconcile_network_ends(Engine *eng);
