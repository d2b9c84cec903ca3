/* The tree copy on several threads (src/storage/copy.c): a wide and
 * deep tree with everything a rootfs or a workspace layer holds is
 * copied exactly, whatever thread meets which entry: type, mode, owner,
 * size, content, nanosecond times (directories included), xattrs,
 * device numbers, symlink targets and the hard-link structure, with
 * link groups spread over many directories and over the chunks of a
 * large directory. The statistics are exact and the same on one thread
 * and on many. A failure midway (no space, a tree too deep, a
 * cancellation from the callback or from another thread) leaves no
 * destination, reports one clear error, and leaks no fd. Needs root
 * (owners, trusted.* xattrs, device nodes, mounts). */
#include "test.h"
#include "itest-common.h"
#include "tree-compare.h"

#include "storage/copy.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>

static char *scratch, *src;
static int sock_fd = -EBADF;

/* VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE, permitted = CAP_NET_RAW. */
static const uint32_t capability[5] = { 0x02000001, 1u << 13, 0, 0, 0 };

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng;
}

/* ---- building the source tree ---- */

static void write_file(const char *path, size_t size, mode_t mode, uid_t uid, gid_t gid)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                TEST_FAIL("creating %s: %m", path);
        char buf[8192];
        while (size > 0) {
                size_t n = size < sizeof buf ? size : sizeof buf;
                for (size_t i = 0; i < n; i += 8) {
                        uint64_t x = rnd();
                        memcpy(buf + i, &x, n - i < 8 ? n - i : 8);
                }
                ASSERT_EQ(write(fd, buf, n), (ssize_t) n);
                size -= n;
        }
        ASSERT_OK(fchown(fd, uid, gid));
        ASSERT_OK(fchmod(fd, mode));
}

static void make_dir(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
        if (mkdir(path, 0700) < 0)
                TEST_FAIL("creating %s: %m", path);
        ASSERT_OK(chown(path, uid, gid));
        ASSERT_OK(chmod(path, mode));
}

static const mode_t file_modes[] = { 0644, 0600, 0755, 04755, 02755, 0444, 0640, 0700 };

/* 12 x 5 x 4 directories with files at every level: 313 directories,
 * 2196 files. */
static void make_wide(const char *root)
{
        char p[4096];
        for (int t = 0; t < 12; t++) {
                snprintf(p, sizeof p, "%s/t%02d", root, t);
                make_dir(p, t % 3 == 0 ? 01777 : t % 3 == 1 ? 02755 : 0750, 1000 + t, 2000 + t);
                for (int h = 0; h < 3; h++) {
                        snprintf(p, sizeof p, "%s/t%02d/h%d", root, t, h);
                        write_file(p, rnd() % 3000, file_modes[rnd() % 8], 100000 + t, 100000 + h);
                }
                for (int s = 0; s < 5; s++) {
                        snprintf(p, sizeof p, "%s/t%02d/s%d", root, t, s);
                        make_dir(p, 0755, 3000000000u + (unsigned) s, 3000000000u + (unsigned) t);
                        for (int g = 0; g < 4; g++) {
                                snprintf(p, sizeof p, "%s/t%02d/s%d/g%d", root, t, s, g);
                                write_file(p, rnd() % 6000, file_modes[rnd() % 8], 0, 0);
                        }
                        for (int u = 0; u < 4; u++) {
                                snprintf(p, sizeof p, "%s/t%02d/s%d/u%d", root, t, s, u);
                                make_dir(p, u == 3 ? 0555 : 0711, 0, 0);
                                for (int f = 0; f < 8; f++) {
                                        snprintf(p, sizeof p, "%s/t%02d/s%d/u%d/f%d", root, t, s, u, f);
                                        write_file(p, rnd() % 5000, file_modes[rnd() % 8], 3000001000u, 3000001000u);
                                        if (f == 0)
                                                ASSERT_OK(setxattr(p, "user.enclave.n", p, strlen(p), 0));
                                        if (f == 1 && u == 0)
                                                ASSERT_OK(setxattr(p, "security.capability", capability,
                                                                   sizeof capability, 0));
                                }
                        }
                }
        }
}

/* A directory larger than a chunk, and one with large files: both are
 * shared out among threads in pieces. */
static void make_large_dirs(const char *root)
{
        char p[4096];
        snprintf(p, sizeof p, "%s/flat", root);
        make_dir(p, 0755, 0, 0);
        for (int i = 0; i < 700; i++) {
                snprintf(p, sizeof p, "%s/flat/n%04d", root, i);
                write_file(p, rnd() % 2000, 0644, (uid_t) i, (gid_t) i);
        }
        snprintf(p, sizeof p, "%s/big", root);
        make_dir(p, 0755, 0, 0);
        for (int i = 0; i < 4; i++) {
                snprintf(p, sizeof p, "%s/big/blob%d", root, i);
                write_file(p, (size_t) (9 << 20) + (size_t) i * 4099, 0644, 0, 0);
        }
        snprintf(p, sizeof p, "%s/big/sparse", root);
        _cleanup_close_ int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(pwrite(fd, "start", 5, 0), 5);
        ASSERT_EQ(pwrite(fd, "middle", 6, 12 << 20), 6);
        ASSERT_OK(ftruncate(fd, 30 << 20));
}

/* 120 inodes with 2 to 5 names each in different top-level
 * directories and in the large directory, so different threads and
 * different chunks meet the names of one inode. */
static void make_links(const char *root)
{
        char first[4096], p[4096];
        for (int k = 0; k < 120; k++) {
                snprintf(first, sizeof first, "%s/t%02d/s%d/u%d/L%03d", root, k % 12, k % 5, k % 3, k);
                write_file(first, k % 4 == 0 ? 0 : rnd() % 7000, 0640, 4242, 4343);
                if (k % 10 == 0)
                        ASSERT_OK(setxattr(first, "user.link", "group", 5, 0));
                int names = 2 + k % 4;
                for (int j = 1; j < names; j++) {
                        if (j == 3)
                                snprintf(p, sizeof p, "%s/flat/L%03d_%d", root, k, j);
                        else
                                snprintf(p, sizeof p, "%s/t%02d/s%d/L%03d_%d", root, (k + j * 5) % 12, (k + j) % 5, k, j);
                        if (link(first, p) < 0)
                                TEST_FAIL("linking %s: %m", p);
                }
        }
}

static void make_specials(const char *root)
{
        char p[4096];
        snprintf(p, sizeof p, "%s/special", root);
        make_dir(p, 0755, 0, 0);
        snprintf(p, sizeof p, "%s/special/fifo", root);
        ASSERT_OK(mkfifo(p, 0620));
        ASSERT_OK(chown(p, 7, 8));
        snprintf(p, sizeof p, "%s/special/null", root);
        ASSERT_OK(mknod(p, S_IFCHR | 0666, makedev(1, 3)));
        snprintf(p, sizeof p, "%s/special/loop", root);
        ASSERT_OK(mknod(p, S_IFBLK | 0600, makedev(7, 200)));
        snprintf(p, sizeof p, "%s/special/whiteout", root);
        ASSERT_OK(mknod(p, S_IFCHR | 0000, makedev(0, 0)));
        snprintf(p, sizeof p, "%s/special/abs", root);
        ASSERT_OK(symlink("/etc/passwd", p));
        ASSERT_OK(lchown(p, 33, 44));
        ASSERT_OK(lsetxattr(p, "trusted.enclave", "sym", 3, 0));
        snprintf(p, sizeof p, "%s/special/rel", root);
        ASSERT_OK(symlink("../t00/s0", p));
        snprintf(p, sizeof p, "%s/special/dangling", root);
        ASSERT_OK(symlink("nowhere", p));
        snprintf(p, sizeof p, "%s/special/opaque", root);
        make_dir(p, 0755, 0, 0);
        ASSERT_OK(setxattr(p, "trusted.overlay.opaque", "y", 1, 0));

        /* A socket is skipped. */
        snprintf(p, sizeof p, "%s/t05/s2/sock", root);
        sock_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        ASSERT_TRUE(sock_fd >= 0 && strlen(p) < sizeof sa.sun_path);
        strcpy(sa.sun_path, p);
        ASSERT_OK(bind(sock_fd, (struct sockaddr *) &sa, sizeof sa));
}

/* A chain of depth directories below root/name, a file in each. */
static void make_chain(const char *root, const char *name, int depth)
{
        _cleanup_free_ char *p = at(root, name);
        StrBuf b = STRBUF_INIT;
        strbuf_puts(&b, p);
        for (int i = 0; i < depth; i++) {
                ASSERT_OK(mkdir(b.data, 0755));
                size_t len = b.len;
                strbuf_puts(&b, "/file");
                write_file(b.data, (size_t) i, 0644, 0, 0);
                b.len = len;
                b.data[len] = 0;
                strbuf_puts(&b, "/d");
        }
        strbuf_done(&b);
}

/* Distinct nanosecond times on every entry, children before their
 * directory (creating a child changes its directory's times). */
static void set_times(int dfd, const char *name, uint64_t *counter)
{
        struct stat st;
        ASSERT_OK(fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW));
        if (S_ISDIR(st.st_mode)) {
                int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                ASSERT_TRUE(fd >= 0);
                _cleanup_closedir_ DIR *d = fdopendir(fd);
                ASSERT_NOT_NULL(d);
                struct dirent *de;
                while ((de = readdir(d)))
                        if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                                set_times(dirfd(d), de->d_name, counter);
        }
        uint64_t i = ++*counter;
        const struct timespec ts[2] = {
                { (time_t) (1000000000 + i), (long) ((i * 7919) % 1000000000) },
                { (time_t) (1100000000 + i), (long) ((i * 104729 + 1) % 1000000000) },
        };
        ASSERT_OK(utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW));
}

static void make_world(void)
{
        if (src)
                return;
        if (geteuid() != 0)
                SKIP("needs root");
        char tmpl[] = "/tmp/enctest-copypar-XXXXXX";
        ASSERT_NOT_NULL(mkdtemp(tmpl));
        scratch = strdup(tmpl);
        ASSERT_NOT_NULL(scratch);
        _cleanup_free_ char *s = at(scratch, "src");
        make_dir(s, 0751, 12, 34);
        make_wide(s);
        make_large_dirs(s);
        make_links(s);
        make_specials(s);
        make_chain(s, "deep", 60);
        _cleanup_close_ int pfd = open(scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        uint64_t counter = 0;
        set_times(pfd, "src", &counter);
        src = TAKE_PTR(s);
}

__attribute__((destructor)) static void cleanup_world(void)
{
        safe_close(sock_fd);
        if (scratch)
                (void) rm_rf(scratch);
}

/* Compares the trees and the statistics the copy reported. */
static void assert_exact_copy(const char *a, const char *b, const CopyStats *got)
{
        CopyStats want;
        assert_same_tree(a, b, true, &want);
        if (!got)
                return;
        ASSERT_EQ(got->entries, want.entries);
        ASSERT_EQ(got->files, want.files);
        ASSERT_EQ(got->dirs, want.dirs);
        ASSERT_EQ(got->symlinks, want.symlinks);
        ASSERT_EQ(got->specials, want.specials);
        ASSERT_EQ(got->hardlinks, want.hardlinks);
        ASSERT_EQ(got->skipped, want.skipped);
        /* A reflink clones whole files, holes included. */
        if (got->reflinked == 0)
                ASSERT_EQ(got->bytes, want.bytes);
}

/* Entries of a /proc/self directory (fds, tasks). */
static size_t count_proc_entries(const char *dir)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        size_t n = 0;
        struct dirent *de;
        while (d && (de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        return n;
}

/* Copy src to scratch/name with the given threads (0: automatic). */
static int copy_with(const char *name, unsigned threads, const StorageMonitor *mon, CopyStats *stats, Error *err)
{
        _cleanup_close_ int sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int pfd = open(scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sfd < 0 || pfd < 0)
                return -errno;
        CopyOptions o = { .threads = threads };
        return tree_copy_fd_opts(sfd, pfd, name, &o, mon, stats, err);
}

static bool exists_in_scratch(const char *name)
{
        _cleanup_free_ char *p = at(scratch, name);
        return access(p, F_OK) == 0;
}

static void remove_from_scratch(const char *name)
{
        _cleanup_free_ char *p = at(scratch, name);
        ASSERT_OK(rm_rf(p));
}

/* ---- exact copies ---- */

static CopyStats one_thread_stats;

TEST(one_thread_copies_exactly)
{
        make_world();
        size_t fds = count_proc_entries("/proc/self/fd");
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(copy_with("one", 1, NULL, &one_thread_stats, &err), err);
        _cleanup_free_ char *dst = at(scratch, "one");
        assert_exact_copy(src, dst, &one_thread_stats);
        ASSERT_TRUE(one_thread_stats.dirs > 300);
        ASSERT_TRUE(one_thread_stats.files > 2000);
        ASSERT_EQ(count_proc_entries("/proc/self/fd"), fds);
        remove_from_scratch("one");
}

typedef struct Watch {
        pthread_t caller;
        bool other_thread; /* a callback ran on another thread */
        size_t events, max_threads;
        uint64_t done, total, bytes, bytes_total;
} Watch;

static int watch(const StorageProgress *p, void *userdata)
{
        Watch *w = userdata;
        if (!pthread_equal(pthread_self(), w->caller))
                w->other_thread = true;
        w->events++;
        size_t t = count_proc_entries("/proc/self/task");
        if (t > w->max_threads)
                w->max_threads = t;
        w->done = p->done;
        w->total = p->total;
        w->bytes = p->bytes;
        w->bytes_total = p->bytes_total;
        return 0;
}

TEST(four_threads_copy_exactly_and_report_on_the_calling_thread)
{
        make_world();
        size_t fds = count_proc_entries("/proc/self/fd"), threads = count_proc_entries("/proc/self/task"), threads_after_first = 0;
        /* Several rounds: the threads meet the link groups in other orders. */
        for (int round = 0; round < 4; round++) {
                Watch w = { .caller = pthread_self() };
                StorageMonitor mon = { .progress = watch, .userdata = &w, .interval_ms = 1 };
                CopyStats stats;
                _cleanup_error_ Error err = ERROR_INIT;
                ASSERT_OK_E(copy_with("four", 4, &mon, &stats, &err), err);
                _cleanup_free_ char *dst = at(scratch, "four");
                assert_exact_copy(src, dst, &stats);
                ASSERT_EQ(memcmp(&stats, &one_thread_stats, sizeof stats), 0);
                ASSERT_FALSE(w.other_thread);
                ASSERT_TRUE(w.events > 1);
                ASSERT_TRUE(w.max_threads > threads); /* helpers were at work */
                ASSERT_EQ(w.done, w.total);
                ASSERT_EQ(w.done, stats.entries);
                ASSERT_EQ(w.bytes, stats.bytes);
                remove_from_scratch("four");
                /* The helpers are gone once the copy returns (a sanitizer
                 * may keep a thread of its own from the first round on). */
                if (round == 0)
                        threads_after_first = count_proc_entries("/proc/self/task");
                ASSERT_EQ(count_proc_entries("/proc/self/task"), threads_after_first);
                ASSERT_TRUE(threads_after_first <= threads + 1);
        }
        ASSERT_EQ(count_proc_entries("/proc/self/fd"), fds);
}

TEST(automatic_thread_count_copies_exactly)
{
        make_world();
        CopyStats stats;
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_free_ char *dst = at(scratch, "auto");
        ASSERT_OK_E(tree_copy(src, dst, NULL, &stats, &err), err);
        assert_exact_copy(src, dst, &stats);
        ASSERT_EQ(memcmp(&stats, &one_thread_stats, sizeof stats), 0);
        remove_from_scratch("auto");
}

TEST(hard_links_across_directories_share_one_copy)
{
        make_world();
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(copy_with("links", 8, NULL, NULL, &err), err);
        /* Every name of an inode, wherever it is, reaches one inode with
         * the same number of names (the tree comparison checks the
         * bijection; this one checks a group by name). */
        const char *names[] = { "links/t07/s2/u1/L007", "links/t00/s3/L007_1", "links/t05/s4/L007_2",
                                "links/flat/L007_3", "links/t03/s1/L007_4" };
        struct stat first;
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *p = at(scratch, names[i]);
                struct stat st;
                ASSERT_OK(lstat(p, &st));
                if (i == 0)
                        first = st;
                ASSERT_EQ(st.st_ino, first.st_ino);
                ASSERT_EQ(st.st_nlink, ELEMENTSOF(names));
                ASSERT_EQ(st.st_uid, 4242);
        }
        remove_from_scratch("links");
}

TEST(mount_point_becomes_an_empty_directory)
{
        make_world();
        _cleanup_free_ char *mnt = at(src, "t03/s1/mnt"), *inside = at(mnt, "inside");
        ASSERT_OK(mkdir(mnt, 0755));
        ASSERT_OK(mount("tmpfs", mnt, "tmpfs", 0, "size=1m,mode=0710"));
        ASSERT_OK(write_file_atomic(inside, "x", 1, 0644));
        _cleanup_error_ Error err = ERROR_INIT;
        CopyStats stats;
        int r = copy_with("mnt", 4, NULL, &stats, &err);
        (void) umount2(mnt, MNT_DETACH);
        (void) rmdir(mnt);
        ASSERT_OK_E(r, err);
        _cleanup_free_ char *copied = at(scratch, "mnt/t03/s1/mnt"), *not_copied = at(copied, "inside");
        struct stat st;
        ASSERT_OK(stat(copied, &st));
        ASSERT_TRUE(S_ISDIR(st.st_mode));
        ASSERT_EQ(st.st_mode & 07777, 0710); /* the mount's root, as `cp -ax` */
        ASSERT_TRUE(access(not_copied, F_OK) < 0);
        ASSERT_EQ(stats.entries, one_thread_stats.entries + 1);
        remove_from_scratch("mnt");
}

/* Below a path longer than PATH_MAX, jobs cannot reopen directories by
 * path: the thread that gets there copies that subtree itself. */
TEST(paths_longer_than_path_max_are_copied)
{
        make_world();
        char name[201];
        memset(name, 'x', 200);
        name[200] = 0;
        _cleanup_free_ char *top = at(src, "long");
        ASSERT_OK(mkdir(top, 0755));
        _cleanup_close_ int fd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        for (int i = 0; i < 30; i++) { /* 30 x 201 bytes: over 6000 */
                name[0] = (char) ('a' + i % 26);
                ASSERT_OK(mkdirat(fd, name, 0750));
                for (int f = 0; f < 3; f++) {
                        char file[16];
                        snprintf(file, sizeof file, "f%d", f);
                        _cleanup_close_ int ffd = openat(fd, file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
                        ASSERT_TRUE(ffd >= 0);
                        ASSERT_EQ(write(ffd, name, (size_t) (i + f)), i + f);
                }
                int next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                ASSERT_TRUE(next >= 0);
                safe_close(fd);
                fd = next;
        }
        fd = safe_close(fd);
        CopyStats stats;
        _cleanup_error_ Error err = ERROR_INIT;
        int r = copy_with("long-copy", 4, NULL, &stats, &err);
        if (r >= 0) {
                _cleanup_free_ char *dst = at(scratch, "long-copy");
                assert_exact_copy(src, dst, &stats);
                ASSERT_EQ(stats.dirs, one_thread_stats.dirs + 31);
                remove_from_scratch("long-copy");
        }
        ASSERT_OK(rm_rf(top));
        ASSERT_OK_E(r, err);
}

/* No fd is held per queued directory: a low fd limit is enough for
 * hundreds of directories on many threads. */
TEST(few_fds_are_enough)
{
        make_world();
        struct rlimit old;
        ASSERT_OK(getrlimit(RLIMIT_NOFILE, &old));
        struct rlimit low = { .rlim_cur = count_proc_entries("/proc/self/fd") + 48, .rlim_max = old.rlim_max };
        ASSERT_OK(setrlimit(RLIMIT_NOFILE, &low));
        CopyStats stats;
        _cleanup_error_ Error err = ERROR_INIT;
        int r = copy_with("few-fds", 4, NULL, &stats, &err);
        ASSERT_OK(setrlimit(RLIMIT_NOFILE, &old));
        ASSERT_OK_E(r, err);
        _cleanup_free_ char *dst = at(scratch, "few-fds");
        assert_exact_copy(src, dst, &stats);
        remove_from_scratch("few-fds");
}

/* ---- failures ---- */

/* tmpfs takes user.* xattrs only on newer kernels (6.6); dirfd is one. */
static bool takes_user_xattrs(int dirfd)
{
        _cleanup_close_ int fd = openat(dirfd, "xattr-probe", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                return false;
        bool ok = fsetxattr(fd, "user.enclave.probe", "1", 1, 0) == 0;
        (void) unlinkat(dirfd, "xattr-probe", 0);
        return ok;
}

/* 16 MiB in plain files, no xattrs: more than the 8 MiB tmpfs holds. */
static char *make_plain_tree(void)
{
        char *root = at(scratch, "plain-src");
        if (access(root, F_OK) == 0)
                return root;
        make_dir(root, 0755, 0, 0);
        static char block[1 << 20];
        memset(block, 0x5a, sizeof block);
        for (int d = 0; d < 4; d++) {
                char dir[32];
                snprintf(dir, sizeof dir, "d%d", d);
                _cleanup_free_ char *dp = at(root, dir);
                make_dir(dp, 0755, 0, 0);
                for (int f = 0; f < 4; f++) {
                        char name[32];
                        snprintf(name, sizeof name, "f%d", f);
                        _cleanup_free_ char *fp = at(dp, name);
                        ASSERT_OK(write_file_atomic(fp, block, sizeof block, 0644));
                }
        }
        return root;
}

TEST(no_space_midway_leaves_nothing)
{
        make_world();
        _cleanup_free_ char *small = at(scratch, "small");
        ASSERT_OK(mkdir(small, 0755));
        ASSERT_OK(mount("tmpfs", small, "tmpfs", 0, "size=8m"));
        _cleanup_close_ int mfd = open(small, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        /* Where the tmpfs refuses the world's user.* xattrs, the copy would
         * stop at the first one (EOPNOTSUPP) before the space runs out. */
        _cleanup_free_ char *plain = NULL;
        if (!takes_user_xattrs(mfd)) {
                printf("# this tmpfs takes no user.* xattrs: copying a tree without them\n");
                plain = make_plain_tree();
        }
        _cleanup_close_ int sfd = open(plain ? plain : src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        size_t fds = count_proc_entries("/proc/self/fd");
        _cleanup_error_ Error err = ERROR_INIT;
        CopyOptions o = { .threads = 4 };
        int r = tree_copy_fd_opts(sfd, mfd, "copy", &o, NULL, NULL, &err);
        size_t left = count_entries(mfd, false);
        struct statfs sf;
        int sr = fstatfs(mfd, &sf);
        size_t fds_after = count_proc_entries("/proc/self/fd");
        mfd = safe_close(mfd);
        (void) umount2(small, MNT_DETACH);
        (void) rmdir(small);
        ASSERT_EQ(r, -ENOSPC);
        ASSERT_EQ(err.code, ENOSPC);
        ASSERT_CONTAINS(error_msg(&err), "No space left on device");
        ASSERT_EQ(left, 0);
        ASSERT_OK(sr);
        ASSERT_EQ(sf.f_bfree, sf.f_blocks); /* every block given back */
        ASSERT_EQ(fds_after, fds);
}

TEST(too_deep_midway_names_the_directory_and_leaves_nothing)
{
        make_world();
        /* 257 levels below "toodeep": level 256 may not be listed. */
        make_chain(src, "toodeep", 258);
        _cleanup_error_ Error err = ERROR_INIT;
        int r = copy_with("deep-copy", 4, NULL, NULL, &err);
        _cleanup_free_ char *chain = at(src, "toodeep");
        ASSERT_OK(rm_rf(chain));
        ASSERT_EQ(r, -ELOOP);
        ASSERT_CONTAINS(error_msg(&err), "directory tree too deep at toodeep/d/d/d/");
        ASSERT_FALSE(exists_in_scratch("deep-copy"));
}

typedef struct Canceller {
        size_t events, cancel_at;
} Canceller;

static int cancel_later(const StorageProgress *p, void *userdata)
{
        Canceller *c = userdata;
        return ++c->events >= c->cancel_at ? -1 : 0;
}

TEST(cancel_from_the_callback_leaves_nothing)
{
        make_world();
        size_t fds = count_proc_entries("/proc/self/fd");
        Canceller c = { .cancel_at = 5 };
        StorageMonitor mon = { .progress = cancel_later, .userdata = &c, .interval_ms = 1 };
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(copy_with("cancelled", 4, &mon, NULL, &err), -ECANCELED);
        ASSERT_CONTAINS(error_msg(&err), "copy cancelled");
        ASSERT_FALSE(exists_in_scratch("cancelled"));
        ASSERT_EQ(count_proc_entries("/proc/self/fd"), fds);
}

static void *cancel_soon(void *arg)
{
        usleep(20 * 1000);
        atomic_store((atomic_bool *) arg, true);
        return NULL;
}

TEST(cancel_from_another_thread_leaves_nothing)
{
        make_world();
        atomic_bool cancel = false;
        StorageMonitor mon = { .cancel = &cancel };
        pthread_t t;
        ASSERT_EQ(pthread_create(&t, NULL, cancel_soon, &cancel), 0);
        _cleanup_error_ Error err = ERROR_INIT;
        int r = copy_with("cancelled2", 4, &mon, NULL, &err);
        pthread_join(t, NULL);
        ASSERT_EQ(r, -ECANCELED);
        ASSERT_CONTAINS(error_msg(&err), "copy cancelled");
        ASSERT_FALSE(exists_in_scratch("cancelled2"));
}

TEST(destination_that_exists_is_left_alone)
{
        make_world();
        _cleanup_free_ char *dst = at(scratch, "exists"), *keep = at(dst, "keep");
        ASSERT_OK(mkdir(dst, 0755));
        ASSERT_OK(write_file_atomic(keep, "k", 1, 0644));
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(copy_with("exists", 4, NULL, NULL, &err), -EEXIST);
        ASSERT_TRUE(access(keep, F_OK) == 0);
        remove_from_scratch("exists");
}

TEST(nothing_left_mounted)
{
        make_world();
        _cleanup_free_ char *mountinfo = NULL;
        ASSERT_OK(read_full_file("/proc/self/mountinfo", 1 << 22, &mountinfo, NULL));
        ASSERT_NULL(strstr(mountinfo, scratch));
}
