/* `enclave ps`: the processes of running workspaces, found from the
 * host side (project.ps in actions-project.c).
 *
 * A process belongs to a workspace when its PID namespace is the one of
 * the workspace's init (same nsfs inode as /proc/<init>/ns/pid). For
 * each one: host pid, pid inside the workspace (last NSpid field), the
 * user as seen inside (host uid mapped back through the init's uid_map,
 * named from the workspace's own /etc/passwd, opened inside its root so
 * a symlink there cannot point at a host file) and the command line. */
#pragma once

#include "base/error.h"
#include "registry/registry.h"

#include <jansson.h>

/* Processes of the running workspaces of sandbox (NULL: every sandbox),
 * limited to the workspaces in names (NULL: all), as a JSON array of
 * {"sandbox", "workspace", "pid", "pid_inside", "uid", "user", "cmd"}
 * ordered by sandbox, workspace and pid inside. Only the workspaces of
 * owner count (< 0: everyone's). A sandbox that does not exist (or is
 * not owner's) gives an empty array. */
int project_ps_collect(Registry *reg, int64_t owner, const char *sandbox, char *const *names, json_t **ret,
                       Error *err);

/* Host uid -> uid inside, from the text of a uid_map; -1 when unmapped. */
int64_t project_ps_map_uid(const char *uid_map, uint32_t host_uid);
/* The name of uid in the text of a passwd file, or NULL. */
char *project_ps_user_name(const char *passwd, uint32_t uid);
