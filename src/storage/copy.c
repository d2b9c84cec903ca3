#include "storage/copy.h"

#include "base/fs.h"
#include "base/str.h"
#include "storage/inode-map.h"
#include "storage/xattr.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define COPY_MAX_DEPTH 256
#define COPY_BUF_SIZE (256 * 1024)

typedef struct CopyContext {
        dev_t dev;          /* the source file system; never left */
        int dst_root_fd;
        InodeMap links;
        StrBuf path;        /* current path relative to the root */
        XattrList scratch;
        const StorageMonitor *mon;
        uint64_t last_ms;
        uint64_t total_entries, total_bytes;
        bool no_reflink, no_copy_range;
        char *buf;          /* read/write fallback */
        unsigned depth;
        CopyStats stats;
        Error *err;
} CopyContext;

static void copy_context_done(CopyContext *c)
{
        inode_map_done(&c->links);
        strbuf_done(&c->path);
        xattr_list_done(&c->scratch);
        free(c->buf);
}

static const char *cur_path(const CopyContext *c)
{
        return c->path.data && c->path.len ? c->path.data : ".";
}

static size_t path_push(CopyContext *c, const char *name)
{
        size_t old = c->path.len;
        if (old)
                strbuf_putc(&c->path, '/');
        strbuf_puts(&c->path, name);
        return old;
}

static void path_pop(CopyContext *c, size_t old)
{
        c->path.len = old;
        if (c->path.data)
                c->path.data[old] = 0;
}

static int fail(CopyContext *c, int r, const char *what)
{
        if (r == -ECANCELED)
                return error_set(c->err, ECANCELED, "copy cancelled");
        return error_setc(c->err, -r, "%s %s", what, cur_path(c));
}

static int report(CopyContext *c, bool force)
{
        StorageProgress p = {
                .stage = PROGRESS_STAGE_COPYING,
                .item = cur_path(c),
                .message = "copying files",
                .done = c->stats.entries,
                .total = c->total_entries,
                .bytes = c->stats.bytes,
                .bytes_total = c->total_bytes,
        };
        return storage_monitor_report(c->mon, &p, force, &c->last_ms);
}

/* ---- counting (for progress totals) ---- */

static void count_tree(int dfd, dev_t dev, unsigned depth, uint64_t *entries, uint64_t *bytes)
{
        DIR *d = fdopendir(dfd);
        if (!d) {
                safe_close(dfd);
                return;
        }
        _cleanup_closedir_ DIR *dd = d;
        if (depth > COPY_MAX_DEPTH)
                return;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                struct stat st;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISSOCK(st.st_mode))
                        continue;
                (*entries)++;
                if (S_ISREG(st.st_mode))
                        *bytes += (uint64_t) st.st_size;
                if (S_ISDIR(st.st_mode) && st.st_dev == dev) {
                        int cfd = openat(dirfd(d), de->d_name,
                                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (cfd >= 0)
                                count_tree(cfd, dev, depth + 1, entries, bytes);
                }
        }
}

void tree_count(int dir_fd, uint64_t *ret_entries, uint64_t *ret_bytes)
{
        uint64_t entries = 1, bytes = 0;
        struct stat st;
        int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0 && fstat(fd, &st) == 0) {
                count_tree(fd, st.st_dev, 0, &entries, &bytes);
        } else
                safe_close(fd);
        *ret_entries = entries;
        *ret_bytes = bytes;
}

/* ---- metadata ---- */

/* Owner, xattrs, mode, times, in that order: chown clears setuid bits
 * and security.capability, so both are restored after it. */
static int apply_metadata(CopyContext *c, const struct stat *st, int src_fd, int src_dfd,
                          const char *name, int dst_fd, int dst_dfd)
{
        int r = dst_fd >= 0 ? RET_NERRNO(fchown(dst_fd, st->st_uid, st->st_gid))
                            : RET_NERRNO(fchownat(dst_dfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW));
        if (r < 0)
                return fail(c, r, "changing owner of");

        const char *key = NULL;
        r = xattr_copy(src_fd, src_dfd, name, dst_fd, dst_dfd, name, &key, &c->scratch);
        if (r < 0)
                return error_setc(c->err, -r, "copying extended attribute %s of %s",
                                  key ? key : "(list)", cur_path(c));

        if (!S_ISLNK(st->st_mode)) {
                mode_t mode = st->st_mode & 07777;
                r = dst_fd >= 0 ? RET_NERRNO(fchmod(dst_fd, mode)) : RET_NERRNO(fchmodat(dst_dfd, name, mode, 0));
                if (r < 0)
                        return fail(c, r, "changing mode of");
        }

        const struct timespec ts[2] = { st->st_atim, st->st_mtim };
        r = dst_fd >= 0 ? RET_NERRNO(futimens(dst_fd, ts))
                        : RET_NERRNO(utimensat(dst_dfd, name, ts, AT_SYMLINK_NOFOLLOW));
        if (r < 0)
                return fail(c, r, "setting times of");
        return 0;
}

/* ---- file data ---- */

static int copy_range_rw(CopyContext *c, int src, int dst, off_t off, off_t end)
{
        if (!c->buf) {
                c->buf = malloc(COPY_BUF_SIZE);
                if (!c->buf)
                        return -ENOMEM;
        }
        while (off < end) {
                size_t want = (size_t) (end - off) < COPY_BUF_SIZE ? (size_t) (end - off) : COPY_BUF_SIZE;
                ssize_t n = pread(src, c->buf, want, off);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break; /* the file shrank */
                for (ssize_t w = 0; w < n;) {
                        ssize_t k = pwrite(dst, c->buf + w, (size_t) (n - w), off + w);
                        if (k < 0) {
                                if (errno == EINTR)
                                        continue;
                                return -errno;
                        }
                        w += k;
                }
                off += n;
                c->stats.bytes += (uint64_t) n;
        }
        return 0;
}

static int copy_range(CopyContext *c, int src, int dst, off_t off, off_t end)
{
        while (!c->no_copy_range && off < end) {
                loff_t in = off, out = off;
                size_t want = (size_t) (end - off) < (1u << 30) ? (size_t) (end - off) : (1u << 30);
                ssize_t n = copy_file_range(src, &in, dst, &out, want, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
                                c->no_copy_range = true;
                                break;
                        }
                        return -errno;
                }
                if (n == 0)
                        return 0; /* the file shrank */
                off += n;
                c->stats.bytes += (uint64_t) n;
        }
        return copy_range_rw(c, src, dst, off, end);
}

static int copy_data(CopyContext *c, int src, int dst, off_t size)
{
        if (size == 0)
                return 0;
        if (!c->no_reflink) {
                if (ioctl(dst, FICLONE, src) == 0) {
                        c->stats.bytes += (uint64_t) size;
                        c->stats.reflinked++;
                        return 0;
                }
                /* Not a reflink-capable file system (or different ones):
                 * stop asking for the rest of this copy. */
                if (errno == EOPNOTSUPP || errno == ENOTTY || errno == EXDEV || errno == EINVAL ||
                    errno == ENOSYS)
                        c->no_reflink = true;
        }
        /* Copy only the data segments, so sparse files stay sparse. */
        for (off_t off = 0; off < size;) {
                off_t data = lseek(src, off, SEEK_DATA);
                if (data < 0) {
                        if (errno == ENXIO)
                                break; /* a hole up to the end */
                        data = off; /* no SEEK_DATA here: copy everything */
                }
                if (data >= size)
                        break;
                off_t hole = lseek(src, data, SEEK_HOLE);
                if (hole < 0 || hole > size)
                        hole = size;
                int r = copy_range(c, src, dst, data, hole);
                if (r < 0)
                        return r;
                off = hole;
        }
        return RET_NERRNO(ftruncate(dst, size));
}

static int open_source_file(int dfd, const char *name)
{
        int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NOATIME);
        if (fd < 0 && errno == EPERM)
                fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        return fd < 0 ? -errno : fd;
}

static int copy_file(CopyContext *c, int sdfd, int ddfd, const char *name, const struct stat *st)
{
        _cleanup_close_ int src = open_source_file(sdfd, name);
        if (src < 0)
                return fail(c, src, "opening");
        _cleanup_close_ int dst = openat(ddfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (dst < 0)
                return fail(c, -errno, "creating");
        int r = copy_data(c, src, dst, st->st_size);
        if (r < 0)
                return fail(c, r, "copying data of");
        c->stats.files++;
        return apply_metadata(c, st, src, -1, name, dst, -1);
}

static int copy_symlink(CopyContext *c, int sdfd, int ddfd, const char *name, const struct stat *st)
{
        char target[PATH_MAX + 1];
        ssize_t n = readlinkat(sdfd, name, target, sizeof target);
        if (n < 0)
                return fail(c, -errno, "reading symlink");
        if ((size_t) n >= sizeof target)
                return fail(c, -ENAMETOOLONG, "reading symlink");
        target[n] = 0;
        if (symlinkat(target, ddfd, name) < 0)
                return fail(c, -errno, "creating symlink");
        c->stats.symlinks++;
        return apply_metadata(c, st, -1, sdfd, name, -1, ddfd);
}

static int copy_special(CopyContext *c, int sdfd, int ddfd, const char *name, const struct stat *st)
{
        if (mknodat(ddfd, name, st->st_mode & (S_IFMT | 07777), st->st_rdev) < 0)
                return fail(c, -errno, "creating device node or fifo");
        c->stats.specials++;
        return apply_metadata(c, st, -1, sdfd, name, -1, ddfd);
}

static int copy_dir_contents(CopyContext *c, int sdfd, int ddfd);

static int copy_dir(CopyContext *c, int sdfd, int ddfd, const char *name, const struct stat *st)
{
        if (mkdirat(ddfd, name, 0700) < 0)
                return fail(c, -errno, "creating directory");
        _cleanup_close_ int dst = openat(ddfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dst < 0)
                return fail(c, -errno, "opening directory");
        _cleanup_close_ int src = openat(sdfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (src < 0)
                return fail(c, -errno, "opening directory");
        c->stats.dirs++;
        /* A mount point is copied as an empty directory: the walk stays
         * on the source file system. */
        if (st->st_dev == c->dev) {
                int r = copy_dir_contents(c, src, dst);
                if (r < 0)
                        return r;
        }
        return apply_metadata(c, st, src, -1, name, dst, -1);
}

/* A later name of an inode already copied becomes a hard link to it. */
static int try_hardlink(CopyContext *c, int ddfd, const char *name, const struct stat *st)
{
        if (S_ISDIR(st->st_mode) || st->st_nlink < 2)
                return 0;
        const char *first = inode_map_get(&c->links, st->st_dev, st->st_ino);
        if (!first)
                return 0;
        if (linkat(c->dst_root_fd, first, ddfd, name, 0) < 0)
                return fail(c, -errno, "creating hard link");
        c->stats.hardlinks++;
        return 1;
}

static int copy_entry(CopyContext *c, int sdfd, int ddfd, const char *name)
{
        struct stat st;
        if (fstatat(sdfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : fail(c, -errno, "inspecting");
        if (S_ISSOCK(st.st_mode)) {
                c->stats.skipped++;
                return 0;
        }
        int r = try_hardlink(c, ddfd, name, &st);
        if (r != 0)
                goto done;
        switch (st.st_mode & S_IFMT) {
        case S_IFDIR:
                r = copy_dir(c, sdfd, ddfd, name, &st);
                break;
        case S_IFREG:
                r = copy_file(c, sdfd, ddfd, name, &st);
                break;
        case S_IFLNK:
                r = copy_symlink(c, sdfd, ddfd, name, &st);
                break;
        case S_IFCHR:
        case S_IFBLK:
        case S_IFIFO:
                r = copy_special(c, sdfd, ddfd, name, &st);
                break;
        default:
                return fail(c, -EBADFD, "unknown file type of");
        }
        if (r >= 0 && !S_ISDIR(st.st_mode) && st.st_nlink > 1) {
                r = inode_map_put(&c->links, st.st_dev, st.st_ino, c->path.data);
                if (r < 0)
                        return fail(c, r, "recording hard link");
        }
done:
        if (r < 0)
                return r;
        c->stats.entries++;
        r = report(c, false);
        return r < 0 ? fail(c, r, "copying") : 0;
}

static int copy_dir_contents(CopyContext *c, int sdfd, int ddfd)
{
        if (++c->depth > COPY_MAX_DEPTH)
                return fail(c, -ELOOP, "directory tree too deep at");
        /* A new open file description: its own directory offset. */
        int fd = openat(sdfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return fail(c, -errno, "reading directory");
        _cleanup_closedir_ DIR *d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return fail(c, -errno, "reading directory");
        }
        struct dirent *de;
        int r = 0;
        for (;;) {
                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                r = fail(c, -errno, "reading directory");
                        break;
                }
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                size_t old = path_push(c, de->d_name);
                r = c->path.oom ? fail(c, -ENOMEM, "copying") : copy_entry(c, sdfd, ddfd, de->d_name);
                if (r >= 0)
                        path_pop(c, old);
                if (r < 0)
                        break;
        }
        c->depth--;
        return r;
}

int tree_copy_fd(int src_fd, int dst_parent_fd, const char *dst_name, const StorageMonitor *mon,
                 CopyStats *ret_stats, Error *err)
{
        struct stat st;
        if (fstat(src_fd, &st) < 0)
                return error_setc(err, errno, "inspecting copy source");
        if (!S_ISDIR(st.st_mode))
                return error_set(err, ENOTDIR, "copy source is not a directory");

        _cleanup_(copy_context_done) CopyContext c = {
                .dev = st.st_dev,
                .dst_root_fd = -EBADF,
                .path = STRBUF_INIT,
                .scratch = XATTR_LIST_INIT,
                .mon = mon,
                .err = err,
        };
        if (mon && mon->progress)
                tree_count(src_fd, &c.total_entries, &c.total_bytes);

        if (mkdirat(dst_parent_fd, dst_name, 0700) < 0)
                return error_setc(err, errno, "creating copy destination %s", dst_name);
        _cleanup_close_ int dst = openat(dst_parent_fd, dst_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int r = dst < 0 ? error_setc(err, errno, "opening copy destination %s", dst_name) : 0;
        if (r >= 0) {
                c.dst_root_fd = dst;
                r = copy_dir_contents(&c, src_fd, dst);
        }
        if (r >= 0) {
                c.stats.dirs++;
                c.stats.entries++;
                r = apply_metadata(&c, &st, src_fd, -1, ".", dst, -1);
        }
        if (r >= 0) {
                r = report(&c, true);
                if (r < 0)
                        r = fail(&c, r, "copying");
        }
        if (r < 0) {
                dst = safe_close(dst);
                (void) rm_rf_at(dst_parent_fd, dst_name);
                return r;
        }
        if (ret_stats)
                *ret_stats = c.stats;
        return 0;
}

int tree_copy(const char *src, const char *dst, const StorageMonitor *mon, CopyStats *ret_stats,
              Error *err)
{
        _cleanup_close_ int sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sfd < 0)
                return error_setc(err, errno, "opening %s", src);
        _cleanup_free_ char *parent = strdup(dst);
        if (!parent)
                return error_set(err, ENOMEM, "out of memory");
        char *slash = strrchr(parent, '/');
        const char *name = dst;
        if (slash) {
                name = dst + (slash - parent) + 1;
                if (slash == parent)
                        slash[1] = 0;
                else
                        *slash = 0;
        }
        if (!*name || streq(name, ".") || streq(name, ".."))
                return error_set(err, EINVAL, "invalid copy destination %s", dst);
        _cleanup_close_ int pfd = open(slash ? parent : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0)
                return error_setc(err, errno, "opening %s", slash ? parent : ".");
        int r = tree_copy_fd(sfd, pfd, name, mon, ret_stats, err);
        if (r < 0)
                return error_wrap(err, "copying %s to %s", src, dst);
        return 0;
}
