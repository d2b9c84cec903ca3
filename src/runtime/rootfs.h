/* The parent (trusted) side of a workspace's filesystem: everything
 * that needs host paths is prepared here as detached mounts, which the
 * child later attaches inside its own mount namespace.
 *
 *   lower  = open_tree(rootfs, OPEN_TREE_CLONE) + MOUNT_ATTR_IDMAP with
 *            the workspace's user namespace + MOUNT_ATTR_RDONLY, so the
 *            root-owned rootfs appears owned by the workspace's root
 *            (host uid_base) while the files on disk never change;
 *   root   = overlay(lower, <ws>/upper, <ws>/work), made with fsopen /
 *            fsconfig / fsmount; writes land in <ws>/upper only;
 *   home   = open_tree(dir_fd, OPEN_TREE_CLONE), idmapped so that the
 *            directory's host owner (never host root) is root inside. */
#pragma once

#include "base/error.h"

#include <stdint.h>
#include <sys/types.h>

/* How the overlay received its lower layer (for docs and diagnostics). */
typedef enum OverlayLowerMode {
        OVERLAY_LOWER_FD,          /* "lowerdir+" with FSCONFIG_SET_FD */
        OVERLAY_LOWER_FD_PATH,     /* "lowerdir+" = /proc/self/fd/N */
        OVERLAY_LOWER_LEGACY_PATH, /* "lowerdir" = /proc/self/fd/N (kernels before 6.8) */
        OVERLAY_LOWER_ATTACHED,    /* "lowerdir" with the layer attached in a private
                                    * mount namespace (kernels that refuse detached
                                    * layers, before about 6.5) */
        _OVERLAY_LOWER_MAX,
        _OVERLAY_LOWER_INVALID = -EINVAL,
} OverlayLowerMode;

const char *overlay_lower_mode_to_string(OverlayLowerMode m);

/* Create <ws>/upper, work (0755, owned by uid:gid), home (0755, owned
 * by uid:gid when created here) and logs (0750, root) when missing;
 * upper and work get their owner fixed. */
int workspace_dirs_ensure(const char *ws_dir, uid_t uid, gid_t gid, Error *err);

/* Detached read-only idmapped clone of the rootfs directory. */
int rootfs_open_lower(const char *rootfs, int userns_fd, Error *err);

/* Detached read-write idmapped nodev private clone of the rootfs
 * directory: the root of a sandbox's setup, which changes the rootfs
 * itself while its files stay owned by real root on disk (on-disk ids
 * 0-65535 are the setup's own). Private, so it can be the root of a
 * mount namespace even when the rootfs lies on a shared mount. */
int rootfs_open_writable(const char *rootfs, int userns_fd, Error *err);

/* Detached nodev overlay mount over lower_fd with the given upper and
 * work dirs. *ret_mode (may be NULL) tells which way the lower layer
 * was passed: the first create tries them newest first and the way
 * that worked is kept for every later one (feature detection by the
 * kernel's answer, never by its version). */
int rootfs_open_overlay(int lower_fd, const char *upper, const char *work,
                        OverlayLowerMode *ret_mode, Error *err);
/* The same with the upper and work dirs upper/ and work/ in the detached
 * mount layers_fd (a disk image's), which the attached way attaches too. */
int rootfs_open_overlay_layers(int lower_fd, int layers_fd, OverlayLowerMode *ret_mode, Error *err);
/* One given way only (tests, diagnostics). */
int rootfs_open_overlay_as(OverlayLowerMode mode, int lower_fd, const char *upper, const char *work, Error *err);

/* Detached nosuid,nodev clone of the directory dir_fd (an O_PATH fd;
 * dir names it in messages) for /home. The mapping follows the
 * directory's owner and group (docs/security.md, "Ownership mapping"):
 *   - the owner O <-> the workspace's root, the group G <-> its group 0,
 *     every other id of the workspace to its own host id (uid_base+N),
 *     so chown inside works and files land in the workspace's range;
 *   - except host root (uid or gid 0), which is never mapped: nothing
 *     made inside can be setuid-root, setgid-root or carry file
 *     capabilities for host root; root's files show as nobody and the
 *     kernel lets a workspace write no file with an unmapped owner or
 *     group;
 *   - the managed home (uid_base:gid_base) and root's directories need
 *     no idmap: a plain bind.
 * An owner or group inside the workspace's own range is refused
 * (-EPERM). */
int home_open_mount(int dir_fd, const char *dir, uint32_t uid_base, uint32_t gid_base, Error *err);
