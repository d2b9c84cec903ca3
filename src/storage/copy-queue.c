#include "storage/copy-queue.h"

#include <signal.h>
#include <time.h>

int copy_queue_init(CopyQueue *q, size_t busy)
{
        *q = (CopyQueue) { .busy = busy };
        pthread_condattr_t attr;
        int r = pthread_condattr_init(&attr);
        if (r != 0)
                return -r;
        /* Timed waits must not jump with the wall clock. */
        (void) pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        r = pthread_cond_init(&q->changed, &attr);
        pthread_condattr_destroy(&attr);
        if (r != 0)
                return -r;
        r = pthread_mutex_init(&q->lock, NULL);
        if (r != 0) {
                pthread_cond_destroy(&q->changed);
                return -r;
        }
        return 0;
}

void copy_queue_done(CopyQueue *q)
{
        free(q->items);
        q->items = NULL;
        pthread_mutex_destroy(&q->lock);
        pthread_cond_destroy(&q->changed);
}

int copy_queue_push(CopyQueue *q, void *job)
{
        pthread_mutex_lock(&q->lock);
        if (q->n_items == q->allocated) {
                size_t a = q->allocated ? q->allocated * 2 : 64;
                void **items = realloc(q->items, a * sizeof *items);
                if (!items) {
                        pthread_mutex_unlock(&q->lock);
                        return -ENOMEM;
                }
                q->items = items;
                q->allocated = a;
        }
        q->items[q->n_items++] = job;
        pthread_cond_signal(&q->changed);
        pthread_mutex_unlock(&q->lock);
        return 0;
}

static struct timespec deadline_after(unsigned ms)
{
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        t.tv_sec += ms / 1000;
        t.tv_nsec += (long) (ms % 1000) * 1000000L;
        if (t.tv_nsec >= 1000000000L) {
                t.tv_sec++;
                t.tv_nsec -= 1000000000L;
        }
        return t;
}

void *copy_queue_take(CopyQueue *q, unsigned timeout_ms, bool *ret_timed_out)
{
        struct timespec deadline = timeout_ms > 0 ? deadline_after(timeout_ms) : (struct timespec) { 0 };
        void *job = NULL;
        if (ret_timed_out)
                *ret_timed_out = false;
        pthread_mutex_lock(&q->lock);
        while (q->n_items == 0 && q->busy > 0) {
                if (timeout_ms == 0) {
                        pthread_cond_wait(&q->changed, &q->lock);
                        continue;
                }
                if (pthread_cond_timedwait(&q->changed, &q->lock, &deadline) == ETIMEDOUT) {
                        if (q->n_items == 0 && q->busy > 0 && ret_timed_out)
                                *ret_timed_out = true;
                        break;
                }
        }
        if (q->n_items > 0) {
                job = q->items[--q->n_items];
                q->busy++;
        }
        pthread_mutex_unlock(&q->lock);
        return job;
}

void copy_queue_finish(CopyQueue *q)
{
        pthread_mutex_lock(&q->lock);
        q->busy--;
        /* Nothing left and nobody who could add more: wake everyone to
         * leave. */
        if (q->busy == 0 && q->n_items == 0)
                pthread_cond_broadcast(&q->changed);
        pthread_mutex_unlock(&q->lock);
}

int copy_thread_start(pthread_t *ret, void *(*fn)(void *), void *arg)
{
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        int r = pthread_create(ret, NULL, fn, arg);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return -r;
}
