/* disk_mb: the loop-mounted ext4 image behind a workspace's managed
 * /home and /tmp. Real loop devices, real ext4, real mount namespaces:
 * the quota is filled until the kernel says ENOSPC, and after every
 * test no loop device is left bound to an image and nothing stays
 * mounted. Needs root. */
#include "test.h"
#include "itest-common.h"

#include "base/fs.h"
#include "base/process.h"
#include "base/syscalls.h"
#include "runtime/idmap.h"
#include "storage/disk-quota.h"
#include "storage/loopdev.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <grp.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>

#define MIB ((uint64_t) 1024 * 1024)
/* A workspace's host id base, as idrange would hand out. */
#define OWNER ((uid_t) 1300000)
#define GROUP ((gid_t) 1300000)

static char *scratch;

static void make_world(void)
{
        if (scratch)
                return;
        if (geteuid() != 0)
                SKIP("needs root");
        if (access("/dev/loop-control", W_OK) < 0)
                SKIP("no /dev/loop-control");
        char tmpl[] = "/tmp/enctest-disk-XXXXXX";
        ASSERT_NOT_NULL(mkdtemp(tmpl));
        /* The children write as the workspace's id: let it through. */
        ASSERT_OK(chmod(tmpl, 0755));
        scratch = strdup(tmpl);
}

__attribute__((destructor)) static void cleanup_world(void)
{
        if (scratch)
                (void) rm_rf(scratch);
}

/* A fresh workspace dir below the scratch dir. */
static char *new_ws(const char *name)
{
        make_world();
        char *ws = at(scratch, name);
        if (mkdir(ws, 0755) < 0)
                TEST_FAIL("mkdir %s: %s", ws, strerror(errno));
        return ws;
}

static void create_quota(const char *ws, uint64_t mb)
{
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(disk_quota_create(ws, mb, OWNER, GROUP, &err), err);
}

static void attach(const char *ws, int *home, int *tmp)
{
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(disk_quota_attach(ws, home, tmp, NULL, &err), err);
}

/* Autoclear happens just after the last mount is released; give it
 * the moment it needs, then insist. */
static void assert_unbound(const char *ws)
{
        int nr = -ENOENT;
        for (int i = 0; i < 500; i++) {
                nr = disk_quota_loop_device(ws);
                if (nr == -ENOENT)
                        break;
                usleep(10 * 1000);
        }
        if (nr != -ENOENT)
                TEST_FAIL("the image of %s is still bound to loop%d", ws, nr);
}

/* ---- filling a file system ---- */

typedef struct Fill {
        int error;      /* errno that stopped the writes (0: reached max) */
        uint64_t bytes; /* written before that */
} Fill;

static Fill fill(const char *path, uint64_t max)
{
        static char chunk[1 << 20];
        memset(chunk, 0x5a, sizeof chunk); /* real data, no holes */
        Fill f = { 0, 0 };
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return (Fill) { errno, 0 };
        while (f.bytes < max) {
                ssize_t n = write(fd, chunk, sizeof chunk);
                if (n < 0) {
                        f.error = errno;
                        break;
                }
                f.bytes += (uint64_t) n;
        }
        if (f.error == 0 && fsync(fd) < 0)
                f.error = errno;
        close(fd);
        return f;
}

/* ---- a private mount namespace, as the workspace has ---- */

typedef struct NsResult {
        int flags_ok;  /* nosuid,nodev on both, owners and modes right */
        Fill home;     /* home filled */
        Fill tmp_full; /* tmp written while home holds the quota */
        Fill tmp;      /* tmp filled after home's file is gone */
        int marker_in_tmp;
        int marker_in_home;
} NsResult;

typedef void (*NsFn)(const char *home, const char *tmp, NsResult *res);

static bool has_flags(const char *dir)
{
        struct statvfs sv;
        return statvfs(dir, &sv) == 0 && (sv.f_flag & ST_NOSUID) && (sv.f_flag & ST_NODEV);
}

static bool owned(const char *dir, mode_t mode)
{
        struct stat st;
        return stat(dir, &st) == 0 && st.st_uid == OWNER && st.st_gid == GROUP && (st.st_mode & 07777) == mode;
}

/* As the workspace's root would: the base id, no host capabilities. */
static bool become_owner(void)
{
        return setgroups(0, NULL) == 0 && setresgid(GROUP, GROUP, GROUP) == 0 &&
               setresuid(OWNER, OWNER, OWNER) == 0;
}

static void fill_both(const char *home, const char *tmp, NsResult *res)
{
        res->flags_ok = has_flags(home) && has_flags(tmp) && owned(home, 0755) && owned(tmp, 01777);
        if (!become_owner())
                return;
        _cleanup_free_ char *hf = at(home, "big"), *tf = at(tmp, "big");
        res->home = fill(hf, 200 * MIB);
        res->tmp_full = fill(tf, 200 * MIB);
        (void) unlink(hf);
        sync();
        res->tmp = fill(tf, 200 * MIB);
}

static void write_markers(const char *home, const char *tmp, NsResult *res)
{
        _cleanup_free_ char *hf = at(home, "marker"), *tf = at(tmp, "marker");
        if (!become_owner())
                return;
        res->marker_in_home = write_file_atomic(hf, "h\n", 2, 0644) == 0;
        res->marker_in_tmp = write_file_atomic(tf, "t\n", 2, 0644) == 0;
}

static void read_markers(const char *home, const char *tmp, NsResult *res)
{
        _cleanup_free_ char *hf = at(home, "marker"), *tf = at(tmp, "marker");
        res->marker_in_home = access(hf, F_OK) == 0;
        res->marker_in_tmp = access(tf, F_OK) == 0;
        res->flags_ok = owned(tmp, 01777);
}

/* Fork a child that attaches the two detached mounts in a private
 * mount namespace (nothing reaches the host's), runs fn there and
 * reports back through a pipe. */
static NsResult run_in_ns(const char *ws, int home_fd, int tmp_fd, NsFn fn)
{
        _cleanup_free_ char *home = at(ws, "mnt-home"), *tmp = at(ws, "mnt-tmp");
        if ((mkdir(home, 0755) < 0 && errno != EEXIST) || (mkdir(tmp, 0755) < 0 && errno != EEXIST))
                TEST_FAIL("mkdir: %s", strerror(errno));
        int p[2];
        ASSERT_OK(pipe2(p, O_CLOEXEC));
        pid_t pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                NsResult res;
                memset(&res, 0, sizeof res);
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
                    move_mount(home_fd, "", AT_FDCWD, home, MOVE_MOUNT_F_EMPTY_PATH) < 0 ||
                    move_mount(tmp_fd, "", AT_FDCWD, tmp, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                        _exit(2);
                fn(home, tmp, &res);
                _exit(write(p[1], &res, sizeof res) == (ssize_t) sizeof res ? 0 : 3);
        }
        close(p[1]);
        NsResult res;
        memset(&res, 0, sizeof res);
        ssize_t n = read(p[0], &res, sizeof res);
        close(p[0]);
        int status = wait_for_exit(pid);
        if (status != 0 || n != (ssize_t) sizeof res)
                TEST_FAIL("namespace child failed (status %d)", status);
        return res;
}

/* ---- tests ---- */

TEST(create_makes_a_sparse_image)
{
        _cleanup_free_ char *ws = new_ws("sparse");
        _cleanup_free_ char *img = at(ws, "disk.img"), *img_new = at(ws, "disk.img.new");
        ASSERT_FALSE(disk_quota_present(ws));
        create_quota(ws, 64);
        ASSERT_TRUE(disk_quota_present(ws));
        ASSERT_TRUE(access(img_new, F_OK) < 0);
        struct stat st;
        ASSERT_OK(stat(img, &st));
        ASSERT_EQ(st.st_size, 64 * MIB);
        ASSERT_EQ(st.st_mode & 07777, 0600);
        printf("# 64 MiB image uses %llu KiB on the host\n", (unsigned long long) st.st_blocks / 2);
        ASSERT_TRUE((uint64_t) st.st_blocks * 512 < 8 * MIB);
        uint64_t mb = 0;
        ASSERT_OK(disk_quota_size_mb(ws, &mb));
        ASSERT_EQ(mb, 64);
        assert_unbound(ws);

        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(disk_quota_create(ws, 64, OWNER, GROUP, &err), -EEXIST);
        ASSERT_CONTAINS(error_msg(&err), "already exists");
}

TEST(create_refuses_sizes_out_of_range)
{
        _cleanup_free_ char *ws = new_ws("range");
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(disk_quota_create(ws, 1, OWNER, GROUP, &err), -EINVAL);
        ASSERT_CONTAINS(error_msg(&err), "16 to");
        error_clear(&err);
        ASSERT_EQ(disk_quota_create(ws, DISK_QUOTA_MAX_MB + 1, OWNER, GROUP, &err), -EINVAL);
        ASSERT_FALSE(disk_quota_present(ws));
        _cleanup_free_ char *img_new = at(ws, "disk.img.new");
        ASSERT_TRUE(access(img_new, F_OK) < 0);
}

TEST(home_and_tmp_share_a_64_mib_quota)
{
        _cleanup_free_ char *ws = new_ws("quota");
        create_quota(ws, 64);
        _cleanup_close_ int home = -EBADF, tmp = -EBADF;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        attach(ws, &home, &tmp);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        printf("# attach took %.2f ms\n", (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
        ASSERT_TRUE(disk_quota_loop_device(ws) >= 0);

        NsResult r = run_in_ns(ws, home, tmp, fill_both);
        home = safe_close(home);
        tmp = safe_close(tmp);
        printf("# home: %llu MiB then %s; tmp while full: %llu MiB then %s; tmp alone: %llu MiB then %s\n",
               (unsigned long long) (r.home.bytes / MIB), strerror(r.home.error),
               (unsigned long long) (r.tmp_full.bytes / MIB), strerror(r.tmp_full.error),
               (unsigned long long) (r.tmp.bytes / MIB), strerror(r.tmp.error));
        ASSERT_TRUE(r.flags_ok);
        ASSERT_EQ(r.home.error, ENOSPC);
        ASSERT_TRUE(r.home.bytes >= 48 * MIB);
        ASSERT_TRUE(r.home.bytes < 64 * MIB);
        ASSERT_EQ(r.tmp_full.error, ENOSPC);
        ASSERT_TRUE(r.tmp_full.bytes <= 1 * MIB);
        ASSERT_EQ(r.tmp.error, ENOSPC);
        ASSERT_TRUE(r.tmp.bytes >= 48 * MIB);
        ASSERT_TRUE(r.tmp.bytes < 64 * MIB);

        /* The child's namespace is gone and our fds are closed: the
         * file system is unmounted and the loop device unbound. */
        assert_unbound(ws);
}

/* As the runtime uses them: moved into the mount namespace of a user
 * namespace whose root is OWNER. Root inside owns /home and /tmp, and
 * what it chowns to its uid 1000 is OWNER + 1000 on disk, exactly as on
 * the managed <ws>/home directory. */
TEST(workspace_root_owns_home_through_its_id_map)
{
        _cleanup_free_ char *ws = new_ws("userns");
        _cleanup_free_ char *mnt = at(ws, "mnt-home");
        ASSERT_OK(mkdir(mnt, 0755));
        create_quota(ws, 16);
        _cleanup_close_ int home = -EBADF, tmp = -EBADF;
        attach(ws, &home, &tmp);

        int go[2], done[2];
        ASSERT_OK(pipe2(go, O_CLOEXEC));
        ASSERT_OK(pipe2(done, O_CLOEXEC));
        pid_t pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                char c = 0;
                if (unshare(CLONE_NEWUSER) < 0 || write(done[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
                        _exit(2);
                struct stat st;
                _cleanup_free_ char *f = at(mnt, "file"), *d = at(mnt, "dir");
                if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0 || unshare(CLONE_NEWNS) < 0 ||
                    mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0 ||
                    move_mount(home, "", AT_FDCWD, mnt, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                        _exit(3);
                if (stat(mnt, &st) < 0 || st.st_uid != 0 || st.st_gid != 0)
                        _exit(4);
                if (write_file_atomic(f, "x", 1, 0644) < 0 || chown(f, 1000, 1000) < 0 || mkdir(d, 0700) < 0)
                        _exit(5);
                _exit(0);
        }
        close(go[0]);
        close(done[1]);
        char c;
        ASSERT_EQ(read(done[0], &c, 1), 1);
        IdMapLine u = { 0, OWNER, 65536 }, g = { 0, GROUP, 65536 };
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(idmap_write(pid, &u, &g, &err), err);
        ASSERT_EQ(write(go[1], &c, 1), 1);
        close(go[1]);
        close(done[0]);
        ASSERT_EQ(wait_for_exit(pid), 0);

        struct stat st;
        ASSERT_OK(fstatat(home, "file", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_EQ(st.st_uid, OWNER + 1000);
        ASSERT_EQ(st.st_gid, GROUP + 1000);
        ASSERT_OK(fstatat(home, "dir", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_EQ(st.st_uid, OWNER);
}

TEST(tmp_starts_empty_home_persists)
{
        _cleanup_free_ char *ws = new_ws("persist");
        create_quota(ws, 32);
        _cleanup_close_ int home = -EBADF, tmp = -EBADF;
        attach(ws, &home, &tmp);
        NsResult w = run_in_ns(ws, home, tmp, write_markers);
        home = safe_close(home);
        tmp = safe_close(tmp);
        ASSERT_TRUE(w.marker_in_home);
        ASSERT_TRUE(w.marker_in_tmp);
        assert_unbound(ws);

        attach(ws, &home, &tmp);
        NsResult r = run_in_ns(ws, home, tmp, read_markers);
        home = safe_close(home);
        tmp = safe_close(tmp);
        ASSERT_TRUE(r.marker_in_home);
        ASSERT_FALSE(r.marker_in_tmp);
        ASSERT_TRUE(r.flags_ok);
        assert_unbound(ws);
}

TEST(attached_image_is_busy)
{
        _cleanup_free_ char *ws = new_ws("busy");
        create_quota(ws, 16);
        _cleanup_close_ int home = -EBADF, tmp = -EBADF;
        attach(ws, &home, &tmp);

        _cleanup_error_ Error err = ERROR_INIT;
        int h2 = -EBADF, t2 = -EBADF;
        ASSERT_EQ(disk_quota_attach(ws, &h2, &t2, NULL, &err), -EBUSY);
        ASSERT_CONTAINS(error_msg(&err), "still in use");
        error_clear(&err);
        ASSERT_EQ(disk_quota_remove(ws, &err), -EBUSY);
        error_clear(&err);
        ASSERT_EQ(disk_quota_resize(ws, 32, &err), -EBUSY);
        ASSERT_TRUE(disk_quota_present(ws));

        /* Only the tmp mount left: it alone keeps the file system. */
        home = safe_close(home);
        ASSERT_TRUE(disk_quota_loop_device(ws) >= 0);
        tmp = safe_close(tmp);
        assert_unbound(ws);
        attach(ws, &home, &tmp);
}

TEST(attach_waits_for_a_stopping_workspace)
{
        _cleanup_free_ char *ws = new_ws("restart");
        create_quota(ws, 16);
        _cleanup_close_ int home = -EBADF, tmp = -EBADF;
        attach(ws, &home, &tmp);
        /* A child holds the mounts for another 300 ms, like the
         * namespace of a workspace that is still being torn down when
         * its next start begins. */
        pid_t pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                usleep(300 * 1000);
                _exit(0);
        }
        home = safe_close(home);
        tmp = safe_close(tmp);
        ASSERT_TRUE(disk_quota_loop_device(ws) >= 0);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        attach(ws, &home, &tmp);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
        printf("# attach waited %.0f ms for the previous user\n", ms);
        ASSERT_TRUE(ms >= 200);
        ASSERT_EQ(wait_for_exit(pid), 0);
}

TEST(resize_grows_and_shrinks)
{
        _cleanup_free_ char *ws = new_ws("resize");
        create_quota(ws, 32);
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(disk_quota_resize(ws, 64, &err), err);
        uint64_t mb = 0;
        ASSERT_OK(disk_quota_size_mb(ws, &mb));
        ASSERT_EQ(mb, 64);

        _cleanup_close_ int home = -EBADF, tmp = -EBADF;
        attach(ws, &home, &tmp);
        struct statvfs sv;
        ASSERT_OK(fstatvfs(home, &sv));
        ASSERT_TRUE((uint64_t) sv.f_blocks * sv.f_frsize > 56 * MIB);
        /* 40 MiB of data, written through the mount fd directly. */
        _cleanup_close_ int f = openat(home, "data", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        ASSERT_TRUE(f >= 0);
        static char chunk[1 << 20];
        memset(chunk, 1, sizeof chunk);
        for (int i = 0; i < 40; i++)
                ASSERT_EQ(write(f, chunk, sizeof chunk), (ssize_t) sizeof chunk);
        ASSERT_OK(fsync(f));
        f = safe_close(f);
        home = safe_close(home);
        tmp = safe_close(tmp);
        assert_unbound(ws);

        ASSERT_EQ(disk_quota_resize(ws, 32, &err), -ENOSPC);
        printf("# shrinking below the data: %s\n", error_msg(&err));
        error_clear(&err);
        ASSERT_OK(disk_quota_size_mb(ws, &mb));
        ASSERT_EQ(mb, 64);

        ASSERT_OK_E(disk_quota_resize(ws, 48, &err), err);
        ASSERT_OK(disk_quota_size_mb(ws, &mb));
        ASSERT_EQ(mb, 48);
        _cleanup_free_ char *img = at(ws, "disk.img");
        struct stat st;
        ASSERT_OK(stat(img, &st));
        ASSERT_EQ(st.st_size, 48 * MIB);

        attach(ws, &home, &tmp);
        ASSERT_OK(fstatat(home, "data", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_EQ(st.st_size, 40 * MIB);
        ASSERT_OK(fstatvfs(home, &sv));
        ASSERT_TRUE((uint64_t) sv.f_blocks * sv.f_frsize <= 48 * MIB);
        home = safe_close(home);
        tmp = safe_close(tmp);
        assert_unbound(ws);
}

TEST(create_copies_an_existing_home)
{
        _cleanup_free_ char *ws = new_ws("migrate");
        _cleanup_free_ char *old = at(ws, "home"), *file = at(ws, "home/notes.txt");
        ASSERT_OK(mkdir(old, 0755));
        ASSERT_OK(chown(old, OWNER, GROUP));
        ASSERT_OK(write_file_atomic(file, "keep me\n", 8, 0640));
        ASSERT_OK(chown(file, OWNER + 1000, GROUP + 1000));
        create_quota(ws, 16);

        _cleanup_close_ int home = -EBADF, tmp = -EBADF;
        attach(ws, &home, &tmp);
        struct stat st;
        ASSERT_OK(fstatat(home, "", &st, AT_EMPTY_PATH));
        ASSERT_EQ(st.st_uid, OWNER);
        ASSERT_OK(fstatat(home, "notes.txt", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_EQ(st.st_uid, OWNER + 1000);
        ASSERT_EQ(st.st_size, 8);
        ASSERT_EQ(st.st_mode & 07777, 0640);
}

TEST(image_holds_the_overlay_layers_and_moves_an_old_upper_in)
{
        /* An image made before the upper layer moved into it has only
         * home/ and tmp/; the next attach brings <ws>/upper in, with
         * owners, modes and overlay whiteouts (character devices 0/0). */
        _cleanup_free_ char *ws = new_ws("layers");
        create_quota(ws, 16);
        _cleanup_close_ int home = -EBADF, tmp = -EBADF, root = -EBADF;
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(disk_quota_attach(ws, &home, &tmp, &root, &err), err);
        struct stat st;
        ASSERT_OK(fstatat(root, "upper", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_EQ(st.st_uid, OWNER);
        ASSERT_OK(fstatat(root, "work", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_EQ(st.st_uid, OWNER);
        /* Make it old: no upper/ or work/ in it. */
        ASSERT_OK(unlinkat(root, "upper", AT_REMOVEDIR));
        ASSERT_OK(unlinkat(root, "work", AT_REMOVEDIR));
        home = safe_close(home);
        tmp = safe_close(tmp);
        root = safe_close(root);
        assert_unbound(ws);

        _cleanup_free_ char *upper = at(ws, "upper"), *etc = at(ws, "upper/etc"), *f = at(ws, "upper/etc/motd"),
                            *wh = at(ws, "upper/etc/gone");
        ASSERT_OK(mkdir(upper, 0755));
        ASSERT_OK(mkdir(etc, 0755));
        ASSERT_OK(write_file_atomic(f, "hello\n", 6, 0644));
        ASSERT_OK(chown(f, OWNER + 5, GROUP + 5));
        ASSERT_OK(mknod(wh, S_IFCHR | 0000, makedev(0, 0)));
        ASSERT_OK_E(disk_quota_attach(ws, &home, &tmp, &root, &err), err);
        ASSERT_OK(fstatat(root, "upper/etc/motd", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_EQ(st.st_uid, OWNER + 5);
        ASSERT_EQ(st.st_size, 6);
        ASSERT_OK(fstatat(root, "upper/etc/gone", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
        ASSERT_OK(fstatat(root, "work", &st, AT_SYMLINK_NOFOLLOW));

        /* A snapshot's view of a running workspace: a second, read-only
         * mount of the same file system while it is attached. */
        _cleanup_close_ int view = -EBADF;
        ASSERT_OK_E(disk_quota_open_root(ws, true, &view, &err), err);
        ASSERT_OK(fstatat(view, "upper/etc/motd", &st, AT_SYMLINK_NOFOLLOW));
        ASSERT_EQ(mkdirat(view, "upper/new", 0755), -1);
        ASSERT_EQ(errno, EROFS);
        view = safe_close(view);
        home = safe_close(home);
        tmp = safe_close(tmp);
        root = safe_close(root);
        assert_unbound(ws);
        /* Stopped: attached for the caller alone, and busy meanwhile. */
        ASSERT_OK_E(disk_quota_open_root(ws, true, &view, &err), err);
        int h2 = -EBADF, t2 = -EBADF;
        ASSERT_EQ(disk_quota_attach(ws, &h2, &t2, NULL, &err), -EBUSY);
        error_clear(&err);
        view = safe_close(view);
        assert_unbound(ws);
}

TEST(home_that_does_not_fit_is_refused)
{
        _cleanup_free_ char *ws = new_ws("toobig");
        _cleanup_free_ char *old = at(ws, "home"), *file = at(ws, "home/big");
        ASSERT_OK(mkdir(old, 0755));
        Fill f = fill(file, 24 * MIB);
        ASSERT_EQ(f.error, 0);
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(disk_quota_create(ws, 16, OWNER, GROUP, &err), -ENOSPC);
        ASSERT_CONTAINS(error_msg(&err), "does not fit");
        ASSERT_FALSE(disk_quota_present(ws));
        _cleanup_free_ char *img_new = at(ws, "disk.img.new");
        ASSERT_TRUE(access(img_new, F_OK) < 0);
}

TEST(freed_space_goes_back_to_the_host)
{
        _cleanup_free_ char *ws = new_ws("discard");
        create_quota(ws, 64);
        _cleanup_free_ char *img = at(ws, "disk.img");
        _cleanup_close_ int home = -EBADF, tmp = -EBADF;
        attach(ws, &home, &tmp);
        _cleanup_close_ int dir = openat(home, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(dir >= 0);
        _cleanup_close_ int f = openat(dir, "data", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        ASSERT_TRUE(f >= 0);
        static char chunk[1 << 20];
        memset(chunk, 2, sizeof chunk);
        for (int i = 0; i < 32; i++)
                ASSERT_EQ(write(f, chunk, sizeof chunk), (ssize_t) sizeof chunk);
        ASSERT_OK(fsync(f));
        f = safe_close(f);
        struct stat full, st;
        ASSERT_OK(stat(img, &full));
        ASSERT_TRUE((uint64_t) full.st_blocks * 512 >= 32 * MIB);
        ASSERT_OK(unlinkat(dir, "data", 0));
        bool shrunk = false;
        for (int i = 0; i < 100 && !shrunk; i++) {
                ASSERT_OK(syncfs(dir));
                ASSERT_OK(stat(img, &st));
                shrunk = (uint64_t) st.st_blocks * 512 < 16 * MIB;
                if (!shrunk)
                        usleep(50 * 1000);
        }
        printf("# image on the host: %llu KiB with the data, %llu KiB after deleting it\n",
               (unsigned long long) full.st_blocks / 2, (unsigned long long) st.st_blocks / 2);
        ASSERT_TRUE(shrunk);
}

TEST(loop_device_uses_direct_io_and_autoclear)
{
        _cleanup_free_ char *ws = new_ws("loopdev");
        _cleanup_free_ char *img = at(ws, "raw.img");
        _cleanup_close_ int fd = open(img, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(ftruncate(fd, 16 * MIB));
        struct stat st;
        ASSERT_OK(fstat(fd, &st));

        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_loopdev_ LoopDevice loop = LOOP_DEVICE_INIT;
        ASSERT_OK_E(loopdev_attach(fd, img, &loop, &err), err);
        ASSERT_EQ(loopdev_find_backing(st.st_dev, st.st_ino), loop.nr);
        char path[128];
        snprintf(path, sizeof path, "/sys/block/loop%d/loop/autoclear", loop.nr);
        _cleanup_free_ char *autoclear = NULL;
        ASSERT_OK(read_full_file(path, 64, &autoclear, NULL));
        ASSERT_STREQ(autoclear, "1\n");
        struct statfs sf;
        ASSERT_OK(fstatfs(fd, &sf));
        printf("# loop%d: direct I/O %s\n", loop.nr, loop.direct_io ? "on" : "off");
        /* ext4 can do direct I/O; other backing file systems may not. */
        if (sf.f_type == EXT4_SUPER_MAGIC)
                ASSERT_TRUE(loop.direct_io);

        loopdev_done(&loop);
        fd = safe_close(fd);
        ASSERT_EQ(loopdev_wait_unbound(st.st_dev, st.st_ino, 5000, NULL), 0);
}

/* Several processes binding at once all get a device of their own:
 * losers of the LOOP_CTL_GET_FREE race retry. */
TEST(concurrent_attaches_get_distinct_devices)
{
        _cleanup_free_ char *ws = new_ws("race");
        enum { N = 6 };
        int p[2];
        ASSERT_OK(pipe2(p, O_CLOEXEC));
        pid_t pids[N];
        for (int i = 0; i < N; i++) {
                char name[32];
                snprintf(name, sizeof name, "r%d.img", i);
                _cleanup_free_ char *img = at(ws, name);
                _cleanup_close_ int fd = open(img, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
                ASSERT_TRUE(fd >= 0);
                ASSERT_OK(ftruncate(fd, 4 * MIB));
                pids[i] = fork();
                ASSERT_TRUE(pids[i] >= 0);
                if (pids[i] == 0) {
                        LoopDevice loop = LOOP_DEVICE_INIT;
                        int nr = loopdev_attach(fd, img, &loop, NULL) < 0 ? -1 : loop.nr;
                        if (write(p[1], &nr, sizeof nr) != sizeof nr)
                                _exit(1);
                        usleep(300 * 1000); /* hold it while the others bind */
                        _exit(0);
                }
        }
        close(p[1]);
        int nrs[N];
        for (int i = 0; i < N; i++)
                ASSERT_EQ(read(p[0], &nrs[i], sizeof nrs[i]), (ssize_t) sizeof nrs[i]);
        close(p[0]);
        for (int i = 0; i < N; i++)
                ASSERT_EQ(wait_for_exit(pids[i]), 0);
        for (int i = 0; i < N; i++) {
                ASSERT_TRUE(nrs[i] >= 0);
                for (int j = 0; j < i; j++)
                        ASSERT_NE(nrs[i], nrs[j]);
        }
        for (int i = 0; i < N; i++) {
                char name[32];
                snprintf(name, sizeof name, "r%d.img", i);
                _cleanup_free_ char *img = at(ws, name);
                struct stat st;
                ASSERT_OK(stat(img, &st));
                ASSERT_EQ(loopdev_wait_unbound(st.st_dev, st.st_ino, 5000, NULL), 0);
        }
}

/* The path for kernels that refuse open_tree() on a detached mount. */
TEST(split_through_the_helper)
{
        _cleanup_free_ char *ws = new_ws("helper");
        create_quota(ws, 16);
        _cleanup_free_ char *img = at(ws, "disk.img");
        _cleanup_close_ int fd = open(img, O_RDWR | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_loopdev_ LoopDevice loop = LOOP_DEVICE_INIT;
        ASSERT_OK_E(loopdev_attach(fd, img, &loop, &err), err);
        fd = safe_close(fd);
        char dev[LOOPDEV_PATH_MAX];
        loopdev_path(loop.nr, dev);
        _cleanup_close_ int fsfd = fsopen("ext4", FSOPEN_CLOEXEC);
        ASSERT_TRUE(fsfd >= 0);
        ASSERT_OK(fsconfig(fsfd, FSCONFIG_SET_STRING, "source", dev, 0));
        ASSERT_OK(fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
        _cleanup_close_ int mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
        ASSERT_TRUE(mfd >= 0);
        /* The context holds the superblock too. */
        fsfd = safe_close(fsfd);
        loopdev_done(&loop);

        struct stat want_home, want_tmp, got_home, got_tmp;
        ASSERT_OK(fstatat(mfd, "home", &want_home, 0));
        ASSERT_OK(fstatat(mfd, "tmp", &want_tmp, 0));
        _cleanup_close_ int home = -EBADF, tmp = -EBADF, root = -EBADF;
        ASSERT_OK_E(disk_quota_split_mount(mfd, ws, true, &home, &tmp, &root, &err), err);
        mfd = safe_close(mfd);
        /* The helper attached mfd: a detached clone of the root takes its
         * place, and can be attached again (as the overlay's helper does). */
        ASSERT_TRUE(root >= 0);
        struct stat got_root, want_root;
        ASSERT_OK(fstatat(root, "", &got_root, AT_EMPTY_PATH));
        ASSERT_OK(fstatat(root, "home", &want_root, 0));
        ASSERT_EQ(want_root.st_ino, want_home.st_ino);
        root = safe_close(root);
        ASSERT_OK(fstatat(home, "", &got_home, AT_EMPTY_PATH));
        ASSERT_OK(fstatat(tmp, "", &got_tmp, AT_EMPTY_PATH));
        ASSERT_EQ(got_home.st_ino, want_home.st_ino);
        ASSERT_EQ(got_tmp.st_ino, want_tmp.st_ino);
        ASSERT_EQ(got_home.st_dev, want_home.st_dev);

        NsResult w = run_in_ns(ws, home, tmp, write_markers);
        ASSERT_TRUE(w.marker_in_home);
        home = safe_close(home);
        tmp = safe_close(tmp);
        assert_unbound(ws);
}

/* A file system ext4 flagged as damaged is preened before it mounts. */
TEST(attach_repairs_a_flagged_file_system)
{
        _cleanup_free_ char *ws = new_ws("errors");
        create_quota(ws, 16);
        _cleanup_free_ char *img = at(ws, "disk.img"), *cmd = NULL;
        /* debugfs keeps the superblock checksum right. */
        ASSERT_TRUE(asprintf(&cmd, "debugfs -w -R 'ssv state 3' %s >/dev/null 2>&1", img) > 0);
        ASSERT_EQ(system(cmd), 0);
        uint8_t sb[2];
        _cleanup_close_ int fd = open(img, O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(pread(fd, sb, 2, 1024 + 0x3A), 2);
        ASSERT_EQ(sb[0] & 2, 2);

        _cleanup_close_ int home = -EBADF, tmp = -EBADF;
        attach(ws, &home, &tmp);
        home = safe_close(home);
        tmp = safe_close(tmp);
        assert_unbound(ws);
        ASSERT_EQ(pread(fd, sb, 2, 1024 + 0x3A), 2);
        ASSERT_EQ(sb[0] & 2, 0);
}

TEST(remove_deletes_the_image)
{
        _cleanup_free_ char *ws = new_ws("remove");
        create_quota(ws, 16);
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(disk_quota_remove(ws, &err), err);
        ASSERT_FALSE(disk_quota_present(ws));
        _cleanup_free_ char *img = at(ws, "disk.img");
        ASSERT_TRUE(access(img, F_OK) < 0);
        ASSERT_OK_E(disk_quota_remove(ws, &err), err);
        int home = -EBADF, tmp = -EBADF;
        ASSERT_EQ(disk_quota_attach(ws, &home, &tmp, NULL, &err), -ENOENT);
        ASSERT_CONTAINS(error_msg(&err), "no disk image");
}

TEST(nothing_left_behind)
{
        make_world();
        _cleanup_free_ char *mi = NULL;
        ASSERT_OK(read_full_file("/proc/self/mountinfo", 1 << 22, &mi, NULL));
        ASSERT_NULL(strstr(mi, scratch));
        _cleanup_closedir_ DIR *d = opendir("/sys/block");
        ASSERT_NOT_NULL(d);
        struct dirent *de;
        while ((de = readdir(d))) {
                char path[PATH_MAX];
                snprintf(path, sizeof path, "/sys/block/%s/loop/backing_file", de->d_name);
                _cleanup_free_ char *backing = NULL;
                if (read_full_file(path, PATH_MAX, &backing, NULL) < 0)
                        continue;
                if (strstr(backing, scratch))
                        TEST_FAIL("%s still backs %s", backing, de->d_name);
        }
}
