#include "storage/copy-worker.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

/* ---- the path at hand ---- */

const char *copy_worker_path(const CopyWorker *w)
{
        return w->path.data && w->path.len ? w->path.data : ".";
}

size_t copy_worker_push(CopyWorker *w, const char *name)
{
        size_t old = w->path.len;
        if (old)
                strbuf_putc(&w->path, '/');
        strbuf_puts(&w->path, name);
        return old;
}

void copy_worker_pop(CopyWorker *w, size_t old)
{
        w->path.len = old;
        if (w->path.data)
                w->path.data[old] = 0;
}

void copy_worker_set_path(CopyWorker *w, const char *path)
{
        copy_worker_pop(w, 0);
        strbuf_puts(&w->path, path);
}

/* ---- failures and progress ---- */

int copy_failf(CopyWorker *w, int r, const char *fmt, ...)
{
        CopyShared *s = w->shared;
        _cleanup_free_ char *msg = NULL;
        if (r != -ECANCELED) {
                va_list ap;
                va_start(ap, fmt);
                if (vasprintf(&msg, fmt, ap) < 0)
                        msg = NULL;
                va_end(ap);
        }
        pthread_mutex_lock(&s->error_lock);
        if (!s->error.code) {
                if (r == -ECANCELED)
                        error_set(&s->error, ECANCELED, "copy cancelled");
                else
                        error_setc(&s->error, -r, "%s", msg ? msg : "copying");
        }
        pthread_mutex_unlock(&s->error_lock);
        atomic_store(&s->stop, true);
        return r;
}

int copy_fail(CopyWorker *w, int r, const char *what)
{
        return copy_failf(w, r, "%s %s", what, copy_worker_path(w));
}

bool copy_stopped(const CopyShared *s)
{
        return atomic_load_explicit(&s->stop, memory_order_relaxed);
}

int copy_keep_going(CopyWorker *w)
{
        if (copy_stopped(w->shared))
                return -ECANCELED;
        if (storage_monitor_cancelled(w->shared->mon))
                return copy_fail(w, -ECANCELED, "copying");
        return 0;
}

int copy_report(CopyWorker *w, bool force)
{
        CopyShared *s = w->shared;
        StorageProgress p = {
                .stage = PROGRESS_STAGE_COPYING,
                .item = copy_worker_path(w),
                .message = "copying files",
                .done = atomic_load_explicit(&s->done_entries, memory_order_relaxed),
                .total = s->total_entries,
                .bytes = atomic_load_explicit(&s->done_bytes, memory_order_relaxed),
                .bytes_total = s->total_bytes,
        };
        if (storage_monitor_report(s->mon, &p, force, &w->last_ms) < 0)
                return copy_fail(w, -ECANCELED, "copying");
        return 0;
}

int copy_entry_done(CopyWorker *w, uint64_t bytes)
{
        CopyShared *s = w->shared;
        w->stats.entries++;
        atomic_fetch_add_explicit(&s->done_entries, 1, memory_order_relaxed);
        if (bytes)
                atomic_fetch_add_explicit(&s->done_bytes, bytes, memory_order_relaxed);
        return w->reports ? copy_report(w, false) : copy_keep_going(w);
}

/* ---- metadata ---- */

/* Owner, xattrs, mode, times, in that order: chown clears setuid bits
 * and security.capability, so both are restored after it. path names
 * the entry in messages. */
int copy_metadata(CopyWorker *w, const struct stat *st, int src_fd, int src_dfd, const char *name, int dst_fd,
                  int dst_dfd, const char *path)
{
        int r = dst_fd >= 0 ? RET_NERRNO(fchown(dst_fd, st->st_uid, st->st_gid))
                            : RET_NERRNO(fchownat(dst_dfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW));
        if (r < 0)
                return copy_failf(w, r, "changing owner of %s", path);

        const char *key = NULL;
        r = xattr_copy(src_fd, src_dfd, name, dst_fd, dst_dfd, name, &key, &w->scratch);
        if (r < 0)
                return copy_failf(w, r, "copying extended attribute %s of %s", key ? key : "(list)", path);

        if (!S_ISLNK(st->st_mode)) {
                mode_t mode = st->st_mode & 07777;
                r = dst_fd >= 0 ? RET_NERRNO(fchmod(dst_fd, mode)) : RET_NERRNO(fchmodat(dst_dfd, name, mode, 0));
                if (r < 0)
                        return copy_failf(w, r, "changing mode of %s", path);
        }

        const struct timespec ts[2] = { st->st_atim, st->st_mtim };
        r = dst_fd >= 0 ? RET_NERRNO(futimens(dst_fd, ts))
                        : RET_NERRNO(utimensat(dst_dfd, name, ts, AT_SYMLINK_NOFOLLOW));
        if (r < 0)
                return copy_failf(w, r, "setting times of %s", path);
        return 0;
}

/* ---- entries other than directories ---- */

static int open_source_file(int dfd, const char *name)
{
        int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NOATIME);
        if (fd < 0 && errno == EPERM)
                fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        return fd < 0 ? -errno : fd;
}

static int copy_file(CopyWorker *w, int sdfd, int ddfd, const char *name, const struct stat *st)
{
        _cleanup_close_ int src = open_source_file(sdfd, name);
        if (src < 0)
                return copy_fail(w, src, "opening");
        _cleanup_close_ int dst = openat(ddfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (dst < 0)
                return copy_fail(w, -errno, "creating");
        uint64_t bytes;
        bool reflinked;
        int r = copy_data(&w->data, src, dst, st, &bytes, &reflinked);
        w->stats.bytes += bytes;
        if (r < 0)
                return copy_fail(w, r, "copying data of");
        w->stats.files++;
        if (reflinked)
                w->stats.reflinked++;
        return copy_metadata(w, st, src, -1, name, dst, -1, copy_worker_path(w));
}

static int copy_symlink(CopyWorker *w, int sdfd, int ddfd, const char *name, const struct stat *st)
{
        char target[PATH_MAX + 1];
        ssize_t n = readlinkat(sdfd, name, target, sizeof target);
        if (n < 0)
                return copy_fail(w, -errno, "reading symlink");
        if ((size_t) n >= sizeof target)
                return copy_fail(w, -ENAMETOOLONG, "reading symlink");
        target[n] = 0;
        if (symlinkat(target, ddfd, name) < 0)
                return copy_fail(w, -errno, "creating symlink");
        w->stats.symlinks++;
        return copy_metadata(w, st, -1, sdfd, name, -1, ddfd, copy_worker_path(w));
}

static int copy_special(CopyWorker *w, int sdfd, int ddfd, const char *name, const struct stat *st)
{
        if (mknodat(ddfd, name, st->st_mode & (S_IFMT | 07777), st->st_rdev) < 0)
                return copy_fail(w, -errno, "creating device node or fifo");
        w->stats.specials++;
        return copy_metadata(w, st, -1, sdfd, name, -1, ddfd, copy_worker_path(w));
}

static int copy_inode(CopyWorker *w, int sdfd, int ddfd, const CopyEntry *e)
{
        switch (e->st.st_mode & S_IFMT) {
        case S_IFREG:
                return copy_file(w, sdfd, ddfd, e->name, &e->st);
        case S_IFLNK:
                return copy_symlink(w, sdfd, ddfd, e->name, &e->st);
        case S_IFCHR:
        case S_IFBLK:
        case S_IFIFO:
                return copy_special(w, sdfd, ddfd, e->name, &e->st);
        default:
                return copy_fail(w, -EBADFD, "unknown file type of");
        }
}

/* An inode with several names is copied once, by the first thread to
 * meet it; its other names become hard links to that copy. */
static int copy_entry(CopyWorker *w, int sdfd, int ddfd, const CopyEntry *e)
{
        CopyShared *s = w->shared;
        uint64_t bytes_before = w->stats.bytes;
        if (e->st.st_nlink < 2) {
                int r = copy_inode(w, sdfd, ddfd, e);
                return r < 0 ? r : copy_entry_done(w, w->stats.bytes - bytes_before);
        }
        const char *first = NULL;
        int r = copy_links_claim(&s->links, e->st.st_dev, e->st.st_ino, copy_worker_path(w), &first);
        if (r == -ECANCELED)
                return r; /* its first copy failed, and that is the error */
        if (r < 0)
                return copy_fail(w, r, "recording hard link");
        if (r == COPY_LINK_EXISTS) {
                if (linkat(s->dst_root_fd, first, ddfd, e->name, 0) < 0)
                        return copy_fail(w, -errno, "creating hard link");
                w->stats.hardlinks++;
                return copy_entry_done(w, 0);
        }
        r = copy_inode(w, sdfd, ddfd, e);
        copy_links_settle(&s->links, e->st.st_dev, e->st.st_ino, r >= 0);
        return r < 0 ? r : copy_entry_done(w, w->stats.bytes - bytes_before);
}

int copy_entries(CopyWorker *w, int sdfd, int ddfd, const CopyEntry *entries, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (S_ISDIR(entries[i].st.st_mode))
                        continue;
                size_t old = copy_worker_push(w, entries[i].name);
                int r = w->path.oom ? copy_fail(w, -ENOMEM, "copying") : copy_entry(w, sdfd, ddfd, &entries[i]);
                copy_worker_pop(w, old);
                if (r < 0)
                        return r;
        }
        return 0;
}

