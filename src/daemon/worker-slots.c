#include "daemon/worker-slots.h"

#include <errno.h>
#include <stdlib.h>

int worker_slots_init(WorkerSlots *w, unsigned max, unsigned max_per_uid, unsigned root_reserved)
{
        *w = (WorkerSlots) { .max = max, .max_per_uid = max_per_uid, .root_reserved = root_reserved };
        atomic_init(&w->n, 0);
        w->uids = calloc(max + 1, sizeof *w->uids);
        if (!w->uids)
                return -ENOMEM;
        pthread_mutex_init(&w->lock, NULL);
        return 0;
}

void worker_slots_done(WorkerSlots *w)
{
        if (!w->uids)
                return;
        pthread_mutex_destroy(&w->lock);
        free(w->uids);
        w->uids = NULL;
}

unsigned worker_slots_in_use(const WorkerSlots *w)
{
        return atomic_load(&((WorkerSlots *) w)->n);
}

static struct UidCount *uid_slot(WorkerSlots *w, uid_t uid, bool add)
{
        struct UidCount *free_slot = NULL;
        for (unsigned i = 0; i < w->max; i++) {
                if (w->uids[i].n > 0 && w->uids[i].uid == uid)
                        return &w->uids[i];
                if (!free_slot && w->uids[i].n == 0)
                        free_slot = &w->uids[i];
        }
        if (add && free_slot)
                free_slot->uid = uid;
        return add ? free_slot : NULL;
}

int worker_slot_acquire(WorkerSlots *w, uid_t uid)
{
        int r = 0;
        pthread_mutex_lock(&w->lock);
        unsigned n = atomic_load(&w->n);
        struct UidCount *slot = NULL;
        if (n >= w->max)
                r = -EBUSY;
        else if (uid != 0 && w->n_user + w->root_reserved >= w->max)
                r = -EBUSY;
        else if (uid != 0 && !(slot = uid_slot(w, uid, true)))
                r = -EBUSY;
        else if (slot && slot->n >= w->max_per_uid)
                r = -EUSERS;
        if (r == 0) {
                atomic_store(&w->n, n + 1);
                if (slot) {
                        slot->n++;
                        w->n_user++;
                }
        }
        pthread_mutex_unlock(&w->lock);
        return r;
}

void worker_slot_release(void *slots, uid_t uid)
{
        WorkerSlots *w = slots;
        pthread_mutex_lock(&w->lock);
        if (uid != 0) {
                struct UidCount *slot = uid_slot(w, uid, false);
                if (slot && slot->n > 0) {
                        slot->n--;
                        w->n_user--;
                }
        }
        atomic_fetch_sub(&w->n, 1);
        pthread_mutex_unlock(&w->lock);
}
