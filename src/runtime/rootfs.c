#include "runtime/rootfs.h"

#include "base/fs.h"
#include "runtime/idmap.h"
#include "runtime/idrange.h"
#include "runtime/syscalls.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char *const overlay_lower_mode_table[_OVERLAY_LOWER_MAX] = {
        [OVERLAY_LOWER_FD] = "lowerdir+ by fd",
        [OVERLAY_LOWER_FD_PATH] = "lowerdir+ by /proc/self/fd path",
        [OVERLAY_LOWER_LEGACY_PATH] = "lowerdir by /proc/self/fd path",
};

const char *overlay_lower_mode_to_string(OverlayLowerMode m)
{
        if (m < 0 || m >= _OVERLAY_LOWER_MAX)
                return NULL;
        return overlay_lower_mode_table[m];
}

static int ensure_dir(const char *ws_dir, const char *name, mode_t mode, bool *ret_created, Error *err)
{
        _cleanup_free_ char *p = path_join(ws_dir, name);
        if (!p)
                return -ENOMEM;
        *ret_created = false;
        if (mkdir(p, mode) == 0)
                *ret_created = true;
        else if (errno != EEXIST)
                return error_setc(err, errno, "creating %s", p);
        struct stat st;
        if (lstat(p, &st) < 0)
                return error_setc(err, errno, "checking %s", p);
        if (!S_ISDIR(st.st_mode))
                return error_set(err, ENOTDIR, "%s is not a directory", p);
        return 0;
}

static int chown_dir(const char *ws_dir, const char *name, uid_t uid, gid_t gid, Error *err)
{
        _cleanup_free_ char *p = path_join(ws_dir, name);
        if (!p)
                return -ENOMEM;
        if (lchown(p, uid, gid) < 0)
                return error_setc(err, errno, "changing the owner of %s to %u:%u", p, uid, gid);
        return 0;
}

int workspace_dirs_ensure(const char *ws_dir, uid_t uid, gid_t gid, Error *err)
{
        bool created;
        int r;
        if (mkdir(ws_dir, 0755) < 0 && errno != EEXIST)
                return error_setc(err, errno, "creating %s", ws_dir);
        const char *owned[] = { "upper", "work" };
        for (size_t i = 0; i < ELEMENTSOF(owned); i++) {
                r = ensure_dir(ws_dir, owned[i], 0755, &created, err);
                if (r < 0)
                        return r;
                r = chown_dir(ws_dir, owned[i], uid, gid, err);
                if (r < 0)
                        return r;
        }
        r = ensure_dir(ws_dir, "home", 0755, &created, err);
        if (r < 0)
                return r;
        if (created) {
                r = chown_dir(ws_dir, "home", uid, gid, err);
                if (r < 0)
                        return r;
        }
        return ensure_dir(ws_dir, "logs", 0750, &created, err);
}

int rootfs_open_lower(const char *rootfs, int userns_fd, Error *err)
{
        _cleanup_close_ int fd = open_tree(AT_FDCWD, rootfs, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (fd < 0)
                return error_setc(err, errno, "cloning the rootfs mount %s", rootfs);
        struct mount_attr attr = {
                .attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV,
                .userns_fd = (uint64_t) userns_fd,
        };
        if (mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
                return error_setc(err, errno, "idmapping the rootfs %s (the filesystem must support idmapped mounts)",
                                  rootfs);
        return TAKE_FD(fd);
}

/* The kernel explains fsconfig failures in the context's message
 * queue ("e overlay: ..."); returns " (<message>)" or "". */
static const char *fs_context_message(int fsfd, char *buf, size_t size)
{
        char msg[200];
        ssize_t n = read(fsfd, msg, sizeof msg - 1);
        if (n <= 0) {
                buf[0] = 0;
                return buf;
        }
        msg[n] = 0;
        if (msg[n - 1] == '\n')
                msg[n - 1] = 0;
        snprintf(buf, size, " (%s)", msg);
        return buf;
}

/* Pass the lower layer, trying the most direct interface first. The
 * fallbacks are chosen by the error, not by the kernel version. */
static int overlay_set_lower(int fsfd, int lower_fd, OverlayLowerMode *ret_mode, Error *err)
{
        if (fsconfig(fsfd, FSCONFIG_SET_FD, "lowerdir+", NULL, lower_fd) == 0) {
                *ret_mode = OVERLAY_LOWER_FD;
                return 0;
        }
        int e1 = errno;
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", lower_fd);
        if (fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", path, 0) == 0) {
                *ret_mode = OVERLAY_LOWER_FD_PATH;
                return 0;
        }
        int e2 = errno;
        if (fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir", path, 0) == 0) {
                *ret_mode = OVERLAY_LOWER_LEGACY_PATH;
                return 0;
        }
        return error_setc(err, errno, "setting the overlay lower layer (lowerdir+ by fd: %s; by path: %s; lowerdir)",
                          strerror(e1), strerror(e2));
}

int rootfs_open_overlay(int lower_fd, const char *upper, const char *work,
                        OverlayLowerMode *ret_mode, Error *err)
{
        _cleanup_close_ int fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
        if (fsfd < 0)
                return error_setc(err, errno, "opening an overlay filesystem context");
        OverlayLowerMode mode = OVERLAY_LOWER_FD;
        int r = overlay_set_lower(fsfd, lower_fd, &mode, err);
        if (r < 0)
                return r;
        if (fsconfig(fsfd, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0)
                return error_setc(err, errno, "setting the overlay upper dir %s", upper);
        if (fsconfig(fsfd, FSCONFIG_SET_STRING, "workdir", work, 0) < 0)
                return error_setc(err, errno, "setting the overlay work dir %s", work);
        if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
                int e = errno;
                char why[256];
                return error_setc(err, e, "creating the overlay (upper %s)%s", upper,
                                  fs_context_message(fsfd, why, sizeof why));
        }
        int mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV);
        if (mfd < 0)
                return error_setc(err, errno, "creating the overlay mount");
        if (ret_mode)
                *ret_mode = mode;
        return mfd;
}

/* One id of a workspace_dir (its owner or group) <-> the workspace's
 * root, every other id of the workspace to its own host id (base+1 ..
 * base+65535 stored as themselves), so `chown 5:5` works and lands as
 * base+5 on the host. Host root (0) is never mapped: then the map is
 * the identity of the workspace's range. Other host ids stay unmapped:
 * they show as nobody and give no power. */
static int range_map(uint32_t id, uint32_t base, const char *what, IdMap *ret, Error *err)
{
        if (id > base && id < base + IDRANGE_BLOCK)
                return error_set(err, EPERM, "its %s %u is an id of the workspace's own range (%u-%u); a directory "
                                 "the workspace made cannot be its /home", what, id, base, base + IDRANGE_BLOCK - 1);
        if (id == 0 || id == base)
                *ret = (IdMap) { .line = { { base, base, IDRANGE_BLOCK } }, .n = 1 };
        else
                *ret = (IdMap) { .line = { { id, base, 1 }, { base + 1, base + 1, IDRANGE_BLOCK - 1 } }, .n = 2 };
        return 0;
}

int home_open_mount(int dir_fd, const char *dir, uint32_t uid_base, uint32_t gid_base, Error *err)
{
        _cleanup_close_ int fd = open_tree(dir_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
        if (fd < 0)
                return error_setc(err, errno, "cloning %s for /home", dir);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return error_setc(err, errno, "checking %s", dir);
        if (!S_ISDIR(st.st_mode))
                return error_set(err, ENOTDIR, "%s is not a directory", dir);

        struct mount_attr attr = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV };
        _cleanup_close_ int userns = -EBADF;
        IdMap u, g;
        int r = range_map(st.st_uid, uid_base, "owner", &u, err);
        if (r >= 0)
                r = range_map(st.st_gid, gid_base, "group", &g, err);
        if (r < 0)
                return error_wrap(err, "%s cannot be /home", dir);
        /* Both identities (the managed home, or host root's): a plain bind,
         * where on-disk ids are the workspace's own. */
        if (u.n > 1 || g.n > 1) {
                userns = idmap_userns_open_maps(&u, &g, err);
                if (userns < 0)
                        return error_wrap(err, "idmapping %s", dir);
                attr.attr_set |= MOUNT_ATTR_IDMAP;
                attr.userns_fd = (uint64_t) userns;
        }
        if (mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
                return error_setc(err, errno, "%s %s for /home",
                                  userns >= 0 ? "idmapping" : "setting mount flags of", dir);
        return TAKE_FD(fd);
}
