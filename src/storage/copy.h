/* Copy a directory tree exactly: ownership (numeric), modes including
 * setuid/setgid/sticky, nanosecond timestamps, every xattr (including
 * security.capability and trusted.overlay.*), hard links, device nodes,
 * fifos and symlinks (never followed). Sockets are skipped: a socket
 * means nothing without its listener. The walk works on directory fds
 * with O_NOFOLLOW and never crosses into another mount (a mount point
 * becomes an empty directory, like `cp -ax`).
 *
 * File data is shared with a reflink (FICLONE) where the file system
 * allows, else copied in the kernel with copy_file_range, else with
 * read/write; holes in sparse files are kept. This backs
 * `create --bootstrap-method cached_rootfs`, the rootfs cache fill after
 * debootstrap, and snapshots.
 *
 * The copy runs on a few threads (the calling one included): the work
 * is kernel time creating inodes and moving data, which scales with
 * the CPUs. Directories and chunks of large directories are shared
 * out; a directory's times and mode are applied once everything below
 * it exists, and an inode with several names is copied once however
 * the threads meet its names. Progress callbacks run on the calling
 * thread only. */
#pragma once

#include "base/error.h"
#include "storage/progress.h"

typedef struct CopyStats {
        uint64_t entries;   /* everything created, the root included */
        uint64_t files;     /* regular files with their own data */
        uint64_t dirs;
        uint64_t symlinks;
        uint64_t specials;  /* devices and fifos */
        uint64_t hardlinks; /* names linked to an earlier copy */
        uint64_t skipped;   /* sockets */
        uint64_t bytes;     /* file data copied or cloned */
        uint64_t reflinked; /* files whose data was cloned */
} CopyStats;

/* Copy the directory src to dst, which must not exist (its parent
 * must). On any failure, or cancellation through mon (-ECANCELED), the
 * partial dst is removed. ret_stats may be NULL. */
int tree_copy(const char *src, const char *dst, const StorageMonitor *mon, CopyStats *ret_stats,
              Error *err);

/* Same, from an open directory fd to dst_name below dst_parent_fd. */
int tree_copy_fd(int src_fd, int dst_parent_fd, const char *dst_name, const StorageMonitor *mon,
                 CopyStats *ret_stats, Error *err);

typedef struct CopyOptions {
        unsigned threads; /* the calling one included; 0: one per CPU, at most 4 */
} CopyOptions;

/* tree_copy_fd() with options; opts may be NULL. */
int tree_copy_fd_opts(int src_fd, int dst_parent_fd, const char *dst_name, const CopyOptions *opts,
                      const StorageMonitor *mon, CopyStats *ret_stats, Error *err);

/* Entries (the root included; sockets left out) and regular-file bytes
 * below dir_fd, on its file system only: totals for progress. */
void tree_count(int dir_fd, uint64_t *ret_entries, uint64_t *ret_bytes);
