#include "storage/tar-tree.h"
#include "base/fs.h"
#include "base/str.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAR_TREE_MAX_DEPTH 512
#define TAR_TREE_BUF (128u * 1024)

/* ---- writing ---- */

typedef struct Writer {
        struct archive *a;
        struct archive_entry *entry;
        char *buf;
        size_t entries;
} Writer;

static int archive_fail(struct archive *a, Error *err, const char *what, const char *name)
{
        int e = archive_errno(a);
        return error_set(err, e > 0 ? e : EIO, "%s %s: %s", what, name, archive_error_string(a) ?: "archive error");
}

static int write_data(Writer *w, int fd, const char *name, Error *err)
{
        for (;;) {
                ssize_t n = read(fd, w->buf, TAR_TREE_BUF);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return error_setc(err, errno, "reading %s", name);
                if (n == 0)
                        return 0;
                if (archive_write_data(w->a, w->buf, (size_t) n) < 0)
                        return archive_fail(w->a, err, "archiving", name);
        }
}

static int write_tree(Writer *w, int parent, const char *entry_name, const char *disk_name, const char *shown,
                      unsigned depth, Error *err);

static int write_dir_entries(Writer *w, int dirfd, const char *entry_name, const char *shown, unsigned depth,
                             Error *err)
{
        int fd2 = dup(dirfd);
        if (fd2 < 0)
                return error_setc(err, errno, "reading %s", shown);
        DIR *d = fdopendir(fd2);
        if (!d) {
                safe_close(fd2);
                return error_setc(err, errno, "reading %s", shown);
        }
        int r = 0;
        struct dirent *de;
        errno = 0;
        while (r >= 0 && (de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *child = path_join(entry_name, de->d_name);
                _cleanup_free_ char *child_shown = path_join(shown, de->d_name);
                if (!child || !child_shown)
                        r = error_set(err, ENOMEM, "out of memory");
                else
                        r = write_tree(w, dirfd, child, de->d_name, child_shown, depth + 1, err);
                errno = 0;
        }
        if (r >= 0 && errno)
                r = error_setc(err, errno, "reading %s", shown);
        closedir(d);
        return r;
}

/* One entry (and, for a directory, all below it), opened relative to
 * parent without following any symlink. */
static int write_tree(Writer *w, int parent, const char *entry_name, const char *disk_name, const char *shown,
                      unsigned depth, Error *err)
{
        if (depth > TAR_TREE_MAX_DEPTH)
                return error_set(err, ELOOP, "%s is nested more than %u directories deep", shown, TAR_TREE_MAX_DEPTH);
        struct stat st;
        if (fstatat(parent, disk_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return error_setc(err, errno, "reading %s", shown);
        if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode))
                return 0; /* devices, fifos and sockets do not travel */
        _cleanup_close_ int fd = -EBADF;
        if (!S_ISLNK(st.st_mode)) {
                fd = openat(parent, disk_name,
                            O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
                                    (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
                if (fd < 0)
                        return error_setc(err, errno, "opening %s", shown);
                if (fstat(fd, &st) < 0)
                        return error_setc(err, errno, "reading %s", shown);
        }
        archive_entry_clear(w->entry);
        archive_entry_copy_pathname(w->entry, entry_name);
        archive_entry_copy_stat(w->entry, &st);
        if (S_ISLNK(st.st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlinkat(parent, disk_name, target, sizeof target - 1);
                if (n < 0)
                        return error_setc(err, errno, "reading the symlink %s", shown);
                target[n] = 0;
                archive_entry_copy_symlink(w->entry, target);
        }
        if (!S_ISREG(st.st_mode))
                archive_entry_set_size(w->entry, 0);
        if (archive_write_header(w->a, w->entry) < ARCHIVE_WARN)
                return archive_fail(w->a, err, "archiving", shown);
        w->entries++;
        if (S_ISREG(st.st_mode))
                return write_data(w, fd, shown, err);
        if (S_ISDIR(st.st_mode))
                return write_dir_entries(w, fd, entry_name, shown, depth, err);
        return 0;
}

int tar_tree_write(const char *path, const char *name, int fd, Error *err)
{
        if (!name || !name[0] || strchr(name, '/') || streq(name, ".") || streq(name, ".."))
                return error_set(err, EINVAL, "'%s' cannot name the top of a copy", name ?: "");
        /* The parent is resolved as any path; the last component is
         * never followed. */
        _cleanup_free_ char *copy = strdup(path);
        if (!copy)
                return error_set(err, ENOMEM, "out of memory");
        char *slash = strrchr(copy, '/');
        const char *base = slash ? slash + 1 : copy;
        const char *dir = slash ? (slash == copy ? "/" : (*slash = 0, copy)) : ".";
        if (!*base || streq(base, ".") || streq(base, ".."))
                return error_set(err, EINVAL, "%s does not name a file or directory; name it without a trailing "
                                 "'/', '.' or '..'", path);
        _cleanup_close_ int parent = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (parent < 0)
                return error_setc(err, errno, "opening %s", dir);

        Writer w = { .a = archive_write_new(), .entry = archive_entry_new(), .buf = malloc(TAR_TREE_BUF) };
        int r = 0;
        if (!w.a || !w.entry || !w.buf)
                r = error_set(err, ENOMEM, "out of memory");
        else if (archive_write_set_format_pax_restricted(w.a) != ARCHIVE_OK ||
                 archive_write_set_bytes_in_last_block(w.a, 1) != ARCHIVE_OK ||
                 archive_write_open_fd(w.a, fd) != ARCHIVE_OK)
                r = archive_fail(w.a, err, "writing the archive of", path);
        if (r >= 0)
                r = write_tree(&w, parent, name, base, path, 0, err);
        if (r >= 0 && archive_write_close(w.a) != ARCHIVE_OK)
                r = archive_fail(w.a, err, "finishing the archive of", path);
        if (w.a)
                archive_write_free(w.a);
        if (w.entry)
                archive_entry_free(w.entry);
        free(w.buf);
        return r < 0 ? r : (int) (w.entries > INT32_MAX ? INT32_MAX : w.entries);
}

/* ---- extracting ---- */

/* "a/b/c" with its first component replaced by name. */
static char *renamed(const char *path, const char *name)
{
        while (startswith(path, "./"))
                path += 2;
        const char *rest = strchr(path, '/');
        char *s = NULL;
        if (asprintf(&s, "%s%s", name, rest ? rest : "") < 0)
                return NULL;
        return s;
}

static int extract_entries(struct archive *in, struct archive *out, const char *name, unsigned flags, Error *err)
{
        int n = 0;
        for (;;) {
                struct archive_entry *e;
                int k = archive_read_next_header(in, &e);
                if (k == ARCHIVE_EOF)
                        return n;
                if (k < ARCHIVE_WARN)
                        return archive_fail(in, err, "reading the archive at entry", "");
                const char *path = archive_entry_pathname(e) ?: "";
                mode_t type = archive_entry_filetype(e);
                if (archive_entry_hardlink(e))
                        return error_set(err, EPERM, "%s is a hard link, which a copy does not carry; nothing "
                                         "after it was copied", path);
                if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
                        return error_set(err, EPERM, "%s is not a file, directory or symlink; nothing after it "
                                         "was copied", path);
                if (name) {
                        _cleanup_free_ char *p = renamed(path, name);
                        if (!p)
                                return error_set(err, ENOMEM, "out of memory");
                        archive_entry_copy_pathname(e, p);
                }
                if (flags & TAR_TREE_HOST)
                        archive_entry_set_perm(e, archive_entry_perm(e) & ~(mode_t) (S_ISUID | S_ISGID));
                if (archive_write_header(out, e) < ARCHIVE_WARN)
                        return archive_fail(out, err, "writing", path);
                if (type == AE_IFREG && archive_entry_size(e) > 0) {
                        const void *buf;
                        size_t len;
                        la_int64_t off;
                        while ((k = archive_read_data_block(in, &buf, &len, &off)) == ARCHIVE_OK)
                                if (archive_write_data_block(out, buf, len, off) < ARCHIVE_WARN)
                                        return archive_fail(out, err, "writing", path);
                        if (k != ARCHIVE_EOF)
                                return archive_fail(in, err, "reading the archive at", path);
                }
                if (archive_write_finish_entry(out) < ARCHIVE_WARN)
                        return archive_fail(out, err, "writing", path);
                n++;
        }
}

int tar_tree_extract(int fd, const char *dir, const char *name, unsigned flags, Error *err)
{
        if (name && (!name[0] || strchr(name, '/') || streq(name, ".") || streq(name, "..")))
                return error_set(err, EINVAL, "'%s' cannot name the top of a copy", name);
        _cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return error_setc(err, errno, "opening the directory %s", dir);
        /* libarchive resolves names against the working directory. */
        if (fchdir(dirfd) < 0)
                return error_setc(err, errno, "changing to %s", dir);
        struct archive *in = archive_read_new(), *out = archive_write_disk_new();
        int r = 0;
        if (!in || !out)
                r = error_set(err, ENOMEM, "out of memory");
        else if (archive_read_support_format_tar(in) != ARCHIVE_OK ||
                 archive_read_support_filter_none(in) != ARCHIVE_OK ||
                 archive_write_disk_set_options(out, ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                                                             ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                             ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                                             ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS) != ARCHIVE_OK ||
                 archive_read_open_fd(in, fd, TAR_TREE_BUF) != ARCHIVE_OK)
                r = archive_fail(in, err, "reading the archive for", dir);
        if (r >= 0)
                r = extract_entries(in, out, name, flags, err);
        if (r >= 0 && archive_write_close(out) != ARCHIVE_OK)
                r = archive_fail(out, err, "finishing the copy into", dir);
        if (in)
                archive_read_free(in);
        if (out)
                archive_write_free(out);
        return r;
}
