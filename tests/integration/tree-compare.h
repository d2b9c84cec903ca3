/* Whether a directory tree is an exact copy of another, for the storage
 * integration tests (copies, archive round trips): type, mode, owner,
 * size, content, nanosecond mtimes (of directories after their walk)
 * and, when asked, atimes, xattrs, device numbers, symlink targets and
 * the hard-link structure both ways (names of one source inode are
 * names of one copied inode, and of no other). Sockets in the source
 * must be absent from the copy; mounts below the source are not entered,
 * as a copy does not cross them. The walk also counts, in CopyStats
 * terms, what a copy of the source should report. Static inline, so a
 * test uses what it needs. */
#pragma once

#include "base/str.h"
#include "storage/copy.h"
#include "storage/xattr.h"
#include "test.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

typedef struct TreeLinkPair {
        ino_t a, b;
} TreeLinkPair;

typedef struct TreeCompare {
        bool atime;           /* compare access times (not of directories and symlinks) */
        TreeLinkPair *links;  /* source inode -> copy inode, for inodes with several names */
        size_t n_links;
        CopyStats counted;    /* what a copy of the source reports, counted from the source */
        char diff[4096];      /* the first difference */
} TreeCompare;

static inline bool tree_compare_differ(TreeCompare *c, const char *path, const char *what)
{
        if (!c->diff[0])
                snprintf(c->diff, sizeof c->diff, "%s: %s differs", path, what);
        return false;
}

static inline bool tree_compare_same_time(struct timespec a, struct timespec b)
{
        return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static inline bool tree_compare_same_content(int adfd, int bdfd, const char *name)
{
        _cleanup_close_ int a = openat(adfd, name, O_RDONLY | O_NOATIME | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_close_ int b = openat(bdfd, name, O_RDONLY | O_NOATIME | O_NOFOLLOW | O_CLOEXEC);
        if (a < 0 || b < 0)
                return false;
        static char ba[1 << 16], bb[1 << 16];
        for (;;) {
                ssize_t na = read(a, ba, sizeof ba), nb = read(b, bb, sizeof bb);
                if (na != nb || na < 0)
                        return false;
                if (na == 0)
                        return true;
                if (memcmp(ba, bb, (size_t) na) != 0)
                        return false;
        }
}

/* Data bytes outside holes: what a copy without reflinks moves. */
static inline uint64_t tree_compare_data_bytes(int dfd, const char *name, off_t size)
{
        _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOATIME | O_NOFOLLOW | O_CLOEXEC);
        uint64_t n = 0;
        for (off_t off = 0; fd >= 0 && off < size;) {
                off_t data = lseek(fd, off, SEEK_DATA);
                if (data < 0 || data >= size)
                        break;
                off_t hole = lseek(fd, data, SEEK_HOLE);
                if (hole < 0 || hole > size)
                        hole = size;
                n += (uint64_t) (hole - data);
                off = hole;
        }
        return n;
}

/* by_fd: read through an fd (directories and regular files); other
 * types by name without following. */
static inline bool tree_compare_same_xattrs(int adfd, int bdfd, const char *name, bool by_fd)
{
        _cleanup_xattr_list_ XattrList xa = XATTR_LIST_INIT, xb = XATTR_LIST_INIT;
        _cleanup_close_ int a = -EBADF, b = -EBADF;
        if (by_fd) {
                a = openat(adfd, name, O_RDONLY | O_NOATIME | O_NOFOLLOW | O_CLOEXEC);
                b = openat(bdfd, name, O_RDONLY | O_NOATIME | O_NOFOLLOW | O_CLOEXEC);
                if (a < 0 || b < 0)
                        return false;
        }
        if (xattr_list_read(a, adfd, name, &xa) < 0 || xattr_list_read(b, bdfd, name, &xb) < 0 || xa.n != xb.n)
                return false;
        for (size_t i = 0; i < xa.n; i++) {
                bool found = false;
                for (size_t j = 0; j < xb.n && !found; j++)
                        found = streq(xa.items[i].name, xb.items[j].name) && xa.items[i].size == xb.items[j].size &&
                                memcmp(xa.items[i].value, xb.items[j].value, xa.items[i].size) == 0;
                if (!found)
                        return false;
        }
        return true;
}

/* Names of one source inode are names of one copied inode, and names
 * of different source inodes are of different copies. *ret_first: the
 * first name met of its inode. */
static inline bool tree_compare_same_link_group(TreeCompare *c, const struct stat *a, const struct stat *b, bool *ret_first)
{
        *ret_first = true;
        if (a->st_nlink != b->st_nlink)
                return false;
        if (S_ISDIR(a->st_mode) || a->st_nlink < 2)
                return true;
        for (size_t i = 0; i < c->n_links; i++) {
                if (c->links[i].a == a->st_ino) {
                        *ret_first = false;
                        return c->links[i].b == b->st_ino;
                }
                if (c->links[i].b == b->st_ino)
                        return false;
        }
        TreeLinkPair *l = realloc(c->links, (c->n_links + 1) * sizeof(TreeLinkPair));
        if (!l)
                return false;
        c->links = l;
        c->links[c->n_links++] = (TreeLinkPair) { a->st_ino, b->st_ino };
        return true;
}

/* What a copy reports for this source entry. */
static inline void tree_compare_count_entry(TreeCompare *c, int adfd, const char *name, const struct stat *a, bool first)
{
        c->counted.entries++;
        if (!first)
                c->counted.hardlinks++;
        else if (S_ISREG(a->st_mode)) {
                c->counted.files++;
                c->counted.bytes += tree_compare_data_bytes(adfd, name, a->st_size);
        } else if (S_ISDIR(a->st_mode))
                c->counted.dirs++;
        else if (S_ISLNK(a->st_mode))
                c->counted.symlinks++;
        else
                c->counted.specials++;
}

static inline size_t count_entries(int dfd, bool skip_sockets)
{
        int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        size_t n = 0;
        struct dirent *de;
        while (d && (de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..") && !(skip_sockets && de->d_type == DT_SOCK))
                        n++;
        return n;
}

static inline bool tree_compare_entry(TreeCompare *c, int adfd, int bdfd, const char *name, const char *path);

static inline bool tree_compare_dir(TreeCompare *c, int adfd, int bdfd, const char *path)
{
        if (count_entries(adfd, true) != count_entries(bdfd, false))
                return tree_compare_differ(c, path, "number of entries");
        int fd = openat(adfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;
        while (d && (de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                char sub[8192];
                snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
                if (!tree_compare_entry(c, adfd, bdfd, de->d_name, sub))
                        return false;
        }
        return true;
}

/* The children of a directory, unless it is a mount point below the
 * source; then its mtime, which neither the children nor the reading
 * change. */
static inline bool tree_compare_dir_entry(TreeCompare *c, int adfd, int bdfd, const char *name, const char *path,
                                          const struct stat *a, const struct stat *b)
{
        _cleanup_close_ int ca = openat(adfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_close_ int cb = openat(bdfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (ca < 0 || cb < 0)
                return tree_compare_differ(c, path, "directory");
        struct stat sa;
        if (fstat(ca, &sa) == 0 && sa.st_dev == a->st_dev && !tree_compare_dir(c, ca, cb, path))
                return false;
        if (!tree_compare_same_time(a->st_mtim, b->st_mtim))
                return tree_compare_differ(c, path, "directory mtime");
        return true;
}

static inline bool tree_compare_entry(TreeCompare *c, int adfd, int bdfd, const char *name, const char *path)
{
        struct stat a, b;
        if (fstatat(adfd, name, &a, AT_SYMLINK_NOFOLLOW) < 0)
                return tree_compare_differ(c, path, "stat of source");
        if (S_ISSOCK(a.st_mode)) {
                c->counted.skipped++;
                return fstatat(bdfd, name, &b, AT_SYMLINK_NOFOLLOW) < 0 || tree_compare_differ(c, path, "socket presence");
        }
        if (fstatat(bdfd, name, &b, AT_SYMLINK_NOFOLLOW) < 0)
                return tree_compare_differ(c, path, "presence");
        if (a.st_mode != b.st_mode)
                return tree_compare_differ(c, path, "mode");
        if (a.st_uid != b.st_uid || a.st_gid != b.st_gid)
                return tree_compare_differ(c, path, "owner");
        if (a.st_size != b.st_size && !S_ISDIR(a.st_mode))
                return tree_compare_differ(c, path, "size");
        if (!S_ISDIR(a.st_mode) && !tree_compare_same_time(a.st_mtim, b.st_mtim))
                return tree_compare_differ(c, path, "mtime");
        /* Reading a directory or a symlink may touch its atime. */
        if (c->atime && !S_ISDIR(a.st_mode) && !S_ISLNK(a.st_mode) && !tree_compare_same_time(a.st_atim, b.st_atim))
                return tree_compare_differ(c, path, "atime");
        if (a.st_ino == b.st_ino && a.st_dev == b.st_dev)
                return tree_compare_differ(c, path, "inode (the copy is the source)");
        bool first;
        if (!tree_compare_same_link_group(c, &a, &b, &first))
                return tree_compare_differ(c, path, "hard links");
        if ((S_ISCHR(a.st_mode) || S_ISBLK(a.st_mode)) && a.st_rdev != b.st_rdev)
                return tree_compare_differ(c, path, "device number");
        /* A later name of an inode is the inode already compared. */
        if (S_ISREG(a.st_mode) && first && !tree_compare_same_content(adfd, bdfd, name))
                return tree_compare_differ(c, path, "content");
        if (S_ISREG(a.st_mode) && b.st_blocks > a.st_blocks + 64)
                return tree_compare_differ(c, path, "sparseness");
        if (S_ISLNK(a.st_mode)) {
                char ta[4096] = "", tb[4096] = "";
                if (readlinkat(adfd, name, ta, sizeof ta - 1) < 0 || readlinkat(bdfd, name, tb, sizeof tb - 1) < 0 ||
                    !streq(ta, tb))
                        return tree_compare_differ(c, path, "symlink target");
        }
        if (!tree_compare_same_xattrs(adfd, bdfd, name, S_ISDIR(a.st_mode) || S_ISREG(a.st_mode)))
                return tree_compare_differ(c, path, "xattrs");
        tree_compare_count_entry(c, adfd, name, &a, first);
        return !S_ISDIR(a.st_mode) || tree_compare_dir_entry(c, adfd, bdfd, name, path, &a, &b);
}

/* Fails the test when the tree b is not an exact copy of a (atime:
 * access times included). ret_counted, when not NULL, gets what a copy
 * of a reports. */
static inline void assert_same_tree(const char *a, const char *b, bool atime, CopyStats *ret_counted)
{
        TreeCompare c = { .atime = atime };
        _cleanup_close_ int pa = open(a, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int pb = open(b, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(pa >= 0 && pb >= 0);
        bool same = tree_compare_entry(&c, pa, pb, ".", ".");
        free(c.links);
        if (!same)
                TEST_FAIL("%s and %s differ: %s", a, b, c.diff);
        if (ret_counted)
                *ret_counted = c.counted;
}
