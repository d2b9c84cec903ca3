#include "runtime/rootfs.h"

#include "base/fs.h"
#include "base/process.h"
#include "base/syscalls.h"
#include "runtime/idmap.h"
#include "runtime/idrange.h"
#include "runtime/nsclone.h"
#include "runtime/sync.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

static const char *const overlay_lower_mode_table[_OVERLAY_LOWER_MAX] = {
        [OVERLAY_LOWER_FD] = "lowerdir+ by fd",
        [OVERLAY_LOWER_FD_PATH] = "lowerdir+ by /proc/self/fd path",
        [OVERLAY_LOWER_LEGACY_PATH] = "lowerdir by /proc/self/fd path",
        [OVERLAY_LOWER_ATTACHED] = "lowerdir attached in a private mount namespace",
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
                .propagation = MS_PRIVATE, /* see rootfs_open_writable() */
                .userns_fd = (uint64_t) userns_fd,
        };
        if (mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
                return error_setc(err, errno, "idmapping the rootfs %s (the filesystem must support idmapped mounts)",
                                  rootfs);
        return TAKE_FD(fd);
}

/* A clone of a mount joins its peer group when the mount is shared, as
 * every mount is under systemd: it would stay linked to the host's mount
 * (mount events propagating between them), and pivot_root refuses a
 * shared mount as the new root (EINVAL). Every clone a workspace gets is
 * made private. */
int rootfs_open_writable(const char *rootfs, int userns_fd, Error *err)
{
        _cleanup_close_ int fd = open_tree(AT_FDCWD, rootfs, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        struct mount_attr attr = {
                .attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_NODEV,
                .propagation = MS_PRIVATE,
                .userns_fd = (uint64_t) userns_fd,
        };
        if (fd < 0 || mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
                return error_setc(err, errno, "%s the rootfs %s for setup", fd < 0 ? "cloning" : "idmapping", rootfs);
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

static void fd_path(char *buf, size_t size, int fd)
{
        snprintf(buf, size, "/proc/self/fd/%d", fd);
}

/* Pass the lower layer the way `mode` says (not OVERLAY_LOWER_ATTACHED). */
static int overlay_set_lower(int fsfd, OverlayLowerMode mode, int lower_fd)
{
        char path[64];
        fd_path(path, sizeof path, lower_fd);
        switch (mode) {
        case OVERLAY_LOWER_FD:
                return fsconfig(fsfd, FSCONFIG_SET_FD, "lowerdir+", NULL, lower_fd);
        case OVERLAY_LOWER_FD_PATH:
                return fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", path, 0);
        default:
                return fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir", path, 0);
        }
}

/* One attempt with a fresh context (a failed create leaves a context
 * unusable). Returns the detached mount's fd. *ret_refused says whether
 * the failure means "not this way on this kernel": the kernel refused
 * the way the lower layer was passed (whatever errno it chose for that:
 * 6.1 says EOPNOTSUPP, 6.12 EBADF for an fd it does not take), or the
 * create refused the layer (EINVAL, EOPNOTSUPP). Anything else is about
 * the dirs themselves. */
static int overlay_create_direct(OverlayLowerMode mode, int lower_fd, const char *upper, const char *work,
                                 bool *ret_refused, Error *err)
{
        *ret_refused = false;
        _cleanup_close_ int fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
        if (fsfd < 0)
                return error_setc(err, errno, "opening an overlay filesystem context");
        char why[256];
        if (overlay_set_lower(fsfd, mode, lower_fd) < 0) {
                int e = errno;
                *ret_refused = true;
                return error_setc(err, e, "setting the overlay lower layer%s",
                                  fs_context_message(fsfd, why, sizeof why));
        }
        if (fsconfig(fsfd, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0)
                return error_setc(err, errno, "setting the overlay upper dir %s", upper);
        if (fsconfig(fsfd, FSCONFIG_SET_STRING, "workdir", work, 0) < 0)
                return error_setc(err, errno, "setting the overlay work dir %s", work);
        if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
                int e = errno;
                *ret_refused = e == EINVAL || e == EOPNOTSUPP;
                return error_setc(err, e, "creating the overlay (upper %s)%s", upper,
                                  fs_context_message(fsfd, why, sizeof why));
        }
        int mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV);
        if (mfd < 0)
                return error_setc(err, errno, "creating the overlay mount");
        return mfd;
}

typedef struct AttachedChild {
        int parent_sock; /* the parent's end, closed first */
        int sock;
        int lower_fd;
        int layers_fd;   /* the detached mount holding upper/ and work/, or -EBADF */
        const char *parent, *upper, *work;
} AttachedChild;

/* Where the helper attaches detached layers in its private namespace: a
 * tmpfs it mounts over /tmp there, invisible anywhere else. */
#define ATTACH_SCRATCH "/tmp"

/* Attach the detached mount holding upper/ and work/ (a disk image's)
 * in the helper's namespace, and the lower layer beside it. */
static int attach_layers(const AttachedChild *c, const char **ret_parent, const char **ret_upper,
                         const char **ret_work)
{
        if (mount("enclave-overlay", ATTACH_SCRATCH, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=0700") < 0) {
                sync_send_failure(c->sock, 1, errno, "mounting a scratch tmpfs on", ATTACH_SCRATCH);
                return -1;
        }
        if (mkdir(ATTACH_SCRATCH "/layers", 0700) < 0 || mkdir(ATTACH_SCRATCH "/lower", 0700) < 0) {
                sync_send_failure(c->sock, 1, errno, "creating attach points in", ATTACH_SCRATCH);
                return -1;
        }
        if (move_mount(c->layers_fd, "", AT_FDCWD, ATTACH_SCRATCH "/layers", MOVE_MOUNT_F_EMPTY_PATH) < 0) {
                sync_send_failure(c->sock, 1, errno, "attaching the upper layer's mount on", ATTACH_SCRATCH "/layers");
                return -1;
        }
        *ret_parent = ATTACH_SCRATCH "/lower";
        *ret_upper = ATTACH_SCRATCH "/layers/upper";
        *ret_work = ATTACH_SCRATCH "/layers/work";
        return 0;
}

/* Child of overlay_create_attached(), in its own mount namespace. Only
 * async-signal-safe calls: the daemon that started it has threads. */
static int attached_child(void *arg)
{
        const AttachedChild *c = arg;
        int sock = c->sock, lower_fd = c->lower_fd;
        const char *parent = c->parent, *upper = c->upper, *work = c->work;
        close(c->parent_sock);
        if (unshare(CLONE_NEWNS) < 0) {
                sync_send_failure(sock, 1, errno, "unsharing the mount namespace", NULL);
                _exit(1);
        }
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                sync_send_failure(sock, 1, errno, "making the mounts private", NULL);
                _exit(1);
        }
        if (c->layers_fd >= 0 && attach_layers(c, &parent, &upper, &work) < 0)
                _exit(1);
        /* Opened before the lower layer covers their parent; the kernel
         * clones every layer, so each must be a mount of this namespace. */
        int u = open(upper, O_PATH | O_DIRECTORY | O_CLOEXEC), w = open(work, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (u < 0 || w < 0) {
                sync_send_failure(sock, 1, errno, "opening", u < 0 ? upper : work);
                _exit(1);
        }
        if (move_mount(lower_fd, "", AT_FDCWD, parent, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
                sync_send_failure(sock, 1, errno, "attaching the lower layer on", parent);
                _exit(1);
        }
        int l = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
        int fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
        if (l < 0 || fsfd < 0) {
                sync_send_failure(sock, 1, errno, l < 0 ? "opening the attached lower layer" : "fsopen", NULL);
                _exit(1);
        }
        char lp[64], up[64], wp[64];
        fd_path(lp, sizeof lp, l);
        fd_path(up, sizeof up, u);
        fd_path(wp, sizeof wp, w);
        if (fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir", lp, 0) < 0 ||
            fsconfig(fsfd, FSCONFIG_SET_STRING, "upperdir", up, 0) < 0 ||
            fsconfig(fsfd, FSCONFIG_SET_STRING, "workdir", wp, 0) < 0 ||
            fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
                int e = errno;
                char why[256];
                sync_send_failure(sock, 1, e, "creating the overlay over an attached lower layer",
                                  fs_context_message(fsfd, why, sizeof why));
                _exit(1);
        }
        int mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV);
        if (mfd < 0) {
                sync_send_failure(sock, 1, errno, "creating the overlay mount", NULL);
                _exit(1);
        }
        _exit(sync_send_step(sock, 1, &mfd, 1) < 0 ? 1 : 0);
}

/* Kernels before about 6.5 take a layer only when it is attached in the
 * caller's mount namespace ("failed to clone lowerpath"). A short-lived
 * child attaches the detached lower layer over the upper dir's parent in
 * a private namespace of its own (and with layers_fd, that mount and the
 * lower layer on a scratch tmpfs), creates the overlay there and hands
 * the detached result back; nothing shows in any other namespace. */
static int overlay_create_attached(int lower_fd, int layers_fd, const char *upper, const char *work, Error *err)
{
        _cleanup_free_ char *parent = strdup(upper);
        if (!parent)
                return error_set(err, ENOMEM, "out of memory");
        char *slash = strrchr(parent, '/');
        if (!slash || slash == parent)
                return error_set(err, EINVAL, "the overlay upper dir %s has no parent to attach the lower layer on",
                                 upper);
        *slash = 0;
        int sv[2];
        if (sync_pair(sv) < 0)
                return error_setc(err, errno, "creating a socket pair");
        _cleanup_close_ int sock = sv[0];
        AttachedChild child = { .parent_sock = sv[0], .sock = sv[1], .lower_fd = lower_fd, .layers_fd = layers_fd,
                                .parent = parent, .upper = upper, .work = work };
        NsClone a = { .cgroup_fd = -EBADF };
        _cleanup_pid_ pid_t pid = ns_clone(&a, attached_child, &child);
        if (pid < 0) {
                safe_close(sv[1]);
                return error_setc(err, errno, "forking the overlay helper");
        }
        safe_close(sv[1]);
        int mfd = -EBADF;
        int r = sync_expect(sock, 1, "creating the overlay in a private mount namespace", &mfd, 1, err);
        (void) wait_for_exit(pid);
        pid = 0;
        if (r < 0)
                return r;
        if (mfd < 0)
                return error_set(err, EPROTO, "the overlay helper sent no mount");
        return mfd;
}

/* upper and work are paths; with layers_fd >= 0 they lie directly in
 * that detached mount (reached through /proc/self/fd). */
static int overlay_try(OverlayLowerMode mode, int lower_fd, int layers_fd, const char *upper, const char *work,
                       bool *ret_refused, Error *err)
{
        *ret_refused = false;
        if (mode < 0 || mode >= _OVERLAY_LOWER_MAX)
                return error_set(err, EINVAL, "unknown overlay lower mode %d", (int) mode);
        if (mode == OVERLAY_LOWER_ATTACHED)
                return overlay_create_attached(lower_fd, layers_fd, upper, work, err);
        return overlay_create_direct(mode, lower_fd, upper, work, ret_refused, err);
}

int rootfs_open_overlay_as(OverlayLowerMode mode, int lower_fd, const char *upper, const char *work, Error *err)
{
        bool refused;
        return overlay_try(mode, lower_fd, -EBADF, upper, work, &refused, err);
}

/* The way this kernel takes the lower layer, learnt from the first
 * create that worked (-1: not yet known). Workspace start is a hot path:
 * once known, no create tries the ways that fail here again. */
static _Atomic int overlay_known_mode = -1;

static int open_overlay(int lower_fd, int layers_fd, const char *upper, const char *work, OverlayLowerMode *ret_mode,
                        Error *err)
{
        int known = overlay_known_mode;
        if (known >= 0) {
                bool refused;
                int r = overlay_try((OverlayLowerMode) known, lower_fd, layers_fd, upper, work, &refused, err);
                if (r >= 0 && ret_mode)
                        *ret_mode = (OverlayLowerMode) known;
                return r;
        }
        /* Most direct way first. A way this kernel refuses (see
         * overlay_create_direct) means: try the next one. */
        _cleanup_error_ Error first = ERROR_INIT;
        for (OverlayLowerMode mode = 0; mode < _OVERLAY_LOWER_MAX; mode++) {
                _cleanup_error_ Error e = ERROR_INIT;
                bool refused;
                int r = overlay_try(mode, lower_fd, layers_fd, upper, work, &refused, &e);
                if (r >= 0) {
                        overlay_known_mode = (int) mode;
                        if (ret_mode)
                                *ret_mode = mode;
                        return r;
                }
                if (mode == 0)
                        error_move(&first, &e);
                if (!refused || mode + 1 == _OVERLAY_LOWER_MAX) {
                        if (e.code == 0)
                                error_move(&e, &first);
                        error_move(err, &e);
                        return err ? -err->code : r;
                }
        }
        return error_set(err, EINVAL, "creating the overlay");
}

int rootfs_open_overlay(int lower_fd, const char *upper, const char *work, OverlayLowerMode *ret_mode, Error *err)
{
        return open_overlay(lower_fd, -EBADF, upper, work, ret_mode, err);
}

int rootfs_open_overlay_layers(int lower_fd, int layers_fd, OverlayLowerMode *ret_mode, Error *err)
{
        char upper[64], work[64];
        snprintf(upper, sizeof upper, "/proc/self/fd/%d/upper", layers_fd);
        snprintf(work, sizeof work, "/proc/self/fd/%d/work", layers_fd);
        return open_overlay(lower_fd, layers_fd, upper, work, ret_mode, err);
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

        struct mount_attr attr = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, .propagation = MS_PRIVATE };
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
