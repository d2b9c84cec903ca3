/* Atomic builds: a tree is made in a private staging directory under
 * <state>/tmp/ and renamed into place only when complete, so a crash or
 * failure never leaves a half tree where a finished one is expected. */
#pragma once

#include "base/error.h"

/* mkdtemp "<tmp_dir>/<prefix>-XXXXXX" (0700); tmp_dir is created when
 * missing. */
int staging_create(const char *tmp_dir, const char *prefix, char **ret, Error *err);

/* Remove a staging directory. A mount left below it by a killed
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
