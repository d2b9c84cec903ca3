#include "storage/archive.h"

#include "base/fs.h"
#include "base/str.h"
#include "storage/archive-validate.h"
#include "storage/staging.h"
#include "storage/xattr.h"

#include <archive.h>
#include <stdarg.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

/* Directory modes and times are applied last, deepest first: writing
 * children would change the times, and a 0555 directory would refuse
 * them (root or not, on some file systems). */
typedef struct DeferredDir {
        char *path;
        mode_t mode;
        struct timespec times[2];
} DeferredDir;

typedef struct ImportContext {
        struct archive *a;
        int root_fd;
        char *parent_path; /* cache: the last parent directory walked to */
        int parent_fd;
        DeferredDir *dirs;
        size_t n_dirs, cap_dirs;
        const char *member; /* current member name, for messages */
        const StorageMonitor *mon;
        uint64_t last_ms;
        uint64_t in_size;
        TarballStats stats;
        uint64_t tree_bytes;  /* apparent sizes of the files so far */
        uint64_t file_charged; /* of the current file, bytes already counted */
        uint64_t max_bytes;   /* the limits (import_limits()) */
        uint64_t max_entries;
        bool limited_by_disk;
        Error *err;
} ImportContext;

static void import_context_done(ImportContext *c)
{
        if (c->a)
                archive_read_free(c->a);
        free(c->parent_path);
        safe_close(c->parent_fd);
        safe_close(c->root_fd);
        for (size_t i = 0; i < c->n_dirs; i++)
                free(c->dirs[i].path);
        free(c->dirs);
}

static int fail(ImportContext *c, int r, const char *what)
{
        if (r == -ECANCELED)
                return error_set(c->err, ECANCELED, "import cancelled");
        return error_setc(c->err, -r, "%s archive member \"%s\"", what, c->member ? c->member : "?");
}

static int fail_archive(ImportContext *c, const char *what)
{
        int e = archive_errno(c->a);
        return error_set(c->err, e > 0 ? e : EIO, "%s: %s", what, archive_error_string(c->a) ?: "archive error");
}

/* A member that breaks the rules: the whole import fails with EPERM. */
_printf_(2, 3) static int refuse(ImportContext *c, const char *fmt, ...)
{
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        return error_set(c->err, EPERM, "archive member \"%s\" %s", c->member ? c->member : "?", msg);
}

/* Open one directory component below dfd, never through a symlink. */
static int step_into(ImportContext *c, int dfd, const char *comp, bool create, const char *sofar)
{
        int fd = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0)
                return fd;
        if (errno == ENOENT && create) {
                /* Like tar: a parent the archive did not list. */
                if (mkdirat(dfd, comp, 0755) < 0 && errno != EEXIST)
                        return fail(c, -errno, "creating a parent directory of");
                fd = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd >= 0)
                        return fd;
        }
        struct stat st;
        if ((errno == ELOOP || errno == ENOTDIR) && fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                if (S_ISLNK(st.st_mode))
                        return refuse(c, "goes through the symlink \"%s\"", sofar);
                return refuse(c, "goes through \"%s\", which is not a directory", sofar);
        }
        return fail(c, -errno, "walking to");
}

/* The directory that holds path (normalized, not the root), borrowed:
 * valid until the next call. *ret_leaf points into path. */
static int walk_parent(ImportContext *c, const char *path, bool create, const char **ret_leaf)
{
        const char *slash = strrchr(path, '/');
        *ret_leaf = slash ? slash + 1 : path;
        if (!slash)
                return c->root_fd;
        size_t plen = (size_t) (slash - path);
        if (c->parent_path && strlen(c->parent_path) == plen && strneq(c->parent_path, path, plen))
                return c->parent_fd;

        _cleanup_free_ char *dir = strndup(path, plen);
        if (!dir)
                return fail(c, -ENOMEM, "walking to");
        _cleanup_close_ int fd = -EBADF;
        int cur = c->root_fd;
        for (char *p = dir;;) {
                char *end = strchr(p, '/');
                if (end)
                        *end = 0;
                int next = step_into(c, cur, p, create, dir);
                if (next < 0)
                        return next;
                safe_close(fd);
                fd = cur = next;
                if (!end)
                        break;
                *end = '/';
                p = end + 1;
        }
        free(c->parent_path);
        safe_close(c->parent_fd);
        c->parent_path = TAKE_PTR(dir);
        c->parent_fd = TAKE_FD(fd);
        return c->parent_fd;
}

static int open_dir_at(ImportContext *c, const char *path)
{
        if (!*path)
                return openat(c->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        const char *leaf;
        int pfd = walk_parent(c, path, false, &leaf);
        if (pfd < 0)
                return pfd;
        int fd = openat(pfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? fail(c, -errno, "opening directory of") : fd;
}

/* Make room for a new non-directory leaf: a duplicate member replaces
 * an earlier non-directory (as tar does); a directory is never replaced. */
static int clear_leaf(ImportContext *c, int pfd, const char *leaf, bool want_dir, bool *ret_exists)
{
        struct stat st;
        *ret_exists = false;
        if (fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : fail(c, -errno, "inspecting");
        if (S_ISDIR(st.st_mode)) {
                if (want_dir) {
                        *ret_exists = true;
                        return 0;
                }
                return refuse(c, "would replace a directory");
        }
        if (unlinkat(pfd, leaf, 0) < 0)
                return fail(c, -errno, "replacing");
        return 0;
}

static int set_xattrs(ImportContext *c, struct archive_entry *e, int fd, int pfd, const char *leaf)
{
        if (archive_entry_xattr_reset(e) <= 0)
                return 0;
        const char *key;
        const void *value;
        size_t size;
        while (archive_entry_xattr_next(e, &key, &value, &size) == ARCHIVE_OK) {
                if (!tarball_xattr_allowed(key))
                        return refuse(c, "carries the extended attribute \"%s\", which a rootfs may not have",
                                      key ? key : "");
                int r = xattr_set(fd, pfd, leaf, key, value, size);
                if (r < 0)
                        return error_setc(c->err, -r, "setting extended attribute %s of archive member \"%s\"", key,
                                          c->member);
        }
        return 0;
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
        ts[1] = archive_entry_mtime_is_set(e)
                        ? (struct timespec) { archive_entry_mtime(e), archive_entry_mtime_nsec(e) }
                        : (struct timespec) { 0, UTIME_OMIT };
        ts[0] = archive_entry_atime_is_set(e)
                        ? (struct timespec) { archive_entry_atime(e), archive_entry_atime_nsec(e) }
                        : ts[1];
}

static int entry_owner(ImportContext *c, struct archive_entry *e, uid_t *uid, gid_t *gid)
{
        int64_t u = archive_entry_uid(e), g = archive_entry_gid(e);
        if (u < 0 || u >= UINT32_MAX || g < 0 || g >= UINT32_MAX)
                return refuse(c, "has an invalid owner");
        *uid = (uid_t) u;
        *gid = (gid_t) g;
        return 0;
}

/* Owner, xattrs, then mode and times: chown drops setuid bits and
 * security.capability, so both come after it. */
static int set_metadata(ImportContext *c, struct archive_entry *e, int fd, int pfd, const char *leaf,
                        bool is_link)
{
        uid_t uid = 0;
        gid_t gid = 0;
        int r = entry_owner(c, e, &uid, &gid);
        if (r < 0)
                return r;
        r = fd >= 0 ? RET_NERRNO(fchown(fd, uid, gid)) : RET_NERRNO(fchownat(pfd, leaf, uid, gid, AT_SYMLINK_NOFOLLOW));
        if (r < 0)
                return fail(c, r, "changing owner of");
        r = set_xattrs(c, e, fd, pfd, leaf);
        if (r < 0)
                return r;
        if (!is_link) {
                mode_t mode = archive_entry_perm(e) & 07777;
                r = fd >= 0 ? RET_NERRNO(fchmod(fd, mode)) : RET_NERRNO(fchmodat(pfd, leaf, mode, 0));
                if (r < 0)
                        return fail(c, r, "changing mode of");
        }
        struct timespec ts[2];
        entry_times(e, ts);
        r = fd >= 0 ? RET_NERRNO(futimens(fd, ts)) : RET_NERRNO(utimensat(pfd, leaf, ts, AT_SYMLINK_NOFOLLOW));
        return r < 0 ? fail(c, r, "setting times of") : 0;
}

static void format_size(uint64_t v, char buf[static 32])
{
        if (v >= (1ULL << 30))
                snprintf(buf, 32, "%.1f GiB", (double) v / (double) (1ULL << 30));
        else
                snprintf(buf, 32, "%.1f MiB", (double) v / (double) (1ULL << 20));
}

/* Another n bytes of tree: refused before anything is written when that
 * would pass the limit. */
static int charge_bytes(ImportContext *c, uint64_t n)
{
        if (c->tree_bytes + n <= c->max_bytes && c->tree_bytes + n >= c->tree_bytes) {
                c->tree_bytes += n;
                return 0;
        }
        char lim[32];
        format_size(c->max_bytes, lim);
        return error_set(c->err, EFBIG, "the archive expands to more than %s%s (at member \"%s\"); it is not a "
                         "rootfs this host can hold", lim,
                         c->limited_by_disk ? ", the space left on the state dir's file system" : "",
                         c->member ? c->member : "?");
}

static int charge_entry(ImportContext *c)
{
        if (c->stats.entries < c->max_entries)
                return 0;
        return error_set(c->err, EFBIG, "the archive has more than %llu members%s; it is not a rootfs this host "
                         "can hold", (unsigned long long) c->max_entries,
                         c->limited_by_disk ? " (the inodes left on the state dir's file system)" : "");
}

static int write_file_data(ImportContext *c, struct archive_entry *e, int fd)
{
        const void *buf;
        size_t size;
        la_int64_t offset;
        for (;;) {
                int r = archive_read_data_block(c->a, &buf, &size, &offset);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return fail_archive(c, "reading archive data");
                /* Data beyond the size the header declared (or none
                 * declared) is charged as it comes. */
                uint64_t end = (uint64_t) offset + size;
                if (end > c->file_charged) {
                        int k = charge_bytes(c, end - c->file_charged);
                        if (k < 0)
                                return k;
                        c->file_charged = end;
                }
                for (size_t done = 0; done < size;) {
                        ssize_t n = pwrite(fd, (const char *) buf + done, size - done, offset + (off_t) done);
                        if (n < 0) {
                                if (errno == EINTR)
                                        continue;
                                return fail(c, -errno, "writing");
                        }
                        done += (size_t) n;
                }
                c->stats.bytes += size;
        }
        /* Trailing holes of sparse files. */
        if (archive_entry_size_is_set(e) && ftruncate(fd, archive_entry_size(e)) < 0)
                return fail(c, -errno, "writing");
        return 0;
}

static int defer_dir(ImportContext *c, struct archive_entry *e, const char *path)
{
        if (c->n_dirs == c->cap_dirs) {
                size_t cap = c->cap_dirs ? c->cap_dirs * 2 : 64;
                DeferredDir *n = realloc(c->dirs, cap * sizeof *n);
                if (!n)
                        return fail(c, -ENOMEM, "recording");
                c->dirs = n;
                c->cap_dirs = cap;
        }
        DeferredDir *d = &c->dirs[c->n_dirs];
        d->path = strdup(path);
        if (!d->path)
                return fail(c, -ENOMEM, "recording");
        d->mode = archive_entry_perm(e) & 07777;
        entry_times(e, d->times);
        c->n_dirs++;
        return 0;
}

static int extract_dir(ImportContext *c, struct archive_entry *e, const char *path, int pfd, const char *leaf)
{
        bool exists;
        _cleanup_close_ int fd = -EBADF;
        if (!*path)
                fd = openat(c->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        else {
                int r = clear_leaf(c, pfd, leaf, true, &exists);
                if (r < 0)
                        return r;
                if (!exists && mkdirat(pfd, leaf, 0700) < 0)
                        return fail(c, -errno, "creating directory for");
                fd = openat(pfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (fd < 0)
                return fail(c, -errno, "opening directory for");
        uid_t uid = 0;
        gid_t gid = 0;
        int r = entry_owner(c, e, &uid, &gid);
        if (r < 0)
                return r;
        if (fchown(fd, uid, gid) < 0)
                return fail(c, -errno, "changing owner of");
        r = set_xattrs(c, e, fd, -1, NULL);
        if (r < 0)
                return r;
        return defer_dir(c, e, path);
}

static int extract_file(ImportContext *c, struct archive_entry *e, int pfd, const char *leaf)
{
        c->file_charged = 0;
        if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0) {
                int k = charge_bytes(c, (uint64_t) archive_entry_size(e));
                if (k < 0)
                        return k;
                c->file_charged = (uint64_t) archive_entry_size(e);
        }
        bool exists;
        int r = clear_leaf(c, pfd, leaf, false, &exists);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return fail(c, -errno, "creating");
        r = write_file_data(c, e, fd);
        if (r < 0)
                return r;
        return set_metadata(c, e, fd, -1, NULL, false);
}

static int extract_symlink(ImportContext *c, struct archive_entry *e, const char *path, int pfd, const char *leaf)
{
        const char *target = archive_entry_symlink(e) ?: archive_entry_symlink_utf8(e);
        if (!target || !*target)
                return refuse(c, "is a symlink without a target");
        if (tarball_symlink_escapes(path, target))
                return refuse(c, "is a symlink to \"%s\", outside the archive's root", target);
        bool exists;
        int r = clear_leaf(c, pfd, leaf, false, &exists);
        if (r < 0)
                return r;
        if (symlinkat(target, pfd, leaf) < 0)
                return fail(c, -errno, "creating symlink");
        return set_metadata(c, e, -1, pfd, leaf, true);
}

/* Device nodes are left out (archive.h); overlayfs's 0:0 whiteout stays. */
static bool is_dropped_device(struct archive_entry *e)
{
        unsigned type = archive_entry_filetype(e);
        if (type == AE_IFBLK)
                return true;
        return type == AE_IFCHR && archive_entry_rdev(e) != 0;
}

static int extract_special(ImportContext *c, struct archive_entry *e, int pfd, const char *leaf)
{
        if (is_dropped_device(e)) {
                c->stats.skipped_devices++;
                return 0;
        }
        bool exists;
        int r = clear_leaf(c, pfd, leaf, false, &exists);
        if (r < 0)
                return r;
        mode_t type = archive_entry_filetype(e) == AE_IFCHR   ? S_IFCHR
                      : archive_entry_filetype(e) == AE_IFBLK ? S_IFBLK
                                                              : S_IFIFO;
        if (mknodat(pfd, leaf, type | 0600, type == S_IFIFO ? 0 : archive_entry_rdev(e)) < 0)
                return fail(c, -errno, "creating device node or fifo");
        return set_metadata(c, e, -1, pfd, leaf, false);
}

/* A hard link may only name a non-directory already extracted inside
 * the tree: its target goes through the same checks as a member name. */
static int extract_hardlink(ImportContext *c, const char *link, const char *path)
{
        _cleanup_free_ char *target = NULL;
        _cleanup_error_ Error verr = ERROR_INIT;
        if (tarball_path_normalize(link, &target, &verr) < 0 || !*target)
                return refuse(c, "is a hard link to \"%s\", outside the archive's root", link);
        const char *tleaf;
        int tpfd = walk_parent(c, target, false, &tleaf);
        if (tpfd < 0)
                return tpfd;
        _cleanup_close_ int tdir = fcntl(tpfd, F_DUPFD_CLOEXEC, 3);
        if (tdir < 0)
                return fail(c, -errno, "linking");
        struct stat st;
        if (fstatat(tdir, tleaf, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(st.st_mode))
                return refuse(c, "is a hard link to \"%s\", which is not a file extracted before it", link);
        const char *leaf;
        int pfd = walk_parent(c, path, true, &leaf);
        if (pfd < 0)
                return pfd;
        bool exists;
        int r = clear_leaf(c, pfd, leaf, false, &exists);
        if (r < 0)
                return r;
        if (linkat(tdir, tleaf, pfd, leaf, 0) < 0)
                return fail(c, -errno, "creating hard link for");
        return 0;
}

static int extract_entry(ImportContext *c, struct archive_entry *e)
{
        /* Names that do not convert to the locale still have their UTF-8 form. */
        c->member = archive_entry_pathname(e) ?: archive_entry_pathname_utf8(e);
        _cleanup_free_ char *path = NULL;
        int r = tarball_path_normalize(c->member, &path, c->err);
        if (r < 0)
                return -EPERM;
        const char *link = archive_entry_hardlink(e) ?: archive_entry_hardlink_utf8(e);
        if (link)
                return extract_hardlink(c, link, path);

        unsigned type = archive_entry_filetype(e);
        if (type == AE_IFSOCK)
                return 0;
        if (!*path && type != AE_IFDIR)
                return refuse(c, "names the root but is not a directory");
        const char *leaf = NULL;
        int pfd = -EBADF;
        if (*path) {
                pfd = walk_parent(c, path, true, &leaf);
                if (pfd < 0)
                        return pfd;
        }
        switch (type) {
        case AE_IFDIR:
                return extract_dir(c, e, path, pfd, leaf);
        case AE_IFREG:
                return extract_file(c, e, pfd, leaf);
        case AE_IFLNK:
                return extract_symlink(c, e, path, pfd, leaf);
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO:
                return extract_special(c, e, pfd, leaf);
        default:
                return refuse(c, "has an unsupported file type");
        }
}

static int apply_deferred_dirs(ImportContext *c)
{
        for (size_t i = c->n_dirs; i-- > 0;) {
                DeferredDir *d = &c->dirs[i];
                c->member = d->path;
                _cleanup_close_ int fd = open_dir_at(c, d->path);
                if (fd < 0)
                        return fd;
                if (fchmod(fd, d->mode) < 0)
                        return fail(c, -errno, "changing mode of");
                if (futimens(fd, d->times) < 0)
                        return fail(c, -errno, "setting times of");
        }
        return 0;
}

static int report(ImportContext *c, bool force)
{
        StorageProgress p = {
                .stage = PROGRESS_STAGE_IMPORTING,
                .item = c->member,
                .message = "reading archive",
                .done = c->stats.entries,
                .bytes = (uint64_t) archive_filter_bytes(c->a, -1),
                .bytes_total = c->in_size,
        };
        return storage_monitor_report(c->mon, &p, force, &c->last_ms);
}

static int open_reader(ImportContext *c, int in_fd)
{
        c->a = archive_read_new();
        if (!c->a)
                return error_set(c->err, ENOMEM, "out of memory");
        if (archive_read_support_format_tar(c->a) != ARCHIVE_OK ||
            archive_read_support_filter_gzip(c->a) != ARCHIVE_OK ||
            archive_read_support_filter_zstd(c->a) != ARCHIVE_OK ||
            archive_read_support_filter_xz(c->a) != ARCHIVE_OK ||
            archive_read_open_fd(c->a, in_fd, 256 * 1024) != ARCHIVE_OK)
                return fail_archive(c, "opening the archive");
        return 0;
}

/* The hard limits, lowered to what the staging file system has free. */
static int import_limits(ImportContext *c, const char *staging)
{
        struct statvfs v;
        c->max_bytes = TARBALL_IMPORT_MAX_BYTES;
        c->max_entries = TARBALL_IMPORT_MAX_ENTRIES;
        if (statvfs(staging, &v) < 0)
                return error_setc(c->err, errno, "checking the free space of %s", staging);
        /* The reserve: a twentieth of a small file system, at most 256 MiB. */
        uint64_t free_bytes = (uint64_t) v.f_bavail * v.f_frsize, size = (uint64_t) v.f_blocks * v.f_frsize;
        uint64_t reserve = size / 20 < TARBALL_IMPORT_RESERVE_BYTES ? size / 20 : TARBALL_IMPORT_RESERVE_BYTES;
        uint64_t room = free_bytes > reserve ? free_bytes - reserve : 0;
        if (room < c->max_bytes) {
                c->max_bytes = room;
                c->limited_by_disk = true;
        }
        /* Some file systems (btrfs) report no inode limit at all. */
        if (v.f_files > 0) {
                uint64_t ireserve = v.f_files / 20 < TARBALL_IMPORT_RESERVE_INODES ? v.f_files / 20
                                                                                     : TARBALL_IMPORT_RESERVE_INODES;
                uint64_t inodes = v.f_favail > ireserve ? v.f_favail - ireserve : 0;
                if (inodes < c->max_entries) {
                        c->max_entries = inodes;
                        c->limited_by_disk = true;
                }
        }
        return 0;
}

static int extract_all(ImportContext *c, int in_fd)
{
        int r = open_reader(c, in_fd);
        if (r < 0)
                return r;
        for (;;) {
                struct archive_entry *e;
                int ar = archive_read_next_header(c->a, &e);
                if (ar == ARCHIVE_EOF)
                        break;
                if (ar < ARCHIVE_WARN)
                        return fail_archive(c, "reading the archive");
                r = charge_entry(c);
                if (r >= 0)
                        r = extract_entry(c, e);
                if (r < 0)
                        return r;
                c->stats.entries++;
                r = report(c, false);
                if (r < 0)
                        return fail(c, r, "importing");
        }
        if (c->stats.entries == 0)
                return error_set(c->err, EINVAL, "the archive is empty");
        r = apply_deferred_dirs(c);
        if (r < 0)
                return r;
        r = report(c, true);
        return r < 0 ? fail(c, r, "importing") : 0;
}

int tarball_import_fd(int in_fd, const char *dest, const char *tmp_dir, bool replace,
                      const StorageMonitor *mon, TarballStats *ret_stats, Error *err)
{
        struct stat st;
        if (!replace && lstat(dest, &st) == 0)
                return error_set(err, EEXIST, "%s already exists (replace it with --replace)", dest);
        _cleanup_free_ char *parent = NULL;
        if (!tmp_dir) {
                parent = strdup(dest);
                if (!parent)
                        return error_set(err, ENOMEM, "out of memory");
                char *slash = strrchr(parent, '/');
                if (!slash)
                        tmp_dir = ".";
                else {
                        slash[slash == parent] = 0;
                        tmp_dir = parent;
                }
        }
        _cleanup_free_ char *staging = NULL, *tree = NULL;
        int r = staging_create(tmp_dir, "import", &staging, err);
        if (r < 0)
                return r;
        tree = path_join(staging, "tree");
        _cleanup_(import_context_done) ImportContext c = {
                .root_fd = -EBADF,
                .parent_fd = -EBADF,
                .mon = mon,
                .err = err,
        };
        if (fstat(in_fd, &st) == 0 && S_ISREG(st.st_mode))
                c.in_size = (uint64_t) st.st_size;
        if (!tree)
                r = error_set(err, ENOMEM, "out of memory");
        else if (mkdir(tree, 0755) < 0 || (c.root_fd = open(tree, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
                r = error_setc(err, errno, "creating %s", tree);
        if (r >= 0)
                r = import_limits(&c, tree);
        if (r >= 0)
                r = extract_all(&c, in_fd);
        if (r >= 0)
                r = staging_install(tree, dest, replace, err);
        (void) staging_remove(staging);
        if (r >= 0 && ret_stats)
                *ret_stats = c.stats;
        return r;
}

int tarball_import(const char *archive_path, const char *dest, const char *tmp_dir, bool replace,
                   const StorageMonitor *mon, TarballStats *ret_stats, Error *err)
{
        _cleanup_close_ int fd = open(archive_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return error_setc(err, errno, "opening %s", archive_path);
        int r = tarball_import_fd(fd, dest, tmp_dir, replace, mon, ret_stats, err);
        if (r < 0 && r != -ECANCELED)
                return error_wrap(err, "importing %s", archive_path);
        return r;
}
