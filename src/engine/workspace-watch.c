/* The thread that owns workspace inits (workspace-watch.h). */
#include "engine/workspace-watch.h"
#include "base/log.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#define WATCH_BATCH 32

typedef struct Entry {
        struct Entry *next;
        int pidfd;
        void *userdata;
        bool dead;  /* out of the epoll set; freed after the current batch */
} Entry;

typedef struct Job {
        struct Job *next;
        void (*fn)(void *);
        void *arg;
        bool done;
} Job;

struct WorkspaceWatch {
        WorkspaceExitFn on_exit;
        WorkspaceBatchFn on_batch_end;
        void *context;
        int epoll_fd;
        int wake_fd;
        pthread_t thread;
        bool started;
        pthread_mutex_t lock;
        pthread_cond_t job_done;
        Job *jobs_head, *jobs_tail;
        Entry *entries;
        bool quit;
};

static char wake_tag;

static bool on_watch_thread(const WorkspaceWatch *w)
{
        return w->started && pthread_equal(pthread_self(), w->thread);
}

static void run_jobs(WorkspaceWatch *w)
{
        uint64_t v;
        (void) !read(w->wake_fd, &v, sizeof v);
        for (;;) {
                pthread_mutex_lock(&w->lock);
                Job *j = w->jobs_head;
                if (j) {
                        w->jobs_head = j->next;
                        if (!w->jobs_head)
                                w->jobs_tail = NULL;
                }
                pthread_mutex_unlock(&w->lock);
                if (!j)
                        return;
                j->fn(j->arg);
                pthread_mutex_lock(&w->lock);
                j->done = true;
                pthread_cond_broadcast(&w->job_done);
                pthread_mutex_unlock(&w->lock);
        }
}

/* Unlink and free entries marked dead (only this thread frees them). */
static void free_dead(WorkspaceWatch *w)
{
        pthread_mutex_lock(&w->lock);
        for (Entry **p = &w->entries; *p;) {
                Entry *e = *p;
                if (e->dead) {
                        *p = e->next;
                        free(e);
                } else
                        p = &e->next;
        }
        pthread_mutex_unlock(&w->lock);
}

static void *watch_main(void *userdata)
{
        WorkspaceWatch *w = userdata;
        struct epoll_event evs[WATCH_BATCH];
        for (;;) {
                int n = epoll_wait(w->epoll_fd, evs, WATCH_BATCH, -1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        log_error("workspace watch: epoll_wait: %m");
                        return NULL;
                }
                bool exits = false;
                for (int i = 0; i < n; i++) {
                        if (evs[i].data.ptr == &wake_tag)
                                continue;
                        Entry *e = evs[i].data.ptr;
                        if (e->dead)
                                continue;
                        (void) epoll_ctl(w->epoll_fd, EPOLL_CTL_DEL, e->pidfd, NULL);
                        e->dead = true;
                        w->on_exit(e->userdata, w->context);
                        exits = true;
                }
                if (exits && w->on_batch_end)
                        w->on_batch_end(w->context);
                /* Jobs after the exits: a start waiting here may be for a
                 * workspace whose previous init just ended. */
                for (int i = 0; i < n; i++)
                        if (evs[i].data.ptr == &wake_tag)
                                run_jobs(w);
                free_dead(w);
                pthread_mutex_lock(&w->lock);
                bool quit = w->quit;
                pthread_mutex_unlock(&w->lock);
                if (quit)
                        return NULL;
        }
}

int workspace_watch_new(WorkspaceExitFn on_exit, WorkspaceBatchFn on_batch_end, void *context, WorkspaceWatch **ret,
                        Error *err)
{
        WorkspaceWatch *w = calloc(1, sizeof *w);
        if (!w)
                return error_set(err, ENOMEM, "out of memory");
        w->on_exit = on_exit;
        w->on_batch_end = on_batch_end;
        w->context = context;
        w->wake_fd = -EBADF;
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->job_done, NULL);
        w->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (w->epoll_fd < 0) {
                int r = error_setc(err, errno, "creating the workspace watch");
                workspace_watch_free(w);
                return r;
        }
        w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &wake_tag };
        if (w->wake_fd < 0 || epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, w->wake_fd, &ev) < 0) {
                int r = error_setc(err, errno, "creating the workspace watch");
                workspace_watch_free(w);
                return r;
        }
        /* Every signal blocked: the daemon takes its signals through its
         * signalfd, and spawn relies on a blocked mask across clone. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        int r = pthread_create(&w->thread, NULL, watch_main, w);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r != 0) {
                workspace_watch_free(w);
                return error_setc(err, r, "starting the workspace watch thread");
        }
        w->started = true;
        *ret = w;
        return 0;
}

WorkspaceWatch *workspace_watch_free(WorkspaceWatch *w)
{
        if (!w)
                return NULL;
        if (w->started) {
                pthread_mutex_lock(&w->lock);
                w->quit = true;
                pthread_mutex_unlock(&w->lock);
                (void) eventfd_write(w->wake_fd, 1);
                pthread_join(w->thread, NULL);
        }
        while (w->entries) {
                Entry *e = w->entries;
                w->entries = e->next;
                free(e);
        }
        safe_close(w->epoll_fd);
        safe_close(w->wake_fd);
        pthread_cond_destroy(&w->job_done);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return NULL;
}

int workspace_watch_add(WorkspaceWatch *w, int pidfd, void *userdata)
{
        Entry *e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;
        *e = (Entry) { .pidfd = pidfd, .userdata = userdata };
        pthread_mutex_lock(&w->lock);
        e->next = w->entries;
        w->entries = e;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = e };
        int r = epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, pidfd, &ev) < 0 ? -errno : 0;
        if (r < 0)
                e->dead = true; /* freed by the thread later; never in the set */
        pthread_mutex_unlock(&w->lock);
        return r;
}

typedef struct RemoveArgs {
        WorkspaceWatch *w;
        int pidfd;
} RemoveArgs;

static void remove_on_thread(void *arg)
{
        RemoveArgs *a = arg;
        pthread_mutex_lock(&a->w->lock);
        for (Entry *e = a->w->entries; e; e = e->next)
                if (!e->dead && e->pidfd == a->pidfd) {
                        (void) epoll_ctl(a->w->epoll_fd, EPOLL_CTL_DEL, e->pidfd, NULL);
                        e->dead = true;
                }
        pthread_mutex_unlock(&a->w->lock);
}

void workspace_watch_remove(WorkspaceWatch *w, int pidfd)
{
        /* On the thread, so an event already fetched for this entry in
         * the current batch finds it marked dead rather than freed. */
        RemoveArgs a = { w, pidfd };
        (void) workspace_watch_call(w, remove_on_thread, &a);
}

int workspace_watch_call(WorkspaceWatch *w, void (*fn)(void *arg), void *arg)
{
        if (on_watch_thread(w)) {
                fn(arg);
                return 0;
        }
        Job j = { .fn = fn, .arg = arg };
        pthread_mutex_lock(&w->lock);
        if (w->quit) {
                pthread_mutex_unlock(&w->lock);
                return -ESHUTDOWN;
        }
        if (w->jobs_tail)
                w->jobs_tail->next = &j;
        else
                w->jobs_head = &j;
        w->jobs_tail = &j;
        pthread_mutex_unlock(&w->lock);
        (void) eventfd_write(w->wake_fd, 1);
        pthread_mutex_lock(&w->lock);
        while (!j.done)
                pthread_cond_wait(&w->job_done, &w->lock);
        pthread_mutex_unlock(&w->lock);
        return 0;
}
