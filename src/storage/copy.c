#include "storage/copy.h"

#include "base/fs.h"
#include "base/syscalls.h"
#include "storage/copy-worker.h"

#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>

#define COPY_MAX_DEPTH 256
#define COPY_AUTO_THREADS_MAX 4 /* the kernel work scales little further */
#define COPY_THREADS_MAX 16
/* A directory's files go to other threads in chunks of at most this
 * many entries or bytes, so one large directory keeps every thread
 * busy while a directory of ordinary size stays with one thread. */
#define CHUNK_ENTRIES 256
#define CHUNK_BYTES ((off_t) 16 << 20)

/* ---- how the threads share the work ----
 *
 * The calling thread lists the root; every subdirectory becomes a job
 * (list it, create its entries) and the files of a large directory
 * become jobs in chunks. Up to n_workers threads, the calling one
 * included, take jobs from a shared queue. A job reopens its directory
 * by its path below the two roots (openat2 without symlinks or mount
 * crossings), so no fd is held per queued directory.
 *
 * A directory's owner, xattrs, mode and times are applied once all
 * below it exists: children change a directory's times, and a
 * read-only mode would stop them. DirNode.pending counts what is still
 * outstanding; whichever thread brings it to zero finishes the
 * directory and releases its parent. The root is finished by the
 * calling thread after all threads are done.
 *
 * A failure is recorded once (the first one), stops every thread at
 * its next entry, and queued jobs are then dropped. */

typedef struct DirNode {
        struct DirNode *parent; /* NULL for the root */
        atomic_size_t pending;  /* own listing + chunks handed out + incomplete subdirectories */
        struct stat st;
        unsigned depth;         /* the root is 0 */
        char path[];            /* relative to the roots, "" for the root */
} DirNode;

typedef struct EntryList {
        CopyEntry *items;
        size_t n, allocated;
} EntryList;

/* List dir and create its entries (n_entries == 0), or create these
 * entries of dir. */
typedef struct Job {
        DirNode *dir;
        size_t n_entries;
        CopyEntry entries[];
} Job;

/* ---- counting (for progress totals) ---- */

static void count_tree(int dfd, dev_t dev, unsigned depth, uint64_t *entries, uint64_t *bytes)
{
        DIR *d = fdopendir(dfd);
        if (!d) {
                safe_close(dfd);
                return;
        }
        _cleanup_closedir_ _unused_ DIR *dd = d;
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

/* ---- opening a directory of a job ---- */

/* Component by component, never following a symlink. */
static int open_walk(int root_fd, const char *path)
{
        _cleanup_close_ int fd = -EBADF;
        char name[NAME_MAX + 1];
        for (const char *p = path; *p;) {
                size_t n = strcspn(p, "/");
                if (n == 0 || n > NAME_MAX)
                        return -EINVAL;
                memcpy(name, p, n);
                name[n] = 0;
                int next = openat(fd >= 0 ? fd : root_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0)
                        return -errno;
                safe_close(fd);
                fd = next;
                p += n;
                if (*p == '/')
                        p++;
        }
        return TAKE_FD(fd);
}

/* The directory at path below root_fd, resolved without following any
 * symlink and without leaving the file system. */
static int open_beneath(CopyShared *s, int root_fd, const char *path)
{
        if (!*path)
                return RET_NERRNO(openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!atomic_load_explicit(&s->no_openat2, memory_order_relaxed)) {
                for (int attempt = 0; attempt < 8; attempt++) {
                        int fd = sys_openat2(root_fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
                                             RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
                                                     RESOLVE_NO_XDEV);
                        if (fd >= 0)
                                return fd;
                        if (errno != EAGAIN && errno != EINTR)
                                break;
                }
                /* No openat2 before Linux 5.6, or a seccomp filter refuses it. */
                if (errno != ENOSYS && errno != EPERM)
                        return -errno;
                atomic_store(&s->no_openat2, true);
        }
        return open_walk(root_fd, path);
}

/* ---- directories ---- */

static DirNode *dir_node_new(DirNode *parent, const char *path, const struct stat *st)
{
        size_t len = strlen(path);
        DirNode *d = malloc(sizeof(DirNode) + len + 1);
        if (!d)
                return NULL;
        d->parent = parent;
        atomic_init(&d->pending, 1);
        d->st = *st;
        d->depth = parent ? parent->depth + 1 : 0;
        memcpy(d->path, path, len + 1);
        return d;
}

static const char *dir_path(const DirNode *d)
{
        return d->path[0] ? d->path : ".";
}

static int finish_dir(CopyWorker *w, DirNode *dir, int sfd, int dfd)
{
        CopyShared *s = w->shared;
        _cleanup_close_ int own_src = -EBADF, own_dst = -EBADF;
        if (sfd < 0) {
                own_src = open_beneath(s, s->src_root_fd, dir->path);
                if (own_src < 0)
                        return copy_failf(w, own_src, "opening directory %s", dir_path(dir));
                own_dst = open_beneath(s, s->dst_root_fd, dir->path);
                if (own_dst < 0)
                        return copy_failf(w, own_dst, "opening directory %s", dir_path(dir));
                sfd = own_src;
                dfd = own_dst;
        }
        int r = copy_metadata(w, &dir->st, sfd, -1, ".", dfd, -1, dir_path(dir));
        if (r < 0)
                return r;
        w->stats.dirs++;
        return copy_entry_done(w, 0);
}

/* One outstanding part of dir is done. The thread completing a
 * directory finishes it (with sfd/dfd when it has them open) and
 * releases its parent in turn; once the copy is stopping, directories
 * are only freed. The root stays for the calling thread. */
static int dir_release(CopyWorker *w, DirNode *dir, int sfd, int dfd)
{
        int r = 0;
        while (atomic_fetch_sub(&dir->pending, 1) == 1 && dir->parent) {
                if (!copy_stopped(w->shared)) {
                        int k = finish_dir(w, dir, sfd, dfd);
                        if (r >= 0)
                                r = k;
                }
                DirNode *parent = dir->parent;
                free(dir);
                dir = parent;
                sfd = dfd = -EBADF;
        }
        return r;
}

static Job *job_new(DirNode *dir, size_t max_entries)
{
        Job *job = malloc(sizeof(Job) + max_entries * sizeof(CopyEntry));
        if (job)
                *job = (Job) { .dir = dir };
        return job;
}

static void job_free(Job *job)
{
        if (!job)
                return;
        for (size_t i = 0; i < job->n_entries; i++)
                free(job->entries[i].name);
        free(job);
}
DEFINE_CLEANUP_FUNC(Job, job_free);

static void entry_list_done(EntryList *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->items[i].name);
        free(l->items);
}

static void *helper_main(void *arg);

static void start_helpers(CopyShared *s)
{
        s->helpers_started = true;
        /* A thread that cannot be started leaves its share to the others. */
        for (size_t i = 1; i < s->n_workers; i++)
                s->workers[i].started = copy_thread_start(&s->workers[i].thread, helper_main, &s->workers[i]) >= 0;
}

/* Queue a job (already counted in job->dir->pending); frees it on
 * failure. */
static int hand_out(CopyWorker *w, Job *job)
{
        CopyShared *s = w->shared;
        /* Only the calling thread exists before the first job. */
        if (!s->helpers_started)
                start_helpers(s);
        int r = copy_queue_push(&s->queue, job);
        if (r < 0) {
                job_free(job);
                return copy_fail(w, r, "copying");
        }
        return 0;
}

/* A job reopens its directory by path: only one that fits is handed out. */
static bool can_hand_out(const CopyShared *s, const char *path)
{
        return s->n_workers > 1 && strlen(path) < PATH_MAX;
}

static int read_entries(CopyWorker *w, int sfd, EntryList *l)
{
        /* A new open file description: its own directory offset. */
        int fd = openat(sfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return copy_fail(w, -errno, "reading directory");
        _cleanup_closedir_ DIR *d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return copy_fail(w, -errno, "reading directory");
        }
        for (;;) {
                errno = 0;
                struct dirent *de = readdir(d);
                if (!de)
                        return errno != 0 ? copy_fail(w, -errno, "reading directory") : 0;
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                struct stat st;
                if (fstatat(sfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue; /* removed meanwhile */
                        int r = -errno;
                        copy_worker_push(w, de->d_name);
                        return copy_fail(w, r, "inspecting");
                }
                if (S_ISSOCK(st.st_mode)) {
                        w->stats.skipped++;
                        continue;
                }
                if (l->n == l->allocated) {
                        size_t a = l->allocated ? l->allocated * 2 : 64;
                        CopyEntry *items = realloc(l->items, a * sizeof(CopyEntry));
                        if (!items)
                                return copy_fail(w, -ENOMEM, "reading directory");
                        l->items = items;
                        l->allocated = a;
                }
                char *name = strdup(de->d_name);
                if (!name)
                        return copy_fail(w, -ENOMEM, "reading directory");
                l->items[l->n++] = (CopyEntry) { name, st };
        }
}

static int list_dir(CopyWorker *w, DirNode *dir, int sfd, int dfd);

/* A mount point becomes an empty directory: the walk stays on the
 * source file system. */
static int copy_mount_point(CopyWorker *w, int sdfd, int ddfd, const CopyEntry *e)
{
        _cleanup_close_ int dst = openat(ddfd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dst < 0)
                return copy_fail(w, -errno, "opening directory");
        _cleanup_close_ int src = openat(sdfd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (src < 0)
                return copy_fail(w, -errno, "opening directory");
        int r = copy_metadata(w, &e->st, src, -1, e->name, dst, -1, copy_worker_path(w));
        if (r < 0)
                return r;
        w->stats.dirs++;
        return copy_entry_done(w, 0);
}

/* Copied right here, holding its fds: when only one thread copies, or
 * when its path is too long to be reopened by a job. */
static int copy_subdir_here(CopyWorker *w, DirNode *child, int sdfd, int ddfd, const char *name)
{
        _cleanup_close_ int dst = openat(ddfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int r = dst < 0 ? copy_fail(w, -errno, "opening directory") : 0;
        _cleanup_close_ int src = r < 0 ? -EBADF : openat(sdfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (r >= 0 && src < 0)
                r = copy_fail(w, -errno, "opening directory");
        if (r < 0) {
                (void) dir_release(w, child, -EBADF, -EBADF);
                return r;
        }
        return list_dir(w, child, src, dst);
}

/* w->path is the subdirectory's path. */
static int copy_subdir(CopyWorker *w, DirNode *dir, int sdfd, int ddfd, const CopyEntry *e)
{
        CopyShared *s = w->shared;
        if (mkdirat(ddfd, e->name, 0700) < 0)
                return copy_fail(w, -errno, "creating directory");
        if (e->st.st_dev != s->dev)
                return copy_mount_point(w, sdfd, ddfd, e);
        DirNode *child = dir_node_new(dir, copy_worker_path(w), &e->st);
        if (!child)
                return copy_fail(w, -ENOMEM, "copying");
        atomic_fetch_add(&dir->pending, 1);
        if (!can_hand_out(s, child->path))
                return copy_subdir_here(w, child, sdfd, ddfd, e->name);
        /* The child's own count is its listing: the job's now. */
        Job *job = job_new(child, 0);
        int r = job ? hand_out(w, job) : copy_fail(w, -ENOMEM, "copying");
        if (r < 0)
                (void) dir_release(w, child, -EBADF, -EBADF);
        return r;
}

static int copy_subdirs(CopyWorker *w, DirNode *dir, int sdfd, int ddfd, const EntryList *l)
{
        for (size_t i = 0; i < l->n; i++) {
                if (!S_ISDIR(l->items[i].st.st_mode))
                        continue;
                int r = copy_keep_going(w);
                if (r < 0)
                        return r;
                size_t old = copy_worker_push(w, l->items[i].name);
                r = w->path.oom ? copy_fail(w, -ENOMEM, "copying") : copy_subdir(w, dir, sdfd, ddfd, &l->items[i]);
                copy_worker_pop(w, old);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The files (and symlinks and special files) of dir: a large directory
 * hands them out in chunks and keeps the last one. */
static int copy_files(CopyWorker *w, DirNode *dir, int sdfd, int ddfd, EntryList *l)
{
        if (!can_hand_out(w->shared, dir->path))
                return copy_entries(w, sdfd, ddfd, l->items, l->n);
        _cleanup_(job_freep) Job *chunk = NULL;
        off_t bytes = 0;
        for (size_t i = 0; i < l->n; i++) {
                CopyEntry *e = &l->items[i];
                if (S_ISDIR(e->st.st_mode))
                        continue;
                if (chunk && (chunk->n_entries == CHUNK_ENTRIES || bytes >= CHUNK_BYTES)) {
                        atomic_fetch_add(&dir->pending, 1);
                        int r = hand_out(w, TAKE_PTR(chunk));
                        if (r < 0) {
                                atomic_fetch_sub(&dir->pending, 1); /* our own count keeps it above 0 */
                                return r;
                        }
                        bytes = 0;
                }
                if (!chunk && !(chunk = job_new(dir, CHUNK_ENTRIES)))
                        return copy_fail(w, -ENOMEM, "copying");
                chunk->entries[chunk->n_entries++] = *e;
                e->name = NULL; /* moved */
                if (S_ISREG(e->st.st_mode))
                        bytes += e->st.st_size;
        }
        return chunk ? copy_entries(w, sdfd, ddfd, chunk->entries, chunk->n_entries) : 0;
}

/* Create dir's entries; releases dir's own count. w->path is dir's path. */
static int list_dir(CopyWorker *w, DirNode *dir, int sfd, int dfd)
{
        _cleanup_(entry_list_done) EntryList l = { 0 };
        int r = dir->depth >= COPY_MAX_DEPTH ? copy_fail(w, -ELOOP, "directory tree too deep at")
                                              : read_entries(w, sfd, &l);
        if (r >= 0)
                r = copy_subdirs(w, dir, sfd, dfd, &l);
        if (r >= 0)
                r = copy_files(w, dir, sfd, dfd, &l);
        int k = dir_release(w, dir, sfd, dfd);
        return r < 0 ? r : k;
}

/* ---- the threads ---- */

static void run_job(CopyWorker *w, Job *job)
{
        CopyShared *s = w->shared;
        DirNode *dir = job->dir;
        copy_worker_set_path(w, dir->path);
        _cleanup_close_ int sfd = -EBADF, dfd = -EBADF;
        int r = copy_keep_going(w);
        if (r >= 0 && (sfd = open_beneath(s, s->src_root_fd, dir->path)) < 0)
                r = copy_fail(w, sfd, "opening directory");
        if (r >= 0 && (dfd = open_beneath(s, s->dst_root_fd, dir->path)) < 0)
                r = copy_fail(w, dfd, "opening directory");
        if (r >= 0 && job->n_entries == 0) {
                (void) list_dir(w, dir, sfd, dfd);
                return;
        }
        if (r >= 0)
                (void) copy_entries(w, sfd, dfd, job->entries, job->n_entries);
        (void) dir_release(w, dir, sfd, dfd);
}

static void *helper_main(void *arg)
{
        CopyWorker *w = arg;
        Job *job;
        while ((job = copy_queue_take(&w->shared->queue, 0, NULL))) {
                run_job(w, job);
                job_free(job);
                copy_queue_finish(&w->shared->queue);
        }
        return NULL;
}

/* The calling thread takes jobs like the others, and reports progress
 * also while it has none. */
static void drive(CopyWorker *w)
{
        CopyShared *s = w->shared;
        unsigned tick = s->mon && s->mon->progress ? (s->mon->interval_ms ? s->mon->interval_ms : 100) : 0;
        for (;;) {
                bool idle = false;
                Job *job = copy_queue_take(&s->queue, tick, &idle);
                if (job) {
                        run_job(w, job);
                        job_free(job);
                        copy_queue_finish(&s->queue);
                } else if (idle)
                        (void) copy_report(w, false);
                else
                        return;
        }
}

static size_t pick_threads(const CopyOptions *opts)
{
        if (opts && opts->threads)
                return opts->threads < COPY_THREADS_MAX ? opts->threads : COPY_THREADS_MAX;
        cpu_set_t set;
        long n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : sysconf(_SC_NPROCESSORS_ONLN);
        if (n < 1)
                n = 1;
        return n < COPY_AUTO_THREADS_MAX ? (size_t) n : COPY_AUTO_THREADS_MAX;
}

static void copy_shared_done(CopyShared *s)
{
        if (!s->workers)
                return;
        for (size_t i = 0; i < s->n_workers; i++) {
                strbuf_done(&s->workers[i].path);
                xattr_list_done(&s->workers[i].scratch);
                copy_data_done(&s->workers[i].data);
        }
        free(s->workers);
        copy_queue_done(&s->queue);
        copy_links_done(&s->links);
        pthread_mutex_destroy(&s->error_lock);
        error_clear(&s->error);
}

static int copy_shared_init(CopyShared *s, size_t n_workers)
{
        s->workers = calloc(n_workers, sizeof(CopyWorker));
        if (!s->workers)
                return -ENOMEM;
        /* The calling thread's listing of the root is work in hand. */
        int r = copy_queue_init(&s->queue, 1);
        if (r < 0)
                goto fail_workers;
        r = copy_links_init(&s->links, n_workers);
        if (r < 0)
                goto fail_queue;
        r = -pthread_mutex_init(&s->error_lock, NULL);
        if (r < 0)
                goto fail_links;
        s->n_workers = n_workers;
        for (size_t i = 0; i < n_workers; i++)
                s->workers[i] = (CopyWorker) {
                        .shared = s,
                        .reports = i == 0,
                        .path = STRBUF_INIT,
                        .scratch = XATTR_LIST_INIT,
                        .data = COPY_DATA_INIT,
                };
        return 0;
fail_links:
        copy_links_done(&s->links);
fail_queue:
        copy_queue_done(&s->queue);
fail_workers:
        free(s->workers);
        s->workers = NULL;
        return r;
}

/* Every entry below the roots, then the root itself. */
static int copy_all(CopyShared *s, const struct stat *root_st)
{
        CopyWorker *w = &s->workers[0];
        DirNode *root = dir_node_new(NULL, "", root_st);
        if (root)
                (void) list_dir(w, root, s->src_root_fd, s->dst_root_fd);
        else
                (void) copy_fail(w, -ENOMEM, "copying");
        copy_queue_finish(&s->queue);
        drive(w);
        for (size_t i = 1; i < s->n_workers; i++)
                if (s->workers[i].started)
                        pthread_join(s->workers[i].thread, NULL);
        free(root);
        if (s->error.code)
                return -s->error.code;

        copy_worker_set_path(w, "");
        int r = copy_metadata(w, root_st, s->src_root_fd, -1, ".", s->dst_root_fd, -1, ".");
        if (r >= 0) {
                w->stats.dirs++;
                w->stats.entries++;
                atomic_fetch_add(&s->done_entries, 1);
                r = copy_report(w, true);
        }
        return r;
}

static void sum_stats(const CopyShared *s, CopyStats *ret)
{
        CopyStats t = { 0 };
        for (size_t i = 0; i < s->n_workers; i++) {
                const CopyStats *x = &s->workers[i].stats;
                t.entries += x->entries;
                t.files += x->files;
                t.dirs += x->dirs;
                t.symlinks += x->symlinks;
                t.specials += x->specials;
                t.hardlinks += x->hardlinks;
                t.skipped += x->skipped;
                t.bytes += x->bytes;
                t.reflinked += x->reflinked;
        }
        *ret = t;
}

int tree_copy_fd_opts(int src_fd, int dst_parent_fd, const char *dst_name, const CopyOptions *opts,
                      const StorageMonitor *mon, CopyStats *ret_stats, Error *err)
{
        struct stat st;
        if (fstat(src_fd, &st) < 0)
                return error_setc(err, errno, "inspecting copy source");
        if (!S_ISDIR(st.st_mode))
                return error_set(err, ENOTDIR, "copy source is not a directory");

        _cleanup_(copy_shared_done) CopyShared s = {
                .dev = st.st_dev,
                .src_root_fd = src_fd,
                .dst_root_fd = -EBADF,
                .mon = mon,
                .error = ERROR_INIT,
        };
        int r = copy_shared_init(&s, pick_threads(opts));
        if (r < 0)
                return error_setc(err, -r, "preparing to copy");
        if (mon && mon->progress)
                tree_count(src_fd, &s.total_entries, &s.total_bytes);

        if (mkdirat(dst_parent_fd, dst_name, 0700) < 0)
                return error_setc(err, errno, "creating copy destination %s", dst_name);
        _cleanup_close_ int dst = openat(dst_parent_fd, dst_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dst < 0) {
                r = error_setc(err, errno, "opening copy destination %s", dst_name);
                (void) rm_rf_at(dst_parent_fd, dst_name);
                return r;
        }
        s.dst_root_fd = dst;
        r = copy_all(&s, &st);
        if (r < 0) {
                dst = safe_close(dst);
                (void) rm_rf_at(dst_parent_fd, dst_name);
                if (err)
                        error_move(err, &s.error);
                return r;
        }
        if (ret_stats)
                sum_stats(&s, ret_stats);
        return 0;
}

int tree_copy_fd(int src_fd, int dst_parent_fd, const char *dst_name, const StorageMonitor *mon,
                 CopyStats *ret_stats, Error *err)
{
        return tree_copy_fd_opts(src_fd, dst_parent_fd, dst_name, NULL, mon, ret_stats, err);
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
