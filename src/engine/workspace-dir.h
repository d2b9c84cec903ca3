/* The engine's rules for a workspace_dir, the host directory that
 * becomes a workspace's /home (docs/security.md, "Host paths"):
 *
 *   create  the path must pass hostdir_check_path() and open without a
 *           symlink; it must belong to the workspace's owner (any
 *           directory for root); it may not lie in the state dir (where
 *           every workspace's writable layers are) or contain it, nor be
 *           nested in either direction with another workspace's
 *           workspace_dir (a workspace could rename or replace its
 *           neighbour's directory from inside); its identity is recorded
 *           in the workspace's config;
 *   start   the recorded identity is handed to the spawn, which opens the
 *           path without symlinks again and refuses a directory that is
 *           not the recorded one (runtime/hostdir.h).
 *
 * Two workspaces may share one directory; only nesting is refused. */
#pragma once

#include "engine/engine.h"
#include "registry/registry.h"
#include "runtime/hostdir.h"

#include <jansson.h>
#include <sys/types.h>

/* The create-time checks; on success *ret_id describes the directory. */
int workspace_dir_admit(Engine *eng, Registry *reg, const char *path, uid_t owner, HostDirId *ret_id, Error *err);

/* The identity as stored in the config ("workspace_dir_id"). */
json_t *workspace_dir_id_to_json(const HostDirId *id);

/* The start-time checks before the spawn: *ret_id and *ret_have_id tell
 * what the spawn must verify (rows from before identities were recorded
 * have none: they get the owner check here instead). A root-owned
 * directory adds a warning (it is not mapped to root inside). */
int workspace_dir_prepare_start(const char *path, json_t *config, uid_t owner, HostDirId *ret_id, bool *ret_have_id,
                                char ***warnings, Error *err);
