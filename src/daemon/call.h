/* The request in flight (internal to src/daemon; actions use the
 * accessors in action.h). */
#pragma once

#include "daemon/action.h"
#include "proto/message.h"

#include <stdatomic.h>
#include <sys/socket.h>

struct Server;

struct Call {
        atomic_int n_ref;
        struct Daemon *daemon;
        struct Server *server;
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
Call *call_new(struct Daemon *d, struct Server *s, uint64_t conn_id, const Action *a, json_t *id, json_t *params,
               const struct ucred *cred, const int *fds, unsigned n_fds);
Call *call_ref(Call *c);
Call *call_unref(Call *c);

void call_cancel(Call *c);

/* Run a plain action on the loop thread, replying when it did not. */
void call_run_inline(Call *c);

/* Send the error or empty result a finished action still owes. */
void call_finish(Call *c, int r, Error *err);

/* Start a long action on a worker thread (takes its own reference).
 * -EBUSY when no slot is left for its uid, -EUSERS when its uid holds
 * its share already (server_worker_acquire()). */
int call_run_on_worker(Call *c);

/* Encode and send (or post) an error for a request that never became
 * a call (bad frame, denied, rate limited, ...). Loop thread. */
int call_send_error(struct Server *s, uint64_t conn_id, json_t *id, int code, ProtoErrorKind kind,
                    const char *message);
