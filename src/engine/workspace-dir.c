/* The engine's workspace_dir rules (workspace-dir.h). */
#include "engine/workspace-dir.h"
#include "registry/registry-workspace.h"
#include "base/fs.h"
#include "base/str.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* The owner rule: a user hands in only a directory of its own. */
static int check_owner(const char *path, const HostDirId *id, uid_t owner, Error *err)
{
        if (owner != 0 && id->uid != owner)
                return error_set(err, EPERM, "workspace_dir %s belongs to uid %u, not to the workspace's owner (uid %u)",
                                 path, (unsigned) id->uid, (unsigned) owner);
        return 0;
}

/* Where every workspace's writable layers live: a workspace_dir there
 * (or one that contains it) would hand a workspace other workspaces'
 * files, or its own upper layer twice. */
static int check_state_dir(const Engine *eng, const char *path, Error *err)
{
        char state[PATH_MAX];
        if (!realpath(eng->settings.state_dir, state))
                return error_setc(err, errno, "resolving the state dir %s", eng->settings.state_dir);
        if (hostdir_path_within(path, state) || hostdir_path_within(state, path))
                return error_set(err, EPERM, "workspace_dir %s %s Enclave's state dir %s, which holds every "
                                 "workspace's files; name a directory outside it", path,
                                 hostdir_path_within(path, state) ? "lies in" : "contains", state);
        return 0;
}

/* Nested in either direction with another workspace's directory: the
 * outer one's workspace could rename the inner directory and put
 * another in its place. Another owner's workspace is not named. */
static int check_nesting(Registry *reg, const char *path, uid_t owner, Error *err)
{
        WorkspaceRow *rows = NULL;
        size_t n = 0;
        int r = registry_workspace_list(reg, -1, &rows, &n, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                const char *other = json_string_value(json_object_get(rows[i].config, "workspace_dir"));
                if (!other || streq(other, path))
                        continue;
                bool inside = hostdir_path_within(path, other), outside = hostdir_path_within(other, path);
                if (!inside && !outside)
                        continue;
                if (owner == 0 || (uid_t) rows[i].owner_uid == owner)
                        r = error_set(err, EPERM, "workspace_dir %s %s %s, the workspace_dir of %s/%s: one "
                                      "workspace could move the other's directory from inside; use separate "
                                      "directories (or the same one)", path, inside ? "lies in" : "contains",
                                      other, rows[i].sandbox, rows[i].name);
                else
                        r = error_set(err, EPERM, "workspace_dir %s %s the workspace_dir of another user's "
                                      "workspace; use a directory of your own outside it", path,
                                      inside ? "lies in" : "contains");
        }
        workspace_rows_free(rows, n);
        return r;
}

int workspace_dir_admit(Engine *eng, Registry *reg, const char *path, uid_t owner, HostDirId *ret_id, Error *err)
{
        HostDirId id;
        _cleanup_close_ int fd = hostdir_open(path, &id, err);
        if (fd < 0)
                return fd;
        int r = check_owner(path, &id, owner, err);
        if (r >= 0)
                r = check_state_dir(eng, path, err);
        if (r >= 0)
                r = check_nesting(reg, path, owner, err);
        if (r < 0)
                return r;
        *ret_id = id;
        return 0;
}

json_t *workspace_dir_id_to_json(const HostDirId *id)
{
        /* json integers are int64: the 64-bit values go through as bits. */
        return json_pack("{s:I, s:I, s:I, s:I, s:I}", "dev", (json_int_t) id->dev, "ino", (json_int_t) id->ino,
                         "fsid", (json_int_t) id->fsid, "uid", (json_int_t) id->uid, "gid", (json_int_t) id->gid);
}

static bool id_from_json(json_t *o, HostDirId *ret)
{
        json_t *dev = json_object_get(o, "dev"), *ino = json_object_get(o, "ino"), *fsid = json_object_get(o, "fsid"),
               *uid = json_object_get(o, "uid"), *gid = json_object_get(o, "gid");
        if (!json_is_integer(dev) || !json_is_integer(ino) || !json_is_integer(fsid) || !json_is_integer(uid) ||
            !json_is_integer(gid))
                return false;
        *ret = (HostDirId) {
                .dev = (uint64_t) json_integer_value(dev),
                .ino = (uint64_t) json_integer_value(ino),
                .fsid = (uint64_t) json_integer_value(fsid),
                .uid = (uint32_t) json_integer_value(uid),
                .gid = (uint32_t) json_integer_value(gid),
        };
        return true;
}

/* Host root's uid and gid are never mapped into a workspace: say what
 * that means for this directory. */
static int warn_root_owned(const char *path, const HostDirId *id, char ***warnings)
{
        char *w = NULL;
        if (id->uid == 0 && asprintf(&w, "workspace_dir %s belongs to root, and host root is never root inside a "
                                         "workspace: it shows as owned by nobody and the workspace cannot change it "
                                         "or root's files in it; to let the workspace own it, give it to a regular "
                                         "user (chown -R USER:USER %s)", path, path) < 0)
                return -ENOMEM;
        if (id->uid != 0 && id->gid == 0 &&
            asprintf(&w, "workspace_dir %s has group root, which is never mapped into a workspace: the workspace "
                         "cannot write in it; give it its owner's group (chgrp -R GROUP %s)", path, path) < 0)
                return -ENOMEM;
        return w ? strv_consume(warnings, w) : 0;
}

int workspace_dir_prepare_start(const char *path, json_t *config, uid_t owner, HostDirId *ret_id, bool *ret_have_id,
                                char ***warnings, Error *err)
{
        *ret_have_id = id_from_json(json_object_get(config, "workspace_dir_id"), ret_id);
        if (!*ret_have_id) {
                /* A workspace from before identities were recorded. */
                _cleanup_close_ int fd = hostdir_open(path, ret_id, err);
                if (fd < 0)
                        return error_wrap(err, "its workspace_dir is gone or unusable; create it again or recreate "
                                          "the workspace with another --workspace-dir");
                int r = check_owner(path, ret_id, owner, err);
                if (r < 0)
                        return r;
        }
        if (warn_root_owned(path, ret_id, warnings) < 0)
                return error_set(err, ENOMEM, "out of memory");
        return 0;
}
