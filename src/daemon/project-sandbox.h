/* The sandbox steps of `up` and `down` (project.h), made of the sandbox
 * area's public pieces: registry-sandbox.h (rows and state changes),
 * sandbox-cgroup.h (aggregate caps), storage/bootstrap.h and
 * storage/setup.h. They follow the same states and undo rules as the
 * sandbox.* actions (actions-sandbox.c) so either path leaves a row the
 * other understands:
 *
 *   create   row 'creating' -> cgroup -> rootfs -> 'ready'; any failure
 *            removes all three again
 *   setup    'ready'/'stopped' -> 'setting-up' -> commands -> digest
 *            (NULL after a failure, so the next up runs it again) -> back
 *   destroy  workspaces -> 'destroying' -> cgroup, files, row
 *
 * NOTE: actions-sandbox.c keeps its equivalents static; once it
 * exports them, these become thin calls (docs/lifecycle.md). */
#pragma once

#include "base/error.h"
#include "config/enclavefile.h"
#include "daemon/daemon.h"
#include "storage/progress.h"

/* Create the sandbox of sb (caps included) for owner, who may hold at
 * most max_per_owner sandboxes (< 0: no cap). warnings (may be NULL)
 * get caps this host cannot enforce. On failure nothing of it remains. */
int project_sandbox_create(Daemon *d, Registry *reg, const SandboxSpec *sb, uid_t owner, int64_t max_per_owner,
                           const StorageMonitor *mon, char ***warnings, Error *err);

/* Destroy the sandbox and every workspace in it. */
int project_sandbox_destroy(Daemon *d, Registry *reg, const char *name, Error *err);

/* Run the setup commands (the sandbox must have no running workspace)
 * and record their digest; a failure records none. */
int project_sandbox_setup(Daemon *d, Registry *reg, const char *name, char *const *setup, const StorageMonitor *mon,
                          Error *err);

/* Store new caps (0 = none) and apply them to the sandbox's cgroup. */
int project_sandbox_set_caps(Daemon *d, Registry *reg, const SandboxSpec *sb, char ***warnings, Error *err);

/* 'stopped' -> 'ready', re-creating the cgroup a reboot removed. */
int project_sandbox_start(Daemon *d, Registry *reg, const char *name, char ***warnings, Error *err);

/* 'ready' -> 'stopped' (no workspace starts meanwhile), then stop all
 * its workspaces. On failure the state goes back. Returns the number
 * stopped. */
int project_sandbox_stop(Daemon *d, Registry *reg, const char *name, Error *err);
