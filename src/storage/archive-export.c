#include "storage/archive.h"

#include "base/fs.h"
#include "base/str.h"
#include "storage/archive-validate.h"
#include "storage/copy.h"
#include "storage/inode-map.h"
#include "storage/xattr.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#define EXPORT_MAX_DEPTH 256
#define EXPORT_BUF_SIZE (256 * 1024)

typedef struct ExportContext {
        struct archive *a;
        struct archive_entry *entry;
        dev_t dev;
        InodeMap links;
        StrBuf path;
        XattrList xattrs;
        char *buf;
        const StorageMonitor *mon;
        uint64_t last_ms, total_entries, total_bytes;
        unsigned depth;
        TarballStats stats;
        Error *err;
} ExportContext;

static void export_context_done(ExportContext *c)
{
        if (c->entry)
                archive_entry_free(c->entry);
        if (c->a)
                archive_write_free(c->a);
        inode_map_done(&c->links);
        strbuf_done(&c->path);
        xattr_list_done(&c->xattrs);
        free(c->buf);
}

static const char *cur_path(const ExportContext *c)
{
        return c->path.len ? c->path.data : ".";
}

static int fail(ExportContext *c, int r, const char *what)
{
        if (r == -ECANCELED)
                return error_set(c->err, ECANCELED, "export cancelled");
        return error_setc(c->err, -r, "%s %s", what, cur_path(c));
}

static int fail_archive(ExportContext *c, const char *what)
{
        int e = archive_errno(c->a);
        return error_set(c->err, e > 0 ? e : EIO, "%s %s: %s", what, cur_path(c),
                         archive_error_string(c->a) ?: "archive error");
}

static int write_data(ExportContext *c, int fd)
{
        if (!c->buf) {
                c->buf = malloc(EXPORT_BUF_SIZE);
                if (!c->buf)
                        return fail(c, -ENOMEM, "reading");
        }
        int64_t want = archive_entry_size(c->entry), done = 0;
        while (done < want) {
                ssize_t n = read(fd, c->buf, EXPORT_BUF_SIZE);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return fail(c, -errno, "reading");
                }
                if (n == 0)
                        break;
                if (n > want - done)
                        n = (ssize_t) (want - done); /* the file grew: keep the size in the header */
                if (archive_write_data(c->a, c->buf, (size_t) n) < 0)
                        return fail_archive(c, "writing data of");
                done += n;
                c->stats.bytes += (uint64_t) n;
        }
        /* The file shrank: pad with zeros so the header stays true. */
        memset(c->buf, 0, EXPORT_BUF_SIZE);
        while (done < want) {
                size_t n = want - done < EXPORT_BUF_SIZE ? (size_t) (want - done) : EXPORT_BUF_SIZE;
                if (archive_write_data(c->a, c->buf, n) < 0)
                        return fail_archive(c, "writing data of");
                done += (int64_t) n;
        }
        return 0;
}

/* An archive leaves the host: trusted.* that only mean something here
 * (an overlay's origin file handles, metacopy) stay behind. */
static int add_xattrs(ExportContext *c, int fd, int dfd, const char *name)
{
        int r = xattr_list_read(fd, dfd, name, &c->xattrs);
        if (r < 0)
                return fail(c, r, "reading extended attributes of");
        for (size_t i = 0; i < c->xattrs.n; i++) {
                const Xattr *x = &c->xattrs.items[i];
                if (startswith(x->name, "trusted.") && !tarball_trusted_xattr_portable(x->name))
                        continue;
                archive_entry_xattr_add_entry(c->entry, x->name, x->value, x->size);
        }
        return 0;
}

/* Describe the data segments of a sparse file, so the archive (and the
 * tree imported from it) keeps its holes. The data is still written as
 * one stream: libarchive's pax writer drops the hole bytes. */
static void add_sparse_map(ExportContext *c, int fd, off_t size)
{
        if (size == 0)
                return;
        off_t data_bytes = 0;
        struct { off_t off, len; } segs[256];
        size_t n = 0;
        for (off_t off = 0; off < size;) {
                off_t data = lseek(fd, off, SEEK_DATA);
                if (data < 0 || data >= size)
                        break;
                off_t hole = lseek(fd, data, SEEK_HOLE);
                if (hole < 0 || hole > size)
                        hole = size;
                if (n == ELEMENTSOF(segs))
                        return; /* too fragmented to bother: store it whole */
                segs[n].off = data;
                segs[n].len = hole - data;
                data_bytes += hole - data;
                n++;
                off = hole;
        }
        (void) lseek(fd, 0, SEEK_SET);
        if (data_bytes >= size)
                return;
        for (size_t i = 0; i < n; i++)
                archive_entry_sparse_add_entry(c->entry, segs[i].off, segs[i].len);
        /* A hole at the end still needs a (zero-length) last segment. */
        if (n == 0 || segs[n - 1].off + segs[n - 1].len < size)
                archive_entry_sparse_add_entry(c->entry, size, 0);
}

static int report(ExportContext *c, bool force)
{
        StorageProgress p = {
                .stage = PROGRESS_STAGE_EXPORTING,
                .item = cur_path(c),
                .message = "writing archive",
                .done = c->stats.entries,
                .total = c->total_entries,
                .bytes = c->stats.bytes,
                .bytes_total = c->total_bytes,
        };
        return storage_monitor_report(c->mon, &p, force, &c->last_ms);
}

static int export_dir_contents(ExportContext *c, int dfd);

/* One member. fd is open for directories and regular files. */
static int export_entry(ExportContext *c, int dfd, const char *name, const struct stat *st)
{
        archive_entry_clear(c->entry);
        archive_entry_copy_pathname(c->entry, cur_path(c));
        archive_entry_copy_stat(c->entry, st);

        const char *first = NULL;
        if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
                first = inode_map_get(&c->links, st->st_dev, st->st_ino);
                if (!first) {
                        int r = inode_map_put(&c->links, st->st_dev, st->st_ino, cur_path(c));
                        if (r < 0)
                                return fail(c, r, "recording hard link");
                }
        }

        _cleanup_close_ int fd = -EBADF;
        if (first) {
                archive_entry_copy_hardlink(c->entry, first);
                archive_entry_set_size(c->entry, 0);
        } else if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)) {
                /* O_NOATIME: exporting must not change what it exports. */
                int flags = (S_ISDIR(st->st_mode) ? O_RDONLY | O_DIRECTORY : O_RDONLY | O_NOCTTY) |
                            O_NOFOLLOW | O_CLOEXEC;
                fd = openat(dfd, name, flags | O_NOATIME);
                if (fd < 0 && errno == EPERM)
                        fd = openat(dfd, name, flags);
                if (fd < 0)
                        return fail(c, -errno, "opening");
                if (S_ISDIR(st->st_mode))
                        archive_entry_set_size(c->entry, 0);
        } else if (S_ISLNK(st->st_mode)) {
                char target[PATH_MAX + 1];
                ssize_t n = readlinkat(dfd, name, target, sizeof target);
                if (n < 0 || (size_t) n >= sizeof target)
                        return fail(c, n < 0 ? -errno : -ENAMETOOLONG, "reading symlink");
                target[n] = 0;
                archive_entry_copy_symlink(c->entry, target);
        }
        if (fd >= 0 && S_ISREG(st->st_mode) && st->st_blocks * 512 < st->st_size)
                add_sparse_map(c, fd, st->st_size);
        if (!first) {
                int r = add_xattrs(c, fd, dfd, name);
                if (r < 0)
                        return r;
        }
        if (archive_write_header(c->a, c->entry) < ARCHIVE_WARN)
                return fail_archive(c, "writing header of");
        c->stats.entries++;
        if (fd >= 0 && S_ISREG(st->st_mode)) {
                int r = write_data(c, fd);
                if (r < 0)
                        return r;
        }
        if (fd >= 0 && S_ISDIR(st->st_mode) && st->st_dev == c->dev) {
                int r = export_dir_contents(c, fd);
                if (r < 0)
                        return r;
        }
        int r = report(c, false);
        return r < 0 ? fail(c, r, "exporting") : 0;
}

static int export_dir_contents(ExportContext *c, int dfd)
{
        if (++c->depth > EXPORT_MAX_DEPTH)
                return fail(c, -ELOOP, "directory tree too deep at");
        int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return fail(c, -errno, "reading directory");
        _cleanup_closedir_ DIR *d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return fail(c, -errno, "reading directory");
        }
        int r = 0;
        for (;;) {
                errno = 0;
                struct dirent *de = readdir(d);
                if (!de) {
                        if (errno)
                                r = fail(c, -errno, "reading directory");
                        break;
                }
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                struct stat st;
                size_t old = c->path.len;
                if (old)
                        strbuf_putc(&c->path, '/');
                strbuf_puts(&c->path, de->d_name);
                if (c->path.oom) {
                        r = fail(c, -ENOMEM, "exporting");
                        break;
                }
                if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno != ENOENT) {
                                r = fail(c, -errno, "inspecting");
                                break;
                        }
                } else if (!S_ISSOCK(st.st_mode)) {
                        r = export_entry(c, dfd, de->d_name, &st);
                        if (r < 0)
                                break;
                }
                c->path.len = old;
                c->path.data[old] = 0;
        }
        c->depth--;
        return r;
}

static int add_filter(struct archive *a, TarballCompression comp)
{
        switch (comp) {
        case TARBALL_NONE:
                return archive_write_add_filter_none(a);
        case TARBALL_GZIP:
                return archive_write_add_filter_gzip(a);
        case TARBALL_ZSTD: {
                int r = archive_write_add_filter_zstd(a);
                /* Older libarchive has no threads option: fine. */
                if (r == ARCHIVE_OK)
                        (void) archive_write_set_filter_option(a, "zstd", "threads", "2");
                return r;
        }
        default:
                return ARCHIVE_FATAL;
        }
}

int tarball_export_fd(int src_fd, int out_fd, TarballCompression comp, const StorageMonitor *mon,
                      TarballStats *ret_stats, Error *err)
{
        struct stat st;
        if (fstat(src_fd, &st) < 0)
                return error_setc(err, errno, "inspecting export source");
        if (!S_ISDIR(st.st_mode))
                return error_set(err, ENOTDIR, "export source is not a directory");
        _cleanup_(export_context_done) ExportContext c = {
                .a = archive_write_new(),
                .entry = archive_entry_new(),
                .dev = st.st_dev,
                .path = STRBUF_INIT,
                .xattrs = XATTR_LIST_INIT,
                .mon = mon,
                .err = err,
        };
        if (!c.a || !c.entry)
                return error_set(err, ENOMEM, "out of memory");
        if (mon && mon->progress)
                tree_count(src_fd, &c.total_entries, &c.total_bytes);
        /* Full pax: nanosecond times, xattrs, long names, any id. */
        if (archive_write_set_format_pax(c.a) != ARCHIVE_OK ||
            /* File names are bytes: never convert them through the locale. */
            archive_write_set_format_option(c.a, "pax", "hdrcharset", "BINARY") != ARCHIVE_OK ||
            add_filter(c.a, comp) != ARCHIVE_OK ||
            archive_write_set_bytes_in_last_block(c.a, 1) != ARCHIVE_OK ||
            archive_write_open_fd(c.a, out_fd) != ARCHIVE_OK)
                return fail_archive(&c, "starting archive for");
        int r = export_entry(&c, src_fd, ".", &st);
        if (r < 0)
                return r;
        if (archive_write_close(c.a) != ARCHIVE_OK)
                return fail_archive(&c, "finishing archive of");
        r = report(&c, true);
        if (r < 0)
                return fail(&c, r, "exporting");
        if (ret_stats)
                *ret_stats = c.stats;
        return 0;
}

int tarball_export(const char *src, const char *output, bool replace, const StorageMonitor *mon,
                   TarballStats *ret_stats, Error *err)
{
        TarballCompression comp;
        int r = tarball_compression_from_name(output, &comp, err);
        if (r < 0)
                return r;
        struct stat st;
        if (!replace && lstat(output, &st) == 0)
                return error_set(err, EEXIST, "%s already exists", output);
        _cleanup_close_ int sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sfd < 0)
                return error_setc(err, errno, "opening %s", src);
        _cleanup_free_ char *tmp = NULL;
        if (asprintf(&tmp, "%s.tmp-XXXXXX", output) < 0)
                return error_set(err, ENOMEM, "out of memory");
        _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return error_setc(err, errno, "creating %s", tmp);
        r = tarball_export_fd(sfd, fd, comp, mon, ret_stats, err);
        if (r >= 0 && fsync(fd) < 0)
                r = error_setc(err, errno, "writing %s", tmp);
        if (r >= 0) {
                int flags = replace ? 0 : RENAME_NOREPLACE;
                if (renameat2(AT_FDCWD, tmp, AT_FDCWD, output, flags) < 0)
                        r = errno == EEXIST ? error_set(err, EEXIST, "%s already exists", output)
                                            : error_setc(err, errno, "moving the archive to %s", output);
        }
        if (r < 0) {
                (void) unlink(tmp);
                return r == -ECANCELED ? r : error_wrap(err, "exporting %s to %s", src, output);
        }
        return 0;
}
