/* The lifecycle of a sandbox, written once: the sandbox.* actions
 * (daemon/actions-sandbox.c) and up/down (daemon/actions-project.c) both
 * call it, so either path leaves a row the other understands.
 *
 * A sandbox is a row (registry/registry-sandbox.h), a directory
 * <state>/sandboxes/<sb>/ with its rootfs, and a parent cgroup with the
 * aggregate caps (engine/sandbox-cgroup.h):
 *
 *   create   row 'creating' -> cgroup -> rootfs -> 'ready'; any failure
 *            removes all three again
 *   start    'stopped' -> 'ready', the cgroup a reboot removed made again
 *   stop     -> 'stopped' first (no workspace starts meanwhile), then its
 *            workspaces stop; on failure the state goes back
 *   setup    'ready'/'stopped' with nothing running -> 'setting-up' ->
 *            commands -> digest (none after a failure, so the next up runs
 *            the list again) -> back
 *   destroy  -> 'destroying', workspaces, cgroup, files, row; a crash
 *            leaves 'destroying', which sandbox_recover_interrupted() or
 *            a second destroy finishes
 *
 * reg is the caller's registry connection (no transaction open). */
#pragma once

#include "base/error.h"
#include "engine/engine.h"
#include "registry/registry-sandbox.h"
#include "spec/spec.h"
#include "storage/progress.h"
#include "storage/setup.h"

#include <jansson.h>
#include <stdbool.h>

/* Make the sandbox of spec (suite, mirror and method already resolved,
 * caps included) for owner, who may hold at most max_per_owner sandboxes
 * (< 0: no cap). warnings (may be NULL) get caps this host cannot
 * enforce. On failure or cancel (mon) nothing of it remains. */
int sandbox_create(Engine *eng, Registry *reg, const SandboxSpec *spec, uid_t owner, int64_t max_per_owner,
                   const StorageMonitor *mon, char ***warnings, Error *err);

/* 'stopped' -> 'ready' (and 'ready' stays), re-creating its cgroup with
 * the recorded caps. With resume (the sandbox.start action), the
 * workspaces that sandbox_stop() remembered start again and their names
 * go into started (an array). Returns 1 when the state changed, 0 when
 * it was ready already. */
int sandbox_start(Engine *eng, Registry *reg, const SandboxRow *row, bool resume, json_t *started, char ***warnings,
                  Error *err);

/* -> 'stopped', then stop all its workspaces. With remember (the
 * sandbox.stop action), the running ones are recorded for
 * sandbox_start(resume) and their names go into stopped (an array).
 * Returns the number of workspaces stopped. */
int sandbox_stop(Engine *eng, Registry *reg, const SandboxRow *row, bool remember, json_t *stopped, Error *err);

/* Destroy it; with force its workspaces too, else a sandbox that has
 * any is refused. A 'destroying' row (an earlier destroy failed part
 * way) goes on where it stopped. */
int sandbox_destroy(Engine *eng, Registry *reg, const SandboxRow *row, bool force, Error *err);

/* Run commands in its rootfs (it must have no running workspace) and
 * record their digest (spec_setup_digest()); a failure records none. */
int sandbox_setup(Engine *eng, Registry *reg, const SandboxRow *row, char *const *commands, const StorageMonitor *mon,
                  SetupResult *ret, Error *err);

/* Store new caps (0 = none) and apply them to its cgroup. */
int sandbox_set_caps(Engine *eng, Registry *reg, const SandboxSpec *spec, char ***warnings, Error *err);

/* How sandbox_wipe() reports: each sandbox destroyed, and whether to
 * stop before the next one. */
typedef struct SandboxWipeReporter {
        void *userdata;
        void (*destroyed)(void *userdata, const char *name);
        bool (*cancelled)(void *userdata);
} SandboxWipeReporter;

/* Destroy every sandbox of owner (< 0: every sandbox) with its
 * workspaces, for caller (logged). The ones that fail are named in one
 * -EBUSY error after the others are gone; a cancel is -ECANCELED. */
int sandbox_wipe(Engine *eng, Registry *reg, int64_t owner, uid_t caller, const SandboxWipeReporter *rep,
                 Error *err);

/* At daemon start (after reconcile_workspaces): remove what a crash
 * left of sandboxes in creating or destroying (row, directory, cgroup)
 * and put sandboxes in setting-up back to ready without a digest.
 * Returns the number of rows it changed. */
int sandbox_recover_interrupted(Engine *eng, Error *err);
