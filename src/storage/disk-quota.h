/* The disk quota of everything a workspace writes (SPEC §3 `disk_mb`;
 * refused together with `workspace_dir` by the Enclavefile checks):
 * its root file system's writable layer, its managed /home and its
 * /tmp. docs/disk-quota.md has the design and the measurements.
 *
 * The quota is a file system of its own: <ws_dir>/disk.img, a sparse
 * file of disk_mb MiB holding ext4 (with a journal: /home persists, and
 * a host crash must cost nothing but a journal replay at the next
 * start). Its root directory is never visible inside; it holds
 *
 *     upper/  0755   the overlay's upper layer: whatever is written
 *                    outside /home and /tmp (/var, /etc, /usr, ...)
 *     work/   0755   the overlay's work dir
 *     home/   0755   the workspace's /home
 *     tmp/   01777   the workspace's /tmp, emptied at every attach
 *
 * owned, like <ws_dir>/home, by the base of the workspace's host id
 * range (so root inside owns them through the workspace's id map, and
 * no idmapped mount is needed). All of it shares the one quota.
 *
 * Attaching binds the image to a loop device with autoclear and mounts
 * it as a detached mount (fsopen/fsmount, nosuid,nodev,discard). The
 * caller gets two detached mounts (home/ and tmp/) and hands them to
 * the workspace's mount namespace; nothing is ever mounted in the
 * host's namespace. When the last of those mounts goes away (the
 * workspace's mount namespace dies and every fd is closed) the kernel
 * unmounts the file system and unbinds the loop device by itself.
 *
 * One writer at a time: an attached image stays flock()ed by the loop
 * device's own open file, so a second attach, a resize or a remove of
 * an image still in use waits a moment (a stopping workspace's
 * namespace is torn down asynchronously) and then fails with EBUSY. */
#pragma once

#include "base/error.h"

#include <stdint.h>
#include <sys/types.h>

#define DISK_QUOTA_IMAGE "disk.img"
/* ext4's journal alone needs 4 MiB (1024 blocks of 4 KiB). */
#define DISK_QUOTA_MIN_MB 16
#define DISK_QUOTA_MAX_MB ((uint64_t) 16 * 1024 * 1024) /* 16 TiB */

/* Create <ws_dir>/disk.img of disk_mb MiB (built beside as
 * disk.img.new, renamed into place when complete). home/ and tmp/
 * belong to owner:group; an existing <ws_dir>/home is copied into
 * home/ (its contents stay where they are), and ENOSPC then means it
 * does not fit. Runs mke2fs: for creation time, not for starts.
 * -EEXIST when the image exists (see disk_quota_resize). */
int disk_quota_create(const char *ws_dir, uint64_t disk_mb, uid_t owner, gid_t group, Error *err);

/* Mount the image and return detached mounts of home/ and tmp/
 * (O_CLOEXEC mount fds for move_mount(2), nosuid,nodev), and when
 * ret_root_fd is not NULL the image's root mount, whose upper/ and work/
 * are the overlay's (the caller closes it once the overlay holds them).
 * tmp/ is emptied first; an image without upper/ gets it (from
 * <ws_dir>/upper when that exists). A file system ext4 flagged as
 * damaged gets e2fsck -p first. -ENOENT without an image, -EBUSY while
 * it is still attached (after waiting up to 2 s for a previous user to
 * go away). On failure nothing stays mounted or bound. About 2 ms. */
int disk_quota_attach(const char *ws_dir, int *ret_home_fd, int *ret_tmp_fd, int *ret_root_fd, Error *err);

/* The image's root (upper/, work/, home/) as a detached mount, for
 * snapshots. shared: when the image is attached (the workspace runs),
 * a read-only second mount of the same file system; when it is not,
 * or without shared, it is attached for this caller alone (-EBUSY when
 * in use), read-write. Closing the fd releases it. */
int disk_quota_open_root(const char *ws_dir, bool shared, int *ret_root_fd, Error *err);

/* Delete the image (the workspace's /home and /tmp contents with it).
 * A missing image is fine; -EBUSY while it is attached. */
int disk_quota_remove(const char *ws_dir, Error *err);

/* Whether <ws_dir>/disk.img exists (a complete image). */
bool disk_quota_present(const char *ws_dir);

/* Size of the image's file system in MiB, from its superblock (what
 * disk_mb was when it was made or last resized); -ENOENT without an
 * image. Compare with the configured disk_mb to detect a change. */
int disk_quota_size_mb(const char *ws_dir, uint64_t *ret_mb);

/* Grow or shrink the image to disk_mb MiB while it is not attached:
 * e2fsck -f -p, then resize2fs, the file grown before or cut after.
 * Shrinking below what is stored fails with ENOSPC and leaves the image
 * as it was. -EBUSY while attached. Runs e2fsprogs: not for starts. */
int disk_quota_resize(const char *ws_dir, uint64_t disk_mb, Error *err);

/* The number of the loop device the image is bound to, -ENOENT when
 * it is not attached (for status and doctor output). */
int disk_quota_loop_device(const char *ws_dir);

/* Lower level, exposed for the tests: the detached mounts of home/ and
 * tmp/ below mount_fd (a detached mount of the image's root).
 * open_tree(OPEN_TREE_CLONE) of a detached mount works on recent
 * kernels only (older ones refuse it with EINVAL); those get them from
 * a short-lived helper process that attaches
 * mount_fd onto anchor_dir (any existing directory) in a private mount
 * namespace of its own. force_helper takes that path on any kernel.
 * mount_fd is attached there and gone with the helper's namespace:
 * *ret_root_fd is then a detached clone of the root to use in its place
 * (-EBADF when no helper was needed). */
int disk_quota_split_mount(int mount_fd, const char *anchor_dir, bool force_helper, int *ret_home_fd,
                           int *ret_tmp_fd, int *ret_root_fd, Error *err);
