/* Filesystem helpers. Everything that walks a tree works relative to
 * directory fds and never follows symlinks, so a hostile tree cannot
 * redirect it onto the host. */
#pragma once

#include "base/error.h"

#include <sys/types.h>

/* Read a whole file (at most max bytes, else -EFBIG). *ret is
 * NUL-terminated; *ret_len may be NULL. */
int read_full_file(const char *path, size_t max, char **ret, size_t *ret_len);
int read_full_fd(int fd, size_t max, char **ret, size_t *ret_len);

/* Write data to path via a temporary file in the same directory, fsync,
 * then rename over path. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* mkdir -p; existing directories are fine. */
int mkdir_p(const char *path, mode_t mode);

/* Remove a directory tree below dirfd/name without following symlinks
 * and without crossing into other mounts (returns -EBUSY if one is
 * found). Missing name is not an error. */
int rm_rf_at(int dirfd, const char *name);
int rm_rf(const char *path);

/* "a" + "/" + "b" with duplicate slashes avoided; NULL on OOM. */
char *path_join(const char *a, const char *b);

bool is_dir(const char *path);

/* write() all of buf, retrying short writes and EINTR. */
int loop_write(int fd, const void *buf, size_t len);

/* umount2(MNT_DETACH) the path and free it: scope-bound mounts. */
void umount_and_freep(char **path);
#define _cleanup_umount_ _cleanup_(umount_and_freep)
