#include "storage/disk-quota.h"

#include "base/fs.h"
#include "base/log.h"
#include "base/process.h"
#include "base/syscalls.h"
#include "runtime/nsclone.h"
#include "runtime/sync.h"
#include "storage/copy.h"
#include "storage/loopdev.h"

#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#define MIB ((uint64_t) 1024 * 1024)
#define IMAGE_NEW DISK_QUOTA_IMAGE ".new"
/* A stopping workspace's mount namespace is torn down after its last
 * process is reaped, from a workqueue: allow for that before EBUSY. */
#define BUSY_WAIT_MS 2000
#define TOOL_OUTPUT_MAX (64 * 1024)

/* ---- e2fsprogs ---- */

static int find_tool(const char *name, char *buf, size_t size)
{
        static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/bin", "/bin" };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                snprintf(buf, size, "%s/%s", dirs[i], name);
                if (access(buf, X_OK) == 0)
                        return 0;
        }
        return -ENOENT;
}

/* The tool's output, trimmed to one line for an error message. */
static void squash_output(char *s)
{
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
                s[--n] = 0;
        if (n > 400)
                s[400] = 0;
        for (char *p = s; *p; p++)
                if (*p == '\n')
                        *p = ' ';
}

/* Run an e2fsprogs tool (argv[0] is its bare name) with stdin from
 * /dev/null and stdout+stderr collected. Returns its exit status or a
 * negative errno with err set. */
static int run_tool(char *const argv[], char **ret_output, Error *err)
{
        char path[64];
        if (find_tool(argv[0], path, sizeof path) < 0)
                return error_set(err, ENOENT, "%s is not installed (install e2fsprogs)", argv[0]);
        _cleanup_close_ int out = memfd_create("e2fsprogs-out", MFD_CLOEXEC);
        _cleanup_close_ int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (out < 0 || in < 0)
                return error_setc(err, errno, "preparing to run %s", argv[0]);
        posix_spawn_file_actions_t fa;
        int r = posix_spawn_file_actions_init(&fa);
        if (r != 0)
                return error_setc(err, r, "preparing to run %s", argv[0]);
        /* dup2 clears close-on-exec on the targets. */
        posix_spawn_file_actions_adddup2(&fa, in, 0);
        posix_spawn_file_actions_adddup2(&fa, out, 1);
        posix_spawn_file_actions_adddup2(&fa, out, 2);
        char *const envp[] = { (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *) "LC_ALL=C", NULL };
        pid_t pid;
        r = posix_spawn(&pid, path, &fa, NULL, argv, envp);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return error_setc(err, r, "running %s", path);
        int status = wait_for_exit(pid);
        if (status < 0)
                return error_setc(err, -status, "waiting for %s", path);
        if (lseek(out, 0, SEEK_SET) < 0 || read_full_fd(out, TOOL_OUTPUT_MAX, ret_output, NULL) < 0)
                *ret_output = NULL;
        if (*ret_output)
                squash_output(*ret_output);
        return status;
}

static int run_tool_ok(char *const argv[], int max_ok_status, Error *err)
{
        _cleanup_free_ char *output = NULL;
        int r = run_tool(argv, &output, err);
        if (r < 0)
                return r;
        if (r <= max_ok_status)
                return 0;
        bool full = output && (strstr(output, "No space left") || strstr(output, "smaller than minimum"));
        return error_set(err, full ? ENOSPC : EIO, "%s failed (status %d): %s", argv[0], r,
                         output && *output ? output : "no output");
}

/* ext4 with 4 KiB blocks (the loop device's block size, so direct I/O
 * lines up), an inode per 8 KiB (node_modules trees are many small
 * files), no blocks reserved for root (the workspace is never host
 * root, so they would only be lost), remount read-only on corruption.
 * The journal is kept: /home persists, and after a host crash a
 * journal replay at mount is all it takes. A fresh sparse file reads
 * as zeros, so the journal need not be written out now. */
static int make_fs(const char *path, uid_t owner, gid_t group, Error *err)
{
        char ext[96];
        snprintf(ext, sizeof ext, "root_owner=%u:%u,lazy_journal_init=1", (unsigned) owner, (unsigned) group);
        char *const argv[] = { (char *) "mke2fs", (char *) "-q", (char *) "-F", (char *) "-t", (char *) "ext4",
                               (char *) "-b", (char *) "4096", (char *) "-i", (char *) "8192",
                               (char *) "-I", (char *) "256", (char *) "-m", (char *) "0",
                               (char *) "-e", (char *) "remount-ro", (char *) "-L", (char *) "enclave-disk",
                               (char *) "-E", ext, (char *) path, NULL };
        return run_tool_ok(argv, 0, err);
}

/* ---- paths and locking ---- */

static int image_path(const char *ws_dir, const char *name, char **ret)
{
        *ret = path_join(ws_dir, name);
        return *ret ? 0 : -ENOMEM;
}

static uint64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* flock(LOCK_EX) waiting at most timeout_ms. The lock of an attached
 * image is held by the loop device's reference to the open file, so it
 * lasts exactly as long as the binding. */
static int lock_wait(int fd, unsigned timeout_ms)
{
        uint64_t deadline = now_ms() + timeout_ms;
        for (;;) {
                if (flock(fd, LOCK_EX | LOCK_NB) == 0)
                        return 0;
                if (errno != EWOULDBLOCK && errno != EINTR)
                        return -errno;
                if (now_ms() >= deadline)
                        return -EBUSY;
                struct timespec ts = { 0, 5 * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
}

/* Open and lock the image for exclusive use; -EBUSY (with a message)
 * while it is attached, by us or by anyone else (losetup). */
static int image_open_exclusive(const char *path, Error *err)
{
        _cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return error_setc(err, errno, errno == ENOENT ? "no disk image %s" : "opening %s", path);
        struct stat st;
        if (fstat(fd, &st) < 0)
                return error_setc(err, errno, "checking %s", path);
        if (!S_ISREG(st.st_mode))
                return error_set(err, EINVAL, "%s is not a regular file", path);
        int r = lock_wait(fd, BUSY_WAIT_MS);
        if (r == -EBUSY)
                return error_set(err, EBUSY, "the disk image %s is still in use (a workspace using it is still "
                                 "running)", path);
        if (r < 0)
                return error_setc(err, -r, "locking %s", path);
        int nr = -1;
        r = loopdev_wait_unbound(st.st_dev, st.st_ino, BUSY_WAIT_MS, &nr);
        if (r == -EBUSY)
                return error_set(err, EBUSY, "the disk image %s is still bound to /dev/loop%d; detach it first "
                                 "(losetup -d /dev/loop%d)", path, nr, nr);
        if (r < 0)
                return error_setc(err, -r, "looking for loop devices backed by %s", path);
        return TAKE_FD(fd);
}

/* ---- mounting ---- */

/* " (<kernel's fsconfig message>)" or "". */
static const char *fs_context_message(int fsfd, char *buf, size_t size)
{
        char msg[200];
        ssize_t n = read(fsfd, msg, sizeof msg - 1);
        buf[0] = 0;
        if (n <= 0)
                return buf;
        msg[n] = 0;
        if (msg[n - 1] == '\n')
                msg[n - 1] = 0;
        snprintf(buf, size, " (%s)", msg);
        return buf;
}

/* Detached mount of the ext4 on loop device nr. discard: space freed
 * inside is punched out of the sparse image again. */
static int mount_ext4(int nr, const char *image, unsigned extra_attr, Error *err)
{
        char dev[LOOPDEV_PATH_MAX];
        loopdev_path(nr, dev);
        _cleanup_close_ int fsfd = fsopen("ext4", FSOPEN_CLOEXEC);
        if (fsfd < 0)
                return error_setc(err, errno, "opening an ext4 file system context");
        if (fsconfig(fsfd, FSCONFIG_SET_STRING, "source", dev, 0) < 0 ||
            fsconfig(fsfd, FSCONFIG_SET_FLAG, "discard", NULL, 0) < 0)
                return error_setc(err, errno, "configuring the ext4 mount of %s", dev);
        if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
                int e = errno;
                char why[256];
                return error_setc(err, e, "mounting the ext4 of %s (on %s)%s", image, dev,
                                  fs_context_message(fsfd, why, sizeof why));
        }
        int mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | extra_attr);
        if (mfd < 0)
                return error_setc(err, errno, "creating the mount of %s", image);
        return mfd;
}

/* Bind image_fd to a loop device and mount it detached. The mount then
 * holds the device: once it is gone, autoclear unbinds it. */
static int image_mount(int image_fd, const char *image, Error *err)
{
        _cleanup_loopdev_ LoopDevice loop = LOOP_DEVICE_INIT;
        int r = loopdev_attach(image_fd, image, &loop, err);
        if (r < 0)
                return r;
        return mount_ext4(loop.nr, image, 0, err);
}

/* /tmp starts empty, like the tmpfs it replaces; owned like the image
 * root (the workspace's base ids, fixed at creation and never visible
 * inside, so nothing inside can change whom /tmp belongs to). */
static int reset_tmp(int mfd, Error *err)
{
        struct stat root;
        if (fstat(mfd, &root) < 0)
                return error_setc(err, errno, "checking the disk image root");
        int r = rm_rf_at(mfd, "tmp");
        if (r < 0)
                return error_setc(err, -r, "emptying /tmp on the disk image");
        if (mkdirat(mfd, "tmp", 0700) < 0)
                return error_setc(err, errno, "creating tmp/ on the disk image");
        if (fchownat(mfd, "tmp", root.st_uid, root.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
            fchmodat(mfd, "tmp", 01777, 0) < 0)
                return error_setc(err, errno, "setting the owner and mode of tmp/ on the disk image");
        return 0;
}

/* ---- splitting into home/ and tmp/ ---- */

#define SPLIT_WHAT "cloning home/ and tmp/ of the disk image (in a helper)"

typedef struct SplitHelper {
        int parent_sock; /* the parent's end, closed first */
        int sock;
        int mfd;
        const char *anchor;
} SplitHelper;

/* In the helper (a child in a new mount namespace): only raw system
 * calls until _exit, the parent may have other threads. It sends the
 * three mounts (home, tmp, and a clone of the root: the helper attached
 * mfd itself, which goes with its namespace) as step 1, or the failure
 * (runtime/sync.h). */
static int helper_main(void *arg)
{
        const SplitHelper *h = arg;
        close(h->parent_sock);
        int fds[3] = { -EBADF, -EBADF, -EBADF };
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            move_mount(h->mfd, "", AT_FDCWD, h->anchor, MOVE_MOUNT_F_EMPTY_PATH) < 0 ||
            (fds[0] = open_tree(h->mfd, "home", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)) < 0 ||
            (fds[1] = open_tree(h->mfd, "tmp", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)) < 0 ||
            (fds[2] = open_tree(h->mfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH)) < 0) {
                sync_send_failure(h->sock, 1, errno, SPLIT_WHAT, NULL);
                _exit(1);
        }
        _exit(sync_send_step(h->sock, 1, fds, 3) < 0 ? 1 : 0);
}

static int split_in_helper(int mfd, const char *anchor, int fds[3], Error *err)
{
        int pair[2];
        int r = sync_pair(pair);
        if (r < 0)
                return error_setc(err, -r, "creating a socket pair");
        _cleanup_close_ int sock = pair[0], child_sock = pair[1];
        SplitHelper h = { .parent_sock = sock, .sock = child_sock, .mfd = mfd, .anchor = anchor };
        NsClone a = { .flags = CLONE_NEWNS, .cgroup_fd = -EBADF };
        pid_t pid = ns_clone(&a, helper_main, &h);
        if (pid < 0)
                return error_setc(err, errno, "starting the mount helper");
        _cleanup_pid_ pid_t child = pid;
        child_sock = safe_close(child_sock);
        r = sync_expect(sock, 1, SPLIT_WHAT, fds, 3, err);
        if (r >= 0 && (fds[0] < 0 || fds[1] < 0 || fds[2] < 0)) {
                for (int i = 0; i < 3; i++)
                        fds[i] = safe_close(fds[i]);
                r = error_set(err, EPROTO, "the mount helper sent no mounts");
        }
        if (r < 0)
                return r;
        (void) wait_for_exit(child);
        child = 0;
        return 0;
}

int disk_quota_split_mount(int mount_fd, const char *anchor_dir, bool force_helper, int *ret_home_fd,
                           int *ret_tmp_fd, int *ret_root_fd, Error *err)
{
        int fds[3];
        *ret_root_fd = -EBADF;
        _cleanup_close_ int home = -EBADF, tmp = -EBADF;
        if (!force_helper) {
                home = open_tree(mount_fd, "home", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
                if (home < 0 && errno != EINVAL)
                        return error_setc(err, errno, "cloning home/ of the disk image");
                if (home >= 0) {
                        tmp = open_tree(mount_fd, "tmp", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
                        if (tmp < 0)
                                return error_setc(err, errno, "cloning tmp/ of the disk image");
                        *ret_home_fd = TAKE_FD(home);
                        *ret_tmp_fd = TAKE_FD(tmp);
                        return 0;
                }
                log_debug("open_tree() of a detached mount refused; using a helper");
        }
        int r = split_in_helper(mount_fd, anchor_dir, fds, err);
        if (r < 0)
                return r;
        *ret_home_fd = fds[0];
        *ret_tmp_fd = fds[1];
        *ret_root_fd = fds[2];
        return 0;
}

/* ---- public ---- */

bool disk_quota_present(const char *ws_dir)
{
        _cleanup_free_ char *path = NULL;
        struct stat st;
        if (image_path(ws_dir, DISK_QUOTA_IMAGE, &path) < 0)
                return false;
        return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static uint32_t le32(const uint8_t *p)
{
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static int read_superblock(int fd, uint8_t sb[static 1024])
{
        ssize_t n = pread(fd, sb, 1024, 1024);
        if (n < 0)
                return -errno;
        if (n != 1024 || (sb[0x38] | sb[0x39] << 8) != 0xEF53)
                return -EUCLEAN;
        return 0;
}

/* The size of the ext4 file system in the image, from its superblock:
 * after an interrupted resize the file and the file system may differ,
 * and the file system is what the quota is. */
static int fs_size_bytes(int fd, uint64_t *ret)
{
        uint8_t sb[1024];
        int r = read_superblock(fd, sb);
        if (r < 0)
                return r;
        uint32_t log_block = le32(sb + 0x18);
        uint64_t blocks = le32(sb + 0x04);
        if (le32(sb + 0x60) & 0x80) /* INCOMPAT_64BIT */
                blocks |= (uint64_t) le32(sb + 0x150) << 32;
        if (log_block > 6)
                return -EUCLEAN;
        *ret = blocks << (10 + log_block);
        return 0;
}

int disk_quota_size_mb(const char *ws_dir, uint64_t *ret_mb)
{
        _cleanup_free_ char *path = NULL;
        if (image_path(ws_dir, DISK_QUOTA_IMAGE, &path) < 0)
                return -ENOMEM;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        uint64_t bytes;
        int r = fs_size_bytes(fd, &bytes);
        if (r < 0)
                return r;
        *ret_mb = bytes / MIB;
        return 0;
}

int disk_quota_loop_device(const char *ws_dir)
{
        _cleanup_free_ char *path = NULL;
        struct stat st;
        if (image_path(ws_dir, DISK_QUOTA_IMAGE, &path) < 0)
                return -ENOMEM;
        if (stat(path, &st) < 0)
                return -errno;
        return loopdev_find_backing(st.st_dev, st.st_ino);
}

static int check_size(uint64_t disk_mb, Error *err)
{
        if (disk_mb < DISK_QUOTA_MIN_MB || disk_mb > DISK_QUOTA_MAX_MB)
                return error_set(err, EINVAL, "disk_mb = %llu is out of range: the disk quota must be %d to %llu MiB",
                                 (unsigned long long) disk_mb, DISK_QUOTA_MIN_MB,
                                 (unsigned long long) DISK_QUOTA_MAX_MB);
        return 0;
}

/* upper/ from <ws_dir>/upper when the image has none yet (an image made
 * before the overlay's upper layer moved into it, or a quota added to a
 * workspace that ran without one), and an empty work/; owned like the
 * image root. Whiteouts, opaque directories and every other xattr are
 * copied as they are. */
static int ensure_layers(int mfd, const char *ws_dir, Error *err)
{
        struct stat root, st;
        if (fstat(mfd, &root) < 0)
                return error_setc(err, errno, "checking the disk image root");
        if (fstatat(mfd, "upper", &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno != ENOENT)
                        return error_setc(err, errno, "checking upper/ on the disk image");
                _cleanup_free_ char *old = path_join(ws_dir, "upper");
                if (!old)
                        return error_set(err, ENOMEM, "out of memory");
                _cleanup_close_ int src = open(old, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (src < 0 && errno != ENOENT)
                        return error_setc(err, errno, "opening %s", old);
                int r = 0;
                if (src >= 0)
                        r = tree_copy_fd(src, mfd, "upper", NULL, NULL, err);
                else if (mkdirat(mfd, "upper", 0755) < 0 ||
                         fchownat(mfd, "upper", root.st_uid, root.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                        r = error_setc(err, errno, "creating upper/ on the disk image");
                if (r == -ENOSPC)
                        return error_wrap(err, "the current %s does not fit into the disk quota", old);
                if (r < 0)
                        return error_wrap(err, "moving %s into the disk image", old);
        }
        if (fstatat(mfd, "work", &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno != ENOENT)
                        return error_setc(err, errno, "checking work/ on the disk image");
                if (mkdirat(mfd, "work", 0755) < 0 ||
                    fchownat(mfd, "work", root.st_uid, root.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                        return error_setc(err, errno, "creating work/ on the disk image");
        }
        return 0;
}

/* home/ from <ws_dir>/home when that exists (so adding a quota keeps a
 * workspace's files), else empty; upper/ and work/ (ensure_layers());
 * tmp/ empty. */
static int populate(int mfd, const char *ws_dir, uid_t owner, gid_t group, Error *err)
{
        _cleanup_free_ char *old_home = path_join(ws_dir, "home");
        if (!old_home)
                return -ENOMEM;
        _cleanup_close_ int src = open(old_home, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (src < 0 && errno != ENOENT)
                return error_setc(err, errno, "opening %s", old_home);
        if (src >= 0) {
                int r = tree_copy_fd(src, mfd, "home", NULL, NULL, err);
                if (r == -ENOSPC)
                        return error_wrap(err, "the current %s does not fit into the disk quota", old_home);
                if (r < 0)
                        return error_wrap(err, "copying %s into the disk image", old_home);
        } else if (mkdirat(mfd, "home", 0755) < 0 ||
                   fchownat(mfd, "home", owner, group, AT_SYMLINK_NOFOLLOW) < 0 ||
                   fchmodat(mfd, "home", 0755, 0) < 0)
                return error_setc(err, errno, "creating home/ on the disk image");
        int r = ensure_layers(mfd, ws_dir, err);
        return r < 0 ? r : reset_tmp(mfd, err);
}

/* Unmount by dropping the last reference, then wait for autoclear:
 * only then is everything written back into the image file. */
static int unmount_and_wait(int *mfd, int image_fd, const char *path, Error *err)
{
        *mfd = safe_close(*mfd);
        struct stat st;
        if (fstat(image_fd, &st) < 0)
                return error_setc(err, errno, "checking %s", path);
        int nr = -1;
        int r = loopdev_wait_unbound(st.st_dev, st.st_ino, 10 * BUSY_WAIT_MS, &nr);
        if (r < 0)
                return error_setc(err, -r, "waiting for /dev/loop%d to release %s", nr, path);
        if (fsync(image_fd) < 0)
                return error_setc(err, errno, "syncing %s", path);
        return 0;
}

/* Everything up to the rename, on the locked new image. */
static int create_image(int fd, const char *path, const char *ws_dir, uint64_t disk_mb, uid_t owner,
                        gid_t group, Error *err)
{
        if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t) (disk_mb * MIB)) < 0)
                return error_setc(err, errno, "sizing %s to %llu MiB", path, (unsigned long long) disk_mb);
        int r = make_fs(path, owner, group, err);
        if (r < 0)
                return error_wrap(err, "making the file system of %s", path);
        _cleanup_close_ int mfd = image_mount(fd, path, err);
        if (mfd < 0)
                return mfd;
        r = populate(mfd, ws_dir, owner, group, err);
        if (r < 0)
                return r;
        return unmount_and_wait(&mfd, fd, path, err);
}

int disk_quota_create(const char *ws_dir, uint64_t disk_mb, uid_t owner, gid_t group, Error *err)
{
        int r = check_size(disk_mb, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *path = NULL, *new_path = NULL;
        if (image_path(ws_dir, DISK_QUOTA_IMAGE, &path) < 0 || image_path(ws_dir, IMAGE_NEW, &new_path) < 0)
                return -ENOMEM;
        if (disk_quota_present(ws_dir))
                return error_set(err, EEXIST, "%s already exists", path);
        _cleanup_close_ int fd = open(new_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return error_setc(err, errno, "creating %s", new_path);
        r = lock_wait(fd, BUSY_WAIT_MS);
        if (r < 0)
                return error_setc(err, -r, "locking %s", new_path);
        /* A concurrent create may have finished while we waited. */
        if (disk_quota_present(ws_dir))
                return error_set(err, EEXIST, "%s already exists", path);
        r = create_image(fd, new_path, ws_dir, disk_mb, owner, group, err);
        if (r >= 0 && rename(new_path, path) < 0)
                r = error_setc(err, errno, "renaming %s to %s", new_path, path);
        if (r < 0) {
                (void) unlink(new_path);
                return error_wrap(err, "creating a %llu MiB disk quota", (unsigned long long) disk_mb);
        }
        _cleanup_close_ int dfd = open(ws_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
                (void) fsync(dfd);
        return 0;
}

/* ext4 marks itself (s_state |= EXT4_ERROR_FS) when it met corruption.
 * Such a file system still mounts, but deserves the preen pass an
 * fstab entry would get at boot; it is rare, so its cost on the start
 * path does not matter. */
static int repair_if_flagged(int fd, const char *path, Error *err)
{
        uint8_t sb[1024];
        int r = read_superblock(fd, sb);
        if (r < 0)
                return error_setc(err, -r, "reading the superblock of %s", path);
        if (!(sb[0x3A] & 0x02))
                return 0;
        char *const fsck[] = { (char *) "e2fsck", (char *) "-f", (char *) "-p", (char *) path, NULL };
        r = run_tool_ok(fsck, 1, err);
        if (r < 0)
                return error_wrap(err, "the file system in %s has errors that e2fsck -p could not fix; run "
                                  "e2fsck -f %s by hand", path, path);
        return 0;
}

int disk_quota_attach(const char *ws_dir, int *ret_home_fd, int *ret_tmp_fd, int *ret_root_fd, Error *err)
{
        _cleanup_free_ char *path = NULL;
        if (image_path(ws_dir, DISK_QUOTA_IMAGE, &path) < 0)
                return -ENOMEM;
        _cleanup_close_ int fd = image_open_exclusive(path, err);
        if (fd < 0)
                return error_wrap(err, "attaching the disk quota");
        int r = repair_if_flagged(fd, path, err);
        if (r < 0)
                return error_wrap(err, "attaching the disk quota");
        _cleanup_close_ int mfd = image_mount(fd, path, err);
        if (mfd < 0)
                return error_wrap(err, "attaching the disk quota");
        /* The loop device holds the image (and with it the lock) now. */
        fd = safe_close(fd);
        r = ensure_layers(mfd, ws_dir, err);
        if (r >= 0)
                r = reset_tmp(mfd, err);
        if (r < 0)
                return error_wrap(err, "attaching the disk quota %s", path);
        _cleanup_close_ int root_clone = -EBADF;
        r = disk_quota_split_mount(mfd, ws_dir, false, ret_home_fd, ret_tmp_fd, &root_clone, err);
        if (r < 0)
                return error_wrap(err, "attaching the disk quota %s", path);
        if (ret_root_fd)
                *ret_root_fd = root_clone >= 0 ? TAKE_FD(root_clone) : TAKE_FD(mfd);
        return 0;
}

int disk_quota_open_root(const char *ws_dir, bool shared, int *ret_root_fd, Error *err)
{
        _cleanup_free_ char *path = NULL;
        if (image_path(ws_dir, DISK_QUOTA_IMAGE, &path) < 0)
                return -ENOMEM;
        if (shared) {
                /* Attached: mount the same device again. ext4 hands out
                 * the same superblock, so this sees exactly what the
                 * workspace sees; the mount itself is read-only. */
                int nr = disk_quota_loop_device(ws_dir);
                if (nr >= 0) {
                        int mfd = mount_ext4(nr, path, MOUNT_ATTR_RDONLY, err);
                        if (mfd < 0)
                                return error_wrap(err, "opening the disk image of a running workspace");
                        *ret_root_fd = mfd;
                        return 0;
                }
                if (nr != -ENOENT)
                        return error_setc(err, -nr, "looking for the loop device of %s", path);
        }
        _cleanup_close_ int fd = image_open_exclusive(path, err);
        if (fd < 0)
                return error_wrap(err, "opening the disk image");
        int r = repair_if_flagged(fd, path, err);
        if (r < 0)
                return error_wrap(err, "opening the disk image");
        _cleanup_close_ int mfd = image_mount(fd, path, err);
        if (mfd < 0)
                return error_wrap(err, "opening the disk image");
        r = ensure_layers(mfd, ws_dir, err);
        if (r < 0)
                return error_wrap(err, "opening the disk image %s", path);
        *ret_root_fd = TAKE_FD(mfd);
        return 0;
}

int disk_quota_remove(const char *ws_dir, Error *err)
{
        _cleanup_free_ char *path = NULL, *new_path = NULL;
        if (image_path(ws_dir, DISK_QUOTA_IMAGE, &path) < 0 || image_path(ws_dir, IMAGE_NEW, &new_path) < 0)
                return -ENOMEM;
        if (unlink(new_path) < 0 && errno != ENOENT)
                return error_setc(err, errno, "removing %s", new_path);
        if (!disk_quota_present(ws_dir))
                return 0;
        _cleanup_close_ int fd = image_open_exclusive(path, err);
        if (fd == -ENOENT) {
                /* Removed meanwhile: that is what was asked for. */
                error_clear(err);
                return 0;
        }
        if (fd < 0)
                return error_wrap(err, "removing the disk quota");
        if (unlink(path) < 0)
                return error_setc(err, errno, "removing %s", path);
        return 0;
}

static int resize_fs(const char *path, uint64_t disk_mb, Error *err)
{
        char *const fsck[] = { (char *) "e2fsck", (char *) "-f", (char *) "-p", (char *) path, NULL };
        /* 1: errors were corrected, the file system is fine now. */
        int r = run_tool_ok(fsck, 1, err);
        if (r < 0)
                return error_wrap(err, "checking %s before resizing", path);
        char size[32];
        snprintf(size, sizeof size, "%lluM", (unsigned long long) disk_mb);
        char *const resize[] = { (char *) "resize2fs", (char *) path, size, NULL };
        return run_tool_ok(resize, 0, err);
}

int disk_quota_resize(const char *ws_dir, uint64_t disk_mb, Error *err)
{
        int r = check_size(disk_mb, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *path = NULL;
        if (image_path(ws_dir, DISK_QUOTA_IMAGE, &path) < 0)
                return -ENOMEM;
        _cleanup_close_ int fd = image_open_exclusive(path, err);
        if (fd < 0)
                return error_wrap(err, "resizing the disk quota");
        uint64_t old_bytes, size = disk_mb * MIB;
        r = fs_size_bytes(fd, &old_bytes);
        if (r < 0)
                return error_setc(err, -r, "reading the file system size of %s", path);
        if (old_bytes == size)
                return 0;
        bool grow = size > old_bytes;
        /* Growing: the file first. If resize2fs then fails the file
         * stays longer than the file system, which is harmless (the
         * superblock says how much is used) and safer than cutting a
         * file resize2fs may have begun to write into. */
        if (grow && ftruncate(fd, (off_t) size) < 0)
                return error_setc(err, errno, "growing %s to %llu MiB", path, (unsigned long long) disk_mb);
        r = resize_fs(path, disk_mb, err);
        if (r == -ENOSPC)
                return error_wrap(err, "what %s holds does not fit into %llu MiB", path,
                                  (unsigned long long) disk_mb);
        if (r < 0)
                return error_wrap(err, "resizing the disk quota from %llu to %llu MiB",
                                  (unsigned long long) (old_bytes / MIB), (unsigned long long) disk_mb);
        if (!grow && ftruncate(fd, (off_t) size) < 0)
                return error_setc(err, errno, "shrinking %s to %llu MiB", path, (unsigned long long) disk_mb);
        if (fsync(fd) < 0)
                return error_setc(err, errno, "syncing %s", path);
        return 0;
}
