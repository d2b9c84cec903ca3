/* Checks applied to every member of a rootfs archive before anything is
 * created for it (see docs/storage.md, "Archive validation").
 *
 * Member names are normalized ("./a//b/" -> "a/b", "./" -> "" for the
 * root) and refused when absolute or containing "..". Hard-link targets
 * follow the same rule, so a link can only name a file already
 * extracted inside the tree. Relative symlink targets may not climb
 * above the root from the link's directory. Absolute symlink targets
 * are allowed: a rootfs is full of them (/etc/localtime ->
 * /usr/share/zoneinfo/...), they are resolved inside the rootfs when a
 * workspace uses it, and Enclave itself never follows a symlink inside
 * a tree (import refuses any member whose path goes through one). */
#pragma once

#include "base/error.h"

/* Normalize name into *ret ("" for the root); -EINVAL with a reason
 * otherwise. */
int tarball_path_normalize(const char *name, char **ret, Error *err);

/* True when target, relative to the directory of the member at path
 * (normalized), leaves the root. Absolute targets never "escape". */
bool tarball_symlink_escapes(const char *path, const char *target);

/* Extended attribute namespaces a rootfs may carry: user.*, security.*
 * (capabilities, labels), trusted.* (overlayfs metadata in snapshots),
 * and POSIX ACLs. */
bool tarball_xattr_allowed(const char *key);

/* trusted.* attributes that keep their meaning in another overlay's
 * upper layer: overlayfs's bookkeeping a restore needs (opaque,
 * redirect, impure, nlink, uuid). The rest only host root writes, and
 * origin and metacopy point the overlay that made them at data
 * elsewhere on this host (a file handle of the lower layer): an export
 * leaves them out and an import drops them. */
bool tarball_trusted_xattr_portable(const char *key);
