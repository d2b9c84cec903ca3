/* Workspace snapshots against the real kernel: create / modify /
 * restore gives back exactly the captured tree (whiteouts, opaque
 * directories, hard links, symlinks, high host ids, xattrs), export /
 * import round trips in every format and across id ranges, refused
 * names and archives, gc, failing restores that leave the state alone
 * (a full file system, a broken snapshot), crash recovery, freezing
 * with a real cgroup, and a real overlay mounted over a busybox lower
 * layer whose merged view follows the restore.
 *
 * Needs root. The program moves into its own mount namespace first,
 * so every mount it makes disappears with it; its files live in
 * /tmp/enctest-snap-<pid> and its cgroups below enctest-snap-<pid>. */
#include "test.h"
#include "itest-common.h"

#include "base/fs.h"
#include "base/process.h"
#include "base/str.h"
#include "runtime/cgroup.h"
#include "storage/archive.h"
#include "storage/copy.h"
#include "storage/snapshot.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#define B1 3000000000u /* the workspace's host id range */
#define B2 3000065536u /* another workspace's */

static char *scratch;

/* Mount points the tests use: a failed ASSERT skips their own umount. */
static const char *const mount_points[] = { "small", "ov-merged" };

__attribute__((destructor)) static void remove_scratch(void)
{
        if (!scratch)
                return;
        for (size_t i = 0; i < ELEMENTSOF(mount_points); i++) {
                char *p = path_join(scratch, mount_points[i]);
                if (p)
                        (void) umount2(p, MNT_DETACH);
                free(p);
        }
        (void) rm_rf(scratch);
}

static void setup(void)
{
        if (scratch)
                return;
        if (geteuid() != 0)
                SKIP("needs root");
        /* Our own mount namespace: nothing we mount is seen outside or
         * outlives the test. */
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                TEST_FAIL("private mount namespace: %m");
        if (asprintf(&scratch, "/tmp/enctest-snap-%d", (int) getpid()) < 0)
                abort();
        ASSERT_OK(mkdir_p(scratch, 0700));
}

/* ---- fixture ---- */

static void put(const char *dir, const char *rel, const char *data, mode_t mode, uid_t uid, gid_t gid)
{
        _cleanup_free_ char *p = at(dir, rel);
        ASSERT_OK(write_file_atomic(p, data, strlen(data), mode));
        ASSERT_OK(chown(p, uid, gid));
        ASSERT_OK(chmod(p, mode));
}

static void dir(const char *base, const char *rel, mode_t mode, uid_t uid, gid_t gid)
{
        _cleanup_free_ char *p = at(base, rel);
        ASSERT_OK(mkdir(p, mode));
        ASSERT_OK(chown(p, uid, gid));
        ASSERT_OK(chmod(p, mode));
}

static void whiteout(const char *base, const char *rel, uid_t uid, gid_t gid)
{
        _cleanup_free_ char *p = at(base, rel);
        ASSERT_OK(mknod(p, S_IFCHR | 0000, makedev(0, 0)));
        ASSERT_OK(lchown(p, uid, gid));
}

/* What `setcap cap_net_bind_service+ep` inside the workspace whose
 * root is host id b stores: VFS_CAP_REVISION_3 | effective, permitted =
 * CAP_NET_BIND_SERVICE, root id b. An import moves the root id with the
 * owners (and makes a revision 2 one, which acts for host root, the
 * importing workspace's: test-boundary-snapshot-xattrs.sh). */
#define CAPABILITY(b) { 0x03000001, 1u << 10, 0, 0, 0, (b) }
static const uint32_t capability[6] = CAPABILITY(0);

/* <ws>/{upper,work,home,snapshots} like layout_workspace_create, with
 * an upper layer that holds everything an overlay upper can. */
static char *make_ws(const char *name, uint32_t b)
{
        char *ws = at(scratch, name);
        ASSERT_OK(mkdir(ws, 0755));
        dir(ws, "upper", 0755, b, b);
        dir(ws, "work", 0755, b, b);
        dir(ws, "home", 0755, b, b);
        _cleanup_free_ char *u = at(ws, "upper"), *h = at(ws, "home");
        dir(u, "etc", 0755, b, b);
        put(u, "etc/hostname", "ws1\n", 0644, b, b);
        put(u, "etc/shadow", "root:*:1::::::\n", 0640, b, b + 42);
        dir(u, "data", 0755, b + 1000, b + 1000);
        put(u, "data/keep", "keep me\n", 0644, b + 1000, b + 1000);
        put(u, "data/hl1", "linked\n", 0644, b + 1000, b + 1000);
        _cleanup_free_ char *hl1 = at(u, "data/hl1"), *hl2 = at(u, "data/hl2"), *lnk = at(u, "data/link");
        ASSERT_OK(link(hl1, hl2));
        ASSERT_OK(symlink("keep", lnk));
        ASSERT_OK(lchown(lnk, b + 1000, b + 1000));
        /* overlayfs makes whiteouts as its mounter (root); a workspace
         * that mounted its own overlay would make them as itself. */
        whiteout(u, "data/gone", 0, 0);
        whiteout(u, "etc/motd", b, b);
        put(u, "data/suid", "#!/bin/sh\n", 04755, b + 1000, b + 1000);
        put(u, "data/capable", "ELF?", 0755, b, b);
        _cleanup_free_ char *capable = at(u, "data/capable"), *fifo = at(u, "data/fifo");
        const uint32_t cap[6] = CAPABILITY(b);
        ASSERT_OK(setxattr(capable, "security.capability", cap, sizeof cap, 0));
        ASSERT_OK(setxattr(capable, "user.note", "v\0x", 3, 0));
        ASSERT_OK(mkfifo(fifo, 0620));
        ASSERT_OK(chown(fifo, b + 7, b + 8));
        dir(u, "opaque", 0750, b, b);
        _cleanup_free_ char *opq = at(u, "opaque");
        ASSERT_OK(setxattr(opq, "trusted.overlay.opaque", "y", 1, 0));
        put(u, "opaque/inner", "only this\n", 0600, b + 1000, b + 1000);

        dir(h, "user", 0700, b + 1000, b + 1000);
        put(h, "user/.bashrc", "PS1='$ '\n", 0644, b + 1000, b + 1000);
        dir(h, "user/project", 0755, b + 1000, b + 1000);
        put(h, "user/project/main.c", "int main(void) { return 0; }\n", 0644, b + 1000, b + 1000);

        /* Exact times, set last: children change directory mtimes. */
        const struct timespec t[2] = { { 1000000000, 1 }, { 1100000000, 987654321 } };
        _cleanup_free_ char *etc = at(u, "etc"), *hn = at(u, "etc/hostname");
        ASSERT_OK(utimensat(AT_FDCWD, hn, t, AT_SYMLINK_NOFOLLOW));
        ASSERT_OK(utimensat(AT_FDCWD, etc, t, AT_SYMLINK_NOFOLLOW));
        return ws;
}

/* ---- tree description: what "identical" means ---- */

typedef struct Entry {
        char *path;
        struct stat st;
        char *line;
} Entry;

typedef struct Walk {
        Entry *e;
        size_t n, cap;
} Walk;

static uint64_t fnv_fd(int fd)
{
        uint64_t h = 1469598103934665603ULL;
        char buf[65536];
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0)
                for (ssize_t i = 0; i < n; i++)
                        h = (h ^ (unsigned char) buf[i]) * 1099511628211ULL;
        return h;
}

static void add_xattrs(StrBuf *b, int dfd, const char *name)
{
        char path[PATH_MAX];
        snprintf(path, sizeof path, "/proc/self/fd/%d/%s", dfd, name);
        char keys[4096];
        ssize_t n = llistxattr(path, keys, sizeof keys);
        if (n <= 0)
                return;
        /* Sorted keys: listxattr order is the file system's. */
        const char *list[64];
        size_t k = 0;
        for (char *p = keys; p < keys + n && k < 64; p += strlen(p) + 1)
                list[k++] = p;
        for (size_t i = 1; i < k; i++)
                for (size_t j = i; j > 0 && strcmp(list[j - 1], list[j]) > 0; j--) {
                        const char *t = list[j];
                        list[j] = list[j - 1];
                        list[j - 1] = t;
                }
        for (size_t i = 0; i < k; i++) {
                unsigned char v[512];
                ssize_t vn = lgetxattr(path, list[i], v, sizeof v);
                strbuf_printf(b, " x:%s=", list[i]);
                for (ssize_t j = 0; j < vn; j++)
                        strbuf_printf(b, "%02x", v[j]);
        }
}

static void walk(Walk *w, int dfd, const char *name, const char *rel)
{
        Entry e = { .path = strdup(rel) };
        if (fstatat(dfd, name, &e.st, AT_SYMLINK_NOFOLLOW) < 0)
                abort();
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        strbuf_printf(&b, "%s mode=%o uid=%u gid=%u nlink=%ju rdev=%u:%u", rel, e.st.st_mode, e.st.st_uid,
                      e.st.st_gid, (uintmax_t) e.st.st_nlink, major(e.st.st_rdev), minor(e.st.st_rdev));
        if (!S_ISDIR(e.st.st_mode) && !S_ISLNK(e.st.st_mode))
                strbuf_printf(&b, " mtime=%jd.%09ld", (intmax_t) e.st.st_mtim.tv_sec, e.st.st_mtim.tv_nsec);
        if (S_ISDIR(e.st.st_mode) && strchr(rel, '/'))
                strbuf_printf(&b, " mtime=%jd.%09ld", (intmax_t) e.st.st_mtim.tv_sec, e.st.st_mtim.tv_nsec);
        if (S_ISREG(e.st.st_mode)) {
                int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
                strbuf_printf(&b, " size=%jd data=%016jx", (intmax_t) e.st.st_size, (uintmax_t) fnv_fd(fd));
                safe_close(fd);
        }
        if (S_ISLNK(e.st.st_mode)) {
                char t[PATH_MAX];
                ssize_t n = readlinkat(dfd, name, t, sizeof t - 1);
                t[n < 0 ? 0 : n] = 0;
                strbuf_printf(&b, " -> %s", t);
        }
        add_xattrs(&b, dfd, name);
        e.line = strbuf_steal(&b);
        if (w->n == w->cap) {
                w->cap = w->cap ? w->cap * 2 : 64;
                w->e = realloc(w->e, w->cap * sizeof *w->e);
        }
        w->e[w->n++] = e;
        if (!S_ISDIR(e.st.st_mode))
                return;
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *d = fdopendir(fd);
        struct dirent *de;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *sub = NULL;
                if (asprintf(&sub, "%s/%s", rel, de->d_name) < 0)
                        abort();
                walk(w, dirfd(d), de->d_name, sub);
        }
        closedir(d);
}

static int cmp_entry(const void *a, const void *b)
{
        return strcmp(((const Entry *) a)->path, ((const Entry *) b)->path);
}

/* One line per entry, sorted; names of one inode share a link group
 * named after the first of them. The root's mtime is left out for
 * directories at the top only when asked by the caller's path. */
static char *describe(const char *path)
{
        Walk w = { 0 };
        walk(&w, AT_FDCWD, path, ".");
        qsort(w.e, w.n, sizeof *w.e, cmp_entry);
        StrBuf out = STRBUF_INIT;
        for (size_t i = 0; i < w.n; i++) {
                const char *group = w.e[i].path;
                if (!S_ISDIR(w.e[i].st.st_mode) && w.e[i].st.st_nlink > 1)
                        for (size_t j = 0; j < i; j++)
                                if (w.e[j].st.st_ino == w.e[i].st.st_ino) {
                                        group = w.e[j].path;
                                        break;
                                }
                strbuf_printf(&out, "%s link-group=%s\n", w.e[i].line, group);
                free(w.e[i].line);
        }
        for (size_t i = 0; i < w.n; i++)
                free(w.e[i].path);
        free(w.e);
        return strbuf_steal(&out);
}

static char *describe_at(const char *base, const char *rel)
{
        _cleanup_free_ char *p = at(base, rel);
        return describe(p);
}

#define ASSERT_SAME_TREE(a, b)                                                          \
        do {                                                                            \
                _cleanup_free_ char *_da = (a), *_db = (b);                             \
                if (!_da || !_db || strcmp(_da, _db) != 0) {                            \
                        printf("# expected:\n%s# got:\n%s", _da, _db);                  \
                        TEST_FAIL("trees differ: %s vs %s", #a, #b);                    \
                }                                                                       \
        } while (0)

static size_t count_dir(const char *path)
{
        _cleanup_closedir_ DIR *d = opendir(path);
        if (!d)
                return 0;
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        return n;
}

static bool exists(const char *base, const char *rel)
{
        _cleanup_free_ char *p = at(base, rel);
        struct stat st;
        return lstat(p, &st) == 0;
}

static void create(const char *ws, const char *name, uint32_t b)
{
        SnapshotCreateOptions o = { .name = name, .with_home = true, .uid_base = b, .gid_base = b };
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(snapshot_create(ws, &o, NULL, &err), err);
}

/* Change everything a workspace can: add, delete, rewrite, chmod,
 * drop a whiteout and a link, clear an opaque flag, touch /home, and
 * leave overlay scratch in work/. */
static void modify(const char *ws, uint32_t b)
{
        _cleanup_free_ char *u = at(ws, "upper"), *h = at(ws, "home"), *w = at(ws, "work");
        put(u, "new-file", "new\n", 0644, b, b);
        put(u, "etc/hostname", "changed\n", 0644, b, b);
        _cleanup_free_ char *keep = at(u, "data/keep"), *gone = at(u, "data/gone"), *hl2 = at(u, "data/hl2"),
                            *shadow = at(u, "etc/shadow"), *opq = at(u, "opaque"), *bashrc = at(h, "user/.bashrc");
        ASSERT_OK(unlink(keep));
        ASSERT_OK(unlink(gone));
        ASSERT_OK(unlink(hl2));
        ASSERT_OK(chmod(shadow, 0600));
        ASSERT_OK(removexattr(opq, "trusted.overlay.opaque"));
        ASSERT_OK(unlink(bashrc));
        put(h, "user/added", "added\n", 0644, b + 1000, b + 1000);
        dir(w, "work", 0000, 0, 0);
        put(w, "work/stale", "x", 0600, 0, 0);
}

/* ---- create / restore ---- */

TEST(create_modify_restore)
{
        setup();
        _cleanup_free_ char *ws = make_ws("ws-restore", B1);
        _cleanup_free_ char *upper0 = describe_at(ws, "upper"), *home0 = describe_at(ws, "home");
        SnapshotCreateOptions o = { .name = "before", .with_home = true, .uid_base = B1, .gid_base = B1 };
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_(snapshot_info_done) SnapshotInfo info = { 0 };
        ASSERT_OK_E(snapshot_create(ws, &o, &info, &err), err);
        ASSERT_STREQ(info.name, "before");
        ASSERT_TRUE(info.has_home);
        ASSERT_TRUE(info.entries >= 20);
        ASSERT_TRUE(info.bytes > 50);
        _cleanup_free_ char *snap = at(ws, "snapshots/before");
        ASSERT_SAME_TREE(strdup(upper0), describe_at(snap, "upper"));
        ASSERT_SAME_TREE(strdup(home0), describe_at(snap, "home"));
        struct stat st;
        ASSERT_OK(stat(snap, &st));
        ASSERT_EQ(st.st_mode & 07777, 0700);
        ASSERT_EQ(st.st_uid, 0);

        modify(ws, B1);
        _cleanup_free_ char *changed = describe_at(ws, "upper");
        ASSERT_TRUE(strcmp(changed, upper0) != 0);

        ASSERT_OK_E(snapshot_restore(ws, "before", NULL, &err), err);
        ASSERT_SAME_TREE(strdup(upper0), describe_at(ws, "upper"));
        ASSERT_SAME_TREE(strdup(home0), describe_at(ws, "home"));
        /* The details, spelled out. */
        _cleanup_free_ char *gone = at(ws, "upper/data/gone"), *opq = at(ws, "upper/opaque"),
                            *hl1 = at(ws, "upper/data/hl1"), *suid = at(ws, "upper/data/suid"),
                            *capable = at(ws, "upper/data/capable");
        ASSERT_OK(lstat(gone, &st));
        ASSERT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
        char v[8];
        ASSERT_EQ(getxattr(opq, "trusted.overlay.opaque", v, sizeof v), 1);
        ASSERT_OK(stat(hl1, &st));
        ASSERT_EQ(st.st_nlink, 2);
        ASSERT_EQ(st.st_uid, B1 + 1000);
        ASSERT_OK(stat(suid, &st));
        ASSERT_EQ(st.st_mode & 07777, 04755);
        ASSERT_EQ(getxattr(capable, "security.capability", v, 0), sizeof capability);
        /* A fresh, empty overlay work dir owned like the old one. */
        _cleanup_free_ char *work = at(ws, "work");
        ASSERT_EQ(count_dir(work), 0);
        ASSERT_OK(stat(work, &st));
        ASSERT_EQ(st.st_uid, B1);
        ASSERT_EQ(st.st_gid, B1);
        ASSERT_EQ(st.st_mode & 07777, 0755);
        ASSERT_FALSE(exists(ws, SNAPSHOT_RESTORE_TMP));
        /* The snapshot itself is untouched and can be restored again. */
        ASSERT_SAME_TREE(strdup(upper0), describe_at(snap, "upper"));
        ASSERT_EQ(count_dir(snap), 3);
}

TEST(create_without_home_keeps_home)
{
        setup();
        _cleanup_free_ char *ws = make_ws("ws-nohome", B1);
        SnapshotCreateOptions o = { .name = "nohome", .uid_base = B1, .gid_base = B1 };
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(snapshot_create(ws, &o, NULL, &err), err);
        ASSERT_FALSE(exists(ws, "snapshots/nohome/home"));
        _cleanup_free_ char *upper0 = describe_at(ws, "upper");
        modify(ws, B1);
        _cleanup_free_ char *home1 = describe_at(ws, "home");
        ASSERT_OK_E(snapshot_restore(ws, "nohome", NULL, &err), err);
        ASSERT_SAME_TREE(strdup(upper0), describe_at(ws, "upper"));
        /* A workspace_dir (or unmanaged home) is never touched. */
        ASSERT_SAME_TREE(strdup(home1), describe_at(ws, "home"));
}

TEST(timestamp_names_and_list)
{
        setup();
        _cleanup_free_ char *ws = make_ws("ws-list", B1);
        _cleanup_error_ Error err = ERROR_INIT;
        SnapshotCreateOptions o = { .with_home = true, .uid_base = B1, .gid_base = B1 };
        _cleanup_(snapshot_info_done) SnapshotInfo a = { 0 }, b = { 0 };
        ASSERT_OK_E(snapshot_create(ws, &o, &a, &err), err);
        ASSERT_OK_E(snapshot_create(ws, &o, &b, &err), err);
        ASSERT_TRUE(snapshot_name_is_valid(a.name));
        ASSERT_TRUE(snapshot_name_is_valid(b.name));
        ASSERT_TRUE(strcmp(a.name, b.name) != 0);
        ASSERT_EQ(strlen(a.name), 15); /* YYYYMMDD-HHMMSS */

        o.name = a.name;
        ASSERT_EQ(snapshot_create(ws, &o, NULL, &err), -EEXIST);
        ASSERT_CONTAINS(error_msg(&err), "already exists");
        error_clear(&err);

        SnapshotInfo *l = NULL;
        size_t n = 0;
        ASSERT_OK_E(snapshot_list(ws, &l, &n, &err), err);
        ASSERT_EQ(n, 2);
        ASSERT_STREQ(l[0].name, a.name);
        ASSERT_STREQ(l[1].name, b.name);
        ASSERT_TRUE(l[0].created_usec <= l[1].created_usec);
        ASSERT_EQ(l[0].bytes, a.bytes);
        ASSERT_EQ(l[0].entries, a.entries);
        ASSERT_EQ(l[0].uid_base, B1);
        snapshot_info_array_free(l, n);

        /* No snapshots directory yet: an empty list. */
        _cleanup_free_ char *bare = at(scratch, "ws-bare");
        ASSERT_OK(mkdir(bare, 0755));
        ASSERT_OK_E(snapshot_list(bare, &l, &n, &err), err);
        ASSERT_EQ(n, 0);
        ASSERT_NULL(l);
}

/* ---- names ---- */

TEST(bad_names_refused_and_nothing_created)
{
        setup();
        _cleanup_free_ char *ws = make_ws("ws-names", B1);
        create(ws, "good", B1);
        _cleanup_free_ char *archive = at(scratch, "names.tar");
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(snapshot_export(ws, "good", archive, NULL, &err), err);
        _cleanup_free_ char *snaps = at(ws, "snapshots");
        char longname[70];
        memset(longname, 'a', 64);
        longname[64] = 0;
        const char *bad[] = { "../x", "a/b", "", "..", ".", "/tmp/x", longname, ".hidden", "-x", "../../../../tmp/enctest-evil" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                size_t before_ws = count_dir(ws), before = count_dir(snaps);
                SnapshotCreateOptions o = { .name = bad[i], .with_home = true, .uid_base = B1, .gid_base = B1 };
                SnapshotImportOptions io = { .name = bad[i], .replace = true, .uid_base = B1, .gid_base = B1 };
                _cleanup_free_ char *out = NULL;
                ASSERT_TRUE(asprintf(&out, "%s/bad-%zu.tar", scratch, i) > 0);
                SnapshotInfo info = { 0 };
                ASSERT_EQ(snapshot_create(ws, &o, NULL, &err), -EINVAL);
                ASSERT_CONTAINS(error_msg(&err), "invalid snapshot name");
                error_clear(&err);
                ASSERT_EQ(snapshot_restore(ws, bad[i], NULL, &err), -EINVAL);
                error_clear(&err);
                ASSERT_EQ(snapshot_delete(ws, bad[i], &err), -EINVAL);
                error_clear(&err);
                ASSERT_EQ(snapshot_export(ws, bad[i], out, NULL, &err), -EINVAL);
                error_clear(&err);
                ASSERT_EQ(snapshot_import(ws, archive, &io, NULL, &err), -EINVAL);
                error_clear(&err);
                ASSERT_EQ(snapshot_read_info(ws, bad[i], &info, &err), -EINVAL);
                error_clear(&err);
                ASSERT_EQ(count_dir(snaps), before);
                ASSERT_EQ(count_dir(ws), before_ws);
                ASSERT_FALSE(exists(ws, "x"));
                ASSERT_FALSE(exists(scratch, "x"));
                ASSERT_EQ(access(out, F_OK), -1);
        }
        ASSERT_EQ(access("/tmp/enctest-evil", F_OK), -1);
        ASSERT_EQ(access("/tmp/x", F_OK), -1);
}

/* ---- delete, gc ---- */

TEST(delete_and_gc_keep_newest)
{
        setup();
        _cleanup_free_ char *ws = make_ws("ws-gc", B1);
        _cleanup_error_ Error err = ERROR_INIT;
        static const char *const names[] = { "g0", "g1", "g2", "g3", "g4", "g5", "g6" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                create(ws, names[i], B1);
        /* Fewer than the default keep: nothing goes. */
        _cleanup_strv_free_ char **deleted = NULL;
        ASSERT_OK_E(snapshot_gc(ws, 10, &deleted, &err), err);
        ASSERT_EQ(strv_length(deleted), 0);

        ASSERT_OK_E(snapshot_delete(ws, "g3", &err), err);
        ASSERT_FALSE(exists(ws, "snapshots/g3"));
        ASSERT_EQ(snapshot_delete(ws, "g3", &err), -ENOENT);
        ASSERT_CONTAINS(error_msg(&err), "no snapshot g3");
        error_clear(&err);

        ASSERT_OK_E(snapshot_gc(ws, 3, &deleted, &err), err);
        ASSERT_EQ(strv_length(deleted), 3);
        ASSERT_TRUE(strv_contains(deleted, "g0"));
        ASSERT_TRUE(strv_contains(deleted, "g1"));
        ASSERT_TRUE(strv_contains(deleted, "g2"));
        SnapshotInfo *l = NULL;
        size_t n = 0;
        ASSERT_OK_E(snapshot_list(ws, &l, &n, &err), err);
        ASSERT_EQ(n, 3);
        ASSERT_STREQ(l[0].name, "g4");
        ASSERT_STREQ(l[1].name, "g5");
        ASSERT_STREQ(l[2].name, "g6");
        snapshot_info_array_free(l, n);
        _cleanup_free_ char *snaps = at(ws, "snapshots");
        ASSERT_EQ(count_dir(snaps), 3); /* no scratch left behind */

        deleted = strv_free(deleted);
        ASSERT_OK_E(snapshot_gc(ws, SNAPSHOT_GC_KEEP_DEFAULT, &deleted, &err), err);
        ASSERT_EQ(strv_length(deleted), 0);
        ASSERT_OK_E(snapshot_gc(ws, 0, &deleted, &err), err);
        ASSERT_EQ(strv_length(deleted), 3);
        ASSERT_EQ(count_dir(snaps), 0);
}

/* ---- export / import ---- */

TEST(export_import_round_trip)
{
        setup();
        _cleanup_free_ char *ws = make_ws("ws-export", B1);
        _cleanup_free_ char *upper0 = describe_at(ws, "upper"), *home0 = describe_at(ws, "home");
        create(ws, "orig", B1);
        _cleanup_error_ Error err = ERROR_INIT;
        static const char *const formats[] = { "tar", "tar.gz", "tar.zst" };
        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                _cleanup_free_ char *out = NULL, *name = NULL;
                ASSERT_TRUE(asprintf(&out, "%s/orig.%s", scratch, formats[i]) > 0);
                ASSERT_TRUE(asprintf(&name, "imported-%zu", i) > 0);
                ASSERT_OK_E(snapshot_export(ws, "orig", out, NULL, &err), err);
                struct stat st;
                ASSERT_OK(stat(out, &st));
                ASSERT_EQ(st.st_mode & 0777, 0600);
                /* An existing output is never overwritten. */
                ASSERT_EQ(snapshot_export(ws, "orig", out, NULL, &err), -EEXIST);
                error_clear(&err);

                SnapshotImportOptions io = { .name = name, .uid_base = B1, .gid_base = B1 };
                _cleanup_(snapshot_info_done) SnapshotInfo info = { 0 };
                ASSERT_OK_E(snapshot_import(ws, out, &io, &info, &err), err);
                ASSERT_STREQ(info.name, name);
                ASSERT_TRUE(info.has_home);
                _cleanup_free_ char *snap = NULL;
                ASSERT_TRUE(asprintf(&snap, "%s/snapshots/%s", ws, name) > 0);
                ASSERT_SAME_TREE(strdup(upper0), describe_at(snap, "upper"));
                ASSERT_SAME_TREE(strdup(home0), describe_at(snap, "home"));
                _cleanup_(snapshot_info_done) SnapshotInfo orig = { 0 }, imp = { 0 };
                ASSERT_OK_E(snapshot_read_info(ws, "orig", &orig, &err), err);
                ASSERT_OK_E(snapshot_read_info(ws, name, &imp, &err), err);
                ASSERT_STREQ(imp.name, name);
                ASSERT_EQ(imp.created_usec, orig.created_usec);
                ASSERT_EQ(imp.bytes, orig.bytes);
                ASSERT_EQ(imp.entries, orig.entries);
        }
        /* Restoring the imported copy gives the original state back. */
        modify(ws, B1);
        ASSERT_OK_E(snapshot_restore(ws, "imported-2", NULL, &err), err);
        ASSERT_SAME_TREE(strdup(upper0), describe_at(ws, "upper"));
        ASSERT_SAME_TREE(strdup(home0), describe_at(ws, "home"));
        _cleanup_free_ char *snaps = at(ws, "snapshots");
        ASSERT_EQ(count_dir(snaps), 4);
}

TEST(import_needs_replace)
{
        setup();
        _cleanup_free_ char *ws = make_ws("ws-replace", B1);
        create(ws, "one", B1);
        modify(ws, B1);
        create(ws, "two", B1);
        _cleanup_free_ char *out = at(scratch, "replace.tar.zst");
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(snapshot_export(ws, "one", out, NULL, &err), err);
        _cleanup_free_ char *two = at(ws, "snapshots/two"), *one = at(ws, "snapshots/one");
        _cleanup_free_ char *two0 = describe(two);
        SnapshotImportOptions io = { .name = "two", .uid_base = B1, .gid_base = B1 };
        ASSERT_EQ(snapshot_import(ws, out, &io, NULL, &err), -EEXIST);
        ASSERT_CONTAINS(error_msg(&err), "--replace");
        error_clear(&err);
        ASSERT_SAME_TREE(strdup(two0), describe(two));
        io.replace = true;
        ASSERT_OK_E(snapshot_import(ws, out, &io, NULL, &err), err);
        ASSERT_SAME_TREE(describe_at(one, "upper"), describe_at(two, "upper"));
        _cleanup_free_ char *snaps = at(ws, "snapshots");
        ASSERT_EQ(count_dir(snaps), 2);
}

/* Two descriptions equal except for times. */
static void assert_same_but_times(char *got, char *want)
{
        char *g = got, *w = want;
        while (*g && *w) {
                char *ge = strchr(g, '\n'), *we = strchr(w, '\n');
                ASSERT_TRUE(ge && we);
                *ge = *we = 0;
                char *gm = strstr(g, " mtime="), *wm = strstr(w, " mtime=");
                ASSERT_TRUE(!gm == !wm);
                if (gm) {
                        *gm = *wm = 0;
                        ASSERT_STREQ(strchr(gm + 1, ' ') ?: "", strchr(wm + 1, ' ') ?: "");
                }
                ASSERT_STREQ(g, w);
                g = ge + 1;
                w = we + 1;
        }
        ASSERT_EQ(*g, *w);
}

TEST(import_into_another_id_range)
{
        setup();
        _cleanup_free_ char *ws1 = make_ws("ws-range1", B1);
        create(ws1, "src", B1);
        _cleanup_free_ char *out = at(scratch, "range.tar.gz");
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(snapshot_export(ws1, "src", out, NULL, &err), err);

        /* The same tree, built for the other range, is what must come out. */
        _cleanup_free_ char *ws2 = make_ws("ws-range2", B2);
        _cleanup_free_ char *want = describe_at(ws2, "upper"), *want_home = describe_at(ws2, "home");
        SnapshotImportOptions io = { .name = "moved", .uid_base = B2, .gid_base = B2 };
        _cleanup_(snapshot_info_done) SnapshotInfo info = { 0 };
        ASSERT_OK_E(snapshot_import(ws2, out, &io, &info, &err), err);
        ASSERT_EQ(info.uid_base, B2);
        _cleanup_free_ char *snap = at(ws2, "snapshots/moved");
        /* Times of the fixture's directories differ between the two
         * builds: compare owners, modes, links and data entry by entry. */
        _cleanup_free_ char *got = describe_at(snap, "upper");
        struct stat st;
        _cleanup_free_ char *keep = at(snap, "upper/data/keep"), *gone = at(snap, "upper/data/gone"),
                            *motd = at(snap, "upper/etc/motd"), *shadow = at(snap, "upper/etc/shadow"),
                            *suid = at(snap, "upper/data/suid"), *capable = at(snap, "upper/data/capable"),
                            *hl2 = at(snap, "upper/data/hl2"), *lnk = at(snap, "upper/data/link"),
                            *main_c = at(snap, "home/user/project/main.c");
        ASSERT_OK(lstat(keep, &st));
        ASSERT_EQ(st.st_uid, B2 + 1000);
        ASSERT_OK(lstat(gone, &st)); /* root's whiteout stays root's */
        ASSERT_EQ(st.st_uid, 0);
        ASSERT_OK(lstat(motd, &st)); /* the workspace's own whiteout moves */
        ASSERT_EQ(st.st_uid, B2);
        ASSERT_OK(lstat(shadow, &st));
        ASSERT_EQ(st.st_gid, B2 + 42);
        ASSERT_OK(lstat(suid, &st));
        ASSERT_EQ(st.st_mode & 07777, 04755);
        ASSERT_OK(lstat(hl2, &st));
        ASSERT_EQ(st.st_nlink, 2);
        ASSERT_EQ(st.st_uid, B2 + 1000);
        ASSERT_OK(lstat(lnk, &st));
        ASSERT_EQ(st.st_uid, B2 + 1000);
        ASSERT_OK(lstat(main_c, &st));
        ASSERT_EQ(st.st_uid, B2 + 1000);
        char v[64];
        const uint32_t moved[6] = CAPABILITY(B2);
        ASSERT_EQ(getxattr(capable, "security.capability", v, sizeof v), sizeof moved);
        ASSERT_TRUE(memcmp(v, moved, sizeof moved) == 0);
        /* Everything but times equals the tree built for this range. */
        assert_same_but_times(got, want);
        _cleanup_free_ char *got_home = describe_at(snap, "home");
        assert_same_but_times(got_home, want_home);
}

/* A snapshot-shaped tree written to a tar with libarchive by hand. */
typedef struct Member {
        const char *path;
        char type; /* 'd' dir, 'f' file, 'c' char device, 'l' symlink, 'h' hard link */
        const char *data;
        int64_t uid;
        dev_t rdev;
} Member;

static void write_tar(const char *path, const Member *m, size_t n)
{
        struct archive *a = archive_write_new();
        ASSERT_TRUE(a);
        ASSERT_EQ(archive_write_set_format_pax(a), ARCHIVE_OK);
        ASSERT_EQ(archive_write_open_filename(a, path), ARCHIVE_OK);
        for (size_t i = 0; i < n; i++) {
                struct archive_entry *e = archive_entry_new();
                archive_entry_set_pathname(e, m[i].path);
                archive_entry_set_uid(e, m[i].uid);
                archive_entry_set_gid(e, m[i].uid);
                archive_entry_set_perm(e, 0644);
                switch (m[i].type) {
                case 'd':
                        archive_entry_set_filetype(e, AE_IFDIR);
                        archive_entry_set_perm(e, 0755);
                        break;
                case 'c':
                        archive_entry_set_filetype(e, AE_IFCHR);
                        archive_entry_set_rdev(e, m[i].rdev);
                        break;
                case 'l':
                        archive_entry_set_filetype(e, AE_IFLNK);
                        archive_entry_set_symlink(e, m[i].data);
                        break;
                case 'h':
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_hardlink(e, m[i].data);
                        break;
                default:
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_size(e, (la_int64_t) strlen(m[i].data));
                }
                ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK);
                if (m[i].type == 'f')
                        ASSERT_EQ(archive_write_data(a, m[i].data, strlen(m[i].data)), (la_ssize_t) strlen(m[i].data));
                archive_entry_free(e);
        }
        ASSERT_EQ(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
}

#define META "{\"format\": 1, \"name\": \"x\", \"created_usec\": 1, \"bytes\": 0, \"entries\": 1, " \
             "\"has_home\": false, \"uid_base\": 3000000000, \"gid_base\": 3000000000}"

static void check_import_refused(const char *ws, const Member *m, size_t n, const char *why)
{
        _cleanup_free_ char *out = NULL;
        ASSERT_TRUE(asprintf(&out, "%s/evil-%d.tar", scratch, (int) n) > 0);
        (void) unlink(out);
        write_tar(out, m, n);
        _cleanup_free_ char *snaps = at(ws, "snapshots");
        size_t before = count_dir(snaps);
        SnapshotImportOptions io = { .name = "evil", .uid_base = B1, .gid_base = B1 };
        _cleanup_error_ Error err = ERROR_INIT;
        int r = snapshot_import(ws, out, &io, NULL, &err);
        if (r >= 0)
                TEST_FAIL("archive accepted, expected: %s", why);
        ASSERT_CONTAINS(error_msg(&err), why);
        ASSERT_EQ(count_dir(snaps), before);
        ASSERT_FALSE(exists(ws, "snapshots/evil"));
}

TEST(import_refuses_bad_archives)
{
        setup();
        _cleanup_free_ char *ws = make_ws("ws-evil", B1);
        create(ws, "existing", B1);
        const uint32_t b = B1;
        {
                /* A proper one first, so the refusals below are about their flaw. */
                const Member ok[] = { { "upper", 'd', NULL, b, 0 }, { "upper/f", 'f', "x", b, 0 },
                                      { "upper/wh", 'c', NULL, 0, 0 }, { "snapshot.json", 'f', META, 0, 0 } };
                _cleanup_free_ char *out = at(scratch, "fine.tar");
                write_tar(out, ok, ELEMENTSOF(ok));
                SnapshotImportOptions io = { .name = "fine", .uid_base = B1, .gid_base = B1 };
                _cleanup_error_ Error err = ERROR_INIT;
                ASSERT_OK_E(snapshot_import(ws, out, &io, NULL, &err), err);
        }
        const Member dotdot[] = { { "upper", 'd', NULL, b, 0 }, { "upper/../../../enctest-escape", 'f', "x", b, 0 },
                                  { "snapshot.json", 'f', META, 0, 0 } };
        check_import_refused(ws, dotdot, ELEMENTSOF(dotdot), "..");
        const Member absolute[] = { { "/upper", 'd', NULL, b, 0 }, { "snapshot.json", 'f', META, 0, 0 } };
        check_import_refused(ws, absolute, ELEMENTSOF(absolute), "absolute");
        const Member symlink_out[] = { { "upper", 'd', NULL, b, 0 }, { "upper/l", 'l', "../../../..", b, 0 },
                                       { "snapshot.json", 'f', META, 0, 0 } };
        check_import_refused(ws, symlink_out, ELEMENTSOF(symlink_out), "outside");
        const Member hardlink_out[] = { { "upper", 'd', NULL, b, 0 }, { "upper/h", 'h', "../etc/passwd", b, 0 },
                                        { "snapshot.json", 'f', META, 0, 0 } };
        check_import_refused(ws, hardlink_out, ELEMENTSOF(hardlink_out), "hard link");
        const Member foreign_uid[] = { { "upper", 'd', NULL, b, 0 }, { "upper/root-file", 'f', "x", 0, 0 },
                                       { "snapshot.json", 'f', META, 0, 0 } };
        check_import_refused(ws, foreign_uid, ELEMENTSOF(foreign_uid), "outside the exporting workspace's ids");
        const Member device[] = { { "upper", 'd', NULL, b, 0 }, { "upper/sda", 'c', NULL, b, makedev(8, 0) },
                                  { "snapshot.json", 'f', META, 0, 0 } };
        check_import_refused(ws, device, ELEMENTSOF(device), "device node");
        const Member no_upper[] = { { "home", 'd', NULL, b, 0 }, { "snapshot.json", 'f', META, 0, 0 } };
        check_import_refused(ws, no_upper, ELEMENTSOF(no_upper), "not a snapshot");
        const Member no_meta[] = { { "upper", 'd', NULL, b, 0 } };
        check_import_refused(ws, no_meta, ELEMENTSOF(no_meta), "not a snapshot");
        const Member extra[] = { { "upper", 'd', NULL, b, 0 }, { "rootfs", 'd', NULL, 0, 0 },
                                 { "snapshot.json", 'f', META, 0, 0 } };
        check_import_refused(ws, extra, ELEMENTSOF(extra), "unexpected");
        const Member bad_meta[] = { { "upper", 'd', NULL, b, 0 }, { "snapshot.json", 'f', "{\"format\": 1}", 0, 0 } };
        check_import_refused(ws, bad_meta, ELEMENTSOF(bad_meta), "metadata");
        ASSERT_EQ(access("/tmp/enctest-escape", F_OK), -1);
        _cleanup_free_ char *escape = at(scratch, "enctest-escape");
        ASSERT_EQ(access(escape, F_OK), -1);
}

/* ---- failing restores ---- */

static void fill_up(const char *path, uint64_t leave)
{
        struct statvfs sv;
        ASSERT_OK(statvfs(path, &sv));
        uint64_t avail = (uint64_t) sv.f_bavail * sv.f_frsize;
        ASSERT_TRUE(avail > leave);
        _cleanup_free_ char *filler = at(path, "filler");
        _cleanup_close_ int fd = open(filler, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(fallocate(fd, 0, 0, (off_t) (avail - leave)));
}

TEST(restore_on_full_disk_changes_nothing)
{
        setup();
        _cleanup_free_ char *mnt = at(scratch, "small");
        ASSERT_OK(mkdir(mnt, 0755));
        ASSERT_OK(mount("enctest-snap", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=8m,mode=0755"));
        _cleanup_free_ char *ws = at(mnt, "ws");
        ASSERT_OK(mkdir(ws, 0755));
        dir(ws, "upper", 0755, B1, B1);
        dir(ws, "work", 0755, B1, B1);
        _cleanup_free_ char *u = at(ws, "upper");
        dir(u, "opaque", 0755, B1, B1);
        _cleanup_free_ char *opq = at(u, "opaque");
        ASSERT_OK(setxattr(opq, "trusted.overlay.opaque", "y", 1, 0));
        whiteout(u, "gone", 0, 0);
        _cleanup_free_ char *big = at(u, "big");
        {
                _cleanup_close_ int fd = open(big, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
                ASSERT_TRUE(fd >= 0);
                char block[4096];
                memset(block, 'b', sizeof block);
                for (int i = 0; i < 512; i++) /* 2 MiB of real data */
                        ASSERT_EQ(write(fd, block, sizeof block), (ssize_t) sizeof block);
        }
        SnapshotCreateOptions o = { .name = "full", .uid_base = B1, .gid_base = B1 };
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(snapshot_create(ws, &o, NULL, &err), err);
        _cleanup_free_ char *snap0 = describe_at(ws, "snapshots/full/upper");

        put(u, "after", "written after the snapshot\n", 0644, B1, B1);
        ASSERT_OK(unlink(big));
        _cleanup_free_ char *w = at(ws, "work");
        put(w, "marker", "work as it was\n", 0644, B1, B1);
        _cleanup_free_ char *upper1 = describe_at(ws, "upper"), *work1 = describe_at(ws, "work");

        /* Room for less than the snapshot's 2 MiB: the copy fails half way. */
        fill_up(mnt, 1 << 20);
        int r = snapshot_restore(ws, "full", NULL, &err);
        ASSERT_EQ(r, -ENOSPC);
        ASSERT_CONTAINS(error_msg(&err), "restoring snapshot full");
        error_clear(&err);
        ASSERT_SAME_TREE(strdup(upper1), describe_at(ws, "upper"));
        ASSERT_SAME_TREE(strdup(work1), describe_at(ws, "work"));
        ASSERT_SAME_TREE(strdup(snap0), describe_at(ws, "snapshots/full/upper"));
        ASSERT_FALSE(exists(ws, SNAPSHOT_RESTORE_TMP));

        /* With room again, the same snapshot restores. */
        _cleanup_free_ char *filler = at(mnt, "filler");
        ASSERT_OK(unlink(filler));
        ASSERT_OK_E(snapshot_restore(ws, "full", NULL, &err), err);
        ASSERT_SAME_TREE(strdup(snap0), describe_at(ws, "upper"));
        ASSERT_FALSE(exists(ws, "upper/after"));
        ASSERT_OK(umount2(mnt, 0));
}

TEST(restore_of_broken_snapshot_changes_nothing)
{
        setup();
        _cleanup_free_ char *ws = make_ws("ws-broken", B1);
        create(ws, "broken", B1);
        modify(ws, B1);
        _cleanup_free_ char *upper1 = describe_at(ws, "upper"), *home1 = describe_at(ws, "home"),
                            *work1 = describe_at(ws, "work");
        /* Break the snapshot's home/ (copied after upper/) with a tree
         * deeper than any walk accepts: the restore fails half way. */
        _cleanup_free_ char *deep = at(ws, "snapshots/broken/home");
        _cleanup_close_ int fd = open(deep, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        for (int i = 0; i < 300; i++) {
                ASSERT_OK(mkdirat(fd, "d", 0755));
                int next = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                ASSERT_TRUE(next >= 0);
                safe_close(fd);
                fd = next;
        }
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(snapshot_restore(ws, "broken", NULL, &err), -ELOOP);
        ASSERT_CONTAINS(error_msg(&err), "home");
        ASSERT_SAME_TREE(strdup(upper1), describe_at(ws, "upper"));
        ASSERT_SAME_TREE(strdup(home1), describe_at(ws, "home"));
        ASSERT_SAME_TREE(strdup(work1), describe_at(ws, "work"));
        ASSERT_FALSE(exists(ws, SNAPSHOT_RESTORE_TMP));

        /* A snapshot whose metadata is gone is refused before anything starts. */
        create(ws, "nometa", B1);
        _cleanup_free_ char *meta = at(ws, "snapshots/nometa/" SNAPSHOT_METADATA);
        ASSERT_OK(unlink(meta));
        error_clear(&err);
        ASSERT_TRUE(snapshot_restore(ws, "nometa", NULL, &err) < 0);
        ASSERT_CONTAINS(error_msg(&err), "metadata");
        ASSERT_SAME_TREE(strdup(upper1), describe_at(ws, "upper"));
        error_clear(&err);
        ASSERT_EQ(snapshot_restore(ws, "missing", NULL, &err), -ENOENT);
}

/* A restore killed between its swaps: the journal lets recovery put
 * the old state back. The crash state is made by hand, the way the
 * swap leaves it: upper exchanged, home not yet. */
TEST(recover_interrupted_restore)
{
        setup();
        _cleanup_free_ char *ws = make_ws("ws-recover", B1);
        create(ws, "snap", B1);
        modify(ws, B1);
        _cleanup_free_ char *upper1 = describe_at(ws, "upper"), *home1 = describe_at(ws, "home");

        _cleanup_free_ char *tmp = at(ws, SNAPSHOT_RESTORE_TMP), *tu = at(tmp, "upper"), *th = at(tmp, "home"),
                            *su = at(ws, "snapshots/snap/upper"), *sh = at(ws, "snapshots/snap/home"),
                            *wu = at(ws, "upper"), *journal = at(tmp, "journal");
        ASSERT_OK(mkdir(tmp, 0700));
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(tree_copy(su, tu, NULL, NULL, &err), err);
        ASSERT_OK_E(tree_copy(sh, th, NULL, NULL, &err), err);
        struct stat nu, nh;
        ASSERT_OK(stat(tu, &nu));
        ASSERT_OK(stat(th, &nh));
        _cleanup_free_ char *text = NULL;
        ASSERT_TRUE(asprintf(&text, "upper 1 %ju\nhome 1 %ju\n", (uintmax_t) nu.st_ino, (uintmax_t) nh.st_ino) > 0);
        ASSERT_OK(write_file_atomic(journal, text, strlen(text), 0600));
        ASSERT_OK(renameat2(AT_FDCWD, tu, AT_FDCWD, wu, RENAME_EXCHANGE));
        _cleanup_free_ char *mid = describe_at(ws, "upper");
        ASSERT_TRUE(strcmp(upper1, mid) != 0);

        ASSERT_OK_E(snapshot_recover(ws, &err), err);
        ASSERT_SAME_TREE(strdup(upper1), describe_at(ws, "upper"));
        ASSERT_SAME_TREE(strdup(home1), describe_at(ws, "home"));
        ASSERT_FALSE(exists(ws, SNAPSHOT_RESTORE_TMP));

        /* Committed (no journal): recovery only removes the old state. */
        ASSERT_OK(mkdir(tmp, 0700));
        put(tmp, "leftover", "old\n", 0600, 0, 0);
        _cleanup_free_ char *stale = at(ws, "snapshots/.create-abc123");
        ASSERT_OK(mkdir(stale, 0700));
        ASSERT_OK_E(snapshot_recover(ws, &err), err);
        ASSERT_FALSE(exists(ws, SNAPSHOT_RESTORE_TMP));
        ASSERT_FALSE(exists(ws, "snapshots/.create-abc123"));
        ASSERT_TRUE(exists(ws, "snapshots/snap"));
        ASSERT_SAME_TREE(strdup(upper1), describe_at(ws, "upper"));
}

/* ---- deferred durability ---- */

/* Replace "boot <id>" (or the whole text of a marker) with another
 * boot's id, as if the host had gone down since. */
static void pretend_other_boot(const char *path, bool journal)
{
        _cleanup_free_ char *text = NULL;
        ASSERT_OK(read_full_file(path, 64 * 1024, &text, NULL));
        const char *other = "00000000-0000-0000-0000-000000000000";
        _cleanup_free_ char *out = NULL;
        if (journal) {
                char *b = strstr(text, "boot ");
                ASSERT_TRUE(b != NULL);
                *b = 0;
                ASSERT_TRUE(asprintf(&out, "%sboot %s\n", text, other) > 0);
        } else
                out = strdup(other);
        ASSERT_OK(write_file_atomic(path, out, strlen(out), 0600));
}

TEST(deferred_create_then_settle)
{
        setup();
        _cleanup_free_ char *ws = make_ws("ws-defer-create", B1);
        _cleanup_free_ char *upper0 = describe_at(ws, "upper");
        SnapshotCreateOptions o = { .name = "d1", .with_home = true, .uid_base = B1, .gid_base = B1,
                                    .defer_sync = true };
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(snapshot_create(ws, &o, NULL, &err), err);
        ASSERT_TRUE(exists(ws, "snapshots/.unsettled-d1"));
        _cleanup_free_ char *snap = at(ws, "snapshots/d1");
        ASSERT_SAME_TREE(strdup(upper0), describe_at(snap, "upper"));
        /* Listed like any other; the note is never a snapshot. */
        SnapshotInfo *a = NULL;
        size_t n = 0;
        ASSERT_OK_E(snapshot_list(ws, &a, &n, &err), err);
        ASSERT_EQ(n, 1);
        ASSERT_STREQ(a[0].name, "d1");
        snapshot_info_array_free(a, n);

        ASSERT_OK_E(snapshot_settle(ws, &err), err);
        ASSERT_FALSE(exists(ws, "snapshots/.unsettled-d1"));
        ASSERT_SAME_TREE(strdup(upper0), describe_at(snap, "upper"));
        ASSERT_OK_E(snapshot_settle(ws, &err), err); /* nothing left: a no-op */

        /* Deleting an unsettled snapshot drops its note too. */
        o.name = "d2";
        ASSERT_OK_E(snapshot_create(ws, &o, NULL, &err), err);
        ASSERT_OK_E(snapshot_delete(ws, "d2", &err), err);
        ASSERT_FALSE(exists(ws, "snapshots/.unsettled-d2"));
        ASSERT_FALSE(exists(ws, "snapshots/d2"));
}

TEST(deferred_create_recovered_by_boot)
{
        setup();
        _cleanup_free_ char *ws = make_ws("ws-defer-boot", B1);
        SnapshotCreateOptions o = { .name = "same", .with_home = true, .uid_base = B1, .gid_base = B1,
                                    .defer_sync = true };
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(snapshot_create(ws, &o, NULL, &err), err);
        o.name = "lost";
        ASSERT_OK_E(snapshot_create(ws, &o, NULL, &err), err);
        _cleanup_free_ char *marker = at(ws, "snapshots/.unsettled-lost");
        pretend_other_boot(marker, false);

        /* Daemon start: this boot's copy is still in the page cache and
         * is kept; one written before a reboot may be incomplete. */
        ASSERT_OK_E(snapshot_recover(ws, &err), err);
        ASSERT_TRUE(exists(ws, "snapshots/same"));
        ASSERT_FALSE(exists(ws, "snapshots/.unsettled-same"));
        ASSERT_FALSE(exists(ws, "snapshots/lost"));
        ASSERT_FALSE(exists(ws, "snapshots/.unsettled-lost"));
}

TEST(deferred_restore_settles_or_rolls_back)
{
        setup();
        _cleanup_free_ char *ws = make_ws("ws-defer-restore", B1);
        _cleanup_free_ char *upper0 = describe_at(ws, "upper"), *home0 = describe_at(ws, "home");
        create(ws, "snap", B1);
        modify(ws, B1);
        SnapshotRestoreOptions ro = { .defer_sync = true };
        _cleanup_error_ Error err = ERROR_INIT;

        /* Published at once; the old state waits in .restore-tmp. */
        ASSERT_OK_E(snapshot_restore(ws, "snap", &ro, &err), err);
        ASSERT_SAME_TREE(strdup(upper0), describe_at(ws, "upper"));
        ASSERT_SAME_TREE(strdup(home0), describe_at(ws, "home"));
        ASSERT_TRUE(exists(ws, SNAPSHOT_RESTORE_TMP "/journal"));
        ASSERT_OK_E(snapshot_settle(ws, &err), err);
        ASSERT_FALSE(exists(ws, SNAPSHOT_RESTORE_TMP));
        ASSERT_SAME_TREE(strdup(upper0), describe_at(ws, "upper"));

        /* The daemon died before settling: the same boot commits it. */
        modify(ws, B1);
        ASSERT_OK_E(snapshot_restore(ws, "snap", &ro, &err), err);
        ASSERT_OK_E(snapshot_recover(ws, &err), err);
        ASSERT_FALSE(exists(ws, SNAPSHOT_RESTORE_TMP));
        ASSERT_SAME_TREE(strdup(upper0), describe_at(ws, "upper"));

        /* The host went down before settling: rolled back to the state
         * before the restore, which was on disk. */
        modify(ws, B1);
        _cleanup_free_ char *upper3 = describe_at(ws, "upper"), *home3 = describe_at(ws, "home");
        ASSERT_OK_E(snapshot_restore(ws, "snap", &ro, &err), err);
        _cleanup_free_ char *journal = at(ws, SNAPSHOT_RESTORE_TMP "/journal");
        pretend_other_boot(journal, true);
        ASSERT_OK_E(snapshot_recover(ws, &err), err);
        ASSERT_FALSE(exists(ws, SNAPSHOT_RESTORE_TMP));
        ASSERT_SAME_TREE(strdup(upper3), describe_at(ws, "upper"));
        ASSERT_SAME_TREE(strdup(home3), describe_at(ws, "home"));

        /* A second restore settles the first before it starts. */
        ASSERT_OK_E(snapshot_restore(ws, "snap", &ro, &err), err);
        ASSERT_OK_E(snapshot_restore(ws, "snap", &ro, &err), err);
        ASSERT_SAME_TREE(strdup(upper0), describe_at(ws, "upper"));
        ASSERT_OK_E(snapshot_settle(ws, &err), err);
        ASSERT_FALSE(exists(ws, SNAPSHOT_RESTORE_TMP));
}

/* ---- freezing ---- */

typedef struct FakeFreezer {
        const char *ws;
        int freezes, thaws;
        bool saw_stage_at_thaw;
        int fail_freeze, fail_thaw;
} FakeFreezer;

static int fake_freeze(void *userdata, Error *err)
{
        FakeFreezer *f = userdata;
        f->freezes++;
        if (f->fail_freeze)
                return error_set(err, EBUSY, "freezer says no");
        return 0;
}

static int fake_thaw(void *userdata, Error *err)
{
        FakeFreezer *f = userdata;
        f->thaws++;
        /* The copy is complete but not yet published while thawing. */
        _cleanup_free_ char *snaps = at(f->ws, "snapshots");
        _cleanup_closedir_ DIR *d = opendir(snaps);
        struct dirent *de;
        while (d && (de = readdir(d)))
                if (startswith(de->d_name, ".create-"))
                        f->saw_stage_at_thaw = true;
        if (f->fail_thaw)
                return error_set(err, EIO, "thaw failed");
        return 0;
}

TEST(freezer_hooks)
{
        setup();
        _cleanup_free_ char *ws = make_ws("ws-freezer", B1);
        FakeFreezer f = { .ws = ws };
        SnapshotFreezer fz = { fake_freeze, fake_thaw, &f };
        SnapshotCreateOptions o = { .name = "frozen", .with_home = true, .uid_base = B1, .gid_base = B1, .freezer = &fz };
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(snapshot_create(ws, &o, NULL, &err), err);
        ASSERT_EQ(f.freezes, 1);
        ASSERT_EQ(f.thaws, 1);
        ASSERT_TRUE(f.saw_stage_at_thaw);
        _cleanup_free_ char *snaps = at(ws, "snapshots");
        ASSERT_EQ(count_dir(snaps), 1);

        f = (FakeFreezer) { .ws = ws, .fail_freeze = 1 };
        o.name = "nofreeze";
        ASSERT_EQ(snapshot_create(ws, &o, NULL, &err), -EBUSY);
        ASSERT_CONTAINS(error_msg(&err), "freezing the workspace: freezer says no");
        error_clear(&err);
        ASSERT_EQ(f.thaws, 0);
        ASSERT_EQ(count_dir(snaps), 1);

        f = (FakeFreezer) { .ws = ws, .fail_thaw = 1 };
        o.name = "nothaw";
        ASSERT_EQ(snapshot_create(ws, &o, NULL, &err), -EIO);
        ASSERT_CONTAINS(error_msg(&err), "thawing");
        error_clear(&err);
        ASSERT_EQ(count_dir(snaps), 1);

        /* A failing copy still thaws. */
        f = (FakeFreezer) { .ws = ws };
        _cleanup_free_ char *home = at(ws, "home"), *aside = at(ws, "home-aside");
        ASSERT_OK(rename(home, aside));
        o.name = "nohome";
        ASSERT_EQ(snapshot_create(ws, &o, NULL, &err), -ENOENT);
        error_clear(&err);
        ASSERT_OK(rename(aside, home));
        ASSERT_EQ(f.freezes, 1);
        ASSERT_EQ(f.thaws, 1);
        ASSERT_EQ(count_dir(snaps), 1);
}

typedef struct CgroupFreezer {
        SnapshotFreezer real;
        const char *counter;
        char at_freeze[32], at_thaw[32];
} CgroupFreezer;

static void read_counter(const char *path, char *buf, size_t size)
{
        _cleanup_free_ char *text = NULL;
        buf[0] = 0;
        if (read_full_file(path, 64, &text, NULL) >= 0)
                snprintf(buf, size, "%s", text);
}

static int cg_freeze(void *userdata, Error *err)
{
        CgroupFreezer *c = userdata;
        int r = c->real.freeze(c->real.userdata, err);
        read_counter(c->counter, c->at_freeze, sizeof c->at_freeze);
        return r;
}

static int cg_thaw(void *userdata, Error *err)
{
        CgroupFreezer *c = userdata;
        read_counter(c->counter, c->at_thaw, sizeof c->at_thaw);
        return c->real.thaw(c->real.userdata, err);
}

static _noreturn_ void count_into(const char *path)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        for (uint64_t n = 0;; n++) {
                char buf[32];
                int len = snprintf(buf, sizeof buf, "%020ju", (uintmax_t) n);
                if (fd < 0 || pwrite(fd, buf, (size_t) len, 0) != len)
                        _exit(1);
        }
}

TEST(freeze_a_running_workspace_with_its_cgroup)
{
        setup();
        _cleanup_free_ char *ws = make_ws("ws-cgroup", B1);
        _cleanup_free_ char *counter = at(ws, "upper/counter");
        char root_name[64];
        snprintf(root_name, sizeof root_name, "enctest-snap-%d", (int) getpid());
        _cleanup_cgroup_ Cgroup *root = NULL, *cg = NULL;
        _cleanup_error_ Error err = ERROR_INIT;
        if (cgroup_root_open(root_name, NULL, &root, NULL, &err) < 0) {
                printf("# %s\n", error_msg(&err));
                SKIP("cannot create a cgroup here");
        }
        int r = cgroup_create(root, "ws", NULL, &cg, NULL, &err);
        pid_t pid = -1;
        if (r >= 0) {
                pid = fork();
                if (pid == 0) {
                        /* Wait to be moved into the group, then write. */
                        while (access(counter, F_OK) < 0)
                                usleep(1000);
                        count_into(counter);
                }
        }
        _cleanup_pid_ pid_t child = pid;
        if (r >= 0 && pid > 0)
                r = cgroup_attach(cg, pid, &err);
        if (r >= 0)
                put(ws, "upper/counter", "", 0644, B1, B1);
        usleep(50 * 1000);

        CgroupFreezer c = { .real = snapshot_freezer_for_cgroup(cg), .counter = counter };
        SnapshotFreezer fz = { cg_freeze, cg_thaw, &c };
        SnapshotCreateOptions o = { .name = "live", .with_home = true, .uid_base = B1, .gid_base = B1, .freezer = &fz };
        if (r >= 0)
                r = snapshot_create(ws, &o, NULL, &err);
        /* Thawed, the child counts on, but on a loaded machine it may not
         * have run yet: give it time (bounded) before it is killed. */
        for (int i = 0; r >= 0 && child > 0 && i < 1000; i++) {
                char now[32];
                read_counter(counter, now, sizeof now);
                if (strcmp(now, c.at_freeze) > 0)
                        break;
                usleep(10 * 1000);
        }
        if (child > 0) {
                /* The child may never have made it into the group (a
                 * failed attach): kill it by pid too, never wait blind. */
                if (cg)
                        (void) cgroup_kill(cg, &err);
                (void) kill(child, SIGKILL);
                (void) wait_for_exit(child);
                child = 0;
        }
        Error derr = ERROR_INIT;
        if (cg)
                (void) cgroup_destroy(cg, &derr);
        (void) cgroup_destroy(root, &derr);
        error_clear(&derr);
        ASSERT_OK_E(r, err);

        /* Nothing moved while frozen, and that is what was captured. */
        ASSERT_TRUE(strlen(c.at_freeze) == 20);
        ASSERT_STREQ(c.at_freeze, c.at_thaw);
        _cleanup_free_ char *snap_counter = at(ws, "snapshots/live/upper/counter");
        char captured[32];
        read_counter(snap_counter, captured, sizeof captured);
        ASSERT_STREQ(captured, c.at_freeze);
        char later[32];
        read_counter(counter, later, sizeof later);
        ASSERT_TRUE(strcmp(later, c.at_freeze) > 0);
}

/* ---- a real overlay ---- */

/* s with every "nlink=N" left out. */
static char *drop_nlink(const char *s)
{
        StrBuf b = STRBUF_INIT;
        for (const char *p = s; *p;) {
                const char *t = strstr(p, " nlink=");
                if (!t) {
                        strbuf_puts(&b, p);
                        break;
                }
                strbuf_append(&b, p, (size_t) (t - p));
                for (p = t + 7; *p >= '0' && *p <= '9'; p++)
                        ;
        }
        return strbuf_steal(&b);
}

static void assert_same_but_nlink(const char *a, const char *b)
{
        _cleanup_free_ char *x = drop_nlink(a), *y = drop_nlink(b);
        ASSERT_STREQ(x, y);
}

static char *run_in(const char *root, const char *cmd)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return NULL;
        pid_t pid = fork();
        if (pid == 0) {
                dup2(p[1], 1);
                if (chroot(root) < 0 || chdir("/") < 0)
                        _exit(127);
                execl("/bin/busybox", "sh", "-c", cmd, (char *) NULL);
                _exit(127);
        }
        close(p[1]);
        char *out = NULL;
        (void) read_full_fd(p[0], 1 << 16, &out, NULL);
        close(p[0]);
        int rc = wait_for_exit(pid);
        if (rc != 0) {
                free(out);
                return NULL;
        }
        return out;
}

static void mount_overlay(const char *lower, const char *ws, const char *merged)
{
        _cleanup_free_ char *opts = NULL;
        ASSERT_TRUE(asprintf(&opts, "lowerdir=%s,upperdir=%s/upper,workdir=%s/work", lower, ws, ws) > 0);
        if (mount("overlay", merged, "overlay", 0, opts) < 0)
                TEST_FAIL("mounting overlay %s: %m", opts);
}

TEST(overlay_merged_view_follows_restore)
{
        setup();
        _cleanup_free_ char *lower = at(scratch, "ov-lower"), *ws = at(scratch, "ov-ws"), *merged = at(scratch, "ov-merged");
        _cleanup_free_ char *cmd = NULL;
        ASSERT_TRUE(asprintf(&cmd, "bash -c '. tests/integration/lib.sh && make_busybox_rootfs %1$s && rm -f %1$s/bin/busybox && "
                                 "cp \"$(command -v busybox)\" %1$s/bin/busybox' >/dev/null 2>&1", lower) > 0);
        if (system(cmd) != 0)
                TEST_FAIL("building a busybox lower layer failed (run from the source tree)");
        ASSERT_OK(mkdir(ws, 0755));
        ASSERT_OK(mkdir(merged, 0755));
        dir(ws, "upper", 0755, 0, 0);
        dir(ws, "work", 0755, 0, 0);
        dir(lower, "data", 0755, 0, 0);
        put(lower, "data/a", "a from lower\n", 0644, 0, 0);
        put(lower, "data/b", "b from lower\n", 0644, 0, 0);
        put(lower, "data/c", "c from lower\n", 0644, 0, 0);
        dir(lower, "opt", 0755, 0, 0);
        put(lower, "opt/x", "x from lower\n", 0644, 0, 0);

        /* Phase 1, inside the overlay: a deletion (whiteout), a new file,
         * a replaced directory (opaque). */
        mount_overlay(lower, ws, merged);
        _cleanup_free_ char *out = run_in(merged, "rm /data/a && echo one > /data/new1 && rm -r /opt && mkdir /opt && "
                                                  "echo y > /opt/y && ls /data /opt");
        ASSERT_NOT_NULL(out);
        ASSERT_STREQ(out, "/data:\nb\nc\nnew1\n\n/opt:\ny\n");
        ASSERT_OK(umount2(merged, 0));
        struct stat st;
        _cleanup_free_ char *wa = at(ws, "upper/data/a"), *uopt = at(ws, "upper/opt");
        ASSERT_OK(lstat(wa, &st));
        ASSERT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == 0);
        char v[4];
        ASSERT_EQ(getxattr(uopt, "trusted.overlay.opaque", v, sizeof v), 1);
        _cleanup_free_ char *upper1 = describe_at(ws, "upper");

        SnapshotCreateOptions o = { .name = "ov", .uid_base = 0, .gid_base = 0 };
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(snapshot_create(ws, &o, NULL, &err), err);

        /* Phase 2: undo the deletion, delete something else, add more. */
        mount_overlay(lower, ws, merged);
        free(out);
        out = run_in(merged, "echo back > /data/a && rm /data/b /opt/y && echo two > /data/new2 && "
                             "echo z > /opt/z && ls /data /opt");
        ASSERT_NOT_NULL(out);
        ASSERT_STREQ(out, "/data:\na\nc\nnew1\nnew2\n\n/opt:\nz\n");
        ASSERT_OK(umount2(merged, 0));

        ASSERT_OK_E(snapshot_restore(ws, "ov", NULL, &err), err);
        /* overlayfs shares one whiteout inode, hard-linked from its work
         * dir: the copy's whiteouts have a link count of 1, so the
         * reference is the snapshot, which must equal the upper layer at
         * that moment in everything else. */
        _cleanup_free_ char *snap_upper = describe_at(ws, "snapshots/ov/upper");
        ASSERT_SAME_TREE(strdup(snap_upper), describe_at(ws, "upper"));
        assert_same_but_nlink(upper1, snap_upper);

        /* The overlay mounts again on the fresh work dir and shows
         * exactly the snapshot's view. */
        mount_overlay(lower, ws, merged);
        free(out);
        out = run_in(merged, "ls /data /opt && cat /data/new1 /opt/y /data/b && test ! -e /data/a && "
                             "test ! -e /opt/x && test ! -e /data/new2");
        (void) umount2(merged, 0);
        ASSERT_NOT_NULL(out);
        ASSERT_STREQ(out, "/data:\nb\nc\nnew1\n\n/opt:\ny\none\ny\nb from lower\n");
}
