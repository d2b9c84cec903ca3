/* What an operation cut short (a daemon killed mid-request) can leave
 * behind that no registry row records:
 *
 *   - a workspace cgroup left frozen by a snapshot create;
 *   - processes in the cgroup of a workspace that is not running: the
 *     init of a start that never got recorded, its disk image still
 *     attached through its mount namespace;
 *   - loop devices bound to images in the state dir whose workspace
 *     does not run (they unbind by themselves once the last mount goes);
 *   - entries of <state>/tmp/ that no process holds (staging.h).
 *
 * The daemon removes all of them at start, once every running workspace
 * has been adopted (reconcile_leftovers(), reconcile.c); doctor reports
 * and plain `registry repair` removes the ones that appear while it runs
 * (doctor-state.c), through the helpers here. */
#pragma once

#include "base/error.h"
#include "engine/engine.h"
#include "runtime/cgroup.h"

/* Whether any hierarchy of cg has it frozen (v2 cgroup.freeze, v1
 * freezer.state). */
bool leftover_cgroup_frozen(const Cgroup *cg);

/* The workspace a disk image path below the state dir belongs to
 * (<state>/sandboxes/<sb>/workspaces/<ws>/...): 0 with *ret_sandbox and
 * *ret_name, or -EINVAL for any other path. */
int leftover_workspace_of_path(const char *state_dir, const char *path, char **ret_sandbox, char **ret_name);

/* Daemon start, after reconcile_workspaces() and the other recoveries:
 * tmp/ emptied of what nobody holds, every workspace cgroup thawed,
 * the cgroups of workspaces that do not run emptied (killed) and
 * removed, and a wait for their loop devices to unbind. Errors are
 * logged; never fails the start. */
void reconcile_leftovers(Engine *eng);
