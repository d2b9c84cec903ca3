/* Paths of the state dir (notes/layout.md, SPEC §4):
 *
 *   <state>/registry.db
 *   <state>/sandboxes/<sb>/rootfs/
 *   <state>/sandboxes/<sb>/workspaces/<ws>/{upper,work,home,logs,snapshots/<name>}/
 *   <state>/sandboxes/rootfs-cache/<suite>/   and   .../rootfs-cache/base/
 *   <state>/auth/<provider>.token
 *   <state>/cache/   <state>/tmp/
 *
 * Every name that becomes a path component is validated here, so no
 * caller can build a path that leaves its directory. The state dir
 * itself must be absolute and free of "." and ".." components. Path
 * functions return 0 and a newly allocated string, or a negative errno
 * with a message in err. */
#pragma once

#include "base/error.h"
#include "spec/names.h"

#include <sys/types.h>

typedef enum WorkspaceDir {
        WORKSPACE_DIR_UPPER,
        WORKSPACE_DIR_WORK,
        WORKSPACE_DIR_HOME,
        WORKSPACE_DIR_LOGS,
        WORKSPACE_DIR_SNAPSHOTS,
        _WORKSPACE_DIR_MAX,
        _WORKSPACE_DIR_INVALID = -EINVAL,
} WorkspaceDir;

const char *workspace_dir_to_string(WorkspaceDir d);

int layout_check_state_dir(const char *state_dir, Error *err);

int layout_registry_db(const char *state_dir, char **ret, Error *err);
int layout_sandboxes_dir(const char *state_dir, char **ret, Error *err);
int layout_tmp_dir(const char *state_dir, char **ret, Error *err);
int layout_cache_dir(const char *state_dir, char **ret, Error *err);
int layout_auth_token(const char *state_dir, const char *provider, char **ret, Error *err);

int layout_sandbox_dir(const char *state_dir, const char *sandbox, char **ret, Error *err);
int layout_sandbox_rootfs(const char *state_dir, const char *sandbox, char **ret, Error *err);
int layout_workspaces_dir(const char *state_dir, const char *sandbox, char **ret, Error *err);
int layout_workspace_dir(const char *state_dir, const char *sandbox, const char *workspace,
                         char **ret, Error *err);
int layout_workspace_subdir(const char *state_dir, const char *sandbox, const char *workspace,
                            WorkspaceDir which, char **ret, Error *err);
int layout_snapshot_dir(const char *state_dir, const char *sandbox, const char *workspace,
                        const char *snapshot, char **ret, Error *err);

/* <state>/sandboxes/rootfs-cache and .../<suite|base>. */
int layout_rootfs_cache_root(const char *state_dir, char **ret, Error *err);
int layout_rootfs_cache_dir(const char *state_dir, const char *cache_name, char **ret, Error *err);

/* Create <state> (0700, root) with sandboxes/ (0711), auth/ (0700),
 * cache/ (0700) and tmp/ (0700). Existing directories are fine; the
 * state dir and auth/ get their mode and owner fixed. */
int layout_state_dir_create(const char *state_dir, Error *err);

/* sandboxes/<sb>/ and its workspaces/ (0755, root). The rootfs/ is
 * not created: bootstrap renames a finished tree into place. */
int layout_sandbox_create(const char *state_dir, const char *sandbox, Error *err);

/* Remove sandboxes/<sb>/ entirely. Refuses (-EBUSY) and keeps what is
 * left when something below is still mounted. Missing is fine. */
int layout_sandbox_remove(const char *state_dir, const char *sandbox, Error *err);

/* workspaces/<ws>/ (0755 root) with upper/ work/ home/ owned by
 * uid:gid (the workspace's host id range base; 0755), logs/ (0750
 * root) and snapshots/ (0700 root). Idempotent; owners are fixed. */
int layout_workspace_create(const char *state_dir, const char *sandbox, const char *workspace,
                            uid_t uid, gid_t gid, Error *err);

/* Remove workspaces/<ws>/; -EBUSY when something below is mounted. */
int layout_workspace_remove(const char *state_dir, const char *sandbox, const char *workspace,
                            Error *err);
