/* Long actions off the event loop (internal to src/daemon): one
 * detached thread per call, so a debootstrap, an `up` or a `logs
 * --follow` never blocks other clients. The worker knows the call
 * only; its results go to the loop through the call's host. */
#pragma once

#include "daemon/call.h"

#include <sys/types.h>

/* Run c's action on a new worker thread (takes its own reference).
 * When the thread is done with the call, done(userdata, uid) runs on
 * it: the caller's slot accounting. A negative errno when no thread
 * could be started (done does not run then). */
typedef void (*WorkerDoneFn)(void *userdata, uid_t uid);
int worker_start(Call *c, WorkerDoneFn done, void *userdata);
