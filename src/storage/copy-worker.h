/* Inside the tree copy (src/storage/copy.c): what its threads share,
 * what each thread has for itself, and one thread's part of the work
 * below the directories: files, symlinks, device nodes and fifos with
 * their metadata and hard links, the failure that stops every thread,
 * and progress.
 *
 * A failure is recorded once, the first one with its path, and sets
 * the stop flag; every thread checks the flag between entries. Progress
 * callbacks run on the calling thread only (the one that reports). */
#pragma once

#include "base/error.h"
#include "base/str.h"
#include "storage/copy-data.h"
#include "storage/copy-links.h"
#include "storage/copy-queue.h"
#include "storage/copy.h"
#include "storage/xattr.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

typedef struct CopyShared CopyShared;

typedef struct CopyWorker {
        CopyShared *shared;
        pthread_t thread;
        bool started;
        bool reports; /* the calling thread */
        StrBuf path;  /* the entry at hand, relative to the roots */
        XattrList scratch;
        CopyData data;
        CopyStats stats;
        uint64_t last_ms;
} CopyWorker;

struct CopyShared {
        dev_t dev; /* the source file system; never left */
        int src_root_fd, dst_root_fd;
        const StorageMonitor *mon;
        uint64_t total_entries, total_bytes;
        atomic_uint_fast64_t done_entries, done_bytes;
        CopyQueue queue;
        CopyLinks links;
        CopyWorker *workers; /* [0] is the calling thread */
        size_t n_workers;
        bool helpers_started;
        atomic_bool no_openat2;
        atomic_bool stop; /* a failure was recorded */
        pthread_mutex_t error_lock;
        Error error; /* the first failure */
};

/* An entry of a source directory, as listed. */
typedef struct CopyEntry {
        char *name;
        struct stat st;
} CopyEntry;

/* ---- the path at hand (for messages and hard links) ---- */
const char *copy_worker_path(const CopyWorker *w); /* "." for the root */
/* Append "/name"; returns what copy_worker_pop() takes back. */
size_t copy_worker_push(CopyWorker *w, const char *name);
void copy_worker_pop(CopyWorker *w, size_t old);
void copy_worker_set_path(CopyWorker *w, const char *path);

/* ---- failures and progress ---- */
/* Record the failure (message fmt) unless one came first, stop every
 * thread, return r. -ECANCELED reads "copy cancelled". */
int copy_failf(CopyWorker *w, int r, const char *fmt, ...) _printf_(3, 4);
/* "what <path at hand>". */
int copy_fail(CopyWorker *w, int r, const char *what);
bool copy_stopped(const CopyShared *s);
/* -ECANCELED once the copy is stopping, or was cancelled through the
 * monitor's flag (then recorded). */
int copy_keep_going(CopyWorker *w);
/* Deliver a progress event (the reporting thread only). */
int copy_report(CopyWorker *w, bool force);
/* One more entry exists in the copy, with bytes of data. */
int copy_entry_done(CopyWorker *w, uint64_t bytes);

/* ---- entries ---- */
/* Owner, xattrs, mode and times of st onto the copy, addressed by fd
 * or by (dirfd, name) as in xattr.h; path names it in messages. */
int copy_metadata(CopyWorker *w, const struct stat *st, int src_fd, int src_dfd, const char *name, int dst_fd,
                  int dst_dfd, const char *path);
/* Every entry but the directories among entries, from sdfd into ddfd;
 * the path at hand is their directory's. */
int copy_entries(CopyWorker *w, int sdfd, int ddfd, const CopyEntry *entries, size_t n);
