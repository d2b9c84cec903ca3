/* Atomic builds: a tree is made in a private staging directory under
 * <state>/tmp/ and renamed into place only when complete, so a crash or
 * failure never leaves a half tree where a finished one is expected.
 *
 * A staging directory is flock()ed by this process from its creation
 * until staging_remove(), so what a crashed process left is told from
 * what is in use by the lock alone: the kernel drops it with the
 * process. staging_sweep() (the daemon at start, registry repair)
 * removes only entries nobody holds. A directory is made under a hidden
 * name (".new-*") and renamed once locked, and a sweep while others may
 * create skips those names, so it never sees one between its mkdtemp()
 * and its flock(). */
#pragma once

#include "base/error.h"

/* mkdtemp "<tmp_dir>/<prefix>-XXXXXX" (0700); tmp_dir is created when
 * missing. */
int staging_create(const char *tmp_dir, const char *prefix, char **ret, Error *err);

/* Entries of tmp_dir that no process holds (paths; *ret may be NULL):
 * what a crash left. */
int staging_list_stale(const char *tmp_dir, char ***ret, Error *err);

/* Remove the entries of tmp_dir that no process holds, never following
 * a symlink or crossing a mount; with all also the hidden ".new-*" ones
 * (only when nothing can be creating: the daemon at start). *ret_removed
 * and *ret_left (may be NULL) name what was removed and what could not
 * be, with why. */
int staging_sweep(const char *tmp_dir, bool all, char ***ret_removed, char ***ret_left, Error *err);

/* Remove a staging directory and drop its lock. A mount left below it by a killed
 * process in a dying namespace can take a moment to go away, so -EBUSY
 * is retried for up to a second. */
int staging_remove(const char *path);

/* Rename staged (a directory) to dest. Without replace an existing
 * dest is refused (-EEXIST, atomically: RENAME_NOREPLACE). With
 * replace the two are exchanged atomically (RENAME_EXCHANGE) and the
 * old tree is removed afterwards (a failure to remove it is not an
 * error: the new tree is in place); readers see either the old or the
 * new tree, never a mix. Both must be on one file system. */
int staging_install(const char *staged, const char *dest, bool replace, Error *err);
