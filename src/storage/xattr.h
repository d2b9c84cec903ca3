/* Extended attributes of any kind of inode, by fd or by (dirfd, name).
 *
 * Regular files and directories are handled through their open fd.
 * Symlinks, devices and fifos cannot be opened for xattr calls, so they
 * are reached as "/proc/self/fd/<dirfd>/<name>" with the l*xattr calls:
 * the directory is pinned by its fd and the last component is never
 * followed. Attributes are copied byte for byte, including
 * security.capability, trusted.overlay.* and POSIX ACLs. */
#pragma once

#include "base/macro.h"

typedef struct Xattr {
        char *name;
        void *value;
        size_t size;
} Xattr;

typedef struct XattrList {
        Xattr *items;
        size_t n;
} XattrList;

#define XATTR_LIST_INIT { NULL, 0 }

/* fd >= 0 reads through the fd; otherwise dirfd/name is used. A file
 * system without xattr support gives an empty list. */
int xattr_list_read(int fd, int dirfd, const char *name, XattrList *ret);

/* Set one attribute (same addressing as xattr_list_read). */
int xattr_set(int fd, int dirfd, const char *name, const char *key, const void *value, size_t size);

/* Remove one attribute (same addressing as xattr_list_read); one that
 * is not there is no error. */
int xattr_remove(int fd, int dirfd, const char *name, const char *key);

/* Copy every attribute from src to dst. On failure *ret_key (may be
 * NULL) names the attribute that could not be set. */
int xattr_copy(int src_fd, int src_dirfd, const char *src_name, int dst_fd, int dst_dirfd,
               const char *dst_name, const char **ret_key, XattrList *scratch);

void xattr_list_done(XattrList *l);
#define _cleanup_xattr_list_ _cleanup_(xattr_list_done)
