/* The cgroups of sandboxes: one parent group per sandbox holding the
 * aggregate caps (memory_mb, cpu_percent, max_procs) over all its
 * workspaces, below the daemon's own root group.
 *
 *   <hierarchy>/enclave-<bridge>/<sandbox>/<workspace>
 *
 * The root is named after the daemon's bridge, which is unique per
 * daemon (SPEC §4: two daemons differ in bridge), so two daemons never
 * share or remove each other's groups. The root is removed again when
 * its last sandbox goes, so a daemon without sandboxes leaves no cgroup
 * behind. The root carries one cap of its own: pids.max =
 * max_procs_total (config.toml; automatic: 3/4 of the host's pids), so
 * all workspaces together, none of which need set max_procs, leave the
 * host pids of its own.
 *
 * For the workspace area: open the sandbox's group with
 * sandbox_cgroup_ensure() (it re-creates a group a reboot removed, with
 * the row's caps) and create the workspace's group below it with
 * cgroup_create(). Safe on any thread. */
#pragma once

#include "base/error.h"
#include "engine/engine.h"
#include "registry/registry-sandbox.h"
#include "runtime/cgroup.h"


#define SANDBOX_CGROUP_ROOT_PREFIX "enclave-"

/* Locate the root once, at startup (cgroup_root_locate(); under systemd
 * with Delegate=yes the daemon moves into its own leaf). A host without
 * usable cgroups is logged, not fatal: workspaces then get rlimits only.
 * Sets eng->cgroup_root; sandbox_cgroup_done() frees it. */
int sandbox_cgroup_init(Engine *eng);
void sandbox_cgroup_done(Engine *eng);

/* The pids cap of the root: max_procs_total, or its automatic value
 * (cgroup_procs_total_default()). *ret_host (may be NULL) gets the
 * host's figure the automatic value comes from, 0 when configured. */
uint64_t sandbox_cgroup_procs_total(const Engine *eng, uint64_t *ret_host);

/* "enclave-<bridge>" into buf. */
int sandbox_cgroup_root_name(const Engine *eng, char *buf, size_t size);

/* Create (or reuse) the sandbox's group with the caps of row, applied
 * again so a changed cap takes effect. Warnings: caps this host cannot
 * enforce (strings for the user, shown once). */
int sandbox_cgroup_ensure(const Engine *eng, const SandboxRow *row, Cgroup **ret, char ***warnings,
                          Error *err);

/* Open the existing group; -ENOENT when it is absent. */
int sandbox_cgroup_open(const Engine *eng, const char *sandbox, Cgroup **ret, Error *err);

/* Kill what still runs in the sandbox's group, remove it and
 * everything below, and the root group when no sandbox is left under
 * it. A missing group is fine. */
int sandbox_cgroup_remove(const Engine *eng, const char *sandbox, Error *err);

/* The directories of the sandbox's group (for status); NULL-terminated,
 * empty when the group does not exist. */
int sandbox_cgroup_paths(const Engine *eng, const char *sandbox, char ***ret, Error *err);
