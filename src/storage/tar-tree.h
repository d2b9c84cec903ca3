/* A tree through a tar stream, for `enclave workspace cp`.
 *
 * Writing archives the tree at a path as it is on disk: a symlink is
 * stored as a symlink and never followed (the top one included), and
 * only numeric owners go in (no user lookup: inside a workspace that
 * would load the workspace's own NSS modules), no xattrs and no ACLs.
 *
 * Extracting takes only directories, regular files and symlinks; it
 * never follows a symlink on disk or one made by the archive out of
 * the target directory, never writes through ".." or an absolute name,
 * and never restores owners: what it makes belongs to the process that
 * extracts (the workspace's root inside a workspace, the caller on the
 * host). Modes and times are kept, except that with TAR_TREE_HOST the
 * setuid and setgid bits are dropped, so that nothing a workspace wrote
 * becomes a set-id program on the host. */
#pragma once

#include "base/error.h"

#include <stdbool.h>

enum {
        TAR_TREE_HOST = 1u << 0, /* extracting on the host: drop setuid/setgid bits */
};

/* Archive the tree at path into fd (pax), with its top entry named
 * name (a single path component). */
int tar_tree_write(const char *path, const char *name, int fd, Error *err);

/* Extract the archive read from fd into the directory dir. With name,
 * the first component of every entry becomes name (the archive must
 * then have one top entry). Returns the number of entries. */
int tar_tree_extract(int fd, const char *dir, const char *name, unsigned flags, Error *err);
