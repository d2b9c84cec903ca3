/* Long actions on their own threads (worker.h). */
#include "daemon/worker.h"
#include "registry/registry.h"
#include "base/log.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

typedef struct Worker {
        Call *call;
        WorkerDoneFn done;
        void *userdata;
} Worker;

static void *worker_main(void *userdata)
{
        Worker *w = userdata;
        Call *c = w->call;
        _cleanup_error_ Error err = ERROR_INIT;

        int r = c->action->fn(c, &err);
        call_finish(c, r, &err);

        /* Release the registry connection before the loop may shut down. */
        c->worker_registry = registry_close(c->worker_registry);
        uid_t uid = c->cred.uid;
        WorkerDoneFn done = w->done;
        void *done_data = w->userdata;
        free(w);
        call_unref(c);
        done(done_data, uid);
        return NULL;
}

int worker_start(Call *c, WorkerDoneFn done, void *userdata)
{
        Worker *w = malloc(sizeof *w);
        if (!w)
                return -ENOMEM;
        *w = (Worker) { .call = c, .done = done, .userdata = userdata };
        c->on_worker = true;

        pthread_attr_t attr;
        int r = pthread_attr_init(&attr);
        if (r == 0)
                r = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (r == 0) {
                pthread_t t;
                /* Threads inherit the loop's mask (every signal blocked
                 * for the signalfd), so no signal lands on a worker. */
                call_ref(c);
                r = pthread_create(&t, &attr, worker_main, w);
                if (r != 0)
                        call_unref(c);
        }
        pthread_attr_destroy(&attr);
        if (r != 0) {
                free(w);
                c->on_worker = false;
                log_warn("cannot start a worker thread for %s: %s", c->action->name, strerror(r));
                return -r;
        }
        return 0;
}
