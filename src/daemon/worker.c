/* Long actions off the event loop: one detached thread per call, so a
 * debootstrap, an `up` or a `logs --follow` never blocks other clients.
 * Results go back through server_post(); the loop owns every socket. */
#include "daemon/call.h"
#include "registry/registry.h"
#include "daemon/server.h"
#include "base/log.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>

static void *worker_main(void *userdata)
{
        Call *c = userdata;
        _cleanup_error_ Error err = ERROR_INIT;

        int r = c->action->fn(c, &err);
        call_finish(c, r, &err);

        /* Release the registry connection before the loop may shut down. */
        c->worker_registry = registry_close(c->worker_registry);
        Server *s = c->server;
        uid_t uid = c->cred.uid;
        call_unref(c);
        server_worker_release(s, uid);
        return NULL;
}

int call_run_on_worker(Call *c)
{
        int k = server_worker_acquire(c->server, c->cred.uid);
        if (k < 0)
                return k;
        c->on_worker = true;

        pthread_attr_t attr;
        int r = pthread_attr_init(&attr);
        if (r == 0)
                r = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (r == 0) {
                pthread_t t;
                /* Threads inherit the loop's mask (every signal blocked
                 * for the signalfd), so no signal lands on a worker. */
                r = pthread_create(&t, &attr, worker_main, call_ref(c));
                if (r != 0)
                        call_unref(c);
        }
        pthread_attr_destroy(&attr);
        if (r != 0) {
                c->on_worker = false;
                server_worker_release(c->server, c->cred.uid);
                log_warn("cannot start a worker thread for %s: %s", c->action->name, strerror(r));
                return -r;
        }
        return 0;
}
