/* Host directories handed into a workspace as its /home (workspace_dir).
 *
 * The daemon is root acting for the workspace's owner, and the workspace
 * itself may write below its own workspace_dir: a path is never trusted
 * to still name what it named before. So:
 *
 *   - the path must be absolute and canonical (the CLI resolves the
 *     user's path with the user's own rights), and may not be a system
 *     directory (hostdir_check_path(), pure: spec/host-path.h, which
 *     `enclave validate` uses too);
 *   - it is opened from / without following any symlink or magic link
 *     (openat2 RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS), so a
 *     component swapped for a symlink fails instead of leading elsewhere;
 *   - its identity (device, inode, owner) is recorded at create and must
 *     be the same at every start (hostdir_verify()): a directory renamed
 *     into its place is refused;
 *   - the open descriptor, not the path, becomes the mount
 *     (home_open_mount()).
 *
 * docs/security.md, "Host paths", has the rules and their reasons. */
#pragma once

#include "base/error.h"
#include "spec/host-path.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct HostDirId {
        uint64_t dev;
        uint64_t ino;
        uint64_t fsid; /* statfs f_fsid; ext4 and btrfs derive it from the filesystem's UUID */
        uint32_t uid;
        uint32_t gid;
} HostDirId;

/* Open a directory that passed hostdir_check_path() as an O_PATH fd,
 * following no symlink on the way, and describe it. */
int hostdir_open(const char *path, HostDirId *ret_id, Error *err);

/* The same directory as at create (device and inode) with the same
 * owner and group: -ESTALE with a message naming the path otherwise. A
 * changed device number alone is accepted when the filesystem id is the
 * same and not 0 (a disk renumbered at boot). */
int hostdir_verify(const char *path, const HostDirId *now, const HostDirId *recorded, Error *err);
