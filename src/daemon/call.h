/* The request in flight (internal to src/daemon; actions use the
 * accessors in action.h). A call knows nothing of the server that
 * started it: it talks to its connection through the CallHost the
 * server gave it, so the dependencies go one way (server.c uses
 * call.c and worker.c; neither uses server.c). */
#pragma once

#include "daemon/action.h"
#include "proto/message.h"

#include <stdatomic.h>
#include <sys/socket.h>

/* What the calls of one server share: what their actions see, and the
 * way to their connections (the server's loop). */
typedef struct CallHost {
        struct Daemon *daemon;  /* call_daemon() */
        struct Engine *engine;  /* call_engine(); its registry is the loop thread's */
        /* Loop thread: queue a frame (and fd, owned) for connection
         * conn_id; -ECONNRESET when it is gone (the fd is closed). */
        int (*send)(void *loop, uint64_t conn_id, char *frame, size_t len, int fd);
        /* Any thread: hand a frame to the loop. final_call (a
         * reference, moved in) marks the call's last message. */
        int (*post)(void *loop, uint64_t conn_id, char *frame, size_t len, int fd, Call *final_call);
        /* The daemon is stopping: every call counts as cancelled. */
        bool (*stopping)(void *loop);
        void *loop;
} CallHost;

struct Call {
        atomic_int n_ref;
        const CallHost *host;   /* outlives every call */
        uint64_t conn_id;
        const Action *action;
        json_t *id;             /* request id to echo, owned, may be NULL */
        json_t *params;         /* owned */
        struct ucred cred;
        int fds[PROTOCOL_MAX_FDS];
        unsigned n_fds;
        bool on_worker;
        atomic_bool replied;
        atomic_bool cancelled;
        struct Registry *worker_registry; /* a long action's own connection */
        atomic_int cancel_fd;   /* eventfd of call_cancel_fd(), -EBADF until asked for */
};

/* A new call (one reference); takes ownership of fds. */
Call *call_new(const CallHost *host, uint64_t conn_id, const Action *a, json_t *id, json_t *params,
               const struct ucred *cred, const int *fds, unsigned n_fds);
Call *call_ref(Call *c);
Call *call_unref(Call *c);

void call_cancel(Call *c);

/* Run a plain action on the loop thread, replying when it did not. */
void call_run_inline(Call *c);

/* Send the error or empty result a finished action still owes. */
void call_finish(Call *c, int r, Error *err);
