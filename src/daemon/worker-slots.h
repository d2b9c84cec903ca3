/* How many long actions may run at once (internal to src/daemon): in
 * total, and per non-root uid, with a share kept for root so it can
 * always look and repair. Any thread may release a slot. */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

typedef struct WorkerSlots {
        unsigned max;               /* in total */
        unsigned max_per_uid;       /* per non-root uid */
        unsigned root_reserved;     /* of max, never taken by other uids */
        atomic_uint n;              /* in use; read without the lock */
        /* Under lock: */
        pthread_mutex_t lock;
        struct UidCount { uid_t uid; unsigned n; } *uids; /* max entries */
        unsigned n_user;            /* in use by non-root uids */
} WorkerSlots;

int worker_slots_init(WorkerSlots *w, unsigned max, unsigned max_per_uid, unsigned root_reserved);
void worker_slots_done(WorkerSlots *w);

/* 0, or -EBUSY when no slot is left for uid (root keeps root_reserved
 * of its own), -EUSERS when uid holds max_per_uid already. */
int worker_slot_acquire(WorkerSlots *w, uid_t uid);
/* Any thread; the signature of a WorkerDoneFn (worker.h). */
void worker_slot_release(void *slots, uid_t uid);

unsigned worker_slots_in_use(const WorkerSlots *w);
