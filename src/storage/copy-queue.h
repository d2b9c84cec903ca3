/* The work queue of a parallel tree copy: a stack of jobs shared by a
 * few threads, which knows when the whole copy is finished.
 *
 * A job may add more jobs while it runs (a directory listing hands out
 * its subdirectories), so "the queue is empty" is not "the work is
 * done": the queue also counts the jobs taken and not yet finished, and
 * copy_queue_take() keeps waiting while any of them may still add work.
 * Last in, first out, so the walk stays close to depth first and the
 * queue holds little more than one directory's subdirectories per
 * level. */
#pragma once

#include "base/macro.h"

#include <pthread.h>

typedef struct CopyQueue {
        pthread_mutex_t lock;
        pthread_cond_t changed;
        void **items;
        size_t n_items, allocated;
        size_t busy; /* jobs taken and not finished: they may add more */
} CopyQueue;

/* busy: work the caller already has in hand (counts as a taken job, so
 * that helpers started meanwhile wait for it); finish it with
 * copy_queue_finish() like any job. */
int copy_queue_init(CopyQueue *q, size_t busy);
/* The queue must be drained (copy_queue_take() returned NULL). */
void copy_queue_done(CopyQueue *q);

/* Add a job; -ENOMEM. */
int copy_queue_push(CopyQueue *q, void *job);

/* The next job, or NULL once every job is finished and none is left.
 * With timeout_ms > 0 it also returns NULL, setting *ret_timed_out,
 * after that long without a job (the calling thread's turn to report
 * progress). */
void *copy_queue_take(CopyQueue *q, unsigned timeout_ms, bool *ret_timed_out);

/* A job taken (or the initial busy work) is finished; call it after
 * pushing whatever follow-up jobs it made. */
void copy_queue_finish(CopyQueue *q);

/* pthread_create with every signal blocked in the new thread: signals
 * stay with the threads that expect them (a daemon reads its signals
 * from a signalfd). Returns 0 or a negative errno. */
int copy_thread_start(pthread_t *ret, void *(*fn)(void *), void *arg);
